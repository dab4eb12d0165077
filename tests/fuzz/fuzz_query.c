/* fuzz_query.c: libFuzzer target for the exporter's query string parser. */
#include <stddef.h>
#include <stdint.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	char err[160];

	query_parse((const char *)data, size, &q, err, sizeof(err));
	return 0;
}
