/* in_otlp/wire.c: protobuf wire scanning and OTLP JSON value rules behind one message view. */
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "mp.h"

__attribute__((format(printf, 2, 3)))
static int fail(struct ow_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static inline const struct ow_field *field_by_num(const struct ow_desc *d, unsigned num)
{
	size_t i = num - d->fields[0].num;

	/* Most tables list consecutive numbers: try the direct slot first. */
	if (num >= d->fields[0].num && i < d->nfields && d->fields[i].num == num)
		return &d->fields[i];
	for (i = 0; i < d->nfields; i++)
		if (d->fields[i].num == num)
			return &d->fields[i];
	return NULL;
}

static const struct ow_field *field_by_name(const struct ow_desc *d, const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < d->nfields; i++) {
		const struct ow_field *f = &d->fields[i];

		if ((strlen(f->json) == n && memcmp(f->json, k, n) == 0) ||
		    (f->proto && strlen(f->proto) == n && memcmp(f->proto, k, n) == 0))
			return f;
	}
	return NULL;
}

static const char *fname(const struct ow_field *f)
{
	return f->proto ? f->proto : f->json;
}

/* ---- protobuf ------------------------------------------------------------------ */

static int pb_varint_long(const unsigned char **pp, const unsigned char *end, uint64_t *v);

/* A varint of at most 10 bytes. 0, or -1 when truncated or too long. */
static inline int pb_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	if (*pp < end && **pp < 0x80) { /* one byte: most tags and lengths */
		*v = **pp;
		(*pp)++;
		return 0;
	}
	return pb_varint_long(pp, end, v);
}

static int pb_varint_long(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;
	unsigned s;

	for (s = 0; s < 70; s += 7) {
		unsigned char b;

		if (p >= end)
			return -1;
		b = *p++;
		if (s < 64)
			r |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
	}
	return -1;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int wire_of(enum ow_type t)
{
	switch (t) {
	case OW_UINT: case OW_INT64: case OW_SINT32: case OW_ENUM: case OW_BOOL:
		return 0;
	case OW_FIXED64: case OW_SFIXED64: case OW_DOUBLE:
		return 1;
	case OW_FIXED32:
		return 5;
	default:
		return 2;
	}
}

/* Skip one value of wire type `wt` at *pp. 0 or -1 (truncated / unsupported). */
static int pb_skip(const unsigned char **pp, const unsigned char *end, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return pb_varint(pp, end, &v);
	case 1:
		if (end - *pp < 8)
			return -1;
		*pp += 8;
		return 0;
	case 2:
		if (pb_varint(pp, end, &v) < 0 || v > (uint64_t)(end - *pp))
			return -1;
		*pp += v;
		return 0;
	case 5:
		if (end - *pp < 4)
			return -1;
		*pp += 4;
		return 0;
	default:
		return -1;
	}
}

/* The bytes of a length-delimited value at p (validated by the open). */
static const char *pb_len(const char *p, const char *end, size_t *n)
{
	const unsigned char *q = (const unsigned char *)p;
	uint64_t v = 0;

	pb_varint(&q, (const unsigned char *)end, &v);
	*n = (size_t)v;
	return (const char *)q;
}

static int pb_check_packed(const struct ow_field *f, const unsigned char *p, const unsigned char *end)
{
	int wt = wire_of((enum ow_type)f->type);

	while (p < end)
		if (pb_skip(&p, end, (unsigned)wt) < 0)
			return -1;
	return 0;
}

