/* grpc_frame.c: the gRPC length-prefixed message framer of lib/grpc.h: one unary message,
 * its compressed flag and grpc-encoding, decoded through lib/decompress within its limit. */
#include "grpc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decompress.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int grpc_code_for_errno(int rc)
{
	switch (rc) {
	case 0:
		return GRPC_OK;
	case -ENOSPC:
		return GRPC_RESOURCE_EXHAUSTED;
	case -ENOTSUP:
		return GRPC_UNIMPLEMENTED;
	case -ENOMEM:
		return GRPC_RESOURCE_EXHAUSTED;
	default:
		return GRPC_INVALID_ARGUMENT;
	}
}

int grpc_unframe(const char *body, size_t n, const char *encoding, struct buf *plain, const char **msg,
		 size_t *len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)body;
	enum dc_codec codec;
	uint64_t mlen;
	int rc;

	if (n < 5) {
		snprintf(err, errlen, "%s", n ? "truncated message prefix" : "no message");
		return -EINVAL;
	}
	mlen = be32(p + 1);
	if (mlen + 5 > plain->max) {
		snprintf(err, errlen, "message of %llu bytes is over the limit of %zu", (unsigned long long)mlen,
			 plain->max);
		return -ENOSPC;
	}
	if (mlen != n - 5) {
		snprintf(err, errlen, mlen > n - 5 ? "message of %llu bytes is truncated (%zu bytes)"
						  : "message of %llu bytes followed by %zu more bytes (unary call)",
			 (unsigned long long)mlen, mlen > n - 5 ? n - 5 : n - 5 - (size_t)mlen);
		return -EINVAL;
	}
	if (p[0] > 1) {
		snprintf(err, errlen, "compressed flag %u is neither 0 nor 1", p[0]);
		return -EINVAL;
	}
	if (p[0] == 0) {
		*msg = body + 5;
		*len = (size_t)mlen;
		return 0;
	}
	if (dc_codec_parse(encoding, &codec) < 0) {
		snprintf(err, errlen, "grpc-encoding %.40s is not supported (supported: %s)", encoding,
			 grpc_accept_encoding());
		return -ENOTSUP;
	}
	if (codec == DC_IDENTITY) {
		snprintf(err, errlen, "compressed message without a grpc-encoding");
		return -EINVAL;
	}
	/* The same bounded decoders, and limit, as the HTTP bodies' Content-Encoding. */
	if ((rc = dc_decode(codec, body + 5, (size_t)mlen, plain->max, plain, err, errlen)) < 0)
		return rc;
	*msg = plain->data ? plain->data : "";
	*len = plain->len;
	return 0;
}
