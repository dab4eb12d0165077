/* httpd_mhd.c: HTTP/1.1 on libmicrohttpd behind lib/listener: the request's target parsed
 * by our own rules before libmicrohttpd parses it (no query-argument limits, NUL refused,
 * Content-Length checked), held connections watched for their client leaving, every
 * connection in the listener's table (per-address caps, idle eviction, upload rate). */
#include "httpd_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "refuse.h"

/* A held HTTP/1.1 request: a duplicate of its socket is watched by the listener, so a
 * client that leaves frees its connection at once (libmicrohttpd does not look at a
 * suspended connection). Two references: the request's and the listener's. */
struct httpd_hold {
	struct lsn_watch w;
	pthread_mutex_t mu;
	struct httpd_req *r;
	bool done;             /* resumed, or the client left: the watch is over */
	atomic_int refs;
};

static void hold_unref(struct httpd_hold *hd)
{
	if (atomic_fetch_sub(&hd->refs, 1) == 1) {
		pthread_mutex_destroy(&hd->mu);
		free(hd);
	}
}

/* Lock held: stop watching (once). */
static void hold_end(struct httpd_hold *hd)
{
	if (hd->done)
		return;
	hd->done = true;
	lsn_watch_release(&hd->w);
}

/* The listener's callback: the client closed its side (fired), or the watch is released. */
static void hold_event(struct lsn_watch *w, int fired)
{
	struct httpd_hold *hd = (struct httpd_hold *)(void *)w;
	struct httpd_req *r;

	if (!fired) {
		close(hd->w.fd);
		hold_unref(hd);
		return;
	}
	pthread_mutex_lock(&hd->mu);
	if (!hd->done) {
		r = hd->r;
		hold_end(hd);
		/* The handler lets go of it unless it is answering it already; then libmicrohttpd
		 * runs the request once more and it ends without an answer. */
		if (r->on_gone && r->on_gone(r)) {
			log_debug("%s: %s left while its request was held", r->srv->name, r->peer);
			r->gone = true;
			r->hold = NULL;
			r->suspended = false;
			hold_unref(hd);
			MHD_resume_connection(r->conn);
		}
	}
	pthread_mutex_unlock(&hd->mu);
}

void mhd_suspend(struct httpd_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct httpd_hold *hd;

	if (ci && !r->hold && (hd = calloc(1, sizeof(*hd)))) {
		pthread_mutex_init(&hd->mu, NULL);
		atomic_init(&hd->refs, 2);
		hd->r = r;
		hd->w.fn = hold_event;
		hd->w.fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0);
		if (hd->w.fd < 0 || lsn_watch_add(r->srv->lsn, &hd->w) < 0) {
			if (hd->w.fd >= 0)
				close(hd->w.fd);
			pthread_mutex_destroy(&hd->mu);
			free(hd);
		} else {
			r->hold = hd;
		}
	}
	MHD_suspend_connection(r->conn);
}

void mhd_resume(struct httpd_req *r)
{
	struct httpd_hold *hd = r->hold;

	if (hd) {
		r->hold = NULL;
		pthread_mutex_lock(&hd->mu);
		hold_end(hd);
		pthread_mutex_unlock(&hd->mu);
		hold_unref(hd);
	}
	r->suspended = false;
	MHD_resume_connection(r->conn);
}

/* libmicrohttpd's form of a response; frees `resp` (a reader's cls passes to MHD). */
static struct MHD_Response *to_mhd(struct httpd_resp *resp)
{
	struct MHD_Response *m;
	const char *name, *value;
	size_t off = 0;

	if (resp->fn) {
		m = MHD_create_response_from_callback(resp->total == HTTPD_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : resp->total,
						      resp->block, resp->fn, resp->cls, resp->cls_free);
		if (m)
			resp->cls_free = NULL; /* MHD owns cls now */
	} else if (resp->owned) {
		m = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->owned, free);
		if (m)
			resp->owned = NULL;
	} else {
		m = MHD_create_response_from_buffer(resp->len, (void *)resp->data, MHD_RESPMEM_PERSISTENT);
	}
	while (m && (name = httpd_fields_next(&resp->headers, &off, &value)))
		MHD_add_response_header(m, name, value);
	httpd_resp_free(resp);
	return m;
}

enum MHD_Result mhd_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp)
{
	struct MHD_Response *m = to_mhd(resp);
	enum MHD_Result ret;

	if (!m)
		return MHD_NO;
	ret = MHD_queue_response(r->conn, status, m);
	MHD_destroy_response(m);
	return ret;
}

static void peer_string(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, n, "%s:%u", ip, port);
}

