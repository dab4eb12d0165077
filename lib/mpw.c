/* mpw.c: msgpack writer (minimal encodings, except the patchable 32-bit headers). */
#include "mpw.h"

#include <errno.h>
#include <string.h>

static int put_be(struct buf *b, unsigned char tag, uint64_t v, int bytes)
{
	unsigned char tmp[9];
	int i;

	tmp[0] = tag;
	for (i = 0; i < bytes; i++)
		tmp[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return buf_append(b, tmp, (size_t)bytes + 1);
}

int mpw_nil(struct buf *b)
{
	return buf_putc(b, (char)0xc0);
}

int mpw_bool(struct buf *b, bool v)
{
	return buf_putc(b, (char)(v ? 0xc3 : 0xc2));
}

int mpw_uint(struct buf *b, uint64_t v)
{
	if (v <= 0x7f)
		return buf_putc(b, (char)v);
	if (v <= 0xff)
		return put_be(b, 0xcc, v, 1);
	if (v <= 0xffff)
		return put_be(b, 0xcd, v, 2);
	if (v <= 0xffffffffULL)
		return put_be(b, 0xce, v, 4);
	return put_be(b, 0xcf, v, 8);
}

int mpw_int(struct buf *b, int64_t v)
{
	if (v >= 0)
		return mpw_uint(b, (uint64_t)v);
	if (v >= -32)
		return buf_putc(b, (char)(int8_t)v);
	if (v >= INT8_MIN)
		return put_be(b, 0xd0, (uint64_t)v, 1);
	if (v >= INT16_MIN)
		return put_be(b, 0xd1, (uint64_t)v, 2);
	if (v >= INT32_MIN)
		return put_be(b, 0xd2, (uint64_t)v, 4);
	return put_be(b, 0xd3, (uint64_t)v, 8);
}

int mpw_double(struct buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	return put_be(b, 0xcb, u, 8);
}

static int raw_header(struct buf *b, unsigned char fix, unsigned char t8, size_t n)
{
	if (fix && n < 32)
		return buf_putc(b, (char)(fix | n));
	if (n <= 0xff && t8)
		return put_be(b, t8, n, 1);
	if (n <= 0xffff)
		return put_be(b, (unsigned char)(t8 + 1), n, 2);
	return put_be(b, (unsigned char)(t8 + 2), n, 4);
}

int mpw_str(struct buf *b, const char *s, size_t n)
{
	int rc;

	if (n > UINT32_MAX)
		return -ENOSPC;
	if ((rc = raw_header(b, 0xa0, 0xd9, n)) < 0)
		return rc;
	return buf_append(b, s, n);
}

int mpw_cstr(struct buf *b, const char *s)
{
	return mpw_str(b, s, strlen(s));
}

int mpw_bin(struct buf *b, const void *p, size_t n)
{
	int rc;

	if (n > UINT32_MAX)
		return -ENOSPC;
	if ((rc = raw_header(b, 0, 0xc4, n)) < 0)
		return rc;
	return buf_append(b, p, n);
}

int mpw_array(struct buf *b, uint32_t n)
{
	if (n < 16)
		return buf_putc(b, (char)(0x90 | n));
	if (n <= 0xffff)
		return put_be(b, 0xdc, n, 2);
	return put_be(b, 0xdd, n, 4);
}

int mpw_map(struct buf *b, uint32_t n)
{
	if (n < 16)
		return buf_putc(b, (char)(0x80 | n));
	if (n <= 0xffff)
		return put_be(b, 0xde, n, 2);
	return put_be(b, 0xdf, n, 4);
}

int mpw_event_time(struct buf *b, int64_t ns)
{
	unsigned char tmp[10];
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	uint32_t s, n;

	if (nsec < 0) {
		nsec += 1000000000;
		sec -= 1;
	}
	s = (uint32_t)sec;
	n = (uint32_t)nsec;
	tmp[0] = 0xd7;
	tmp[1] = 0;
	tmp[2] = (unsigned char)(s >> 24); tmp[3] = (unsigned char)(s >> 16);
	tmp[4] = (unsigned char)(s >> 8); tmp[5] = (unsigned char)s;
	tmp[6] = (unsigned char)(n >> 24); tmp[7] = (unsigned char)(n >> 16);
	tmp[8] = (unsigned char)(n >> 8); tmp[9] = (unsigned char)n;
	return buf_append(b, tmp, sizeof(tmp));
}

static int header32(struct buf *b, unsigned char tag, size_t *at)
{
	*at = b->len;
	return put_be(b, tag, 0, 4);
}

int mpw_array32(struct buf *b, size_t *at)
{
	return header32(b, 0xdd, at);
}

int mpw_map32(struct buf *b, size_t *at)
{
	return header32(b, 0xdf, at);
}

int mpw_str32(struct buf *b, size_t *at)
{
	return header32(b, 0xdb, at);
}

void mpw_patch32(struct buf *b, size_t at, uint32_t n)
{
	unsigned char *p = (unsigned char *)b->data + at + 1;

	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}
