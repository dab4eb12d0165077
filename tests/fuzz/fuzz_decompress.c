/* fuzz_decompress.c: libFuzzer target for lib/decompress, one codec per build (FUZZ_CODEC: DC_ZSTD, DC_SNAPPY raw and framed), under a 1 MB limit. */
#include <stddef.h>
#include <stdint.h>

#include "decompress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	char err[256];

	/* The buffer's own limit is larger than the call's: the call's limit must hold alone. */
	buf_init(&out, 4 << 20);
	if (dc_decode(FUZZ_CODEC, data, size, 1 << 20, &out, err, sizeof(err)) == 0 && out.len > (1 << 20))
		__builtin_trap();
	if (out.cap > (1 << 20))
		__builtin_trap();
	buf_free(&out);
	return 0;
}
