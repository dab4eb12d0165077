/* test_fwd.c: unit tests of the Forward frame decoder (fwd_decode) and the secure-forward handshake (fwd_auth). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "in_forward/auth.h"
#include "in_forward/decode.h"
#include "mp.h"
#include "mpk.h"
#include "tap.h"

#define MAX (1u << 20)

static struct fwd_decoder *dec;
static struct fwd_frame fr;
static char err[256];

static struct fwd_decoder *new_decoder(size_t max, const char *tag, const char *prefix)
{
	struct fwd_decoder_opts o = {
		.max_bytes = max, .chunk_max = 8 * max + 65536, .source_type = "forward",
		.source_name = "forward.0", .tag = tag, .tag_prefix = prefix,
	};
	struct fwd_decoder *d = NULL;

	if (fwd_decoder_new(&o, &d) < 0)
		abort();
	return d;
}

static int decode(const struct buf *b)
{
	return fwd_decode_frame(dec, b->data, b->len, &fr, err, sizeof(err));
}

/* The chunk's legacy text, NUL-terminated. */
static const char *text(void)
{
	static char *s;

	free(s);
	s = malloc(fr.cb->text.len + 1);
	memcpy(s, fr.cb->text.data ? fr.cb->text.data : "", fr.cb->text.len);
	s[fr.cb->text.len] = '\0';
	return s;
}

/* {"k": v} with one string value */
static void rec(struct buf *b, const char *k, const char *v)
{
	msgpack_packer pk;

	mpk_init(&pk, b);
	msgpack_pack_map(&pk, 1);
	mpk_cstr(&pk, k);
	mpk_cstr(&pk, v);
}

static void gzip_into(struct buf *out, const void *p, size_t n)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	buf_reserve(out, deflateBound(&z, n) + 32);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)(out->cap - out->len);
	deflate(&z, Z_FINISH);
	out->len = out->cap - z.avail_out;
	deflateEnd(&z);
}

/* --- fwd_scan ---------------------------------------------------------------------- */

static void test_scan(void)
{
	msgpack_packer pk;
	struct fwd_scan s;
	struct buf b;
	size_t len = 0, i;
	int rc = 0;

	buf_init(&b, SIZE_MAX);
	mpk_init(&pk, &b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "tag");
	msgpack_pack_uint64(&pk, 1700000000);
	rec(&b, "message", "hello");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len, MAX, &len) == 1 && len == b.len, "scan: a whole frame");
	/* Byte by byte, resuming: the frame is found when its last byte arrives. */
	memset(&s, 0, sizeof(s));
	for (i = 1; i <= b.len; i++) {
		rc = fwd_scan(&s, b.data, i, MAX, &len);
		if (rc != 0)
			break;
	}
	ok(rc == 1 && i == b.len && len == b.len, "scan: resumes byte by byte (%d at %zu)", rc, i);
	/* Two frames back to back: only the first. */
	buf_append(&b, b.data, b.len);
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len, MAX, &len) == 1 && len == b.len / 2, "scan: stops at the first frame's end");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len / 2, b.len / 2 - 1, &len) == -EMSGSIZE, "scan: a frame over max is -EMSGSIZE");

	/* A 2 GB length prefix: refused from the header alone. */
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "tag");
	buf_append(&b, "\xc6\x80\x00\x00\x00", 5);
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len, MAX, &len) == -EMSGSIZE, "scan: bin32 of 2 GB is refused at once");
	buf_reset(&b);
	buf_append(&b, "\xdd\x7f\xff\xff\xff", 5);
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len, MAX, &len) == -EMSGSIZE, "scan: array32 of 2^31 elements is refused at once");
	buf_reset(&b);
	buf_append(&b, "\x93\xa3tag\xdf\x7f\xff\xff\xff", 10);
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, b.data, b.len, MAX, &len) == -EMSGSIZE, "scan: map32 of 2^31 pairs is refused at once");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, "GET / HTTP/1.1\r\n", 16, MAX, &len) == -EBADMSG, "scan: an HTTP request is not a frame");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, "\x92\xc1", 2, MAX, &len) == -EBADMSG, "scan: 0xc1 is never msgpack");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, "\xdd\x00", 2, MAX, &len) == 0, "scan: a partial array32 header needs more");
	memset(&s, 0, sizeof(s));
	ok(fwd_scan(&s, "", 0, MAX, &len) == 0, "scan: nothing yet needs more");
	buf_free(&b);
}

/* --- modes, times, options --------------------------------------------------------- */

