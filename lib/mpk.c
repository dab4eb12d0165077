/* mpk.c: msgpack-c's packer into a struct buf: the write callback, EventTime, patchable 32-bit headers. */
#include "mpk.h"

#include <assert.h>

/* A 32-bit header: the tag byte and four count bytes. */
#define HEADER32 5

int mpk_write(void *data, const char *p, size_t n)
{
	struct buf *b = data;

	/* msgpack-c calls this for every header (1 to 9 bytes): room already there is the
	 * common case, without the call into buf_append. An empty body (a "" string) may
	 * come before the buffer has any memory. */
	if (n == 0)
		return 0;
	if (n <= b->cap - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf_append(b, p, n);
}

void mpk_init(msgpack_packer *pk, struct buf *b)
{
	msgpack_packer_init(pk, b, mpk_write);
}

int mpk_event_time(msgpack_packer *pk, int64_t ns)
{
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	char body[8];
	int rc;

	if (nsec < 0) {
		nsec += 1000000000;
		sec -= 1;
	}
	_msgpack_store32(body, (uint32_t)sec);
	_msgpack_store32(body + 4, (uint32_t)nsec);
	if ((rc = msgpack_pack_ext(pk, sizeof(body), 0)) < 0)
		return rc;
	return msgpack_pack_ext_body(pk, body, sizeof(body));
}

/* The largest count makes msgpack-c write the 32-bit form; the count starts at 0. */
static int header32(msgpack_packer *pk, int (*pack)(msgpack_packer *, size_t), size_t *at)
{
	int rc;

	*at = mpk_buf(pk)->len;
	if ((rc = pack(pk, UINT32_MAX)) < 0)
		return rc;
	mpk_patch32(pk, *at, 0);
	return 0;
}

int mpk_array32(msgpack_packer *pk, size_t *at)
{
	return header32(pk, msgpack_pack_array, at);
}

int mpk_map32(msgpack_packer *pk, size_t *at)
{
	return header32(pk, msgpack_pack_map, at);
}

int mpk_str32(msgpack_packer *pk, size_t *at)
{
	return header32(pk, msgpack_pack_str, at);
}

void mpk_patch32(msgpack_packer *pk, size_t at, uint32_t n)
{
	struct buf *b = mpk_buf(pk);

	assert(at + HEADER32 <= b->len);
	_msgpack_store32(b->data + at + 1, n);
}
