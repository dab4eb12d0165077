/* in_vivo/parse.c: a validating JSON scanner that keeps byte spans, and the follower's readers of headers, info and chunk objects. */
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mpjson.h"
#include "opts.h"

/* ---- the scanner: checks JSON and reports where values start and end ---------------- */

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 when it is not valid (overlong,
 * surrogate, above U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p at '"': the end of the string (after the closing quote), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		size_t n;

		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (end - p < 2)
				return NULL;
			if (p[1] == 'u') {
				if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) || !is_hex(p[5]))
					return NULL;
				p += 6;
			} else if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
				p += 2;
			} else {
				return NULL;
			}
			continue;
		}
		if (!(n = utf8_len((const unsigned char *)p, (const unsigned char *)end)))
			return NULL;
		p += n;
	}
	return NULL;
}

static const char *skip_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

static const char *skip_number(const char *p, const char *end)
{
	const char *q;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p = skip_digits(p, end);
	else
		return NULL;
	if (p < end && *p == '.') {
		q = skip_digits(p + 1, end);
		if (q == p + 1)
			return NULL;
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = skip_digits(p, end);
		if (q == p)
			return NULL;
		p = q;
	}
	return p;
}

static const char *skip_value(const char *p, const char *end, int depth);

/* p at '[' or '{': the end of the container, or NULL. */
static const char *skip_container(const char *p, const char *end, int depth)
{
	char close = *p == '[' ? ']' : '}';
	bool obj = *p == '{', first = true;

	if (depth >= FOLLOW_MAX_DEPTH)
		return NULL;
	p = ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	while (p < end) {
		if (!first) {
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = ws(p + 1, end);
		}
		first = false;
		if (obj) {
			if (p >= end || *p != '"' || !(p = skip_string(p, end)))
				return NULL;
			p = ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = ws(p + 1, end);
		}
		if (!(p = skip_value(p, end, depth + 1)))
			return NULL;
		p = ws(p, end);
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	switch (*p) {
	case '"': return skip_string(p, end);
	case '[': case '{': return skip_container(p, end, depth);
	case 't': return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f': return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n': return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default: return skip_number(p, end);
	}
}

bool follow_json_valid(const char *p, size_t n)
{
	const char *end = p + n, *q = skip_value(ws(p, end), end, 0);

	return q && ws(q, end) == end;
}

static bool key_is(const char *key, size_t klen, const char *name)
{
	size_t n = strlen(name);

	return klen == n + 2 && memcmp(key + 1, name, n) == 0;
}

/* The end of the string at p ('"'), by its quotes only (escapes respected, bytes not checked). */
static const char *skip_string_fast(const char *p, const char *end)
{
	const char *q = p + 1;

	while ((q = memchr(q, '"', (size_t)(end - q)))) {
		const char *b = q;

		while (b > p + 1 && b[-1] == '\\')
			b--;
		if ((q - b) % 2 == 0)
			return q + 1; /* an even run of backslashes: this quote closes */
		q++;
	}
	return NULL;
}

/* The end of the value at p by its structure only (quotes and brackets): for spans that are
 * checked in full afterwards, or were already. NULL when it does not end before `end`. */
static const char *skip_fast(const char *p, const char *end)
{
	size_t depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			if (!(p = skip_string_fast(p, end)))
				return NULL;
			if (depth == 0)
				return p;
			continue;
		case '[': case '{':
			depth++;
			break;
		case ']': case '}':
			if (depth == 0)
				return NULL;
			if (--depth == 0)
				return p + 1;
			break;
		default:
			if (depth == 0) {
				while (p < end && !strchr(",]} \t\r\n", *p))
					p++;
				return p;
			}
		}
		p++;
	}
	return NULL;
}

/* Walks the members of an object: *p at '{' first, then after each member. Values are
 * checked, except the one named `lazy` (not even skipped: the caller parses it and moves
 * p past it) and all of them when `fast` (only delimited: an object already checked). */
struct members {
	const char *p, *end;
	bool first;
	bool fast;
	const char *lazy;
};

/* The next member's key span (with quotes) and value span. 1 when one was read, 0 at
 * the end of the object, -EINVAL when the JSON is bad. */
