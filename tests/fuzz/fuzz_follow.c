/* fuzz_follow.c: libFuzzer target for the vivo input's response parser: header lines, /api/v1/info, envelope chunk lines, and the chunks rebuilt from them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "in_vivo/parse.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SRC[] = "{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"b0\",\"pod\":\"p\"}";

/* What the store serves from a rebuilt chunk must be valid JSON, line by line. */
static void check_lines(const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;

		if (!follow_json_valid(p, len))
			abort();
		if (!nl)
			break;
		n -= len + 1;
		p += len + 1;
	}
}

static void take_chunk(struct stream *s, const char *line, size_t n, enum stream_kind kind, struct follow_chunk *c)
{
	struct chunk_builder cb;
	struct stream_view v;
	struct buf out;
	char err[256];
	const char *text;
	uint64_t id;
	size_t len;

	if (follow_parse_chunk(line, n, kind, c, err, sizeof(err)) < 0)
		return;
	if (follow_build_chunk(line, c, kind, SRC, strlen(SRC), 1 << 20, &cb, err, sizeof(err)) == 0 && cb.records > 0 &&
	    stream_append(s, &cb, &id) == 0 && stream_read(s, id, id, 0, &v) == 0) {
		if (v.count) {
			text = chunk_text(v.chunks[0], &len);
			check_lines(text, len);
			buf_init(&out, 1 << 24);
			if (chunk_write_v1(v.chunks[0], &out) == 0)
				check_lines(out.data, out.len);
			buf_reset(&out);
			if (chunk_write_envelope(v.chunks[0], &out) == 0)
				check_lines(out.data, out.len);
			buf_free(&out);
		}
		stream_view_release(&v);
	}
	chunk_builder_free(&cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *body;
	struct follow_headers h;
	struct follow_info info;
	struct follow_chunk c;
	enum stream_kind kind;
	struct stream *s;
	char err[256];

	if (size < 1)
		return 0;
	/* First byte: the stream ('0' logs, '1' metrics, '2' traces); then headers, a blank
	 * line, and the body, as curl -i prints an answer. */
	kind = (enum stream_kind)(data[0] % STREAM_COUNT);
	p++;
	follow_headers_reset(&h);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);

		follow_header_line(&h, p, len);
		p += len;
		if (len <= 2 && (len == 0 || p[-1] == '\n'))
			break; /* the blank line */
	}
	body = p;
	follow_parse_info(body, (size_t)(end - body), &info, err, sizeof(err));
	s = stream_new(kind, 1 << 22);
	follow_chunk_init(&c, 1 << 22);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		take_chunk(s, p, len, kind, &c);
		p += len + (nl ? 1 : 0);
	}
	follow_chunk_free(&c);
	stream_free(s);
	return 0;
}
