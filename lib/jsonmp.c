/* jsonmp.c: recursive-descent JSON parser that writes msgpack as it goes, through msgpack-c's packer. */
#include "jsonmp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpk.h"

struct parser {
	const char *s;
	size_t n;
	size_t i;
	struct buf *out;
	msgpack_packer pk; /* writes into out */
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *what)
{
	snprintf(p->err, p->errlen, "%s at byte %zu", what, p->i);
	return -EINVAL;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n) {
		char c = p->s[p->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->i++;
	}
}

static int parse_value(struct parser *p, int depth);

static int hex4(struct parser *p, unsigned *v)
{
	unsigned r = 0;
	int k;

	if (p->n - p->i < 4)
		return fail(p, "truncated \\u escape");
	for (k = 0; k < 4; k++) {
		char c = p->s[p->i + k];

		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			r |= (unsigned)(c - 'A' + 10);
		else
			return fail(p, "bad \\u escape");
	}
	p->i += 4;
	*v = r;
	return 0;
}

static int put_utf8(msgpack_packer *pk, unsigned cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return msgpack_pack_str_body(pk, t, n);
}

/* The escape after a backslash (the cursor is on the character after it), written as
 * UTF-8; a \u escape of a surrogate pair becomes one code point. */
static int parse_escape(struct parser *p)
{
	unsigned cp, lo;
	char ch;
	int rc;

	switch (p->s[p->i++]) {
	case '"': ch = '"'; break;
	case '\\': ch = '\\'; break;
	case '/': ch = '/'; break;
	case 'b': ch = '\b'; break;
	case 'f': ch = '\f'; break;
	case 'n': ch = '\n'; break;
	case 'r': ch = '\r'; break;
	case 't': ch = '\t'; break;
	case 'u':
		if ((rc = hex4(p, &cp)) < 0)
			return rc;
		if (cp >= 0xd800 && cp <= 0xdbff && p->n - p->i >= 6 &&
		    p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
			size_t back = p->i;

			p->i += 2;
			if ((rc = hex4(p, &lo)) < 0)
				return rc;
			if (lo >= 0xdc00 && lo <= 0xdfff)
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			else
				p->i = back;
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd; /* a lone surrogate cannot be UTF-8 */
		return put_utf8(&p->pk, cp);
	default:
		p->i--;
		return fail(p, "bad escape in string");
	}
	return msgpack_pack_str_body(&p->pk, &ch, 1);
}

/* A string: written as str32 with the length patched once known. Raw bytes are copied
 * as they are (the JSON writer repairs invalid UTF-8 on output). */
static int parse_string(struct parser *p)
{
	size_t at, start;
	int rc;

	p->i++; /* opening quote */
	if ((rc = mpk_str32(&p->pk, &at)) < 0)
		return rc;
	start = p->out->len;
	for (;;) {
		size_t run = p->i;

		while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' &&
		       (unsigned char)p->s[p->i] >= 0x20)
			p->i++;
		if ((rc = msgpack_pack_str_body(&p->pk, p->s + run, p->i - run)) < 0)
			return rc;
		if (p->i >= p->n)
			return fail(p, "unterminated string");
		if (p->s[p->i] == '"') {
			p->i++;
			break;
		}
		if ((unsigned char)p->s[p->i] < 0x20)
			return fail(p, "control character in string");
		p->i++; /* backslash */
		if (p->i >= p->n)
			return fail(p, "unterminated string");
		if ((rc = parse_escape(p)) < 0)
			return rc;
	}
	mpk_patch32(&p->pk, at, (uint32_t)(p->out->len - start));
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p)
{
	size_t start = p->i, len;
	bool neg = false, integral = true;
	char tmp[512];
	uint64_t u = 0;
	bool overflow = false;

	if (p->s[p->i] == '-') {
		neg = true;
		p->i++;
	}
	if (p->i >= p->n || !is_digit(p->s[p->i]))
		return fail(p, "bad number");
	if (p->s[p->i] == '0') {
		p->i++;
	} else {
		while (p->i < p->n && is_digit(p->s[p->i])) {
			unsigned d = (unsigned)(p->s[p->i] - '0');

			if (u > (UINT64_MAX - d) / 10)
				overflow = true;
			else
				u = u * 10 + d;
			p->i++;
		}
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		integral = false;
		p->i++;
		if (p->i >= p->n || !is_digit(p->s[p->i]))
			return fail(p, "bad number");
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		integral = false;
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !is_digit(p->s[p->i]))
			return fail(p, "bad number");
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	if (integral && !overflow) {
		if (!neg)
			return msgpack_pack_uint64(&p->pk, u);
		if (u <= (uint64_t)INT64_MAX + 1)
			return msgpack_pack_int64(&p->pk, u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u);
	}
	len = p->i - start;
	if (len >= sizeof(tmp))
		return fail(p, "number too long");
	memcpy(tmp, p->s + start, len);
	tmp[len] = '\0';
	return msgpack_pack_double(&p->pk, strtod(tmp, NULL));
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->n - p->i < n || memcmp(p->s + p->i, word, n) != 0)
		return fail(p, "invalid literal");
	p->i += n;
	switch (word[0]) {
	case 't': return msgpack_pack_true(&p->pk);
	case 'f': return msgpack_pack_false(&p->pk);
	default: return msgpack_pack_nil(&p->pk);
	}
}

static int parse_container(struct parser *p, int depth, bool is_map)
{
	char close = is_map ? '}' : ']';
	uint32_t count = 0;
	size_t at;
	int rc;

	if (depth >= JSONMP_MAX_DEPTH)
		return fail(p, "nesting too deep");
	p->i++;
	if ((rc = is_map ? mpk_map32(&p->pk, &at) : mpk_array32(&p->pk, &at)) < 0)
		return rc;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (is_map) {
			if (p->i >= p->n || p->s[p->i] != '"')
				return fail(p, "expected a string key");
			if ((rc = parse_string(p)) < 0)
				return rc;
			skip_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return fail(p, "expected ':'");
			p->i++;
		}
		if ((rc = parse_value(p, depth + 1)) < 0)
			return rc;
		count++;
		skip_ws(p);
		if (p->i >= p->n)
			return fail(p, is_map ? "unterminated object" : "unterminated array");
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i] == close) {
			p->i++;
			break;
		}
		return fail(p, is_map ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	mpk_patch32(&p->pk, at, count);
	return 0;
}

static int parse_value(struct parser *p, int depth)
{
	skip_ws(p);
	if (p->i >= p->n)
		return fail(p, "unexpected end of input");
	switch (p->s[p->i]) {
	case '{': return parse_container(p, depth, true);
	case '[': return parse_container(p, depth, false);
	case '"': return parse_string(p);
	case 't': return literal(p, "true");
	case 'f': return literal(p, "false");
	case 'n': return literal(p, "null");
	default:
		if (p->s[p->i] == '-' || is_digit(p->s[p->i]))
			return parse_number(p);
		return fail(p, "unexpected character");
	}
}

int jsonmp_next(const char *s, size_t n, size_t *off, struct buf *out, char *err, size_t errlen)
{
	struct parser p = { .s = s, .n = n, .i = *off, .out = out, .err = err, .errlen = errlen };
	int rc;

	mpk_init(&p.pk, out);
	skip_ws(&p);
	if (p.i >= n) {
		*off = p.i;
		return 1;
	}
	if ((rc = parse_value(&p, 0)) < 0)
		return rc;
	*off = p.i;
	return 0;
}
