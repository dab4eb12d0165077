/* in_forward/server.c: the Fluent Forward input (spec agent.md 4.1): epoll workers, per-connection limits, acks after storage, secure forward, TLS, Unix socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "decode.h"
#include "httpd.h"
#include "input.h"
#include "log.h"
#include "refuse.h"
#include "mpw.h"

#define MAX_WORKERS 16
/* Replies (acks, PONG) a client leaves unread: reading from it pauses above OUT_PAUSE;
 * OUT_MAX is never reached as a consequence, but bounds the buffer anyway. */
#define OUT_PAUSE 65536
#define OUT_MAX (1u << 20)
/* Bytes read from one connection per wakeup, so a fast sender cannot starve others. */
#define READ_BUDGET (4u << 20)
/* A partial frame buffer larger than this is given back once the frame is done. */
#define IN_KEEP 65536

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

/* --- connections ------------------------------------------------------------------ */

static void peer_name(int fd, bool is_unix, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	if (is_unix) {
		snprintf(out, n, "unix socket (fd %d)", fd);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(out, n, "unknown peer");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(a->sin_port));
	}
}

static void conn_close(struct worker *w, struct conn *c)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl) {
		SSL_free(c->ssl);
	}
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* A connection ends for a reason worth logging. A refusal of what the client sent
 * (`reason` set) goes through the shared refusal logger (counted by reason, logged once a
 * minute per address and reason); the agent's own failures (reason NULL) are counted as
 * "other" and logged each time. */
static void conn_fail(struct worker *w, struct conn *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void conn_fail(struct worker *w, struct conn *c, const char *reason, const char *fmt, ...)
{
	struct input_instance *in = w->srv->in;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (reason) {
		refuse_note(in->name, c->peer, reason, "closing the connection: %s", msg);
	} else {
		atomic_fetch_add(&in->stats.errors, 1);
		log_warn("%s: closing connection from %s: %s", in->name, c->peer, msg);
	}
	c->dead = true;
}

/* What bytes that are not a Forward frame look like, for the refusal's reason. */
static const char *not_forward(const char *p, size_t n, const char **reason)
{
	static const char *const methods[] = { "GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH " };
	size_t i;

	*reason = REFUSE_PROTOCOL;
	if (n >= 3 && memcmp(p, "PRI", 3) == 0)
		return "an HTTP/2 client preface on the Forward port (HTTP/2 and gRPC go to the http or opentelemetry input)";
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (n >= strlen(methods[i]) && memcmp(p, methods[i], strlen(methods[i])) == 0)
			return "an HTTP request on the Forward port (HTTP goes to the http input, 9010)";
	if (n >= 1 && p[0] == 0x16)
		return "a TLS handshake on a Forward port without tls";
	*reason = REFUSE_BAD_FRAME;
	return "bytes that are not a Forward frame";
}

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

static void set_events(struct worker *w, struct conn *c)
{
	uint32_t ev = 0;
	struct epoll_event e;

	if (c->state == CS_TLS) {
		ev = c->ssl_read_wants_write ? EPOLLOUT : EPOLLIN;
	} else {
		if (out_pending(c) < OUT_PAUSE || c->ssl_write_wants_read)
			ev |= EPOLLIN;
		if ((out_pending(c) && !c->ssl_write_wants_read) || c->ssl_read_wants_write)
			ev |= EPOLLOUT;
	}
	if (ev == c->events)
		return;
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	static _Thread_local char s[256];

	if (!e)
		return "connection closed";
	ERR_error_string_n(e, s, sizeof(s));
	ERR_clear_error();
	return s;
}

/* Write what is pending. false when the connection failed. */
static bool flush_out(struct worker *w, struct conn *c)
{
	while (out_pending(c)) {
		const char *p = c->out.data + c->out_off;
		size_t n = out_pending(c);
		ssize_t r;

		if (c->ssl) {
			int k;

			c->ssl_write_wants_read = false;
			ERR_clear_error();
			k = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (k <= 0) {
				int e = SSL_get_error(c->ssl, k);

				if (e == SSL_ERROR_WANT_WRITE)
					break;
				if (e == SSL_ERROR_WANT_READ) {
					c->ssl_write_wants_read = true;
					break;
				}
				c->dead = true;
				return false;
			}
			r = k;
		} else {
			r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR)
					continue;
				c->dead = true;
				return false;
			}
		}
		c->out_off += (size_t)r;
	}
	if (!out_pending(c)) {
		buf_reset(&c->out);
		c->out_off = 0;
	}
	(void)w;
	return true;
}

