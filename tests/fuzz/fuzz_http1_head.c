/* fuzz_http1_head.c: libFuzzer target for the listener's checks of a first HTTP/1.1 request head (lib/httpd_mhd.c): its framing, and whether it asks for an h2c upgrade. */
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
	const char *settings = NULL;
	size_t sl = 0, len;

	if (rc && strlen(why) == 0)
		abort();
	/* An upgrade is a whole head inside the input, its HTTP2-Settings value inside that. */
	len = http1_h2c_request((const char *)data, size, &settings, &sl);
	if (len > size || (len && (!settings || settings < (const char *)data || settings + sl > (const char *)data + len)))
		abort();
	return 0;
}