static int next_member(struct members *m, const char **key, size_t *klen, const char **val, size_t *vlen)
{
	const char *p = ws(m->p, m->end), *q;

	if (m->first) {
		if (p >= m->end || *p != '{')
			return -EINVAL;
		p = ws(p + 1, m->end);
		if (p < m->end && *p == '}') {
			m->p = p + 1;
			return 0;
		}
		m->first = false;
	} else {
		if (p < m->end && *p == '}') {
			m->p = p + 1;
			return 0;
		}
		if (p >= m->end || *p != ',')
			return -EINVAL;
		p = ws(p + 1, m->end);
	}
	if (p >= m->end || *p != '"' || !(q = skip_string(p, m->end)))
		return -EINVAL;
	*key = p;
	*klen = (size_t)(q - p);
	p = ws(q, m->end);
	if (p >= m->end || *p != ':')
		return -EINVAL;
	p = ws(p + 1, m->end);
	if (m->lazy && key_is(*key, *klen, m->lazy)) {
		/* The caller takes this value where it stands and moves m->p past it. */
		*val = p;
		*vlen = 0;
		m->p = p;
		return 1;
	}
	if (!(q = m->fast ? skip_fast(p, m->end) : skip_value(p, m->end, 1)))
		return -EINVAL;
	*val = p;
	*vlen = (size_t)(q - p);
	m->p = q;
	return 1;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | cp >> 6);
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | cp >> 12);
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | cp >> 18);
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Decode a checked JSON string span (with quotes) into out[cap] as a C string. A NUL
 * character, a lone surrogate or more than cap - 1 bytes: -EINVAL. */
static int decode_string(const char *s, size_t n, char *out, size_t cap)
{
	const char *p = s + 1, *end = s + n - 1;
	size_t o = 0;

	if (n < 2 || s[0] != '"')
		return -EINVAL;
	while (p < end) {
		unsigned cp;

		if (cap - o < 5)
			return -EINVAL;
		if (*p != '\\') {
			out[o++] = *p++;
			continue;
		}
		if (p[1] != 'u') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

			out[o++] = to[strchr(from, p[1]) - from];
			p += 2;
			continue;
		}
		cp = (unsigned)(hexval(p[2]) << 12 | hexval(p[3]) << 8 | hexval(p[4]) << 4 | hexval(p[5]));
		p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;

			if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
				return -EINVAL;
			lo = (unsigned)(hexval(p[2]) << 12 | hexval(p[3]) << 8 | hexval(p[4]) << 4 | hexval(p[5]));
			if (lo < 0xdc00 || lo > 0xdfff)
				return -EINVAL;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
			return -EINVAL;
		}
		put_utf8(out, &o, cp);
	}
	out[o] = '\0';
	return 0;
}

static int parse_u64_span(const char *v, size_t n, uint64_t *out)
{
	char tmp[24];

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	return opts_parse_u64(tmp, UINT64_MAX, out);
}

/* ---- headers ----------------------------------------------------------------------- */

void follow_headers_reset(struct follow_headers *h)
{
	memset(h, 0, sizeof(*h));
}

static bool boot_id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > FOLLOW_MAX_BOOT)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static int status_line(struct follow_headers *h, const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);

	follow_headers_reset(h);
	if (!sp || (size_t)(line + n - sp) < 4 || sp[1] < '1' || sp[1] > '5' || sp[2] < '0' || sp[2] > '9' ||
	    sp[3] < '0' || sp[3] > '9' || ((size_t)(line + n - sp) > 4 && sp[4] != ' '))
		return -EINVAL;
	h->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	return 0;
}

int follow_header_line(struct follow_headers *h, const char *line, size_t n)
{
	static const char *const ids[] = { "Vivo-Stream-Next-ID", "Vivo-Stream-Start-ID", "Vivo-Stream-End-ID" };
	const char *colon, *v;
	size_t klen, vlen, i;

	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	if (n == 0)
		return 0; /* the blank line that ends the headers */
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
		return status_line(h, line, n);
	if (!(colon = memchr(line, ':', n)))
		return 0; /* not a header (a folded line): nothing we use */
	klen = (size_t)(colon - line);
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (i = 0; i < 3; i++) {
		bool *has[] = { &h->has_next, &h->has_start, &h->has_end };
		uint64_t *dst[] = { &h->next, &h->start, &h->end };

		if (klen == strlen(ids[i]) && strncasecmp(line, ids[i], klen) == 0) {
			if (parse_u64_span(v, vlen, dst[i]) < 0)
				return -EINVAL;
			*has[i] = true;
			return 0;
		}
	}
	if (klen == 12 && strncasecmp(line, "Vivo-Boot-ID", 12) == 0) {
		if (!boot_id_ok(v, vlen))
			return -EINVAL;
		memcpy(h->boot_id, v, vlen);
		h->boot_id[vlen] = '\0';
	} else if (klen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
		h->json = vlen >= 16 && strncasecmp(v, "application/json", 16) == 0 && (vlen == 16 || v[16] == ';');
	} else if (klen == 16 && strncasecmp(line, "Content-Encoding", 16) == 0) {
		h->encoded = !(vlen == 8 && strncasecmp(v, "identity", 8) == 0);
	}
	return 0;
}

