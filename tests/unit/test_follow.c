/* test_follow.c: unit tests for the vivo input's parser (headers, info, chunk objects), chunk rebuilding and the hosts-file resolver. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "in_vivo/discover.h"
#include "in_vivo/parse.h"
#include "mpk.h"
#include "store.h"
#include "tap.h"

static int hdr(struct follow_headers *h, const char *line)
{
	return follow_header_line(h, line, strlen(line));
}

static void test_headers(void)
{
	struct follow_headers h;

	follow_headers_reset(&h);
	ok(hdr(&h, "HTTP/1.1 200 OK\r\n") == 0 && h.status == 200, "status line");
	ok(hdr(&h, "Content-Type: application/json\r\n") == 0 && h.json, "content type");
	ok(hdr(&h, "vivo-stream-next-id: 17\r\n") == 0 && h.has_next && h.next == 17, "Next-ID, any case");
	ok(hdr(&h, "Vivo-Stream-Start-ID:  3 \r\n") == 0 && h.start == 3, "Start-ID with spaces");
	ok(hdr(&h, "Vivo-Boot-ID: 4aec541a4adb02c569419c6c002314a1\r\n") == 0 &&
	   strcmp(h.boot_id, "4aec541a4adb02c569419c6c002314a1") == 0, "boot ID");
	ok(hdr(&h, "X-Other: whatever\r\n") == 0 && hdr(&h, "\r\n") == 0, "unknown headers and the blank line");
	ok(hdr(&h, "Vivo-Stream-End-ID: 1x\r\n") == -EINVAL, "a malformed ID is refused");
	ok(hdr(&h, "Vivo-Stream-Next-ID: 18446744073709551616\r\n") == -EINVAL, "an ID over 64 bits is refused");
	ok(hdr(&h, "Vivo-Boot-ID: a b\r\n") == -EINVAL, "a boot ID with a space is refused");
	ok(hdr(&h, "Content-Encoding: gzip\r\n") == 0 && h.encoded, "an encoding is noticed");
	ok(hdr(&h, "HTTP/1.1 100 Continue\r\n") == 0 && h.status == 100 && !h.has_next && !h.json,
	   "a new status line starts over");
	ok(hdr(&h, "HTTP/1.1 2x0 OK") == -EINVAL, "a bad status line is refused");
	ok(hdr(&h, "Content-Type: application/jsonx") == 0 && !h.json, "only application/json counts");
}

static void test_info(void)
{
	struct follow_info i;
	char err[256];
	const char *good = "{\"program\":\"vivo-agent\",\"boot_id\":\"0123abcd\",\"ports\":{\"ui\":8000},"
			   "\"pod\":\"web-\\u0031\",\"namespace\":\"shop\",\"node\":null,\"sources\":[]}";

	ok(follow_parse_info(good, strlen(good), &i, err, sizeof(err)) == 0 && strcmp(i.boot_id, "0123abcd") == 0 &&
	   strcmp(i.pod, "web-1") == 0 && strcmp(i.ns, "shop") == 0 && i.node[0] == 0, "info: boot_id, pod (escaped), null node");
	ok(follow_parse_info("{\"version\":\"1\"}", 15, &i, err, sizeof(err)) < 0 && strstr(err, "boot_id"),
	   "info without boot_id: %s", err);
	ok(follow_parse_info("{\"boot_id\":\"ab\"", 15, &i, err, sizeof(err)) < 0, "truncated info: %s", err);
	ok(follow_parse_info("{\"boot_id\":5}", 13, &i, err, sizeof(err)) < 0, "boot_id that is not a string: %s", err);
	ok(follow_parse_info("{\"boot_id\":\"a\\u0000b\"}", 22, &i, err, sizeof(err)) < 0, "a NUL in a string is refused");
}

static void test_json(void)
{
	static const char *const good[] = { "{}", " [1, -2.5e3, true, false, null, \"\\u00e9\\n\"] ", "{\"a\":{\"b\":[]}}",
					    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "0", "-0.0e+1" };
	static const char *const bad[] = { "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\x01\"", "\"\xc0\xaf\"",
					   "\"\xed\xa0\x80\"", "\"\\x\"", "tru", "[1] 2", "{\"a\":1,}", "\"\xf4\x90\x80\x80\"" };
	char deep[2 * FOLLOW_MAX_DEPTH + 4];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(follow_json_valid(good[i], strlen(good[i])), "valid JSON %zu", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!follow_json_valid(bad[i], strlen(bad[i])), "invalid JSON %zu refused", i);
	memset(deep, '[', FOLLOW_MAX_DEPTH + 1);
	memset(deep + FOLLOW_MAX_DEPTH + 1, ']', FOLLOW_MAX_DEPTH + 1);
	ok(!follow_json_valid(deep, 2 * FOLLOW_MAX_DEPTH + 2), "nesting deeper than %d refused", FOLLOW_MAX_DEPTH);
	ok(follow_json_valid(deep + 2, 2 * FOLLOW_MAX_DEPTH - 2), "nesting of %d accepted", FOLLOW_MAX_DEPTH - 1);
}

static const char SRC[] = "{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"b0\",\"pod\":\"web-1\"}";

/* Parse one envelope line and build it as a followed chunk; returns the builder's status. */
static int rebuild(const char *line, enum stream_kind k, struct chunk_builder *cb, char *err)
{
	struct follow_chunk c;
	int rc;

	follow_chunk_init(&c, 1 << 20);
	rc = follow_parse_chunk(line, strlen(line), k, &c, err, 256);
	if (rc == 0)
		rc = follow_build_chunk(line, &c, k, SRC, strlen(SRC), 1 << 20, cb, err, 256);
	else
		memset(cb, 0, sizeof(*cb));
	follow_chunk_free(&c);
	return rc;
}

