/* in_otlp/wire.c: the message view over both encodings: open and sub-messages, the getters and the
 * iterators of repeated fields (protobuf scanning in wire_pb.c, JSON value rules in wire_json.c). */
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "wire_impl.h"

__attribute__((format(printf, 2, 3)))
int ow_fail(struct ow_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int ow_open(struct ow_msg *m, const struct ow_desc *d, bool json, const char *p, size_t n, int depth,
	    struct ow_err *e)
{
	m->d = d;
	m->json = json;
	m->depth = depth;
	m->seen = 0;
	m->end = p + n;
	if (depth > OW_MAX_DEPTH)
		return ow_fail(e, "%s: nesting deeper than %d", d->name, OW_MAX_DEPTH);
	return json ? owjs_open(m, p, n, e) : owpb_open(m, p, n, e);
}

int ow_sub(const struct ow_msg *m, unsigned num, struct ow_msg *sub, struct ow_err *e)
{
	const struct ow_field *f;
	const char *p;
	size_t n;

	if (!ow_has(m, num)) {
		f = ow_field_by_num(m->d, num);
		sub->d = f ? f->sub : NULL;
		sub->json = m->json;
		sub->depth = m->depth + 1;
		sub->seen = 0;
		sub->end = m->end;
		return 0;
	}
	f = m->f[num];
	if (m->json)
		return ow_open(sub, f->sub, true, m->at[num], (size_t)(m->end - m->at[num]), m->depth + 1, e);
	p = owpb_len(m->at[num], m->end, &n);
	return ow_open(sub, f->sub, false, p, n, m->depth + 1, e);
}

/* ---- getters ----------------------------------------------------------------------- */

uint64_t ow_u64(const struct ow_msg *m, unsigned num)
{
	const struct ow_field *f;
	struct mp_obj o;
	uint64_t v = 0;
	int64_t i = 0;

	if (!ow_has(m, num))
		return 0;
	f = m->f[num];
	if (!m->json)
		return owpb_scalar(f, m->at[num], m->end);
	if (owjs_read(m->at[num], m->end, &o) < 0)
		return 0;
	if (f->type == OW_BOOL)
		return o.type == MP_BOOL && o.v.b;
	if (f->type == OW_ENUM)
		return owjs_enum(f, &o, &i) == 0 ? (uint64_t)i : 0;
	return owjs_u64(&o, UINT64_MAX, &v) == 0 ? v : 0;
}

int64_t ow_i64(const struct ow_msg *m, unsigned num)
{
	const struct ow_field *f;
	struct mp_obj o;
	int64_t v = 0;
	uint64_t u;

	if (!ow_has(m, num))
		return 0;
	f = m->f[num];
	if (!m->json) {
		u = owpb_scalar(f, m->at[num], m->end);
		if (f->type == OW_SINT32)
			return (int32_t)((uint32_t)(u >> 1) ^ (uint32_t)-(int32_t)(u & 1));
		if (f->type == OW_ENUM)
			return (int32_t)(uint32_t)u;
		return (int64_t)u;
	}
	if (owjs_read(m->at[num], m->end, &o) < 0)
		return 0;
	if (f->type == OW_ENUM)
		return owjs_enum(f, &o, &v) == 0 ? v : 0;
	return owjs_i64(&o, INT64_MIN, INT64_MAX, &v) == 0 ? v : 0;
}

double ow_f64(const struct ow_msg *m, unsigned num)
{
	struct mp_obj o;
	uint64_t u;
	double d = 0;

	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		u = owpb_scalar(m->f[num], m->at[num], m->end);
		memcpy(&d, &u, sizeof(d));
		return d;
	}
	if (owjs_read(m->at[num], m->end, &o) < 0 || owjs_f64(&o, &d) < 0)
		return 0;
	return d;
}

bool ow_bool(const struct ow_msg *m, unsigned num)
{
	return ow_u64(m, num) != 0;
}

const char *ow_str(const struct ow_msg *m, unsigned num, size_t *len)
{
	struct mp_obj o;

	*len = 0;
	if (!ow_has(m, num))
		return "";
	if (!m->json)
		return owpb_len(m->at[num], m->end, len);
	if (owjs_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR)
		return "";
	*len = o.len;
	return o.ptr;
}

int ow_bytes(const struct ow_msg *m, unsigned num, struct buf *out)
{
	struct mp_obj o;
	const char *p;
	size_t n;
	int rc;

	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		p = owpb_len(m->at[num], m->end, &n);
		return buf_append(out, p, n);
	}
	if (owjs_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR)
		return 0;
	rc = codec_base64_decode(o.ptr, o.len, out);
	return rc == -EINVAL ? 0 : rc;
}

size_t ow_hex(const struct ow_msg *m, unsigned num, char out[33])
{
	static const char hexdig[] = "0123456789abcdef";
	struct mp_obj o;
	const char *p;
	size_t n, i;

	out[0] = '\0';
	if (!ow_has(m, num))
		return 0;
	if (!m->json) {
		p = owpb_len(m->at[num], m->end, &n);
		if (n > 16)
			n = 16;
		for (i = 0; i < n; i++) {
			out[2 * i] = hexdig[(unsigned char)p[i] >> 4];
			out[2 * i + 1] = hexdig[(unsigned char)p[i] & 15];
		}
		out[2 * n] = '\0';
		return 2 * n;
	}
	if (owjs_read(m->at[num], m->end, &o) < 0 || o.type != MP_STR || o.len > 32)
		return 0;
	for (i = 0; i < o.len; i++) {
		int v = codec_hexval(o.ptr[i]);

		out[i] = hexdig[v < 0 ? 0 : v];
	}
	out[o.len] = '\0';
	return o.len;
}

