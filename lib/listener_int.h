/* listener_int.h: the listener's connection and loop structures, shared by lib/listener.c
 * (accept, sniff, loops, HTTP/2 I/O) and lib/connio.c (plain/TLS I/O, handshake, relay). */
#ifndef VIVO_LISTENER_INT_H
#define VIVO_LISTENER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "addrmap.h"
#include "httpd.h"
#include "listener.h"

#define LSN_MAX_CONNS HTTPD_MAX_CONNS /* connections per server, all protocols (libmicrohttpd's too) */
#define LSN_NEARLY_FULL (LSN_MAX_CONNS - LSN_MAX_CONNS / 10) /* from here a new one evicts the oldest idle one */
#define LSN_PER_ADDR 1024      /* connections per client address */
#define SNIFF_TIMEOUT 90       /* seconds for the first bytes (libmicrohttpd's idle timeout) */
#define TLS_TIMEOUT 30         /* seconds for a TLS handshake */
#define H2_IDLE_TIMEOUT 300    /* seconds an HTTP/2 connection may sit without streams */
#define IO_BLOCK 16384


enum cstate { CS_SNIFF, CS_TLS, CS_H2, CS_RELAY, CS_DEAD };

struct httpd_req;

/* One connection in the server's table (lsn_table.c), guarded by lsn.tbl_mu. */
struct lsn_slot {
	int fd;                /* the client's socket (libmicrohttpd's, once handed over) */
	char host[ADDRMAP_KEY_MAX];
	char peer[64];
	struct lsn_conn *c;    /* the listener's connection while a loop holds it */
	struct httpd_req *req; /* HTTP/1.1 on libmicrohttpd: the request in progress, if any */
	bool handed;           /* given to libmicrohttpd */
	bool claimed;          /* libmicrohttpd started it (NOTIFY_CONNECTION) */
	bool evicted, timed_out, in_idle;
	struct lsn_slot *iprev, *inext; /* idle list, oldest first */
	struct lsn_slot *fnext;         /* by-descriptor bucket */
};

struct relay {                 /* TLS HTTP/1.1: bytes between SSL and libmicrohttpd */
	int fd;                /* our end of the socketpair */
	uint8_t up[IO_BLOCK], down[IO_BLOCK];
	size_t up_len, up_off, down_len, down_off;
	bool up_eof, down_eof;
	uint32_t ev;
};

struct lsn_conn {
	struct loop *lp;
	int fd;
	SSL *ssl;
	enum cstate st;
	struct sockaddr_storage addr;
	socklen_t alen;
	char peer[64];
	time_t deadline;       /* sniff or handshake; idle for HTTP/2 */
	struct h2_session *h2;
	uint8_t *out;          /* bytes the client has not taken yet */
	size_t out_len, out_off, out_cap;
	bool ssl_wants_write;  /* SSL_read needs the socket writable */
	struct relay *relay;
	uint32_t ev;
	struct tag tag_sock, tag_pair;
	bool wake_queued;
	struct lsn_conn *wnext;
	struct lsn_conn *prev, *next;
	struct lsn_slot *slot; /* in the table until closed or handed over */
};

struct incoming {               /* an accepted socket handed to another loop */
	int fd;
	struct lsn_slot *slot;
	struct sockaddr_storage addr;
	socklen_t alen;
	struct incoming *next;
};

struct loop {
	struct lsn *l;
	pthread_t th;
	bool started;
	int ep, efd;
	atomic_int load;       /* connections this loop holds */
	pthread_mutex_t mu;    /* guards wakes and incoming */
	struct lsn_conn *wakes;
	struct incoming *incoming;
	struct lsn_conn *conns;
	struct lsn_conn *grave; /* closed, freed after the events of this round */
	struct lsn_watch *wrel; /* watches released by other threads (under mu) */
	struct lsn_watch *wgrave; /* watches deleted this round, released after it */
	bool drained;          /* this loop has told its sessions about the drain */
};