static int queue_ack(struct conn *c, const char *ack, size_t n)
{
	int rc;

	if (c->out_off && c->out.len + 16 + n > c->out.max) {
		memmove(c->out.data, c->out.data + c->out_off, out_pending(c));
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	if ((rc = mpw_map(&c->out, 1)) < 0 || (rc = mpw_cstr(&c->out, "ack")) < 0 ||
	    (rc = mpw_str(&c->out, ack, n)) < 0)
		return rc;
	return 0;
}

/* One complete frame (or the handshake's PING). */
static void handle_frame(struct worker *w, struct conn *c, const char *p, size_t n)
{
	struct fwd_server *srv = w->srv;
	struct input_instance *in = srv->in;
	struct fwd_frame f;
	char err[256], client[256];
	int rc;

	if (c->state == CS_PING) {
		rc = fwd_auth_ping(&srv->auth, &c->auth, p, n, &c->out, client, sizeof(client), err, sizeof(err));
		if (rc < 0) {
			flush_out(w, c); /* the PONG with the reason, best effort */
			conn_fail(w, c, REFUSE_AUTH, "secure forward handshake failed (client '%s'): %s", client, err);
			return;
		}
		log_debug("%s: %s authenticated as '%s'", in->name, c->peer, client);
		c->state = CS_OPEN;
		return;
	}
	rc = fwd_decode_frame(w->dec, p, n, &f, err, sizeof(err));
	if (rc < 0) {
		conn_fail(w, c, rc == -EMSGSIZE ? REFUSE_TOO_LARGE : rc == -ENOMEM ? NULL : REFUSE_BAD_FRAME,
			  "%s (%zu-byte frame, not acknowledged)", err, n);
		return;
	}
	if (f.cb->records) {
		uint32_t records = f.cb->records;

		if ((rc = input_emit(in, f.cb)) < 0) {
			conn_fail(w, c, NULL, "cannot store %u records: %s", records, strerror(-rc));
			return;
		}
		atomic_fetch_add(&in->stats.records, records);
	}
	/* The ack goes out only now that the records are in their stream. */
	if (f.ack && queue_ack(c, f.ack, f.ack_len) < 0)
		conn_fail(w, c, NULL, "too many unread acks");
}

/* Decode complete frames at the start of p[0..n) (at most `limit`); returns the bytes
 * consumed. c->scan holds the walk of an incomplete frame. */
static size_t process(struct worker *w, struct conn *c, const char *p, size_t n, size_t limit)
{
	size_t off = 0, len, frames = 0;
	int rc;

	while (off < n && !c->dead && frames < limit) {
		rc = fwd_scan(&c->scan, p + off, n - off, w->srv->max, &len);
		if (rc == 0)
			break;
		if (rc == -EMSGSIZE) {
			conn_fail(w, c, REFUSE_TOO_LARGE, "frame is larger than buffer_max_size (%zu bytes)", w->srv->max);
			break;
		}
		if (rc < 0) {
			const char *reason, *what = not_forward(p + off, n - off, &reason);

			conn_fail(w, c, reason, "%s (first byte 0x%02x)", what, (unsigned char)p[off]);
			break;
		}
		memset(&c->scan, 0, sizeof(c->scan));
		handle_frame(w, c, p + off, len);
		off += len;
		frames++;
	}
	return off;
}

/* Bytes received: frames complete in them are decoded where they lie. The start of an
 * incomplete frame waits in c->in (never more than buffer_max_size); later bytes are
 * added to it only as far as the scanner says the frame reaches (plus a little), and
 * what turns out to lie beyond its end is handed back, so that each byte is copied at
 * most once, and only when its frame straddles two reads. */
static void feed(struct worker *w, struct conn *c, const char *data, size_t n)
{
	size_t used, take;

	while (n > 0 && !c->dead) {
		if (c->in.len == 0) {
			used = process(w, c, data, n, SIZE_MAX);
			data += used;
			n -= used;
			if (n == 0 || c->dead)
				break;
			if (buf_append(&c->in, data, n) < 0)
				conn_fail(w, c, NULL, "out of memory for a %zu-byte partial frame", n);
			break;
		}
		take = c->scan.need > c->in.len ? (size_t)(c->scan.need - c->in.len) : 1;
		if (take < 4096)
			take = 4096;
		if (take > c->in.max - c->in.len)
			take = c->in.max - c->in.len;
		if (take > n)
			take = n;
		if (buf_append(&c->in, data, take) < 0) {
			conn_fail(w, c, NULL, "out of memory for a %zu-byte partial frame", c->in.len + take);
			break;
		}
		data += take;
		n -= take;
		used = process(w, c, c->in.data, c->in.len, 1);
		if (c->dead)
			break;
		if (used == 0) {
			if (n > 0 && c->in.len == c->in.max) {
				/* Cannot happen: a full buffer without a frame is -EMSGSIZE. */
				conn_fail(w, c, REFUSE_TOO_LARGE, "frame is larger than buffer_max_size (%zu bytes)", w->srv->max);
				break;
			}
			continue;
		}
		/* The frame ended inside what was just added: give the rest back. */
		data -= c->in.len - used;
		n += c->in.len - used;
		c->in.len = 0;
		if (c->in.cap > IN_KEEP)
			buf_free(&c->in);
	}
	if (c->in.len == 0 && c->in.cap > IN_KEEP)
		buf_free(&c->in);
}

/* Receive into the worker's buffer. >0 bytes, 0 at EOF, -EAGAIN, or another -errno. */
static ssize_t conn_recv(struct conn *c, char *p, size_t n)
{
	if (c->ssl) {
		int k, e;

		c->ssl_read_wants_write = false;
		ERR_clear_error();
		k = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (k > 0)
			return k;
		e = SSL_get_error(c->ssl, k);
		if (e == SSL_ERROR_WANT_READ)
			return -EAGAIN;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->ssl_read_wants_write = true;
			return -EAGAIN;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
			return 0;
		return -EPROTO;
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void do_read(struct worker *w, struct conn *c)
{
	struct input_instance *in = w->srv->in;
	size_t budget = READ_BUDGET;

	while (!c->dead && out_pending(c) < OUT_PAUSE) {
		ssize_t r;

		/* A TLS connection is drained: bytes SSL has decrypted would not wake epoll. */
		if (!c->ssl && budget == 0)
			break;
		r = conn_recv(c, w->rbuf, w->rcap);
		if (r == -EAGAIN)
			break;
		if (r == 0) {
			/* The peer may only have shut its sending side: acks of what it sent
			 * still go out (best effort) before the close. */
			if (out_pending(c))
				flush_out(w, c);
			if (c->in.len || c->scan.off) {
				conn_fail(w, c, REFUSE_BAD_FRAME, "connection closed inside a frame (%zu bytes received of it)", c->in.len);
			} else {
				c->dead = true;
			}
			break;
		}
		if (r < 0) {
			if (c->ssl)
				conn_fail(w, c, NULL, "TLS error: %s", ssl_reason());
			else if (r != -ECONNRESET)
				conn_fail(w, c, NULL, "receive failed: %s", strerror((int)-r));
			else
				c->dead = true;
			break;
		}
		atomic_fetch_add(&in->stats.bytes, (unsigned long long)r);
		budget -= (size_t)r > budget ? budget : (size_t)r;
		feed(w, c, w->rbuf, (size_t)r);
		if (out_pending(c) && !flush_out(w, c))
			break;
	}
}

static void start_session(struct worker *w, struct conn *c)
{
	struct fwd_server *srv = w->srv;

	if (srv->secure) {
		if (fwd_auth_helo(&srv->auth, &c->auth, &c->out) < 0) {
			conn_fail(w, c, NULL, "cannot build HELO");
			return;
		}
		c->state = CS_PING;
		flush_out(w, c);
	} else {
		c->state = CS_OPEN;
	}
}

static void tls_step(struct worker *w, struct conn *c)
{
	int k, e;

	ERR_clear_error();
	k = SSL_do_handshake(c->ssl);
	c->ssl_read_wants_write = false;
	if (k == 1) {
		start_session(w, c);
		if (!c->dead)
			do_read(w, c);
		return;
	}
	e = SSL_get_error(c->ssl, k);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->ssl_read_wants_write = true;
		return;
	}
	conn_fail(w, c, REFUSE_PROTOCOL, "TLS handshake failed: %s", ssl_reason());
}

static void conn_event(struct worker *w, struct conn *c, uint32_t ev)
{
	if (c->state == CS_TLS) {
		tls_step(w, c);
	} else {
		bool was_paused = out_pending(c) >= OUT_PAUSE;

		if ((ev & EPOLLOUT) || c->ssl_write_wants_read) {
			if (out_pending(c))
				flush_out(w, c);
			/* Paused reads, and a TLS read that needed to write first, go on now. */
			if (!c->dead && ((was_paused && out_pending(c) < OUT_PAUSE) || c->ssl_read_wants_write))
				do_read(w, c);
		}
		if (!c->dead && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
			do_read(w, c);
	}
	if (c->dead)
		conn_close(w, c);
	else
		set_events(w, c);
}

static void conn_add(struct worker *w, int fd)
{
	struct fwd_server *srv = w->srv;
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event e;
	int one = 1;

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	buf_init(&c->in, srv->max);
	buf_init(&c->out, OUT_MAX);
	peer_name(fd, srv->unix_path != NULL, c->peer, sizeof(c->peer));
	if (!srv->unix_path)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->events = EPOLLIN;
	e.events = EPOLLIN;
	e.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	if (srv->ssl) {
		if (!(c->ssl = SSL_new(srv->ssl)) || SSL_set_fd(c->ssl, fd) != 1) {
			conn_fail(w, c, NULL, "cannot start TLS: %s", ssl_reason());
		} else {
			SSL_set_accept_state(c->ssl);
			c->state = CS_TLS;
			tls_step(w, c);
		}
	} else {
		start_session(w, c);
	}
	if (c->dead)
		conn_close(w, c);
	else
		set_events(w, c);
}

/* --- workers ---------------------------------------------------------------------- */

static void accept_all(struct worker *w)
{
	struct fwd_server *srv = w->srv;
	int i;

	for (i = 0; i < 256; i++) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned k;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && srv->spare_fd >= 0) {
				/* Out of descriptors: accept with the spare one and close at once,
				 * so the backlog does not spin the loop. */
				close(srv->spare_fd);
				fd = accept(srv->lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				atomic_fetch_add(&srv->in->stats.errors, 1);
				log_warn("%s: out of file descriptors: refused a connection", srv->in->name);
				continue;
			}
			return;
		}
		k = atomic_fetch_add(&srv->rr, 1) % (unsigned)srv->nworkers;
		if (&srv->w[k] != w && write(srv->w[k].pipe[1], &fd, sizeof(fd)) == (ssize_t)sizeof(fd))
			continue;
		conn_add(w, fd);
	}
}

static void take_handed(struct worker *w)
{
	int fds[64];
	ssize_t r;
	size_t i;

	while ((r = read(w->pipe[0], fds, sizeof(fds))) > 0) {
		for (i = 0; i < (size_t)r / sizeof(int); i++) {
			if (fds[i] < 0)
				w->stopping = true;
			else if (w->stopping)
				close(fds[i]); /* accepted just before the stop */
			else
				conn_add(w, fds[i]);
		}
	}
}

/* Stopping: connections with nothing half received and nothing unsent end now; the others
 * get until the grace deadline to finish their frame (it is stored and acknowledged). True
 * when none is left or the deadline passed. */
static bool drained(struct worker *w)
{
	struct conn *c, *next;

	if (w->srv->lfd >= 0 && w == &w->srv->w[0]) {
		close(w->srv->lfd); /* new connections are refused from now on (worker 0 owns it) */
		w->srv->lfd = -1;
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->in.len == 0 && c->scan.off == 0 && !out_pending(c))
			conn_close(w, c);
	}
	if (w->conns && httpd_now_ms() >= w->srv->deadline_ms) {
		for (c = w->conns; c; c = c->next)
			log_warn("%s: closing %s at the end of the grace period with a frame half received (%zu bytes)",
				 w->srv->in->name, c->peer, c->in.len);
		return true;
	}
	return w->conns == NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fwd_server *srv = w->srv;
	struct epoll_event ev[64];

	while (w->running) {
		int n = epoll_wait(w->ep, ev, 64, w->stopping ? 50 : -1), i;

		if (n < 0 && errno != EINTR)
			break;
		if (w->stopping && drained(w))
			break;
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &srv->lfd)
				accept_all(w);
			else if (ev[i].data.ptr == w->pipe)
				take_handed(w);
			else
				conn_event(w, ev[i].data.ptr, ev[i].events);
		}
		if (w->stopping && drained(w))
			break;
	}
	while (w->conns)
		conn_close(w, w->conns);
	return NULL;
}

