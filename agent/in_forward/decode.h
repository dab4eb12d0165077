/* in_forward/decode.h: the Fluent Forward frame decoder (spec agent.md 4.1): frame boundaries (scan.c), the four modes, options, compression (decode.c), OTLP group markers (agent/loggroup.c, shared with the HTTP input), cmetrics/ctraces payloads (contexts.c); no sockets. */
#ifndef VIVO_FWD_DECODE_H
#define VIVO_FWD_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* --- frame boundaries ------------------------------------------------------------- */

/* Where the scan of a partly received frame stopped; zero it at every frame start. */
struct fwd_scan {
	size_t off;         /* bytes of the frame walked so far */
	uint64_t remaining; /* objects still to walk (0 before the first header) */
	uint64_t need;      /* after a 0 return: the frame is at least this long */
};

/* Find the end of the frame (one msgpack array) at the start of p[0..n), resuming from
 * *s, so bytes that arrive piecemeal are walked once. Returns 1 with the frame's length
 * in *len; 0 when more bytes are needed (s->need then says how many the frame has at
 * least, so a caller can gather exactly those); -EMSGSIZE as soon as the frame cannot end
 * within `max` bytes (a declared length or element count too large, or `n` reached
 * `max`); -EBADMSG when the bytes are not msgpack or the frame is not an array. */
int fwd_scan(struct fwd_scan *s, const char *p, size_t n, size_t max, size_t *len);

/* --- frames ----------------------------------------------------------------------- */

struct fwd_decoder;

struct fwd_decoder_opts {
	size_t max_bytes;        /* buffer_max_size: bounds the decompressed payload too */
	size_t chunk_max;        /* bound of one chunk's rendered text */
	const char *source_type; /* chunk source_type ("forward") */
	const char *source_name; /* chunk source_name (the instance name) */
	const char *tag;         /* replaces every frame's tag when not NULL */
	const char *tag_prefix;  /* prepended to every frame's tag when not NULL */
};

/* Create a decoder (copies the strings of `o`). The caller frees it with
 * fwd_decoder_free. 0 or -ENOMEM. */
int fwd_decoder_new(const struct fwd_decoder_opts *o, struct fwd_decoder **out);
/* NULL-safe. */
void fwd_decoder_free(struct fwd_decoder *d);

/* What one frame decoded to. Everything points into the decoder or the frame and stays
 * valid until the next fwd_decode_frame on the same decoder. */
struct fwd_frame {
	struct chunk_builder *cb; /* the frame's chunk (records may be 0): the caller may
				   * hand it to stream_append/input_emit, which empties it */
	const char *ack;          /* options.chunk (str or bin bytes), NULL when absent */
	size_t ack_len;
	const char *mode;         /* "message", "forward", "packed" or "compressed" */
	int signal;               /* fluent_signal: 0 logs, 1 metrics, 2 traces */
	uint32_t markers;         /* group markers consumed (not stored as records) */
};

/* Decode one complete frame p[0..n) (as found by fwd_scan) into the decoder's chunk
 * builder. A frame is all or nothing: on error the builder holds no records.
 * 0; -EBADMSG for a malformed frame, -EMSGSIZE when the decompressed payload is over
 * max_bytes or the rendered records over chunk_max, -ENOMEM; with a one-line reason
 * in `err` (naming the entry for a bad entry). */
int fwd_decode_frame(struct fwd_decoder *d, const char *p, size_t n, struct fwd_frame *f,
		     char *err, size_t errlen);

#endif