static int pb_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e)
{
	const unsigned char *p = (const unsigned char *)start, *end = p + n;

	m->end = start + n;
	while (p < end) {
		const unsigned char *tagpos = p, *val;
		const struct ow_field *f;
		uint64_t tag;
		unsigned num, wt;

		if (pb_varint(&p, end, &tag) < 0)
			return fail(e, "%s: truncated field tag", m->d->name);
		num = tag >> 3 > 0xffffffffu ? 0 : (unsigned)(tag >> 3);
		wt = (unsigned)(tag & 7);
		if (num == 0)
			return fail(e, "%s: field number 0", m->d->name);
		val = p;
		if (pb_skip(&p, end, wt) < 0)
			return fail(e, "%s: field %u (wire type %u) is truncated or of an unsupported wire type",
				    m->d->name, num, wt);
		if (num > OW_MAXF || !(f = field_by_num(m->d, num)))
			continue; /* unknown fields are skipped */
		if ((int)wt != wire_of((enum ow_type)f->type)) {
			const unsigned char *q = val;
			uint64_t len = 0;

			/* Repeated scalars may come packed in one length-delimited run. */
			if (!(f->repeated && wt == 2 && f->type != OW_MSG && wire_of((enum ow_type)f->type) != 2))
				return fail(e, "%s.%s: wrong wire type %u", m->d->name, fname(f), wt);
			pb_varint(&q, end, &len);
			if (pb_check_packed(f, q, q + len) < 0)
				return fail(e, "%s.%s: bad packed values", m->d->name, fname(f));
		} else if (f->type == OW_ID16 || f->type == OW_ID8) {
			size_t len;

			pb_len((const char *)val, m->end, &len);
			if (len != 0 && len != (f->type == OW_ID16 ? 16u : 8u))
				return fail(e, "%s.%s: %zu bytes, must be %u", m->d->name, fname(f), len,
					    f->type == OW_ID16 ? 16 : 8);
		}
		if (f->repeated) {
			if (!ow_has(m, num))
				m->at[num] = (const char *)tagpos;
		} else {
			m->at[num] = (const char *)val;
		}
		m->f[num] = f;
		m->seen |= 1u << num;
	}
	return 0;
}

/* ---- OTLP JSON (as msgpack) ------------------------------------------------------ */

static int js_read(const char *p, const char *end, struct mp_obj *o)
{
	struct mp_cur c;

	mp_cur_init(&c, p, (size_t)(end - p));
	return mp_read(&c, o);
}

