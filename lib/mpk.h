/* mpk.h: msgpack-c's packer (msgpack_packer) writing into a struct buf, with the two things Vivo adds: EventTime and headers whose count is known only afterwards. */
#ifndef VIVO_MPK_H
#define VIVO_MPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"

/* Bind `pk` to `b` (which must outlive it): every msgpack_pack_* call on `pk` appends
 * to `b` and returns 0, -ENOSPC (the buffer's limit) or -ENOMEM. Nothing to free. */
void mpk_init(msgpack_packer *pk, struct buf *b);

/* The write callback mpk_init installs: appends to the struct buf that `data` is. */
int mpk_write(void *data, const char *p, size_t n);

/* A packer into `b` for the expression it appears in (a compound literal, alive to the
 * end of the enclosing block), for a call site that holds only a struct buf:
 * msgpack_pack_map(MPK(out), 1). */
#define MPK(b) (&(msgpack_packer){ .data = (b), .callback = mpk_write })

/* The buffer a packer from mpk_init writes into. */
static inline struct buf *mpk_buf(const msgpack_packer *pk)
{
	return pk->data;
}

/* A NUL-terminated string as a msgpack str. */
static inline int mpk_cstr(msgpack_packer *pk, const char *s)
{
	return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A bool (msgpack-c packs true and false apart). */
static inline int mpk_bool(msgpack_packer *pk, bool v)
{
	return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* Fluentd's EventTime (ext type 0, 8 bytes: big-endian u32 seconds, u32 nanoseconds)
 * for `ns` nanoseconds since the epoch; a time before 1970 takes the floor second. */
int mpk_event_time(msgpack_packer *pk, int64_t ns);

/* A container or string whose size is known only once its contents are written (JSON
 * being parsed, fields present or not). The header is packed by msgpack-c with the
 * largest count, which it encodes as the 5-byte 32-bit form (0xdd/0xdf/0xdb + 4 count
 * bytes); *at receives its offset in the buffer, the count reads 0 until mpk_patch32
 * stores the real one into those 4 bytes with msgpack-c's own big-endian store. The
 * result is valid, if not minimal, msgpack. */
int mpk_array32(msgpack_packer *pk, size_t *at);
int mpk_map32(msgpack_packer *pk, size_t *at);
int mpk_str32(msgpack_packer *pk, size_t *at);
/* Store `n` (elements, pairs or bytes) into the header reserved at `at`. */
void mpk_patch32(msgpack_packer *pk, size_t at, uint32_t n);

#endif
