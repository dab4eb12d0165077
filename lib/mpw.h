/* mpw.h: a small msgpack writer into a struct buf (headers may be patched afterwards). */
#ifndef VIVO_MPW_H
#define VIVO_MPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Every function returns 0, -ENOSPC (buffer limit) or -ENOMEM. */
int mpw_nil(struct buf *b);
int mpw_bool(struct buf *b, bool v);
int mpw_uint(struct buf *b, uint64_t v);
int mpw_int(struct buf *b, int64_t v);
int mpw_double(struct buf *b, double v);
int mpw_str(struct buf *b, const char *s, size_t n);
int mpw_cstr(struct buf *b, const char *s);
int mpw_bin(struct buf *b, const void *p, size_t n);
int mpw_array(struct buf *b, uint32_t n);
int mpw_map(struct buf *b, uint32_t n);
/* EventTime ext (type 0): big-endian u32 seconds, u32 nanoseconds. */
int mpw_event_time(struct buf *b, int64_t ns);
/* A 5-byte array32/map32/str32 header whose count is patched later with mpw_patch32:
 * lets a writer emit a container before it knows its size. *at receives its offset. */
int mpw_array32(struct buf *b, size_t *at);
int mpw_map32(struct buf *b, size_t *at);
int mpw_str32(struct buf *b, size_t *at);
void mpw_patch32(struct buf *b, size_t at, uint32_t n);

#endif
