/* in_otlp/common.c: what every OTLP signal renders the same way: the AnyValue, KeyValue, scope and
 * resource messages, the sticky JSON writers, attributes (straight to JSON, or through msgpack
 * and its renderer for duplicate keys and bytes) and the walk over resources and scopes. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "mp.h"
#include "mpjson.h"
#include "mpk.h"

/* ---- the common messages (opentelemetry-proto v1 common.proto, resource.proto) ------ */

static const struct ow_desc d_array, d_kvlist;

static const struct ow_field f_any[] = {
	{ 1, OW_STRING, false, "stringValue", "string_value", NULL, NULL },
	{ 2, OW_BOOL, false, "boolValue", "bool_value", NULL, NULL },
	{ 3, OW_INT64, false, "intValue", "int_value", NULL, NULL },
	{ 4, OW_DOUBLE, false, "doubleValue", "double_value", NULL, NULL },
	{ 5, OW_MSG, false, "arrayValue", "array_value", &d_array, NULL },
	{ 6, OW_MSG, false, "kvlistValue", "kvlist_value", &d_kvlist, NULL },
	{ 7, OW_BYTES, false, "bytesValue", "bytes_value", NULL, NULL },
};
const struct ow_desc oc_any = { "AnyValue", f_any, COUNT(f_any) };
static const struct ow_field f_array[] = { { 1, OW_MSG, true, "values", NULL, &oc_any, NULL } };
static const struct ow_desc d_array = { "ArrayValue", f_array, COUNT(f_array) };
static const struct ow_field f_kvlist[] = { { 1, OW_MSG, true, "values", NULL, &oc_kv, NULL } };
static const struct ow_desc d_kvlist = { "KeyValueList", f_kvlist, COUNT(f_kvlist) };
static const struct ow_field f_kv[] = {
	{ 1, OW_STRING, false, "key", NULL, NULL, NULL },
	{ 2, OW_MSG, false, "value", NULL, &oc_any, NULL },
};
const struct ow_desc oc_kv = { "KeyValue", f_kv, COUNT(f_kv) };

