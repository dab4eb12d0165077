/* in_forward/contexts.c: cmetrics and ctraces contexts (fluent_signal 1 and 2), unpacked with msgpack-c, rewritten where Vivo shows them differently from Fluent Bit, packed again and rendered as one JSON line each. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "mpjson.h"
#include "mpk.h"
#include "mpu.h"

/* A context's tree costs one msgpack_object (24 bytes) per element: a context may have
 * one element per 8 bytes of its decoder's scratch buffer (2 x buffer_max_size), so the
 * tree stays near 6 x buffer_max_size however densely the elements are packed. */
#define OBJECTS_PER_SCRATCH_BYTE 8

struct key {
	const char *p;
	size_t n;
};

static const struct key none = { "", 0 };

static bool kis(struct key k, const char *s)
{
	size_t n = strlen(s);

	return k.n == n && memcmp(k.p, s, n) == 0;
}

static bool is_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

/* A span ID as lowercase hex, in new bytes from the zone (the tree points into the
 * frame, which stays as it came): hex text is lowercased, other bytes are hexed, nil
 * and empty become nil. `o` is a str, a bin or nil. */
static int put_id(msgpack_object *o, msgpack_zone *z)
{
	static const char hex[] = "0123456789abcdef";
	const char *p;
	uint32_t n, i;
	bool text;
	char *h;

	/* str and bin have the same layout in msgpack_object. */
	if (o->type == MSGPACK_OBJECT_NIL || o->via.str.size == 0) {
		o->type = MSGPACK_OBJECT_NIL;
		return 0;
	}
	p = o->via.str.ptr;
	n = o->via.str.size;
	text = o->type == MSGPACK_OBJECT_STR && n % 2 == 0 && is_hex(p, n);
	/* n is at most buffer_max_size (< 2^30), so 2 n fits. */
	if (!(h = msgpack_zone_malloc(z, text ? n : 2 * (size_t)n)))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (text) {
			h[i] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : (char)ch;
		} else {
			h[2 * i] = hex[ch >> 4];
			h[2 * i + 1] = hex[ch & 15];
		}
	}
	o->type = MSGPACK_OBJECT_STR;
	o->via.str.ptr = h;
	o->via.str.size = text ? n : 2 * n;
	return 0;
}

/* cmetrics keeps a summary's quantile values and sum as the raw bits of doubles in
 * uint64: make them the doubles they are. */
static void as_double(msgpack_object *o)
{
	double v;

	memcpy(&v, &o->via.u64, sizeof(v));
	o->type = MSGPACK_OBJECT_FLOAT64;
	o->via.f64 = v;
}

/* Rewrite the tree in place: summaries' doubles (metrics), IDs as lowercase hex
 * (traces). `key` is the map key this value sits under, `parent` the key of the map
 * holding it. The tree is at most MPU_DEPTH deep (msgpack-c's own
 * limit), which bounds the recursion. */
static int rewrite(msgpack_object *o, int signal, struct key key, struct key parent, msgpack_zone *z)
{
	uint32_t i;
	int rc;

	if (signal == 2 && (kis(key, "trace_id") || kis(key, "span_id") || kis(key, "parent_span_id")) &&
	    (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN || o->type == MSGPACK_OBJECT_NIL))
		return put_id(o, z);
	if (signal == 1 && kis(parent, "summary") && kis(key, "sum") && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		as_double(o);
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		bool quantiles = signal == 1 && kis(parent, "summary") && kis(key, "quantiles");

		for (i = 0; i < o->via.array.size; i++) {
			msgpack_object *e = &o->via.array.ptr[i];

			if (quantiles && e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				as_double(e);
			else if ((rc = rewrite(e, signal, none, key, z)) < 0)
				return rc;
		}
	} else if (o->type == MSGPACK_OBJECT_MAP) {
		for (i = 0; i < o->via.map.size; i++) {
			msgpack_object_kv *kv = &o->via.map.ptr[i];
			struct key kk = none;

			if (kv->key.type == MSGPACK_OBJECT_STR) {
				kk.p = kv->key.via.str.ptr;
				kk.n = kv->key.via.str.size;
			}
			if ((rc = rewrite(&kv->val, signal, kk, key, z)) < 0)
				return rc;
		}
	}
	return 0;
}

/* A context is a map holding "metrics" (cmetrics) or "resourceSpans" (ctraces) as an array. */
static bool is_context(int signal, const msgpack_object *o)
{
	const char *want = signal == 1 ? "metrics" : "resourceSpans";
	size_t n = strlen(want);
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
		    memcmp(kv->key.via.str.ptr, want, n) == 0)
			return kv->val.type == MSGPACK_OBJECT_ARRAY;
	}
	return false;
}

/* Render the context at the cursor as one JSON line (no newline) appended to `out`,
 * converted to the shapes of spec 3.4/3.5, and advance the cursor. `scratch` takes the
 * rewritten msgpack; its limit also bounds the tree (OBJECTS_PER_SCRATCH_BYTE).
 * 0; -EBADMSG for what is not a context, -E2BIG for one too large or deep to unpack;
 * -ENOSPC/-ENOMEM from the buffers. */
static int render_context(int signal, struct mp_cur *c, struct buf *scratch, struct buf *out)
{
	msgpack_unpacked u;
	msgpack_packer pk;
	struct mp_cur v;
	int rc;

	msgpack_unpacked_init(&u);
	rc = mpu_unpack(c, scratch->max / OBJECTS_PER_SCRATCH_BYTE, &u);
	if (rc == MP_EBAD || rc == MP_ETRUNC || (rc == 0 && !is_context(signal, &u.data)))
		rc = -EBADMSG;
	/* is_context: the root is a map, so msgpack-c made a zone for the tree. */
	if (rc == 0)
		rc = rewrite(&u.data, signal, none, none, u.zone);
	if (rc == 0) {
		buf_reset(scratch);
		mpk_init(&pk, scratch);
		rc = msgpack_pack_object(&pk, u.data);
	}
	if (rc == 0) {
		mp_cur_init(&v, scratch->data, scratch->len);
		if ((rc = mpjson_write(out, &v)) == MP_EBAD || rc == MP_ETRUNC)
			rc = -EBADMSG;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

int fwd_render_contexts(struct frame_ctx *x, struct mp_cur *rec, size_t idx)
{
	struct fwd_decoder *d = x->d;
	const char *what = x->signal == 1 ? "cmetrics" : "ctraces";
	struct mp_cur c = *rec;
	struct mp_obj o;
	uint32_t i, n = 1;
	int rc;

	/* One context map, or an array of them (fluentd_compat wraps the context in one). */
	if (mp_read(&c, &o) < 0)
		return fwd_bad(x, "entry %zu is truncated", idx);
	if (o.type == MP_ARRAY)
		n = o.len;
	else
		c = *rec;
	for (i = 0; i < n; i++) {
		buf_reset(&d->line);
		rc = render_context(x->signal, &c, &d->scratch, &d->line);
		if (rc == -EBADMSG)
			return fwd_bad(x, "entry %zu: object %u is not a %s context", idx, i, what);
		if (rc == MPU_ELIMIT)
			return fwd_bad(x, "entry %zu: %s context %u nests deeper than %d levels or has more than %zu elements",
				       idx, what, i, MPU_DEPTH, d->scratch.max / OBJECTS_PER_SCRATCH_BYTE);
		if (rc == 0)
			rc = chunk_add_line(&d->cb, d->line.data, d->line.len);
		if (rc == -ENOSPC) {
			snprintf(x->err, x->errlen, "%s context %u of entry %zu is over the limit", what, i, idx);
			return -EMSGSIZE;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}