static void worker_free(struct worker *w)
{
	if (w->ep >= 0)
		close(w->ep);
	if (w->pipe[0] >= 0)
		close(w->pipe[0]);
	if (w->pipe[1] >= 0)
		close(w->pipe[1]);
	fwd_decoder_free(w->dec);
	free(w->rbuf);
}

static int worker_init(struct fwd_server *srv, struct worker *w, bool listener, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct fwd_decoder_opts o = {
		.max_bytes = srv->max,
		/* Rendered JSON is larger than its msgpack (times as digits, the tag on every
		 * legacy line): allow for it. */
		.chunk_max = 8 * srv->max + 65536,
		.source_type = in->plugin->name,
		.source_name = in->name,
		.tag = in->conf.tag && *in->conf.tag ? in->conf.tag : NULL,
		.tag_prefix = in->conf.tag_prefix && *in->conf.tag_prefix ? in->conf.tag_prefix : NULL,
	};
	struct epoll_event e;
	size_t rsize = in->conf.buffer_chunk_size;

	w->srv = srv;
	w->ep = w->pipe[0] = w->pipe[1] = -1;
	w->running = true;
	if (rsize < 16384)
		rsize = 16384;
	if (rsize > (4u << 20))
		rsize = 4u << 20;
	w->rcap = rsize;
	if (fwd_decoder_new(&o, &w->dec) < 0 || !(w->rbuf = malloc(w->rcap))) {
		snprintf(err, errlen, "%s: out of memory", in->name);
		return -ENOMEM;
	}
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "%s: epoll/pipe: %s", in->name, strerror(errno));
		return -errno;
	}
	e.events = EPOLLIN;
	e.data.ptr = w->pipe;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->pipe[0], &e) < 0)
		goto fail;
	if (listener) {
		e.events = EPOLLIN;
		e.data.ptr = &srv->lfd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, srv->lfd, &e) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: epoll_ctl: %s", in->name, strerror(errno));
	return -errno;
}

