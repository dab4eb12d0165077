/* lsn_table.c: every connection of a server, whoever serves it (the listener's loops or
 * libmicrohttpd): per-address caps, idle connections evicted oldest-first when the table is
 * nearly full, and the minimum upload rate of HTTP/1.1 bodies (408). One mutex per server. */
#include "listener_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd_int.h"
#include "log.h"
#include "refuse.h"

#define FD_BUCKETS 4096

static void idle_unlink(struct lsn *l, struct lsn_slot *s)
{
	if (!s->in_idle)
		return;
	if (s->iprev)
		s->iprev->inext = s->inext;
	else
		l->idle_head = s->inext;
	if (s->inext)
		s->inext->iprev = s->iprev;
	else
		l->idle_tail = s->iprev;
	s->iprev = s->inext = NULL;
	s->in_idle = false;
}

/* Idle from now: the newest idle connection goes last (eviction takes the first). */
static void idle_append(struct lsn *l, struct lsn_slot *s)
{
	idle_unlink(l, s);
	s->iprev = l->idle_tail;
	s->inext = NULL;
	if (l->idle_tail)
		l->idle_tail->inext = s;
	else
		l->idle_head = s;
	l->idle_tail = s;
	s->in_idle = true;
}

static struct lsn_slot **fd_bucket(struct lsn *l, int fd)
{
	return &l->by_fd[(unsigned)fd % FD_BUCKETS];
}

static void fd_unlink(struct lsn *l, struct lsn_slot *s)
{
	struct lsn_slot **pp;

	for (pp = fd_bucket(l, s->fd); *pp; pp = &(*pp)->fnext) {
		if (*pp == s) {
			*pp = s->fnext;
			break;
		}
	}
}

int lsn_table_init(struct lsn *l)
{
	pthread_mutex_init(&l->tbl_mu, NULL);
	if (!(l->by_fd = calloc(FD_BUCKETS, sizeof(*l->by_fd))))
		return -ENOMEM;
	return 0;
}

void lsn_table_free(struct lsn *l)
{
	size_t i;

	if (!l->by_fd)
		return;
	for (i = 0; i < FD_BUCKETS; i++) {
		while (l->by_fd[i]) {
			struct lsn_slot *s = l->by_fd[i];

			l->by_fd[i] = s->fnext;
			free(s);
		}
	}
	free(l->by_fd);
	addrmap_free(&l->per_addr);
	pthread_mutex_destroy(&l->tbl_mu);
}

/* Lock held: end the oldest idle connection (its owner sees the socket shut and closes it). */
static bool evict_one(struct lsn *l)
{
	struct lsn_slot *s = l->idle_head;

	if (!s)
		return false;
	idle_unlink(l, s);
	s->evicted = true;
	log_debug("%s: table nearly full: closing the idle connection from %s", l->h->name, s->peer);
	shutdown(s->fd, SHUT_RDWR);
	atomic_fetch_add(&l->evictions, 1);
	return true;
}

int lsn_table_admit(struct lsn *l, int fd, const char *peer, struct lsn_slot **out)
{
	struct lsn_slot *s, **pp;
	unsigned have;
	char host[ADDRMAP_KEY_MAX];

	*out = NULL;
	addrmap_host(peer, host);
	pthread_mutex_lock(&l->tbl_mu);
	have = addrmap_get(&l->per_addr, host);
	if (have >= LSN_PER_ADDR) {
		pthread_mutex_unlock(&l->tbl_mu);
		refuse_note(l->h->name, peer, REFUSE_CONNS, "%u connections open from this address (at most %d)", have,
			    LSN_PER_ADDR);
		return -EUSERS;
	}
	/* Nearly full: make room by the oldest idle connection, so a new client always gets in. */
	if (l->nslots >= LSN_NEARLY_FULL)
		evict_one(l);
	if (l->nslots >= LSN_MAX_CONNS) {
		pthread_mutex_unlock(&l->tbl_mu);
		refuse_note(l->h->name, peer, REFUSE_CONNS, "%d connections open, none of them idle", LSN_MAX_CONNS);
		return -ENFILE;
	}
	if (!(s = calloc(1, sizeof(*s))) || addrmap_add(&l->per_addr, host, 1, NULL) < 0) {
		free(s);
		pthread_mutex_unlock(&l->tbl_mu);
		return -ENOMEM;
	}
	s->fd = fd;
	memcpy(s->host, host, sizeof(host));
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	/* A connection libmicrohttpd never claimed left its slot behind: its descriptor is
	 * being reused now, so that slot is stale. */
	for (pp = fd_bucket(l, fd); *pp; pp = &(*pp)->fnext) {
		if ((*pp)->fd == fd && (*pp)->handed && !(*pp)->claimed) {
			struct lsn_slot *old = *pp;

			*pp = old->fnext;
			idle_unlink(l, old);
			addrmap_add(&l->per_addr, old->host, -1, NULL);
			l->nslots--;
			free(old);
			break;
		}
	}
	s->fnext = *fd_bucket(l, fd);
	*fd_bucket(l, fd) = s;
	l->nslots++;
	idle_append(l, s); /* nothing has arrived yet: idle */
	pthread_mutex_unlock(&l->tbl_mu);
	*out = s;
	return 0;
}

