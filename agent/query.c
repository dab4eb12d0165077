/* query.c: strict query parsing: exact keys, bounded values, no repeats. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "opts.h"

/* Percent-decode p[0..n) into out (size cap) as a C string; false if it does not fit.
 * *nul is set when the decoded text holds a NUL byte (%00), which would cut it short. */
static bool decode(const char *p, size_t n, char *out, size_t cap, bool *nul)
{
	size_t len;

	if (n >= cap)
		return false; /* decoding never lengthens: n bytes are enough */
	len = codec_url_decode(p, n, out);
	out[len] = '\0';
	*nul = strlen(out) != len;
	return true;
}

/* Parse the value of key k (index in keys[]) into q. false when it is not valid. */
static bool set_value(struct query *q, size_t k, const char *val)
{
	uint64_t *dst[] = { &q->from, &q->to, &q->limit, &q->wait };
	uint64_t v;

	switch (k) {
	case 4: /* origin */
		if (strcmp(val, "local") != 0 && strcmp(val, "all") != 0)
			return false;
		q->local_only = strcmp(val, "local") == 0;
		return true;
	case 5: /* envelope */
		if (opts_parse_u64(val, 1, &v) < 0)
			return false;
		q->envelope = v == 1;
		return true;
	default:
		return opts_parse_u64(val, UINT64_MAX, dst[k]) == 0;
	}
}

int query_parse(const char *raw, size_t n, struct query *q, char *err, size_t errlen)
{
	static const char *const keys[] = { "from", "to", "limit", "wait", "origin", "envelope" };
	static const char *const want[] = {
		"an unsigned decimal integer", "an unsigned decimal integer", "an unsigned decimal integer",
		"an unsigned decimal integer", "'local' or 'all'", "0 or 1",
	};
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
	size_t i = 0;

	memset(q, 0, sizeof(*q));
	while (i < n) {
		const char *pair = raw + i, *amp = memchr(pair, '&', n - i), *eq;
		size_t plen = amp ? (size_t)(amp - pair) : n - i;
		char key[16], val[32];
		bool nul = false;
		bool *has[] = { &q->has_from, &q->has_to, &q->has_limit, &q->has_wait, &q->has_origin, &q->has_envelope };
		size_t k, klen;

		i += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		klen = eq ? (size_t)(eq - pair) : plen;
		if (!decode(pair, klen, key, sizeof(key), &nul))
			continue; /* longer than any key we know */
		if (nul) {
			snprintf(err, errlen, "a query key holds a NUL byte (%%00)");
			return -EINVAL;
		}
		for (k = 0; k < nkeys; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == nkeys)
			continue;
		if (*has[k]) {
			snprintf(err, errlen, "parameter '%s' is repeated", keys[k]);
			return -EINVAL;
		}
		if (eq && decode(eq + 1, plen - klen - 1, val, sizeof(val), &nul) && nul) {
			snprintf(err, errlen, "parameter '%s' holds a NUL byte (%%00)", keys[k]);
			return -EINVAL;
		}
		if (!eq || !decode(eq + 1, plen - klen - 1, val, sizeof(val), &nul) || !set_value(q, k, val)) {
			snprintf(err, errlen, "parameter '%s' must be %s", keys[k], want[k]);
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
