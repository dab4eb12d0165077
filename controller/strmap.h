/* strmap.h: a string-keyed hash map of pointers (chained, power-of-two buckets), for caches and the queue. */
#ifndef VIVO_STRMAP_H
#define VIVO_STRMAP_H

#include <stddef.h>

struct smap_ent {
	struct smap_ent *next;
	void *val;
	size_t hash;
	char key[];  /* owned copy */
};

struct smap {
	struct smap_ent **b;
	size_t nb;     /* buckets, a power of two (0 before the first put) */
	size_t n;
};

void smap_init(struct smap *m);
/* Free the map's entries (not the values: free them first with smap_foreach). */
void smap_free(struct smap *m);
/* The value for key, or NULL. */
void *smap_get(const struct smap *m, const char *key);
/* The map's own copy of key (stable until the key is deleted), or NULL. */
const char *smap_key(const struct smap *m, const char *key);
/* Set key (copied) to val; *old gets the replaced value (or NULL). 0 or -ENOMEM. */
int smap_put(struct smap *m, const char *key, void *val, void **old);
/* Remove key; returns its value (or NULL). */
void *smap_del(struct smap *m, const char *key);
/* Iterate: start with *pos = 0, *e = NULL; returns the next entry or NULL. Do not put or
 * delete while iterating (collect keys first). */
struct smap_ent *smap_next(const struct smap *m, size_t *pos, struct smap_ent *e);

#endif
