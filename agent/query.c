/* query.c: strict query parsing: exact keys, unsigned decimal values, no repeats. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode p[0..n) into out (size cap); false if it does not fit. */
static bool decode(const char *p, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
			c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

int query_parse(const char *raw, size_t n, struct query *q, char *err, size_t errlen)
{
	static const char *const keys[] = { "from", "to", "limit", "wait" };
	size_t i = 0;

	memset(q, 0, sizeof(*q));
	while (i < n) {
		const char *pair = raw + i, *amp = memchr(pair, '&', n - i), *eq;
		size_t plen = amp ? (size_t)(amp - pair) : n - i;
		char key[16], val[32];
		bool *has[] = { &q->has_from, &q->has_to, &q->has_limit, &q->has_wait };
		uint64_t *dst[] = { &q->from, &q->to, &q->limit, &q->wait };
		size_t k, klen;

		i += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		klen = eq ? (size_t)(eq - pair) : plen;
		if (!decode(pair, klen, key, sizeof(key)))
			continue; /* longer than any key we know */
		for (k = 0; k < 4; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == 4)
			continue;
		if (*has[k]) {
			snprintf(err, errlen, "parameter '%s' is repeated", keys[k]);
			return -EINVAL;
		}
		if (!eq || !decode(eq + 1, plen - klen - 1, val, sizeof(val)) ||
		    opts_parse_u64(val, UINT64_MAX, dst[k]) < 0) {
			snprintf(err, errlen, "parameter '%s' must be an unsigned decimal integer", keys[k]);
			return -EINVAL;
		}
		if (k == 3 && q->wait > QUERY_WAIT_MAX) {
			snprintf(err, errlen, "parameter 'wait' must be at most %d seconds", QUERY_WAIT_MAX);
			return -EINVAL;
		}
		*has[k] = true;
	}
	return 0;
}