static const struct ow_field f_scope[] = {
	{ 1, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 2, OW_STRING, false, "version", NULL, NULL, NULL },
	{ 3, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 4, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
const struct ow_desc oc_scope = { "InstrumentationScope", f_scope, COUNT(f_scope) };
static const struct ow_field f_resource[] = {
	{ 1, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 2, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
const struct ow_desc oc_resource = { "Resource", f_resource, COUNT(f_resource) };

int oc_fail(struct oc_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->e.msg, sizeof(x->e.msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- JSON writers ------------------------------------------------------------------ */

void jw_str(struct oc_ctx *x, struct buf *b, const char *p, size_t n)
{
	size_t i;

	if (x->rc)
		return;
	/* Plain ASCII needs no escaping: copy it; anything else takes the full rules. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			break;
	}
	if (i < n || b->cap - b->len < n + 2) {
		x->rc = mpjson_put_string(b, p, n);
		return;
	}
	b->data[b->len] = '"';
	memcpy(b->data + b->len + 1, p, n);
	b->data[b->len + 1 + n] = '"';
	b->len += n + 2;
}

static void jw_strnull(struct oc_ctx *x, struct buf *b, const char *p, size_t n)
{
	if (n)
		jw_str(x, b, p, n);
	else
		jw_raw(x, b, "null");
}

void jw_u64(struct oc_ctx *x, struct buf *b, uint64_t v)
{
	if (!x->rc)
		x->rc = buf_put_u64(b, (unsigned long long)v);
}

void jw_i64(struct oc_ctx *x, struct buf *b, int64_t v)
{
	if (!x->rc)
		x->rc = buf_put_i64(b, (long long)v);
}

void jw_f64(struct oc_ctx *x, struct buf *b, double v)
{
	if (!x->rc)
		x->rc = mpjson_put_double(b, v);
}

/* A hex ID field of m as a JSON string, or null when absent or empty. */
static void jw_id(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num)
{
	char hex[33];
	size_t n = ow_hex(m, num, hex);

	if (n) {
		jw_raw(x, b, "\"");
		jw_mem(x, b, hex, n);
		jw_raw(x, b, "\"");
	} else {
		jw_raw(x, b, "null");
	}
}

void jw_field_str(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty)
{
	size_t n;
	const char *s = ow_str(m, num, &n);

	if (null_if_empty)
		jw_strnull(x, b, s, n);
	else
		jw_str(x, b, s, n);
}

/* Whether member r of m has a value worth writing (for OM_OPT). */
static bool member_set(const struct ow_msg *m, const struct oc_member *r)
{
	size_t n;

	switch (r->kind & ~OM_OPT) {
	case OM_STR: case OM_STRNULL:
		ow_str(m, r->num, &n);
		return n > 0;
	case OM_ATTRS: case OM_ATTRSNULL:
		return ow_count(m, r->num) > 0;
	default:
		return ow_u64(m, r->num) != 0;
	}
}

int oc_members(struct oc_ctx *x, struct buf *b, bool *first, const struct ow_msg *m, const struct oc_member *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct oc_member *r = &t[i];

		if ((r->kind & OM_OPT) && !member_set(m, r))
			continue;
		if (!x->rc && b->cap - b->len >= sizeof(r->key)) {
			memcpy(b->data + b->len, r->key + *first, sizeof(r->key) - 1);
			b->len += r->len - *first;
		} else {
			jw_mem(x, b, r->key + *first, r->len - *first);
		}
		*first = false;
		switch (r->kind & ~OM_OPT) {
		case OM_U64: jw_u64(x, b, ow_u64(m, r->num)); break;
		case OM_I64: jw_i64(x, b, ow_i64(m, r->num)); break;
		case OM_F64: jw_f64(x, b, ow_f64(m, r->num)); break;
		case OM_STR: jw_field_str(x, b, m, r->num, false); break;
		case OM_STRNULL: jw_field_str(x, b, m, r->num, true); break;
		case OM_ID: jw_id(x, b, m, r->num); break;
		case OM_ATTRS: TRY(oc_attrs(x, b, m, r->num, false)); break;
		case OM_ATTRSNULL: TRY(oc_attrs(x, b, m, r->num, true)); break;
		}
	}
	return 0;
}

int oc_list(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, const struct oc_member *t, size_t n)
{
	struct ow_msg el;
	struct ow_iter it;
	bool first;
	int rc, k;

	jw_raw(x, b, "[");
	ow_iter_init(&it, m, num);
	for (k = 0; (rc = ow_next_msg(&it, &el, &x->e)) > 0; k++) {
		jw_raw(x, b, k ? ",{" : "{");
		first = true;
		TRY(oc_members(x, b, &first, &el, t, n));
		jw_raw(x, b, "}");
	}
	if (rc < 0)
		return rc;
	jw_raw(x, b, "]");
	return 0;
}

/* ---- AnyValue and attributes ------------------------------------------------------ */


unsigned oc_any_case(const struct ow_msg *av)
{
	static const unsigned cases[] = { 1, 2, 3, 4, 5, 6, 7 };

	return ow_oneof(av, cases, COUNT(cases));
}

/* Which value av holds, or -EINVAL for an array or kvlist inside ANY_MAX_DEPTH others
 * already (depth: how many hold av). */
static int any_case(struct oc_ctx *x, const struct ow_msg *av, int depth)
{
	unsigned which = oc_any_case(av);

	if ((which == 5 || which == 6) && depth >= ANY_MAX_DEPTH)
		return oc_fail(x, "AnyValue nested deeper than %d levels of arrays and maps", ANY_MAX_DEPTH);
	return (int)which;
}

int oc_hex_mp(struct buf *out, const struct ow_msg *m, unsigned num)
{
	char hex[33];
	size_t n = ow_hex(m, num, hex);

	return msgpack_pack_str_with_body(MPK(out), hex, n);
}

/* The repeated field num of m into out: a msgpack array of its AnyValues or (kv) a map of its
 * KeyValues, their values at depth. */
static int mp_list(struct oc_ctx *x, const struct ow_msg *m, unsigned num, struct buf *out, int depth, bool kv)
{
	struct ow_msg el, v;
	struct ow_iter it;
	uint32_t count = 0;
	size_t at, n;
	const char *k;
	int rc;

	TRY(kv ? mpk_map32(MPK(out), &at) : mpk_array32(MPK(out), &at));
	ow_iter_init(&it, m, num);
	while ((rc = ow_next_msg(&it, &el, &x->e)) > 0) {
		if (kv) {
			k = ow_str(&el, 1, &n);
			TRY(msgpack_pack_str_with_body(MPK(out), k, n));
			TRY(ow_sub(&el, 2, &v, &x->e));
		}
		TRY(oc_any_mp(x, kv ? &v : &el, out, depth));
		count++;
	}
	if (rc < 0)
		return rc;
	mpk_patch32(MPK(out), at, count);
	return 0;
}

int oc_any_mp(struct oc_ctx *x, const struct ow_msg *av, struct buf *out, int depth)
{
	int which = any_case(x, av, depth);
	struct ow_msg sub;
	const char *s;
	size_t n;
	int rc;

	if (which < 0)
		return which;
	switch (which) {
	case 1:
		s = ow_str(av, 1, &n);
		return msgpack_pack_str_with_body(MPK(out), s, n);
	case 2:
		return mpk_bool(MPK(out), ow_bool(av, 2));
	case 3:
		return msgpack_pack_int64(MPK(out), ow_i64(av, 3));
	case 4:
		return msgpack_pack_double(MPK(out), ow_f64(av, 4));
	case 5:
		TRY(ow_sub(av, 5, &sub, &x->e));
		return mp_list(x, &sub, 1, out, depth + 1, false);
	case 6:
		TRY(ow_sub(av, 6, &sub, &x->e));
		return oc_kvs_mp(x, &sub, 1, out, depth + 1);
	case 7:
		if (!av->json) {
			s = ow_str(av, 7, &n);
			return msgpack_pack_bin_with_body(MPK(out), s, n);
		} else {
			struct buf raw;

			buf_init(&raw, out->max);
			if ((rc = ow_bytes(av, 7, &raw)) == 0)
				rc = msgpack_pack_bin_with_body(MPK(out), raw.data ? raw.data : "", raw.len);
			buf_free(&raw);
			return rc;
		}
	default:
		return msgpack_pack_nil(MPK(out));
	}
}

int oc_kvs_mp(struct oc_ctx *x, const struct ow_msg *m, unsigned num, struct buf *out, int depth)
{
	return mp_list(x, m, num, out, depth, true);
}

/* Straight to JSON, the common case: 1 asks the caller to take the msgpack path instead
 * (a duplicate key, bytes, too many keys to check), which resolves those by spec 3.1. */
#define FAST_KEYS 32
static int any_to_json(struct oc_ctx *x, struct buf *b, const struct ow_msg *av, int depth);
static int kvs_to_json(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, int depth);

/* The repeated field num of m as a JSON array of its AnyValues or (kv) an object of its
 * KeyValues, their values at depth; 1 for a duplicate key or too many to check. */
static int json_list(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, int depth, bool kv)
{
	const char *keys[FAST_KEYS];
	size_t klen[FAST_KEYS];
	struct ow_msg el, v;
	struct ow_iter it;
	int rc, n, i;

	jw_raw(x, b, kv ? "{" : "[");
	ow_iter_init(&it, m, num);
	for (n = 0; (rc = ow_next_msg(&it, &el, &x->e)) > 0; n++) {
		if (n)
			jw_raw(x, b, ",");
		if (kv) {
			if (n == FAST_KEYS)
				return 1;
			keys[n] = ow_str(&el, 1, &klen[n]);
			for (i = 0; i < n; i++)
				if (klen[i] == klen[n] && memcmp(keys[i], keys[n], klen[n]) == 0)
					return 1;
			jw_str(x, b, keys[n], klen[n]);
			jw_raw(x, b, ":");
			TRY(ow_sub(&el, 2, &v, &x->e));
		}
		if ((rc = any_to_json(x, b, kv ? &v : &el, depth)) != 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	jw_raw(x, b, kv ? "}" : "]");
	return 0;
}

static int any_to_json(struct oc_ctx *x, struct buf *b, const struct ow_msg *av, int depth)
{
	int which = any_case(x, av, depth);
	struct ow_msg sub;

	if (which < 0)
		return which;
	switch (which) {
	case 1:
		jw_field_str(x, b, av, 1, false);
		return 0;
	case 2:
		jw_raw(x, b, ow_bool(av, 2) ? "true" : "false");
		return 0;
	case 3:
		jw_i64(x, b, ow_i64(av, 3));
		return 0;
	case 4:
		jw_f64(x, b, ow_f64(av, 4));
		return 0;
	case 5:
		TRY(ow_sub(av, 5, &sub, &x->e));
		return json_list(x, b, &sub, 1, depth + 1, false);
	case 6:
		TRY(ow_sub(av, 6, &sub, &x->e));
		return kvs_to_json(x, b, &sub, 1, depth + 1);
	case 7:
		return 1;
	default:
		jw_raw(x, b, "null");
		return 0;
	}
}

static int kvs_to_json(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, int depth)
{
	return json_list(x, b, m, num, depth, true);
}

/* Attributes of m as a JSON object (or null when there are none and null_if_empty). */
int oc_attrs(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty)
{
	size_t mark = b->len;
	struct mp_cur c;
	int rc;

	if (!ow_has(m, num) || (m->json && ow_count(m, num) == 0)) {
		jw_raw(x, b, null_if_empty ? "null" : "{}");
		return 0;
	}
	if ((rc = kvs_to_json(x, b, m, num, 0)) <= 0)
		return rc;
	b->len = mark; /* the rare case: through msgpack and its renderer */
	buf_reset(&x->mp);
	if ((rc = oc_kvs_mp(x, m, num, &x->mp, 0)) < 0)
		return rc;
	mp_cur_init(&c, x->mp.data, x->mp.len);
	if (!x->rc && (rc = mpjson_write(b, &c)) < 0)
		x->rc = rc;
	return 0;
}


/* ---- the walk over resources and scopes ------------------------------------------- */

int oc_context(struct oc_ctx *x, const struct ow_msg *rx, const struct ow_msg *sx, struct ow_msg *res,
	       struct ow_msg *scope)
{
	TRY(ow_sub(rx, F_RESOURCE, res, &x->e));
	return ow_sub(sx, F_SCOPE, scope, &x->e);
}

int oc_each_scope(struct oc_ctx *x, const struct ow_msg *req, oc_scope_fn fn, void *arg)
{
	struct ow_msg rx, sx;
	struct ow_iter i1, i2;
	int r1, r2;

	ow_iter_init(&i1, req, 1);
	while ((r1 = ow_next_msg(&i1, &rx, &x->e)) > 0) {
		ow_iter_init(&i2, &rx, F_SCOPES);
		while ((r2 = ow_next_msg(&i2, &sx, &x->e)) > 0)
			TRY(fn(x, &rx, &sx, arg));
		if (r2 < 0)
			return r2;
	}
	return r1;
}
