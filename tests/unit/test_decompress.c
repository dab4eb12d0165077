/* test_decompress.c: unit tests for lib/decompress: gzip, zstd, raw and framed snappy round trips, limits, bombs and corrupt data. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <snappy-c.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "decompress.h"
#include "tap.h"

static char err[256];

static int decode(enum dc_codec c, const void *p, size_t n, size_t limit, struct buf *out)
{
	buf_free(out); /* fresh each time, so out->cap shows what a call allocated */
	err[0] = '\0';
	return dc_decode(c, p, n, limit, out, err, sizeof(err));
}

static void make_text(struct buf *b, size_t n)
{
	size_t i;

	buf_init(b, n);
	buf_reserve(b, n);
	for (i = 0; i < n; i++)
		b->data[i] = (char)('a' + (i * 7 + i / 13) % 26);
	b->len = n;
}

static void put_le(char *p, uint32_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (char)(v >> (8 * i));
}

/* The framing format around raw snappy chunks, with the masked CRC-32C each chunk needs. */
static uint32_t masked_crc(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= (unsigned char)p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	c = ~c;
	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void framed(struct buf *out, const char *p, size_t n, bool compress)
{
	static const char id[] = "\xff\x06\x00\x00sNaPpY";
	size_t off;

	buf_init(out, SIZE_MAX);
	buf_append(out, id, 10);
	for (off = 0; off < n;) {
		size_t take = n - off > 65536 ? 65536 : n - off, clen = snappy_max_compressed_length(take);
		char hdr[8];

		buf_reserve(out, 8 + clen);
		if (compress) {
			snappy_compress(p + off, take, out->data + out->len + 8, &clen);
		} else {
			memcpy(out->data + out->len + 8, p + off, take);
			clen = take;
		}
		hdr[0] = compress ? 0x00 : 0x01;
		put_le(hdr + 1, (uint32_t)(clen + 4), 3);
		put_le(hdr + 4, masked_crc(p + off, take), 4);
		memcpy(out->data + out->len, hdr, 8);
		out->len += 8 + clen;
		off += take;
	}
}

static void test_names(void)
{
	enum dc_codec c;

	ok(dc_codec_parse(NULL, &c) == 0 && c == DC_IDENTITY, "no header: identity");
	ok(dc_codec_parse(" identity ", &c) == 0 && c == DC_IDENTITY, "identity");
	ok(dc_codec_parse("GZIP", &c) == 0 && c == DC_GZIP, "GZIP");
	ok(dc_codec_parse("x-gzip", &c) == 0 && c == DC_GZIP, "x-gzip");
	ok(dc_codec_parse("Snappy", &c) == 0 && c == DC_SNAPPY, "Snappy");
#ifdef HAVE_ZSTD
	ok(dc_codec_parse("zstd", &c) == 0 && c == DC_ZSTD, "zstd");
#else
	ok(dc_codec_parse("zstd", &c) == -ENOTSUP, "zstd refused without libzstd");
#endif
	ok(dc_codec_parse("br", &c) == -ENOTSUP, "br: not supported");
	ok(dc_codec_parse("gzip, zstd", &c) == -ENOTSUP, "a list of codings is not one codec");
}

static void test_gzip(struct buf *src, struct buf *out)
{
	unsigned char z[200000];
	uLongf zn = sizeof(z);
	z_stream s;

	memset(&s, 0, sizeof(s));
	deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	s.next_in = (Bytef *)src->data;
	s.avail_in = (uInt)src->len;
	s.next_out = z;
	s.avail_out = (uInt)zn;
	deflate(&s, Z_FINISH);
	zn = s.total_out;
	deflateEnd(&s);
	ok(decode(DC_GZIP, z, zn, src->len, out) == 0 && out->len == src->len && memcmp(out->data, src->data, src->len) == 0,
	   "gzip round trip at exactly the limit: %s", err);
	ok(decode(DC_GZIP, z, zn, src->len - 1, out) == -ENOSPC && strstr(err, "limit of"),
	   "gzip one byte over the limit: %s", err);
	ok(decode(DC_GZIP, "nope", 4, 100, out) == -EINVAL && strstr(err, "gzip"), "not gzip: %s", err);
}

static void test_snappy(struct buf *src, struct buf *out)
{
	size_t zn = snappy_max_compressed_length(src->len);
	char *z = malloc(zn);
	struct buf f;

	snappy_compress(src->data, src->len, z, &zn);
	ok(decode(DC_SNAPPY, z, zn, src->len, out) == 0 && out->len == src->len &&
	   memcmp(out->data, src->data, src->len) == 0, "raw snappy round trip: %s", err);
	ok(decode(DC_SNAPPY, z, zn, src->len - 1, out) == -ENOSPC && strstr(err, "declares") && out->cap == 0,
	   "raw snappy over the limit: refused from its length header, nothing allocated: %s", err);
	ok(decode(DC_SNAPPY, z, zn - 3, src->len, out) == -EINVAL, "truncated raw snappy: %s", err);
	/* A header that claims 4 GB in front of 10 bytes. */
	ok(decode(DC_SNAPPY, "\xff\xff\xff\xff\x0fxxxxxxxxxx", 15, 4000000, out) == -ENOSPC && out->cap == 0,
	   "a 4 GB length header costs nothing: %s", err);
	ok(decode(DC_SNAPPY, "", 0, 100, out) == -EINVAL, "empty snappy body: %s", err);
	free(z);

	framed(&f, src->data, src->len, true);
	ok(decode(DC_SNAPPY, f.data, f.len, src->len, out) == 0 && out->len == src->len &&
	   memcmp(out->data, src->data, src->len) == 0, "framed snappy (%zu chunks) round trip: %s",
	   (src->len + 65535) / 65536, err);
	ok(decode(DC_SNAPPY, f.data, f.len, 65536 * 2 + 5, out) == -ENOSPC && out->len <= 65536 * 2 + 5,
	   "framed snappy stops at the limit, chunk by chunk: %s", err);
	f.data[f.len - 1] ^= 1;
	ok(decode(DC_SNAPPY, f.data, f.len, src->len, out) == -EINVAL, "framed snappy, damaged last chunk: %s", err);
	buf_free(&f);
	framed(&f, src->data, 1000, false);
	ok(decode(DC_SNAPPY, f.data, f.len, 1000, out) == 0 && out->len == 1000, "framed snappy, uncompressed chunk: %s", err);
	f.data[14] ^= 1; /* the CRC */
	ok(decode(DC_SNAPPY, f.data, f.len, 1000, out) == -EINVAL && strstr(err, "checksum"), "bad checksum: %s", err);
	f.data[14] ^= 1;
	f.data[10] = 0x02; /* a reserved unskippable chunk type */
	ok(decode(DC_SNAPPY, f.data, f.len, 1000, out) == -EINVAL && strstr(err, "reserved"), "reserved chunk: %s", err);
	f.data[10] = (char)0xfe; /* padding: skipped */
	ok(decode(DC_SNAPPY, f.data, f.len, 1000, out) == 0 && out->len == 0, "padding chunk skipped: %s", err);
	ok(decode(DC_SNAPPY, f.data, f.len - 1, 1000, out) == -EINVAL && strstr(err, "truncated"), "truncated framed: %s", err);
	buf_free(&f);
}

#ifdef HAVE_ZSTD
static void test_zstd(struct buf *src, struct buf *out)
{
	size_t bound = ZSTD_compressBound(src->len), zn;
	char *z = malloc(2 * bound + 64);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer in;
	ZSTD_outBuffer ob;
	size_t n1;

	zn = ZSTD_compress(z, bound, src->data, src->len, 3);
	ok(decode(DC_ZSTD, z, zn, src->len, out) == 0 && out->len == src->len &&
	   memcmp(out->data, src->data, src->len) == 0, "zstd round trip: %s", err);
	ok(decode(DC_ZSTD, z, zn, src->len - 1, out) == -ENOSPC && strstr(err, "declares") && out->cap == 0,
	   "zstd frame that declares more than the limit: refused before allocating: %s", err);
	n1 = zn;
	zn += ZSTD_compress(z + zn, bound, src->data, 1000, 3);
	ok(decode(DC_ZSTD, z, zn, src->len + 1000, out) == 0 && out->len == src->len + 1000, "two frames: %s", err);
	ok(decode(DC_ZSTD, z, zn, src->len + 999, out) == -ENOSPC, "two frames, one byte over: %s", err);
	ok(decode(DC_ZSTD, z, n1 - 1, src->len, out) == -EINVAL, "truncated frame: %s", err);
	/* Streamed: no content size in the header, a window of 8 MB (level 19). */
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 19);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	in = (ZSTD_inBuffer){ src->data, src->len, 0 };
	ob = (ZSTD_outBuffer){ z, bound, 0 };
	ZSTD_compressStream2(cc, &ob, &in, ZSTD_e_end);
	ok(ZSTD_getFrameContentSize(z, ob.pos) == ZSTD_CONTENTSIZE_UNKNOWN, "(streamed frame has no content size)");
	ok(decode(DC_ZSTD, z, ob.pos, src->len, out) == 0 && out->len == src->len && memcmp(out->data, src->data, src->len) == 0,
	   "streamed frame with a window larger than the limit decodes within the limit: %s", err);
	ok(decode(DC_ZSTD, z, ob.pos, src->len / 2, out) == -ENOSPC && strstr(err, "inflates past the limit of") &&
	   out->cap <= src->len / 2, "streamed frame past the limit: stops at the limit: %s", err);
	/* A valid frame header asking for a 4 GB window (Window_Log 32). */
	ok(decode(DC_ZSTD, "\x28\xb5\x2f\xfd\x00\xb0\x09\x00\x00x", 10, 4000000, out) == -ENOSPC &&
	   strstr(err, "window of 4294967296 bytes is over the limit of"), "window past zstd's limit is named: %s", err);
	/* A skippable frame before the data. */
	memcpy(z, "\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
	zn = 11 + ZSTD_compress(z + 11, bound, src->data, 100, 1);
	ok(decode(DC_ZSTD, z, zn, 100, out) == 0 && out->len == 100, "skippable frame skipped: %s", err);
	ok(decode(DC_ZSTD, "\x28\xb5\x2f", 3, 100, out) == -EINVAL, "too short: %s", err);
	ok(decode(DC_ZSTD, "\x28\xb5\x2f\xfd\xff\xff", 6, 100, out) == -EINVAL, "bad header: %s", err);
	ZSTD_freeCCtx(cc);
	free(z);
}
#endif

int main(void)
{
	struct buf src, out;

	make_text(&src, 300000);
	buf_init(&out, SIZE_MAX);
	test_names();
	test_gzip(&src, &out);
	test_snappy(&src, &out);
#ifdef HAVE_ZSTD
	test_zstd(&src, &out);
#endif
	ok(decode(DC_IDENTITY, "abc", 3, 3, &out) == 0 && out.len == 3, "identity copies");
	ok(decode(DC_IDENTITY, "abc", 3, 2, &out) == -ENOSPC, "identity over the limit: %s", err);
	buf_free(&src);
	buf_free(&out);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
