/* listener.h: one listening socket per server and its event-loop threads: accept, look at
 * the first bytes (or TLS ALPN), run HTTP/2 connections here and hand the rest to
 * libmicrohttpd (docs/http2.md). */
#ifndef VIVO_LISTENER_H
#define VIVO_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct httpd;
struct httpd_req;
struct lsn;
struct lsn_conn;
struct lsn_slot;

enum tag_kind { T_LISTEN, T_EVENT, T_SOCK, T_PAIR, T_WATCH };
struct tag {
	enum tag_kind kind;
	struct lsn_conn *c;
};

/* A socket watched for its peer closing (a held HTTP/1.1 long-poll): `fn(w, true)` runs on
 * the loop's thread when it does (the watch is out of the epoll set then), `fn(w, false)`
 * once the watch is released (lsn_watch_release), after which the listener never touches
 * it. The caller owns `fd`. */
struct lsn_watch {
	struct tag tag;            /* the listener's */
	int fd;
	void (*fn)(struct lsn_watch *w, int fired);
	struct loop *lp;           /* the listener's */
	struct lsn_watch *next;    /* the listener's */
	bool fired, released;      /* the listener's */
};

struct lsn_opts {
	const char *addr;          /* IPv4 or IPv6 address */
	uint16_t port;             /* 0 = ephemeral */
	unsigned loops;            /* event-loop threads (>= 1) */
	const char *tls_crt_file;  /* both set: every connection is TLS */
	const char *tls_key_file;
};

/* Bind, listen and start the loops of server `h`; *port gets the bound port. 0, or
 * -errno with a reason in `err`. */
int lsn_start(struct httpd *h, const struct lsn_opts *o, struct lsn **out, uint16_t *port, char *err,
	      size_t errlen);
/* Stop accepting; HTTP/2 sessions get GOAWAY and finish their streams; returns at once. */
void lsn_drain_begin(struct lsn *l);
/* lsn_drain_begin, then wait until the HTTP/2 sessions are closed or `deadline_ms`
 * (CLOCK_MONOTONIC) passes. NULL-safe. */
void lsn_drain(struct lsn *l, int64_t deadline_ms);
/* Stop the loops, close every connection, free. Call after lsn_drain and after the
 * HTTP/1.1 daemon is stopped. NULL-safe. */
void lsn_stop(struct lsn *l);

/* Ask the loop owning `c` to call h2_session_wake for it soon. Any thread. */
void lsn_conn_wake(struct lsn_conn *c);
/* The HTTP/2 connection `c` has streams (busy) or none (idle: evictable). Its loop only. */
void lsn_conn_busy(struct lsn_conn *c, bool busy);

/* Start watching w->fd (w->fn set). 0 or -errno. Any thread. */
int lsn_watch_add(struct lsn *l, struct lsn_watch *w);
/* Stop watching; fn(w, false) follows on the loop's thread. Exactly once per watch. */
void lsn_watch_release(struct lsn_watch *w);

/* libmicrohttpd started the connection on `fd`: its slot (NULL when the listener did not
 * hand it over, e.g. a TLS relay's pair). */
struct lsn_slot *lsn_table_claim(struct lsn *l, int fd);
/* libmicrohttpd's connection of `s` has a request in progress (r) or is idle (NULL). */
void lsn_table_request(struct lsn *l, struct lsn_slot *s, struct httpd_req *r);
/* libmicrohttpd closes the connection of `s` (before its descriptor is closed). */
void lsn_table_drop(struct lsn *l, struct lsn_slot *s);

#endif