static int parse_udec(const char *s, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (r > (UINT64_MAX - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

static int js_u64(const struct mp_obj *o, uint64_t max, uint64_t *v)
{
	switch (o->type) {
	case MP_UINT:
		*v = o->v.u;
		break;
	case MP_FLOAT:
		if (!(o->v.f >= 0 && o->v.f < 18446744073709551616.0) || o->v.f != floor(o->v.f))
			return -1;
		*v = (uint64_t)o->v.f;
		break;
	case MP_STR:
		if (parse_udec(o->ptr, o->len, v) < 0)
			return -1;
		break;
	default:
		return -1;
	}
	return *v <= max ? 0 : -1;
}

static int js_i64(const struct mp_obj *o, int64_t min, int64_t max, int64_t *v)
{
	uint64_t u;

	switch (o->type) {
	case MP_UINT:
		if (o->v.u > (uint64_t)INT64_MAX)
			return -1;
		*v = (int64_t)o->v.u;
		break;
	case MP_INT:
		*v = o->v.i;
		break;
	case MP_FLOAT:
		if (!(o->v.f >= -9223372036854775808.0 && o->v.f < 9223372036854775808.0) || o->v.f != floor(o->v.f))
			return -1;
		*v = (int64_t)o->v.f;
		break;
	case MP_STR:
		if (o->len > 0 && o->ptr[0] == '-') {
			if (parse_udec(o->ptr + 1, o->len - 1, &u) < 0 || u > (uint64_t)INT64_MAX + 1)
				return -1;
			*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
		} else {
			if (parse_udec(o->ptr, o->len, &u) < 0 || u > (uint64_t)INT64_MAX)
				return -1;
			*v = (int64_t)u;
		}
		break;
	default:
		return -1;
	}
	return *v >= min && *v <= max ? 0 : -1;
}

static int js_f64(const struct mp_obj *o, double *v)
{
	char tmp[64], *endp;

	switch (o->type) {
	case MP_UINT: *v = (double)o->v.u; return 0;
	case MP_INT: *v = (double)o->v.i; return 0;
	case MP_FLOAT: *v = o->v.f; return 0;
	case MP_STR:
		if (o->len == 3 && memcmp(o->ptr, "NaN", 3) == 0) {
			*v = NAN;
			return 0;
		}
		if (o->len == 8 && memcmp(o->ptr, "Infinity", 8) == 0) {
			*v = INFINITY;
			return 0;
		}
		if (o->len == 9 && memcmp(o->ptr, "-Infinity", 9) == 0) {
			*v = -INFINITY;
			return 0;
		}
		if (o->len == 0 || o->len >= sizeof(tmp) || !((o->ptr[0] >= '0' && o->ptr[0] <= '9') || o->ptr[0] == '-'))
			return -1;
		memcpy(tmp, o->ptr, o->len);
		tmp[o->len] = '\0';
		*v = strtod(tmp, &endp);
		return *endp == '\0' ? 0 : -1;
	default:
		return -1;
	}
}

static int js_enum(const struct ow_field *f, const struct mp_obj *o, int64_t *v)
{
	const struct ow_enum *en;

	if (o->type == MP_STR) {
		for (en = f->enums; en && en->name; en++) {
			if (strlen(en->name) == o->len && memcmp(en->name, o->ptr, o->len) == 0) {
				*v = en->value;
				return 0;
			}
		}
		return -1;
	}
	if (o->type != MP_UINT && o->type != MP_INT)
		return -1;
	return js_i64(o, INT32_MIN, INT32_MAX, v);
}

static int js_hex_ok(const struct mp_obj *o, size_t bytes)
{
	uint32_t i;

	if (o->type != MP_STR || (o->len != 0 && o->len != 2 * bytes))
		return -1;
	for (i = 0; i < o->len; i++)
		if (codec_hexval(o->ptr[i]) < 0)
			return -1;
	return 0;
}

static const char *type_word(enum ow_type t)
{
	switch (t) {
	case OW_UINT: case OW_FIXED64: case OW_FIXED32: return "an unsigned integer (number or string)";
	case OW_INT64: case OW_SFIXED64: case OW_SINT32: return "an integer (number or string)";
	case OW_ENUM: return "an enum (integer or name)";
	case OW_BOOL: return "a boolean";
	case OW_DOUBLE: return "a number";
	case OW_STRING: return "a string";
	case OW_BYTES: return "a base64 string";
	case OW_ID16: return "a hex string of 32 digits";
	case OW_ID8: return "a hex string of 16 digits";
	case OW_MSG: return "an object";
	}
	return "?";
}

/* Check one JSON scalar or message value against its field type. */
static int js_check_one(const struct ow_field *f, const struct mp_obj *o)
{
	uint64_t u;
	int64_t i;
	double d;

	switch ((enum ow_type)f->type) {
	case OW_UINT: case OW_FIXED64: return js_u64(o, UINT64_MAX, &u);
	case OW_FIXED32: return js_u64(o, UINT32_MAX, &u);
	case OW_INT64: case OW_SFIXED64: return js_i64(o, INT64_MIN, INT64_MAX, &i);
	case OW_SINT32: return js_i64(o, INT32_MIN, INT32_MAX, &i);
	case OW_ENUM: return js_enum(f, o, &i);
	case OW_BOOL: return o->type == MP_BOOL ? 0 : -1;
	case OW_DOUBLE: return js_f64(o, &d);
	case OW_STRING: return o->type == MP_STR ? 0 : -1;
	case OW_BYTES: return o->type == MP_STR && codec_base64_decode(o->ptr, o->len, NULL) == 0 ? 0 : -1;
	case OW_ID16: return js_hex_ok(o, 16);
	case OW_ID8: return js_hex_ok(o, 8);
	case OW_MSG: return o->type == MP_MAP ? 0 : -1;
	}
	return -1;
}

static int js_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e)
{
	struct mp_cur c;
	struct mp_obj o, k;
	uint32_t i;

	m->end = start + n;
	mp_cur_init(&c, start, n);
	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return fail(e, "%s: expected an object", m->d->name);
	for (i = 0; i < o.len; i++) {
		const struct ow_field *f;
		const char *val;
		struct mp_obj v;

		if (mp_read(&c, &k) < 0 || k.type != MP_STR)
			return fail(e, "%s: bad key", m->d->name);
		val = c.p;
		if (mp_read(&c, &v) < 0)
			return fail(e, "%s: bad value", m->d->name);
		c.p = val;
		if (mp_skip(&c) < 0)
			return fail(e, "%s: bad value", m->d->name);
		if (!(f = field_by_name(m->d, k.ptr, k.len)) || v.type == MP_NIL)
			continue; /* unknown keys are ignored; null is the default */
		if (f->repeated) {
			struct mp_cur ec;
			struct mp_obj eo;
			uint32_t j;

			if (v.type != MP_ARRAY)
				return fail(e, "%s.%s: expected an array", m->d->name, f->json);
			mp_cur_init(&ec, val, (size_t)(m->end - val));
			mp_read(&ec, &eo);
			for (j = 0; j < eo.len; j++) {
				const char *ep = ec.p;
				struct mp_obj el;

				if (mp_read(&ec, &el) < 0 || js_check_one(f, &el) < 0)
					return fail(e, "%s.%s[%u]: expected %s", m->d->name, f->json, j,
						    type_word((enum ow_type)f->type));
				ec.p = ep;
				mp_skip(&ec);
			}
		} else if (js_check_one(f, &v) < 0) {
			return fail(e, "%s.%s: expected %s", m->d->name, f->json, type_word((enum ow_type)f->type));
		}
		m->at[f->num] = val;
		m->f[f->num] = f;
		m->seen |= 1u << f->num;
	}
	return 0;
}

int ow_open(struct ow_msg *m, const struct ow_desc *d, bool json, const char *p, size_t n, int depth,
	    struct ow_err *e)
{
	m->d = d;
	m->json = json;
	m->depth = depth;
	m->seen = 0;
	m->end = p + n;
	if (depth > OW_MAX_DEPTH)
		return fail(e, "%s: nesting deeper than %d", d->name, OW_MAX_DEPTH);
	return json ? js_open(m, p, n, e) : pb_open(m, p, n, e);
}

int ow_sub(const struct ow_msg *m, unsigned num, struct ow_msg *sub, struct ow_err *e)
{
	const struct ow_field *f;
	const char *p;
	size_t n;

	if (!ow_has(m, num)) {
		f = field_by_num(m->d, num);
		sub->d = f ? f->sub : NULL;
		sub->json = m->json;
		sub->depth = m->depth + 1;
		sub->seen = 0;
		sub->end = m->end;
		return 0;
	}
	f = m->f[num];
	if (m->json)
		return ow_open(sub, f->sub, true, m->at[num], (size_t)(m->end - m->at[num]), m->depth + 1, e);
	p = pb_len(m->at[num], m->end, &n);
	return ow_open(sub, f->sub, false, p, n, m->depth + 1, e);
}

/* ---- getters ----------------------------------------------------------------------- */

static uint64_t pb_scalar(const struct ow_field *f, const char *at, const char *end)
{
	const unsigned char *p = (const unsigned char *)at;
	uint64_t v = 0;

	switch (wire_of((enum ow_type)f->type)) {
	case 0:
		pb_varint(&p, (const unsigned char *)end, &v);
		return v;
	case 1:
		return le64(p);
	case 5:
		return le32(p);
	}
	return 0;
}

uint64_t ow_u64(const struct ow_msg *m, unsigned num)
{
	const struct ow_field *f;
	struct mp_obj o;
	uint64_t v = 0;
	int64_t i = 0;

	if (!ow_has(m, num))
		return 0;
	f = m->f[num];
	if (!m->json)
		return pb_scalar(f, m->at[num], m->end);
	if (js_read(m->at[num], m->end, &o) < 0)
		return 0;
	if (f->type == OW_BOOL)
		return o.type == MP_BOOL && o.v.b;
	if (f->type == OW_ENUM)
		return js_enum(f, &o, &i) == 0 ? (uint64_t)i : 0;
	return js_u64(&o, UINT64_MAX, &v) == 0 ? v : 0;
}

int64_t ow_i64(const struct ow_msg *m, unsigned num)
{
	const struct ow_field *f;
	struct mp_obj o;
	int64_t v = 0;
	uint64_t u;

	if (!ow_has(m, num))
		return 0;
	f = m->f[num];
	if (!m->json) {
		u = pb_scalar(f, m->at[num], m->end);
		if (f->type == OW_SINT32)
			return (int32_t)((uint32_t)(u >> 1) ^ (uint32_t)-(int32_t)(u & 1));
		if (f->type == OW_ENUM)
			return (int32_t)(uint32_t)u;
		return (int64_t)u;
	}
	if (js_read(m->at[num], m->end, &o) < 0)
		return 0;
	if (f->type == OW_ENUM)
		return js_enum(f, &o, &v) == 0 ? v : 0;
	return js_i64(&o, INT64_MIN, INT64_MAX, &v) == 0 ? v : 0;
}

double ow_f64(const struct ow_msg *m, unsigned num)
{
	struct mp_obj o;
	uint64_t u;
	double d = 0;

	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		u = pb_scalar(m->f[num], m->at[num], m->end);
		memcpy(&d, &u, sizeof(d));
		return d;
	}
	if (js_read(m->at[num], m->end, &o) < 0 || js_f64(&o, &d) < 0)
		return 0;
	return d;
}

bool ow_bool(const struct ow_msg *m, unsigned num)
{
	return ow_u64(m, num) != 0;
}

const char *ow_str(const struct ow_msg *m, unsigned num, size_t *len)
{
	struct mp_obj o;

	*len = 0;
	if (!ow_has(m, num))
		return "";
	if (!m->json)
		return pb_len(m->at[num], m->end, len);
	if (js_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR)
		return "";
	*len = o.len;
	return o.ptr;
}

int ow_bytes(const struct ow_msg *m, unsigned num, struct buf *out)
{
	struct mp_obj o;
	const char *p;
	size_t n;
	int rc;

	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		p = pb_len(m->at[num], m->end, &n);
		return buf_append(out, p, n);
	}
	if (js_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR)
		return 0;
	rc = codec_base64_decode(o.ptr, o.len, out);
	return rc == -EINVAL ? 0 : rc;
}

