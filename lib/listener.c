/* listener.c: a server's listening socket and event loops: accept, sniff the HTTP/2
 * preface with MSG_PEEK (or read TLS ALPN), run HTTP/2 sessions, relay TLS HTTP/1.1 and
 * hand plain HTTP/1.1 connections to libmicrohttpd. */
#include "listener_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "h2.h"
#include "httpd_int.h"
#include "log.h"
#include "refuse.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

time_t lsn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void lsn_set_events(struct lsn_conn *c, int fd, struct tag *t, uint32_t *cur, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = t };

	if (*cur == ev)
		return;
	epoll_ctl(c->lp->ep, EPOLL_CTL_MOD, fd, &e);
	*cur = ev;
}

static void conn_unlink(struct lsn_conn *c)
{
	struct loop *lp = c->lp;
	struct lsn_conn **pp;

	pthread_mutex_lock(&lp->mu);
	if (c->wake_queued) {
		for (pp = &lp->wakes; *pp; pp = &(*pp)->wnext) {
			if (*pp == c) {
				*pp = c->wnext;
				break;
			}
		}
		c->wake_queued = false;
	}
	pthread_mutex_unlock(&lp->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* Close the sockets; free the connection unless its session still holds requests. */
void lsn_conn_close(struct lsn_conn *c)
{
	struct lsn *l = c->lp->l;
	bool can_free = true;

	if (c->relay) {
		close(c->relay->fd);
		free(c->relay);
		c->relay = NULL;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		lsn_table_drop(l, c->slot);
		c->slot = NULL;
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	if (c->h2) {
		if (c->st != CS_DEAD)
			atomic_fetch_sub(&l->nh2, 1);
		can_free = c->st == CS_DEAD ? h2_session_idle(c->h2) : h2_session_close(c->h2);
	}
	c->st = CS_DEAD;
	if (!can_free)
		return; /* h2_session_wake frees the held requests; the loop frees us then */
	conn_unlink(c);
	/* Later events of this epoll round may still point at us: free after the round. */
	c->next = c->lp->grave;
	c->lp->grave = c;
}

static void bury(struct loop *lp)
{
	struct lsn_conn *c;
	struct lsn_watch *w;

	while ((w = lp->wgrave)) {
		lp->wgrave = w->next;
		w->fn(w, 0);
	}
	while ((c = lp->grave)) {
		lp->grave = c->next;
		h2_session_free(c->h2);
		free(c->out);
		free(c);
		atomic_fetch_sub(&lp->l->nconns, 1);
		atomic_fetch_sub(&lp->load, 1);
	}
}

void lsn_conn_busy(struct lsn_conn *c, bool busy)
{
	lsn_table_busy(c->lp->l, c->slot, busy);
}

void lsn_conn_wake(struct lsn_conn *c)
{
	struct loop *lp = c->lp;
	uint64_t one = 1;

	pthread_mutex_lock(&lp->mu);
	if (!c->wake_queued) {
		c->wake_queued = true;
		c->wnext = lp->wakes;
		lp->wakes = c;
	}
	pthread_mutex_unlock(&lp->mu);
	if (write(lp->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("listener: cannot wake a loop: %s", strerror(errno));
}

/* ---- HTTP/2 connections ------------------------------------------------------------------- */

/* Write pending bytes, then what the session produces. 0, or -1 when the socket failed. */
static int h2_flush(struct lsn_conn *c)
{
	const uint8_t *p;
	ssize_t n, k;

	for (;;) {
		if (c->out_off < c->out_len) {
			k = lsn_write(c, c->out + c->out_off, c->out_len - c->out_off);
			if (k < 0)
				return -1;
			c->out_off += (size_t)k;
			if (c->out_off < c->out_len)
				return 0;
		}
		c->out_off = c->out_len = 0;
		if ((n = h2_session_send(c->h2, &p)) <= 0)
			return n < 0 ? -1 : 0;
		k = lsn_write(c, p, (size_t)n);
		if (k < 0)
			return -1;
		if (k < n) {
			size_t rest = (size_t)(n - k);

			if (rest > c->out_cap) {
				uint8_t *o = realloc(c->out, rest);

				if (!o)
					return -1;
				c->out = o;
				c->out_cap = rest;
			}
			memcpy(c->out, p + k, rest);
			c->out_len = rest;
			return 0;
		}
	}
}

/* Read what the client sent (while the output keeps up) and send the answers. */
static void h2_io(struct lsn_conn *c)
{
	uint8_t buf[IO_BLOCK];
	int rounds = 0;
	ssize_t n;

	if (h2_flush(c) < 0)
		goto dead;
	while (c->out_off == c->out_len && h2_session_want_read(c->h2)) {
		if (++rounds > 64) {
			lsn_conn_wake(c); /* be fair to the other connections; come back soon */
			break;
		}
		n = lsn_read(c, buf, sizeof(buf));
		if (n == -EAGAIN)
			break;
		if (n == 0)
			h2_flush(c); /* the client is done sending: answers already queued still go */
		if (n <= 0)
			goto dead;
		c->deadline = lsn_now() + H2_IDLE_TIMEOUT;
		if (h2_session_recv(c->h2, buf, (size_t)n) < 0) {
			h2_flush(c); /* the GOAWAY, when the protocol allows one */
			goto dead;
		}
		if (h2_flush(c) < 0)
			goto dead;
	}
	if (!h2_session_active(c->h2) && c->out_off == c->out_len)
		goto dead;
	lsn_set_events(c, c->fd, &c->tag_sock, &c->ev,
		   (c->out_off < c->out_len || c->ssl_wants_write ? EPOLLOUT : 0) |
			   (c->out_off == c->out_len && h2_session_want_read(c->h2) ? EPOLLIN : 0) | EPOLLRDHUP);
	return;
dead:
	lsn_conn_close(c);
}

void lsn_h2_adopt(struct lsn_conn *c, struct h2_session *s)
{
	struct lsn *l = c->lp->l;

	c->h2 = s;
	c->st = CS_H2;
	atomic_fetch_add(&l->nh2, 1);
	c->deadline = lsn_now() + H2_IDLE_TIMEOUT;
	if (atomic_load(&l->draining))
		h2_session_drain(c->h2, false);
	h2_io(c);
}

void lsn_to_h2(struct lsn_conn *c)
{
	struct lsn *l = c->lp->l;
	struct h2_session *s;

	if (h2_session_new(l->h, c, c->peer, &s) < 0) {
		log_warn("%s: out of memory for an HTTP/2 session from %s", l->h->name, c->peer);
		lsn_conn_close(c);
		return;
	}
	lsn_h2_adopt(c, s);
}

/* ---- new connections: TLS handshake, sniffing --------------------------------------------- */

static void sniff(struct lsn_conn *c)
{
	char buf[sizeof(preface) - 1];
	struct lsn *l = c->lp->l;
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	struct lsn_slot *slot;
	int fd;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lsn_conn_close(c);
		return;
	}
	if (memcmp(buf, preface, (size_t)n) == 0) {
		if ((size_t)n < sizeof(buf))
			return; /* more of the preface to come (edge-triggered until then) */
		lsn_set_events(c, c->fd, &c->tag_sock, &c->ev, EPOLLIN | EPOLLRDHUP);
		lsn_to_h2(c);
		return;
	}
	if (!lsn_http1_head_ok(c) || lsn_h2c_upgrade(c))
		return;
	fd = c->fd;
	epoll_ctl(c->lp->ep, EPOLL_CTL_DEL, fd, NULL);
	c->fd = -1;
	slot = c->slot;
	c->slot = NULL;
	/* The slot stays in the table: libmicrohttpd claims it by descriptor and drops it when it
	 * closes the connection. */
	lsn_table_handed(l, slot);
	if (httpd_add_http1(l->h, fd, (struct sockaddr *)&c->addr, c->alen) < 0)
		lsn_table_drop(l, slot);
	lsn_conn_close(c);
}

static void peer_string(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, n, "%s:%u", ip, port);
}

static int conn_add(struct loop *lp, int fd, const struct sockaddr_storage *ss, socklen_t alen,
		    struct lsn_slot *slot)
{
	struct lsn *l = lp->l;
	struct lsn_conn *c = calloc(1, sizeof(*c));
	struct epoll_event e;
	int one = 1;

	if (!c) {
		lsn_table_drop(l, slot);
		return -ENOMEM;
	}
	c->lp = lp;
	c->slot = slot;
	c->fd = fd;
	c->addr = *ss;
	c->alen = alen;
	peer_string(ss, c->peer, sizeof(c->peer));
	c->tag_sock = (struct tag){ T_SOCK, c };
	c->tag_pair = (struct tag){ T_PAIR, c };
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->tls) {
		if (!(c->ssl = SSL_new(l->tls)) || SSL_set_fd(c->ssl, fd) != 1) {
			SSL_free(c->ssl);
			lsn_table_drop(l, slot);
			free(c);
			return -ENOMEM;
		}
		SSL_set_accept_state(c->ssl);
		c->st = CS_TLS;
		c->deadline = lsn_now() + TLS_TIMEOUT;
		c->ev = EPOLLIN;
	} else {
		c->st = CS_SNIFF;
		c->deadline = lsn_now() + SNIFF_TIMEOUT;
		c->ev = EPOLLIN | EPOLLET | EPOLLRDHUP;
	}
	e.events = c->ev;
	e.data.ptr = &c->tag_sock;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		int rc = -errno;

		SSL_free(c->ssl);
		lsn_table_drop(l, slot);
		free(c);
		return rc;
	}
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	atomic_fetch_add(&l->nconns, 1);
	atomic_fetch_add(&lp->load, 1);
	if (c->st == CS_TLS)
		lsn_tls_step(c);
	else
		sniff(c);
	return 0;
}

/* Give a new connection to the loop holding the fewest (this one on a tie): every loop
 * thread works, however the kernel spreads the accepts. */
static void dispatch(struct loop *lp, int fd, const struct sockaddr_storage *ss, socklen_t alen,
		     struct lsn_slot *slot)
{
	struct lsn *l = lp->l;
	struct loop *to = lp;
	struct incoming *in;
	uint64_t one = 1;
	unsigned i;

	for (i = 0; i < l->nloops; i++)
		if (atomic_load(&l->loops[i].load) < atomic_load(&to->load))
			to = &l->loops[i];
	if (to != lp && (in = malloc(sizeof(*in)))) {
		in->fd = fd;
		in->slot = slot;
		in->addr = *ss;
		in->alen = alen;
		atomic_fetch_add(&to->load, 1); /* counted at once, so the next accept looks elsewhere */
		pthread_mutex_lock(&to->mu);
		in->next = to->incoming;
		to->incoming = in;
		pthread_mutex_unlock(&to->mu);
		if (write(to->efd, &one, sizeof(one)) < 0)
			log_debug("listener: cannot wake a loop: %s", strerror(errno));
		return;
	}
	if (conn_add(lp, fd, ss, alen, slot) < 0)
		close(fd);
}

static void do_accept(struct loop *lp)
{
	struct lsn *l = lp->l;
	struct sockaddr_storage ss;
	struct lsn_slot *slot;
	char peer[64];
	socklen_t alen;
	int fd, i;

	for (i = 0; i < 64 && !atomic_load(&l->draining); i++) {
		alen = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				refuse_emfile(l->fd, &l->spare_fd, l->h->name);
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept: %s", l->h->name, strerror(errno));
			return;
		}
		peer_string(&ss, peer, sizeof(peer));
		if (lsn_table_admit(l, fd, peer, &slot) < 0) {
			close(fd);
			continue;
		}
		dispatch(lp, fd, &ss, alen, slot);
	}
}