static int parse_str(const char *line, struct follow_chunk *c, char *err)
{
	return follow_parse_chunk(line, strlen(line), STREAM_METRICS, c, err, 256);
}

static void test_chunks(void)
{
	struct follow_chunk c;
	char err[256];
	const char *line = "{\"id\":7,\"local_seq\":5,\"source_type\":\"http\",\"source_name\":\"http.0\",\"tag\":\"app\","
			   "\"otlp\":{\"resource\":{}},\"records\":[[[1,{}],{\"a\":1}],[[2,{\"k\":\"v\"}],{\"b\":[1,2]}]]}";

	follow_chunk_init(&c, 1 << 20);
	ok(follow_parse_chunk(line, strlen(line), STREAM_LOGS, &c, err, sizeof(err)) == 0 && c.id == 7 && c.has_seq &&
	   c.local_seq == 5 && c.nrecords == 2 && !c.followed, "an envelope line: id, local_seq, 2 records (%s)", err);
	ok(strcmp(c.names.data + c.tag_off, "app") == 0 && strcmp(c.names.data + c.name_off, "http.0") == 0,
	   "names decoded");
	ok(c.extra.len == strlen("\"otlp\":{\"resource\":{}}") && memcmp(c.extra.data, "\"otlp\":{\"resource\":{}}", c.extra.len) == 0,
	   "an unknown member rides along byte for byte");
	ok(parse_str("{\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[]}", &c, err) < 0 && strstr(err, "\"id\""), "no id (an older agent): %s", err);
	ok(parse_str("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{} {}]}", &c, err) < 0,
	   "records not separated by a comma: %s", err);
	ok(parse_str("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{},]}", &c, err) < 0,
	   "a trailing comma in the records: %s", err);
	ok(parse_str("{\"id\":-1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[]}", &c, err) < 0 && strstr(err, "'id'"), "a negative id: %s", err);
	ok(parse_str("{\"id\":1,\"source\":{},\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{}]}",
		     &c, err) == 0 && c.followed, "a chunk with a source was followed upstream");
	ok(parse_str("{\"id\":1} x", &c, err) < 0, "trailing bytes: %s", err);
	follow_chunk_free(&c);
}

