/* httpd.h: a small route-table HTTP server shared by every listener: HTTP/1.1 on
 * libmicrohttpd and HTTP/2 (h2c, and h2 over TLS) on nghttp2 behind one port, so handlers
 * never see which protocol carried a request (docs/http2.md). */
#ifndef VIVO_HTTPD_H
#define VIVO_HTTPD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "buf.h"

struct httpd;
struct httpd_resp;
struct h2_stream;
struct httpd_hold;
struct lsn_slot;

/* Limits every server applies (docs/http2.md, "Limits of every HTTP listener"). */
#define HTTPD_MAX_CONNS 8192      /* connections per server; idle ones are evicted from 90% */
#define HTTPD_TARGET_MAX 8192     /* bytes of path and query; 414 past it (any number of parameters) */
#define HTTPD_SMALL_BODY (256 * 1024) /* requests up to this size may use the budget's last quarter */
#define HTTPD_BODY_GRACE 5        /* seconds before the minimum upload rate applies */
#define HTTPD_BODY_MIN_RATE 1024  /* bytes/s a request body must average after the grace: 408 below */
#define HTTPD_BODY_STALL 10       /* seconds without a byte of an unfinished body: 408 */
#define HTTPD_STR_(x) #x
#define HTTPD_STR(x) HTTPD_STR_(x)

struct httpd_req;
/* Handlers return MHD_YES once they queued a response or suspended the request; MHD_NO
 * drops the connection (HTTP/1.1) or resets the stream (HTTP/2). */
typedef enum MHD_Result (*httpd_handler)(struct httpd_req *r, void *ctx);

struct httpd_route {
	const char *method; /* "GET", "POST", ... or "*" for any */
	const char *path;   /* exact path, or a prefix when it ends in '*' */
	httpd_handler fn;
};

enum httpd_proto { HTTPD_HTTP1, HTTPD_HTTP2 };

/* One request, alive from the first byte of its headers to the end of its response. */
struct httpd_req {
	struct httpd *srv;
	enum httpd_proto proto;
	struct MHD_Connection *conn; /* HTTP/1.1: the connection (NULL on HTTP/2) */
	struct h2_stream *h2;  /* HTTP/2: the stream (NULL on HTTP/1.1) */
	const char *method;
	const char *path;      /* decoded path, without the query */
	char *raw_uri;         /* path and query exactly as received (owned) */
	const char *query;     /* points into raw_uri after '?', or "" */
	struct buf body;       /* the request body (bounded by the server's body_max) */
	char peer[64];         /* "ip:port" of the client */
	void *state;           /* handler-owned, freed by state_free */
	void (*state_free)(void *state);
	const struct httpd_route *route;
	bool grpc;             /* HTTP/2 with Content-Type application/grpc[+...]: errors go out as gRPC statuses */
	bool handled;          /* a response is queued */
	bool too_large;        /* the body went over the limit; the rest is discarded */
	bool busy;             /* refused: too many body bytes in flight process-wide */
	bool suspended;        /* held by httpd_suspend until httpd_resume */
	uint64_t discarded;
	atomic_size_t counted; /* body bytes counted in the process-wide total */
	/* Set by a handler before httpd_suspend: called on a transport's thread when the client
	 * goes away while the request is held. It returns true when the handler lets go of the
	 * request (it will not call httpd_resume): the request ends at once, without an answer;
	 * false when a resume is already on its way (the request ends after it). */
	bool (*on_gone)(struct httpd_req *r);
	bool gone;             /* the client left while held */
	const char *bad_target; /* why the target is refused (NUL, too long), or NULL */
	bool must_close;       /* answer with Connection: close (HTTP/1.1) */
	bool body_done;        /* the whole body is in (or refused) */
	int64_t body_start_ms; /* headers complete (CLOCK_MONOTONIC ms): the upload rate counts from here */
	atomic_ullong body_got; /* body bytes received */
	_Atomic int64_t body_last_ms; /* when the last of them arrived (or the headers did) */
	atomic_bool timed_out; /* below the minimum upload rate: 408 */
	struct lsn_slot *slot; /* HTTP/1.1: the connection's entry in the listener's table */
	struct httpd_hold *hold; /* HTTP/1.1: the watch on a held connection */
};

/* A handler runs once the whole body is in (again after a resume, see httpd_suspend)
 * and must queue a response (httpd_reply and friends) or suspend the request. */

