/* filters/nest.c: the nest filter: move keys under one map (Operation nest, Wildcard, Nest_under) or lift a map's keys up (Operation lift, Nested_under), with Add_prefix / Remove_prefix. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_int.h"

struct wildcard {
	char *key;
	size_t len;
	bool prefix;  /* "ABC*" */
};

struct nest {
	bool lift;
	struct wildcard *w;
	size_t nw;
	char *under;  /* Nest_under or Nested_under */
	size_t under_len;
	char *add_prefix, *remove_prefix;
};

static bool to_nest(const struct nest *n, const msgpack_object *key)
{
	size_t i, len;
	const char *k = fobj_bytes(key, &len);

	for (i = 0; k && i < n->nw; i++)
		if ((n->w[i].prefix ? len >= n->w[i].len : len == n->w[i].len) && memcmp(k, n->w[i].key, n->w[i].len) == 0)
			return true;
	return false;
}

/* The key a moved pair gets: with Add_prefix prepended, or Remove_prefix taken off. */
static bool moved_key(const struct nest *n, const msgpack_object *key, msgpack_zone *z, msgpack_object *out)
{
	size_t len, pl;
	const char *k = fobj_bytes(key, &len);
	char *joined;

	if (!k) {
		*out = *key;
		return true;
	}
	if (n->add_prefix) {
		pl = strlen(n->add_prefix);
		if (!(joined = msgpack_zone_malloc_no_align(z, pl + len + 1)))
			return false;
		memcpy(joined, n->add_prefix, pl);
		memcpy(joined + pl, k, len);
		return fobj_str(z, joined, pl + len, out);
	}
	if (n->remove_prefix && len >= (pl = strlen(n->remove_prefix)) && memcmp(k, n->remove_prefix, pl) == 0)
		return fobj_str(z, k + pl, len - pl, out);
	*out = *key;
	return true;
}

static int do_nest(const struct nest *n, msgpack_object *map, msgpack_zone *z)
{
	msgpack_object_kv *top = fobj_pairs(z, map->via.map.size + 1), *inner;
	uint32_t i, nt = 0, ni = 0;

	if (!top || !(inner = fobj_pairs(z, map->via.map.size)))
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (!to_nest(n, &kv->key)) {
			top[nt++] = *kv;
			continue;
		}
		if (!moved_key(n, &kv->key, z, &inner[ni].key))
			return -ENOMEM;
		inner[ni++].val = kv->val;
	}
	if (ni == 0)
		return FILTER_KEEP;
	if (!fobj_str(z, n->under, n->under_len, &top[nt].key))
		return -ENOMEM;
	top[nt].val.type = MSGPACK_OBJECT_MAP;
	top[nt].val.via.map.ptr = inner;
	top[nt].val.via.map.size = ni;
	map->via.map.ptr = top;
	map->via.map.size = nt + 1;
	return FILTER_MODIFIED;
}

static bool to_lift(const struct nest *n, const msgpack_object_kv *kv)
{
	return fobj_str_eq(&kv->key, n->under, n->under_len) && kv->val.type == MSGPACK_OBJECT_MAP;
}

static int do_lift(const struct nest *n, msgpack_object *map, msgpack_zone *z)
{
	msgpack_object_kv *out;
	uint32_t i, j, total = 0, o = 0, lifted = 0;

	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		total += to_lift(n, kv) ? kv->val.via.map.size : 1;
		lifted += to_lift(n, kv);
	}
	if (lifted == 0)
		return FILTER_KEEP;
	if (!(out = fobj_pairs(z, total)))
		return -ENOMEM;
	/* The other top-level pairs first, then the lifted ones, as Fluent Bit packs them. */
	for (i = 0; i < map->via.map.size; i++)
		if (!to_lift(n, &map->via.map.ptr[i]))
			out[o++] = map->via.map.ptr[i];
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object *inner = &map->via.map.ptr[i].val;

		if (!to_lift(n, &map->via.map.ptr[i]))
			continue;
		for (j = 0; j < inner->via.map.size; j++, o++) {
			if (!moved_key(n, &inner->via.map.ptr[j].key, z, &out[o].key))
				return -ENOMEM;
			out[o].val = inner->via.map.ptr[j].val;
		}
	}
	map->via.map.ptr = out;
	map->via.map.size = o;
	return FILTER_MODIFIED;
}