static void test_rebuild(void)
{
	struct chunk_builder cb;
	struct stream *s = stream_new(STREAM_LOGS, 1 << 20);
	struct stream_view v;
	struct buf out;
	char err[256];
	size_t n;
	const char *text;
	const char *line = "{\"id\":0,\"source_type\":\"http\",\"source_name\":\"http.0\",\"tag\":\"a\\\"pp\",\"records\":"
			   "[[[1,{}],{\"a\":1}],[[2,{\"k\":\"v\"}],{\"b\":[1,2]}],[[3,{\"_tag\":\"own\"}],{}]]}";

	ok(rebuild(line, STREAM_LOGS, &cb, err) == 0 && cb.records == 3, "three records rebuilt (%s)", err);
	stream_append(s, &cb, NULL);
	chunk_builder_free(&cb);
	stream_read(s, 0, 0, 0, &v);
	text = chunk_text(v.chunks[0], &n);
	is_str(text, "[[1,{\"_tag\":\"a\\\"pp\",\"_source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"b0\",\"pod\":\"web-1\"}}],{\"a\":1}]\n"
	       "[[2,{\"_tag\":\"a\\\"pp\",\"_source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"b0\",\"pod\":\"web-1\"},\"k\":\"v\"}],{\"b\":[1,2]}]\n"
	       "[[3,{\"_source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"b0\",\"pod\":\"web-1\"},\"_tag\":\"own\"}],{}]\n",
	       "legacy lines: _tag and _source first in the metadata; a record's own _tag is kept");
	ok(follow_json_valid(text, strcspn(text, "\n")), "the legacy line is valid JSON");
	buf_init(&out, 1 << 20);
	chunk_write_v1(v.chunks[0], &out);
	buf_putc(&out, 0);
	ok(strstr(out.data, "\"records\":[[[1,{}],{\"a\":1}],[[2,{\"k\":\"v\"}],{\"b\":[1,2]}],[[3,{\"_tag\":\"own\"}],{}]]}\n") != NULL,
	   "v1 gives back the upstream's records byte for byte: %s", out.data);
	ok(strstr(out.data, ",\"source\":{\"instance\":\"127.0.0.1:2025\"") != NULL, "and the source as a member");
	buf_free(&out);
	stream_view_release(&v);
	stream_free(s);

	ok(rebuild("{\"id\":0,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[[1,{}]]}", STREAM_LOGS, &cb, err)
	   == -EINVAL && strstr(err, "record 0"), "a record that is not [[t,{m}],{b}]: %s", err);
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":0,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{\"m\":1},{}]}", STREAM_METRICS,
		   &cb, err) == 0 && cb.records == 2 && cb.text.len == strlen("{\"m\":1}\n{}\n") &&
	   memcmp(cb.text.data, "{\"m\":1}\n{}\n", cb.text.len) == 0, "metrics contexts become lines as they are");
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":0,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[[1]]}", STREAM_TRACES, &cb, err)
	   == -EINVAL, "a traces record that is not an object: %s", err);
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[[[1,{}],{\"m\":\"\xff\"}]]}",
		   STREAM_LOGS, &cb, err) == -EINVAL, "invalid UTF-8 in a log record is refused: %s", err);
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{\"m\":\"\xc0\xaf\"}]}",
		   STREAM_METRICS, &cb, err) == -EINVAL, "invalid UTF-8 in a metrics context is refused: %s", err);
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[{\"m\":01}]}",
		   STREAM_TRACES, &cb, err) == -EINVAL, "a bad number in a traces context is refused: %s", err);
	chunk_builder_free(&cb);
	ok(rebuild("{\"id\":1,\"source_type\":\"a\",\"source_name\":\"b\",\"tag\":\"c\",\"records\":[[[1,{\"q\":\"a\\\\\"}],{\"s\":\"]\\\"}\"}]]}",
		   STREAM_LOGS, &cb, err) == 0 && cb.records == 1, "brackets and escaped quotes inside strings delimit right (%s)", err);
	chunk_builder_free(&cb);
}

