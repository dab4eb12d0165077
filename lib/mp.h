/* mp.h: a zero-copy, allocation-free msgpack reader over a byte range (the hot paths; lib/mpu.h leads into msgpack-c's unpacker). */
#ifndef VIVO_MP_H
#define VIVO_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors: the bytes end inside an object (more may come), or they can never be msgpack. */
#define MP_ETRUNC (-61) /* -ENODATA */
#define MP_EBAD (-74)   /* -EBADMSG */

enum mp_type { MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT };

/* One decoded header. Positive integers are always MP_UINT, negative ones MP_INT.
 * For STR/BIN/EXT, `ptr`/`len` point into the input; for ARRAY/MAP, `len` is the count
 * of elements (map: of pairs) and the cursor stands on the first element. */
struct mp_obj {
	enum mp_type type;
	union {
		bool b;
		uint64_t u;
		int64_t i;
		double f;
	} v;
	const char *ptr;
	uint32_t len;
	int8_t ext_type;
};

struct mp_cur {
	const char *p;
	const char *end;
};

static inline void mp_cur_init(struct mp_cur *c, const void *p, size_t n)
{
	c->p = p;
	c->end = (const char *)p + n;
}

static inline size_t mp_cur_left(const struct mp_cur *c)
{
	return (size_t)(c->end - c->p);
}

/* Read one header at the cursor and advance past it (and past STR/BIN/EXT data).
 * 0, MP_ETRUNC or MP_EBAD; on error the cursor is unchanged. */
int mp_read(struct mp_cur *c, struct mp_obj *o);
/* Advance past one complete object (with all its children). 0, MP_ETRUNC or MP_EBAD;
 * on error the cursor is unchanged. Never recurses, whatever the nesting. */
int mp_skip(struct mp_cur *c);
/* True when `o` is a STR (or BIN) equal to the NUL-terminated `s`. */
bool mp_str_eq(const struct mp_obj *o, const char *s);
/* True when `k` is a STR (not a BIN) equal to the NUL-terminated `s`: a map key by name. */
bool mp_key_is(const struct mp_obj *k, const char *s);
/* The span (*p, *n) of the value of the first STR key `key` in the map that `c` holds
 * (`c` is a copy: the caller's cursor does not move); false when `c` is not a map, is
 * cut short before the key, or has no such key. Keys may be any object (skipped whole). */
bool mp_map_find(struct mp_cur c, const char *key, const char **p, size_t *n);
/* The time of a Forward entry as nanoseconds since the epoch: EventTime ext (type 0, 8
 * bytes), integer seconds or float seconds. 0 or MP_EBAD for any other type. */
int mp_time_ns(const struct mp_obj *o, int64_t *ns);


#endif
