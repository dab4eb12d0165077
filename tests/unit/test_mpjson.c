/* test_mpjson.c: unit tests for the msgpack to JSON rules of spec agent.md 3.1, the packer helpers (mpk) and the bounded way into msgpack-c's unpacker (mpu_unpack). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "jsonmp.h"
#include "mp.h"
#include "mpu.h"
#include "mpjson.h"
#include "mpk.h"
#include "tap.h"

/* Render msgpack bytes to a NUL-terminated JSON string (static buffer). */
static const char *render(const struct buf *mp)
{
	static char out[4096];
	struct buf b;
	struct mp_cur c;
	int rc;

	buf_init(&b, sizeof(out) - 1);
	mp_cur_init(&c, mp->data, mp->len);
	rc = mpjson_write(&b, &c);
	if (rc < 0)
		snprintf(out, sizeof(out), "<error %d>", rc);
	else
		snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data);
	buf_free(&b);
	return out;
}

/* JSON text -> msgpack (our parser) -> JSON text. */
static const char *roundtrip(const char *json)
{
	static char out[4096];
	struct buf mp;
	size_t off = 0;
	char err[128];

	buf_init(&mp, 1 << 20);
	if (jsonmp_next(json, strlen(json), &off, &mp, err, sizeof(err)) != 0) {
		snprintf(out, sizeof(out), "<parse error: %s>", err);
	} else {
		snprintf(out, sizeof(out), "%s", render(&mp));
	}
	buf_free(&mp);
	return out;
}

static void test_numbers(void)
{
	msgpack_packer pk;
	struct buf b;

	buf_init(&b, 1024);
	mpk_init(&pk, &b);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	is_str(render(&b), "18446744073709551615", "uint64 max prints exactly");
	buf_reset(&b);
	msgpack_pack_int64(&pk, INT64_MIN);
	is_str(render(&b), "-9223372036854775808", "int64 min prints exactly");
	buf_reset(&b);
	msgpack_pack_double(&pk, 3.0);
	is_str(render(&b), "3.0", "integral float prints with .0");
	buf_reset(&b);
	msgpack_pack_double(&pk, 0.1);
	is_str(render(&b), "0.1", "0.1 prints shortest");
	buf_reset(&b);
	msgpack_pack_double(&pk, 1.0 / 3.0);
	is_str(render(&b), "0.3333333333333333", "1/3 prints its shortest round-trip form");
	buf_reset(&b);
	msgpack_pack_double(&pk, NAN);
	is_str(render(&b), "null", "NaN is null");
	buf_reset(&b);
	msgpack_pack_double(&pk, -INFINITY);
	is_str(render(&b), "null", "-Inf is null");
	buf_reset(&b);
	msgpack_pack_double(&pk, 1e300);
	is_str(render(&b), "1e+300", "huge integral float is still valid JSON");
	buf_free(&b);
	is_str(roundtrip("12345678901234567890"), "12345678901234567890", "JSON uint64 beyond int64 stays exact");
	is_str(roundtrip("-12"), "-12", "negative integer");
	is_str(roundtrip("1e400"), "null", "JSON number overflowing double becomes null (Inf)");
	is_str(roundtrip("1.50"), "1.5", "float normalised");
}

