/* in_otlp/wire_impl.h: what the three parts of the message view share (internal to wire*.c): field
 * lookup, the protobuf scalar readers that the getters inline, and the OTLP JSON value parsers. */
#ifndef VIVO_OTLP_WIRE_IMPL_H
#define VIVO_OTLP_WIRE_IMPL_H

#include "mp.h"
#include "wire.h"

/* Set e's reason; returns -EINVAL. */
__attribute__((format(printf, 2, 3)))
int ow_fail(struct ow_err *e, const char *fmt, ...);

static inline const struct ow_field *ow_field_by_num(const struct ow_desc *d, unsigned num)
{
	size_t i = num - d->fields[0].num;

	/* Most tables list consecutive numbers: try the direct slot first. */
	if (num >= d->fields[0].num && i < d->nfields && d->fields[i].num == num)
		return &d->fields[i];
	for (i = 0; i < d->nfields; i++)
		if (d->fields[i].num == num)
			return &d->fields[i];
	return NULL;
}

/* ---- protobuf (wire_pb.c) ---- */

/* The rest of a varint that is longer than one byte. 0, or -1 when truncated or too long. */
int owpb_varint_long(const unsigned char **pp, const unsigned char *end, uint64_t *v);

/* A varint of at most 10 bytes. 0, or -1 when truncated or too long. */
static inline int owpb_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	if (*pp < end && **pp < 0x80) { /* one byte: most tags and lengths */
		*v = **pp;
		(*pp)++;
		return 0;
	}
	return owpb_varint_long(pp, end, v);
}

static inline uint64_t owpb_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint32_t owpb_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline int owpb_wire_of(enum ow_type t)
{
	switch (t) {
	case OW_UINT: case OW_INT64: case OW_SINT32: case OW_ENUM: case OW_BOOL:
		return 0;
	case OW_FIXED64: case OW_SFIXED64: case OW_DOUBLE:
		return 1;
	case OW_FIXED32:
		return 5;
	default:
		return 2;
	}
}

/* The bytes of a length-delimited value at p (validated by the open). */
static inline const char *owpb_len(const char *p, const char *end, size_t *n)
{
	const unsigned char *q = (const unsigned char *)p;
	uint64_t v = 0;

	owpb_varint(&q, (const unsigned char *)end, &v);
	*n = (size_t)v;
	return (const char *)q;
}

static inline uint64_t owpb_scalar(const struct ow_field *f, const char *at, const char *end)
{
	const unsigned char *p = (const unsigned char *)at;
	uint64_t v = 0;

	switch (owpb_wire_of((enum ow_type)f->type)) {
	case 0:
		owpb_varint(&p, (const unsigned char *)end, &v);
		return v;
	case 1:
		return owpb_le64(p);
	case 5:
		return owpb_le32(p);
	}
	return 0;
}

/* Scan a message's protobuf bytes start[0..n) into m (whose d, json and depth are set). 0 or -EINVAL. */
int owpb_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e);
/* Protobuf: the next occurrence of the iterator's field; *val at its value, *wt its wire type. */
bool owpb_next(struct ow_iter *it, const char **val, unsigned *wt);

/* ---- OTLP JSON as msgpack (wire_json.c) ---- */

/* Scan the msgpack map at start (n bytes to the end of the document) into m. 0 or -EINVAL. */
int owjs_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e);
/* Read the msgpack object at p. 0 or negative. */
int owjs_read(const char *p, const char *end, struct mp_obj *o);
/* A JSON value as an unsigned integer up to max (number or decimal string). 0 or -1. */
int owjs_u64(const struct mp_obj *o, uint64_t max, uint64_t *v);
/* A JSON value as an integer in [min, max] (number or decimal string). 0 or -1. */
int owjs_i64(const struct mp_obj *o, int64_t min, int64_t max, int64_t *v);
/* A JSON value as a double: a number, "NaN", "Infinity", "-Infinity" or a decimal string. 0 or -1. */
int owjs_f64(const struct mp_obj *o, double *v);
/* A JSON enum of field f: one of its value names or an int32. 0 or -1. */
int owjs_enum(const struct ow_field *f, const struct mp_obj *o, int64_t *v);

#endif
