/* decompress.h: bounded decoding of compressed bodies (gzip, zstd, snappy raw and framed) behind one entry point, so no bomb outgrows its limit. */
#ifndef VIVO_DECOMPRESS_H
#define VIVO_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum dc_codec {
	DC_IDENTITY,
	DC_GZIP,
	DC_ZSTD,   /* only in builds with libzstd (HAVE_ZSTD) */
	DC_SNAPPY, /* raw block or framing format, told apart by the stream identifier */
};

/* The codec a Content-Encoding or grpc-encoding value names: NULL, "" and "identity" are
 * DC_IDENTITY; "gzip"/"x-gzip", "zstd", "snappy" (case-insensitive, surrounding blanks
 * ignored). 0, or -ENOTSUP for anything else and for zstd in a build without libzstd. */
int dc_codec_parse(const char *name, enum dc_codec *out);

/* "gzip", "zstd", "snappy" or "identity". */
const char *dc_codec_name(enum dc_codec c);

/* The encodings this build decodes, for error messages: "gzip, zstd or snappy". */
const char *dc_supported(void);

/* Decode n bytes of `data` in codec `c` and append the result to `out`, never holding
 * more than `limit` decoded bytes (nor more than out's own limit): declared sizes are
 * checked before anything is allocated, and decoding stops at the limit. Identity copies.
 * 0; -ENOSPC when the data decodes past the limit; -EINVAL for data that is not valid in
 * that codec (truncated, bad checksum, trailing bytes); -ENOMEM. `err` (may be NULL) gets
 * a one-line reason that names the codec and, for -ENOSPC, the limit (for a zstd frame
 * whose window is over it, the window and the limit). */
int dc_decode(enum dc_codec c, const void *data, size_t n, size_t limit, struct buf *out, char *err,
	      size_t errlen);

#endif
