/* query.h: the exporter's query string parser (from, to, limit, wait). */
#ifndef VIVO_QUERY_H
#define VIVO_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_WAIT_MAX 60

struct query {
	bool has_from, has_to, has_limit, has_wait;
	uint64_t from, to, limit, wait;
};

/* Parse a raw query string (without '?'; n bytes, need not be NUL-terminated). Keys
 * match exactly after percent-decoding; unknown keys are ignored. 0, or -EINVAL with a
 * reason naming the parameter in `err` (not an unsigned integer, repeated, wait > 60). */
int query_parse(const char *raw, size_t n, struct query *q, char *err, size_t errlen);

#endif
