/* buf.h: a growable byte buffer with a hard byte limit fixed at creation. */
#ifndef VIVO_BUF_H
#define VIVO_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A plain value type: embed it, init it, free it. `max` bounds `len` forever. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* Prepare an empty buffer that will never hold more than `max` bytes. */
void buf_init(struct buf *b, size_t max);
/* Release the memory; the buffer is empty and reusable afterwards. NULL-safe. */
void buf_free(struct buf *b);
/* Forget the contents, keep the memory. */
static inline void buf_reset(struct buf *b) { b->len = 0; }
/* Make room for `n` more bytes. 0, -ENOSPC over the limit, -ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* Append bytes. 0, -ENOSPC over the limit, -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append the decimal form of an integer. */
int buf_put_u64(struct buf *b, unsigned long long v);
int buf_put_i64(struct buf *b, long long v);
/* Hand the bytes to the caller (caller frees with free()); the buffer becomes empty.
 * The result is NUL-terminated (the NUL is not counted in *len). NULL on -ENOMEM. */
char *buf_steal(struct buf *b, size_t *len);

#endif
