/* yamlout.c: block YAML from jansson values with a fixed key order and quoted strings. */
#include "yamlout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define YOUT_MAX_DEPTH 64

static const char *const key_first[] = { "service", "pipeline", "inputs", "filters", "outputs", "name" };

static int key_rank(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(key_first) / sizeof(key_first[0]); i++)
		if (strcmp(k, key_first[i]) == 0)
			return (int)i;
	return (int)(sizeof(key_first) / sizeof(key_first[0]));
}

static int key_cmp(const void *a, const void *b)
{
	const char *ka = *(const char *const *)a, *kb = *(const char *const *)b;
	int ra = key_rank(ka), rb = key_rank(kb);

	return ra != rb ? ra - rb : strcmp(ka, kb);
}

static bool printable(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
	       (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Decode one UTF-8 sequence; 0 length = invalid byte. */
static size_t utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

int yout_quote(struct buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	int rc;

	if ((rc = buf_putc(out, '"')) < 0)
		return rc;
	while (i < n) {
		uint32_t cp;
		size_t len;

		if (s[i] == '"' || s[i] == '\\') {
			char e[2] = { '\\', (char)s[i] };

			rc = buf_append(out, e, 2);
			i++;
		} else if (s[i] == '\n') {
			rc = buf_puts(out, "\\n");
			i++;
		} else if (s[i] == '\t') {
			rc = buf_puts(out, "\\t");
			i++;
		} else if (s[i] == '\r') {
			rc = buf_puts(out, "\\r");
			i++;
		} else if (!(len = utf8_dec(s + i, n - i, &cp))) {
			rc = buf_printf(out, "\\x%02x", s[i]);
			i++;
		} else if (!printable(cp) || cp == 0x85) {
			rc = cp > 0xFFFF ? buf_printf(out, "\\U%08x", (unsigned)cp) : buf_printf(out, "\\u%04x", (unsigned)cp);
			i += len;
		} else {
			rc = buf_append(out, s + i, len);
			i += len;
		}
		if (rc < 0)
			return rc;
	}
	return buf_putc(out, '"');
}

static bool plain_key(const char *k)
{
	static const char *const words[] = { "true", "false", "null", "yes", "no", "on", "off", "y", "n" };
	size_t i;

	if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
		return false;
	for (i = 0; k[i]; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-' || c == '/'))
			return false;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(k, words[i]) == 0)
			return false;
	return true;
}

static int put_key(struct buf *out, const char *k)
{
	return plain_key(k) ? buf_puts(out, k) : yout_quote(out, k, strlen(k));
}

static int put_scalar(struct buf *out, const json_t *v)
{
	char tmp[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return yout_quote(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_put_i64(out, (long long)json_integer_value(v));
	case JSON_REAL:
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
		return buf_puts(out, tmp);
	case JSON_TRUE:
		return buf_puts(out, "true");
	case JSON_FALSE:
		return buf_puts(out, "false");
	default:
		return buf_puts(out, "null");
	}
}

static int indent_to(struct buf *out, int n)
{
	int rc = 0;

	while (n-- > 0 && rc == 0)
		rc = buf_putc(out, ' ');
	return rc;
}

static int emit_map(struct buf *out, const json_t *o, int indent, bool first_inline, int depth);
static int emit_seq(struct buf *out, const json_t *a, int indent, int depth);

/* The value after "key:" or "- ": a scalar on the same line, a collection below. */
static int emit_after(struct buf *out, const json_t *v, int indent, bool after_dash, int depth)
{
	int rc;

	if (json_is_object(v) && json_object_size(v) == 0)
		return buf_puts(out, after_dash ? "{}\n" : " {}\n");
	if (json_is_array(v) && json_array_size(v) == 0)
		return buf_puts(out, after_dash ? "[]\n" : " []\n");
	if (json_is_object(v)) {
		if (after_dash)
			return emit_map(out, v, indent + 2, true, depth + 1);
		if ((rc = buf_putc(out, '\n')) < 0)
			return rc;
		return emit_map(out, v, indent + 2, false, depth + 1);
	}
	if (json_is_array(v)) {
		if ((rc = buf_putc(out, '\n')) < 0)
			return rc;
		return emit_seq(out, v, indent + 2, depth + 1);
	}
	if (!after_dash && (rc = buf_putc(out, ' ')) < 0)
		return rc;
	if ((rc = put_scalar(out, v)) < 0)
		return rc;
	return buf_putc(out, '\n');
}

static int emit_map(struct buf *out, const json_t *o, int indent, bool first_inline, int depth)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t n = 0, i;
	int rc = 0;

	if (depth > YOUT_MAX_DEPTH)
		return -EINVAL;
	if (!(keys = calloc(json_object_size(o) + 1, sizeof(*keys))))
		return -ENOMEM;
	json_object_foreach((json_t *)o, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		if ((i > 0 || !first_inline) && (rc = indent_to(out, indent)) < 0)
			break;
		if ((rc = put_key(out, keys[i])) < 0 || (rc = buf_putc(out, ':')) < 0)
			break;
		rc = emit_after(out, json_object_get(o, keys[i]), indent, false, depth);
	}
	free(keys);
	return rc;
}

static int emit_seq(struct buf *out, const json_t *a, int indent, int depth)
{
	size_t i;
	int rc = 0;

	if (depth > YOUT_MAX_DEPTH)
		return -EINVAL;
	for (i = 0; i < json_array_size(a) && rc == 0; i++) {
		const json_t *v = json_array_get(a, i);

		if ((rc = indent_to(out, indent)) < 0)
			break;
		if (json_is_array(v) && json_array_size(v) > 0) {
			if ((rc = buf_puts(out, "-\n")) < 0)
				break;
			rc = emit_seq(out, v, indent + 2, depth + 1);
			continue;
		}
		if ((rc = buf_puts(out, "- ")) < 0)
			break;
		rc = emit_after(out, v, indent, true, depth);
	}
	return rc;
}

int yout_emit(struct buf *out, const json_t *v)
{
	if (json_is_object(v))
		return json_object_size(v) ? emit_map(out, v, 0, false, 0) : buf_puts(out, "{}\n");
	if (json_is_array(v))
		return json_array_size(v) ? emit_seq(out, v, 0, 0) : buf_puts(out, "[]\n");
	return -EINVAL;
}
