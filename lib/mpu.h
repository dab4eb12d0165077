/* mpu.h: msgpack-c's unpacker behind a bounded walk: msgpack-c reserves memory for every element a header declares, before reading any, so nothing reaches it unwalked. */
#ifndef VIVO_MPU_H
#define VIVO_MPU_H

#include <stddef.h>

#include <msgpack.h>

#include "mp.h"

/* mpu_unpack: valid msgpack, but more elements or deeper nesting than allowed. */
#define MPU_ELIMIT (-7) /* -E2BIG */
/* The deepest nesting msgpack-c unpacks (its MSGPACK_EMBED_STACK_SIZE). */
#define MPU_DEPTH 32

/* Unpack the object at the cursor with msgpack-c (msgpack_unpack_next) into `out`,
 * which the caller set up with msgpack_unpacked_init and frees with
 * msgpack_unpacked_destroy; str/bin/ext data point into the input, which must outlive
 * `out`. msgpack-c reserves one msgpack_object per declared element before it reads
 * any (an array32 header of 2^28 elements asks for 8 GB) and has no limit of its own,
 * so the object is walked first: more than `max_objects` objects in all, or nesting
 * deeper than msgpack-c unpacks (MPU_DEPTH open containers), is MPU_ELIMIT before
 * msgpack-c sees a byte. 0 (cursor advanced), MP_ETRUNC, MP_EBAD, MPU_ELIMIT or -ENOMEM;
 * on error the cursor is unchanged. */
int mpu_unpack(struct mp_cur *c, size_t max_objects, msgpack_unpacked *out);

#endif
