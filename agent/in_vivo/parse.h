/* in_vivo/parse.h: the follower's parser of an upstream's answers: headers, /api/v1/info, chunk objects. */
#ifndef VIVO_IN_VIVO_PARSE_H
#define VIVO_IN_VIVO_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

/* Nesting accepted in an upstream's JSON (the agent renders at most 64 levels of record
 * values, inside the chunk object and the record's two arrays). */
#define FOLLOW_MAX_DEPTH 80
/* Longest tag, input name or info string taken from an upstream (decoded bytes). */
#define FOLLOW_MAX_NAME 1024
/* Boot IDs are 32 hex digits; anything up to 64 characters of [0-9a-zA-Z_-] is accepted. */
#define FOLLOW_MAX_BOOT 64

/* What the response headers said. Reset by a status line (curl passes every response of
 * a redirect or a 100-continue, each starting with its status line). */
struct follow_headers {
	int status;                    /* 0 until a status line was seen */
	bool has_next, has_start, has_end;
	uint64_t next, start, end;     /* Vivo-Stream-Next-ID, -Start-ID, -End-ID */
	char boot_id[FOLLOW_MAX_BOOT + 1]; /* Vivo-Boot-ID, "" when absent */
	bool json;                     /* Content-Type: application/json */
	bool encoded;                  /* a Content-Encoding other than identity */
};

/* Reset before a response. */
void follow_headers_reset(struct follow_headers *h);
/* Take one header line as curl delivers it (`n` bytes, with or without the CRLF). A
 * malformed Vivo header is -EINVAL (the response is not trusted); unknown headers are
 * ignored. 0 or -EINVAL. */
int follow_header_line(struct follow_headers *h, const char *line, size_t n);

/* Facts from an upstream's /api/v1/info. */
struct follow_info {
	char boot_id[FOLLOW_MAX_BOOT + 1];
	char pod[FOLLOW_MAX_NAME + 1];      /* "" when the upstream does not know */
	char ns[FOLLOW_MAX_NAME + 1];
	char node[FOLLOW_MAX_NAME + 1];
};

/* Parse /api/v1/info (`n` bytes). A boot_id is required. 0, or -EINVAL with a reason in
 * `err`. */
int follow_parse_info(const char *body, size_t n, struct follow_info *out, char *err, size_t errlen);

/* Render the source object a followed chunk carries: {"instance","boot_id", and "pod",
 * "namespace", "node" when known}. Appends to `out`. 0 or -errno. */
int follow_source_json(const char *instance, const struct follow_info *info, struct buf *out);

/* One chunk object of an envelope=1 response. Spans point into the parsed line. */
struct follow_chunk {
	uint64_t id;
	bool has_seq;
	uint64_t local_seq;
	bool followed;                 /* it has a "source": the upstream followed it itself */
	struct buf names;              /* decoded source_type, source_name, tag, each NUL-ended */
	size_t type_off, name_off, tag_off;
	struct buf extra;              /* unknown members, raw, comma-joined (e.g. "otlp":{...}) */
	struct buf records;            /* size_t offset/length pairs: logs 3 per record (ts, metadata, body), else 1 */
	size_t nrecords;
};

/* Prepare (and, after use, free) a chunk holder; `max` bounds its buffers. */
void follow_chunk_init(struct follow_chunk *c, size_t max);
void follow_chunk_free(struct follow_chunk *c);

/* Parse one line of an envelope=1 response of stream `kind` (`n` bytes, without the
 * newline): a JSON object with "id", "source_type", "source_name", "tag" and "records",
 * and optionally "local_seq" and "source". Every value is checked to be valid JSON
 * (strings valid UTF-8; the records are stored and served as they are), in one pass, and
 * the records for their shape: logs [[ts,{metadata}],{body}], metrics and traces objects.
 * 0, or -EINVAL with a reason in `err` (the line is not used). */
int follow_parse_chunk(const char *line, size_t n, enum stream_kind kind, struct follow_chunk *c, char *err,
		       size_t errlen);

/* Build the local chunk for a chunk parsed for the same `kind` into `cb` (which the
 * caller frees): the same names and records, `source` (a JSON object of `slen` bytes) as
 * its source. Log records become legacy lines with "_tag" and "_source" injected first
 * into the metadata (a key the metadata already has is not injected), so the v1
 * rendering gives back the upstream's record bytes. `limit` bounds the chunk text.
 * 0, -ENOSPC (over the limit) or -ENOMEM, with a reason in `err`. */
int follow_build_chunk(const char *line, const struct follow_chunk *c, enum stream_kind kind,
		       const char *source, size_t slen, size_t limit, struct chunk_builder *cb, char *err, size_t errlen);

/* True when [p, p + n) is exactly one valid JSON value (surrounding whitespace allowed). */
bool follow_json_valid(const char *p, size_t n);

#endif