/* libmicrohttpd hands us the raw URI before it parses it: keep it, parse the path and the
 * query by our own rules, and leave libmicrohttpd an empty argument string (its parser
 * stores every argument in the connection's 32 KB pool and gives up silently at about 450;
 * nothing of ours reads its copy). */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *sc = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct httpd *h = cls;
	char peer[64], *q;
	struct httpd_req *r;

	peer_string(ci ? ci->client_addr : NULL, peer, sizeof(peer));
	if (!(r = httpd_req_new(h, HTTPD_HTTP1, peer)))
		return NULL;
	r->conn = c;
	if (httpd_req_target(r, "", uri ? uri : "") < 0) {
		httpd_req_free(r);
		return NULL;
	}
	r->method = NULL; /* set by the first call of on_request, which tells it by this */
	q = uri ? strchr(uri, '?') : NULL;
	if (q && q[1])
		q[1] = '\0'; /* libmicrohttpd's own buffer, which it parses next (see above) */
	r->slot = sc && sc->socket_context ? sc->socket_context : NULL;
	lsn_table_request(h->lsn, r->slot, r);
	atomic_fetch_add(&h->active1, 1);
	return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct httpd_req *r = *con_cls;

	(void)c;
	if (!r)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_debug("%s: request from %s ended early (code %d)", r->srv->name, r->peer, (int)toe);
	lsn_table_request(((struct httpd *)cls)->lsn, r->slot, NULL);
	httpd_req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&((struct httpd *)cls)->active1, 1);
}

/* The connection table follows libmicrohttpd's connections (the listener handed them over). */
static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? lsn_table_claim(h->lsn, ci->connect_fd) : NULL;
	} else if (*socket_context) {
		/* Before libmicrohttpd closes the descriptor (daemon.c): the slot never names a
		 * descriptor that was reused. */
		lsn_table_drop(h->lsn, *socket_context);
		*socket_context = NULL;
	}
}

struct cl_scan {
	const char *first;
	int count;
	bool differ;
};

static enum MHD_Result count_cl(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct cl_scan *s = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (s->count++ == 0)
			s->first = value;
		else if (strcmp(s->first, value) != 0)
			s->differ = true;
	}
	return MHD_YES;
}

/* The request head is in: our own checks of the target and the framing, then the route. */
static enum MHD_Result first_call(struct httpd_req *r, struct MHD_Connection *c, const char *method,
				  const char *version)
{
	struct cl_scan cl = { NULL, 0, false };

	r->method = method;
	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)) {
		refuse_note(r->srv->name, r->peer, REFUSE_BAD_REQUEST, "HTTP/1.1 request without a Host header");
		return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "HTTP/1.1 request without a Host header");
	}
	/* libmicrohttpd reads the first Content-Length only: two that differ are a request
	 * smuggling attempt (RFC 9112 6.3) and are refused. */
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_cl, &cl);
	if (cl.differ) {
		refuse_note(r->srv->name, r->peer, REFUSE_BAD_REQUEST, "two different Content-Length headers");
		r->must_close = true;
		return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "two different Content-Length headers");
	}
	return httpd_req_begin(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct httpd_req *r = *con_cls;

	(void)cls;
	(void)url;
	if (!r || r->gone)
		return MHD_NO; /* the client left while the request was held: close */
	if (!r->method)
		return first_call(r, c, method, version);
	if (r->handled) {
		*upload_size = 0; /* a response is queued; discard what still arrives */
		return MHD_YES;
	}
	if (*upload_size) {
		/* libmicrohttpd cannot answer in the middle of a body (chunked, no length):
		 * drop what exceeds the limit, answer 413 at its end, and close a client that
		 * keeps sending far beyond it. */
		int rc = httpd_req_data(r, upload, *upload_size);

		*upload_size = 0;
		return rc < 0 ? MHD_NO : MHD_YES;
	}
	return httpd_req_run(r);
}

int httpd_add_http1(struct httpd *h, int fd, const struct sockaddr *addr, socklen_t alen)
{
	if (MHD_add_connection(h->d, fd, addr, alen) != MHD_YES) {
		char peer[64];

		peer_string(addr, peer, sizeof(peer));
		log_warn("%s: cannot take the connection from %s: %s", h->name, peer, strerror(errno));
		return -EIO;
	}
	return 0;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_debug("%s: libmicrohttpd: %s", (const char *)cls, msg);
}

int mhd_start(struct httpd *h)
{
	const struct httpd_opts *o = &h->o;

	/* No listening socket of its own: lib/listener.c accepts, looks at the first bytes
	 * and hands every connection that is not HTTP/2 over (MHD_add_connection). Its
	 * connection limit is above the listener's table, which is the one that counts. */
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
				MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG |
				(strchr(o->addr, ':') ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h->name,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, h,
				MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, notify_conn, h,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 1 ? o->threads : 0),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)(HTTPD_MAX_CONNS + 256),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)90,
				MHD_OPTION_END);
	return h->d ? 0 : -ENOMEM;
}

