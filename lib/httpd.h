/* httpd.h: a small route-table HTTP server on libmicrohttpd, shared by every listener. */
#ifndef VIVO_HTTPD_H
#define VIVO_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "buf.h"

struct httpd;

struct httpd_req;
typedef enum MHD_Result (*httpd_handler)(struct httpd_req *r, void *ctx);

struct httpd_route {
	const char *method; /* "GET", "POST", ... or "*" for any */
	const char *path;   /* exact path, or a prefix when it ends in '*' */
	httpd_handler fn;
};

/* One request, alive from the first byte of its headers to the end of its response. */
struct httpd_req {
	struct MHD_Connection *conn;
	struct httpd *srv;
	const char *method;
	const char *path;      /* decoded path, without the query */
	char *raw_uri;         /* path and query exactly as received (owned) */
	const char *query;     /* points into raw_uri after '?', or "" */
	struct buf body;       /* the request body (bounded by the server's body_max) */
	char peer[64];         /* "ip:port" of the client */
	void *state;           /* handler-owned, freed by state_free */
	void (*state_free)(void *state);
	const struct httpd_route *route;
	bool handled;
	bool too_large;        /* the body went over the limit; the rest is discarded */
	bool busy;             /* refused: too many body bytes in flight process-wide */
	uint64_t discarded;
	size_t counted;        /* body bytes counted in the process-wide total */
};

/* A handler runs once the whole body is in (again after a resume, see httpd_suspend)
 * and must queue a response (httpd_reply and friends) or suspend the request. */


struct httpd_opts {
	const char *name;          /* listener name for logs ("exporter", "http", ...) */
	const char *addr;          /* IPv4 or IPv6 address to bind */
	uint16_t port;             /* 0 = ephemeral */
	size_t body_max;           /* requests with a larger body get 413 */
	unsigned threads;          /* polling threads (0 = 1) */
	const struct httpd_route *routes;
	size_t nroutes;
	void *ctx;                 /* passed to handlers */
	const char *cors_origin;   /* when set, 404/405/413 answers carry CORS headers too */
};

/* Bytes of request bodies all servers may hold at once (default 32 MB); beyond it a
 * request is answered 503. Set before starting servers. */
#define HTTPD_INFLIGHT_DEFAULT ((size_t)32 * 1000 * 1000)
void httpd_set_inflight_max(size_t bytes);

/* Bind and start serving. 0, or -errno with a reason in `err`. */
int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen);
/* The bound port (useful with port 0). */
uint16_t httpd_port(const struct httpd *h);
const char *httpd_name(const struct httpd *h);
/* Stop accepting, close connections, free. NULL-safe. */
void httpd_stop(struct httpd *h);

/* Queue a response and drop our reference to it. `status` is the HTTP code. */
enum MHD_Result httpd_queue(struct httpd_req *r, unsigned status, struct MHD_Response *resp);
/* Queue a response with a copied body. `ctype` may be NULL. */
enum MHD_Result httpd_reply(struct httpd_req *r, unsigned status, const char *ctype,
			    const char *body, size_t len);
/* Queue `{"error":"<msg>"}` (msg JSON-escaped) with the given status. */
enum MHD_Result httpd_reply_error(struct httpd_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pause the request (long-poll); httpd_resume makes the handler run again. */
void httpd_suspend(struct httpd_req *r);
void httpd_resume(struct httpd_req *r);
/* A request header, or NULL. */
const char *httpd_header(struct httpd_req *r, const char *name);
/* Add the CORS headers of spec agent.md 2 to `resp` when `origin` is set. */
void httpd_add_cors(struct MHD_Response *resp, const char *origin);

#endif