/* A local chunk rendered by the store as envelope=1, parsed and rebuilt: v1 round trip. */
static void test_round_trip(void)
{
	struct stream *up = stream_new(STREAM_LOGS, 1 << 20), *down = stream_new(STREAM_LOGS, 1 << 20);
	struct chunk_builder cb;
	struct stream_view a, b;
	struct buf mp, env, va, vb;
	struct mp_cur body;
	char err[256];
	const char *ra, *rb;

	buf_init(&mp, 4096);
	msgpack_pack_map(MPK(&mp), 2);
	mpk_cstr(MPK(&mp), "msg");
	mpk_cstr(MPK(&mp), "h\xc3\xa9llo \"quoted\" \x01");
	mpk_cstr(MPK(&mp), "n");
	msgpack_pack_int64(MPK(&mp), -12345678901234LL);
	chunk_builder_init(&cb, STREAM_LOGS, "web.access", "forward", "forward.0", 1 << 20);
	mp_cur_init(&body, mp.data, mp.len);
	chunk_add_log(&cb, 1700000000123456789LL, NULL, &body);
	stream_append(up, &cb, NULL);
	chunk_builder_free(&cb);
	stream_read(up, 0, 0, 0, &a);
	buf_init(&env, 1 << 20);
	chunk_write_envelope(a.chunks[0], &env);
	env.data[env.len - 1] = '\0'; /* the newline */
	ok(rebuild(env.data, STREAM_LOGS, &cb, err) == 0, "the store's envelope parses (%s)", err);
	stream_append(down, &cb, NULL);
	chunk_builder_free(&cb);
	stream_read(down, 0, 0, 0, &b);
	buf_init(&va, 1 << 20);
	buf_init(&vb, 1 << 20);
	chunk_write_v1(a.chunks[0], &va);
	chunk_write_v1(b.chunks[0], &vb);
	buf_putc(&va, 0);
	buf_putc(&vb, 0);
	ra = strstr(va.data, "\"records\":");
	rb = strstr(vb.data, "\"records\":");
	ok(ra && rb && strcmp(ra, rb) == 0, "records identical upstream and downstream: %s", vb.data);
	ok(strncmp(va.data, vb.data, (size_t)(strstr(va.data, ",\"records\"") - va.data)) == 0,
	   "names identical, the follower adds only the source");
	buf_free(&mp);
	buf_free(&env);
	buf_free(&va);
	buf_free(&vb);
	stream_view_release(&a);
	stream_view_release(&b);
	stream_free(up);
	stream_free(down);
}

static void test_hosts_file(void)
{
	char path[] = "/tmp/vivo-test-hosts-XXXXXX", err[256], **list = NULL;
	int fd = mkstemp(path);
	size_t n = 0;
	FILE *f;

	ok(fd >= 0, "a temporary hosts file");
	f = fdopen(fd, "w");
	fputs("# test hosts\n127.0.0.1 other.test\n127.0.0.1  fleet.test  alias.test\n::1\tfleet.test\n"
	      "127.0.0.1 fleet.test # a repeat\nnot-an-address fleet.test\n", f);
	fclose(f);
	ok(discover_resolve("fleet.test", 2025, path, &list, &n, err, sizeof(err)) == 0 && n == 2 &&
	   strcmp(list[0], "127.0.0.1:2025") == 0 && strcmp(list[1], "[::1]:2025") == 0,
	   "A and AAAA lines, sorted, de-duplicated, bad addresses skipped (%zu)", n);
	discover_list_free(list, n);
	ok(discover_resolve("ALIAS.test", 9, path, &list, &n, err, sizeof(err)) == 0 && n == 1 &&
	   strcmp(list[0], "127.0.0.1:9") == 0, "aliases match, case-insensitively");
	discover_list_free(list, n);
	ok(discover_resolve("missing.test", 9, path, &list, &n, err, sizeof(err)) == 0 && n == 0,
	   "an unknown name has no address (not an error)");
	discover_list_free(list, n);
	unlink(path);
	ok(discover_resolve("fleet.test", 9, path, &list, &n, err, sizeof(err)) == -EAGAIN && strstr(err, path),
	   "a missing hosts file is a resolver failure: %s", err);
	ok(discover_resolve("127.0.0.1", 2025, NULL, &list, &n, err, sizeof(err)) == 0 && n == 1 &&
	   strcmp(list[0], "127.0.0.1:2025") == 0, "getaddrinfo with a numeric name");
	discover_list_free(list, n);
}

int main(void)
{
	test_headers();
	test_info();
	test_json();
	test_chunks();
	test_rebuild();
	test_round_trip();
	test_hosts_file();
	return tap_done();
}
