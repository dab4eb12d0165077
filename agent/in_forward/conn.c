/* in_forward/conn.c: one Forward connection: reads (plain or TLS), frames found where they lie and decoded, acks after storage, back-pressure, secure-forward handshake, errors with the peer's address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conn.h"
#include "log.h"
#include "mpk.h"
#include "refuse.h"

/* Replies (acks, PONG) a client leaves unread: reading from it pauses above OUT_PAUSE;
 * OUT_MAX is never reached as a consequence, but bounds the buffer anyway. */
#define OUT_PAUSE 65536
#define OUT_MAX (1u << 20)
/* Bytes read from one connection per wakeup, so a fast sender cannot starve others. */
#define READ_BUDGET (4u << 20)
/* A partial frame buffer larger than this is given back once the frame is done. */
#define IN_KEEP 65536

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

void fwd_conn_close(struct worker *w, struct conn *c)
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

bool fwd_conn_idle(const struct conn *c)
{
	return c->in.len == 0 && c->scan.off == 0 && !out_pending(c);
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

const char *fwd_ssl_reason(void)
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
	msgpack_packer pk;
	int rc;

	if (c->out_off && c->out.len + 16 + n > c->out.max) {
		memmove(c->out.data, c->out.data + c->out_off, out_pending(c));
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	mpk_init(&pk, &c->out);
	if ((rc = msgpack_pack_map(&pk, 1)) < 0 || (rc = mpk_cstr(&pk, "ack")) < 0 ||
	    (rc = msgpack_pack_str_with_body(&pk, ack, n)) < 0)
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
				conn_fail(w, c, NULL, "TLS error: %s", fwd_ssl_reason());
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
	conn_fail(w, c, REFUSE_PROTOCOL, "TLS handshake failed: %s", fwd_ssl_reason());
}

void fwd_conn_event(struct worker *w, struct conn *c, uint32_t ev)
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
		fwd_conn_close(w, c);
	else
		set_events(w, c);
}

void fwd_conn_add(struct worker *w, int fd)
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
			conn_fail(w, c, NULL, "cannot start TLS: %s", fwd_ssl_reason());
		} else {
			SSL_set_accept_state(c->ssl);
			c->state = CS_TLS;
			tls_step(w, c);
		}
	} else {
		start_session(w, c);
	}
	if (c->dead)
		fwd_conn_close(w, c);
	else
		set_events(w, c);
}
