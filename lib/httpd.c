/* httpd.c: route dispatch, body limits, peer-addressed error logs, over libmicrohttpd. */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "mpjson.h"

/* Request bodies held at once, across every server of the process: a crowd of large
 * uploads gets 503s instead of growing memory without bound. */
static atomic_size_t httpd_inflight;
static size_t httpd_inflight_max = HTTPD_INFLIGHT_DEFAULT;

void httpd_set_inflight_max(size_t bytes)
{
	httpd_inflight_max = bytes;
}

struct httpd {
	struct MHD_Daemon *d;
	struct httpd_opts o;
	char name[32];
	char cors[256];
	uint16_t port;
};

static void peer_string(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			port = ntohs(in->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(out, n, "%s:%u", ip, port);
}

/* MHD hands us the raw URI before parsing it: keep it so query strings are parsed by
 * our own strict parser, not a lenient one. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct httpd *h = cls;
	struct httpd_req *r = calloc(1, sizeof(*r));
	char *q;

	if (!r)
		return NULL;
	r->conn = c;
	r->srv = h;
	buf_init(&r->body, h->o.body_max);
	r->raw_uri = strdup(uri ? uri : "");
	if (!r->raw_uri) {
		free(r);
		return NULL;
	}
	q = strchr(r->raw_uri, '?');
	r->query = q ? q + 1 : "";
	peer_string(c, r->peer, sizeof(r->peer));
	return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct httpd_req *r = *con_cls;

	if (!r)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_debug("%s: request from %s ended early (code %d)", r->srv->name, r->peer, (int)toe);
	if (r->state_free)
		r->state_free(r->state);
	atomic_fetch_sub(&httpd_inflight, r->counted);
	buf_free(&r->body);
	free(r->raw_uri);
	free(r);
	*con_cls = NULL;
}

void httpd_add_cors(struct MHD_Response *resp, const char *origin)
{
	if (!origin || !*origin)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Origin, X-Requested-With, Content-Type, Accept");
	MHD_add_response_header(resp, "Access-Control-Expose-Headers",
				"vivo-stream-start-id, vivo-stream-end-id, vivo-stream-next-id");
}

enum MHD_Result httpd_queue(struct httpd_req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	r->handled = true;
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result httpd_reply(struct httpd_req *r, unsigned status, const char *ctype,
			    const char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, "Content-Type", ctype);
	return httpd_queue(r, status, resp);
}

__attribute__((format(printf, 3, 0)))
static enum MHD_Result vreply_error(struct httpd_req *r, unsigned status, const char *fmt, va_list ap)
{
	struct MHD_Response *resp;
	char msg[512];
	struct buf b;
	enum MHD_Result ret;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	buf_init(&b, 4096);
	if (buf_puts(&b, "{\"error\":") < 0 || mpjson_put_string(&b, msg, strlen(msg)) < 0 ||
	    buf_puts(&b, "}\n") < 0) {
		buf_free(&b);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	httpd_add_cors(resp, r->srv->cors);
	if (status >= 400)
		log_debug("%s: %u for %s %s from %s: %s", r->srv->name, status, r->method, r->path, r->peer, msg);
	ret = httpd_queue(r, status, resp);
	return ret;
}

enum MHD_Result httpd_reply_error(struct httpd_req *r, unsigned status, const char *fmt, ...)
{
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	ret = vreply_error(r, status, fmt, ap);
	va_end(ap);
	return ret;
}

void httpd_suspend(struct httpd_req *r)
{
	MHD_suspend_connection(r->conn);
}

void httpd_resume(struct httpd_req *r)
{
	MHD_resume_connection(r->conn);
}

const char *httpd_header(struct httpd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static bool path_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, path, n - 1) == 0;
	return strcmp(pattern, path) == 0;
}

/* Find the route for the request, or queue the 404/405 answer and return NULL. */
static const struct httpd_route *route_for(struct httpd *h, struct httpd_req *r, enum MHD_Result *ret)
{
	char allow[128] = "";
	bool path_known = false;
	struct MHD_Response *resp;
	char msg[256];
	size_t i;
	int n;

	for (i = 0; i < h->o.nroutes; i++) {
		const struct httpd_route *rt = &h->o.routes[i];

		if (!path_matches(rt->path, r->path))
			continue;
		path_known = true;
		if (strcmp(rt->method, "*") == 0 || strcmp(rt->method, r->method) == 0)
			return rt;
		if (!strstr(allow, rt->method)) {
			if (*allow)
				strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
			strncat(allow, rt->method, sizeof(allow) - strlen(allow) - 1);
		}
	}
	if (!path_known) {
		*ret = httpd_reply_error(r, MHD_HTTP_NOT_FOUND, "no such path: %s", r->path);
		return NULL;
	}
	n = snprintf(msg, sizeof(msg), "{\"error\":\"method %s not allowed; allowed: %s\"}\n", r->method, allow);
	resp = MHD_create_response_from_buffer((size_t)n, msg, MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		*ret = MHD_NO;
		return NULL;
	}
	MHD_add_response_header(resp, "Allow", allow);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	httpd_add_cors(resp, h->cors);
	*ret = httpd_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_req *r = *con_cls;

	if (!r)
		return MHD_NO;
	if (!r->method) {
		enum MHD_Result ret = MHD_YES;
		const char *cl;

		/* First call: headers only. Answer a wrong path or method, or an announced
		 * oversize body, before reading any of it. */
		r->method = method;
		r->path = url;
		if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
		    !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
			return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "HTTP/1.1 request without a Host header");
		if (!(r->route = route_for(h, r, &ret)))
			return ret;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno || *end || n > h->o.body_max) {
				log_warn("%s: body of %s bytes from %s is over the %zu-byte limit",
					 h->name, cl, r->peer, h->o.body_max);
				return httpd_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
							 "request body over the limit of %zu bytes", h->o.body_max);
			}
		}
		return MHD_YES;
	}
	if (r->handled) {
		*upload_size = 0; /* a response is queued; discard what still arrives */
		return MHD_YES;
	}
	if (*upload_size) {
		/* libmicrohttpd cannot answer in the middle of a body (chunked, no length):
		 * drop what exceeds the limit, answer 413 at its end, and close a client that
		 * keeps sending far beyond it. */
		if (!r->too_large && !r->busy) {
			size_t held = atomic_fetch_add(&httpd_inflight, *upload_size) + *upload_size;

			r->counted += *upload_size;
			if (held > httpd_inflight_max) {
				log_warn("%s: %zu bytes of request bodies in flight; refusing the one from %s",
					 h->name, held, r->peer);
				r->busy = true;
			}
		}
		if (r->busy) {
			*upload_size = 0;
			return MHD_YES;
		}
		if (r->too_large || buf_append(&r->body, upload, *upload_size) < 0) {
			if (!r->too_large)
				log_warn("%s: body from %s is over the %zu-byte limit", h->name, r->peer, h->o.body_max);
			r->too_large = true;
			r->discarded += *upload_size;
			buf_free(&r->body);
			if (r->discarded > 64 * (uint64_t)h->o.body_max + (1u << 20))
				return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->busy)
		return httpd_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
					 "too many large requests in flight; retry later");
	if (r->too_large)
		return httpd_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over the limit of %zu bytes",
					 h->o.body_max);
	return r->route->fn(r, h->o.ctx);
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_debug("%s: libmicrohttpd: %s", (const char *)cls, msg);
}

int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct httpd *h;
	const union MHD_DaemonInfo *di;

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
		snprintf(err, errlen, "%s: bad listen address '%s'", o->name, o->addr);
		return -EINVAL;
	}
	(void)sl;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	h->o = *o;
	snprintf(h->name, sizeof(h->name), "%s", o->name);
	if (o->cors_origin)
		snprintf(h->cors, sizeof(h->cors), "%s", o->cors_origin);
	h->o.name = h->name;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
				MHD_USE_ERROR_LOG | (((struct sockaddr *)&ss)->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				o->port, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, h,
				MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h->name,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 1),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)90,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "%s: cannot listen on %s:%u (address in use, or not permitted)",
			 o->name, o->addr, o->port);
		free(h);
		return -EADDRINUSE;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : o->port;
	*out = h;
	return 0;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h->port;
}

const char *httpd_name(const struct httpd *h)
{
	return h->name;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