static void test_message(void)
{
	msgpack_packer pk;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	mpk_init(&pk, &b);
	/* Message with integer seconds. */
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "app.web");
	msgpack_pack_uint64(&pk, 1700000000);
	rec(&b, "msg", "hi");
	ok(decode(&b) == 0 && fr.cb->records == 1, "message mode, int time: %s", err);
	is_str(text(), "[[1700000000000000000,{\"_tag\":\"app.web\"}],{\"msg\":\"hi\"}]\n", "message mode renders");
	is_str(fr.mode, "message", "mode is message");
	ok(fr.ack == NULL && fr.cb->kind == STREAM_LOGS, "no ack, logs stream");

	/* Float time and EventTime. */
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "t");
	msgpack_pack_double(&pk, 1700000000.25);
	rec(&b, "a", "b");
	ok(decode(&b) == 0, "float time: %s", err);
	/* 1700000000.25 * 1e9 in one double would give ...249999872. */
	is_str(text(), "[[1700000000250000000,{\"_tag\":\"t\"}],{\"a\":\"b\"}]\n", "float time to exact ns");
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "t");
	mpk_event_time(&pk, 1700000000123456789LL);
	rec(&b, "a", "b");
	ok(decode(&b) == 0, "EventTime: %s", err);
	is_str(text(), "[[1700000000123456789,{\"_tag\":\"t\"}],{\"a\":\"b\"}]\n", "EventTime keeps nanoseconds");

	/* Options: chunk (ack), metadata, size, unknown keys, map32. */
	buf_reset(&b);
	msgpack_pack_array(&pk, 4);
	mpk_cstr(&pk, "t");
	msgpack_pack_uint64(&pk, 1);
	rec(&b, "a", "b");
	{
		size_t at;

		mpk_map32(&pk, &at);
		mpk_cstr(&pk, "size"); msgpack_pack_uint64(&pk, 1);
		mpk_cstr(&pk, "unknown"); msgpack_pack_array(&pk, 2); msgpack_pack_uint64(&pk, 1); msgpack_pack_map(&pk, 0);
		mpk_cstr(&pk, "chunk"); mpk_cstr(&pk, "Y2h1bmstaWQ=");
		mpk_cstr(&pk, "metadata"); msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "k8s"); mpk_cstr(&pk, "pod-1");
		mpk_patch32(&pk, at, 4);
	}
	ok(decode(&b) == 0, "message with options: %s", err);
	ok(fr.ack && fr.ack_len == 12 && memcmp(fr.ack, "Y2h1bmstaWQ=", 12) == 0, "chunk option is the ack");
	is_str(text(), "[[1000000000,{\"_tag\":\"t\",\"k8s\":\"pod-1\"}],{\"a\":\"b\"}]\n", "metadata option is record metadata");
	buf_free(&b);
}

static void entries(struct buf *b, int n, bool with_meta, bool array32)
{
	msgpack_packer pk;
	int i;

	mpk_init(&pk, b);
	for (i = 0; i < n; i++) {
		char v[16];

		if (array32)
			buf_append(b, "\xdd\x00\x00\x00\x02", 5);
		else
			msgpack_pack_array(&pk, 2);
		if (with_meta) {
			msgpack_pack_array(&pk, 2);
			mpk_event_time(&pk, 1700000000000000000LL + i);
			msgpack_pack_map(&pk, 1);
			mpk_cstr(&pk, "i");
			msgpack_pack_int64(&pk, -i);
		} else {
			mpk_event_time(&pk, 1700000000000000000LL + i);
		}
		snprintf(v, sizeof(v), "r%d", i);
		rec(b, "m", v);
	}
}

static void test_forward(void)
{
	msgpack_packer pk;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	mpk_init(&pk, &b);
	msgpack_pack_array(&pk, 2);
	mpk_cstr(&pk, "fw");
	msgpack_pack_array(&pk, 2);
	entries(&b, 2, true, false);
	ok(decode(&b) == 0 && fr.cb->records == 2, "forward mode, [[time, meta], record]: %s", err);
	is_str(text(), "[[1700000000000000000,{\"_tag\":\"fw\",\"i\":0}],{\"m\":\"r0\"}]\n"
		       "[[1700000000000000001,{\"_tag\":\"fw\",\"i\":-1}],{\"m\":\"r1\"}]\n", "entries with metadata");
	is_str(fr.mode, "forward", "mode is forward");
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "fw");
	buf_append(&b, "\xdd\x00\x00\x00\x02", 5);
	entries(&b, 2, false, true);
	msgpack_pack_map(&pk, 1);
	mpk_cstr(&pk, "chunk");
	mpk_cstr(&pk, "abc");
	ok(decode(&b) == 0 && fr.cb->records == 2 && fr.ack_len == 3, "forward mode, array32 [time, record] + options: %s", err);
	is_str(text(), "[[1700000000000000000,{\"_tag\":\"fw\"}],{\"m\":\"r0\"}]\n"
		       "[[1700000000000000001,{\"_tag\":\"fw\"}],{\"m\":\"r1\"}]\n", "entries without metadata");
	/* Empty entries: nothing to store, the ack still goes. */
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "fw");
	msgpack_pack_array(&pk, 0);
	msgpack_pack_map(&pk, 1);
	mpk_cstr(&pk, "chunk");
	mpk_cstr(&pk, "x");
	ok(decode(&b) == 0 && fr.cb->records == 0 && fr.ack, "forward mode, no entries: 0 records, ack");
	buf_free(&b);
}

static void packed_frame(struct buf *b, const struct buf *payload, bool bin, const char *comp, int signal)
{
	msgpack_packer pk;
	int nopt = (comp != NULL) + (signal >= 0);

	mpk_init(&pk, b);
	msgpack_pack_array(&pk, nopt ? 3 : 2);
	mpk_cstr(&pk, "pk");
	if (bin)
		msgpack_pack_bin_with_body(&pk, payload->data, payload->len);
	else
		msgpack_pack_str_with_body(&pk, payload->data, payload->len);
	if (nopt) {
		msgpack_pack_map(&pk, (uint32_t)nopt);
		if (comp) {
			mpk_cstr(&pk, "compressed");
			mpk_cstr(&pk, comp);
		}
		if (signal >= 0) {
			mpk_cstr(&pk, "fluent_signal");
			msgpack_pack_uint64(&pk, (uint64_t)signal);
		}
	}
}