/* ---- /api/v1/info and the source object --------------------------------------------- */

int follow_parse_info(const char *body, size_t n, struct follow_info *out, char *err, size_t errlen)
{
	struct members m = { body, body + n, true, false, NULL };
	const char *k, *v;
	size_t kl, vl;
	int rc;

	memset(out, 0, sizeof(*out));
	while ((rc = next_member(&m, &k, &kl, &v, &vl)) > 0) {
		char *dst = NULL;
		size_t cap = FOLLOW_MAX_NAME + 1;

		if (key_is(k, kl, "boot_id"))
			dst = out->boot_id, cap = sizeof(out->boot_id);
		else if (key_is(k, kl, "pod"))
			dst = out->pod;
		else if (key_is(k, kl, "namespace"))
			dst = out->ns;
		else if (key_is(k, kl, "node"))
			dst = out->node;
		if (!dst || *v == 'n') /* not ours, or null */
			continue;
		if (*v != '"' || decode_string(v, vl, dst, cap) < 0) {
			snprintf(err, errlen, "/api/v1/info: '%.*s' is not a string of at most %zu bytes", (int)(kl - 2), k + 1,
				 cap - 1);
			return -EINVAL;
		}
	}
	if (rc < 0 || ws(m.p, m.end) != m.end) {
		snprintf(err, errlen, "/api/v1/info is not one JSON object");
		return -EINVAL;
	}
	if (!boot_id_ok(out->boot_id, strlen(out->boot_id))) {
		snprintf(err, errlen, "/api/v1/info has no valid boot_id (not a vivo-agent, or an older one)");
		return -EINVAL;
	}
	return 0;
}

int follow_source_json(const char *instance, const struct follow_info *info, struct buf *out)
{
	const char *keys[] = { "pod", "namespace", "node" }, *vals[] = { info->pod, info->ns, info->node };
	int i, rc;

	if ((rc = buf_puts(out, "{\"instance\":")) < 0 || (rc = mpjson_put_string(out, instance, strlen(instance))) < 0 ||
	    (rc = buf_puts(out, ",\"boot_id\":")) < 0 ||
	    (rc = mpjson_put_string(out, info->boot_id, strlen(info->boot_id))) < 0)
		return rc;
	for (i = 0; i < 3; i++) {
		if (!*vals[i])
			continue;
		if ((rc = buf_printf(out, ",\"%s\":", keys[i])) < 0 || (rc = mpjson_put_string(out, vals[i], strlen(vals[i]))) < 0)
			return rc;
	}
	return buf_putc(out, '}');
}

/* ---- chunk objects ------------------------------------------------------------------ */

void follow_chunk_init(struct follow_chunk *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->names, 3 * (FOLLOW_MAX_NAME + 1));
	buf_init(&c->extra, max);
	buf_init(&c->records, max);
}

void follow_chunk_free(struct follow_chunk *c)
{
	buf_free(&c->names);
	buf_free(&c->extra);
	buf_free(&c->records);
}

/* Decode a string member into c->names; *off gets its offset. */
static int take_name(struct follow_chunk *c, const char *v, size_t vl, size_t *off)
{
	char tmp[FOLLOW_MAX_NAME + 1];
	int rc;

	if (*v != '"' || decode_string(v, vl, tmp, sizeof(tmp)) < 0)
		return -EINVAL;
	*off = c->names.len;
	if ((rc = buf_append(&c->names, tmp, strlen(tmp) + 1)) < 0)
		return rc;
	return 0;
}

/* One log record [[ts,{meta}],{body}] at p, checked in full: its three spans (offsets
 * from `line`: ts, ts_len, meta, meta_len, body, body_len) into c->records; the end in *out. */
static int take_log_record(struct follow_chunk *c, const char *line, const char *p, const char *end, const char **out)
{
	const char *q, *t, *m, *b;
	size_t span[6];

	if (p >= end || *p != '[' || (p = ws(p + 1, end)) >= end || *p != '[')
		return -EINVAL;
	t = ws(p + 1, end);
	if (!(q = skip_value(t, end, 4)))
		return -EINVAL;
	span[0] = (size_t)(t - line);
	span[1] = (size_t)(q - t);
	if ((m = ws(q, end)) >= end || *m != ',' || (m = ws(m + 1, end)) >= end || *m != '{' ||
	    !(q = skip_value(m, end, 4)))
		return -EINVAL;
	span[2] = (size_t)(m - line);
	span[3] = (size_t)(q - m);
	if ((b = ws(q, end)) >= end || *b != ']' || (b = ws(b + 1, end)) >= end || *b != ',' ||
	    (b = ws(b + 1, end)) >= end || *b != '{' || !(q = skip_value(b, end, 3)))
		return -EINVAL;
	span[4] = (size_t)(b - line);
	span[5] = (size_t)(q - b);
	if ((q = ws(q, end)) >= end || *q != ']')
		return -EINVAL;
	*out = q + 1;
	return buf_append(&c->records, span, sizeof(span));
}

