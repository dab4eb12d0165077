/* lsn_head.c: the first HTTP/1.1 request head of a cleartext connection, peeked before
 * libmicrohttpd reads it: malformed framing answered here with one clean 400 or 413, and a
 * request that asks for h2c without a body taken up as stream 1 of an HTTP/2 session. */
#include "listener_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "h2.h"
#include "httpd_int.h"
#include "log.h"
#include "refuse.h"

bool lsn_http1_head_ok(struct lsn_conn *c)
{
	static const char fmt[] = "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n%s";
	char head[8192], why[160], body[256], out[512];
	ssize_t n = recv(c->fd, head, sizeof(head), MSG_PEEK);
	int status, k;

	/* Wait for the rest of what starts like a head; anything else libmicrohttpd refuses. */
	if (n > 0 && (size_t)n < sizeof(head) && !memmem(head, (size_t)n, "\r\n\r\n", 4) &&
	    http1_line_plausible(head, (size_t)n))
		return false;
	if (n <= 0 || !(status = http1_head_check(head, (size_t)n, why, sizeof(why))))
		return true;
	refuse_note(c->lp->l->h->name, c->peer, status == 413 ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST, "%s", why);
	snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", why); /* `why` holds no quote or backslash */
	k = snprintf(out, sizeof(out), fmt, status, status == 413 ? "Content Too Large" : "Bad Request", strlen(body), body);
	/* Take what arrived (unread bytes would make the close a reset that loses the answer). */
	for (n = 0; n < 16 && recv(c->fd, head, sizeof(head), MSG_DONTWAIT) > 0; n++)
		;
	if (k > 0 && send(c->fd, out, (size_t)k < sizeof(out) ? (size_t)k : sizeof(out) - 1, MSG_NOSIGNAL) < 0)
		log_debug("%s: cannot answer %s: %s", c->lp->l->h->name, c->peer, strerror(errno));
	shutdown(c->fd, SHUT_WR);
	lsn_conn_close(c);
	return false;
}

bool lsn_h2c_upgrade(struct lsn_conn *c)
{
	static const char switching[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
	struct lsn *l = c->lp->l;
	char head[8192];
	ssize_t n = recv(c->fd, head, sizeof(head), MSG_PEEK);
	const char *settings = NULL;
	struct h2_session *s;
	size_t len, sl = 0;

	if (n <= 0 || !(len = http1_h2c_request(head, (size_t)n, &settings, &sl)))
		return false;
	if (h2_session_new(l->h, c, c->peer, &s) < 0)
		return false;
	if (h2_session_upgrade(s, head, len, settings, sl) < 0) {
		log_debug("%s: h2c upgrade from %s not taken up: answered over HTTP/1.1", l->h->name, c->peer);
		h2_session_free(s);
		return false;
	}
	/* The head is in the socket (peeked whole): take it, then switch. */
	if (recv(c->fd, head, len, 0) != (ssize_t)len ||
	    send(c->fd, switching, sizeof(switching) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(switching) - 1)) {
		h2_session_free(s);
		lsn_conn_close(c);
		return true;
	}
	lsn_set_events(c, c->fd, &c->tag_sock, &c->ev, EPOLLIN | EPOLLRDHUP);
	lsn_h2_adopt(c, s);
	return true;
}
