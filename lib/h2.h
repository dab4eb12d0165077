/* h2.h: HTTP/2 server sessions on nghttp2, without I/O of their own: the listener feeds
 * them bytes and sends what they produce; streams become httpd requests (docs/http2.md). */
#ifndef VIVO_H2_H
#define VIVO_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct httpd;
struct lsn_conn;
struct h2_session;

/* Limits every session applies (advertised in its SETTINGS where HTTP/2 has one). */
#define H2_MAX_CONCURRENT_STREAMS 100
#define H2_INITIAL_WINDOW (1u << 20)          /* per stream */
#define H2_CONNECTION_WINDOW (16u << 20)
#define H2_MAX_FRAME_SIZE 16384
#define H2_MAX_HEADER_LIST 65536
#define H2_MAX_STREAMS_PER_CONN 10000         /* then GOAWAY: the client reconnects */
#define H2_MAX_CONTINUATIONS 16               /* CONTINUATION frames in one header block */

/* A session for a connection from `peer` whose client preface is the next input; its
 * SETTINGS are queued at once. 0 or -ENOMEM. */
int h2_session_new(struct httpd *h, struct lsn_conn *c, const char *peer, struct h2_session **out);
/* Take up an HTTP/1.1 request that asked for h2c (RFC 7540 3.2), on a session just made and
 * before any byte reached it: head[0..n) (request line and fields through the blank line, no
 * body) becomes stream 1 and its handler runs; `settings` is the HTTP2-Settings value. The
 * caller sends the 101 once this returns 0, then the session's output. -EINVAL (settings
 * that do not decode, a head it cannot carry over) or -ENOMEM: nothing was run, free the
 * session and serve the request over HTTP/1.1. */
int h2_session_upgrade(struct h2_session *s, const char *head, size_t n, const char *settings, size_t sl);
/* The most HTTP2-Settings bytes taken up (16 settings; RFC 9113 defines 6). */
#define H2C_SETTINGS_MAX 96
/* Bytes from the client. 0, or -1 when the connection must end (a GOAWAY is queued when
 * the protocol allows one: send what h2_session_send gives, then close). */
int h2_session_recv(struct h2_session *s, const uint8_t *data, size_t n);
/* The next bytes to send (*out valid until the next call), 0 when none, -1 on error. */
ssize_t h2_session_send(struct h2_session *s, const uint8_t **out);
/* Whether the session still reads, or has anything to do at all. */
bool h2_session_want_read(const struct h2_session *s);
bool h2_session_active(const struct h2_session *s);
/* No stream is open or held. */
bool h2_session_idle(const struct h2_session *s);
/* Run the requests resumed since the last call (after lsn_conn_wake). */
void h2_session_wake(struct h2_session *s);
/* Once a second: streams whose body arrives below the minimum rate get 408 and a reset. */
void h2_session_timers(struct h2_session *s);
/* Graceful end: GOAWAY now (new streams are refused while open ones finish); `final`
 * also closes the door for streams already announced. */
void h2_session_drain(struct h2_session *s, bool final);
/* GOAWAY(NO_ERROR) for an idle connection. */
void h2_session_goaway(struct h2_session *s);
/* The connection is gone: end every stream. True when the session may be freed now;
 * false while requests are held (suspended): h2_session_wake frees them as they resume,
 * and h2_session_idle then says so. */
bool h2_session_close(struct h2_session *s);
/* Free (after h2_session_close). NULL-safe. */
void h2_session_free(struct h2_session *s);

#endif