/* The records array at v, checked in full in this one pass (log records for their shape,
 * metrics and traces contexts as objects); *out: the end of the array. */
static int take_records(struct follow_chunk *c, enum stream_kind kind, const char *line, const char *v,
			const char *end, const char **out)
{
	const char *p, *q = NULL;
	int rc;

	if (v >= end || *v != '[')
		return -EINVAL;
	buf_reset(&c->records); /* a repeated "records": the last one counts, like any key */
	c->nrecords = 0;
	p = ws(v + 1, end);
	while (p < end && *p != ']') {
		if (c->nrecords && (*p != ',' || (p = ws(p + 1, end)) >= end))
			return -EINVAL;
		if (kind == STREAM_LOGS) {
			if ((rc = take_log_record(c, line, p, end, &q)) < 0)
				return rc;
		} else {
			size_t span[2];

			if (*p != '{' || !(q = skip_value(p, end, 2)))
				return -EINVAL;
			span[0] = (size_t)(p - line);
			span[1] = (size_t)(q - p);
			if ((rc = buf_append(&c->records, span, sizeof(span))) < 0)
				return rc;
		}
		c->nrecords++;
		p = ws(q, end);
	}
	if (p >= end)
		return -EINVAL;
	*out = p + 1;
	return 0;
}

static int chunk_member(struct follow_chunk *c, const char *k, size_t kl, const char *v, size_t vl, unsigned *seen)
{
	int rc;

	if (key_is(k, kl, "id")) {
		*seen |= 1;
		return parse_u64_span(v, vl, &c->id);
	}
	if (key_is(k, kl, "local_seq")) {
		c->has_seq = true;
		return parse_u64_span(v, vl, &c->local_seq);
	}
	if (key_is(k, kl, "source_type")) {
		*seen |= 2;
		return take_name(c, v, vl, &c->type_off);
	}
	if (key_is(k, kl, "source_name")) {
		*seen |= 4;
		return take_name(c, v, vl, &c->name_off);
	}
	if (key_is(k, kl, "tag")) {
		*seen |= 8;
		return take_name(c, v, vl, &c->tag_off);
	}
	if (key_is(k, kl, "source")) {
		c->followed = true;
		return 0;
	}
	/* Anything else rides along as the chunk's extra v1 member, bytes unchanged. */
	if ((c->extra.len && (rc = buf_putc(&c->extra, ',')) < 0) || (rc = buf_append(&c->extra, k, kl)) < 0 ||
	    (rc = buf_putc(&c->extra, ':')) < 0 || (rc = buf_append(&c->extra, v, vl)) < 0)
		return rc;
	return 0;
}

int follow_parse_chunk(const char *line, size_t n, enum stream_kind kind, struct follow_chunk *c, char *err,
		       size_t errlen)
{
	struct members m = { line, line + n, true, false, "records" };
	const char *k, *v;
	unsigned seen = 0;
	size_t kl, vl;
	int rc;

	buf_reset(&c->names);
	buf_reset(&c->extra);
	buf_reset(&c->records);
	c->nrecords = 0;
	c->id = c->local_seq = 0;
	c->has_seq = c->followed = false;
	while ((rc = next_member(&m, &k, &kl, &v, &vl)) > 0) {
		if (key_is(k, kl, "records")) {
			seen |= 16;
			/* The one member taken where it stands: checked and split in one pass. */
			if ((rc = take_records(c, kind, line, v, m.end, &m.p)) < 0) {
				snprintf(err, errlen, "%s: record %zu is not %s", rc == -ENOSPC ? "too large" : "bad records",
					 c->nrecords, kind == STREAM_LOGS ? "[[time,{metadata}],{body}]" : "a JSON object");
				return -EINVAL;
			}
		} else if ((rc = chunk_member(c, k, kl, v, vl, &seen)) < 0) {
			snprintf(err, errlen, "chunk member '%.*s': %s", kl > 34 ? 32 : (int)(kl - 2), k + 1,
				 rc == -ENOSPC ? "too large" : rc == -ENOMEM ? "out of memory" : "bad value");
			return -EINVAL;
		}
	}
	if (rc < 0 || ws(m.p, m.end) != m.end) {
		snprintf(err, errlen, "chunk line is not one JSON object");
		return -EINVAL;
	}
	if (seen != 31) {
		snprintf(err, errlen, "chunk object lacks %s (the upstream does not support envelope=1?)",
			 !(seen & 1) ? "\"id\"" : !(seen & 16) ? "\"records\"" : "its names");
		return -EINVAL;
	}
	return 0;
}

