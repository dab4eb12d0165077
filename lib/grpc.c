/* grpc.c: gRPC answers over lib/httpd: the HTTP-to-gRPC status mapping, the early length
 * check of a message prefix, and the OK and trailers-only responses (the framer, with its
 * decoders, is lib/grpc_frame.c, so servers that never read gRPC do not link them). */
#include "grpc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


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
