/* decompress.c: gzip (zlib, via gz.c), zstd (libzstd) and snappy (libsnappy's C API, raw and framed) decoders, each bounded by a limit before and while it allocates. */
#include "decompress.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <snappy-c.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

#include "gz.h"

static int say(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int dc_codec_parse(const char *name, enum dc_codec *out)
{
	size_t n;

	*out = DC_IDENTITY;
	if (!name)
		return 0;
	while (*name == ' ' || *name == '\t')
		name++;
	n = strlen(name);
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	if (n == 0 || (n == 8 && strncasecmp(name, "identity", n) == 0))
		return 0;
	if ((n == 4 && strncasecmp(name, "gzip", n) == 0) || (n == 6 && strncasecmp(name, "x-gzip", n) == 0)) {
		*out = DC_GZIP;
		return 0;
	}
	if (n == 6 && strncasecmp(name, "snappy", n) == 0) {
		*out = DC_SNAPPY;
		return 0;
	}
#ifdef HAVE_ZSTD
	if (n == 4 && strncasecmp(name, "zstd", n) == 0) {
		*out = DC_ZSTD;
		return 0;
	}
#endif
	return -ENOTSUP;
}

const char *dc_codec_name(enum dc_codec c)
{
	switch (c) {
	case DC_GZIP: return "gzip";
	case DC_ZSTD: return "zstd";
	case DC_SNAPPY: return "snappy";
	default: return "identity";
	}
}

const char *dc_supported(void)
{
#ifdef HAVE_ZSTD
	return "gzip, zstd or snappy";
#else
	return "gzip or snappy";
#endif
}

/* ---- gzip: gz_inflate, bounded by the buffer (whose limit dc_decode narrowed) ---- */

static int dc_gzip(const void *data, size_t n, size_t limit, struct buf *out, char *err, size_t errlen)
{
	int rc = gz_inflate(data, n, out);

	if (rc == -ENOSPC)
		return say(err, errlen, rc, "gzip body inflates past the limit of %zu bytes", limit);
	if (rc == -EINVAL)
		return say(err, errlen, rc, "body is not valid gzip");
	return rc;
}

/* ---- zstd ---- */

#ifdef HAVE_ZSTD
/* The window a frame asks for (RFC 8878 3.1.1.1.2); a single-segment frame's window is its
 * content size. 0 when the header is too short to say. */
static unsigned long long zstd_window(const unsigned char *p, size_t n, unsigned long long fcs)
{
	unsigned long long base;
	unsigned wd;

	if (n < 6)
		return 0;
	if (p[4] & 0x20)
		return fcs;
	wd = p[5];
	base = 1ULL << (10 + (wd >> 3));
	return base + (base / 8) * (wd & 7);
}

/* One frame, decoded in one call straight into the output buffer, which is the only
 * window zstd needs then: a frame's memory is its output, never its declared window. A
 * declared content size is checked before anything is allocated; without one the frame
 * gets the room left under the limit (pages it does not write are never touched). */
static int zstd_frame(ZSTD_DCtx *dc, const char *p, size_t fsize, size_t limit, size_t used, struct buf *out,
		      char *err, size_t errlen)
{
	unsigned long long fcs = ZSTD_getFrameContentSize(p, fsize);
	unsigned long long wmax = 1ULL << ZSTD_dParam_getBounds(ZSTD_d_windowLogMax).upperBound;
	size_t r, room = limit - used, cap;
	int rc;

	if (fcs == ZSTD_CONTENTSIZE_ERROR) {
		/* A well-formed header whose window is past what zstd decodes is a limit, not junk. */
		if (fsize >= 6 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0 && zstd_window((const unsigned char *)p, fsize, 0) > wmax)
			return say(err, errlen, -ENOSPC, "zstd frame window of %llu bytes is over the limit of %llu bytes",
				   zstd_window((const unsigned char *)p, fsize, 0), wmax);
		return say(err, errlen, -EINVAL, "body is not valid zstd: bad frame header");
	}
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs > room)
		return say(err, errlen, -ENOSPC, "zstd frame declares %llu bytes, past the limit of %zu bytes", fcs,
			   limit);
	cap = fcs == ZSTD_CONTENTSIZE_UNKNOWN ? room : (size_t)fcs;
	if ((rc = buf_reserve(out, cap)) < 0)
		return rc == -ENOSPC ? say(err, errlen, rc, "zstd body inflates past the limit of %zu bytes", limit) : rc;
	r = ZSTD_decompressDCtx(dc, out->data ? out->data + out->len : NULL, cap, p, fsize);
	if (ZSTD_isError(r)) {
		switch (ZSTD_getErrorCode(r)) {
		case ZSTD_error_dstSize_tooSmall:
			return say(err, errlen, -ENOSPC, "zstd body inflates past the limit of %zu bytes", limit);
		case ZSTD_error_frameParameter_windowTooLarge:
			return say(err, errlen, -ENOSPC, "zstd frame window of %llu bytes is over the limit of %llu bytes",
				   zstd_window((const unsigned char *)p, fsize, fcs), wmax);
		case ZSTD_error_memory_allocation:
			return -ENOMEM;
		default:
			return say(err, errlen, -EINVAL, "body is not valid zstd: %s", ZSTD_getErrorName(r));
		}
	}
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && r != fcs)
		return say(err, errlen, -EINVAL, "body is not valid zstd: frame shorter than its declared size");
	out->len += r;
	return 0;
}

