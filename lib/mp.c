/* mp.c: msgpack reader; accepts non-minimal encodings (map32 for 1 pair) as the spec allows. */
#include "mp.h"

#include <math.h>
#include <string.h>

static inline uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t rd64(const unsigned char *p)
{
	return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

/* Take `n` bytes of payload after a header of `h` bytes. */
static int take(struct mp_cur *c, struct mp_obj *o, size_t h, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < h || (uint64_t)(c->end - c->p) - h < n)
		return MP_ETRUNC;
	o->ptr = c->p + h;
	o->len = (uint32_t)n;
	c->p += h + n;
	return 0;
}

static int need(const struct mp_cur *c, size_t n)
{
	return (size_t)(c->end - c->p) < n ? MP_ETRUNC : 0;
}

/* str8/16/32 and bin8/16/32: a length of 1, 2 or 4 bytes, then the bytes. */
static int read_raw(struct mp_cur *c, struct mp_obj *o, unsigned char b)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t h = b == 0xc4 || b == 0xd9 ? 1 : b == 0xc5 || b == 0xda ? 2 : 4;

	o->type = b <= 0xc6 ? MP_BIN : MP_STR;
	if (need(c, 1 + h))
		return MP_ETRUNC;
	return take(c, o, 1 + h, h == 1 ? p[1] : h == 2 ? rd16(p + 1) : rd32(p + 1));
}

/* ext8/16/32 (a length, the type, the bytes) and fixext1..16 (the type, 2^k bytes). */
static int read_ext(struct mp_cur *c, struct mp_obj *o, unsigned char b)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t h;

	o->type = MP_EXT;
	if (b >= 0xd4) {
		if (need(c, 2))
			return MP_ETRUNC;
		o->ext_type = (int8_t)p[1];
		return take(c, o, 2, 1u << (b - 0xd4));
	}
	h = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
	if (need(c, 2 + h))
		return MP_ETRUNC;
	o->ext_type = (int8_t)p[1 + h];
	return take(c, o, 2 + h, h == 1 ? p[1] : h == 2 ? rd16(p + 1) : rd32(p + 1));
}

/* float32/64, uint8..64, int8..64: the value in the 4 or 8, or 1..8 bytes after the tag.
 * A non-negative int is reported as MP_UINT, so that equal values compare equal. */
static int read_number(struct mp_cur *c, struct mp_obj *o, unsigned char b)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t h = b == 0xca ? 4 : b == 0xcb ? 8 : (size_t)1 << ((b - 0xcc) & 3);

	if (need(c, 1 + h))
		return MP_ETRUNC;
	if (b == 0xca) {
		uint32_t u = rd32(p + 1);
		float f;

		memcpy(&f, &u, 4);
		o->type = MP_FLOAT;
		o->v.f = f;
	} else if (b == 0xcb) {
		uint64_t u = rd64(p + 1);

		o->type = MP_FLOAT;
		memcpy(&o->v.f, &u, 8);
	} else if (b <= 0xcf) {
		o->type = MP_UINT;
		o->v.u = h == 1 ? p[1] : h == 2 ? rd16(p + 1) : h == 4 ? rd32(p + 1) : rd64(p + 1);
	} else {
		o->v.i = h == 1 ? (int8_t)p[1] : h == 2 ? (int16_t)rd16(p + 1) :
			 h == 4 ? (int32_t)rd32(p + 1) : (int64_t)rd64(p + 1);
		o->type = o->v.i < 0 ? MP_INT : MP_UINT;
	}
	c->p += 1 + h;
	return 0;
}

/* array16/32 and map16/32: the count in 2 or 4 bytes. */
static int read_container(struct mp_cur *c, struct mp_obj *o, unsigned char b)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t h = b == 0xdc || b == 0xde ? 2 : 4;

	if (need(c, 1 + h))
		return MP_ETRUNC;
	o->type = b == 0xdc || b == 0xdd ? MP_ARRAY : MP_MAP;
	o->len = h == 2 ? rd16(p + 1) : rd32(p + 1);
	c->p += 1 + h;
	return 0;
}

