/* fuzz_http1_head.c: libFuzzer target for the listener's check of a first HTTP/1.1 request head (lib/httpd_mhd.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	int rc = http1_head_check((const char *)data, size, why, sizeof(why));

	/* A verdict is 0 (hand over), 400 or 413 with a reason. */
	if (rc != 0 && rc != 400 && rc != 413)
		abort();
	if (rc && strlen(why) == 0)
		abort();
	return 0;
}
