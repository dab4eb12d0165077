/* query.h: the exporter's query string parser (from, to, limit, wait, origin, envelope). */
#ifndef VIVO_QUERY_H
#define VIVO_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_WAIT_MAX 60

struct query {
	bool has_from, has_to, has_limit, has_wait, has_origin, has_envelope;
	uint64_t from, to, limit, wait;
	bool local_only;  /* origin=local: only chunks this agent's own inputs took in */
	bool envelope;    /* envelope=1: one JSON object per chunk on every stream */
};

/* Parse a raw query string (without '?'; n bytes, need not be NUL-terminated). Keys
 * match exactly after percent-decoding; unknown keys are ignored. from, to, limit and
 * wait are unsigned decimal integers, origin is `local` or `all`, envelope is 0 or 1.
 * 0, or -EINVAL with a reason naming the parameter in `err` (a bad value, repeated,
 * wait > 60, a NUL byte in a key or a known key's value). Any number of parameters: the
 * length of the query is bounded by the server (HTTPD_TARGET_MAX). */
int query_parse(const char *raw, size_t n, struct query *q, char *err, size_t errlen);

#endif