static void test_strings(void)
{
	msgpack_packer pk;
	struct buf b;

	buf_init(&b, 1024);
	mpk_init(&pk, &b);
	msgpack_pack_str_with_body(&pk, "a\"b\\c\n\r\t\b\f\x01", 11);
	is_str(render(&b), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\"", "escapes");
	buf_reset(&b);
	msgpack_pack_str_with_body(&pk, "ok\xff\xfe!", 5);
	is_str(render(&b), "\"ok\xef\xbf\xbd\xef\xbf\xbd!\"", "invalid UTF-8 bytes become U+FFFD");
	buf_reset(&b);
	msgpack_pack_str_with_body(&pk, "\xed\xa0\x80", 3);
	is_str(render(&b), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "encoded surrogates are invalid");
	buf_reset(&b);
	msgpack_pack_str_with_body(&pk, "h\xc3\xa9llo \xf0\x9f\x98\x80", 11);
	is_str(render(&b), "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"", "valid UTF-8 passes through");
	buf_reset(&b);
	msgpack_pack_bin_with_body(&pk, "text", 4);
	is_str(render(&b), "\"text\"", "bin that is UTF-8 is a string");
	buf_reset(&b);
	msgpack_pack_bin_with_body(&pk, "\x00\xff\x10", 3);
	is_str(render(&b), "\"00ff10\"", "other bin is lowercase hex");
	buf_reset(&b);
	msgpack_pack_map(&pk, 1);
	mpk_cstr(&pk, "trace_id");
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	is_str(render(&b), "{\"trace_id\":\"61626364\"}", "trace_id bin is always hex");
	buf_free(&b);
	is_str(roundtrip("\"\\ud83d\\ude00 \\u00e9\""), "\"\xf0\x9f\x98\x80 \xc3\xa9\"", "JSON \\u escapes and surrogate pairs");
	is_str(roundtrip("\"\\ud800x\""), "\"\xef\xbf\xbdx\"", "lone surrogate escape becomes U+FFFD");
}

static void test_maps(void)
{
	msgpack_packer pk;
	struct buf b;
	int i;

	mpk_init(&pk, &b);
	is_str(roundtrip("{\"a\":1,\"b\":2,\"a\":3}"), "{\"b\":2,\"a\":3}", "duplicate key: last value at last position");
	buf_init(&b, 4096);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_int64(&pk, 1);
	mpk_cstr(&pk, "one");
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	mpk_cstr(&pk, "1");
	mpk_cstr(&pk, "uno");
	is_str(render(&b), "{\"null\":true,\"1\":\"uno\"}", "non-string keys become strings (and can collide)");
	buf_reset(&b);
	/* A big map takes the hashed duplicate path. */
	msgpack_pack_map(&pk, 40);
	for (i = 0; i < 40; i++) {
		char k[8];

		snprintf(k, sizeof(k), "k%d", i % 20);
		mpk_cstr(&pk, k);
		msgpack_pack_int64(&pk, i);
	}
	{
		const char *out = render(&b);

		ok(strncmp(out, "{\"k0\":20,\"k1\":21,", 17) == 0 && strstr(out, "\"k19\":39}") != NULL,
		   "duplicates in a 40-pair map keep the last values");
	}
	buf_reset(&b);
	{
		unsigned char ext[] = { 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x2a };

		buf_append(&b, ext, sizeof(ext));
		is_str(render(&b), "1700000000000000042", "EventTime ext is integer nanoseconds");
	}
	buf_reset(&b);
	{
		unsigned char ext[] = { 0xd4, 0x05, 0xab };

		buf_append(&b, ext, sizeof(ext));
		is_str(render(&b), "\"\\\\xab\"", "other ext is a string of \\xNN escapes");
	}
	buf_free(&b);
}

static void test_records(void)
{
	msgpack_packer pm;
	struct buf mp, out;
	struct mp_cur meta, body;
	size_t off, len;
	char text[512];

	buf_init(&mp, 4096);
	buf_init(&out, 4096);
	mpk_init(&pm, &mp);
	msgpack_pack_map(&pm, 1);
	mpk_cstr(&pm, "hello");
	mpk_cstr(&pm, "Calyptia!");
	mp_cur_init(&body, mp.data, mp.len);
	ok(mpjson_write_record(&out, 1682605659450986675LL, "http.1", NULL, &body, &off, &len) == 0, "record renders");
	snprintf(text, sizeof(text), "%.*s", (int)out.len, out.data);
	is_str(text, "[[1682605659450986675,{\"_tag\":\"http.1\"}],{\"hello\":\"Calyptia!\"}]\n", "legacy line of spec 3.2");
	snprintf(text, sizeof(text), "%.*s", (int)len, out.data + off);
	is_str(text, "\"_tag\":\"http.1\"", "reported tag span");

	buf_reset(&mp);
	buf_reset(&out);
	msgpack_pack_map(&pm, 2);
	mpk_cstr(&pm, "x");
	msgpack_pack_int64(&pm, 1);
	mpk_cstr(&pm, "_tag");
	mpk_cstr(&pm, "own");
	{
		size_t body_at = mp.len;

		msgpack_pack_map(&pm, 0);
		mp_cur_init(&meta, mp.data, body_at);
		mp_cur_init(&body, mp.data + body_at, mp.len - body_at);
	}
	ok(mpjson_write_record(&out, 5, "t", &meta, &body, &off, &len) == 0, "record with metadata renders");
	snprintf(text, sizeof(text), "%.*s", (int)out.len, out.data);
	is_str(text, "[[5,{\"x\":1,\"_tag\":\"own\"}],{}]\n", "metadata's own _tag wins");
	ok(len == 0, "no injected span when metadata has _tag");
	buf_free(&mp);
	buf_free(&out);
}

static void test_times(void)
{
	struct mp_obj o;
	struct mp_cur c;
	int64_t ns = 0;
	static const unsigned char after2038[] = { 0xd7, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07 };
	static const unsigned char marker[] = { 0xd7, 0x00, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00 };
	static const unsigned char flt[] = { 0xcb, 0x41, 0xd9, 0x54, 0xfc, 0x40, 0x10, 0x00, 0x00 }; /* 1700000000.25 */

	mp_cur_init(&c, after2038, sizeof(after2038));
	ok(mp_read(&c, &o) == 0 && mp_time_ns(&o, &ns) == 0 && ns == 2147483648LL * 1000000000 + 7,
	   "EventTime after 2038 stays positive");
	mp_cur_init(&c, marker, sizeof(marker));
	ok(mp_read(&c, &o) == 0 && mp_time_ns(&o, &ns) == 0 && ns == -2000000000LL, "group end marker is -2 s");
	mp_cur_init(&c, flt, sizeof(flt));
	ok(mp_read(&c, &o) == 0 && mp_time_ns(&o, &ns) == 0 && ns == 1700000000250000000LL,
	   "float seconds keep their fraction exactly (%lld)", (long long)ns);
}

static void test_limits(void)
{
	msgpack_packer pk;
	struct buf b, out;
	struct mp_cur c;
	int i;

	buf_init(&b, 1 << 20);
	mpk_init(&pk, &b);
	for (i = 0; i < 100; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	buf_init(&out, 1 << 20);
	mp_cur_init(&c, b.data, b.len);
	/* 64 levels rendered, the rest kept as a string of its msgpack bytes (100 - 65 arrays and the nil). */
	ok(mpjson_write(&out, &c) == 0 && out.len > 8 && memmem(out.data, out.len, "[\"msgpack:9191", 13) &&
	   memmem(out.data, out.len, "91c0\"]", 6), "nesting beyond the limit is kept as a msgpack:hex string");
	buf_reset(&b);
	buf_append(&b, "\xdd\xff\xff\xff\xff", 5);
	buf_reset(&out);
	mp_cur_init(&c, b.data, b.len);
	ok(mpjson_write(&out, &c) == MP_ETRUNC, "array32 of 4G elements with no data is truncated, not allocated");
	buf_reset(&b);
	buf_append(&b, "\xdf\x7f\xff\xff\xff", 5);
	buf_reset(&out);
	mp_cur_init(&c, b.data, b.len);
	ok(mpjson_write(&out, &c) == MP_ETRUNC, "huge map header is refused before allocating");
	buf_free(&b);
	buf_free(&out);
	{
		char deep[201] = { 0 };

		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		ok(strncmp(roundtrip(deep), "<parse error: nesting too deep", 30) == 0, "JSON nesting limit");
	}
}

static bool bytes_are(const struct buf *b, const char *want, size_t n)
{
	return b->len == n && memcmp(b->data, want, n) == 0;
}

/* What msgpack-c's packer writes through mpk, byte for byte. */
static void test_packer(void)
{
	msgpack_packer pk;
	struct buf b, small;
	size_t at;

	buf_init(&b, 1 << 20);
	mpk_init(&pk, &b);
	ok(mpk_event_time(&pk, 1700000000123456789LL) == 0 &&
	   bytes_are(&b, "\xd7\x00\x65\x53\xf1\x00\x07\x5b\xcd\x15", 10), "EventTime: fixext8 type 0, be32 s, be32 ns");
	buf_reset(&b);
	mpk_event_time(&pk, -1500000000LL);
	ok(bytes_are(&b, "\xd7\x00\xff\xff\xff\xfe\x1d\xcd\x65\x00", 10), "EventTime before 1970 takes the floor second");
	buf_reset(&b);
	ok(mpk_map32(&pk, &at) == 0 && at == 0 && bytes_are(&b, "\xdf\x00\x00\x00\x00", 5),
	   "map32 header: the 32-bit form, count 0 until patched");
	mpk_cstr(&pk, "k");
	mpk_bool(&pk, true);
	mpk_patch32(&pk, at, 1);
	ok(bytes_are(&b, "\xdf\x00\x00\x00\x01\xa1k\xc3", 8), "patched map32 {\"k\": true}");
	is_str(render(&b), "{\"k\":true}", "a patched map renders");
	buf_reset(&b);
	mpk_array32(&pk, &at);
	mpk_str32(&pk, &at);
	ok(bytes_are(&b, "\xdd\x00\x00\x00\x00\xdb\x00\x00\x00\x00", 10), "array32 and str32 headers");
	buf_reset(&b);
	msgpack_pack_int64(&pk, -33);
	msgpack_pack_uint64(&pk, 200);
	msgpack_pack_str_with_body(&pk, "0123456789012345678901234567890123", 34);
	ok(b.len == 2 + 2 + 36 && (unsigned char)b.data[0] == 0xd0 && (unsigned char)b.data[2] == 0xcc &&
	   (unsigned char)b.data[4] == 0xd9, "minimal encodings: int8, uint8, str8");
	buf_init(&small, 4);
	ok(msgpack_pack_str_with_body(MPK(&small), "hello", 5) == -ENOSPC, "the buffer's limit comes back as -ENOSPC");
	buf_free(&small);
	buf_free(&b);
}

/* mpu_unpack: msgpack-c's tree, behind the walk that bounds it. */
static void test_unpack(void)
{
	msgpack_unpacked u;
	struct mp_cur c;
	struct buf b;
	char deep[40];
	size_t i;

	buf_init(&b, 1 << 20);
	msgpack_unpacked_init(&u);
	buf_append(&b, "\x82\xa1" "a\x01\xa1" "b\x92\xc0\xc4\x02hi", 12);
	mp_cur_init(&c, b.data, b.len);
	ok(mpu_unpack(&c, 16, &u) == 0 && mp_cur_left(&c) == 0 && u.data.type == MSGPACK_OBJECT_MAP &&
	   u.data.via.map.size == 2 && u.data.via.map.ptr[1].val.via.array.ptr[1].via.bin.ptr == b.data + 10,
	   "a map unpacked; bin data points into the input");
	mp_cur_init(&c, b.data, b.len);
	ok(mpu_unpack(&c, 6, &u) == MPU_ELIMIT && c.p == b.data, "7 objects are over a limit of 6, cursor kept");
	mp_cur_init(&c, b.data, b.len - 1);
	ok(mpu_unpack(&c, 16, &u) == MP_ETRUNC, "truncated");
	mp_cur_init(&c, "\x92\xc1\x01", 3);
	ok(mpu_unpack(&c, 16, &u) == MP_EBAD, "0xc1 is bad");
	/* 6 bytes that would make msgpack-c ask for 8 GB: refused from the header. */
	mp_cur_init(&c, "\x91\xdd\x10\x00\x00\x00", 6);
	ok(mpu_unpack(&c, SIZE_MAX, &u) == MP_ETRUNC, "array32 of 2^28 with no elements never reaches msgpack-c");
	mp_cur_init(&c, "\xdd\x10\x00\x00\x00", 5);
	ok(mpu_unpack(&c, 1000, &u) == MPU_ELIMIT, "a declared count over the limit is refused at once");
	for (i = 0; i < sizeof(deep); i++)
		deep[i] = (char)0x91;
	deep[MPU_DEPTH] = (char)0xc0;
	mp_cur_init(&c, deep, MPU_DEPTH + 1);
	ok(mpu_unpack(&c, SIZE_MAX, &u) == 0, "%d nested arrays: as deep as msgpack-c goes", MPU_DEPTH);
	deep[MPU_DEPTH] = (char)0x90;
	mp_cur_init(&c, deep, MPU_DEPTH + 1);
	ok(mpu_unpack(&c, SIZE_MAX, &u) == MPU_ELIMIT, "one more (even an empty array) is refused before msgpack-c");
	msgpack_unpacked_destroy(&u);
	buf_free(&b);
}

int main(void)
{
	test_numbers();
	test_strings();
	test_maps();
	test_records();
	test_times();
	test_limits();
	test_packer();
	test_unpack();
	return tap_done();
}
