/* store.h: the stream store: three byte-bounded streams of chunks, paged by chunk ID. */
#ifndef VIVO_STORE_H
#define VIVO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mp.h"

enum stream_kind { STREAM_LOGS, STREAM_METRICS, STREAM_TRACES, STREAM_COUNT };

struct stream;
struct chunk;

/* Name of a stream ("logs", "metrics", "traces"). */
const char *stream_kind_name(enum stream_kind k);

/* Create an empty stream holding at most `budget` bytes of chunk text. NULL on ENOMEM. */
struct stream *stream_new(enum stream_kind kind, size_t budget);
/* Free a stream and the chunks it holds (readers must be done). NULL-safe. */
void stream_free(struct stream *s);
/* Change the budget; evicts the fewest oldest chunks that make the rest fit. */
void stream_set_budget(struct stream *s, size_t budget);
/* Called (outside the lock) after every append with the chunk's ID and whether it is local
 * (taken in by this agent's own inputs), e.g. to wake the long-poll readers it satisfies. */
typedef void (*stream_notify_fn)(void *arg, uint64_t id, bool local);
void stream_set_notify(struct stream *s, stream_notify_fn fn, void *arg);

/* --- building a chunk ------------------------------------------------------------ */

/* A chunk under construction: the records of one input unit for one tag. */
struct chunk_builder {
	struct buf text;  /* legacy rendering, one line per record / context */
	struct buf marks; /* per log record: uint32 offset and length of the injected _tag */
	uint32_t records;
	enum stream_kind kind;
	char *tag;
	char *source_type;
	char *source_name;
	char *v1_extra;   /* optional JSON member added to the v1 object (owned), or NULL */
	size_t v1_extra_len;
	struct buf filtered; /* a log record's body as the [FILTER]s rewrote it */
	char *source;     /* followed chunks: the upstream's source object (owned), or NULL */
	size_t source_len;
};

/* Start a chunk for `kind` with the input's tag and names (copied). `limit` bounds the
 * chunk's text. 0 or -ENOMEM. */
int chunk_builder_init(struct chunk_builder *cb, enum stream_kind kind, const char *tag,
		       const char *source_type, const char *source_name, size_t limit);
void chunk_builder_free(struct chunk_builder *cb);
/* Add one log record: `meta` (a msgpack map, or NULL) and `body` (a msgpack map), each
 * a cursor over one object that is consumed. 0, MP_EBAD/MP_ETRUNC for bad msgpack
 * (the chunk is unchanged), -ENOSPC over the limit, -ENOMEM. */
int chunk_add_log(struct chunk_builder *cb, int64_t ts_ns, struct mp_cur *meta, struct mp_cur *body);
/* The agent's [FILTER] chain, run by chunk_add_log on every log record body before it is
 * rendered: 0 keeps it, 1 replaces it with the map written to `out`, 2 drops it. One
 * process-wide hook (NULL: none), set and cleared by the filters module. */
typedef int (*chunk_filter_fn)(const char *tag, const struct mp_cur *body, struct buf *out);
void chunk_set_filter(chunk_filter_fn fn);
/* Add one metrics or traces context already rendered as one JSON text (no newline). */
int chunk_add_line(struct chunk_builder *cb, const char *json, size_t n);
/* Set a JSON member (`"key":value`, without braces; copied) that the v1 rendering of a
 * logs chunk adds after "tag", e.g. OTLP's shared resource and scope. The store does not
 * look inside it. n = 0 clears it. 0 or -ENOMEM. */
int chunk_builder_set_v1_extra(struct chunk_builder *cb, const char *member, size_t n);
/* Mark the chunk as followed from another agent (not taken in by this agent's own inputs)
 * and set its source: a JSON object (copied, not looked into) that the v1 and envelope
 * renderings add as "source". n = 0 makes it a local chunk again. 0 or -ENOMEM. */
