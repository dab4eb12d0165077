/* bench_fwd_frame.c: Forward framing in process, one thread, no sockets, timed in CPU time: the agent's hand-written scanner (fwd_scan) against msgpack-c's streaming unpacker (msgpack_unpacker) over the same frames in 1 MB reads, both feeding the same decoder, the output compared. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "fwd_frames.h"
#include "in_forward/decode.h"
#include "mp.h"
#include "mpk.h"

/* The agent's default buffer_max_size, and its default read size (buffer_chunk_size). */
#define MAX_BYTES 6144000
#define READ_SIZE 1024000

/* The thread's CPU time: on a machine shared with other builds, wall time would count
 * the time this thread waits for a core. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *err)
{
	fprintf(stderr, "bench_fwd_frame: %s: %s\n", what, err);
	exit(1);
}

/* What a pass stored, to compare the paths. */
struct tally {
	uint64_t records;
	size_t text;
};

static void decode_one(struct fwd_decoder *dec, const char *p, size_t n, struct tally *t)
{
	struct fwd_frame f;
	char err[256];

	if (fwd_decode_frame(dec, p, n, &f, err, sizeof(err)) < 0)
		die("decode", err);
	t->records += f.cb->records;
	t->text += f.cb->text.len;
}

/* The scanner's walk of whole frames in data[from, to); returns where it stopped. */
static size_t scan_frames(const struct buf *data, size_t from, size_t to, struct fwd_decoder *dec, struct tally *t)
{
	size_t len;

	while (from < to) {
		struct fwd_scan s = { 0 };

		if (fwd_scan(&s, data->data + from, to - from, MAX_BYTES, &len) != 1)
			break;
		if (dec)
			decode_one(dec, data->data + from, len, t);
		from += len;
	}
	return from;
}

/* msgpack-c's path: the reads copied into a streaming unpacker (a connection cannot
 * keep a read-sized buffer of its own while idle, so reads land in the worker's buffer
 * first), each frame taken from it as a zone-backed tree (str/bin zero-copy), packed
 * again with msgpack_pack_object for the decoder, which renders from bytes. `gate`:
 * the scanner walks the bytes first, as it must in the agent (msgpack-c reserves memory
 * for every declared element before reading it, so it may never see a header nobody
 * bounded). A pass may stop after unpacking (`dec` NULL, `pk` NULL) or repacking. */
static void unpacker_path(const struct buf *data, bool gate, msgpack_packer *pk, struct fwd_decoder *dec,
			  struct tally *t)
{
	struct buf *frame = pk ? mpk_buf(pk) : NULL;
	size_t off = 0, scanned = 0;
	msgpack_unpacker up;
	int rc;

	if (!msgpack_unpacker_init(&up, READ_SIZE))
		die("unpacker", "out of memory");
	while (off < data->len) {
		size_t n = data->len - off < READ_SIZE ? data->len - off : READ_SIZE;

		if (gate)
			scanned = scan_frames(data, scanned, off + n, NULL, NULL);
		if (!msgpack_unpacker_reserve_buffer(&up, n))
			die("unpacker", "out of memory");
		memcpy(msgpack_unpacker_buffer(&up), data->data + off, n);
		msgpack_unpacker_buffer_consumed(&up, n);
		off += n;
		while ((rc = msgpack_unpacker_execute(&up)) > 0) {
			if (pk) {
				buf_reset(frame);
				if (msgpack_pack_object(pk, msgpack_unpacker_data(&up)) < 0)
					die("repack", "frame over buffer_max_size");
				if (dec)
					decode_one(dec, frame->data, frame->len, t);
			}
			/* Give the tree back, keeping the zone's memory and letting the buffer
			 * be reused: the zone holds the buffer's reference until cleared. */
			msgpack_unpacker_flush_zone(&up);
			msgpack_unpacker_reset_zone(&up);
			msgpack_unpacker_reset(&up);
		}
		if (rc < 0)
			die("unpacker", "bad msgpack");
	}
	msgpack_unpacker_destroy(&up);
}

int main(int argc, char **argv)
{
	struct fwd_decoder_opts o = { .max_bytes = MAX_BYTES, .chunk_max = 8 * MAX_BYTES + 65536,
				      .source_type = "forward", .source_name = "forward.0" };
	/* Seconds of each pass: scanner + decoder, unpacker (gated) + repack + decoder, and
	 * the parts: scanner alone, unpacker alone, unpacker + repack. */
	double sa = 0, sb = 0, ss = 0, su = 0, sp = 0, t0;
	struct tally a = { 0 }, b = { 0 };
	struct fwd_decoder *dec;
	struct buf data, frame;
	msgpack_packer pk;
	long records, batch;
	int runs, i;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_fwd_frame packed|forward|message RECORDS BATCH RUNS\n");
		return 2;
	}
	records = atol(argv[2]);
	batch = atol(argv[3]);
	runs = atoi(argv[4]);
	buf_init(&data, SIZE_MAX);
	buf_init(&frame, MAX_BYTES);
	mpk_init(&pk, &frame);
	if (records < 1 || batch < 1 || runs < 1 || fwd_frames_build(&data, argv[1], records, batch) == 0)
		return 2;
	if (fwd_decoder_new(&o, &dec) < 0)
		die("decoder", strerror(ENOMEM));
	/* Interleaved, so that a change in the machine's load hits every pass alike. */
	for (i = 0; i < runs; i++) {
		t0 = now();
		scan_frames(&data, 0, data.len, dec, &a);
		sa += now() - t0;
		t0 = now();
		unpacker_path(&data, true, &pk, dec, &b);
		sb += now() - t0;
		t0 = now();
		scan_frames(&data, 0, data.len, NULL, NULL);
		ss += now() - t0;
		t0 = now();
		unpacker_path(&data, false, NULL, NULL, NULL);
		su += now() - t0;
		t0 = now();
		unpacker_path(&data, false, &pk, NULL, NULL);
		sp += now() - t0;
	}
	if (a.records != b.records || a.text != b.text || a.records != (uint64_t)records * (uint64_t)runs)
		die("compare", "the two paths stored different records");
	{
		double per = 1e9 / (double)a.records;

		printf("mode=%s records=%llu scanner_ns_per_rec=%.1f unpacker_ns_per_rec=%.1f ratio=%.3f "
		       "scan_ns=%.1f unpack_ns=%.1f repack_ns=%.1f\n",
		       argv[1], (unsigned long long)a.records, sa * per, sb * per, sb / sa, ss * per, su * per,
		       (sp - su) * per);
	}
	fwd_decoder_free(dec);
	buf_free(&frame);
	buf_free(&data);
	return 0;
}
