/* in_prom_rw/proto.h: a bounds-checked protobuf wire cursor and a small open-addressing index, for the remote-write decoder. */
#ifndef VIVO_PROM_RW_PROTO_H
#define VIVO_PROM_RW_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Return a negative result at once (the decoder's functions return 0 or -errno). */
#define TRY(e)                          \
	do {                            \
		int rc_ = (e);          \
		if (rc_ < 0)            \
			return rc_;     \
	} while (0)

/* Bytes p[0..end) of one message. */
struct pb {
	const unsigned char *p, *end;
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* One field: its number, wire type, and value (varint and fixed as v; LEN as sub). */
struct pbf {
	uint32_t num, wt;
	uint64_t v;
	struct pb sub;
};

/* Read the next field of c into f: 1, 0 at the end, -EINVAL for malformed bytes (a
 * truncated varint or length, a group, a field number 0). Never reads past c->end. */
int pb_next(struct pb *c, struct pbf *f);
/* The next value of a packed run (varints, or 8-byte fixed when fixed64): 1, 0 at the end,
 * -EINVAL when the run is malformed. */
int pb_packed_next(struct pb *run, int fixed64, uint64_t *v);
/* A fixed64 field's bits as a double; a zigzag-encoded varint as a signed value. */
double pb_double(uint64_t bits);
int64_t pb_zigzag(uint64_t v);

/* Grow *arr (elements of `elem` bytes, capacity *cap) so that it holds n + 1. 0 or -ENOMEM. */
int pb_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* An index from hashes to small integers (-1 = empty slot), sized for n entries. */
struct htab {
	int *slot;
	size_t mask;
};

int htab_init(struct htab *t, size_t n);
void htab_free(struct htab *t);
/* FNV-1a 64 of the bytes, mixed with salt: the index's own slot hash, never served (the
 * values[].hash of a series is cmetrics' XXH3-64, lib/cmhash). */
uint64_t htab_hash(const char *p, size_t n, uint64_t salt);
/* Put v in the first empty slot from h on (a lookup walks the same probe sequence and
 * finds the first entry put under a name). */
void htab_put_first(struct htab *t, uint64_t h, int v);

#endif
