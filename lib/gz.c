/* gz.c: zlib inflate loop over concatenated gzip members into a bounded buffer. */
#include "gz.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

int gz_inflate(const void *data, size_t n, struct buf *out)
{
	const unsigned char *p = data;
	size_t left = n;
	int rc = 0;

	if (n < 2 || p[0] != 0x1f || p[1] != 0x8b)
		return -EINVAL;
	while (left > 0) {
		z_stream z;
		int zr;

		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, 15 + 16) != Z_OK)
			return -ENOMEM;
		z.next_in = (Bytef *)p;
		z.avail_in = left > 0x40000000 ? 0x40000000 : (uInt)left;
		do {
			if ((rc = buf_reserve(out, 64 * 1024)) < 0) {
				/* Near the limit: offer whatever room is left, then fail on overflow. */
				if (rc == -ENOSPC && out->max > out->len && buf_reserve(out, out->max - out->len) == 0)
					rc = 0;
				else
					break;
			}
			z.next_out = (Bytef *)out->data + out->len;
			z.avail_out = (uInt)(out->cap - out->len);
			if (z.avail_out == 0) {
				rc = -ENOSPC;
				break;
			}
			zr = inflate(&z, Z_NO_FLUSH);
			out->len = out->cap - z.avail_out;
			if (zr == Z_STREAM_END)
				break;
			if (zr != Z_OK) {
				rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
				break;
			}
			if (z.avail_in == 0) {
				rc = -EINVAL; /* truncated member */
				break;
			}
		} while (1);
		left -= (size_t)(z.next_in - p);
		p = z.next_in;
		inflateEnd(&z);
		if (rc < 0)
			return rc;
		/* Trailing zero padding after the last member is tolerated, like gzip(1). */
		while (left > 0 && *p == 0) {
			p++;
			left--;
		}
		if (left > 0 && (left < 2 || p[0] != 0x1f || p[1] != 0x8b))
			return -EINVAL;
	}
	return 0;
}
