/* loggroup.h: Fluent Bit's OTLP group markers in log entries (Forward frames, HTTP msgpack bodies). */
#ifndef VIVO_LOGGROUP_H
#define VIVO_LOGGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mp.h"

/* Fluent Bit relays OTLP logs as entries between a group start marker (time -1 s) whose
 * body holds {"resource":..., "scope":...} and a group end marker (time -2 s). The markers
 * are not records: their resource and scope belong under "otlp" in the metadata of every
 * record in between. One log_group follows one frame or request. */
struct log_group {
	const char *res, *scope;    /* raw msgpack of the open group's resource / scope, or NULL */
	size_t res_len, scope_len;  /* (they point into the caller's bytes) */
	bool open;
	uint32_t markers;           /* markers consumed since log_group_reset */
	struct buf meta;            /* one record's metadata merged with the group */
};

/* Prepare an empty group state; merged metadata is bounded by `limit` bytes. */
void log_group_init(struct log_group *g, size_t limit);
/* Forget the open group (a new frame or request starts); keeps the memory. */
void log_group_reset(struct log_group *g);
void log_group_free(struct log_group *g);

/* True when `ts_ns` is a group start or end marker time. */
bool log_group_is_marker(int64_t ts_ns);

/* Take the entry with time `ts_ns` and body `body` (a cursor over exactly that object,
 * which must stay valid while the group is open). Returns 1 when it was a marker and was
 * consumed (the caller stores nothing), 0 when it is a record. */
int log_group_take(struct log_group *g, int64_t ts_ns, struct mp_cur body);

/* The metadata a record of the open group is stored with: `meta` (a cursor over one map,
 * or NULL) with the group's resource and scope set under "otlp", written into g->meta;
 * *out is then a cursor over it. Outside a group, or when the group carries neither,
 * *out is `meta` unchanged. 0; MP_EBAD when `meta` is not a map; -ENOSPC over the limit;
 * -ENOMEM. */
int log_group_meta(struct log_group *g, struct mp_cur *meta, struct mp_cur *storage, struct mp_cur **out);

#endif
