/* fuzz_otlp.c: libFuzzer target for one OTLP decoder (signal and encoding set at build time). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "in_otlp/decode.h"

#ifndef FUZZ_SIGNAL
#define FUZZ_SIGNAL OTLP_TRACES
#endif
#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT OTLP_PROTOBUF
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_builder cb;
	uint64_t records;
	char err[256];

	if (chunk_builder_init(&cb, otlp_stream(FUZZ_SIGNAL), "v1_fuzz", "opentelemetry", "opentelemetry.0",
			       8 * size + 65536) < 0)
		return 0;
	otlp_decode(FUZZ_SIGNAL, FUZZ_FORMAT, (const char *)data, size, 1700000000000000000LL, &cb, &records,
		    err, sizeof(err));
	chunk_builder_free(&cb);
	return 0;
}
