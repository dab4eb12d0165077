/* httpd_int.h: what lib/httpd.c shares with its transports (lib/h2.c, lib/listener.c):
 * the server and response structures and the protocol-neutral request steps. */
#ifndef VIVO_HTTPD_INT_H
#define VIVO_HTTPD_INT_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "httpd.h"

struct lsn;

struct httpd {
	struct MHD_Daemon *d;      /* HTTP/1.1 connections, handed over by the listener */
	struct lsn *lsn;           /* the listening socket and the HTTP/2 event loops */
	struct httpd_opts o;
	char name[32];
	char cors[256];
	uint16_t port;
	atomic_bool draining;      /* httpd_stop has begun: refuse new requests */
	atomic_int active1;        /* HTTP/1.1 requests in progress (uri_logger to completed) */
};

/* Headers and trailers: `n` pairs "name\0value\0" in `list`. */
struct httpd_fields {
	struct buf list;
	size_t n;
};

struct httpd_resp {
	const char *data;          /* buffer body (or NULL for a reader) */
	size_t len;
	char *owned;               /* the copy `data` points to, if any */
	httpd_reader fn;
	void *cls;
	void (*cls_free)(void *cls);
	uint64_t total;            /* reader: body size or HTTPD_SIZE_UNKNOWN */
	size_t block;
	struct httpd_fields headers;
	struct httpd_fields trailers;
};

/* Add a pair (copied). 0, -ENOMEM (also over the list's limit), -EINVAL for a NUL inside. */
int httpd_fields_add(struct httpd_fields *f, const char *name, const char *value);
int httpd_fields_addn(struct httpd_fields *f, const char *name, size_t nl, const char *value, size_t vl);
/* Walk `f`: `*off` starts at 0; returns the next name (value in *value) or NULL. */
const char *httpd_fields_next(const struct httpd_fields *f, size_t *off, const char **value);

/* A request of `proto` from `peer` on `h` (body buffer bounded by body_max). NULL on ENOMEM. */
struct httpd_req *httpd_req_new(struct httpd *h, enum httpd_proto proto, const char *peer);
/* HTTP/2: take the method and the raw :path (copied; the path is %-decoded). 0 or -ENOMEM. */
int httpd_req_target(struct httpd_req *r, const char *method, const char *raw_path);
/* Headers are in: refuse while draining, find the route (404/405), refuse an announced
 * oversize body (413). MHD_NO drops the connection or stream. */
enum MHD_Result httpd_req_begin(struct httpd_req *r);
/* Body bytes: counted against the process-wide budget and the body limit. Returns 0, or
 * -1 when the client keeps sending far past the limit and should be cut off. */
int httpd_req_data(struct httpd_req *r, const char *data, size_t n);
/* The body is complete (or refused): answer 413/503, or run the handler. */
enum MHD_Result httpd_req_run(struct httpd_req *r);
/* Free the request: the handler's state, its share of the budget, the body. NULL-safe. */
void httpd_req_free(struct httpd_req *r);

/* HTTP/2 side (lib/h2.c) of httpd_queue, httpd_header, httpd_suspend and httpd_resume. */
enum MHD_Result h2_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp);
const char *h2_header(struct httpd_req *r, const char *name);
void h2_suspend(struct httpd_req *r);
void h2_resume(struct httpd_req *r);

/* HTTP/1.1 side (lib/httpd_mhd.c): the daemon, answers, holds. */
int mhd_start(struct httpd *h);
enum MHD_Result mhd_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp);
void mhd_suspend(struct httpd_req *r);
void mhd_resume(struct httpd_req *r);

/* Give the request's body bytes back to the process-wide budget (any thread, once or more). */
void httpd_req_release_budget(struct httpd_req *r);
/* Its body has arrived below HTTPD_BODY_MIN_RATE since the grace period (408). */
bool httpd_req_too_slow(const struct httpd_req *r, int64_t now);

/* Check the framing of an HTTP/1.1 request head at the start of p[0..n) (the first request
 * of a connection, peeked by the listener before libmicrohttpd reads it: its own answer to
 * a malformed Content-Length is malformed, docs/http2.md). 0 when the head is fine or not
 * complete yet; 400 or 413 with a reason in `why`. */
int http1_head_check(const char *p, size_t n, char *why, size_t whylen);
/* p[0..n) (the start of a connection's bytes) can still become an HTTP/1.x request head:
 * a method of capital letters and a space, and a first line ending in " HTTP/1.x" once it is
 * complete. */
bool http1_line_plausible(const char *p, size_t n);

/* The first head p[0..n) is an HTTP/1.1 request that asks for h2c (RFC 7540 3.2: Upgrade
 * h2c, Connection naming Upgrade and HTTP2-Settings, one HTTP2-Settings) and has no body,
 * so the listener may take it up: the head's length through its blank line, with the
 * HTTP2-Settings value in *settings (into p) and *sl. 0 otherwise (served over HTTP/1.1,
 * the upgrade ignored, as RFC 9110 7.8 allows). */
size_t http1_h2c_request(const char *p, size_t n, const char **settings, size_t *sl);

/* Hand an accepted HTTP/1.1 connection to libmicrohttpd (it closes `fd` in any case). */
int httpd_add_http1(struct httpd *h, int fd, const struct sockaddr *addr, socklen_t alen);

#endif