static void test_packed(void)
{
	struct buf b, p, z;
	const char *want = "[[1700000000000000000,{\"_tag\":\"pk\",\"i\":0}],{\"m\":\"r0\"}]\n"
			   "[[1700000000000000001,{\"_tag\":\"pk\",\"i\":-1}],{\"m\":\"r1\"}]\n"
			   "[[1700000000000000002,{\"_tag\":\"pk\",\"i\":-2}],{\"m\":\"r2\"}]\n";

	buf_init(&b, SIZE_MAX);
	buf_init(&p, SIZE_MAX);
	buf_init(&z, SIZE_MAX);
	entries(&p, 3, true, false);
	packed_frame(&b, &p, true, NULL, -1);
	ok(decode(&b) == 0 && fr.cb->records == 3, "packed forward, bin: %s", err);
	is_str(text(), want, "packed entries");
	is_str(fr.mode, "packed", "mode is packed");
	buf_reset(&b);
	packed_frame(&b, &p, false, "text", 0);
	ok(decode(&b) == 0 && fr.cb->records == 3, "packed forward, str, compressed \"text\": %s", err);

	/* gzip, and two concatenated gzip members. */
	gzip_into(&z, p.data, p.len);
	buf_reset(&b);
	packed_frame(&b, &z, true, "gzip", 0);
	ok(decode(&b) == 0 && fr.cb->records == 3, "compressed packed forward, gzip: %s", err);
	is_str(text(), want, "gzip entries");
	is_str(fr.mode, "compressed", "mode is compressed");
	{
		struct buf p1, p2;

		buf_init(&p1, SIZE_MAX);
		buf_init(&p2, SIZE_MAX);
		buf_reset(&z);
		entries(&p1, 1, true, false);
		gzip_into(&z, p1.data, p1.len);
		buf_append(&p2, p.data + p1.len, p.len - p1.len);
		gzip_into(&z, p2.data, p2.len);
		buf_reset(&b);
		packed_frame(&b, &z, true, "gzip", -1);
		ok(decode(&b) == 0 && fr.cb->records == 3, "gzip: concatenated members: %s", err);
		is_str(text(), want, "concatenated members in order");
		buf_free(&p1);
		buf_free(&p2);
	}
	/* Bad gzip and a truncated member. */
	buf_reset(&b);
	packed_frame(&b, &p, true, "gzip", -1);
	ok(decode(&b) == -EBADMSG && fr.cb->records == 0, "gzip: not gzip is -EBADMSG (%s)", err);
	buf_reset(&z);
	gzip_into(&z, p.data, p.len);
	z.len -= 6;
	buf_reset(&b);
	packed_frame(&b, &z, true, "gzip", -1);
	ok(decode(&b) == -EBADMSG, "gzip: truncated member is -EBADMSG (%s)", err);
	buf_reset(&b);
	packed_frame(&b, &p, true, "lz4", -1);
	ok(decode(&b) == -EBADMSG && strstr(err, "lz4"), "unknown compression is refused: %s", err);
#ifdef HAVE_ZSTD
	{
		size_t bound = ZSTD_compressBound(p.len), n;

		buf_reset(&z);
		buf_reserve(&z, 2 * bound);
		n = ZSTD_compress(z.data, bound, p.data, p.len, 3);
		z.len = n;
		n = ZSTD_compress(z.data + z.len, bound, p.data, p.len, 3);
		z.len += n;
		buf_reset(&b);
		packed_frame(&b, &z, true, "zstd", 0);
		ok(decode(&b) == 0 && fr.cb->records == 6, "zstd: two concatenated frames: %s", err);
		z.len -= 3;
		buf_reset(&b);
		packed_frame(&b, &z, true, "zstd", 0);
		ok(decode(&b) == -EBADMSG, "zstd: truncated is -EBADMSG (%s)", err);
	}
#else
	buf_reset(&b);
	packed_frame(&b, &p, true, "zstd", -1);
	ok(decode(&b) == -EBADMSG, "zstd refused in a build without libzstd: %s", err);
#endif
	buf_free(&b);
	buf_free(&p);
	buf_free(&z);
}

static void test_bombs(void)
{
	struct fwd_decoder *small = new_decoder(100000, NULL, NULL);
	struct buf b, p, z;
	int rc;

	buf_init(&b, SIZE_MAX);
	buf_init(&p, SIZE_MAX);
	buf_init(&z, SIZE_MAX);
	/* 50 MB of zeros deflate to ~50 KB: it must stop at max_bytes. */
	buf_reserve(&p, 50u << 20);
	memset(p.data, 0, 50u << 20);
	p.len = 50u << 20;
	gzip_into(&z, p.data, p.len);
	packed_frame(&b, &z, true, "gzip", -1);
	rc = fwd_decode_frame(small, b.data, b.len, &fr, err, sizeof(err));
	ok(rc == -EMSGSIZE, "gzip bomb (%zu -> 50 MB) stops at max_bytes: %d %s", z.len, rc, err);
#ifdef HAVE_ZSTD
	{
		size_t bound = ZSTD_compressBound(p.len);

		buf_reset(&z);
		buf_reserve(&z, bound);
		z.len = ZSTD_compress(z.data, bound, p.data, p.len, 1);
		buf_reset(&b);
		packed_frame(&b, &z, true, "zstd", -1);
		rc = fwd_decode_frame(small, b.data, b.len, &fr, err, sizeof(err));
		ok(rc == -EMSGSIZE, "zstd bomb (%zu -> 50 MB) stops at max_bytes: %d %s", z.len, rc, err);
	}
#endif
	fwd_decoder_free(small);
	buf_free(&b);
	buf_free(&p);
	buf_free(&z);
}

