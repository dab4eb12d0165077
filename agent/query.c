/* query.c: strict query parsing: exact keys, unsigned decimal values, no repeats. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "opts.h"

/* Percent-decode p[0..n) into out (size cap) as a C string; false if it does not fit. */
static bool decode(const char *p, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		return false; /* decoding never lengthens: n bytes are enough */
	out[codec_url_decode(p, n, out)] = '\0';
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
