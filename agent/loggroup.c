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

int log_group_take(struct log_group *g, int64_t ts_ns, struct mp_cur body)
{
	if (ts_ns == GROUP_START) {
		/* Records up to the end marker belong to this group. */
		g->open = true;
		g->res = g->scope = NULL;
		mp_map_find(body, "resource", &g->res, &g->res_len);
		mp_map_find(body, "scope", &g->scope, &g->scope_len);
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
	return (g->res && mp_key_is(k, "resource")) || (g->scope && mp_key_is(k, "scope"));
}

static int put_group(msgpack_packer *pk, const struct log_group *g)
{
	int rc = 0;

	if (g->res) {
		rc = rc ? rc : msgpack_pack_str_with_body(pk, "resource", 8);
		rc = rc ? rc : buf_append(mpk_buf(pk), g->res, g->res_len);
	}
	if (g->scope) {
		rc = rc ? rc : msgpack_pack_str_with_body(pk, "scope", 5);
		rc = rc ? rc : buf_append(mpk_buf(pk), g->scope, g->scope_len);
	}
	return rc;
}

/* Copy one object at c to the packer. */
static int copy_obj(msgpack_packer *pk, struct mp_cur *c)
{
	const char *s = c->p;

	if (mp_skip(c) < 0)
		return MP_EBAD;
	return buf_append(mpk_buf(pk), s, (size_t)(c->p - s));
}

/* The record's own "otlp" map at c (its header already read as `v`), without the keys
 * the group replaces, followed by the group's resource and scope. */
static int put_otlp(msgpack_packer *pk, const struct log_group *g, struct mp_cur *c, uint32_t n)
{
	struct mp_cur scan = *c;
	struct mp_obj k;
	uint32_t i, kept = 0;
	int rc;

	for (i = 0; i < n; i++) {
		struct mp_cur kc = scan;

		if (mp_read(&kc, &k) < 0 || mp_skip(&scan) < 0 || mp_skip(&scan) < 0)
			return MP_EBAD;
		kept += !replaced(g, &k);
	}
	if ((rc = msgpack_pack_map(pk, kept + !!g->res + !!g->scope)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct mp_cur kc = *c;

		if (mp_read(&kc, &k) < 0)
			return MP_EBAD;
		if (replaced(g, &k)) {
			if (mp_skip(c) < 0 || mp_skip(c) < 0)
				return MP_EBAD;
			continue;
		}
		if ((rc = copy_obj(pk, c)) < 0 || (rc = copy_obj(pk, c)) < 0)
			return rc;
	}
	return put_group(pk, g);
}

/* meta (a map) with every pair copied, "otlp" merged with the group. */
static int merge(msgpack_packer *pk, const struct log_group *g, struct mp_cur c)
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
		if (mp_key_is(&k, "otlp") && mp_read(&vc, &v) == 0 && v.type == MP_MAP)
			has_otlp = true;
	}
	if ((rc = msgpack_pack_map(pk, o.len + !has_otlp)) < 0)
		return rc;
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c, vc;

		if (mp_read(&kc, &k) < 0)
			return MP_EBAD;
		if ((rc = copy_obj(pk, &c)) < 0)
			return rc;
		vc = c;
		if (mp_key_is(&k, "otlp") && mp_read(&vc, &v) == 0 && v.type == MP_MAP) {
			c = vc;
			if ((rc = put_otlp(pk, g, &c, v.len)) < 0)
				return rc;
			continue;
		}
		if ((rc = copy_obj(pk, &c)) < 0)
			return rc;
	}
	if (!has_otlp && ((rc = msgpack_pack_str_with_body(pk, "otlp", 4)) < 0 ||
			  (rc = msgpack_pack_map(pk, !!g->res + !!g->scope)) < 0))
		return rc;
	return has_otlp ? 0 : put_group(pk, g);
}

int log_group_meta(struct log_group *g, struct mp_cur *meta, struct mp_cur *storage, struct mp_cur **out)
{
	msgpack_packer pk;
	int rc = 0;

	*out = meta;
	if (!g->open || (!g->res && !g->scope))
		return 0;
	buf_reset(&g->meta);
	mpk_init(&pk, &g->meta);
	if (meta)
		rc = merge(&pk, g, *meta);
	else if ((rc = msgpack_pack_map(&pk, 1)) == 0 && (rc = msgpack_pack_str_with_body(&pk, "otlp", 4)) == 0 &&
		 (rc = msgpack_pack_map(&pk, !!g->res + !!g->scope)) == 0)
		rc = put_group(&pk, g);
	if (rc < 0)
		return rc;
	mp_cur_init(storage, g->meta.data, g->meta.len);
	*out = storage;
	return 0;
}
