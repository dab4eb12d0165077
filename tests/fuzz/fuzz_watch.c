/* fuzz_watch.c: libFuzzer target for the watch-stream splitter and event decoder (bytes in fuzzer-chosen chunks). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "watchstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ctx, const char *json, size_t len)
{
	struct wevent ev;
	char err[256];
	size_t *n = ctx;

	if (wevent_decode(json, len, &ev, err, sizeof(err)) == 0) {
		/* Touch what the informer reads. */
		if (ev.rv)
			*n += strlen(ev.rv);
		*n += (size_t)ev.code + ev.type;
		wevent_free(&ev);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wstream ws;
	size_t off = 1, n = 0, chunk;
	int rc = 0;

	if (size < 1)
		return 0;
	/* The first byte picks the chunk size, so boundaries land everywhere. */
	chunk = (size_t)(data[0] % 64) + 1;
	wstream_init(&ws, 4096);
	while (off < size && rc == 0) {
		size_t take = size - off < chunk ? size - off : chunk;

		rc = wstream_feed(&ws, (const char *)data + off, take, on_event, &n);
		off += take;
	}
	wstream_free(&ws);
	return 0;
}
