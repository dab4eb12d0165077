/* loggroup.c: group start/end markers of relayed OTLP logs; the group's resource and scope go into each record's metadata. */
#include "loggroup.h"

#include <errno.h>
#include <string.h>

#include "mpk.h"

#define NS_PER_S 1000000000LL
/* Fluent Bit's group markers: EventTime seconds -1 (start) and -2 (end), nanoseconds 0. */
#define GROUP_START (-1 * NS_PER_S)
#define GROUP_END (-2 * NS_PER_S)

void log_group_init(struct log_group *g, size_t limit)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->meta, limit);
}

void log_group_reset(struct log_group *g)
{
	g->res = g->scope = NULL;
	g->res_len = g->scope_len = 0;
	g->open = false;
	g->markers = 0;
}

void log_group_free(struct log_group *g)
{
	if (!g)
		return;
	buf_free(&g->meta);
	log_group_reset(g);
}

bool log_group_is_marker(int64_t ts_ns)
{
	return ts_ns == GROUP_START || ts_ns == GROUP_END;
}

static bool key_is(const struct mp_obj *k, const char *s)
{
	return k->type == MP_STR && mp_str_eq(k, s);
}

/* Span of the value of `key` in the map at c (a cursor over one map). */
static bool map_value(struct mp_cur c, const char *key, const char **p, size_t *n)
{
	struct mp_obj o, k;
	uint32_t i;

	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return false;
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c;
		const char *v;

		if (mp_read(&kc, &k) < 0 || mp_skip(&c) < 0)
			return false;
		v = c.p;
		if (mp_skip(&c) < 0)
			return false;
		if (key_is(&k, key)) {
			*p = v;
			*n = (size_t)(c.p - v);
			return true;
		}
	}
	return false;
}

int log_group_take(struct log_group *g, int64_t ts_ns, struct mp_cur body)
{
	if (ts_ns == GROUP_START) {
		/* Records up to the end marker belong to this group. */
		g->open = true;
		g->res = g->scope = NULL;
		map_value(body, "resource", &g->res, &g->res_len);
		map_value(body, "scope", &g->scope, &g->scope_len);
		g->markers++;
		return 1;
	}
	if (ts_ns == GROUP_END) {
		g->open = false;
		g->res = g->scope = NULL;
		g->markers++;
		return 1;
	}
	return 0;
}

/* True for the keys of an "otlp" map that the group replaces. */
static bool replaced(const struct log_group *g, const struct mp_obj *k)
{
	return (g->res && key_is(k, "resource")) || (g->scope && key_is(k, "scope"));
}

static void put_group(struct mpk *w, const struct log_group *g)
{
	if (g->res) {
		mpk_str(w, "resource", 8);
		mpk_raw(w, g->res, g->res_len);
	}
	if (g->scope) {
		mpk_str(w, "scope", 5);
		mpk_raw(w, g->scope, g->scope_len);
	}
}

/* Copy one object at c to the packer. */
static int copy_obj(struct mpk *w, struct mp_cur *c)
{
	const char *s = c->p;

	if (mp_skip(c) < 0)
		return MP_EBAD;
	mpk_raw(w, s, (size_t)(c->p - s));
	return 0;
}

/* The record's own "otlp" map at c (its header already read as `v`), without the keys
 * the group replaces, followed by the group's resource and scope. */
static int put_otlp(struct mpk *w, const struct log_group *g, struct mp_cur *c, uint32_t n)
{
	struct mp_cur scan = *c;
	struct mp_obj k;
	uint32_t i, kept = 0;

	for (i = 0; i < n; i++) {
		struct mp_cur kc = scan;

		if (mp_read(&kc, &k) < 0 || mp_skip(&scan) < 0 || mp_skip(&scan) < 0)
			return MP_EBAD;
		kept += !replaced(g, &k);
	}
	msgpack_pack_map(&w->pk, kept + !!g->res + !!g->scope);
	for (i = 0; i < n; i++) {
		struct mp_cur kc = *c;

		if (mp_read(&kc, &k) < 0)
			return MP_EBAD;
		if (replaced(g, &k)) {
			if (mp_skip(c) < 0 || mp_skip(c) < 0)
				return MP_EBAD;
			continue;
		}
		if (copy_obj(w, c) < 0 || copy_obj(w, c) < 0)
			return MP_EBAD;
	}
	put_group(w, g);
	return 0;
}

/* meta (a map) with every pair copied, "otlp" merged with the group. */
static int merge(struct mpk *w, const struct log_group *g, struct mp_cur c)
{
	struct mp_cur scan = c;
	struct mp_obj o, k, v;
	uint32_t i;
	bool has_otlp = false;
	int rc;

	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return MP_EBAD;
	mp_read(&scan, &o);
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = scan, vc;

		if (mp_read(&kc, &k) < 0 || mp_skip(&scan) < 0)
			return MP_EBAD;
		vc = scan;
		if (mp_skip(&scan) < 0)
			return MP_EBAD;
		if (key_is(&k, "otlp") && mp_read(&vc, &v) == 0 && v.type == MP_MAP)
			has_otlp = true;
	}
	msgpack_pack_map(&w->pk, o.len + !has_otlp);
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c, vc;

		if (mp_read(&kc, &k) < 0 || copy_obj(w, &c) < 0)
			return MP_EBAD;
		vc = c;
		if (key_is(&k, "otlp") && mp_read(&vc, &v) == 0 && v.type == MP_MAP) {
			c = vc;
			if ((rc = put_otlp(w, g, &c, v.len)) < 0)
				return rc;
			continue;
		}
		if (copy_obj(w, &c) < 0)
			return MP_EBAD;
	}
	if (!has_otlp) {
		mpk_str(w, "otlp", 4);
		msgpack_pack_map(&w->pk, !!g->res + !!g->scope);
		put_group(w, g);
	}
	return 0;
}

int log_group_meta(struct log_group *g, struct mp_cur *meta, struct mp_cur *storage, struct mp_cur **out)
{
	struct mpk w;
	int rc = 0;

	*out = meta;
	if (!g->open || (!g->res && !g->scope))
		return 0;
	buf_reset(&g->meta);
	mpk_init(&w, &g->meta);
	if (meta) {
		rc = merge(&w, g, *meta);
	} else {
		msgpack_pack_map(&w.pk, 1);
		mpk_str(&w, "otlp", 4);
		msgpack_pack_map(&w.pk, !!g->res + !!g->scope);
		put_group(&w, g);
	}
	if (rc == 0 && w.err)
		rc = w.err;
	if (rc < 0)
		return rc;
	mp_cur_init(storage, g->meta.data, g->meta.len);
	*out = storage;
	return 0;
}