struct httpd_opts {
	const char *name;          /* listener name for logs ("exporter", "http", ...) */
	const char *addr;          /* IPv4 or IPv6 address to bind */
	uint16_t port;             /* 0 = ephemeral */
	size_t body_max;           /* requests with a larger body get 413 */
	unsigned threads;          /* HTTP/1.1 threads, and as many HTTP/2 event loops (0 = 1) */
	const struct httpd_route *routes;
	size_t nroutes;
	void *ctx;                 /* passed to handlers */
	const char *cors_origin;   /* when set, 404/405/413 answers carry CORS headers too */
	const char *tls_crt_file;  /* both set: TLS only (h2 by ALPN, else HTTP/1.1) */
	const char *tls_key_file;
};

/* Bytes of request bodies all servers may hold at once (default 32 MB); beyond it a
 * request is answered 503. Set before starting servers. Covers HTTP/1.1 and HTTP/2. */
#define HTTPD_INFLIGHT_DEFAULT ((size_t)32 * 1000 * 1000)
void httpd_set_inflight_max(size_t bytes);
/* Body bytes held right now by all servers (for tests and self-metrics). */
size_t httpd_inflight(void);

/* The process is shutting down: servers stopped from now on give requests in flight until
 * `grace_s` seconds from now (one deadline for all of them; Forward uses it too). Until this is
 * called a stop gives them 5 s. */
void httpd_begin_shutdown(long long grace_s);
/* CLOCK_MONOTONIC milliseconds. */
int64_t httpd_now_ms(void);
/* The deadline (CLOCK_MONOTONIC ms) a stop starting now waits until at most. */
int64_t httpd_stop_deadline(void);

/* Bind and start serving. 0, or -errno with a reason in `err`. */
int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen);
/* The bound port (useful with port 0). */
uint16_t httpd_port(const struct httpd *h);
const char *httpd_name(const struct httpd *h);
/* Stop accepting new connections (the first step of httpd_stop, for stopping several
 * servers at once). NULL-safe. */
void httpd_drain(struct httpd *h);
/* Stop accepting; HTTP/2 clients get GOAWAY and new requests are refused (503, gRPC
 * UNAVAILABLE) while requests in flight, HTTP/1.1 and HTTP/2, finish (until
 * httpd_stop_deadline); then close everything, free. NULL-safe. */
void httpd_stop(struct httpd *h);

/* ---- responses ------------------------------------------------------------------------ */

/* A response body reader: copy at most `max` bytes at offset `pos` into `buf`; returns
 * the count, HTTPD_READER_END at the end or HTTPD_READER_ERROR (the same contract and
 * values as libmicrohttpd's content reader). */
typedef ssize_t (*httpd_reader)(void *cls, uint64_t pos, char *buf, size_t max);
#define HTTPD_READER_END ((ssize_t)-1)
#define HTTPD_READER_ERROR ((ssize_t)-2)
#define HTTPD_SIZE_UNKNOWN UINT64_MAX

/* A response with a body in memory: `copy` duplicates it, otherwise it must outlive the
 * response (static data). NULL on ENOMEM. */
struct httpd_resp *httpd_resp_buffer(const void *data, size_t len, bool copy);
/* A response whose body comes from `fn` (total may be HTTPD_SIZE_UNKNOWN), `block` bytes
 * at a time; `cls_free(cls)` runs when the response is done, also on failure here. */
struct httpd_resp *httpd_resp_reader(uint64_t total, size_t block, httpd_reader fn, void *cls,
				     void (*cls_free)(void *cls));
/* Add a header (copied). 0 or -ENOMEM. NULL-safe on `resp`. */
int httpd_resp_header(struct httpd_resp *resp, const char *name, const char *value);
/* Add a trailer (copied), sent after the body on HTTP/2 (gRPC); HTTP/1.1 drops it. */
int httpd_resp_trailer(struct httpd_resp *resp, const char *name, const char *value);
/* Free a response that was not queued. NULL-safe. */
void httpd_resp_free(struct httpd_resp *resp);

/* Queue a response (takes ownership of `resp`, also on failure). `status` is the HTTP code. */
enum MHD_Result httpd_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp);
/* Queue a response with a copied body. `ctype` may be NULL. */
enum MHD_Result httpd_reply(struct httpd_req *r, unsigned status, const char *ctype,
			    const char *body, size_t len);
/* Queue `{"error":"<msg>"}` (msg JSON-escaped) with the given status; a gRPC request gets
 * the matching gRPC status and grpc-message instead (see grpc.h). */
enum MHD_Result httpd_reply_error(struct httpd_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pause the request (long-poll); httpd_resume (any thread) makes the handler run again.
 * On HTTP/2 only the stream waits: other streams of the connection go on. */
void httpd_suspend(struct httpd_req *r);
void httpd_resume(struct httpd_req *r);
/* A request header (any case), or NULL. */
const char *httpd_header(struct httpd_req *r, const char *name);
/* Add the CORS headers of spec agent.md 2 to `resp` when `origin` is set. */
void httpd_add_cors(struct httpd_resp *resp, const char *origin);

#endif
