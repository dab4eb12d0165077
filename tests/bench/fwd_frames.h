/* fwd_frames.h: the Forward frames the benchmarks send or decode: PackedForward, Forward (Fluent Bit 5.1.1's default for logs) and Message mode, records of ~100 bytes of msgpack. */
#ifndef VIVO_BENCH_FWD_FRAMES_H
#define VIVO_BENCH_FWD_FRAMES_H

#include <stddef.h>

#include "buf.h"

/* Append frames holding `records` records (sequence numbers from 0) to `out`, `batch`
 * records a frame for "packed" ([tag, bin(entries)]) and "forward" ([tag,
 * [[[EventTime, {}], record]...]]), one a frame for "message" ([tag, EventTime,
 * record]). Returns the number of frames, 0 for an unknown mode. */
size_t fwd_frames_build(struct buf *out, const char *mode, long records, long batch);

#endif
