/* in_forward/scan.c: where a Forward frame ends in bytes that arrive piecemeal, refusing at its header a frame that cannot fit buffer_max_size (the hand-written walk that bounds what msgpack-c cannot). */
#include <errno.h>
#include <stdbool.h>

#include "decode.h"
#include "mp.h"

/* Total bytes of the str/bin/ext object whose header is at p, when the header is there. */
static bool declared_size(const unsigned char *p, size_t left, uint64_t *need)
{
	unsigned char b = p[0];
	size_t h, extra = 0;
	uint64_t n;

	if ((b & 0xe0) == 0xa0) {
		*need = 1 + (uint64_t)(b & 0x1f);
		return true;
	}
	switch (b) {
	case 0xc4: case 0xd9: h = 1; break;
	case 0xc5: case 0xda: h = 2; break;
	case 0xc6: case 0xdb: h = 4; break;
	case 0xc7: h = 1; extra = 1; break;
	case 0xc8: h = 2; extra = 1; break;
	case 0xc9: h = 4; extra = 1; break;
	default: return false;
	}
	if (left < 1 + h)
		return false;
	n = h == 1 ? p[1] : h == 2 ? ((uint64_t)p[1] << 8 | p[2]) :
	    ((uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4]);
	*need = 1 + h + extra + n;
	return true;
}

int fwd_scan(struct fwd_scan *s, const char *p, size_t n, size_t max, size_t *len)
{
	size_t lim = n < max ? n : max;
	struct mp_cur c;
	struct mp_obj o;
	uint64_t need;
	int rc;

	if (s->off > lim)
		return -EMSGSIZE;
	mp_cur_init(&c, p + s->off, lim - s->off);
	if (s->off == 0 && s->remaining == 0) {
		if (lim == 0)
			return 0;
		if ((rc = mp_read(&c, &o)) == MP_EBAD)
			return -EBADMSG;
		if (rc == MP_ETRUNC)
			goto trunc;
		/* Every frame (and every handshake message) is an array: anything else,
		 * such as an HTTP request sent to the wrong port, is refused at once. */
		if (o.type != MP_ARRAY)
			return -EBADMSG;
		s->remaining = o.len;
		s->off = (size_t)(c.p - p);
		if (s->remaining > max - s->off)
			return -EMSGSIZE;
	}
	while (s->remaining) {
		if ((rc = mp_read(&c, &o)) == MP_EBAD)
			return -EBADMSG;
		if (rc == MP_ETRUNC)
			goto trunc;
		s->remaining--;
		if (o.type == MP_ARRAY)
			s->remaining += o.len;
		else if (o.type == MP_MAP)
			s->remaining += 2 * (uint64_t)o.len;
		s->off = (size_t)(c.p - p);
		/* Each element takes at least one byte. */
		if (s->remaining > max - s->off)
			return -EMSGSIZE;
	}
	*len = s->off;
	return 1;
trunc:
	/* At least: the object being read, then one byte per object still to come. */
	if (lim > s->off && declared_size((const unsigned char *)c.p, lim - s->off, &need)) {
		if (need > max - s->off)
			return -EMSGSIZE;
	} else {
		need = (uint64_t)(lim - s->off) + 1;
	}
	s->need = s->off + need + (s->remaining ? s->remaining - 1 : 0);
	return n >= max ? -EMSGSIZE : 0;
}
