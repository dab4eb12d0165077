/* cache.h: the informer cache of one resource: key -> the object's compact JSON, deflated against a dictionary learned from the cache's own objects, with its resourceVersion and owner key. */
#ifndef VIVO_CACHE_H
#define VIVO_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* One cached object, opaque: its compact JSON text (managedFields and kubectl's
 * last-applied annotation dropped) held as raw deflate data against the dictionary of
 * its cache, beside what the watches read without inflating it (resourceVersion, owner).
 * A Deployment is ~3 KB as text, several times that as a jansson tree, and ~250 bytes
 * deflated against another Deployment: objects are parsed only when a reconcile or a
 * status computation needs one. */
struct cache_obj;
struct cache;

/* What a cache holds (for metrics and benchmarks). */
struct cache_stats {
	size_t objects;
	size_t text_bytes;    /* the objects' JSON text: what an uncompressed cache would hold */
	size_t stored_bytes;  /* what the entries hold: deflate data, versions and owner keys */
	size_t dict_bytes;    /* the dictionaries the entries use (each counted once) */
	unsigned long dict_changes; /* dictionaries adopted since cache_new, the first one included */
};

/* Every cache of a process shares one deflate and one inflate stream (~80 KB, behind a
 * mutex); a cache and the entries it handed out are used by one thread at a time. */
struct cache *cache_new(void);
/* NULL-safe. Entries handed out earlier (cache_del, *old) stay valid: free them apart. */
void cache_free(struct cache *c);
/* Store `obj` under `key` (a copy: managedFields and kubectl's last-applied-configuration
 * annotation are dropped from it, `obj` itself is left as it was; status updates go to
 * /status, which keeps metadata). `owner` may be NULL. *old (when not NULL) receives the
 * previous entry, which the caller frees with cache_obj_free, or NULL. A put may re-encode
 * every entry against a new dictionary (see cache.c), so entries got from cache_get are
 * valid until the next put or delete on this cache. 0, -ENOMEM or -E2BIG (over 4 GB). */
int cache_put(struct cache *c, const char *key, json_t *obj, const char *owner, struct cache_obj **old);
/* When `key` holds version `rv`, mark it seen for the current re-list and return true:
 * the caller may then skip cache_put of an object with that version (the echo of a write
 * whose answer was cached, or an unchanged object in a re-list). */
bool cache_keep(struct cache *c, const char *key, const char *rv);
/* The entry, or NULL. Valid until the next put or delete on this cache. */
const struct cache_obj *cache_get(const struct cache *c, const char *key);
/* A parsed copy of the entry (caller json_decref()s), or NULL (absent, out of memory). */
json_t *cache_load(const struct cache *c, const char *key);
/* Remove key; returns the entry for the caller to free (cache_obj_free), or NULL. */
struct cache_obj *cache_del(struct cache *c, const char *key);
/* An entry that is in no cache (an object deleted before it was ever cached, described
 * from its event), encoded as `c` would; the caller frees it. NULL when out of memory. */
struct cache_obj *cache_obj_new(struct cache *c, json_t *obj, const char *owner);
void cache_obj_free(struct cache_obj *o);
/* The entry's metadata.resourceVersion ("" when it had none) and owner key (or NULL);
 * valid as long as the entry. */
const char *cache_obj_rv(const struct cache_obj *o);
const char *cache_obj_owner(const struct cache_obj *o);
/* A parsed copy of the entry's object (caller json_decref()s), or NULL when out of memory. */
json_t *cache_obj_load(const struct cache_obj *o);
/* The entry's JSON text, NUL-terminated (caller frees), *len (may be NULL) its length; NULL
 * when out of memory. */
char *cache_obj_text(const struct cache_obj *o, size_t *len);
size_t cache_len(const struct cache *c);
/* Bytes held: stored_bytes + dict_bytes of cache_stats (a memory figure for metrics). */
size_t cache_bytes(const struct cache *c);
void cache_stats(const struct cache *c, struct cache_stats *st);

/* Re-list support: clear every mark (puts and cache_keep set it), then sweep removes the
 * unmarked entries, calling fn(ctx, key, entry) for each before freeing it. */
void cache_clear_marks(struct cache *c);
int cache_sweep(struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx);
/* Call fn for every entry (no puts or deletes from fn). */
void cache_foreach(const struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx);

#endif
