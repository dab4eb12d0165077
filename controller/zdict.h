/* zdict.h: small texts deflated against preset dictionaries (raw deflate, one pair of zlib streams per process), the codec of the informer caches. */
#ifndef VIVO_ZDICT_H
#define VIVO_ZDICT_H

#include <stddef.h>
#include <stdint.h>

/* At most this much of a text becomes a dictionary (its beginning). */
#define ZDICT_MAX 4096u

/* A preset dictionary: immutable, reference-counted (not atomically: its users share a
 * thread, or a lock). Raw deflate data carries no dictionary id, so data must be inflated
 * with the very dictionary it was deflated against: hold a reference as long as the data. */
struct zdict {
	unsigned refs;
	uint32_t len;
	unsigned char bytes[];
};

/* A dictionary of the first min(len, ZDICT_MAX) bytes of text, with one reference; NULL
 * when out of memory. */
struct zdict *zdict_new(const char *text, size_t len);
/* Take a reference (NULL-safe); returns d. */
struct zdict *zdict_ref(struct zdict *d);
/* Drop one (NULL-safe); the last frees it. */
void zdict_unref(struct zdict *d);

/* The process's two streams exist from the first zdict_use to the last zdict_unuse (~80 KB:
 * a deflate stream with an 8 KB window and memLevel 6, an inflate stream). Thread-safe. */
void zdict_use(void);
void zdict_unuse(void);

/* Deflate `len` bytes against `d` (NULL: no dictionary) into *z (malloc'd, caller frees),
 * *zlen bytes. 0 or -ENOMEM. Thread-safe (one stream behind a mutex). */
int zdict_deflate(const char *text, size_t len, const struct zdict *d, unsigned char **z, size_t *zlen);
/* Inflate zlen bytes, deflated against `d`, into exactly `len` bytes at out. 0, -ENOMEM, or
 * -EBADMSG when the data does not inflate to exactly len bytes. Thread-safe. */
int zdict_inflate(const unsigned char *z, size_t zlen, const struct zdict *d, char *out, size_t len);

#endif