void lsn_table_drop(struct lsn *l, struct lsn_slot *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&l->tbl_mu);
	idle_unlink(l, s);
	fd_unlink(l, s);
	addrmap_add(&l->per_addr, s->host, -1, NULL);
	l->nslots--;
	pthread_mutex_unlock(&l->tbl_mu);
	free(s);
}

void lsn_table_busy(struct lsn *l, struct lsn_slot *s, bool busy)
{
	if (!s)
		return;
	pthread_mutex_lock(&l->tbl_mu);
	if (busy)
		idle_unlink(l, s);
	else if (!s->evicted)
		idle_append(l, s);
	pthread_mutex_unlock(&l->tbl_mu);
}

struct lsn_slot *lsn_table_claim(struct lsn *l, int fd)
{
	struct lsn_slot *s;

	pthread_mutex_lock(&l->tbl_mu);
	for (s = *fd_bucket(l, fd); s; s = s->fnext)
		if (s->fd == fd && s->handed && !s->claimed)
			break;
	if (s)
		s->claimed = true;
	pthread_mutex_unlock(&l->tbl_mu);
	return s;
}

void lsn_table_handed(struct lsn *l, struct lsn_slot *s)
{
	pthread_mutex_lock(&l->tbl_mu);
	s->handed = true;
	s->c = NULL;
	pthread_mutex_unlock(&l->tbl_mu);
}

void lsn_table_request(struct lsn *l, struct lsn_slot *s, struct httpd_req *r)
{
	if (!s)
		return;
	pthread_mutex_lock(&l->tbl_mu);
	s->req = r;
	if (r)
		idle_unlink(l, s);
	else if (!s->evicted)
		idle_append(l, s);
	pthread_mutex_unlock(&l->tbl_mu);
}

/* The answer written straight to a stalled HTTP/1.1 upload (libmicrohttpd cannot answer
 * while a body is still expected), then the socket is shut, which makes it close. */
static void answer_408(struct lsn *l, struct lsn_slot *s, struct httpd_req *r, int64_t age_ms)
{
	static const char body[] = "{\"error\":\"request body arrived below the minimum rate; send it faster or in smaller requests\"}\n";
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", sizeof(body) - 1);

	refuse_note(l->h->name, s->peer, REFUSE_TIMEOUT, "%llu bytes of the request body in %.1f s (at least %d bytes/s after %d s, "
		    "and a byte every %d s)", (unsigned long long)atomic_load(&r->body_got), (double)age_ms / 1000,
		    HTTPD_BODY_MIN_RATE, HTTPD_BODY_GRACE, HTTPD_BODY_STALL);
	httpd_req_release_budget(r);
	if (n > 0 && send(s->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
		send(s->fd, body, sizeof(body) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(s->fd, SHUT_RDWR);
}

void lsn_table_timers(struct lsn *l)
{
	int64_t now = httpd_now_ms();
	size_t i;

	pthread_mutex_lock(&l->tbl_mu);
	for (i = 0; i < FD_BUCKETS; i++) {
		struct lsn_slot *s;

		for (s = l->by_fd[i]; s; s = s->fnext) {
			struct httpd_req *r = s->req;

			if (r && s->claimed && !s->timed_out && httpd_req_too_slow(r, now)) {
				s->timed_out = true;
				answer_408(l, s, r, now - r->body_start_ms);
			}
		}
	}
	pthread_mutex_unlock(&l->tbl_mu);
}

/* ---- watches on held HTTP/1.1 connections ------------------------------------------------ */

int lsn_watch_add(struct lsn *l, struct lsn_watch *w)
{
	struct epoll_event e = { .events = EPOLLRDHUP, .data.ptr = &w->tag };

	w->tag.kind = T_WATCH;
	w->tag.c = NULL;
	w->lp = &l->loops[0];
	w->fired = w->released = false;
	if (epoll_ctl(w->lp->ep, EPOLL_CTL_ADD, w->fd, &e) < 0)
		return -errno;
	return 0;
}

void lsn_watch_release(struct lsn_watch *w)
{
	struct loop *lp = w->lp;
	uint64_t one = 1;

	/* Out of the set first: events fetched before this are handled in the loop's current
	 * round, and the watch is released only after that round. */
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, w->fd, NULL);
	pthread_mutex_lock(&lp->mu);
	w->next = lp->wrel;
	lp->wrel = w;
	pthread_mutex_unlock(&lp->mu);
	if (write(lp->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("listener: cannot wake a loop: %s", strerror(errno));
}

void lsn_watch_event(struct lsn_watch *w)
{
	if (w->fired || w->released)
		return;
	w->fired = true;
	epoll_ctl(w->lp->ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->fn(w, 1);
}
