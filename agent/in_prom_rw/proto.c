/* in_prom_rw/proto.c: protobuf wire reading that never trusts a length, and a linear-probing index. */
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int varint(struct pb *c, uint64_t *v)
{
	uint64_t r = 0;
	int s;

	for (s = 0; s < 64 && c->p < c->end; s += 7) {
		unsigned char b = *c->p++;

		if (s == 63 && b > 1)
			return -EINVAL;
		r |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int pb_next(struct pb *c, struct pbf *f)
{
	uint64_t tag, len;

	if (c->p >= c->end)
		return 0;
	if (varint(c, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
		return -EINVAL;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (uint32_t)(tag & 7);
	switch (f->wt) {
	case WT_VARINT:
		return varint(c, &f->v) < 0 ? -EINVAL : 1;
	case WT_I64:
	case WT_I32: {
		int n = f->wt == WT_I64 ? 8 : 4;

		if (c->end - c->p < n)
			return -EINVAL;
		f->v = le(c->p, n);
		c->p += n;
		return 1;
	}
	case WT_LEN:
		if (varint(c, &len) < 0 || len > (uint64_t)(c->end - c->p))
			return -EINVAL;
		f->sub.p = c->p;
		f->sub.end = c->p + len;
		c->p += len;
		return 1;
	default:
		return -EINVAL;
	}
}

int pb_packed_next(struct pb *run, int fixed64, uint64_t *v)
{
	if (run->p >= run->end)
		return 0;
	if (fixed64) {
		if (run->end - run->p < 8)
			return -EINVAL;
		*v = le(run->p, 8);
		run->p += 8;
		return 1;
	}
	return varint(run, v) < 0 ? -EINVAL : 1;
}

double pb_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

int64_t pb_zigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pb_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 16;
	if (want > SIZE_MAX / elem)
		return -ENOMEM;
	if (!(p = realloc(*arr, want * elem)))
		return -ENOMEM;
	*arr = p;
	*cap = want;
	return 0;
}

int htab_init(struct htab *t, size_t n)
{
	size_t size = 8, i;

	while (size < 2 * n + 1)
		size *= 2;
	if (!(t->slot = malloc(size * sizeof(*t->slot))))
		return -ENOMEM;
	for (i = 0; i < size; i++)
		t->slot[i] = -1;
	t->mask = size - 1;
	return 0;
}

void htab_free(struct htab *t)
{
	free(t->slot);
	t->slot = NULL;
}

uint64_t htab_hash(const char *p, size_t n, uint64_t salt)
{
	uint64_t h = 1469598103934665603ULL ^ salt;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

void htab_put_first(struct htab *t, uint64_t h, int v)
{
	size_t i;

	for (i = h & t->mask; t->slot[i] >= 0; i = (i + 1) & t->mask)
		;
	t->slot[i] = v;
}
