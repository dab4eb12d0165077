/* test_mpjson.c: unit tests for the msgpack to JSON rules of spec agent.md 3.1. */
#include <math.h>
#include <stdlib.h>

#include "jsonmp.h"
#include "mpjson.h"
#include "mpw.h"
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
	struct buf b;

	buf_init(&b, 1024);
	mpw_uint(&b, UINT64_MAX);
	is_str(render(&b), "18446744073709551615", "uint64 max prints exactly");
	buf_reset(&b);
	mpw_int(&b, INT64_MIN);
	is_str(render(&b), "-9223372036854775808", "int64 min prints exactly");
	buf_reset(&b);
	mpw_double(&b, 3.0);
	is_str(render(&b), "3.0", "integral float prints with .0");
	buf_reset(&b);
	mpw_double(&b, 0.1);
	is_str(render(&b), "0.1", "0.1 prints shortest");
	buf_reset(&b);
	mpw_double(&b, 1.0 / 3.0);
	is_str(render(&b), "0.3333333333333333", "1/3 prints its shortest round-trip form");
	buf_reset(&b);
	mpw_double(&b, NAN);
	is_str(render(&b), "null", "NaN is null");
	buf_reset(&b);
	mpw_double(&b, -INFINITY);
	is_str(render(&b), "null", "-Inf is null");
	buf_reset(&b);
	mpw_double(&b, 1e300);
	is_str(render(&b), "1e+300", "huge integral float is still valid JSON");
	buf_free(&b);
	is_str(roundtrip("12345678901234567890"), "12345678901234567890", "JSON uint64 beyond int64 stays exact");
	is_str(roundtrip("-12"), "-12", "negative integer");
	is_str(roundtrip("1e400"), "null", "JSON number overflowing double becomes null (Inf)");
	is_str(roundtrip("1.50"), "1.5", "float normalised");
}

static void test_strings(void)
{
	struct buf b;

	buf_init(&b, 1024);
	mpw_str(&b, "a\"b\\c\n\r\t\b\f\x01", 11);
	is_str(render(&b), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\"", "escapes");
	buf_reset(&b);
	mpw_str(&b, "ok\xff\xfe!", 5);
	is_str(render(&b), "\"ok\xef\xbf\xbd\xef\xbf\xbd!\"", "invalid UTF-8 bytes become U+FFFD");
	buf_reset(&b);
	mpw_str(&b, "\xed\xa0\x80", 3);
	is_str(render(&b), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "encoded surrogates are invalid");
	buf_reset(&b);
	mpw_str(&b, "h\xc3\xa9llo \xf0\x9f\x98\x80", 11);
	is_str(render(&b), "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"", "valid UTF-8 passes through");
	buf_reset(&b);
	mpw_bin(&b, "text", 4);
	is_str(render(&b), "\"text\"", "bin that is UTF-8 is a string");
	buf_reset(&b);
	mpw_bin(&b, "\x00\xff\x10", 3);
	is_str(render(&b), "\"00ff10\"", "other bin is lowercase hex");
	buf_reset(&b);
	mpw_map(&b, 1);
	mpw_cstr(&b, "trace_id");
	mpw_bin(&b, "abcd", 4);
	is_str(render(&b), "{\"trace_id\":\"61626364\"}", "trace_id bin is always hex");
	buf_free(&b);
	is_str(roundtrip("\"\\ud83d\\ude00 \\u00e9\""), "\"\xf0\x9f\x98\x80 \xc3\xa9\"", "JSON \\u escapes and surrogate pairs");
	is_str(roundtrip("\"\\ud800x\""), "\"\xef\xbf\xbdx\"", "lone surrogate escape becomes U+FFFD");
}

static void test_maps(void)
{
	struct buf b;
	int i;

	is_str(roundtrip("{\"a\":1,\"b\":2,\"a\":3}"), "{\"b\":2,\"a\":3}", "duplicate key: last value at last position");
	buf_init(&b, 4096);
	mpw_map(&b, 3);
	mpw_int(&b, 1);
	mpw_cstr(&b, "one");
	mpw_nil(&b);
	mpw_bool(&b, true);
	mpw_cstr(&b, "1");
	mpw_cstr(&b, "uno");
	is_str(render(&b), "{\"null\":true,\"1\":\"uno\"}", "non-string keys become strings (and can collide)");
	buf_reset(&b);
	/* A big map takes the hashed duplicate path. */
	mpw_map(&b, 40);
	for (i = 0; i < 40; i++) {
		char k[8];

		snprintf(k, sizeof(k), "k%d", i % 20);
		mpw_cstr(&b, k);
		mpw_int(&b, i);
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
	struct buf mp, out;
	struct mp_cur meta, body;
	size_t off, len;
	char text[512];

	buf_init(&mp, 4096);
	buf_init(&out, 4096);
	mpw_map(&mp, 1);
	mpw_cstr(&mp, "hello");
	mpw_cstr(&mp, "Calyptia!");
	mp_cur_init(&body, mp.data, mp.len);
	ok(mpjson_write_record(&out, 1682605659450986675LL, "http.1", NULL, &body, &off, &len) == 0, "record renders");
	snprintf(text, sizeof(text), "%.*s", (int)out.len, out.data);
	is_str(text, "[[1682605659450986675,{\"_tag\":\"http.1\"}],{\"hello\":\"Calyptia!\"}]\n", "legacy line of spec 3.2");
	snprintf(text, sizeof(text), "%.*s", (int)len, out.data + off);
	is_str(text, "\"_tag\":\"http.1\"", "reported tag span");

	buf_reset(&mp);
	buf_reset(&out);
	mpw_map(&mp, 2);
	mpw_cstr(&mp, "x");
	mpw_int(&mp, 1);
	mpw_cstr(&mp, "_tag");
	mpw_cstr(&mp, "own");
	{
		size_t body_at = mp.len;

		mpw_map(&mp, 0);
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
	struct buf b, out;
	struct mp_cur c;
	int i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < 100; i++)
		mpw_array(&b, 1);
	mpw_nil(&b);
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

int main(void)
{
	test_numbers();
	test_strings();
	test_maps();
	test_records();
	test_times();
	test_limits();
	return tap_done();
}
