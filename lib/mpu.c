/* mpu.c: msgpack-c's unpacker (msgpack_unpack_next) behind a walk that counts objects and nesting first. */
#include "mpu.h"

#include <errno.h>
#include <stdint.h>

/* MSGPACK_EMBED_STACK_SIZE: how deep msgpack-c unpacks (fixed when it was built). */
#include <msgpack/unpack_define.h>

_Static_assert(MPU_DEPTH == MSGPACK_EMBED_STACK_SIZE, "mpu.h states msgpack-c's depth");

/* Walk one object as mp_skip does, also counting its objects (at most `max`) and the
 * containers open at once (as many as msgpack-c's stack holds). */
static int measure(struct mp_cur *c, size_t max)
{
	uint64_t left[MPU_DEPTH]; /* elements still to come, per open container */
	size_t objects = 0, top = 0;
	struct mp_obj o;
	int rc;

	for (;;) {
		if ((rc = mp_read(c, &o)) < 0)
			return rc;
		if (++objects > max)
			return MPU_ELIMIT;
		if (o.type == MP_ARRAY || o.type == MP_MAP) {
			uint64_t k = o.type == MP_MAP ? 2 * (uint64_t)o.len : o.len;

			/* msgpack-c checks its stack before it looks at the count, so an empty
			 * container counts here too. */
			if (top == MPU_DEPTH || k > max - objects)
				return MPU_ELIMIT;
			if (k > mp_cur_left(c))
				return MP_ETRUNC;
			if (k) {
				left[top++] = k;
				continue;
			}
		}
		/* One object complete: so is every container it was the last element of. */
		while (top && --left[top - 1] == 0)
			top--;
		if (!top)
			return 0;
	}
}

int mpu_unpack(struct mp_cur *c, size_t max_objects, msgpack_unpacked *out)
{
	struct mp_cur end = *c;
	size_t off = 0, len;
	int rc;

	if ((rc = measure(&end, max_objects)) < 0)
		return rc;
	len = (size_t)(end.p - c->p);
	rc = msgpack_unpack_next(out, c->p, len, &off);
	if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
		return -ENOMEM;
	/* The walk found one whole object in these bytes: msgpack-c reading another
	 * length, or none, would be a bug in one of the two (the fuzzer looks for it),
	 * reported as bad input. */
	if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
		return MP_EBAD;
	c->p = end.p;
	return 0;
}
