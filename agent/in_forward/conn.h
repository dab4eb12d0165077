/* in_forward/conn.h: the Forward server's connections, workers and server state, shared by server.c (listeners, workers) and conn.c (one connection's reads, frames, acks); not an API outside in_forward/. */
#ifndef VIVO_FWD_CONN_H
#define VIVO_FWD_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "buf.h"
#include "decode.h"
#include "input.h"

#define MAX_WORKERS 16

enum conn_state {
	CS_TLS,     /* TLS handshake in progress */
	CS_PING,    /* HELO sent, waiting for PING */
	CS_OPEN,    /* frames */
};

struct conn {
	struct conn *prev, *next;
	int fd;
	SSL *ssl;
	enum conn_state state;
	uint32_t events;          /* what epoll watches now */
	bool ssl_read_wants_write;
	bool ssl_write_wants_read;
	bool dead;
	struct buf in;            /* the received start of a frame not complete yet */
	struct fwd_scan scan;
	struct buf out;           /* replies not written yet (from out_off) */
	size_t out_off;
	struct fwd_auth_session auth;
	char peer[80];
};

struct fwd_server;

struct worker {
	pthread_t thread;
	struct fwd_server *srv;
	int ep;
	int pipe[2];              /* accepted descriptors handed over; -1 means stop */
	struct fwd_decoder *dec;
	char *rbuf;
	size_t rcap;
	struct conn *conns;
	bool running;
	bool stopping;           /* stop asked: finish half-sent frames, then end */
	bool started;            /* its thread runs */
};

struct fwd_server {
	struct input_instance *in;
	int lfd;
	int spare_fd;             /* kept open to refuse connections cleanly at EMFILE */
	char *unix_path;
	SSL_CTX *ssl;
	struct fwd_auth auth;
	bool secure;
	size_t max;
	int nworkers;
	struct worker w[MAX_WORKERS];
	atomic_uint rr;
	int64_t deadline_ms;      /* stopping: half-sent frames may finish until then */
};

/* Take the accepted, non-blocking descriptor `fd` into the worker (TLS handshake or
 * secure-forward HELO first, when configured); it closes `fd` on failure. */
void fwd_conn_add(struct worker *w, int fd);
/* What epoll reported (`ev`) for `c`: read, write, step TLS; closes `c` when it ends. */
void fwd_conn_event(struct worker *w, struct conn *c, uint32_t ev);
/* Close and free `c` (its descriptor leaves the worker's epoll set). */
void fwd_conn_close(struct worker *w, struct conn *c);
/* Nothing of a frame half received and no reply unsent: the connection may end now. */
bool fwd_conn_idle(const struct conn *c);
/* OpenSSL's last error as text ("connection closed" when there is none); the text
 * stays valid until the calling thread's next call. */
const char *fwd_ssl_reason(void);

#endif