struct lsn {
	struct httpd *h;
	int fd;
	SSL_CTX *tls;
	unsigned nloops;
	struct loop *loops;
	struct tag tag_listen, tag_event;
	atomic_bool draining, stopping;
	atomic_int nconns;     /* connections held by the loops */
	atomic_int nh2;        /* of which HTTP/2 */
	int spare_fd;          /* kept open to refuse connections cleanly at EMFILE */
	pthread_mutex_t tbl_mu; /* the table: */
	struct lsn_slot **by_fd;
	struct lsn_slot *idle_head, *idle_tail;
	struct addrmap per_addr;
	int nslots;
	atomic_ullong evictions;
};

/* listener.c */
time_t lsn_now(void);
/* Change the epoll interest of `fd` (the socket or the relay pair) to `ev`. */
void lsn_set_events(struct lsn_conn *c, int fd, struct tag *t, uint32_t *cur, uint32_t ev);
/* Close the sockets; free the connection after this epoll round (or once its held
 * HTTP/2 requests are gone). */
void lsn_conn_close(struct lsn_conn *c);
/* The connection speaks HTTP/2 from here on: start its session. */
void lsn_to_h2(struct lsn_conn *c);
/* The connection is HTTP/2 from now on, served by session `s` (made for it). */
void lsn_h2_adopt(struct lsn_conn *c, struct h2_session *s);
/* lsn_head.c. The first HTTP/1.1 request head, peeked whole (up to 8 KB): a malformed
 * framing header is answered with one clean 400 or 413 and the connection closed. False when
 * the connection is done with (answered) or its head is still arriving. */
bool lsn_http1_head_ok(struct lsn_conn *c);
/* A first request that asks for h2c without a body is taken up: 101, and the request
 * becomes stream 1 of an HTTP/2 session (RFC 7540 3.2). True when the connection is HTTP/2
 * now (or was closed); false to serve it over HTTP/1.1, the upgrade ignored (a body,
 * settings that do not decode). */
bool lsn_h2c_upgrade(struct lsn_conn *c);

/* lsn_table.c */
int lsn_table_init(struct lsn *l);
void lsn_table_free(struct lsn *l);
/* A new connection (fd, peer "ip:port"): 0 with its slot, or -EUSERS (its address holds
 * LSN_PER_ADDR), -ENFILE (the table is full and nothing is idle), -ENOMEM; refusals are
 * logged and counted. When the table is nearly full, the oldest idle connection is shut. */
int lsn_table_admit(struct lsn *l, int fd, const char *peer, struct lsn_slot **out);
/* Busy (a request in progress) or idle again (evictable). NULL-safe. */
void lsn_table_busy(struct lsn *l, struct lsn_slot *s, bool busy);
/* The slot is libmicrohttpd's from now on (claimed by fd when it starts the connection). */
void lsn_table_handed(struct lsn *l, struct lsn_slot *s);
/* Once a second: HTTP/1.1 uploads below the minimum rate get 408. */
void lsn_table_timers(struct lsn *l);
/* A watched socket's peer closed (its loop's thread). */
void lsn_watch_event(struct lsn_watch *w);

/* connio.c */
/* >0 bytes read, 0 at the end, -EAGAIN, or -EIO (plain or TLS). */
ssize_t lsn_read(struct lsn_conn *c, void *p, size_t n);
/* Bytes written (0 when the socket is full), or -EIO. */
ssize_t lsn_write(struct lsn_conn *c, const void *p, size_t n);
/* The server's TLS context (certificate, key, ALPN h2 then http/1.1). 0 or -errno + err. */
int lsn_tls_setup(struct lsn *l, const struct lsn_opts *o, char *err, size_t errlen);
/* Advance the TLS handshake; when done, HTTP/2 by ALPN or the HTTP/1.1 relay. */
void lsn_tls_step(struct lsn_conn *c);
/* Move bytes between the TLS client and libmicrohttpd's end of the pair. */
void lsn_relay_io(struct lsn_conn *c);

#endif