/* --- listeners -------------------------------------------------------------------- */

static int listen_tcp(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[16];
	int rc, fd = -1, one = 1, saved = 0;

	snprintf(port, sizeof(port), "%lld", in->conf.port);
	if ((rc = getaddrinfo(in->conf.listen, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve listen address '%s': %s", in->name, in->conf.listen, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot listen on %s:%lld: %s", in->name, in->conf.listen, in->conf.port,
			 strerror(saved ? saved : EADDRNOTAVAIL));
		return -(saved ? saved : EADDRNOTAVAIL);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		in->bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				       ((struct sockaddr_in *)&ss)->sin_port);
	srv->lfd = fd;
	return 0;
}

static int listen_unix(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = in->conf.unix_path;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: unix_path is longer than %zu bytes", in->name, sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	unlink(path); /* a socket left by an earlier run, as Fluent Bit does */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
		goto fail;
	if (in->conf.unix_perm && *in->conf.unix_perm) {
		char *end;
		long mode = strtol(in->conf.unix_perm, &end, 8);

		if (*end || mode < 0 || mode > 07777) {
			snprintf(err, errlen, "%s: unix_perm '%s' is not an octal mode such as 0660", in->name, in->conf.unix_perm);
			close(fd);
			unlink(path);
			return -EINVAL;
		}
		if (chmod(path, (mode_t)mode) < 0)
			goto fail;
	}
	if (!(srv->unix_path = strdup(path))) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	srv->lfd = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: cannot listen on unix socket %s: %s", in->name, path, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

static int tls_setup(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	const char *crt = in->conf.tls_crt_file, *key = in->conf.tls_key_file;

	if (!crt || !*crt || !key || !*key) {
		snprintf(err, errlen, "%s: tls on needs tls.crt_file and tls.key_file", in->name);
		return -EINVAL;
	}
	if (!(srv->ssl = SSL_CTX_new(TLS_server_method()))) {
		snprintf(err, errlen, "%s: TLS: %s", in->name, ssl_reason());
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(srv->ssl, TLS1_2_VERSION);
	SSL_CTX_set_mode(srv->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl, crt) != 1) {
		snprintf(err, errlen, "%s: tls.crt_file %s: %s", in->name, crt, ssl_reason());
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ssl) != 1) {
		snprintf(err, errlen, "%s: tls.key_file %s: %s", in->name, key, ssl_reason());
		return -EINVAL;
	}
	return 0;
}

static void server_free(struct fwd_server *srv)
{
	int i;

	for (i = 0; i < srv->nworkers; i++)
		worker_free(&srv->w[i]);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	if (srv->unix_path) {
		unlink(srv->unix_path);
		free(srv->unix_path);
	}
	SSL_CTX_free(srv->ssl);
	fwd_auth_free(&srv->auth);
	free(srv);
}

/* Ask the workers to stop: no new connections, half-sent frames finish (until the grace
 * deadline), then they end. */
static void forward_drain(struct input_instance *in)
{
	struct fwd_server *srv = in->priv;
	int i, stop = -1;

	if (!srv || srv->deadline_ms)
		return;
	srv->deadline_ms = httpd_stop_deadline();
	for (i = 0; i < srv->nworkers; i++) {
		if (!srv->w[i].started)
			continue;
		/* The pipe is non-blocking and nearly empty: a short write cannot happen. */
		if (write(srv->w[i].pipe[1], &stop, sizeof(stop)) != (ssize_t)sizeof(stop))
			log_warn("%s: cannot signal worker %d", in->name, i);
	}
}

static void forward_stop(struct input_instance *in)
{
	struct fwd_server *srv = in->priv;
	int i;

	if (!srv)
		return;
	forward_drain(in);
	for (i = 0; i < srv->nworkers; i++)
		if (srv->w[i].started)
			pthread_join(srv->w[i].thread, NULL);
	server_free(srv);
	in->priv = NULL;
}

static int forward_start(struct input_instance *in, char *err, size_t errlen)
{
	struct fwd_server *srv = calloc(1, sizeof(*srv));
	const struct input_conf *cf = &in->conf;
	sigset_t all, old;
	int i, rc, nworkers;

	if (!srv)
		return -ENOMEM;
	srv->in = in;
	srv->lfd = srv->spare_fd = -1;
	srv->max = cf->buffer_max_size;
	nworkers = (int)cf->workers;
	srv->secure = (cf->shared_key && *cf->shared_key) || cf->empty_shared_key;
	if (cf->users.n && !srv->secure) {
		snprintf(err, errlen, "%s: security.users needs shared_key (or empty_shared_key on)", in->name);
		rc = -EINVAL;
		goto fail;
	}
	if (srv->secure &&
	    (rc = fwd_auth_init(&srv->auth, cf->shared_key, cf->self_hostname, cf->users.v, cf->users.n, err, errlen)) < 0) {
		if (rc == -EINVAL) {
			char reason[256];

			snprintf(reason, sizeof(reason), "%s", err);
			snprintf(err, errlen, "%s: %s", in->name, reason);
		}
		goto fail;
	}
	if (cf->tls && (rc = tls_setup(srv, err, errlen)) < 0)
		goto fail;
	/* Like Fluent Bit: with unix_path set, listen and port are not used. */
	rc = cf->unix_path && *cf->unix_path ? listen_unix(srv, err, errlen) : listen_tcp(srv, err, errlen);
	if (rc < 0)
		goto fail;
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < nworkers; i++) {
		srv->nworkers = i + 1;
		if ((rc = worker_init(srv, &srv->w[i], i == 0, err, errlen)) < 0)
			goto fail;
	}
	/* Workers take no signals: the main thread handles them with sigwait. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < srv->nworkers; i++) {
		if ((rc = pthread_create(&srv->w[i].thread, NULL, worker_main, &srv->w[i])) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "%s: cannot start a worker thread: %s", in->name, strerror(rc));
			in->priv = srv;
			forward_stop(in);
			return -rc;
		}
		srv->w[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (srv->unix_path)
		log_info("%s: listening on unix:%s", in->name, srv->unix_path);
	in->priv = srv;
	return 0;
fail:
	server_free(srv);
	return rc;
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def forward_opts[] = {
	{ "name", OPT_STRING, "forward", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "replace the tag of every frame with this one" },
	{ "tag_prefix", OPT_STRING, NULL, 0, 0, OFF(tag_prefix), "prefix every frame's tag with this" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name in metrics and the v1 source_name" },
	{ "listen", OPT_STRING, NULL, 0, 0, OFF(listen), "address to bind (default: the agent's --listen)" },
	{ "port", OPT_INT, "9000", 0, 65535, OFF(port), "TCP port (0 = ephemeral)" },
	{ "unix_path", OPT_STRING, NULL, 0, 0, OFF(unix_path), "listen on this Unix socket instead of TCP" },
	{ "unix_perm", OPT_STRING, NULL, 0, 0, OFF(unix_perm), "permissions of the Unix socket, octal (e.g. 0660)" },
	{ "buffer_max_size", OPT_SIZE, "6144000", 64, 1000000000, OFF(buffer_max_size), "largest frame per connection, also after decompression" },
	{ "buffer_chunk_size", OPT_SIZE, "1024000", 1, 1000000000, OFF(buffer_chunk_size), "read size (16K to 4M are used)" },
	{ "shared_key", OPT_STRING, NULL, 0, 0, OFF(shared_key), "secure forward: require the HELO/PING/PONG handshake with this key" },
	{ "empty_shared_key", OPT_BOOL, "off", 0, 0, OFF(empty_shared_key), "secure forward with a zero-length shared key" },
	{ "self_hostname", OPT_STRING, "localhost", 0, 0, OFF(self_hostname), "secure forward: this server's name in PONG" },
	{ "security.users", OPT_LIST, NULL, 0, 0, OFF(users), "secure forward: 'name password' a client must present (repeatable)" },
	{ "tls", OPT_BOOL, "off", 0, 0, OFF(tls), "accept TLS connections only" },
	{ "tls.crt_file", OPT_STRING, NULL, 0, 0, OFF(tls_crt_file), "TLS certificate (chain), PEM" },
	{ "tls.key_file", OPT_STRING, NULL, 0, 0, OFF(tls_key_file), "TLS private key, PEM" },
	{ "tls.verify", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit client-side switch; this server asks no client certificate" },
	{ "tls.debug", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit TLS log level; errors are logged with the peer" },
	{ "workers", OPT_INT, "2", 1, MAX_WORKERS, OFF(workers), "event-loop threads sharing the connections (Vivo)" },
	{ "threaded", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit threading switch; Vivo inputs always run on their own threads" },
	{ "mem_buf_limit", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit memory buffer limit; Vivo bounds each stream instead" },
	OPT_END,
};

const struct input_plugin input_forward = {
	.name = "forward",
	.help = "Fluent Forward input: Fluent Bit and Fluentd clients (all modes, acks, gzip/zstd, metrics, traces, secure forward, TLS)",
	.opts = forward_opts,
	.listens = true,
	.listener = "forward",
	.start = forward_start,
	.stop = forward_stop,
	.drain = forward_drain,
};
