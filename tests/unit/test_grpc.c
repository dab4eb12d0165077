/* test_grpc.c: unit tests of the gRPC message framer (lib/grpc): prefixes, flags, encodings,
 * limits, the early length check over every split, and the status mappings. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "grpc.h"
#include "tap.h"

static size_t framed(char *out, uint8_t flag, const void *msg, uint32_t n)
{
	out[0] = (char)flag;
	out[1] = (char)(n >> 24);
	out[2] = (char)(n >> 16);
	out[3] = (char)(n >> 8);
	out[4] = (char)n;
	memcpy(out + 5, msg, n);
	return 5 + (size_t)n;
}

/* gzip of `in` with zlib (a gzip wrapper: windowBits 15 + 16). */
static size_t gzip_of(const void *in, size_t n, char *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static int unframe(const char *body, size_t n, const char *enc, size_t limit, const char **msg, size_t *len,
		   struct buf *plain, char *err)
{
	buf_init(plain, limit);
	err[0] = '\0';
	return grpc_unframe(body, n, enc, plain, msg, len, err, 256);
}

static void test_plain(void)
{
	char body[64], err[256];
	const char *msg;
	size_t n = framed(body, 0, "\x0a\x02\x08\x01", 4), len;
	struct buf plain;

	ok(unframe(body, n, NULL, 1000, &msg, &len, &plain, err) == 0 && msg == body + 5 && len == 4,
	   "one uncompressed message: points into the body");
	buf_free(&plain);
	ok(unframe(body, n, "identity", 1000, &msg, &len, &plain, err) == 0, "grpc-encoding identity, flag 0");
	buf_free(&plain);
	ok(unframe(body, 5, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "truncated"),
	   "a length past the end: EINVAL, truncated (%s)", err);
	buf_free(&plain);
	memcpy(body + n, body, n);
	ok(unframe(body, 2 * n, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "followed by"),
	   "two messages in a unary call: EINVAL (%s)", err);
	buf_free(&plain);
	ok(unframe(body, 3, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "prefix"),
	   "three bytes: a truncated prefix");
	buf_free(&plain);
	ok(unframe(body, 0, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "no message"),
	   "an empty body: no message");
	buf_free(&plain);
	body[0] = 2;
	ok(unframe(body, n, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "flag"), "flag 2: EINVAL");
	buf_free(&plain);
	n = framed(body, 0, "", 0);
	ok(unframe(body, n, NULL, 1000, &msg, &len, &plain, err) == 0 && len == 0, "an empty message is a message");
	buf_free(&plain);
}

static void test_limits(void)
{
	char body[16] = { 0, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 'x' }, err[256];
	const char *msg;
	size_t len, i;
	struct buf plain;

	ok(unframe(body, 6, NULL, 4000000, &msg, &len, &plain, err) == -ENOSPC && strstr(err, "limit"),
	   "a 4 GB prefix: ENOSPC before anything else (%s)", err);
	buf_free(&plain);
	ok(grpc_prefix_over(NULL, 0, body, 6, 4000000), "the early check sees the 4 GB prefix");
	for (i = 1; i < 5; i++)
		ok(grpc_prefix_over(body, i, body + i, 6 - i, 4000000), "... split after %zu bytes too", i);
	ok(!grpc_prefix_over(body, 5, body + 5, 1, 4000000), "a prefix already checked is not checked again");
	ok(!grpc_prefix_over(body, 2, body + 2, 1, 4000000), "an incomplete prefix says nothing yet");
	body[1] = body[2] = 0;
	body[3] = 0x0f;
	body[4] = (char)0xfb; /* 4091 */
	ok(!grpc_prefix_over(NULL, 0, body, 6, 4096) && grpc_prefix_over(NULL, 0, body, 6, 4095),
	   "4091 bytes + 5: fits 4096, not 4095");
	body[0] = 1;
	ok(grpc_prefix_over(NULL, 0, body, 6, 4095), "the compressed flag is not part of the length");
}

static void test_compressed(void)
{
	static char big[200000];
	char z[4096], body[4200], err[256];
	const char *msg;
	size_t zn, n, len;
	struct buf plain;

	zn = gzip_of("\x0a\x02\x08\x01", 4, z, sizeof(z));
	n = framed(body, 1, z, (uint32_t)zn);
	ok(unframe(body, n, "gzip", 1000, &msg, &len, &plain, err) == 0 && len == 4 && memcmp(msg, "\x0a\x02\x08\x01", 4) == 0,
	   "flag 1, grpc-encoding gzip: inflated");
	buf_free(&plain);
	ok(unframe(body, n, NULL, 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "grpc-encoding"),
	   "flag 1 without grpc-encoding: EINVAL");
	buf_free(&plain);
	ok(unframe(body, n, "identity", 1000, &msg, &len, &plain, err) == -EINVAL, "flag 1 with identity: EINVAL");
	buf_free(&plain);
	ok(unframe(body, n, "br", 1000, &msg, &len, &plain, err) == -ENOTSUP && strstr(err, "not supported"),
	   "an encoding this server does not speak: ENOTSUP (%s)", err);
	buf_free(&plain);
	ok(grpc_code_for_errno(-ENOTSUP) == GRPC_UNIMPLEMENTED, "... which is UNIMPLEMENTED");
	memset(big, 'a', sizeof(big));
	zn = gzip_of(big, sizeof(big), z, sizeof(z));
	n = framed(body, 1, z, (uint32_t)zn);
	ok(unframe(body, n, "gzip", 100000, &msg, &len, &plain, err) == -ENOSPC && strstr(err, "inflates past"),
	   "a gzip bomb stops at the limit: ENOSPC (%zu bytes on the wire)", n);
	buf_free(&plain);
	n = framed(body, 1, "nope", 4);
	ok(unframe(body, n, "gzip", 1000, &msg, &len, &plain, err) == -EINVAL && strstr(err, "gzip"), "bad gzip: EINVAL");
	buf_free(&plain);
}

#ifdef HAVE_ZSTD
static void test_zstd(void)
{
	char z[256], body[300], err[256];
	const char *msg;
	size_t zn = ZSTD_compress(z, sizeof(z), "\x0a\x02\x08\x01", 4, 3), n, len;
	struct buf plain;

	n = framed(body, 1, z, (uint32_t)zn);
	ok(unframe(body, n, "zstd", 1000, &msg, &len, &plain, err) == 0 && len == 4 && memcmp(msg, "\x0a\x02\x08\x01", 4) == 0,
	   "flag 1, grpc-encoding zstd: decoded by lib/decompress");
	buf_free(&plain);
	ok(strstr(grpc_accept_encoding(), "zstd") != NULL, "grpc-accept-encoding names zstd");
}
#endif

static void test_codes(void)
{
	ok(grpc_code_for_http(400) == GRPC_INVALID_ARGUMENT && grpc_code_for_http(404) == GRPC_UNIMPLEMENTED &&
	   grpc_code_for_http(405) == GRPC_UNIMPLEMENTED && grpc_code_for_http(413) == GRPC_RESOURCE_EXHAUSTED &&
	   grpc_code_for_http(503) == GRPC_UNAVAILABLE && grpc_code_for_http(500) == GRPC_INTERNAL &&
	   grpc_code_for_http(418) == GRPC_UNKNOWN,
	   "HTTP statuses map to gRPC codes");
	ok(grpc_code_for_errno(-EINVAL) == GRPC_INVALID_ARGUMENT && grpc_code_for_errno(-ENOSPC) == GRPC_RESOURCE_EXHAUSTED &&
	   grpc_code_for_errno(0) == GRPC_OK,
	   "framer results map to gRPC codes");
}

int main(void)
{
	test_plain();
	test_limits();
	test_compressed();
#ifdef HAVE_ZSTD
	test_zstd();
#endif
	test_codes();
	return tap_done();
}