static int nest_run(const struct filter *f, msgpack_object *map, msgpack_zone *z)
{
	const struct nest *n = f->priv;

	return n->lift ? do_lift(n, map, z) : do_nest(n, map, z);
}

static void nest_free(struct filter *f)
{
	struct nest *n = f->priv;
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nw; i++)
		free(n->w[i].key);
	free(n->w);
	free(n->under);
	free(n->add_prefix);
	free(n->remove_prefix);
	free(n);
	f->priv = NULL;
}

static int set_str(char **field, const char *v)
{
	free(*field);
	return (*field = strdup(v)) ? 0 : -ENOMEM;
}

static int add_wildcard(struct nest *n, const char *v)
{
	struct wildcard *grown = realloc(n->w, (n->nw + 1) * sizeof(*grown));
	size_t len = strlen(v);

	if (!grown)
		return -ENOMEM;
	n->w = grown;
	grown[n->nw].prefix = len && v[len - 1] == '*';
	grown[n->nw].len = len - grown[n->nw].prefix;
	if (!(grown[n->nw].key = strndup(v, grown[n->nw].len)))
		return -ENOMEM;
	n->nw++;
	return 0;
}

static int nest_key(struct nest *n, const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen)
{
	if (strcasecmp(kv->key, "operation") == 0) {
		if (strcasecmp(kv->val, "nest") != 0 && strcasecmp(kv->val, "lift") != 0)
			return filter_bad(s, kv, err, errlen, "nest: Operation is nest or lift, not '%s'", kv->val);
		n->lift = strcasecmp(kv->val, "lift") == 0;
		return 0;
	}
	if (strcasecmp(kv->key, "wildcard") == 0)
		return add_wildcard(n, kv->val);
	if (strcasecmp(kv->key, "nest_under") == 0 || strcasecmp(kv->key, "nested_under") == 0)
		return set_str(&n->under, kv->val);
	if (strcasecmp(kv->key, "add_prefix") == 0)
		return set_str(&n->add_prefix, kv->val);
	if (strcasecmp(kv->key, "remove_prefix") == 0)
		return set_str(&n->remove_prefix, kv->val);
	return 0;
}

static int nest_init(struct filter *f, const struct conf_section *s, char *err, size_t errlen)
{
	struct nest *n = calloc(1, sizeof(*n));
	bool has_op = false;
	size_t i;
	int rc = 0;

	if (!n)
		return -ENOMEM;
	f->priv = n;
	for (i = 0; rc == 0 && i < s->n; i++) {
		has_op |= strcasecmp(s->kv[i].key, "operation") == 0;
		rc = nest_key(n, s, &s->kv[i], err, errlen);
	}
	if (rc < 0)
		return rc;
	if (!has_op)
		return filter_bad(s, NULL, err, errlen, "nest: Operation (nest or lift) is required");
	if (!n->under)
		return filter_bad(s, NULL, err, errlen, "nest: Operation %s needs %s", n->lift ? "lift" : "nest",
				  n->lift ? "Nested_under" : "Nest_under");
	if (!n->lift && n->nw == 0)
		return filter_bad(s, NULL, err, errlen, "nest: Operation nest needs at least one Wildcard");
	if (n->add_prefix && n->remove_prefix)
		return filter_bad(s, NULL, err, errlen, "nest: Add_prefix and Remove_prefix exclude each other");
	n->under_len = strlen(n->under);
	return 0;
}

#define KEY(name, type, help) { name, type, NULL, 0, 0, 0, help }
static const struct opt_def nest_opts[] = {
	KEY("operation", OPT_STRING, "nest (move keys under one map) or lift (move a map's keys up)"),
	KEY("wildcard", OPT_LIST, "nest: a key to move, or PREFIX* (repeatable)"),
	KEY("nest_under", OPT_STRING, "nest: the key of the new map"),
	KEY("nested_under", OPT_STRING, "lift: the key of the map whose keys move up"),
	KEY("add_prefix", OPT_STRING, "prefix added to every moved key"),
	KEY("remove_prefix", OPT_STRING, "prefix removed from every moved key that has it"),
	OPT_END,
};

const struct filter_plugin filter_nest = {
	.name = "nest",
	.help = "Move keys under a map, or a map's keys up.",
	.opts = nest_opts,
	.init = nest_init,
	.run = nest_run,
	.free = nest_free,
};
