/* listener.h: one listening socket per server and its event-loop threads: accept, look at
 * the first bytes (or TLS ALPN), run HTTP/2 connections here and hand the rest to
 * libmicrohttpd (docs/http2.md). */
#ifndef VIVO_LISTENER_H
#define VIVO_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct httpd;
struct lsn;
struct lsn_conn;

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
/* Stop accepting; HTTP/2 sessions get GOAWAY and finish their streams; returns when they
 * are closed or after 5 s. NULL-safe. */
void lsn_drain(struct lsn *l);
/* Stop the loops, close every connection, free. Call after lsn_drain and after the
 * HTTP/1.1 daemon is stopped. NULL-safe. */
void lsn_stop(struct lsn *l);

/* Ask the loop owning `c` to call h2_session_wake for it soon. Any thread. */
void lsn_conn_wake(struct lsn_conn *c);

#endif
