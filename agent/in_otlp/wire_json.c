/* in_otlp/wire_json.c: OTLP JSON (parsed to msgpack by jsonmp) for the message view: the value
 * rules (64-bit integers as numbers or strings, enums by name, hex IDs, base64, NaN) and the open. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "wire_impl.h"

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

int owjs_read(const char *p, const char *end, struct mp_obj *o)
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

int owjs_u64(const struct mp_obj *o, uint64_t max, uint64_t *v)
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

int owjs_i64(const struct mp_obj *o, int64_t min, int64_t max, int64_t *v)
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

int owjs_f64(const struct mp_obj *o, double *v)
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

int owjs_enum(const struct ow_field *f, const struct mp_obj *o, int64_t *v)
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
	return owjs_i64(o, INT32_MIN, INT32_MAX, v);
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
	case OW_UINT: case OW_FIXED64: return owjs_u64(o, UINT64_MAX, &u);
	case OW_FIXED32: return owjs_u64(o, UINT32_MAX, &u);
	case OW_INT64: case OW_SFIXED64: return owjs_i64(o, INT64_MIN, INT64_MAX, &i);
	case OW_SINT32: return owjs_i64(o, INT32_MIN, INT32_MAX, &i);
	case OW_ENUM: return owjs_enum(f, o, &i);
	case OW_BOOL: return o->type == MP_BOOL ? 0 : -1;
	case OW_DOUBLE: return owjs_f64(o, &d);
	case OW_STRING: return o->type == MP_STR ? 0 : -1;
	case OW_BYTES: return o->type == MP_STR && codec_base64_decode(o->ptr, o->len, NULL) == 0 ? 0 : -1;
	case OW_ID16: return js_hex_ok(o, 16);
	case OW_ID8: return js_hex_ok(o, 8);
	case OW_MSG: return o->type == MP_MAP ? 0 : -1;
	}
	return -1;
}

int owjs_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e)
{
	struct mp_cur c;
	struct mp_obj o, k;
	uint32_t i;

	m->end = start + n;
	mp_cur_init(&c, start, n);
	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return ow_fail(e, "%s: expected an object", m->d->name);
	for (i = 0; i < o.len; i++) {
		const struct ow_field *f;
		const char *val;
		struct mp_obj v;

		if (mp_read(&c, &k) < 0 || k.type != MP_STR)
			return ow_fail(e, "%s: bad key", m->d->name);
		val = c.p;
		if (mp_read(&c, &v) < 0)
			return ow_fail(e, "%s: bad value", m->d->name);
		c.p = val;
		if (mp_skip(&c) < 0)
			return ow_fail(e, "%s: bad value", m->d->name);
		if (!(f = field_by_name(m->d, k.ptr, k.len)) || v.type == MP_NIL)
			continue; /* unknown keys are ignored; null is the default */
		if (f->repeated) {
			struct mp_cur ec;
			struct mp_obj eo;
			uint32_t j;

			if (v.type != MP_ARRAY)
				return ow_fail(e, "%s.%s: expected an array", m->d->name, f->json);
			mp_cur_init(&ec, val, (size_t)(m->end - val));
			mp_read(&ec, &eo);
			for (j = 0; j < eo.len; j++) {
				const char *ep = ec.p;
				struct mp_obj el;

				if (mp_read(&ec, &el) < 0 || js_check_one(f, &el) < 0)
					return ow_fail(e, "%s.%s[%u]: expected %s", m->d->name, f->json, j,
						    type_word((enum ow_type)f->type));
				ec.p = ep;
				mp_skip(&ec);
			}
		} else if (js_check_one(f, &v) < 0) {
			return ow_fail(e, "%s.%s: expected %s", m->d->name, f->json, type_word((enum ow_type)f->type));
		}
		m->at[f->num] = val;
		m->f[f->num] = f;
		m->seen |= 1u << f->num;
	}
	return 0;
}