/* ---- the first request head, checked before libmicrohttpd reads it ---------------------- */

/* The value of a header line (name matched case-insensitively), without its leading blanks
 * (libmicrohttpd drops those, and refuses a Content-Length with trailing ones). */
static bool header_is(const char *line, size_t n, const char *name, const char **v, size_t *vl)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	*v = line + k + 1;
	*vl = n - k - 1;
	while (*vl && (**v == ' ' || **v == '\t'))
		(*v)++, (*vl)--;
	return true;
}

bool http1_line_plausible(const char *p, size_t n)
{
	const char *eol = memmem(p, n, "\r\n", 2), *sp;
	size_t i;

	for (i = 0; i < n && p[i] >= 'A' && p[i] <= 'Z'; i++)
		;
	if (i == 0 || (i < n && p[i] != ' '))
		return false; /* a method is upper-case letters, then a space */
	if (!eol)
		return true;
	sp = memrchr(p, ' ', (size_t)(eol - p));
	return sp && sp > p + i && (size_t)(eol - sp) == 9 && memcmp(sp + 1, "HTTP/1.", 7) == 0;
}

int http1_head_check(const char *p, size_t n, char *why, size_t whylen)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4), *line, *v, *cl = NULL;
	size_t vl, cll = 0, i;
	bool te = false;

	if (!end)
		return 0;
	/* Header lines after the request line, each ending in CRLF, up to the blank one. */
	line = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
	for (line = line ? line + 2 : end + 2; line < end + 2;) {
		const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		size_t len = eol ? (size_t)(eol - line) : 0;

		if (!eol)
			break;
		if (header_is(line, len, "Transfer-Encoding", &v, &vl)) {
			te = true;
		} else if (header_is(line, len, "Content-Length", &v, &vl)) {
			for (i = 0; i < vl; i++)
				if (v[i] < '0' || v[i] > '9')
					break;
			if (vl == 0 || i < vl) {
				snprintf(why, whylen, "Content-Length '%.*s' is not a decimal number of bytes", (int)(vl > 40 ? 40 : vl), v);
				return 400;
			}
			if (vl > 19) {
				snprintf(why, whylen, "Content-Length of %zu digits is past any body this server takes", vl);
				return 413;
			}
			if (cl && (cll != vl || memcmp(cl, v, vl) != 0)) {
				snprintf(why, whylen, "two different Content-Length headers");
				return 400;
			}
			cl = v;
			cll = vl;
		}
		line = eol + 2;
	}
	if (te && cl) {
		snprintf(why, whylen, "both Transfer-Encoding and Content-Length");
		return 400;
	}
	return 0;
}

/* The comma-separated list v[0..vl) holds `token` (case-insensitive, blanks around items). */
static bool list_has(const char *v, size_t vl, const char *token)
{
	size_t k = strlen(token), i = 0;

	while (i < vl) {
		size_t a, b;

		while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		for (a = i; i < vl && v[i] != ','; i++)
			;
		for (b = i; b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'); b--)
			;
		if (b - a == k && strncasecmp(v + a, token, k) == 0)
			return true;
	}
	return false;
}

size_t http1_h2c_request(const char *p, size_t n, const char **settings, size_t *sl)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4), *eol, *line, *v;
	size_t vl, nsettings = 0;
	bool upgrade = false, conn = false, body = false;

	if (!end || !(eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2)) || eol - p < 9 ||
	    memcmp(eol - 9, " HTTP/1.1", 9) != 0)
		return 0;
	for (line = eol + 2; line < end + 2; line = eol + 2) {
		size_t len;

		if (!(eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2)))
			break;
		len = (size_t)(eol - line);
		if (header_is(line, len, "Upgrade", &v, &vl))
			upgrade = list_has(v, vl, "h2c");
		else if (header_is(line, len, "Connection", &v, &vl))
			conn = list_has(v, vl, "upgrade") && list_has(v, vl, "http2-settings");
		else if (header_is(line, len, "HTTP2-Settings", &v, &vl)) {
			for (*settings = v, *sl = vl; *sl && ((*settings)[*sl - 1] == ' ' || (*settings)[*sl - 1] == '\t');)
				(*sl)--;
			nsettings++;
		} else if (header_is(line, len, "Transfer-Encoding", &v, &vl) ||
			   (header_is(line, len, "Content-Length", &v, &vl) && !(vl == 1 && v[0] == '0')))
			body = true;
	}
	return upgrade && conn && nsettings == 1 && !body ? (size_t)(end + 4 - p) : 0;
}