unsigned ow_oneof(const struct ow_msg *m, const unsigned *nums, size_t n)
{
	const char *best = NULL;
	unsigned which = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ow_has(m, nums[i]) && (!best || m->at[nums[i]] > best)) {
			best = m->at[nums[i]];
			which = nums[i];
		}
	}
	return which;
}

/* ---- repeated fields ------------------------------------------------------------- */

void ow_iter_init(struct ow_iter *it, const struct ow_msg *m, unsigned num)
{
	struct mp_obj o;
	struct mp_cur c;

	memset(it, 0, sizeof(*it));
	it->m = m;
	it->num = num;
	if (!ow_has(m, num))
		return;
	if (!m->json) {
		it->p = m->at[num];
		return;
	}
	mp_cur_init(&c, m->at[num], (size_t)(m->end - m->at[num]));
	if (mp_read(&c, &o) == 0 && o.type == MP_ARRAY) {
		it->p = c.p;
		it->left = o.len;
	}
}

int ow_next_msg(struct ow_iter *it, struct ow_msg *sub, struct ow_err *e)
{
	const struct ow_msg *m = it->m;
	const struct ow_field *f;
	const char *val, *p;
	unsigned wt;
	size_t n;
	int rc;

	if (!ow_has(m, it->num))
		return 0;
	f = m->f[it->num];
	if (m->json) {
		struct mp_cur c;

		if (it->left == 0)
			return 0;
		it->left--;
		if ((rc = ow_open(sub, f->sub, true, it->p, (size_t)(m->end - it->p), m->depth + 1, e)) < 0)
			return rc;
		mp_cur_init(&c, it->p, (size_t)(m->end - it->p));
		mp_skip(&c);
		it->p = c.p;
		return 1;
	}
	if (!owpb_next(it, &val, &wt))
		return 0;
	p = owpb_len(val, m->end, &n);
	if ((rc = ow_open(sub, f->sub, false, p, n, m->depth + 1, e)) < 0)
		return rc;
	return 1;
}

/* The next raw scalar of a repeated field: protobuf packed runs or single values. */
static bool next_raw(struct ow_iter *it, uint64_t *raw, struct mp_obj *jo)
{
	const struct ow_msg *m = it->m;
	const struct ow_field *f;
	const char *val;
	unsigned wt;
	int want;

	if (!ow_has(m, it->num))
		return false;
	f = m->f[it->num];
	if (m->json) {
		struct mp_cur c;

		if (it->left == 0)
			return false;
		it->left--;
		mp_cur_init(&c, it->p, (size_t)(m->end - it->p));
		if (mp_read(&c, jo) < 0)
			return false;
		it->p = c.p;
		return true;
	}
	want = owpb_wire_of((enum ow_type)f->type);
	for (;;) {
		if (it->packed && it->packed < it->packed_end) {
			const unsigned char *p = (const unsigned char *)it->packed;

			*raw = want == 0 ? 0 : want == 1 ? owpb_le64(p) : owpb_le32(p);
			if (want == 0)
				owpb_varint(&p, (const unsigned char *)it->packed_end, raw);
			else
				p += want == 1 ? 8 : 4;
			it->packed = (const char *)p;
			return true;
		}
		it->packed = NULL;
		if (!owpb_next(it, &val, &wt))
			return false;
		if ((int)wt == want) {
			*raw = owpb_scalar(f, val, m->end);
			return true;
		}
		{
			size_t n;

			it->packed = owpb_len(val, m->end, &n);
			it->packed_end = it->packed + n;
		}
	}
}

bool ow_next_u64(struct ow_iter *it, uint64_t *v)
{
	struct mp_obj o;

	if (!next_raw(it, v, &o))
		return false;
	if (it->m->json && owjs_u64(&o, UINT64_MAX, v) < 0)
		*v = 0;
	return true;
}

bool ow_next_f64(struct ow_iter *it, double *v)
{
	struct mp_obj o;
	uint64_t raw = 0;

	if (!next_raw(it, &raw, &o))
		return false;
	if (!it->m->json)
		memcpy(v, &raw, sizeof(*v));
	else if (owjs_f64(&o, v) < 0)
		*v = 0;
	return true;
}

size_t ow_count(const struct ow_msg *m, unsigned num)
{
	struct ow_iter it;
	size_t n = 0;
	uint64_t u;

	if (!ow_has(m, num))
		return 0;
	ow_iter_init(&it, m, num);
	if (m->json)
		return it.left;
	if (m->f[num]->type == OW_MSG) {
		const char *val;
		unsigned wt;

		while (owpb_next(&it, &val, &wt))
			n++;
		return n;
	}
	while (ow_next_u64(&it, &u))
		n++;
	return n;
}