/* ---- the loops ------------------------------------------------------------------------------ */

static void conn_event(struct tag *t, uint32_t ev)
{
	struct lsn_conn *c = t->c;

	switch (c->st) {
	case CS_SNIFF:
		sniff(c);
		break;
	case CS_TLS:
		lsn_tls_step(c);
		break;
	case CS_H2:
		h2_io(c);
		break;
	case CS_RELAY:
		lsn_relay_io(c);
		break;
	case CS_DEAD:
		break;
	}
	(void)ev;
}

static void run_wakes(struct loop *lp)
{
	struct lsn_conn *list, *c;
	struct lsn_watch *w;
	struct incoming *in;
	uint64_t v;

	if (read(lp->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("listener: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&lp->mu);
	list = lp->wakes;
	lp->wakes = NULL;
	for (c = list; c; c = c->wnext)
		c->wake_queued = false;
	in = lp->incoming;
	lp->incoming = NULL;
	while ((w = lp->wrel)) {
		lp->wrel = w->next;
		w->released = true; /* a stale event of this round is ignored */
		w->next = lp->wgrave;
		lp->wgrave = w;
	}
	pthread_mutex_unlock(&lp->mu);
	while (in) {
		struct incoming *next = in->next;

		atomic_fetch_sub(&lp->load, 1); /* conn_add counts it again */
		if (conn_add(lp, in->fd, &in->addr, in->alen, in->slot) < 0)
			close(in->fd);
		free(in);
		in = next;
	}
	while ((c = list)) {
		list = c->wnext;
		if (c->st == CS_H2) {
			h2_session_wake(c->h2);
			h2_io(c);
		} else if (c->st == CS_DEAD) {
			h2_session_wake(c->h2);
			if (h2_session_idle(c->h2))
				lsn_conn_close(c);
		} else if (c->st == CS_RELAY) {
			lsn_relay_io(c);
		}
	}
}

/* Once a second: deadlines, idle sessions, the drain. */
static void run_timers(struct loop *lp)
{
	bool draining = atomic_load(&lp->l->draining);
	time_t now = lsn_now();
	struct lsn_conn *c, *next;

	if (draining && !lp->drained)
		epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->l->fd, NULL); /* accept no more */
	for (c = lp->conns; c; c = next) {
		next = c->next;
		if (c->st == CS_SNIFF || c->st == CS_TLS) {
			if (draining || now >= c->deadline) {
				log_debug("%s: closing %s: nothing arrived in time", lp->l->h->name, c->peer);
				lsn_conn_close(c);
			}
		} else if (c->st == CS_H2) {
			if (draining && !lp->drained)
				h2_session_drain(c->h2, false);
			else if (draining && h2_session_idle(c->h2))
				h2_session_drain(c->h2, true);
			else if (now >= c->deadline && h2_session_idle(c->h2))
				h2_session_goaway(c->h2);
			h2_session_timers(c->h2);
			h2_io(c);
		}
	}
	if (draining)
		lp->drained = true;
	if (lp == &lp->l->loops[0])
		lsn_table_timers(lp->l);
}

static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	struct lsn *l = lp->l;
	struct epoll_event evs[64];
	time_t last = lsn_now();
	int i, n;

	while (!atomic_load(&l->stopping)) {
		n = epoll_wait(lp->ep, evs, 64, atomic_load(&l->draining) ? 100 : 1000);
		for (i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->kind == T_LISTEN)
				do_accept(lp);
			else if (t->kind == T_EVENT)
				run_wakes(lp);
			else if (t->kind == T_WATCH)
				lsn_watch_event((struct lsn_watch *)(void *)t);
			else
				conn_event(t, evs[i].events);
		}
		if (lsn_now() != last || atomic_load(&l->draining)) {
			last = lsn_now();
			run_timers(lp);
		}
		bury(lp);
	}
	pthread_mutex_lock(&lp->mu);
	while (lp->wrel) {
		struct lsn_watch *w = lp->wrel;

		lp->wrel = w->next;
		w->next = lp->wgrave;
		lp->wgrave = w;
	}
	pthread_mutex_unlock(&lp->mu);
	while (lp->conns) {
		struct lsn_conn *c = lp->conns;

		if (c->st != CS_DEAD)
			lsn_conn_close(c);
		if (lp->conns == c) {
			/* Requests still held at exit (the exporter answers its polls before the
			 * servers stop, so this is a bounded-wait leftover): free them now. */
			h2_session_free(c->h2);
			c->h2 = NULL;
			lsn_conn_close(c);
		}
	}
	bury(lp);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------- */

static int bind_listen(struct lsn *l, const struct lsn_opts *o, uint16_t *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o->addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(o->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, o->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(o->port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "%s: bad listen address '%s'", l->h->name, o->addr);
		return -EINVAL;
	}
	if ((l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "%s: socket: %s", l->h->name, strerror(errno));
		return -errno;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 1024) < 0) {
		snprintf(err, errlen, "%s: cannot listen on %s:%u (%s)", l->h->name, o->addr, o->port, strerror(errno));
		return -EADDRINUSE;
	}
	sl = sizeof(ss);
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static int loop_init(struct lsn *l, struct loop *lp)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &l->tag_listen };

	lp->l = l;
	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	lp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lp->ep < 0 || lp->efd < 0 || epoll_ctl(lp->ep, EPOLL_CTL_ADD, l->fd, &e) < 0)
		return -errno;
	e.events = EPOLLIN;
	e.data.ptr = &l->tag_event;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->efd, &e) < 0)
		return -errno;
	if (pthread_create(&lp->th, NULL, loop_main, lp) != 0)
		return -EAGAIN;
	lp->started = true;
	return 0;
}