int mp_read(struct mp_cur *c, struct mp_obj *o)
{
	unsigned char b;

	if (c->p >= c->end)
		return MP_ETRUNC;
	b = (unsigned char)*c->p;
	o->ptr = NULL;
	o->len = 0;
	/* The one-byte forms first: they are most of any real input. */
	if (b <= 0x7f || b >= 0xe0) {
		if (b <= 0x7f) {
			o->type = MP_UINT;
			o->v.u = b;
		} else {
			o->type = MP_INT;
			o->v.i = (int8_t)b;
		}
		c->p++;
		return 0;
	}
	if (b <= 0x9f) {
		o->type = b <= 0x8f ? MP_MAP : MP_ARRAY;
		o->len = b & 0x0f;
		c->p++;
		return 0;
	}
	if (b <= 0xbf) {
		o->type = MP_STR;
		return take(c, o, 1, b & 0x1f);
	}
	switch (b) {
	case 0xc0:
	case 0xc2:
	case 0xc3:
		o->type = b == 0xc0 ? MP_NIL : MP_BOOL;
		o->v.b = b == 0xc3;
		c->p++;
		return 0;
	case 0xc4: case 0xc5: case 0xc6: case 0xd9: case 0xda: case 0xdb:
		return read_raw(c, o, b);
	case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		return read_ext(c, o, b);
	case 0xdc: case 0xdd: case 0xde: case 0xdf:
		return read_container(c, o, b);
	case 0xc1: /* never used */
		return MP_EBAD;
	default: /* 0xca..0xd3 */
		return read_number(c, o, b);
	}
}

int mp_skip(struct mp_cur *c)
{
	struct mp_cur save = *c;
	uint64_t remaining = 1;
	struct mp_obj o;
	int rc;

	while (remaining) {
		if ((rc = mp_read(c, &o)) < 0) {
			*c = save;
			return rc;
		}
		remaining--;
		if (o.type == MP_ARRAY)
			remaining += o.len;
		else if (o.type == MP_MAP)
			remaining += 2 * (uint64_t)o.len;
		/* Every element takes at least one byte: a count beyond the bytes left is
		 * truncated data, found now rather than after a long walk. */
		if (remaining > mp_cur_left(c)) {
			*c = save;
			return MP_ETRUNC;
		}
	}
	return 0;
}

bool mp_str_eq(const struct mp_obj *o, const char *s)
{
	size_t n = strlen(s);

	return (o->type == MP_STR || o->type == MP_BIN) && o->len == n && memcmp(o->ptr, s, n) == 0;
}

bool mp_key_is(const struct mp_obj *k, const char *s)
{
	return k->type == MP_STR && mp_str_eq(k, s);
}

bool mp_map_find(struct mp_cur c, const char *key, const char **p, size_t *n)
{
	struct mp_obj o, k;
	uint32_t i;

	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return false;
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c;
		const char *v;

		/* Read the key's header from a copy, step over the whole key (it may be a
		 * container) on the cursor. */
		if (mp_read(&kc, &k) < 0 || mp_skip(&c) < 0)
			return false;
		v = c.p;
		if (mp_skip(&c) < 0)
			return false;
		if (mp_key_is(&k, key)) {
			*p = v;
			*n = (size_t)(c.p - v);
			return true;
		}
	}
	return false;
}

int mp_time_ns(const struct mp_obj *o, int64_t *ns)
{
	const unsigned char *p;

	switch (o->type) {
	case MP_EXT:
		if (o->ext_type != 0 || o->len != 8)
			return MP_EBAD;
		p = (const unsigned char *)o->ptr;
		/* Seconds are unsigned (times after 2038 stay positive), except the two values
		 * Fluent Bit's group markers use: 0xFFFFFFFF = -1 and 0xFFFFFFFE = -2. */
		{
			uint32_t sec = rd32(p);
			int64_t s = sec >= 0xFFFFFFFEu ? (int64_t)sec - 0x100000000LL : (int64_t)sec;

			*ns = s * 1000000000 + rd32(p + 4);
		}
		return 0;
	case MP_UINT:
		if (o->v.u > INT64_MAX / 1000000000)
			return MP_EBAD;
		*ns = (int64_t)o->v.u * 1000000000;
		return 0;
	case MP_INT:
		if (o->v.i < INT64_MIN / 1000000000)
			return MP_EBAD;
		*ns = o->v.i * 1000000000;
		return 0;
	case MP_FLOAT: {
		double s;

		if (!(o->v.f > -9.2e9 && o->v.f < 9.2e9))
			return MP_EBAD;
		/* Seconds and fraction apart: f * 1e9 near 1.7e18 keeps only 53 bits, so
		 * 1700000000.25 would become ...249999872. */
		s = floor(o->v.f);
		*ns = (int64_t)s * 1000000000 + (int64_t)((o->v.f - s) * 1e9 + 0.5);
		return 0;
	}
	default:
		return MP_EBAD;
	}
}
