/* cache.h: the informer cache of one resource: key -> compact JSON text, resourceVersion and owner key. */
#ifndef VIVO_CACHE_H
#define VIVO_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* One cached object. Text rather than a tree: a Deployment is ~3 KB as text and several
 * times that as a jansson tree, and the controller parses one only when it reconciles. */
struct cache_obj {
	char *text;      /* compact JSON, managedFields stripped */
	size_t len;
	char *rv;        /* metadata.resourceVersion */
	char *owner;     /* key of the controlling Vivo, or NULL */
	bool mark;       /* seen in the current re-list */
};

struct cache;

struct cache *cache_new(void);
void cache_free(struct cache *c);
/* Store `obj` under `key` (managedFields and kubectl's last-applied-configuration annotation
 * are dropped from the stored copy: status updates go to /status, which keeps metadata). `owner` may be
 * NULL. *old (when not NULL) receives the previous entry, which the caller frees with
 * cache_obj_free, or NULL. 0 or -ENOMEM. */
int cache_put(struct cache *c, const char *key, json_t *obj, const char *owner, struct cache_obj **old);
/* The entry, or NULL. Valid until the next put/del of that key. */
const struct cache_obj *cache_get(const struct cache *c, const char *key);
/* A parsed copy of the entry (caller json_decref()s), or NULL. */
json_t *cache_load(const struct cache *c, const char *key);
/* Remove key; returns the entry for the caller to free (cache_obj_free), or NULL. */
struct cache_obj *cache_del(struct cache *c, const char *key);
void cache_obj_free(struct cache_obj *o);
size_t cache_len(const struct cache *c);
/* Bytes of text held (a memory figure for metrics). */
size_t cache_bytes(const struct cache *c);

/* Re-list support: clear every mark (puts set it), then sweep removes the unmarked
 * entries, calling fn(ctx, key, entry) for each before freeing it. */
void cache_clear_marks(struct cache *c);
int cache_sweep(struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx);
/* Call fn for every entry (no puts or deletes from fn). */
void cache_foreach(const struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx);

#endif
