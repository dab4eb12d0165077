/* in_forward/markers.c: Fluent Bit's OTLP group markers in Forward frames: start and end entries are not stored, the records between them get the group's resource and scope in their "otlp" metadata. */
#include <errno.h>
#include <stdio.h>

#include "frame.h"
#include "mpk.h"

#define NS_PER_S 1000000000LL
/* Fluent Bit's group markers: EventTime seconds -1 (start) and -2 (end), nanoseconds 0. */
#define GROUP_START (-1 * NS_PER_S)
#define GROUP_END (-2 * NS_PER_S)

/* Copy the raw bytes of one object at c to out (c advances past it). */
static int copy_obj(struct buf *out, struct mp_cur *c)
{
	const char *s = c->p;
	int rc;

	if ((rc = mp_skip(c)) < 0)
		return rc;
	return buf_append(out, s, (size_t)(c->p - s));
}

/* The group's "resource" and "scope" pairs (whichever its start marker had), copied
 * as they came; !!g_res + !!g_scope pairs. */
static int put_group(const struct frame_ctx *x, msgpack_packer *pk)
{
	struct buf *b = mpk_buf(pk);
	int rc;

	if (x->g_res && ((rc = mpk_cstr(pk, "resource")) < 0 || (rc = buf_append(b, x->g_res, x->g_res_len)) < 0))
		return rc;
	if (x->g_scope && ((rc = mpk_cstr(pk, "scope")) < 0 || (rc = buf_append(b, x->g_scope, x->g_scope_len)) < 0))
		return rc;
	return 0;
}

/* The record's own "otlp" map (`pairs` pairs at c) with the group's resource and scope
 * in place of any it had. */
static int merge_otlp(const struct frame_ctx *x, msgpack_packer *pk, struct mp_cur *c, uint32_t pairs)
{
	struct buf *b = mpk_buf(pk);
	uint32_t j, kept = 0;
	size_t at;
	int rc;

	if ((rc = mpk_map32(pk, &at)) < 0)
		return rc;
	for (j = 0; j < pairs; j++) {
		struct mp_cur kc = *c;
		struct mp_obj k;

		if (mp_read(&kc, &k) < 0)
			return MP_EBAD;
		if ((x->g_res && fwd_key_is(&k, "resource")) || (x->g_scope && fwd_key_is(&k, "scope"))) {
			if (mp_skip(c) < 0 || mp_skip(c) < 0)
				return MP_EBAD;
			continue;
		}
		if ((rc = copy_obj(b, c)) < 0 || (rc = copy_obj(b, c)) < 0)
			return rc;
		kept++;
	}
	if ((rc = put_group(x, pk)) < 0)
		return rc;
	mpk_patch32(pk, at, kept + !!x->g_res + !!x->g_scope);
	return 0;
}

/* A record of an OTLP group: its metadata (`meta`, NULL for none) with the group's
 * resource and scope added under "otlp" (beside severity, attributes, IDs...),
 * written into d->meta; `out` is a cursor over the result. */
static int group_meta(struct frame_ctx *x, struct mp_cur *meta, struct mp_cur *out)
{
	struct buf *b = &x->d->meta;
	msgpack_packer pk;
	struct mp_obj o = { .type = MP_MAP, .len = 0 };
	struct mp_cur c = { NULL, NULL };
	bool had_otlp = false;
	uint32_t i;
	size_t at;
	int rc;

	buf_reset(b);
	mpk_init(&pk, b);
	if (meta) {
		c = *meta;
		if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
			return MP_EBAD;
	}
	if ((rc = mpk_map32(&pk, &at)) < 0)
		return rc;
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c, vc;
		struct mp_obj k, v;

		if ((rc = copy_obj(b, &c)) < 0)
			return rc;
		vc = c;
		if (mp_read(&kc, &k) < 0 || mp_read(&vc, &v) < 0)
			return MP_EBAD;
		if (fwd_key_is(&k, "otlp") && v.type == MP_MAP) {
			had_otlp = true;
			c = vc;
			rc = merge_otlp(x, &pk, &c, v.len);
		} else {
			rc = copy_obj(b, &c);
		}
		if (rc < 0)
			return rc;
	}
	if (!had_otlp && ((rc = mpk_cstr(&pk, "otlp")) < 0 ||
			  (rc = msgpack_pack_map(&pk, !!x->g_res + !!x->g_scope)) < 0 ||
			  (rc = put_group(x, &pk)) < 0))
		return rc;
	mpk_patch32(&pk, at, o.len + !had_otlp);
	mp_cur_init(out, b->data, b->len);
	return 0;
}

/* A start marker opens a group: the records up to the end marker belong to it, so
 * keep where its resource and scope are, to add them to each record's metadata. */
static int group_marker(struct frame_ctx *x, size_t idx, bool start, struct mp_cur *body)
{
	x->in_group = start;
	x->g_res = x->g_scope = NULL;
	if (start) {
		fwd_map_find(*body, "resource", &x->g_res, &x->g_res_len);
		fwd_map_find(*body, "scope", &x->g_scope, &x->g_scope_len);
	}
	x->f->markers++;
	return mp_skip(body) < 0 ? fwd_bad(x, "entry %zu is truncated", idx) : 0;
}

int fwd_add_log(struct frame_ctx *x, size_t idx, int64_t ts, struct mp_cur *meta, struct mp_cur *body)
{
	struct mp_cur merged;
	int rc;

	if (ts == GROUP_START || ts == GROUP_END)
		return group_marker(x, idx, ts == GROUP_START, body);
	if (x->in_group && (x->g_res || x->g_scope)) {
		if ((rc = group_meta(x, meta, &merged)) == -ENOSPC)
			return -EMSGSIZE;
		if (rc < 0)
			return fwd_bad(x, "entry %zu: metadata is not a map", idx);
		meta = &merged;
	}
	rc = chunk_add_log(&x->d->cb, ts, meta, body);
	if (rc == -ENOSPC) {
		snprintf(x->err, x->errlen, "records render over the chunk limit of %zu bytes at entry %zu",
			 x->d->chunk_max, idx);
		return -EMSGSIZE;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fwd_bad(x, "entry %zu: record is not a map (or its metadata is not)", idx);
	return 0;
}
