/* mpjson.h: msgpack to JSON, always valid JSON (spec agent.md 3.1). */
#ifndef VIVO_MPJSON_H
#define VIVO_MPJSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mp.h"

/* Deepest nesting rendered as JSON; a value deeper than this is kept as a string of its
 * msgpack bytes: "msgpack:" and lowercase hex (docs/forward.md, Limits). */
#define MPJSON_MAX_DEPTH 64
/* Longest JSON text of a non-string map key (a map used as a key, say); longer is MP_EBAD. */
#define MPJSON_MAX_KEY 4096

/* Render the object at the cursor as JSON into `out` and advance the cursor past it.
 * 0; MP_ETRUNC/MP_EBAD for bad msgpack; -ENOSPC/-ENOMEM from the buffer. On error `out`
 * may hold a partial rendering: callers roll back to their own mark. */
int mpjson_write(struct buf *out, struct mp_cur *c);

/* Render a log record as the legacy line `[[ts,{"_tag":tag,meta...}],body]` + "\n".
 * `meta` may be NULL (no metadata) and must be a map; `body` must be a map. When `tag`
 * is not NULL and meta has no "_tag" key of its own, the `"_tag":"tag"` pair is injected
 * first; its byte span (with the comma after it, if any) is reported in *tag_off and
 * *tag_len so the v1 form can be produced by leaving it out (*tag_len = 0 otherwise). */
int mpjson_write_record(struct buf *out, int64_t ts_ns, const char *tag,
			struct mp_cur *meta, struct mp_cur *body,
			size_t *tag_off, size_t *tag_len);

/* Append `s` (`n` bytes, not necessarily UTF-8) as a quoted JSON string. */
int mpjson_put_string(struct buf *out, const char *s, size_t n);
/* Append a double: integral values with ".0", others shortest round-trip, NaN/Inf null. */
int mpjson_put_double(struct buf *out, double v);

#endif
