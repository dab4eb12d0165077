/* jsonmp.h: strict JSON (RFC 8259) to msgpack, with exact integers and bounded depth. */
#ifndef VIVO_JSONMP_H
#define VIVO_JSONMP_H

#include <stddef.h>

#include "buf.h"

#define JSONMP_MAX_DEPTH 60

/* Parse the next JSON value in s[*off..n) into msgpack appended to `out`, skipping
 * whitespace before it, and advance *off past it. Returns 0 for a value, 1 when only
 * whitespace is left, -EINVAL with a one-line reason in `err` (naming the byte offset)
 * for bad JSON, -ENOSPC/-ENOMEM from `out`. Integers that fit int64/uint64 stay
 * integers; others become doubles. Containers and strings use 32-bit headers (written
 * before their size is known, see mpk_map32). */
int jsonmp_next(const char *s, size_t n, size_t *off, struct buf *out, char *err, size_t errlen);

#endif