size_t ow_hex(const struct ow_msg *m, unsigned num, char out[33])
{
	static const char hexdig[] = "0123456789abcdef";
	struct mp_obj o;
	const char *p;
	size_t n, i;

	out[0] = '\0';
	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		p = pb_len(m->at[num], m->end, &n);
		if (n > 16)
			n = 16;
		for (i = 0; i < n; i++) {
			out[2 * i] = hexdig[(unsigned char)p[i] >> 4];
			out[2 * i + 1] = hexdig[(unsigned char)p[i] & 15];
		}
		out[2 * n] = '\0';
		return 2 * n;
	}
	if (js_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR || o.len > 32)
		return 0;
	for (i = 0; i < o.len; i++) {
		int v = codec_hexval(o.ptr[i]);

		out[i] = hexdig[v < 0 ? 0 : v];
	}
	out[o.len] = '\0';
	return o.len;
}

unsigned ow_oneof(const struct ow_msg *m, const unsigned *nums, size_t n)
{
	const char *best = NULL;
	unsigned which = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ow_has(m, nums[i]) && (!best || m->at[nums[i]] > best)) {
			best = m->at[nums[i]];
			which = nums[i];
		}
	}
	return which;
}

/* ---- repeated fields ------------------------------------------------------------- */

void ow_iter_init(struct ow_iter *it, const struct ow_msg *m, unsigned num)
{
	struct mp_obj o;
	struct mp_cur c;

	memset(it, 0, sizeof(*it));
	it->m = m;
	it->num = num;
	if (!ow_has(m, num))
		return;
	if (!m->json) {
		it->p = m->at[num];
		return;
	}
	mp_cur_init(&c, m->at[num], (size_t)(m->end - m->at[num]));
	if (mp_read(&c, &o) == 0 && o.type == MP_ARRAY) {
		it->p = c.p;
		it->left = o.len;
	}
}

