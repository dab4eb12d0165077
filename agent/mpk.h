/* mpk.h: a msgpack-c packer that writes into a struct buf, keeping the buffer's error. */
#ifndef VIVO_MPK_H
#define VIVO_MPK_H

#include <msgpack.h>

#include "buf.h"

/* msgpack_pack_* calls write through `pk` into `b`; `err` keeps the first buf error
 * (-ENOSPC over the buffer's limit, -ENOMEM), which the msgpack-c calls report as -1. */
struct mpk {
	msgpack_packer pk;
	struct buf *b;
	int err;
};

static inline int mpk_write(void *data, const char *p, size_t n)
{
	struct mpk *w = data;
	int rc = buf_append(w->b, p, n);

	if (rc < 0 && w->err == 0)
		w->err = rc;
	return rc < 0 ? -1 : 0;
}

/* Start packing into `b` (appends after what `b` holds). */
static inline void mpk_init(struct mpk *w, struct buf *b)
{
	w->b = b;
	w->err = 0;
	msgpack_packer_init(&w->pk, w, mpk_write);
}

/* Append raw msgpack bytes (a whole object copied from elsewhere). */
static inline void mpk_raw(struct mpk *w, const void *p, size_t n)
{
	mpk_write(w, p, n);
}

/* Append a string. */
static inline void mpk_str(struct mpk *w, const char *s, size_t n)
{
	msgpack_pack_str(&w->pk, n);
	msgpack_pack_str_body(&w->pk, s, n);
}

#endif
