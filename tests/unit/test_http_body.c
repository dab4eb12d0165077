/* test_http_body.c: unit tests for the HTTP input body decoders and RFC 3339 times. */
#include <errno.h>
#include <stdlib.h>

#include "in_http/body.h"
#include "mpk.h"
#include "tap.h"

static char text[8192];

/* Decode and return the chunk text ("" on error, with the reason in err). */
static int decode(const char *ctype, const char *body, size_t n, char *err)
{
	struct chunk_builder cb;
	int rc;

	chunk_builder_init(&cb, STREAM_LOGS, "t", "http", "http.0", 1 << 20);
	err[0] = 0;
	rc = http_body_decode(ctype, body, n, 7, "ts", &cb, err, 256);
	snprintf(text, sizeof(text), "%.*s", rc == 0 ? (int)cb.text.len : 0, cb.text.data ? cb.text.data : "");
	chunk_builder_free(&cb);
	return rc;
}

#define D(ct, s, err) decode(ct, s, strlen(s), err)

int main(void)
{
	char err[256];
	int64_t ns;

	ok(D("application/json", "{\"a\":1}", err) == 0, "one object");
	is_str(text, "[[7,{\"_tag\":\"t\"}],{\"a\":1}]\n", "rendered");
	ok(D("application/json; charset=utf-8", "[{\"a\":1},{\"b\":2}] {\"c\":3}", err) == 0 &&
	   strstr(text, "{\"b\":2}") && strstr(text, "{\"c\":3}"), "array plus concatenated value, with parameters");
	ok(D("application/json", "[{\"a\":1},2]", err) < 0 && strstr(err, "array element 1"), "bad element named: %s", err);
	ok(D("application/json", "{\"a\":", err) < 0 && strstr(err, "invalid JSON"), "invalid JSON: %s", err);
	ok(D("application/json", "", err) < 0 && strstr(err, "empty"), "empty body: %s", err);
	ok(D("application/json", "   \n", err) < 0 && strstr(err, "empty"), "blank body: %s", err);
	ok(D("application/json", "\"str\"", err) < 0 && strstr(err, "not an object"), "non-object: %s", err);
	ok(D("application/json", "[]", err) < 0, "empty array: %s", err);
	ok(D(NULL, "{}", err) == -EPROTO && strstr(err, "missing Content-Type"), "missing type: %s", err);
	ok(D("text/plain", "{}", err) == -EPROTO && strstr(err, "text/plain"), "unknown type: %s", err);
	ok(D("application/x-ndjson", "{\"a\":1}\n{\"a\":2}\n", err) == 0 && strstr(text, "{\"a\":2}"), "ndjson");
	ok(D("application/x-ndjson", "{\"a\":1}\n[1]\n", err) < 0 && strstr(err, "line 2"), "ndjson bad line: %s", err);
	ok(D("application/x-www-form-urlencoded", "a=1&b=hello+world&c=%41", err) == 0, "form");
	is_str(text, "[[7,{\"_tag\":\"t\"}],{\"a\":\"1\",\"b\":\"hello world\",\"c\":\"A\"}]\n", "form rendered as a string map");
	ok(D("application/x-www-form-urlencoded", "novalue", err) < 0, "form without '=': %s", err);
	ok(D("application/json", "{\"ts\":1700000000.5,\"m\":1}", err) == 0 &&
	   strncmp(text, "[[1700000000500000000,", 22) == 0, "time_key with seconds");
	ok(D("application/json", "{\"ts\":\"2023-11-14T22:13:20.25Z\"}", err) == 0 &&
	   strncmp(text, "[[1700000000250000000,", 22) == 0, "time_key with RFC 3339");
	ok(D("application/json", "{\"ts\":\"yesterday\"}", err) == 0 && strncmp(text, "[[7,", 4) == 0,
	   "unusable time_key keeps the receive time");
	{
		msgpack_packer pk;
		struct buf b;

		buf_init(&b, 4096);
		mpk_init(&pk, &b);
		msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "a"); msgpack_pack_int64(&pk, 1);
		msgpack_pack_array(&pk, 2); msgpack_pack_array(&pk, 2); mpk_event_time(&pk, 5000000001LL); msgpack_pack_map(&pk, 0);
		msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "b"); msgpack_pack_int64(&pk, 2);
		msgpack_pack_array(&pk, 2); msgpack_pack_uint64(&pk, 9); msgpack_pack_map(&pk, 1); mpk_cstr(&pk, "c"); msgpack_pack_int64(&pk, 3);
		ok(decode("application/msgpack", b.data, b.len, err) == 0, "msgpack map, event and [time, record]");
		is_str(text, "[[7,{\"_tag\":\"t\"}],{\"a\":1}]\n[[5000000001,{\"_tag\":\"t\"}],{\"b\":2}]\n"
			     "[[9000000000,{\"_tag\":\"t\"}],{\"c\":3}]\n", "msgpack rendered");
		ok(decode("application/msgpack", b.data, b.len - 1, err) < 0 && strstr(err, "truncated"),
		   "truncated msgpack: %s", err);
		buf_reset(&b);
		msgpack_pack_int64(&pk, 5);
		ok(decode("application/msgpack", b.data, b.len, err) < 0, "msgpack scalar refused: %s", err);
		buf_free(&b);
	}
	ok(http_parse_rfc3339("1970-01-01T00:00:00Z", 20, &ns) == 0 && ns == 0, "epoch");
	ok(http_parse_rfc3339("2024-02-29T12:00:00+02:00", 25, &ns) == 0 && ns == 1709200800LL * 1000000000,
	   "leap day with offset");
	ok(http_parse_rfc3339("2024-13-01T00:00:00Z", 20, &ns) < 0, "month 13 refused");
	return tap_done();
}
