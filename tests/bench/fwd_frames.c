/* fwd_frames.c: the Forward frames of the benchmarks, written with msgpack-c's packer. */
#include "fwd_frames.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mpk.h"

#define MSG "GET /api/v1/cart/items?session=8f2a 200 OK 1234 bytes 12.5ms"

/* The record of ~100 bytes: {"message": 60 chars, "level": "info", "seq": n}. */
static void record(msgpack_packer *pk, long seq)
{
	msgpack_pack_map(pk, 3);
	mpk_cstr(pk, "message");
	mpk_cstr(pk, MSG);
	mpk_cstr(pk, "level");
	mpk_cstr(pk, "info");
	mpk_cstr(pk, "seq");
	msgpack_pack_uint64(pk, (uint64_t)seq);
}

/* An entry: [EventTime, record], or Fluent Bit's default [[EventTime, {}], record]. */
static void entry(msgpack_packer *pk, long seq, bool with_meta)
{
	msgpack_pack_array(pk, 2);
	if (with_meta)
		msgpack_pack_array(pk, 2);
	mpk_event_time(pk, 1700000000000000000LL + seq);
	if (with_meta)
		msgpack_pack_map(pk, 0);
	record(pk, seq);
}

static size_t batches(msgpack_packer *pk, bool packed, long records, long batch)
{
	struct buf payload;
	msgpack_packer pp;
	size_t frames = 0;
	long i, j;

	buf_init(&payload, SIZE_MAX);
	mpk_init(&pp, &payload);
	for (i = 0; i < records; i += batch) {
		long n = records - i < batch ? records - i : batch;

		msgpack_pack_array(pk, 2);
		mpk_cstr(pk, packed ? "bench.packed" : "bench.forward");
		if (packed) {
			buf_reset(&payload);
			for (j = 0; j < n; j++)
				entry(&pp, i + j, false);
			msgpack_pack_bin_with_body(pk, payload.data, payload.len);
		} else {
			msgpack_pack_array(pk, (size_t)n);
			for (j = 0; j < n; j++)
				entry(pk, i + j, true);
		}
		frames++;
	}
	buf_free(&payload);
	return frames;
}

size_t fwd_frames_build(struct buf *out, const char *mode, long records, long batch)
{
	msgpack_packer pk;
	long i;

	mpk_init(&pk, out);
	if (strcmp(mode, "packed") == 0 || strcmp(mode, "forward") == 0)
		return batches(&pk, strcmp(mode, "packed") == 0, records, batch);
	if (strcmp(mode, "message") != 0)
		return 0;
	for (i = 0; i < records; i++) {
		msgpack_pack_array(&pk, 3);
		mpk_cstr(&pk, "bench.message");
		mpk_event_time(&pk, 1700000000000000000LL + i);
		record(&pk, i);
	}
	return (size_t)records;
}