/* Every position with a wrong type is a clean -EBADMSG, and the builder stays empty. */
static void test_wrong_types(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} cases[] = {
#define C(name, s) { name, s, sizeof(s) - 1 }
		C("frame is a map", "\x81\xa1k\xa1v"),
		C("frame of one element", "\x91\xa1t"),
		C("frame of five elements", "\x95\xa1t\x01\x80\x80\x80"),
		C("tag is an int", "\x93\x01\x01\x81\xa1k\xa1v"),
		C("tag is nil", "\x93\xc0\x01\x81\xa1k\xa1v"),
		C("tag has a NUL", "\x93\xa2t\x00\x01\x81\xa1k\xa1v"),
		C("message time is a string", "\x93\xa1t\xa1x\x81\xa1k\xa1v"),
		C("message time is nil", "\x93\xa1t\xc0\x81\xa1k\xa1v"),
		C("message time is a bool", "\x93\xa1t\xc3\x81\xa1k\xa1v"),
		C("message time ext type 1", "\x93\xa1t\xd7\x01\0\0\0\0\0\0\0\0\x81\xa1k\xa1v"),
		C("message time ext of 4 bytes", "\x93\xa1t\xd6\x00\0\0\0\0\x81\xa1k\xa1v"),
		C("message record is an array", "\x93\xa1t\x01\x91\x01"),
		C("message record is a string", "\x93\xa1t\x01\xa1x"),
		C("message record is nil", "\x93\xa1t\x01\xc0"),
		C("message options is an array", "\x94\xa1t\x01\x80\x90"),
		C("message options is an int", "\x94\xa1t\x01\x80\x07"),
		C("chunk is an int", "\x94\xa1t\x01\x80\x81\xa5" "chunk\x01"),
		C("compressed is an int", "\x93\xa1t\xc4\x00\x81\xaa" "compressed\x01"),
		C("fluent_signal is 3", "\x93\xa1t\x90\x81\xad" "fluent_signal\x03"),
		C("fluent_signal is a string", "\x93\xa1t\x90\x81\xad" "fluent_signal\xa1" "1"),
		C("fluent_signal is negative", "\x93\xa1t\x90\x81\xad" "fluent_signal\xff"),
		C("metadata is a string", "\x94\xa1t\x01\x80\x81\xa8metadata\xa1x"),
		C("forward entry is an int", "\x92\xa1t\x91\x01"),
		C("forward entry has 3 elements", "\x92\xa1t\x91\x93\x01\x80\x80"),
		C("forward entry time is a string", "\x92\xa1t\x91\x92\xa1x\x80"),
		C("forward entry record is an array", "\x92\xa1t\x91\x92\x01\x90"),
		C("forward entry record is an int", "\x92\xa1t\x91\x92\x01\x01"),
		C("forward [time, meta] has 3 elements", "\x92\xa1t\x91\x92\x93\x01\x80\x80\x80"),
		C("forward meta is a string", "\x92\xa1t\x91\x92\x92\x01\xa1x\x80"),
		C("forward meta time is a map", "\x92\xa1t\x91\x92\x92\x80\x80\x80"),
		C("forward options is a string", "\x93\xa1t\x90\xa1x"),
		C("forward entries truncated", "\x92\xa1t\x92\x92\x01\x80"),
		C("packed payload is garbage", "\x92\xa1t\xc4\x03\xc1\xc1\xc1"),
		C("packed payload entry is a map", "\x92\xa1t\xc4\x01\x80"),
		C("packed payload truncated entry", "\x92\xa1t\xc4\x03\x92\x01\x81"),
		C("packed payload time is a string", "\x92\xa1t\xc4\x04\x92\xa1x\x80"),
		C("metrics payload is not a context", "\x93\xa1t\xc4\x01\x80\x81\xad" "fluent_signal\x01"),
		C("metrics context metrics is a map", "\x93\xa1t\xc4\x0a\x81\xa7metrics\x80\x81\xad" "fluent_signal\x01"),
		C("traces payload is an int", "\x93\xa1t\xc4\x01\x01\x81\xad" "fluent_signal\x02"),
		C("traces entry record is a string", "\x93\xa1t\x91\x92\x01\xa1x\x81\xad" "fluent_signal\x02"),
#undef C
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = fwd_decode_frame(dec, cases[i].bytes, cases[i].n, &fr, err, sizeof(err));

		ok(rc == -EBADMSG && fr.cb->records == 0 && fr.cb->text.len == 0 && err[0],
		   "wrong type: %s -> %d (%s)", cases[i].name, rc, err);
	}
	/* Every truncation of a good frame fails cleanly too (the scanner would not pass
	 * them, but the decoder must not trust that). */
	{
		msgpack_packer pk;
		struct buf b;
		size_t n, bad = 0;

		buf_init(&b, SIZE_MAX);
		mpk_init(&pk, &b);
		msgpack_pack_array(&pk, 3);
		mpk_cstr(&pk, "fw");
		msgpack_pack_array(&pk, 2);
		entries(&b, 2, true, false);
		msgpack_pack_map(&pk, 1);
		mpk_cstr(&pk, "chunk");
		mpk_cstr(&pk, "abc");
		for (n = 0; n < b.len; n++)
			if (fwd_decode_frame(dec, b.data, n, &fr, err, sizeof(err)) != -EBADMSG || fr.cb->records)
				bad++;
		ok(bad == 0, "every truncation of a frame is -EBADMSG (%zu not)", bad);
		buf_free(&b);
	}
}

