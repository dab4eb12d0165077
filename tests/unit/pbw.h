/* pbw.h: a small protobuf writer onto a struct buf, for the unit tests and benches that build OTLP and remote-write requests by hand (failures past the buf's limit are not reported: size the bufs for what they get). */
#ifndef VIVO_TEST_PBW_H
#define VIVO_TEST_PBW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

/* A base-128 varint. */
static inline void pbw_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_putc(b, (char)v);
}

/* A field's key: its number and wire type (0 varint, 1 fixed64, 2 LEN, 5 fixed32). */
static inline void pbw_tag(struct buf *b, unsigned num, unsigned wt)
{
	pbw_varint(b, (uint64_t)num << 3 | wt);
}

/* A varint field (uint32/uint64/int64/enum/bool). */
static inline void pbw_uint(struct buf *b, unsigned num, uint64_t v)
{
	pbw_tag(b, num, 0);
	pbw_varint(b, v);
}

/* A LEN field of the bytes p[0..n). */
static inline void pbw_bytes(struct buf *b, unsigned num, const void *p, size_t n)
{
	pbw_tag(b, num, 2);
	pbw_varint(b, n);
	buf_append(b, p, n);
}

static inline void pbw_str(struct buf *b, unsigned num, const char *s)
{
	pbw_bytes(b, num, s, strlen(s));
}

/* An embedded message: `sub` as a LEN field, then sub is freed (empty, its limit kept, so
 * it can be built again). */
static inline void pbw_msg(struct buf *b, unsigned num, struct buf *sub)
{
	pbw_bytes(b, num, sub->data ? sub->data : "", sub->len);
	buf_free(sub);
}

/* A fixed64 field, little-endian as the wire has it. */
static inline void pbw_fixed64(struct buf *b, unsigned num, uint64_t v)
{
	char t[8];
	int i;

	pbw_tag(b, num, 1);
	for (i = 0; i < 8; i++)
		t[i] = (char)(v >> (8 * i));
	buf_append(b, t, 8);
}

/* A double field (fixed64 holding the IEEE 754 bits). */
static inline void pbw_double(struct buf *b, unsigned num, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	pbw_fixed64(b, num, bits);
}

#endif
