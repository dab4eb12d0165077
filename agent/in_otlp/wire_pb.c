/* in_otlp/wire_pb.c: protobuf wire scanning for the message view: tags and varints, skipping,
 * packed runs and the one-pass open that records and checks every known field. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire_impl.h"

static const char *fname(const struct ow_field *f)
{
	return f->proto ? f->proto : f->json;
}

int owpb_varint_long(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;
	unsigned s;

	for (s = 0; s < 70; s += 7) {
		unsigned char b;

		if (p >= end)
			return -1;
		b = *p++;
		if (s < 64)
			r |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Skip one value of wire type `wt` at *pp. 0 or -1 (truncated / unsupported). */
static int pb_skip(const unsigned char **pp, const unsigned char *end, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return owpb_varint(pp, end, &v);
	case 1:
		if (end - *pp < 8)
			return -1;
		*pp += 8;
		return 0;
	case 2:
		if (owpb_varint(pp, end, &v) < 0 || v > (uint64_t)(end - *pp))
			return -1;
		*pp += v;
		return 0;
	case 5:
		if (end - *pp < 4)
			return -1;
		*pp += 4;
		return 0;
	default:
		return -1;
	}
}

static int pb_check_packed(const struct ow_field *f, const unsigned char *p, const unsigned char *end)
{
	int wt = owpb_wire_of((enum ow_type)f->type);

	while (p < end)
		if (pb_skip(&p, end, (unsigned)wt) < 0)
			return -1;
	return 0;
}

int owpb_open(struct ow_msg *m, const char *start, size_t n, struct ow_err *e)
{
	const unsigned char *p = (const unsigned char *)start, *end = p + n;

	m->end = start + n;
	while (p < end) {
		const unsigned char *tagpos = p, *val;
		const struct ow_field *f;
		uint64_t tag;
		unsigned num, wt;

		if (owpb_varint(&p, end, &tag) < 0)
			return ow_fail(e, "%s: truncated field tag", m->d->name);
		num = tag >> 3 > 0xffffffffu ? 0 : (unsigned)(tag >> 3);
		wt = (unsigned)(tag & 7);
		if (num == 0)
			return ow_fail(e, "%s: field number 0", m->d->name);
		val = p;
		if (pb_skip(&p, end, wt) < 0)
			return ow_fail(e, "%s: field %u (wire type %u) is truncated or of an unsupported wire type",
				    m->d->name, num, wt);
		if (num > OW_MAXF || !(f = ow_field_by_num(m->d, num)))
			continue; /* unknown fields are skipped */
		if ((int)wt != owpb_wire_of((enum ow_type)f->type)) {
			const unsigned char *q = val;
			uint64_t len = 0;

			/* Repeated scalars may come packed in one length-delimited run. */
			if (!(f->repeated && wt == 2 && f->type != OW_MSG && owpb_wire_of((enum ow_type)f->type) != 2))
				return ow_fail(e, "%s.%s: wrong wire type %u", m->d->name, fname(f), wt);
			owpb_varint(&q, end, &len);
			if (pb_check_packed(f, q, q + len) < 0)
				return ow_fail(e, "%s.%s: bad packed values", m->d->name, fname(f));
		} else if (f->type == OW_ID16 || f->type == OW_ID8) {
			size_t len;

			owpb_len((const char *)val, m->end, &len);
			if (len != 0 && len != (f->type == OW_ID16 ? 16u : 8u))
				return ow_fail(e, "%s.%s: %zu bytes, must be %u", m->d->name, fname(f), len,
					    f->type == OW_ID16 ? 16 : 8);
		}
		if (f->repeated) {
			if (!ow_has(m, num))
				m->at[num] = (const char *)tagpos;
		} else {
			m->at[num] = (const char *)val;
		}
		m->f[num] = f;
		m->seen |= 1u << num;
	}
	return 0;
}

bool owpb_next(struct ow_iter *it, const char **val, unsigned *wt)
{
	const unsigned char *p = (const unsigned char *)it->p, *end = (const unsigned char *)it->m->end;

	if (!p)
		return false;
	while (p < end) {
		const unsigned char *v;
		uint64_t tag;

		if (owpb_varint(&p, end, &tag) < 0)
			break;
		v = p;
		if (pb_skip(&p, end, (unsigned)(tag & 7)) < 0)
			break;
		if ((tag >> 3) == it->num) {
			it->p = (const char *)p;
			*val = (const char *)v;
			*wt = (unsigned)(tag & 7);
			return true;
		}
	}
	it->p = NULL;
	return false;
}
