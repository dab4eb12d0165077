/* fuzz_jsonmp.c: libFuzzer target for the JSON parser; what it accepts must render back to JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jsonmp.h"
#include "mpjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf mp, out;
	size_t off = 0;
	char err[128];
	int rc;

	buf_init(&mp, 1 << 24);
	buf_init(&out, 1 << 26);
	while ((rc = jsonmp_next((const char *)data, size, &off, &mp, err, sizeof(err))) == 0) {
		struct mp_cur c;

		mp_cur_init(&c, mp.data, mp.len);
		if (mpjson_write(&out, &c) < 0 || mp_cur_left(&c) != 0)
			abort(); /* what the parser produced must always render */
		buf_reset(&mp);
		buf_reset(&out);
	}
	buf_free(&mp);
	buf_free(&out);
	return 0;
}
