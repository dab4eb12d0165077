/* in_http/body.h: decoding of HTTP input bodies (JSON, NDJSON, form, msgpack) into a chunk. */
#ifndef VIVO_HTTP_BODY_H
#define VIVO_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Decode `body` of type `ctype` (the Content-Type header value, parameters allowed) into
 * log records appended to `cb`, timed `now_ns` unless `time_key` (may be NULL) names a
 * field holding seconds or an RFC 3339 time. All or nothing: on error `cb` may hold some
 * records and must be discarded. 0; -EINVAL with a one-line reason in `err` (naming the
 * array index or line for a bad element); -ENOSPC when the records outgrow `cb`'s limit;
 * -EPROTO for a missing or unsupported Content-Type; -ENOMEM. */
int http_body_decode(const char *ctype, const char *body, size_t n, int64_t now_ns,
		     const char *time_key, struct chunk_builder *cb, char *err, size_t errlen);

/* Parse an RFC 3339 time ("2024-01-02T03:04:05.123Z", offsets allowed). 0 or -EINVAL. */
int http_parse_rfc3339(const char *s, size_t n, int64_t *ns);

#endif