static void test_tags(void)
{
	msgpack_packer pk;
	struct fwd_decoder *d1 = new_decoder(MAX, "fixed", NULL), *d2 = new_decoder(MAX, NULL, "pre.");
	struct buf b;

	buf_init(&b, SIZE_MAX);
	mpk_init(&pk, &b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "orig");
	msgpack_pack_uint64(&pk, 1);
	rec(&b, "a", "b");
	ok(fwd_decode_frame(d1, b.data, b.len, &fr, err, sizeof(err)) == 0, "tag override");
	is_str(fr.cb->tag, "fixed", "tag replaced");
	ok(fwd_decode_frame(d2, b.data, b.len, &fr, err, sizeof(err)) == 0, "tag prefix");
	is_str(fr.cb->tag, "pre.orig", "tag prefixed");
	fwd_decoder_free(d1);
	fwd_decoder_free(d2);
	buf_free(&b);
}

/* --- OTLP group markers ------------------------------------------------------------ */

static void test_groups(void)
{
	msgpack_packer pk;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	mpk_init(&pk, &b);
	msgpack_pack_array(&pk, 2);
	mpk_cstr(&pk, "v1_logs");
	msgpack_pack_array(&pk, 4);
	/* start marker: [[EventTime(-1), {schema...}], {resource, scope}] */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_array(&pk, 2);
	buf_append(&b, "\xd7\x00\xff\xff\xff\xff\x00\x00\x00\x00", 10);
	msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "schema"); mpk_cstr(&pk, "otlp");
	msgpack_pack_map(&pk, 2);
	mpk_cstr(&pk, "resource"); msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "attributes"); rec(&b, "service.name", "checkout");
	mpk_cstr(&pk, "scope"); rec(&b, "name", "lib");
	/* a record with otlp metadata, trace_id as bin */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_array(&pk, 2);
	mpk_event_time(&pk, 1735689600100000000LL);
	msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "otlp"); msgpack_pack_map(&pk, 2);
	mpk_cstr(&pk, "severity_number"); msgpack_pack_uint64(&pk, 9);
	mpk_cstr(&pk, "trace_id"); msgpack_pack_bin_with_body(&pk, "\x5b\x8e\xff\xf7", 4);
	rec(&b, "log", "order placed");
	/* a record without metadata */
	msgpack_pack_array(&pk, 2);
	mpk_event_time(&pk, 1735689600200000000LL);
	rec(&b, "log", "second");
	/* end marker */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_array(&pk, 2);
	buf_append(&b, "\xd7\x00\xff\xff\xff\xfe\x00\x00\x00\x00", 10);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_map(&pk, 0);
	ok(decode(&b) == 0 && fr.cb->records == 2 && fr.markers == 2, "group markers are not records: %s", err);
	is_str(text(),
	       "[[1735689600100000000,{\"_tag\":\"v1_logs\",\"otlp\":{\"severity_number\":9,\"trace_id\":\"5b8efff7\","
	       "\"resource\":{\"attributes\":{\"service.name\":\"checkout\"}},\"scope\":{\"name\":\"lib\"}}}],{\"log\":\"order placed\"}]\n"
	       "[[1735689600200000000,{\"_tag\":\"v1_logs\",\"otlp\":{\"resource\":{\"attributes\":{\"service.name\":\"checkout\"}},"
	       "\"scope\":{\"name\":\"lib\"}}}],{\"log\":\"second\"}]\n",
	       "the group's resource and scope join each record's otlp metadata");
	buf_free(&b);
}

/* --- metrics and traces ------------------------------------------------------------ */

static void cmetrics_summary(struct buf *b)
{
	msgpack_packer pk;
	double q[2] = { 1.5, 9.25 }, sum = 12.75;
	uint64_t u;

	mpk_init(&pk, b);
	msgpack_pack_map(&pk, 2);
	mpk_cstr(&pk, "meta"); msgpack_pack_map(&pk, 3);
	mpk_cstr(&pk, "cmetrics"); msgpack_pack_map(&pk, 0);
	mpk_cstr(&pk, "external"); msgpack_pack_map(&pk, 0);
	mpk_cstr(&pk, "processing"); msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "static_labels"); msgpack_pack_array(&pk, 0);
	mpk_cstr(&pk, "metrics"); msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	mpk_cstr(&pk, "meta"); msgpack_pack_map(&pk, 3);
	mpk_cstr(&pk, "ver"); msgpack_pack_uint64(&pk, 2);
	mpk_cstr(&pk, "type"); msgpack_pack_uint64(&pk, 3);
	mpk_cstr(&pk, "quantiles"); msgpack_pack_array(&pk, 2); msgpack_pack_double(&pk, 0.5); msgpack_pack_double(&pk, 0.99);
	mpk_cstr(&pk, "values"); msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	mpk_cstr(&pk, "ts"); msgpack_pack_uint64(&pk, 1700000000000000000ULL);
	mpk_cstr(&pk, "hash"); msgpack_pack_uint64(&pk, 18446744073709551615ULL);
	mpk_cstr(&pk, "summary"); msgpack_pack_map(&pk, 4);
	mpk_cstr(&pk, "quantiles_set"); msgpack_pack_uint64(&pk, 1);
	mpk_cstr(&pk, "quantiles"); msgpack_pack_array(&pk, 2);
	memcpy(&u, &q[0], 8); msgpack_pack_uint64(&pk, u);
	memcpy(&u, &q[1], 8); msgpack_pack_uint64(&pk, u);
	mpk_cstr(&pk, "count"); msgpack_pack_uint64(&pk, 7);
	memcpy(&u, &sum, 8);
	mpk_cstr(&pk, "sum"); msgpack_pack_uint64(&pk, u);
}