/* Which of "_tag" and "_source" the metadata map has (bit 1, bit 2). */
static unsigned meta_has(const char *meta, size_t n)
{
	struct members m = { meta, meta + n, true, true, NULL };
	const char *k, *v;
	size_t kl, vl;
	unsigned has = 0;

	while (next_member(&m, &k, &kl, &v, &vl) > 0)
		has |= key_is(k, kl, "_tag") ? 1u : key_is(k, kl, "_source") ? 2u : 0u;
	return has;
}

/* The legacy line of a log record (spans[0..6): ts, meta, body) into `out`; *mark_off
 * and *mark_len: the injected span. */
static int legacy_line(const char *line, const size_t *sp, const char *tag, const char *source, size_t slen,
		       struct buf *out, size_t *mark_off, size_t *mark_len)
{
	const char *ts = line + sp[0], *meta = line + sp[2], *body = line + sp[4];
	size_t meta_len = sp[3];
	unsigned has = meta_has(meta, meta_len);
	const char *inner = ws(meta + 1, meta + meta_len - 1);
	bool empty = *inner == '}';
	int rc;

	buf_reset(out);
	if ((rc = buf_append(out, "[[", 2)) < 0 || (rc = buf_append(out, ts, sp[1])) < 0 ||
	    (rc = buf_append(out, ",{", 2)) < 0)
		return rc;
	*mark_off = out->len;
	if (!(has & 1) && ((rc = buf_puts(out, "\"_tag\":")) < 0 || (rc = mpjson_put_string(out, tag, strlen(tag))) < 0 ||
			   (rc = buf_putc(out, ',')) < 0))
		return rc;
	if (!(has & 2) && ((rc = buf_puts(out, "\"_source\":")) < 0 || (rc = buf_append(out, source, slen)) < 0 ||
			   (rc = buf_putc(out, ',')) < 0))
		return rc;
	if (empty && out->len > *mark_off)
		out->len--; /* no comma before the closing brace */
	*mark_len = out->len - *mark_off;
	if ((rc = buf_append(out, meta + 1, meta_len - 1)) < 0 || (rc = buf_append(out, "],", 2)) < 0 ||
	    (rc = buf_append(out, body, sp[5])) < 0)
		return rc;
	return buf_putc(out, ']');
}

static int build_records(const char *line, const struct follow_chunk *c, enum stream_kind kind, const char *source,
			 size_t slen, struct chunk_builder *cb)
{
	const size_t *spans = (const size_t *)(const void *)c->records.data;
	const char *tag = c->names.data + c->tag_off;
	struct buf tmp;
	size_t i, off, len;
	int rc = 0;

	if (kind != STREAM_LOGS) {
		for (i = 0; i < c->nrecords && rc == 0; i++)
			rc = chunk_add_line(cb, line + spans[2 * i], spans[2 * i + 1]);
		return rc;
	}
	buf_init(&tmp, cb->text.max);
	for (i = 0; i < c->nrecords && rc == 0; i++)
		if ((rc = legacy_line(line, spans + 6 * i, tag, source, slen, &tmp, &off, &len)) == 0)
			rc = chunk_add_log_line(cb, tmp.data, tmp.len, off, len);
	buf_free(&tmp);
	return rc;
}

int follow_build_chunk(const char *line, const struct follow_chunk *c, enum stream_kind kind,
		       const char *source, size_t slen, size_t limit, struct chunk_builder *cb, char *err, size_t errlen)
{
	const char *names = c->names.data;
	int rc;

	if ((rc = chunk_builder_init(cb, kind, names + c->tag_off, names + c->type_off, names + c->name_off, limit)) < 0)
		return rc;
	if ((rc = chunk_builder_set_source(cb, source, slen)) < 0 ||
	    (c->extra.len && (rc = chunk_builder_set_v1_extra(cb, c->extra.data, c->extra.len)) < 0))
		return rc;
	rc = build_records(line, c, kind, source, slen, cb);
	if (rc == -ENOSPC)
		snprintf(err, errlen, "chunk larger than %zu bytes", limit);
	else if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}
