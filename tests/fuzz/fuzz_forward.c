/* fuzz_forward.c: libFuzzer target for the Forward frame scanner and decoder (all modes, gzip/zstd, metrics/traces) and the PING check. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "in_forward/auth.h"
#include "in_forward/decode.h"
#include "mp.h"

#define MAX_BYTES (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every line the decoder stores must be valid JSON (spec 3.1), whatever the input. */
static void check_json(const struct buf *text)
{
	const char *p = text->data, *end = text->data + text->len;

	static char *copy;
	static size_t cap;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n, i;
		json_error_t e;
		json_t *j;

		if (!nl)
			abort(); /* every line ends with a newline */
		/* jansson refuses NUL in object keys (valid JSON): make those \u0001. */
		n = (size_t)(nl - p);
		if (n > cap && !(copy = realloc(copy, cap = n)))
			abort();
		memcpy(copy, p, n);
		for (i = 0; i + 6 <= n; i++)
			if (memcmp(copy + i, "\\u0000", 6) == 0)
				copy[i + 5] = '1';
		j = json_loadb(copy, n, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
		if (!j) {
			fprintf(stderr, "invalid JSON line (%s at %d): %.*s\n", e.text, e.position, (int)(nl - p), p);
			abort();
		}
		json_decref(j);
		p = nl + 1;
	}
}

/* The first byte steers: its low 7 bits are the size of the pieces the rest arrives in
 * (0 = all at once); its high bit also runs each frame through the PING check. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fwd_decoder *dec;
	static struct fwd_auth auth;
	static struct buf out;
	struct fwd_auth_session sess;
	struct fwd_scan s;
	struct fwd_frame f;
	const char *p;
	size_t n, step, avail, len;
	char err[256], client[64];
	bool ping;
	int rc;

	if (!dec) {
		struct fwd_decoder_opts o = {
			.max_bytes = MAX_BYTES, .chunk_max = 8 * MAX_BYTES + 65536, .source_type = "forward",
			.source_name = "forward.0", .tag = NULL, .tag_prefix = NULL,
		};
		char *users[] = { "alice pw" };

		if (fwd_decoder_new(&o, &dec) < 0 || fwd_auth_init(&auth, "key", "srv", users, 1, err, sizeof(err)) < 0)
			abort();
		buf_init(&out, 4096);
	}
	if (size == 0)
		return 0;
	step = data[0] & 0x7f;
	ping = data[0] & 0x80;
	p = (const char *)data + 1;
	n = size - 1;
	memset(&sess, 0, sizeof(sess));
	memset(&s, 0, sizeof(s));
	avail = 0;
	while (n > 0) {
		avail = step == 0 || avail + step > n ? n : avail + step;
		rc = fwd_scan(&s, p, avail, MAX_BYTES, &len);
		if (rc == 0) {
			if (avail == n)
				break;
			continue;
		}
		if (rc < 0)
			break;
		{
			/* The resumable scan agrees with a plain walk over the same bytes. */
			struct mp_cur c;

			mp_cur_init(&c, p, n);
			if (mp_skip(&c) != 0 || (size_t)(c.p - p) != len)
				abort();
		}
		if (fwd_decode_frame(dec, p, len, &f, err, sizeof(err)) == 0) {
			check_json(&f.cb->text);
			if (f.ack && f.ack_len > 1024)
				abort();
		} else if (f.cb->records != 0 || f.cb->text.len != 0) {
			abort(); /* a refused frame leaves nothing behind */
		}
		if (ping) {
			buf_reset(&out);
			fwd_auth_ping(&auth, &sess, p, len, &out, client, sizeof(client), err, sizeof(err));
		}
		p += len;
		n -= len;
		avail = 0;
		memset(&s, 0, sizeof(s));
	}
	return 0;
}
