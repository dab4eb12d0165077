/* fuzz_mpjson.c: libFuzzer target for the msgpack-to-JSON writer; every output must be valid JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmp.h"
#include "mpjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, back;
	struct mp_cur c;
	size_t off = 0;
	char err[128];

	buf_init(&out, 1 << 24);
	buf_init(&back, 1 << 26);
	mp_cur_init(&c, data, size);
	while (mp_cur_left(&c) > 0) {
		buf_reset(&out);
		if (mpjson_write(&out, &c) < 0)
			break;
		/* The writer promises valid JSON: our strict parser must accept all of it. */
		off = 0;
		buf_reset(&back);
		if (jsonmp_next(out.data, out.len, &off, &back, err, sizeof(err)) != 0) {
			/* The parser's nesting limit is below the writer's; depth is not syntax. */
			if (strncmp(err, "nesting too deep", 16) != 0)
				abort();
		} else if (off != out.len) {
			abort();
		}
	}
	buf_free(&out);
	buf_free(&back);
	return 0;
}