static void test_metrics(void)
{
	msgpack_packer pk;
	const char *want = "{\"meta\":{\"cmetrics\":{},\"external\":{},\"processing\":{\"static_labels\":[]}},"
			   "\"metrics\":[{\"meta\":{\"ver\":2,\"type\":3,\"quantiles\":[0.5,0.99]},\"values\":[{"
			   "\"ts\":1700000000000000000,\"hash\":18446744073709551615,\"summary\":{\"quantiles_set\":1,"
			   "\"quantiles\":[1.5,9.25],\"count\":7,\"sum\":12.75}}]}]}\n";
	struct buf b, p;

	buf_init(&b, SIZE_MAX);
	buf_init(&p, SIZE_MAX);
	mpk_init(&pk, &b);
	cmetrics_summary(&p);
	cmetrics_summary(&p);
	packed_frame(&b, &p, true, NULL, 1);
	ok(decode(&b) == 0 && fr.cb->records == 2 && fr.cb->kind == STREAM_METRICS,
	   "metrics: every context of the payload is a line: %s", err);
	{
		char *two = malloc(2 * strlen(want) + 1);

		strcpy(two, want);
		strcat(two, want);
		is_str(text(), two, "summaries as real numbers, uint64 hash exact");
		free(two);
	}
	/* fluentd_compat: Forward mode, the record an array holding the context. */
	buf_reset(&b);
	msgpack_pack_array(&pk, 3);
	mpk_cstr(&pk, "m");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 2);
	mpk_event_time(&pk, 1);
	msgpack_pack_array(&pk, 1);
	buf_append(&b, p.data, p.len / 2);
	msgpack_pack_map(&pk, 1);
	mpk_cstr(&pk, "fluent_signal");
	msgpack_pack_uint64(&pk, 1);
	ok(decode(&b) == 0 && fr.cb->records == 1, "metrics: fluentd_compat forward mode: %s", err);
	is_str(text(), want, "fluentd_compat context");
	/* A context is unpacked by msgpack-c, which goes 32 levels deep: one nested deeper
	 * is a bad frame with a reason, not a crash or a huge allocation. */
	{
		int i;

		buf_reset(&p);
		msgpack_pack_map(MPK(&p), 2);
		mpk_cstr(MPK(&p), "metrics");
		msgpack_pack_array(MPK(&p), 0);
		mpk_cstr(MPK(&p), "deep");
		for (i = 0; i < 40; i++)
			msgpack_pack_array(MPK(&p), 1);
		msgpack_pack_nil(MPK(&p));
		buf_reset(&b);
		packed_frame(&b, &p, true, NULL, 1);
		ok(decode(&b) == -EBADMSG && fr.cb->records == 0 && strstr(err, "deeper than 32 levels"),
		   "metrics: a context nested 41 deep is refused: %s", err);
	}
	buf_free(&b);
	buf_free(&p);
}

static void test_traces(void)
{
	msgpack_packer pp;
	struct buf b, p;

	buf_init(&b, SIZE_MAX);
	buf_init(&p, SIZE_MAX);
	mpk_init(&pp, &p);
	msgpack_pack_map(&pp, 1);
	mpk_cstr(&pp, "resourceSpans"); msgpack_pack_array(&pp, 1);
	msgpack_pack_map(&pp, 1);
	mpk_cstr(&pp, "scope_spans"); msgpack_pack_array(&pp, 1);
	msgpack_pack_map(&pp, 1);
	mpk_cstr(&pp, "spans"); msgpack_pack_array(&pp, 1);
	msgpack_pack_map(&pp, 5);
	mpk_cstr(&pp, "trace_id"); mpk_cstr(&pp, "5B8EFFF798038103D269B633813FC60C");
	mpk_cstr(&pp, "span_id"); msgpack_pack_bin_with_body(&pp, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8);
	mpk_cstr(&pp, "parent_span_id"); msgpack_pack_nil(&pp);
	mpk_cstr(&pp, "links"); msgpack_pack_array(&pp, 1); msgpack_pack_map(&pp, 2);
	mpk_cstr(&pp, "trace_id"); mpk_cstr(&pp, "");
	mpk_cstr(&pp, "span_id"); msgpack_pack_str_with_body(&pp, "\x01\x02\xff\x80zz\x00\x01", 8);
	mpk_cstr(&pp, "name"); mpk_cstr(&pp, "GET /");
	gzip_into(&b, "", 0); /* unused; keeps gzip_into linked in every build */
	buf_reset(&b);
	{
		struct buf z;

		buf_init(&z, SIZE_MAX);
		gzip_into(&z, p.data, p.len);
		packed_frame(&b, &z, true, "gzip", 2);
		buf_free(&z);
	}
	ok(decode(&b) == 0 && fr.cb->records == 1 && fr.cb->kind == STREAM_TRACES, "traces: gzip ctraces: %s", err);
	is_str(text(), "{\"resourceSpans\":[{\"scope_spans\":[{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\","
		       "\"span_id\":\"eee19b7ec3c1b174\",\"parent_span_id\":null,\"links\":[{\"trace_id\":null,"
		       "\"span_id\":\"0102ff807a7a0001\"}],\"name\":\"GET /\"}]}]}]}\n",
	       "IDs: lowercase hex, raw bytes hexed, empty is null");
	buf_free(&b);
	buf_free(&p);
}

/* --- fixtures: the bytes a real Fluent Bit 5.1.1 sent ------------------------------- */

static struct buf read_file(const char *path)
{
	struct buf b;
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t n;

	buf_init(&b, SIZE_MAX);
	if (!f)
		return b;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return b;
}

