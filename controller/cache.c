/* cache.c: compact JSON texts of watched objects keyed by namespace/name, with mark-and-sweep for re-lists. */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kobj.h"
#include "strmap.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

struct cache {
	struct smap m;
	size_t bytes;
};

struct cache *cache_new(void)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c)
		smap_init(&c->m);
	return c;
}

void cache_obj_free(struct cache_obj *o)
{
	if (!o)
		return;
	free(o->text);
	free(o->rv);
	free(o->owner);
	free(o);
}

void cache_free(struct cache *c)
{
	size_t pos = 0;
	struct smap_ent *e = NULL;

	if (!c)
		return;
	while ((e = smap_next(&c->m, &pos, e)))
		cache_obj_free(e->val);
	smap_free(&c->m);
	free(c);
}

int cache_put(struct cache *c, const char *key, json_t *obj, const char *owner, struct cache_obj **old)
{
	struct cache_obj *o = calloc(1, sizeof(*o)), *prev = NULL;
	json_t *md = json_object_get(obj, "metadata"), *mf = NULL, *ann, *la = NULL;
	const char *rv = kobj_str(obj, "metadata.resourceVersion", "");
	int rc = -ENOMEM;

	if (old)
		*old = NULL;
	if (!o)
		return -ENOMEM;
	/* Dump without managedFields and kubectl's last-applied copy of the whole object (nothing
	 * reads them, and together they are most of a small object), then put them back: the
	 * caller's object is unchanged. */
	if (json_is_object(md) && (mf = json_object_get(md, "managedFields"))) {
		json_incref(mf);
		json_object_del(md, "managedFields");
	}
	ann = json_object_get(md, "annotations");
	if (json_is_object(ann) && (la = json_object_get(ann, LAST_APPLIED))) {
		json_incref(la);
		json_object_del(ann, LAST_APPLIED);
	}
	o->text = json_dumps(obj, JSON_COMPACT);
	if (mf)
		json_object_set_new(md, "managedFields", mf);
	if (la)
		json_object_set_new(ann, LAST_APPLIED, la);
	if (!o->text || !(o->rv = strdup(rv)) || (owner && !(o->owner = strdup(owner))))
		goto fail;
	o->len = strlen(o->text);
	o->mark = true;
	if ((rc = smap_put(&c->m, key, o, (void **)&prev)) < 0)
		goto fail;
	c->bytes += o->len;
	if (prev) {
		c->bytes -= prev->len;
		if (old)
			*old = prev;
		else
			cache_obj_free(prev);
	}
	return 0;
fail:
	cache_obj_free(o);
	return rc;
}

const struct cache_obj *cache_get(const struct cache *c, const char *key)
{
	return smap_get(&c->m, key);
}

json_t *cache_load(const struct cache *c, const char *key)
{
	const struct cache_obj *o = smap_get(&c->m, key);

	return o ? json_loadb(o->text, o->len, 0, NULL) : NULL;
}

struct cache_obj *cache_del(struct cache *c, const char *key)
{
	struct cache_obj *o = smap_del(&c->m, key);

	if (o)
		c->bytes -= o->len;
	return o;
}

size_t cache_len(const struct cache *c)
{
	return c->m.n;
}

size_t cache_bytes(const struct cache *c)
{
	return c->bytes;
}

void cache_clear_marks(struct cache *c)
{
	size_t pos = 0;
	struct smap_ent *e = NULL;

	while ((e = smap_next(&c->m, &pos, e)))
		((struct cache_obj *)e->val)->mark = false;
}

int cache_sweep(struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx)
{
	size_t pos = 0, n = 0, i;
	struct smap_ent *e = NULL;
	char **keys;

	if (!c->m.n)
		return 0;
	if (!(keys = calloc(c->m.n, sizeof(*keys))))
		return -ENOMEM;
	while ((e = smap_next(&c->m, &pos, e)))
		if (!((struct cache_obj *)e->val)->mark)
			keys[n++] = e->key;
	for (i = 0; i < n; i++) {
		/* Copy the key: deleting frees the map's copy. */
		char *k = strdup(keys[i]);
		struct cache_obj *o;

		if (!k) {
			free(keys);
			return -ENOMEM;
		}
		o = cache_del(c, k);
		if (fn && o)
			fn(ctx, k, o);
		cache_obj_free(o);
		free(k);
	}
	free(keys);
	return 0;
}

void cache_foreach(const struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx)
{
	size_t pos = 0;
	struct smap_ent *e = NULL;

	while ((e = smap_next(&c->m, &pos, e)))
		fn(ctx, e->key, e->val);
}