/* Protobuf: the next occurrence of the field; *val at its value, *wt its wire type. */
static bool pb_next(struct ow_iter *it, const char **val, unsigned *wt)
{
	const unsigned char *p = (const unsigned char *)it->p, *end = (const unsigned char *)it->m->end;

	if (!p)
		return false;
	while (p < end) {
		const unsigned char *v;
		uint64_t tag;

		if (pb_varint(&p, end, &tag) < 0)
			break;
		v = p;
		if (pb_skip(&p, end, (unsigned)(tag & 7)) < 0)
			break;
		if ((tag >> 3) == it->num) {
			it->p = (const char *)p;
			*val = (const char *)v;
			*wt = (unsigned)(tag & 7);
			return true;
		}
	}
	it->p = NULL;
	return false;
}

int ow_next_msg(struct ow_iter *it, struct ow_msg *sub, struct ow_err *e)
{
	const struct ow_msg *m = it->m;
	const struct ow_field *f;
	const char *val, *p;
	unsigned wt;
	size_t n;
	int rc;

	if (!ow_has(m, it->num))
		return 0;
	f = m->f[it->num];
	if (m->json) {
		struct mp_cur c;

		if (it->left == 0)
			return 0;
		it->left--;
		if ((rc = ow_open(sub, f->sub, true, it->p, (size_t)(m->end - it->p), m->depth + 1, e)) < 0)
			return rc;
		mp_cur_init(&c, it->p, (size_t)(m->end - it->p));
		mp_skip(&c);
		it->p = c.p;
		return 1;
	}
	if (!pb_next(it, &val, &wt))
		return 0;
	p = pb_len(val, m->end, &n);
	if ((rc = ow_open(sub, f->sub, false, p, n, m->depth + 1, e)) < 0)
		return rc;
	return 1;
}

