/* grpc.c: the gRPC length-prefixed message framer with bounded decompression, HTTP-to-gRPC status
 * mapping and the OK / trailers-only answers. */
#include "grpc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decompress.h"

const char *grpc_accept_encoding(void)
{
#ifdef HAVE_ZSTD
	return "identity,gzip,zstd,snappy";
#else
	return "identity,gzip,snappy";
#endif
}

int grpc_code_for_http(unsigned status)
{
	switch (status) {
	case 200:
		return GRPC_OK;
	case 400:
	case 411:
	case 415:
	case 422:
		return GRPC_INVALID_ARGUMENT;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
	case 405:
	case 501:
		return GRPC_UNIMPLEMENTED;
	case 413:
	case 429:
		return GRPC_RESOURCE_EXHAUSTED;
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	case 500:
		return GRPC_INTERNAL;
	default:
		return GRPC_UNKNOWN;
	}
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

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool grpc_prefix_over(const char *held, size_t held_len, const char *data, size_t n, size_t max)
{
	unsigned char pre[5];
	size_t i;

	if (held_len >= 5 || held_len + n < 5)
		return false; /* already checked, or not all of it yet */
	for (i = 0; i < 5; i++)
		pre[i] = (unsigned char)(i < held_len ? held[i] : data[i - held_len]);
	return 5 + (uint64_t)be32(pre + 1) > max;
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

static struct httpd_resp *grpc_resp(const void *data, size_t n)
{
	struct httpd_resp *resp = httpd_resp_buffer(data, n, true);

	if (!resp || httpd_resp_header(resp, "content-type", "application/grpc") < 0 ||
	    httpd_resp_header(resp, "grpc-accept-encoding", grpc_accept_encoding()) < 0) {
		httpd_resp_free(resp);
		return NULL;
	}
	return resp;
}

enum MHD_Result grpc_reply(struct httpd_req *r, const void *msg, size_t n)
{
	struct httpd_resp *resp;
	unsigned char *framed = malloc(n + 5);

	if (!framed)
		return MHD_NO;
	framed[0] = 0;
	framed[1] = (unsigned char)(n >> 24);
	framed[2] = (unsigned char)(n >> 16);
	framed[3] = (unsigned char)(n >> 8);
	framed[4] = (unsigned char)n;
	if (n)
		memcpy(framed + 5, msg, n);
	resp = grpc_resp(framed, n + 5);
	free(framed);
	if (!resp || httpd_resp_trailer(resp, "grpc-status", "0") < 0) {
		httpd_resp_free(resp);
		return MHD_NO;
	}
	return httpd_queue(r, MHD_HTTP_OK, resp);
}

/* Percent-encode what gRPC's grpc-message does not allow as it is. */
static void pct_encode(const char *in, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < n; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c > 0x7e || c == '%') {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

enum MHD_Result grpc_reply_status(struct httpd_req *r, int code, const char *msg)
{
	struct httpd_resp *resp = grpc_resp("", 0);
	char num[12], enc[1024];

	snprintf(num, sizeof(num), "%d", code);
	pct_encode(msg ? msg : "", enc, sizeof(enc));
	if (!resp || httpd_resp_header(resp, "grpc-status", num) < 0 ||
	    (*enc && httpd_resp_header(resp, "grpc-message", enc) < 0)) {
		httpd_resp_free(resp);
		return MHD_NO;
	}
	return httpd_queue(r, MHD_HTTP_OK, resp);
}