int chunk_builder_set_source(struct chunk_builder *cb, const char *json, size_t n);
/* Add one log record already rendered as its legacy line (`n` bytes, no newline), with the
 * byte span [mark_off, mark_off + mark_len) that the v1 form leaves out (the injected
 * "_tag" and "_source" pairs; mark_len 0 = none). The caller guarantees valid JSON.
 * 0, -EINVAL (mark outside the line), -ENOSPC over the limit, -ENOMEM. */
int chunk_add_log_line(struct chunk_builder *cb, const char *line, size_t n, size_t mark_off, size_t mark_len);

/* --- writing and reading ----------------------------------------------------------- */

/* Append the built chunk: its ID is assigned and it is stored in one critical section,
 * evicting the fewest oldest chunks needed. Empty builders are refused (-EINVAL). The
 * builder is emptied (it may be freed or re-initialised). *id may be NULL. */
int stream_append(struct stream *s, struct chunk_builder *cb, uint64_t *id);

/* What a reader got: references to chunks (kept alive until stream_view_release). */
struct stream_view {
	struct chunk **chunks;
	size_t count;
	uint64_t first_id; /* valid when count > 0 */
	uint64_t last_id;  /* valid when count > 0 */
	uint64_t next_id;  /* the ID the next appended chunk gets */
};

/* Reference chunks with from <= id <= to, at most `limit` of them (0 = no limit); a
 * `from` older than the oldest chunk starts at the oldest. 0 or -ENOMEM. */
int stream_read(struct stream *s, uint64_t from, uint64_t to, uint64_t limit, struct stream_view *v);
/* The same, keeping only local chunks (taken in by this agent's inputs, not followed)
 * when `local_only`: IDs in the view may then have gaps; `limit` counts chunks returned. */
int stream_read_filtered(struct stream *s, uint64_t from, uint64_t to, uint64_t limit, bool local_only,
			 struct stream_view *v);
void stream_view_release(struct stream_view *v);
/* Remove every chunk with ID <= `last_id` (empty_stream_on_read). */
void stream_drop_through(struct stream *s, uint64_t last_id);
/* True when a chunk with ID >= from exists (only a local one when `local_only`). */
bool stream_has_from(struct stream *s, uint64_t from);
bool stream_has_local_from(struct stream *s, uint64_t from);
/* The newest chunk held (false when the stream is empty) and the newest local one held
 * (*local_ok false when none is held), read in one critical section. */
bool stream_newest(struct stream *s, uint64_t *newest, uint64_t *local_newest, bool *local_ok);

/* Chunk accessors for readers. */
uint64_t chunk_id(const struct chunk *c);
/* The legacy text (every line ends in '\n') and its length. */
const char *chunk_text(const struct chunk *c, size_t *len);
/* Render the chunk in the v1 format into `out`: logs as one JSON object + '\n'; metrics
 * and traces as their lines, with "source" added first in each when the chunk was followed. */
int chunk_write_v1(const struct chunk *c, struct buf *out);
/* Render the chunk as one JSON object + '\n' whatever its stream (the exporter's
 * envelope=1): {"id","local_seq" (local chunks only),"source_type","source_name","tag",
 * "source" (followed chunks only), the v1 extra member, "records":[...]}, where records
 * are the v1 log records or the metrics/traces lines. */
int chunk_write_envelope(const struct chunk *c, struct buf *out);
uint32_t chunk_records(const struct chunk *c);
/* False for a chunk followed from another agent. */
bool chunk_is_local(const struct chunk *c);

/* Counters and facts for self-metrics and /api/v1/info. */
struct stream_stats {
	uint64_t chunks;      /* held now */
	uint64_t oldest_id;   /* valid when chunks > 0 */
	uint64_t next_id;
	uint64_t bytes_used;
	uint64_t bytes_max;
	uint64_t appended;    /* chunks ever appended */
	uint64_t records;     /* records ever appended */
	uint64_t evicted;     /* chunks dropped for room */
	uint64_t dropped;     /* chunks removed by empty_stream_on_read */
	uint64_t reads;
	uint64_t local;       /* local chunks ever appended (the next local_seq) */
};
void stream_get_stats(struct stream *s, struct stream_stats *st);

#endif
