/* in_forward/frame.h: what the Forward decoder's files share (decode.c, scan.c, contexts.c): the decoder, the state of one frame, the helpers between them; not an API outside in_forward/. */
#ifndef VIVO_FWD_FRAME_H
#define VIVO_FWD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "decode.h"
#include "loggroup.h"
#include "mp.h"
#include "store.h"

enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct fwd_decoder {
	size_t max_bytes;
	size_t chunk_max;
	char *tag_override;
	char *tag_prefix;
	struct chunk_builder cb;
	struct buf tag;     /* the frame's effective tag, NUL-terminated */
	struct buf plain;   /* decompressed payload, at most max_bytes */
	struct log_group group; /* the frame's OTLP group markers (loggroup.h) */
	struct buf scratch; /* one metrics/traces context, rewritten */
	struct buf line;    /* one metrics/traces context, rendered */
};

/* State of one frame being decoded. */
struct frame_ctx {
	struct fwd_decoder *d;
	struct fwd_frame *f;
	char *err;
	size_t errlen;
	int signal;
	enum compression comp;
	struct mp_cur meta;     /* options.metadata (Message mode) */
	bool has_meta;
	bool entries;           /* Forward or PackedForward: Fluent Bit's OTLP group markers may occur */
};

/* A bad frame: the reason (printf-style) into x->err; returns -EBADMSG. */
int fwd_bad(struct frame_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A cursor over exactly the next object at `c`, which advances past it. 0 or -1. */
int fwd_take_obj(struct mp_cur *c, struct mp_cur *obj);

/* One entry's record into the chunk, or, for Fluent Bit's OTLP group markers
 * (loggroup.h), the group's start or end (nothing stored). `meta` may be NULL; `body` is
 * rendered straight from the frame and left after the record. 0, -EBADMSG, -EMSGSIZE
 * (over the chunk limit) or -ENOMEM, with the reason in x->err. */
int fwd_add_log(struct frame_ctx *x, size_t idx, int64_t ts, struct mp_cur *meta, struct mp_cur *body);

/* contexts.c: the record `rec` of a metrics or traces frame (x->signal 1 or 2): one
 * cmetrics/ctraces context map, or an array of them, each one JSON line in the chunk.
 * 0, -EBADMSG, -EMSGSIZE or -ENOMEM, with the reason in x->err. */
int fwd_render_contexts(struct frame_ctx *x, struct mp_cur *rec, size_t idx);

#endif
