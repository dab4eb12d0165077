/* test_kube_watchstream.c: unit tests for splitting watch bodies into events (any chunking) and decoding them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstream.h"
#include "tap.h"

struct collect {
	char out[8192];
	size_t n;
	int count;
};

static int collect_cb(void *ctx, const char *json, size_t len)
{
	struct collect *c = ctx;

	if (c->n + len + 1 < sizeof(c->out)) {
		memcpy(c->out + c->n, json, len);
		c->n += len;
		c->out[c->n++] = '|';
		c->out[c->n] = '\0';
	}
	c->count++;
	return 0;
}

static const char *stream =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"},\"data\":{\"x\":\"}{\\\"\"}}}\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\n"
	"  \r\n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"8\"},\"l\":[{},[]]}}"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}\n";

static void test_split_every_chunking(void)
{
	struct collect whole;
	size_t len = strlen(stream), cut, cut2;
	bool all = true;

	memset(&whole, 0, sizeof(whole));
	{
		struct wstream ws;

		wstream_init(&ws, 1 << 20);
		ok(wstream_feed(&ws, stream, len, collect_cb, &whole) == 0 && whole.count == 4, "four events in one chunk");
		ok(wstream_idle(&ws), "nothing left over");
		wstream_free(&ws);
	}
	ok(strstr(whole.out, "\"x\":\"}{\\\"\"") != NULL, "braces and escaped quotes inside strings do not split");
	/* Every split into two and three chunks gives the same events. */
	for (cut = 0; cut <= len && all; cut++) {
		for (cut2 = cut; cut2 <= len && all; cut2 += 7) {
			struct collect c;
			struct wstream ws;

			memset(&c, 0, sizeof(c));
			wstream_init(&ws, 1 << 20);
			if (wstream_feed(&ws, stream, cut, collect_cb, &c) || wstream_feed(&ws, stream + cut, cut2 - cut, collect_cb, &c) ||
			    wstream_feed(&ws, stream + cut2, len - cut2, collect_cb, &c) || strcmp(c.out, whole.out) != 0)
				all = false;
			wstream_free(&ws);
		}
	}
	ok(all, "every 2- and 3-chunk split of the stream yields the same events");
	{
		struct collect c;
		struct wstream ws;
		size_t i;
		int rc = 0;

		memset(&c, 0, sizeof(c));
		wstream_init(&ws, 1 << 20);
		for (i = 0; i < len && rc == 0; i++)
			rc = wstream_feed(&ws, stream + i, 1, collect_cb, &c);
		ok(rc == 0 && strcmp(c.out, whole.out) == 0, "one byte at a time");
		wstream_free(&ws);
	}
}

static void test_split_errors(void)
{
	struct wstream ws;
	struct collect c;
	char big[300];

	memset(&c, 0, sizeof(c));
	wstream_init(&ws, 1 << 20);
	ok(wstream_feed(&ws, "[1,2]", 5, collect_cb, &c) == -EPROTO, "a top-level array is a protocol error");
	wstream_free(&ws);
	wstream_init(&ws, 1 << 20);
	ok(wstream_feed(&ws, "{\"a\":1} x", 9, collect_cb, &c) == -EPROTO, "garbage after an event is a protocol error");
	wstream_free(&ws);
	wstream_init(&ws, 64);
	memset(big, 'a', sizeof(big));
	big[0] = '{';
	big[1] = '"';
	ok(wstream_feed(&ws, big, sizeof(big), collect_cb, &c) == -E2BIG, "an event over the limit is refused");
	wstream_free(&ws);
	{
		char deep[2000];
		size_t i;

		for (i = 0; i < sizeof(deep); i++)
			deep[i] = i == 0 ? '{' : '[';
		wstream_init(&ws, 1 << 20);
		ok(wstream_feed(&ws, deep, sizeof(deep), collect_cb, &c) == -EPROTO, "nesting deeper than 512 is refused");
		wstream_free(&ws);
	}
	wstream_init(&ws, 64);
	memset(&c, 0, sizeof(c));
	{
		int i, rc = 0;

		/* Many small events through a small buffer: the buffer is reused, never outgrown. */
		for (i = 0; i < 1000 && rc == 0; i++)
			rc = wstream_feed(&ws, "{\"type\":\"X\"}\n", 13, collect_cb, &c);
		ok(rc == 0 && c.count == 1000, "1000 events through a 64-byte buffer");
	}
	wstream_free(&ws);
}

static void test_decode(void)
{
	static const struct {
		const char *json;
		int rc;
		enum wevent_type type;
		const char *rv;
		long code;
	} cases[] = {
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"12\"}}}", 0, WEV_ADDED, "12", 0 },
		{ "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"13\"}}}", 0, WEV_MODIFIED, "13", 0 },
		{ "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"14\"}}}", 0, WEV_DELETED, "14", 0 },
		{ "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Vivo\",\"metadata\":{\"resourceVersion\":\"99\"}}}", 0, WEV_BOOKMARK, "99", 0 },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}", 0, WEV_ERROR, NULL, 410 },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":\"SYNC\",\"object\":{}}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":\"ADDED\"}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":1,\"object\":{}}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}", -EINVAL, 0, NULL, 0 },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}", -EINVAL, 0, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wevent ev;
		char err[256] = "";
		int rc = wevent_decode(cases[i].json, strlen(cases[i].json), &ev, err, sizeof(err));
		bool good = rc == cases[i].rc;

		if (good && rc == 0)
			good = ev.type == cases[i].type && ev.code == cases[i].code && json_is_object(ev.object) &&
			       ((!cases[i].rv && !ev.rv) || (cases[i].rv && ev.rv && strcmp(ev.rv, cases[i].rv) == 0));
		ok(good, "decode case %zu: %s%s", i, rc == 0 ? wevent_type_name(ev.type) : "refused: ", rc == 0 ? "" : err);
		wevent_free(&ev);
	}
}

int main(void)
{
	test_split_every_chunking();
	test_split_errors();
	test_decode();
	return tap_done();
}
