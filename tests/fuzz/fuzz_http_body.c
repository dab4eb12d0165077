/* fuzz_http_body.c: libFuzzer target for the HTTP input body decoders (first byte picks the type). */
#include <stddef.h>
#include <stdint.h>

#include "in_http/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "application/json", "application/x-ndjson",
					     "application/x-www-form-urlencoded", "application/msgpack" };
	struct chunk_builder cb;
	char err[256];

	if (size < 1)
		return 0;
	if (chunk_builder_init(&cb, STREAM_LOGS, "fuzz", "http", "http.0", 1 << 22) < 0)
		return 0;
	http_body_decode(types[data[0] % 4], (const char *)data + 1, size - 1, 1, "time", &cb, err, sizeof(err));
	chunk_builder_free(&cb);
	return 0;
}
