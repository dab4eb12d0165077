/* fuzz_mpjson.c: libFuzzer target for the msgpack-to-JSON writer (every output must be valid JSON) and for the hand-written reader against msgpack-c (same object boundaries, same rendering of msgpack-c's tree packed again). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmp.h"
#include "mp.h"
#include "mpu.h"
#include "mpjson.h"
#include "mpk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The writer promises valid JSON: our strict parser must accept all of it. */
static void check_json(const struct buf *out, struct buf *back)
{
	char err[128];
	size_t off = 0;

	buf_reset(back);
	if (jsonmp_next(out->data, out->len, &off, back, err, sizeof(err)) != 0) {
		/* The parser's nesting limit is below the writer's; depth is not syntax. */
		if (strncmp(err, "nesting too deep", 16) != 0)
			abort();
	} else if (off != out->len) {
		abort();
	}
}

/* The object at `start` (mp_skip's view) as msgpack-c sees it: the same end, or a
 * refusal for depth only; and, when `json` holds the writer's rendering of it, the
 * same rendering from msgpack-c's tree packed by msgpack-c. */
static void check_msgpack_c(const char *start, const char *end, const struct buf *json, struct buf *re, struct buf *rj)
{
	struct mp_cur skip, unp, rc_cur;
	msgpack_unpacked u;
	msgpack_packer pk;
	int rs, ru;

	mp_cur_init(&skip, start, (size_t)(end - start));
	unp = skip;
	rs = mp_skip(&skip);
	msgpack_unpacked_init(&u);
	ru = mpu_unpack(&unp, SIZE_MAX, &u);
	if (rs == 0 && ru != 0 && ru != MPU_ELIMIT)
		abort();
	if (rs < 0 && ru == 0)
		abort();
	if (rs == 0 && ru == 0) {
		if (unp.p != skip.p)
			abort();
		buf_reset(re);
		mpk_init(&pk, re);
		if (msgpack_pack_object(&pk, u.data) < 0)
			abort();
		if (json) {
			mp_cur_init(&rc_cur, re->data, re->len);
			buf_reset(rj);
			if (mpjson_write(rj, &rc_cur) < 0 || rj->len != json->len || memcmp(rj->data, json->data, json->len) != 0)
				abort();
		}
	}
	msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, back, re, rj;
	struct mp_cur c;

	buf_init(&out, 1 << 24);
	buf_init(&back, 1 << 26);
	buf_init(&re, 1 << 26);
	buf_init(&rj, 1 << 24);
	mp_cur_init(&c, data, size);
	while (mp_cur_left(&c) > 0) {
		const char *start = c.p;

		buf_reset(&out);
		if (mpjson_write(&out, &c) < 0) {
			check_msgpack_c(start, (const char *)data + size, NULL, &re, &rj);
			break;
		}
		check_json(&out, &back);
		check_msgpack_c(start, c.p, &out, &re, &rj);
	}
	buf_free(&out);
	buf_free(&back);
	buf_free(&re);
	buf_free(&rj);
	return 0;
}