static void test_fixtures(void)
{
	const char *dir = getenv("FIXTURES");
	struct dirent **names;
	int i, n, decoded = 0, failed = 0, pings = 0;

	if (!dir || (n = scandir(dir, &names, NULL, alphasort)) < 0) {
		printf("ok %d - fixtures # SKIP FIXTURES not set or not readable\n", ++tap_n);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t l = strlen(nm), len;
		char path[4096];
		struct buf b;
		struct fwd_scan s;

		if (strncmp(nm, "forward-", 8) != 0 || l < 8 || strcmp(nm + l - 8, ".msgpack") != 0) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, nm);
		b = read_file(path);
		memset(&s, 0, sizeof(s));
		if (fwd_scan(&s, b.data, b.len, 6144000, &len) != 1 || len != b.len) {
			ok(0, "fixture %s: the scanner finds exactly one frame", nm);
			failed++;
		} else if (strstr(nm, "sharedkey-01") || strstr(nm, "sharedkey-03")) {
			/* The PING answers the capture server's HELO: nonce 00..0f, key secret123. */
			struct fwd_auth a;
			struct fwd_auth_session ss;
			struct buf out;
			char client[64];
			int k, rc;

			for (k = 0; k < 16; k++)
				ss.nonce[k] = (unsigned char)k;
			buf_init(&out, 4096);
			fwd_auth_init(&a, "secret123", "vivo", NULL, 0, err, sizeof(err));
			rc = fwd_auth_ping(&a, &ss, b.data, b.len, &out, client, sizeof(client), err, sizeof(err));
			ok(rc == 0 && strcmp(client, "fb-sender") == 0, "fixture %s: Fluent Bit's PING verifies (%s)", nm, err);
			fwd_auth_free(&a);
			fwd_auth_init(&a, "secret124", "vivo", NULL, 0, err, sizeof(err));
			buf_reset(&out);
			rc = fwd_auth_ping(&a, &ss, b.data, b.len, &out, client, sizeof(client), err, sizeof(err));
			ok(rc == -EACCES, "fixture %s: with another key it is refused (%s)", nm, err);
			fwd_auth_free(&a);
			buf_free(&out);
			pings++;
		} else {
			int rc = fwd_decode_frame(dec, b.data, b.len, &fr, err, sizeof(err));
			bool good = rc == 0 && fr.cb->records > 0;

			if (strstr(nm, "-metrics-"))
				good = good && fr.cb->kind == STREAM_METRICS && fr.cb->records == 1;
			else if (strstr(nm, "-traces-"))
				good = good && fr.cb->kind == STREAM_TRACES && fr.cb->records == 1;
			else
				good = good && fr.cb->kind == STREAM_LOGS;
			if (strstr(nm, "-ack-"))
				good = good && fr.ack && fr.ack_len == 24;
			if (strstr(nm, "-otlp-01") && strstr(nm, "logs"))
				good = good && fr.markers == 2 && fr.cb->records == 2;
			ok(good, "fixture %s: decodes (%d, %u records, %s): %s", nm, rc, fr.cb->records, fr.mode ? fr.mode : "-", err);
			decoded++;
		}
		buf_free(&b);
		free(names[i]);
	}
	free(names);
	ok(decoded >= 30 && pings == 2 && failed == 0, "fixtures: %d frames decoded, %d PINGs checked", decoded, pings);
}

/* --- handshake --------------------------------------------------------------------- */

static void ping(struct buf *b, const char *host, const char *salt, const char *digest, const char *user, const char *pw)
{
	msgpack_packer pk;

	mpk_init(&pk, b);
	buf_reset(b);
	msgpack_pack_array(&pk, 6);
	mpk_cstr(&pk, "PING");
	mpk_cstr(&pk, host);
	mpk_cstr(&pk, salt);
	mpk_cstr(&pk, digest);
	mpk_cstr(&pk, user);
	mpk_cstr(&pk, pw);
}