static int dc_zstd(const void *data, size_t n, size_t limit, struct buf *out, char *err, size_t errlen)
{
	const char *p = data;
	size_t left = n, start = out->len;
	ZSTD_DCtx *dc;
	int rc = 0;

	if (n < 4)
		return say(err, errlen, -EINVAL, "body is not valid zstd: too short");
	if (!(dc = ZSTD_createDCtx()))
		return -ENOMEM;
	while (left > 0 && rc == 0) {
		size_t fsize = ZSTD_findFrameCompressedSize(p, left);

		if (ZSTD_isError(fsize)) {
			/* Say why: a header that asks for too much beats "truncated". */
			rc = zstd_frame(dc, p, left, limit, out->len - start, out, err, errlen);
			if (rc == 0)
				rc = say(err, errlen, -EINVAL, "body is not valid zstd: %s", ZSTD_getErrorName(fsize));
			break;
		}
		rc = zstd_frame(dc, p, fsize, limit, out->len - start, out, err, errlen);
		p += fsize;
		left -= fsize;
	}
	ZSTD_freeDCtx(dc);
	return rc;
}
#endif

/* ---- snappy ---- */

/* CRC-32C (Castagnoli), reflected, as the snappy framing format checksums its chunks. */
static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t snappy_masked_crc(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;

	pthread_once(&crc32c_once, crc32c_init);
	for (i = 0; i < n; i++)
		c = crc32c_table[(c ^ (unsigned char)p[i]) & 0xff] ^ (c >> 8);
	c = ~c;
	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* One raw snappy block: its declared length is checked against the room before any
 * allocation; libsnappy validates the block while it decodes. */
static int snappy_block(const char *p, size_t n, size_t room, size_t limit, struct buf *out, char *err,
			size_t errlen)
{
	size_t len;
	int rc;

	if (snappy_uncompressed_length(p, n, &len) != SNAPPY_OK)
		return say(err, errlen, -EINVAL, "body is not valid snappy: bad length header");
	if (len > room && room < limit) /* a chunk of the framing format that does not fit */
		return say(err, errlen, -ENOSPC, "snappy body inflates past the limit of %zu bytes", limit);
	if (len > room)
		return say(err, errlen, -ENOSPC, "snappy data declares %zu bytes, past the limit of %zu bytes", len,
			   limit);
	if (len == 0)
		return n == 1 ? 0 : say(err, errlen, -EINVAL, "body is not valid snappy: bytes after an empty block");
	if ((rc = buf_reserve(out, len)) < 0)
		return rc == -ENOSPC ? say(err, errlen, rc, "snappy body inflates past the limit of %zu bytes", limit) : rc;
	if (snappy_uncompress(p, n, out->data + out->len, &len) != SNAPPY_OK)
		return say(err, errlen, -EINVAL, "body is not valid snappy: corrupt block");
	out->len += len;
	return 0;
}

static const char snappy_stream_id[10] = { '\xff', 6, 0, 0, 's', 'N', 'a', 'P', 'p', 'Y' };

/* The framing format: chunks of type, 24-bit length, and (for data) a masked CRC-32C of
 * the uncompressed bytes; each chunk holds at most 65536 bytes uncompressed. */
static int snappy_framed(const char *p, size_t n, size_t limit, struct buf *out, char *err, size_t errlen)
{
	size_t off = 0, start = out->len;
	int rc;

	while (off < n) {
		unsigned type;
		size_t len, at;
		uint32_t crc;

		if (n - off < 4)
			return say(err, errlen, -EINVAL, "body is not valid snappy: truncated chunk header");
		type = (unsigned char)p[off];
		len = (size_t)(unsigned char)p[off + 1] | (size_t)(unsigned char)p[off + 2] << 8 |
		      (size_t)(unsigned char)p[off + 3] << 16;
		off += 4;
		if (len > n - off)
			return say(err, errlen, -EINVAL, "body is not valid snappy: truncated chunk");
		if (type == 0xff) {
			if (len != 6 || memcmp(p + off, snappy_stream_id + 4, 6) != 0)
				return say(err, errlen, -EINVAL, "body is not valid snappy: bad stream identifier");
		} else if (type == 0x00 || type == 0x01) {
			if (len < 4)
				return say(err, errlen, -EINVAL, "body is not valid snappy: chunk without a checksum");
			crc = (uint32_t)(unsigned char)p[off] | (uint32_t)(unsigned char)p[off + 1] << 8 |
			      (uint32_t)(unsigned char)p[off + 2] << 16 | (uint32_t)(unsigned char)p[off + 3] << 24;
			at = out->len;
			if (type == 0x00) {
				rc = snappy_block(p + off + 4, len - 4, limit - (out->len - start), limit, out, err, errlen);
			} else if (len - 4 > limit - (out->len - start)) {
				rc = say(err, errlen, -ENOSPC, "snappy body inflates past the limit of %zu bytes", limit);
			} else {
				rc = buf_append(out, p + off + 4, len - 4);
				if (rc == -ENOSPC)
					say(err, errlen, rc, "snappy body inflates past the limit of %zu bytes", limit);
			}
			if (rc < 0)
				return rc;
			if (out->len - at > 65536)
				return say(err, errlen, -EINVAL, "body is not valid snappy: chunk over 65536 bytes");
			if (snappy_masked_crc(out->data ? out->data + at : "", out->len - at) != crc)
				return say(err, errlen, -EINVAL, "body is not valid snappy: chunk checksum mismatch");
		} else if (type < 0x80) {
			return say(err, errlen, -EINVAL, "body is not valid snappy: reserved chunk type 0x%02x", type);
		} /* 0x80..0xfe: padding and skippable chunks */
		off += len;
	}
	return 0;
}

static int dc_snappy(const void *data, size_t n, size_t limit, struct buf *out, char *err, size_t errlen)
{
	if (n >= sizeof(snappy_stream_id) && memcmp(data, snappy_stream_id, sizeof(snappy_stream_id)) == 0)
		return snappy_framed(data, n, limit, out, err, errlen);
	if (n == 0)
		return say(err, errlen, -EINVAL, "body is not valid snappy: empty");
	return snappy_block(data, n, limit, limit, out, err, errlen);
}

static int dc_run(enum dc_codec c, const void *data, size_t n, size_t limit, struct buf *out, char *err,
		  size_t errlen)
{
	int rc;

	switch (c) {
	case DC_IDENTITY:
		if (n > limit)
			return say(err, errlen, -ENOSPC, "body is over the limit of %zu bytes", limit);
		rc = buf_append(out, data, n);
		return rc == -ENOSPC ? say(err, errlen, rc, "body is over the limit of %zu bytes", limit) : rc;
	case DC_GZIP:
		return dc_gzip(data, n, limit, out, err, errlen);
	case DC_SNAPPY:
		return dc_snappy(data, n, limit, out, err, errlen);
	case DC_ZSTD:
#ifdef HAVE_ZSTD
		return dc_zstd(data, n, limit, out, err, errlen);
#endif
	default:
		return say(err, errlen, -ENOTSUP, "%s is not supported by this build", dc_codec_name(c));
	}
}

int dc_decode(enum dc_codec c, const void *data, size_t n, size_t limit, struct buf *out, char *err,
	      size_t errlen)
{
	size_t max = out->max;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	/* The buffer itself never grows past the limit, whatever a decoder asks for. */
	if (max - out->len > limit)
		out->max = out->len + limit;
	else
		limit = max - out->len;
	rc = dc_run(c, data, n, limit, out, err, errlen);
	out->max = max;
	return rc;
}