/* The next raw scalar of a repeated field: protobuf packed runs or single values. */
static bool next_raw(struct ow_iter *it, uint64_t *raw, struct mp_obj *jo)
{
	const struct ow_msg *m = it->m;
	const struct ow_field *f;
	const char *val;
	unsigned wt;
	int want;

	if (!ow_has(m, it->num))
		return false;
	f = m->f[it->num];
	if (m->json) {
		struct mp_cur c;

		if (it->left == 0)
			return false;
		it->left--;
		mp_cur_init(&c, it->p, (size_t)(m->end - it->p));
		if (mp_read(&c, jo) < 0)
			return false;
		it->p = c.p;
		return true;
	}
	want = wire_of((enum ow_type)f->type);
	for (;;) {
		if (it->packed && it->packed < it->packed_end) {
			const unsigned char *p = (const unsigned char *)it->packed;

			*raw = want == 0 ? 0 : want == 1 ? le64(p) : le32(p);
			if (want == 0)
				pb_varint(&p, (const unsigned char *)it->packed_end, raw);
			else
				p += want == 1 ? 8 : 4;
			it->packed = (const char *)p;
			return true;
		}
		it->packed = NULL;
		if (!pb_next(it, &val, &wt))
			return false;
		if ((int)wt == want) {
			*raw = pb_scalar(f, val, m->end);
			return true;
		}
		{
			size_t n;

			it->packed = pb_len(val, m->end, &n);
			it->packed_end = it->packed + n;
		}
	}
}

bool ow_next_u64(struct ow_iter *it, uint64_t *v)
{
	struct mp_obj o;
	uint64_t raw = 0;

	if (!next_raw(it, &raw, &o))
		return false;
	if (it->m->json) {
		if (js_u64(&o, UINT64_MAX, v) < 0)
			*v = 0;
		return true;
	}
	*v = raw;
	return true;
}

bool ow_next_f64(struct ow_iter *it, double *v)
{
	struct mp_obj o;
	uint64_t raw = 0;

	if (!next_raw(it, &raw, &o))
		return false;
	if (it->m->json) {
		if (js_f64(&o, v) < 0)
			*v = 0;
		return true;
	}
	memcpy(v, &raw, sizeof(*v));
	return true;
}

size_t ow_count(const struct ow_msg *m, unsigned num)
{
	struct ow_iter it;
	size_t n = 0;
	uint64_t u;

	if (!ow_has(m, num))
		return 0;
	ow_iter_init(&it, m, num);
	if (m->json)
		return it.left;
	if (m->f[num]->type == OW_MSG) {
		const char *val;
		unsigned wt;

		while (pb_next(&it, &val, &wt))
			n++;
		return n;
	}
	while (ow_next_u64(&it, &u))
		n++;
	return n;
}
