/* connio.c: the listener's socket I/O, plain or TLS (OpenSSL): reads and writes, the
 * server's TLS context with ALPN, the handshake, and the byte relay that carries TLS
 * HTTP/1.1 into libmicrohttpd over a socketpair. */
#include "listener_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>

#include "httpd_int.h"
#include "log.h"

/* ---- socket I/O, plain or TLS ------------------------------------------------------------ */

/* >0 bytes, 0 at the end, -EAGAIN, or -EIO. */
ssize_t lsn_read(struct lsn_conn *c, void *p, size_t n)
{
	ssize_t k;
	int e;

	if (!c->ssl) {
		k = recv(c->fd, p, n, 0);
		if (k < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -EIO;
		return k;
	}
	c->ssl_wants_write = false;
	k = SSL_read(c->ssl, p, (int)n);
	if (k > 0)
		return k;
	e = SSL_get_error(c->ssl, (int)k);
	if (e == SSL_ERROR_WANT_READ)
		return -EAGAIN;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->ssl_wants_write = true;
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	ERR_clear_error();
	return -EIO;
}

/* Bytes written (maybe 0 when the socket is full), or -EIO. */
ssize_t lsn_write(struct lsn_conn *c, const void *p, size_t n)
{
	ssize_t k;
	int e;

	if (!c->ssl) {
		k = send(c->fd, p, n, MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -EIO;
		return k;
	}
	k = SSL_write(c->ssl, p, (int)n);
	if (k > 0)
		return k;
	e = SSL_get_error(c->ssl, (int)k);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	ERR_clear_error();
	return -EIO;
}

/* ---- TLS HTTP/1.1: a byte relay into libmicrohttpd ------------------------------------- */

static int relay_start(struct lsn_conn *c)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &c->tag_pair };
	int sp[2];

	if (!(c->relay = calloc(1, sizeof(*c->relay))))
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	c->relay->fd = sp[0];
	c->relay->ev = EPOLLIN;
	if (epoll_ctl(c->lp->ep, EPOLL_CTL_ADD, sp[0], &e) < 0) {
		close(sp[1]);
		return -errno;
	}
	c->st = CS_RELAY;
	return httpd_add_http1(c->lp->l->h, sp[1], (struct sockaddr *)&c->addr, c->alen);
}

/* Client to server: decrypt into `up`, write it to the pair. */
static int relay_up(struct lsn_conn *c, struct relay *rl)
{
	ssize_t n;

	while (!rl->up_eof || rl->up_off < rl->up_len) {
		if (rl->up_off == rl->up_len && !rl->up_eof) {
			n = lsn_read(c, rl->up, sizeof(rl->up));
			if (n == -EAGAIN)
				return 0;
			if (n <= 0) {
				rl->up_eof = true;
				shutdown(rl->fd, SHUT_WR);
				return 0;
			}
			rl->up_off = 0;
			rl->up_len = (size_t)n;
		}
		n = send(rl->fd, rl->up + rl->up_off, rl->up_len - rl->up_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		rl->up_off += (size_t)n;
	}
	return 0;
}

/* Server to client: read the pair into `down`, encrypt it to the client. */
static int relay_down(struct lsn_conn *c, struct relay *rl)
{
	ssize_t n;

	while (!rl->down_eof || rl->down_off < rl->down_len) {
		if (rl->down_off == rl->down_len && !rl->down_eof) {
			n = recv(rl->fd, rl->down, sizeof(rl->down), 0);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
			if (n == 0) {
				rl->down_eof = true;
				return 0;
			}
			rl->down_off = 0;
			rl->down_len = (size_t)n;
		}
		n = lsn_write(c, rl->down + rl->down_off, rl->down_len - rl->down_off);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		rl->down_off += (size_t)n;
	}
	return 0;
}

void lsn_relay_io(struct lsn_conn *c)
{
	struct relay *rl = c->relay;
	bool up_full, down_full;

	if (relay_up(c, rl) < 0 || relay_down(c, rl) < 0 || (rl->down_eof && rl->down_off == rl->down_len)) {
		if (c->ssl)
			SSL_shutdown(c->ssl);
		lsn_conn_close(c);
		return;
	}
	up_full = rl->up_off < rl->up_len;
	down_full = rl->down_off < rl->down_len;
	lsn_set_events(c, c->fd, &c->tag_sock, &c->ev,
		   (!up_full && !rl->up_eof ? EPOLLIN : 0) | (down_full || c->ssl_wants_write ? EPOLLOUT : 0));
	lsn_set_events(c, rl->fd, &c->tag_pair, &rl->ev, (up_full ? EPOLLOUT : 0) | (!down_full && !rl->down_eof ? EPOLLIN : 0));
}

void lsn_tls_step(struct lsn_conn *c)
{
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	int k = SSL_do_handshake(c->ssl), e;

	if (k == 1) {
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
			lsn_to_h2(c);
			return;
		}
		if (relay_start(c) < 0) {
			log_warn("%s: cannot relay the TLS connection from %s: %s", c->lp->l->h->name, c->peer,
				 strerror(errno));
			lsn_conn_close(c);
			return;
		}
		lsn_relay_io(c);
		return;
	}
	e = SSL_get_error(c->ssl, k);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		lsn_set_events(c, c->fd, &c->tag_sock, &c->ev, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
		return;
	}
	log_warn("%s: TLS handshake with %s failed: %s", c->lp->l->h->name, c->peer,
		 ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error())
								  : "connection closed");
	ERR_clear_error();
	lsn_conn_close(c);
}

/* Peek at the first bytes: the HTTP/2 client preface, or anything else for HTTP/1.1. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x02h2\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, want, sizeof(want) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

int lsn_tls_setup(struct lsn *l, const struct lsn_opts *o, char *err, size_t errlen)
{
	const char *why;

	if (!o->tls_crt_file || !o->tls_key_file || !*o->tls_crt_file || !*o->tls_key_file) {
		snprintf(err, errlen, "%s: tls on needs tls.crt_file and tls.key_file", l->h->name);
		return -EINVAL;
	}
	if (!(l->tls = SSL_CTX_new(TLS_server_method()))) {
		snprintf(err, errlen, "%s: cannot create a TLS context", l->h->name);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(l->tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(l->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_alpn_select_cb(l->tls, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(l->tls, o->tls_crt_file) != 1) {
		why = ERR_reason_error_string(ERR_peek_last_error());
		snprintf(err, errlen, "%s: tls.crt_file %s: %s", l->h->name, o->tls_crt_file, why ? why : "unreadable");
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(l->tls, o->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(l->tls) != 1) {
		why = ERR_reason_error_string(ERR_peek_last_error());
		snprintf(err, errlen, "%s: tls.key_file %s: %s", l->h->name, o->tls_key_file, why ? why : "unreadable");
		return -EINVAL;
	}
	ERR_clear_error();
	return 0;
}

