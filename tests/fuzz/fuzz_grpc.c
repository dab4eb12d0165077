/* fuzz_grpc.c: libFuzzer target for the gRPC message framer (lib/grpc): the first byte picks
 * the grpc-encoding (none, identity, gzip, zstd, snappy, br), the rest is a unary request body; the early length check must give the
 * same verdict however the prefix is split across reads. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool within(const char *p, size_t len, const char *base, size_t n)
{
	return base && p >= base && len <= n && (size_t)(p - base) <= n - len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const enc[] = { NULL, "identity", "gzip", "zstd", "snappy", "br" };
	const char *body = (const char *)data + 1, *msg = NULL;
	size_t n = size ? size - 1 : 0, len = 0, i;
	struct buf plain;
	char err[256];
	bool whole;
	int rc;

	if (size < 1)
		return 0;
	buf_init(&plain, 1 << 20);
	rc = grpc_unframe(body, n, enc[data[0] % 6], &plain, &msg, &len, err, sizeof(err));
	/* A message found lies in the body (after its prefix) or in the inflated buffer. */
	if (rc == 0 && len && !within(msg, len, body + 5, n - 5) && !within(msg, len, plain.data, plain.len))
		__builtin_trap();
	if (rc != 0 && !err[0] && rc != -ENOMEM)
		__builtin_trap(); /* every refusal says why */
	whole = grpc_prefix_over(NULL, 0, body, n, 1000);
	for (i = 1; i < 5 && i <= n; i++)
		if (grpc_prefix_over(body, i, body + i, n - i, 1000) != whole)
			__builtin_trap();
	buf_free(&plain);
	return 0;
}