static void test_auth(void)
{
	char *users[] = { "alice s3cret", "bob pw1 carol pw2" };
	struct fwd_auth a;
	struct fwd_auth_session s;
	struct buf helo, out, msg;
	struct mp_cur c;
	struct mp_obj o;
	char d1[129], d2[129], client[64];
	int rc;

	buf_init(&helo, 4096);
	buf_init(&out, 4096);
	buf_init(&msg, 4096);
	ok(fwd_auth_init(&a, "key", "server", users, 2, err, sizeof(err)) == 0 && a.nusers == 3, "three users parsed");
	ok(fwd_auth_helo(&a, &s, &helo) == 0, "HELO built");
	mp_cur_init(&c, helo.data, helo.len);
	ok(mp_read(&c, &o) == 0 && o.type == MP_ARRAY && o.len == 2 && mp_read(&c, &o) == 0 && mp_str_eq(&o, "HELO"),
	   "HELO is [\"HELO\", {...}]");
	{
		const void *p1[4] = { "salt", "client", s.nonce, "key" };
		size_t l1[4] = { 4, 6, 16, 3 };
		const void *p2[3] = { s.salt, "carol", "pw2" };
		size_t l2[3] = { 16, 5, 3 };

		fwd_auth_sha512_hex(p1, l1, 4, d1);
		fwd_auth_sha512_hex(p2, l2, 3, d2);
	}
	ping(&msg, "client", "salt", d1, "carol", d2);
	rc = fwd_auth_ping(&a, &s, msg.data, msg.len, &out, client, sizeof(client), err, sizeof(err));
	ok(rc == 0 && strcmp(client, "client") == 0, "good key and password: PONG true (%s)", err);
	mp_cur_init(&c, out.data, out.len);
	mp_read(&c, &o);
	mp_read(&c, &o);
	ok(mp_str_eq(&o, "PONG") && mp_read(&c, &o) == 0 && o.type == MP_BOOL && o.v.b, "PONG true");
	mp_skip(&c);
	mp_read(&c, &o);
	ok(mp_str_eq(&o, "server"), "PONG names the server");
	{
		const void *p[4] = { "salt", "server", s.nonce, "key" };
		size_t l[4] = { 4, 6, 16, 3 };
		char want[129];

		fwd_auth_sha512_hex(p, l, 4, want);
		mp_read(&c, &o);
		ok(mp_str_eq(&o, want), "PONG digest is sha512(salt + server + nonce + key)");
	}
	buf_reset(&out);
	ping(&msg, "client", "salt", d1, "carol", d1);
	rc = fwd_auth_ping(&a, &s, msg.data, msg.len, &out, client, sizeof(client), err, sizeof(err));
	ok(rc == -EACCES && strstr(err, "password"), "wrong password: -EACCES (%s)", err);
	mp_cur_init(&c, out.data, out.len);
	mp_read(&c, &o);
	mp_read(&c, &o);
	ok(mp_read(&c, &o) == 0 && o.type == MP_BOOL && !o.v.b, "PONG false");
	buf_reset(&out);
	ping(&msg, "client", "salt", d1, "mallory", d2);
	ok(fwd_auth_ping(&a, &s, msg.data, msg.len, &out, client, sizeof(client), err, sizeof(err)) == -EACCES,
	   "unknown user: -EACCES (%s)", err);
	buf_reset(&out);
	ping(&msg, "client", "salt2", d1, "carol", d2);
	ok(fwd_auth_ping(&a, &s, msg.data, msg.len, &out, client, sizeof(client), err, sizeof(err)) == -EACCES &&
	   strstr(err, "shared_key"), "wrong shared key digest: -EACCES (%s)", err);
	buf_reset(&out);
	ok(fwd_auth_ping(&a, &s, "\x93\xa1t\x01\x80", 5, &out, client, sizeof(client), err, sizeof(err)) == -EBADMSG,
	   "a frame instead of PING: -EBADMSG (%s)", err);
	buf_reset(&out);
	/* Six elements, but the user name an array of 1,000: more than a PING's 7 objects,
	 * refused before msgpack-c would unpack it. */
	{
		int i;

		buf_reset(&msg);
		msgpack_pack_array(MPK(&msg), 6);
		mpk_cstr(MPK(&msg), "PING");
		mpk_cstr(MPK(&msg), "client");
		mpk_cstr(MPK(&msg), "salt");
		mpk_cstr(MPK(&msg), d1);
		msgpack_pack_array(MPK(&msg), 1000);
		for (i = 0; i < 1000; i++)
			msgpack_pack_nil(MPK(&msg));
		mpk_cstr(MPK(&msg), d2);
		ok(fwd_auth_ping(&a, &s, msg.data, msg.len, &out, client, sizeof(client), err, sizeof(err)) == -EBADMSG &&
		   strstr(err, "invalid ping"), "a PING with a nested array: -EBADMSG (%s)", err);
	}
	fwd_auth_free(&a);
	ok(fwd_auth_init(&a, "key", NULL, (char *[]){ "lonely" }, 1, err, sizeof(err)) == -EINVAL,
	   "a user without a password is a config error: %s", err);
	buf_free(&helo);
	buf_free(&out);
	buf_free(&msg);
}

/* mp_map_find: the value's span by STR key, container keys stepped over, BIN keys not taken. */
static void test_map_find(void)
{
	msgpack_packer pk;
	struct mp_cur c;
	struct buf b;
	const char *p = NULL;
	size_t n = 0;

	buf_init(&b, 4096);
	mpk_init(&pk, &b);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_array(&pk, 1); /* a container key */
	mpk_cstr(&pk, "schema");
	mpk_cstr(&pk, "not this");
	msgpack_pack_bin(&pk, 6); /* a BIN key is no name */
	msgpack_pack_bin_body(&pk, "schema", 6);
	mpk_cstr(&pk, "nor this");
	mpk_cstr(&pk, "schema");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 2);
	mpk_cstr(&pk, "schema");
	mpk_cstr(&pk, "second");
	mp_cur_init(&c, b.data, b.len);
	ok(mp_map_find(c, "schema", &p, &n) && n == 3 && (unsigned char)p[0] == 0x92,
	   "mp_map_find: the first STR key's value, whole (a 2-array of 3 bytes)");
	ok(c.p == b.data, "mp_map_find leaves the caller's cursor where it was");
	ok(!mp_map_find(c, "missing", &p, &n), "mp_map_find: no such key");
	mp_cur_init(&c, b.data, b.len - 15); /* ends inside the value of the key sought */
	ok(!mp_map_find(c, "schema", &p, &n), "mp_map_find: a map cut short inside the value");
	mp_cur_init(&c, b.data + 1, b.len - 1);
	ok(!mp_map_find(c, "schema", &p, &n), "mp_map_find: not a map");
	buf_free(&b);
}

int main(void)
{
	dec = new_decoder(MAX, NULL, NULL);
	test_scan();
	test_message();
	test_forward();
	test_packed();
	test_bombs();
	test_wrong_types();
	test_tags();
	test_groups();
	test_metrics();
	test_traces();
	test_fixtures();
	test_auth();
	test_map_find();
	fwd_decoder_free(dec);
	return tap_done();
}
