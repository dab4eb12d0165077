/* grpc.h: unary gRPC over lib/httpd's HTTP/2: the answers with grpc-status trailers
 * (lib/grpc.c) and the length-prefixed message framer with bounded decompression
 * (lib/grpc_frame.c) (docs/http2.md). */
#ifndef VIVO_GRPC_H
#define VIVO_GRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "httpd.h"

/* The status codes of https://grpc.github.io/grpc/core/md_doc_statuscodes.html we use. */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

/* The encodings a message may be compressed with, for grpc-accept-encoding
 * ("identity,gzip,zstd,snappy"; zstd only in builds with libzstd). */
const char *grpc_accept_encoding(void);

/* The gRPC status for an HTTP status this server answers with (400 INVALID_ARGUMENT,
 * 404/405 UNIMPLEMENTED, 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...). */
int grpc_code_for_http(unsigned status);

/* Whether the message prefix, as far as `held` bytes already received plus the next `n`
 * bytes at `data` show it, announces a message over `max` bytes (prefix included). */
bool grpc_prefix_over(const char *held, size_t held_len, const char *data, size_t n, size_t max);

/* The one message of a unary request body (5-byte prefix: compressed flag, big-endian
 * u32 length, then the message). `encoding` is the grpc-encoding header (NULL =
 * identity); a compressed message (gzip, zstd, snappy: lib/decompress) is decoded into
 * `plain`, whose limit bounds it.
 * *msg, *len point into `body` or `plain`. Returns 0; -EINVAL (truncated or extra bytes,
 * a bad flag, undecodable data; a reason in `err`), -ENOSPC (over the limit), -ENOTSUP
 * (an encoding this server does not speak), -ENOMEM. */
int grpc_unframe(const char *body, size_t n, const char *encoding, struct buf *plain, const char **msg,
		 size_t *len, char *err, size_t errlen);

/* The gRPC code for a grpc_unframe result. */
int grpc_code_for_errno(int rc);

/* Answer OK with one uncompressed message (copied), grpc-status 0 in the trailers. */
enum MHD_Result grpc_reply(struct httpd_req *r, const void *msg, size_t n);
/* Answer with a status and a message (percent-encoded as gRPC wants), trailers only. */
enum MHD_Result grpc_reply_status(struct httpd_req *r, int code, const char *msg);

#endif
