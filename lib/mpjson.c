/* mpjson.c: msgpack to JSON renderer: exact integers, valid UTF-8, last duplicate key wins. */
#include "mpjson.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_value(struct buf *out, struct mp_cur *c, int depth, bool hexbin);

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char b = p[0];

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (b >= 0xe0 && b <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (b == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (b == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (b >= 0xf0 && b <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (b == 0xf0 && p[1] < 0x90)
			return 0;
		if (b == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (!(k = utf8_seq(p + i, n - i)))
			return false;
		i += k;
	}
	return true;
}

int mpjson_put_string(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, k;
	char esc[6];
	int rc;

	/* Worst case every byte becomes 6 characters; reserve for the common case. */
	if ((rc = buf_reserve(out, n + 2)) < 0)
		return rc;
	out->data[out->len++] = '"';
	while (i < n) {
		unsigned char b;

		/* Eight bytes at a time while none needs a look: no control byte, quote,
		 * backslash or byte >= 0x80 (SWAR: a zero byte in x ^ c flags a match). */
		while (i + 8 <= n) {
			uint64_t x, ctl, quo, bsl;

			memcpy(&x, p + i, 8);
			ctl = (x - 0x2020202020202020ULL) & ~x;
			quo = ((x ^ 0x2222222222222222ULL) - 0x0101010101010101ULL) & ~(x ^ 0x2222222222222222ULL);
			bsl = ((x ^ 0x5c5c5c5c5c5c5c5cULL) - 0x0101010101010101ULL) & ~(x ^ 0x5c5c5c5c5c5c5c5cULL);
			if (((ctl | quo | bsl) & 0x8080808080808080ULL) || (x & 0x8080808080808080ULL))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		b = p[i];
		if (b >= 0x20 && b != '"' && b != '\\' && b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0x80 && (k = utf8_seq(p + i, n - i))) {
			i += k;
			continue;
		}
		if ((rc = buf_append(out, s + run, i - run)) < 0)
			return rc;
		if (b >= 0x80) {
			rc = buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
		} else {
			const char *e = NULL;

			switch (b) {
			case '"': e = "\\\""; break;
			case '\\': e = "\\\\"; break;
			case '\n': e = "\\n"; break;
			case '\r': e = "\\r"; break;
			case '\t': e = "\\t"; break;
			case '\b': e = "\\b"; break;
			case '\f': e = "\\f"; break;
			}
			if (e) {
				rc = buf_append(out, e, 2);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hexdig[b >> 4];
				esc[5] = hexdig[b & 15];
				rc = buf_append(out, esc, 6);
			}
		}
		if (rc < 0)
			return rc;
		i++;
		run = i;
	}
	if ((rc = buf_append(out, s + run, i - run)) < 0)
		return rc;
	return buf_putc(out, '"');
}

int mpjson_put_double(struct buf *out, double v)
{
	char tmp[40];
	int prec, n = 0;

	if (!isfinite(v))
		return buf_append(out, "null", 4);
	if (v == floor(v) && fabs(v) < 1e17) {
		n = snprintf(tmp, sizeof(tmp), "%.1f", v);
		return buf_append(out, tmp, (size_t)n);
	}
	/* DBL_DIG (15) digits always round-trip a value that has a shorter form; only values
	 * that need more are tried at 16 and 17. */
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return buf_append(out, tmp, (size_t)n);
}

/* A JSON string: `prefix`, then the bytes in lowercase hex. */
static int put_hex_after(struct buf *out, const char *prefix, const char *p, size_t n)
{
	size_t i, pl = strlen(prefix);
	int rc;

	if ((rc = buf_reserve(out, 2 * n + pl + 2)) < 0)
		return rc;
	out->data[out->len++] = '"';
	memcpy(out->data + out->len, prefix, pl);
	out->len += pl;
	for (i = 0; i < n; i++) {
		out->data[out->len++] = hexdig[(unsigned char)p[i] >> 4];
		out->data[out->len++] = hexdig[(unsigned char)p[i] & 15];
	}
	out->data[out->len++] = '"';
	return 0;
}

static int put_hex(struct buf *out, const char *p, size_t n)
{
	return put_hex_after(out, "", p, n);
}

static int put_ext(struct buf *out, const struct mp_obj *o)
{
	const unsigned char *p = (const unsigned char *)o->ptr;
	size_t i;
	int rc;

	if (o->ext_type == 0 && o->len == 8) {
		uint32_t s = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
		uint32_t ns = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];

		return buf_put_u64(out, (unsigned long long)s * 1000000000ULL + ns);
	}
	/* A string of \xNN escapes: in JSON text the backslash itself is escaped. */
	if ((rc = buf_reserve(out, 5 * (size_t)o->len + 2)) < 0)
		return rc;
	out->data[out->len++] = '"';
	for (i = 0; i < o->len; i++) {
		out->data[out->len++] = '\\';
		out->data[out->len++] = '\\';
		out->data[out->len++] = 'x';
		out->data[out->len++] = hexdig[p[i] >> 4];
		out->data[out->len++] = hexdig[p[i] & 15];
	}
	out->data[out->len++] = '"';
	return 0;
}

/* Keys whose bin values are IDs, always printed as hex (spec 3.1). */
static bool is_id_key(const char *k, size_t n)
{
	static const struct {
		const char *s;
		size_t n;
	} ids[] = { { "trace_id", 8 }, { "span_id", 7 }, { "parent_span_id", 14 },
		    { "traceId", 7 }, { "spanId", 6 }, { "parentSpanId", 12 } };
	size_t i;

	if (n < 6 || n > 14)
		return false;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ids[i].n == n && memcmp(ids[i].s, k, n) == 0)
			return true;
	return false;
}

/* A map entry: the key as the text it will have in JSON (before quoting), and where
 * the value starts. A non-string key is rendered into a side buffer first (`koff`). */
struct entry {
	const char *key;
	size_t klen;
	size_t koff;
	const char *val;
	bool in_side;
	bool skip;
};

static uint64_t key_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static bool key_eq(const struct entry *a, const struct entry *b)
{
	return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

/* Mark every entry that a later entry with the same key overrides. */
static int mark_duplicates(struct entry *e, size_t n)
{
	size_t i, j, slots, *tab;

	if (n <= 16) {
		for (i = 0; i + 1 < n; i++)
			for (j = i + 1; j < n && !e[i].skip; j++)
				e[i].skip = key_eq(&e[i], &e[j]);
		return 0;
	}
	for (slots = 32; slots < 2 * n; slots *= 2)
		;
	if (!(tab = calloc(slots, sizeof(*tab))))
		return -ENOMEM;
	/* Walk from the last entry: the first time a key is seen, it is the one that stays. */
	for (i = n; i-- > 0;) {
		size_t s = key_hash(e[i].key, e[i].klen) & (slots - 1);

		while (tab[s]) {
			if (key_eq(&e[tab[s] - 1], &e[i])) {
				e[i].skip = true;
				break;
			}
			s = (s + 1) & (slots - 1);
		}
		if (!e[i].skip)
			tab[s] = i + 1;
	}
	free(tab);
	return 0;
}

/* Read the `n` pairs at the cursor into e[]: each key as the text it has in JSON (a
 * non-string key rendered into `side`, whose limit bounds that work) and where its
 * value starts; the cursor ends after the map. */
static int collect(struct entry *e, uint32_t n, struct mp_cur *c, int depth, struct buf *side)
{
	struct mp_obj k;
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct mp_cur kc = *c;

		memset(&e[i], 0, sizeof(e[i]));
		if ((rc = mp_read(c, &k)) < 0)
			return rc;
		if (k.type == MP_STR || k.type == MP_BIN) {
			e[i].key = k.ptr;
			e[i].klen = k.len;
		} else {
			*c = kc;
			e[i].in_side = true;
			e[i].koff = side->len;
			if ((rc = write_value(side, c, depth + 1, false)) < 0)
				return rc == -ENOSPC ? MP_EBAD : rc;
			e[i].klen = side->len - e[i].koff;
		}
		e[i].val = c->p;
		if ((rc = mp_skip(c)) < 0)
			return rc;
	}
	/* The side buffer may have moved while it grew: point into it only now. */
	for (i = 0; i < n; i++)
		if (e[i].in_side)
			e[i].key = side->data + e[i].koff;
	return 0;
}

/* The injected pair "key":"val" first, unless the map has that key itself; its span,
 * with the comma after it when other pairs follow (so that leaving the span out still
 * gives valid JSON), goes to *inj_off and *inj_len. */
static int inject(struct buf *out, const struct entry *e, uint32_t n, const char *key, const char *val,
		  size_t *inj_off, size_t *inj_len)
{
	struct entry inj = { .key = key, .klen = strlen(key) };
	size_t at = out->len;
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (key_eq(&e[i], &inj))
			return 0;
	if ((rc = mpjson_put_string(out, key, inj.klen)) < 0 || (rc = buf_putc(out, ':')) < 0 ||
	    (rc = mpjson_put_string(out, val, strlen(val))) < 0)
		return rc;
	for (i = 0; i < n && e[i].skip; i++)
		;
	if (i < n && (rc = buf_putc(out, ',')) < 0)
		return rc;
	if (inj_off) {
		*inj_off = at;
		*inj_len = out->len - at;
	}
	return 0;
}

/* The pairs that stay, in order; `end` is where the map ends in the input. */
static int write_pairs(struct buf *out, const struct entry *e, uint32_t n, const char *end, int depth)
{
	bool first = true;
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct mp_cur vc;

		if (e[i].skip)
			continue;
		if (!first && (rc = buf_putc(out, ',')) < 0)
			return rc;
		first = false;
		if ((rc = mpjson_put_string(out, e[i].key, e[i].klen)) < 0 || (rc = buf_putc(out, ':')) < 0)
			return rc;
		mp_cur_init(&vc, e[i].val, (size_t)(end - e[i].val));
		if ((rc = write_value(out, &vc, depth + 1, is_id_key(e[i].key, e[i].klen))) < 0)
			return rc;
	}
	return 0;
}

/* Render a map of `n` pairs at the cursor, with an optional pair injected first whose
 * span (including the comma after it) is reported in *inj_off and *inj_len. */
static int write_map(struct buf *out, struct mp_cur *c, uint32_t n, int depth,
		     const char *inject_key, const char *inject_val,
		     size_t *inj_off, size_t *inj_len)
{
	struct entry stack[16], *e = stack;
	struct buf side;
	int rc;

	/* Non-string keys are rare and short; a bound keeps keys-inside-keys (whose escaping
	 * doubles at every level) from turning a small input into a huge amount of work. */
	buf_init(&side, MPJSON_MAX_KEY);
	if (inj_len)
		*inj_len = 0;
	/* Each pair takes at least two bytes, which bounds the allocation by the input. */
	if ((size_t)n > mp_cur_left(c) / 2)
		return MP_ETRUNC;
	if (n > 16 && !(e = malloc(n * sizeof(*e))))
		return -ENOMEM;
	if ((rc = collect(e, n, c, depth, &side)) < 0 || (rc = mark_duplicates(e, n)) < 0 ||
	    (rc = buf_putc(out, '{')) < 0)
		goto out;
	if (inject_key && (rc = inject(out, e, n, inject_key, inject_val, inj_off, inj_len)) < 0)
		goto out;
	if ((rc = write_pairs(out, e, n, c->p, depth)) < 0)
		goto out;
	rc = buf_putc(out, '}');
out:
	buf_free(&side);
	if (e != stack)
		free(e);
	return rc;
}

static int write_value(struct buf *out, struct mp_cur *c, int depth, bool hexbin)
{
	struct mp_obj o;
	uint32_t i;
	int rc;

	if (depth > MPJSON_MAX_DEPTH) {
		/* Too deep to render (the writer recurses): the value is kept, as a string of
		 * its msgpack bytes in hex after "msgpack:" (mp_skip walks it without recursion). */
		const char *start = c->p;

		if ((rc = mp_skip(c)) < 0)
			return rc;
		return put_hex_after(out, "msgpack:", start, (size_t)(c->p - start));
	}
	if ((rc = mp_read(c, &o)) < 0)
		return rc;
	switch (o.type) {
	case MP_NIL:
		return buf_append(out, "null", 4);
	case MP_BOOL:
		return o.v.b ? buf_append(out, "true", 4) : buf_append(out, "false", 5);
	case MP_UINT:
		return buf_put_u64(out, o.v.u);
	case MP_INT:
		return buf_put_i64(out, o.v.i);
	case MP_FLOAT:
		return mpjson_put_double(out, o.v.f);
	case MP_STR:
		return mpjson_put_string(out, o.ptr, o.len);
	case MP_BIN:
		if (!hexbin && utf8_valid(o.ptr, o.len))
			return mpjson_put_string(out, o.ptr, o.len);
		return put_hex(out, o.ptr, o.len);
	case MP_EXT:
		return put_ext(out, &o);
	case MP_ARRAY:
		if ((rc = buf_putc(out, '[')) < 0)
			return rc;
		for (i = 0; i < o.len; i++) {
			if (i && (rc = buf_putc(out, ',')) < 0)
				return rc;
			if ((rc = write_value(out, c, depth + 1, false)) < 0)
				return rc;
		}
		return buf_putc(out, ']');
	case MP_MAP:
		return write_map(out, c, o.len, depth, NULL, NULL, NULL, NULL);
	}
	return MP_EBAD;
}

int mpjson_write(struct buf *out, struct mp_cur *c)
{
	struct mp_cur save = *c;
	int rc = write_value(out, c, 0, false);

	if (rc < 0)
		*c = save;
	return rc;
}

int mpjson_write_record(struct buf *out, int64_t ts_ns, const char *tag,
			struct mp_cur *meta, struct mp_cur *body,
			size_t *tag_off, size_t *tag_len)
{
	struct mp_obj o;
	int rc;

	*tag_len = 0;
	if ((rc = buf_append(out, "[[", 2)) < 0 || (rc = buf_put_i64(out, ts_ns)) < 0 ||
	    (rc = buf_putc(out, ',')) < 0)
		return rc;
	if (meta) {
		if ((rc = mp_read(meta, &o)) < 0)
			return rc;
		if (o.type != MP_MAP)
			return MP_EBAD;
		rc = write_map(out, meta, o.len, 1, tag ? "_tag" : NULL, tag, tag_off, tag_len);
	} else if (tag) {
		*tag_off = out->len + 1;
		if ((rc = buf_append(out, "{\"_tag\":", 8)) < 0 ||
		    (rc = mpjson_put_string(out, tag, strlen(tag))) < 0)
			return rc;
		*tag_len = out->len - *tag_off;
		rc = buf_putc(out, '}');
	} else {
		rc = buf_append(out, "{}", 2);
	}
	if (rc < 0 || (rc = buf_append(out, "],", 2)) < 0)
		return rc;
	if ((rc = mp_read(body, &o)) < 0)
		return rc;
	if (o.type != MP_MAP)
		return MP_EBAD;
	if ((rc = write_map(out, body, o.len, 1, NULL, NULL, NULL, NULL)) < 0)
		return rc;
	return buf_append(out, "]\n", 2);
}