int lsn_start(struct httpd *h, const struct lsn_opts *o, struct lsn **out, uint16_t *port, char *err,
	      size_t errlen)
{
	struct lsn *l = calloc(1, sizeof(*l));
	unsigned i;
	int rc;

	if (!l)
		return -ENOMEM;
	l->h = h;
	l->fd = -1;
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((rc = lsn_table_init(l)) < 0) {
		snprintf(err, errlen, "%s: out of memory", h->name);
		goto fail;
	}
	l->tag_listen.kind = T_LISTEN;
	l->tag_event.kind = T_EVENT;
	if ((o->tls_crt_file || o->tls_key_file) && (rc = lsn_tls_setup(l, o, err, errlen)) < 0)
		goto fail;
	if ((rc = bind_listen(l, o, port, err, errlen)) < 0)
		goto fail;
	l->nloops = o->loops ? o->loops : 1;
	if (!(l->loops = calloc(l->nloops, sizeof(*l->loops)))) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < l->nloops; i++) {
		l->loops[i].ep = l->loops[i].efd = -1;
		pthread_mutex_init(&l->loops[i].mu, NULL);
	}
	for (i = 0; i < l->nloops; i++) {
		if ((rc = loop_init(l, &l->loops[i])) < 0) {
			snprintf(err, errlen, "%s: cannot start an event loop: %s", h->name, strerror(-rc));
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	lsn_stop(l);
	return rc;
}

static void wake_loops(struct lsn *l)
{
	uint64_t one = 1;
	unsigned i;

	for (i = 0; i < l->nloops; i++)
		if (l->loops[i].efd >= 0 && write(l->loops[i].efd, &one, sizeof(one)) < 0)
			log_debug("listener: cannot wake a loop: %s", strerror(errno));
}

void lsn_drain_begin(struct lsn *l)
{
	if (!l || !l->loops || atomic_exchange(&l->draining, true))
		return;
	/* No more connections: a listening socket shut for reading refuses new ones (the loops
	 * take it out of their sets; the descriptor stays ours until lsn_stop). */
	if (l->fd >= 0)
		shutdown(l->fd, SHUT_RD);
	wake_loops(l);
}

void lsn_drain(struct lsn *l, int64_t deadline_ms)
{
	if (!l || !l->loops)
		return;
	lsn_drain_begin(l);
	while (atomic_load(&l->nh2) > 0 && httpd_now_ms() < deadline_ms)
		usleep(10000);
}

void lsn_stop(struct lsn *l)
{
	unsigned i;

	if (!l)
		return;
	atomic_store(&l->stopping, true);
	if (l->loops) {
		wake_loops(l);
		for (i = 0; i < l->nloops; i++) {
			struct loop *lp = &l->loops[i];

			if (lp->started)
				pthread_join(lp->th, NULL);
			while (lp->incoming) {
				struct incoming *in = lp->incoming;

				lp->incoming = in->next;
				close(in->fd);
				free(in);
			}
			if (lp->ep >= 0)
				close(lp->ep);
			if (lp->efd >= 0)
				close(lp->efd);
			pthread_mutex_destroy(&lp->mu);
		}
		free(l->loops);
	}
	if (l->fd >= 0)
		close(l->fd);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	lsn_table_free(l);
	SSL_CTX_free(l->tls);
	free(l);
}
