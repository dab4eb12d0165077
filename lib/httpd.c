/* httpd.c: route dispatch, body limits, responses and peer-addressed error logs, shared by
 * the HTTP/1.1 transport (libmicrohttpd, here) and the HTTP/2 one (lib/h2.c). */
#include "httpd_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "grpc.h"
#include "listener.h"
#include "log.h"
#include "mpjson.h"
#include "refuse.h"

/* Request bodies held at once, across every server of the process: a crowd of large
 * uploads gets 503s instead of growing memory without bound. */
static atomic_size_t inflight;
static size_t inflight_max = HTTPD_INFLIGHT_DEFAULT;

void httpd_set_inflight_max(size_t bytes)
{
	inflight_max = bytes;
}

size_t httpd_inflight(void)
{
	return atomic_load(&inflight);
}

int64_t httpd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void httpd_req_release_budget(struct httpd_req *r)
{
	atomic_fetch_sub(&inflight, atomic_exchange(&r->counted, 0));
}

bool httpd_req_too_slow(const struct httpd_req *r, int64_t now)
{
	int64_t age = now - r->body_start_ms;

	if (r->handled || r->body_done || r->suspended || !r->body_start_ms)
		return false;
	if (now - atomic_load(&r->body_last_ms) >= HTTPD_BODY_STALL * 1000)
		return true;
	return age >= HTTPD_BODY_GRACE * 1000 && atomic_load(&r->body_got) * 1000 < (uint64_t)HTTPD_BODY_MIN_RATE * (uint64_t)age;
}

/* ---- responses ------------------------------------------------------------------------ */

static struct httpd_resp *resp_new(void)
{
	struct httpd_resp *resp = calloc(1, sizeof(*resp));

	if (!resp)
		return NULL;
	buf_init(&resp->headers.list, 256 * 1024);
	buf_init(&resp->trailers.list, 64 * 1024);
	return resp;
}

struct httpd_resp *httpd_resp_buffer(const void *data, size_t len, bool copy)
{
	struct httpd_resp *resp = resp_new();

	if (!resp)
		return NULL;
	resp->data = len ? data : "";
	resp->len = len;
	if (copy && len) {
		if (!(resp->owned = malloc(len))) {
			httpd_resp_free(resp);
			return NULL;
		}
		memcpy(resp->owned, data, len);
		resp->data = resp->owned;
	}
	return resp;
}

struct httpd_resp *httpd_resp_reader(uint64_t total, size_t block, httpd_reader fn, void *cls,
				     void (*cls_free)(void *cls))
{
	struct httpd_resp *resp = resp_new();

	if (!resp) {
		if (cls_free)
			cls_free(cls);
		return NULL;
	}
	resp->fn = fn;
	resp->cls = cls;
	resp->cls_free = cls_free;
	resp->total = total;
	resp->block = block ? block : 16384;
	return resp;
}

int httpd_fields_addn(struct httpd_fields *f, const char *name, size_t nl, const char *value, size_t vl)
{
	size_t keep = f->list.len;

	if (memchr(name, 0, nl) || memchr(value, 0, vl))
		return -EINVAL;
	if (buf_append(&f->list, name, nl) < 0 || buf_putc(&f->list, '\0') < 0 ||
	    buf_append(&f->list, value, vl) < 0 || buf_putc(&f->list, '\0') < 0) {
		f->list.len = keep;
		return -ENOMEM;
	}
	f->n++;
	return 0;
}

int httpd_fields_add(struct httpd_fields *f, const char *name, const char *value)
{
	return httpd_fields_addn(f, name, strlen(name), value, strlen(value));
}

int httpd_resp_header(struct httpd_resp *resp, const char *name, const char *value)
{
	return resp ? httpd_fields_add(&resp->headers, name, value) : -EINVAL;
}

int httpd_resp_trailer(struct httpd_resp *resp, const char *name, const char *value)
{
	return resp ? httpd_fields_add(&resp->trailers, name, value) : -EINVAL;
}

const char *httpd_fields_next(const struct httpd_fields *f, size_t *off, const char **value)
{
	const char *name;

	if (*off >= f->list.len)
		return NULL;
	name = f->list.data + *off;
	*value = name + strlen(name) + 1;
	*off = (size_t)(*value - f->list.data) + strlen(*value) + 1;
	return name;
}

void httpd_resp_free(struct httpd_resp *resp)
{
	if (!resp)
		return;
	if (resp->cls_free)
		resp->cls_free(resp->cls);
	buf_free(&resp->headers.list);
	buf_free(&resp->trailers.list);
	free(resp->owned);
	free(resp);
}

void httpd_add_cors(struct httpd_resp *resp, const char *origin)
{
	if (!origin || !*origin)
		return;
	httpd_resp_header(resp, "Access-Control-Allow-Origin", origin);
	httpd_resp_header(resp, "Access-Control-Allow-Headers", "Origin, X-Requested-With, Content-Type, Accept");
	httpd_resp_header(resp, "Access-Control-Expose-Headers",
			  "vivo-stream-start-id, vivo-stream-end-id, vivo-stream-next-id");
}

enum MHD_Result httpd_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp)
{
	if (!resp)
		return MHD_NO;
	r->handled = true;
	if (r->must_close)
		httpd_resp_header(resp, "Connection", "close");
	if (r->proto == HTTPD_HTTP2)
		return h2_queue(r, status, resp);
	return mhd_queue(r, status, resp);
}

enum MHD_Result httpd_reply(struct httpd_req *r, unsigned status, const char *ctype,
			    const char *body, size_t len)
{
	struct httpd_resp *resp = httpd_resp_buffer(body, len, true);

	if (!resp)
		return MHD_NO;
	if (ctype && httpd_resp_header(resp, "Content-Type", ctype) < 0) {
		httpd_resp_free(resp);
		return MHD_NO;
	}
	return httpd_queue(r, status, resp);
}

__attribute__((format(printf, 3, 0)))
static enum MHD_Result vreply_error(struct httpd_req *r, unsigned status, const char *fmt, va_list ap)
{
	struct httpd_resp *resp;
	char msg[512];
	struct buf b;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (status >= 400)
		log_debug("%s: %u for %s %s from %s: %s", r->srv->name, status, r->method ? r->method : "?",
			  r->path ? r->path : "?", r->peer, msg);
	if (r->grpc)
		return grpc_reply_status(r, grpc_code_for_http(status), msg);
	buf_init(&b, 4096);
	if (buf_puts(&b, "{\"error\":") < 0 || mpjson_put_string(&b, msg, strlen(msg)) < 0 ||
	    buf_puts(&b, "}\n") < 0) {
		buf_free(&b);
		return MHD_NO;
	}
	resp = httpd_resp_buffer(b.data, b.len, true);
	buf_free(&b);
	if (!resp || httpd_resp_header(resp, "Content-Type", "application/json") < 0) {
		httpd_resp_free(resp);
		return MHD_NO;
	}
	httpd_add_cors(resp, r->srv->cors);
	return httpd_queue(r, status, resp);
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
	r->suspended = true;
	if (r->proto == HTTPD_HTTP2)
		h2_suspend(r);
	else
		mhd_suspend(r);
}

void httpd_resume(struct httpd_req *r)
{
	if (r->proto == HTTPD_HTTP2)
		h2_resume(r);
	else
		mhd_resume(r);
}

const char *httpd_header(struct httpd_req *r, const char *name)
{
	if (r->proto == HTTPD_HTTP2)
		return h2_header(r, name);
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- the request, whatever carried it --------------------------------------------------- */

struct httpd_req *httpd_req_new(struct httpd *h, enum httpd_proto proto, const char *peer)
{
	struct httpd_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->srv = h;
	r->proto = proto;
	buf_init(&r->body, h->o.body_max);
	snprintf(r->peer, sizeof(r->peer), "%s", peer ? peer : "?");
	return r;
}

int httpd_req_target(struct httpd_req *r, const char *method, const char *raw_path)
{
	size_t n = strcspn(raw_path, "?"), i, o = 0;
	char *q, *path;

	if (strlen(raw_path) > HTTPD_TARGET_MAX)
		r->bad_target = "the request target is over the limit of " HTTPD_STR(HTTPD_TARGET_MAX) " bytes";
	free(r->raw_uri);
	if (!(r->raw_uri = malloc(strlen(raw_path) + 1 + n + 1 + strlen(method) + 1)))
		return -ENOMEM;
	memcpy(r->raw_uri, raw_path, strlen(raw_path) + 1);
	q = strchr(r->raw_uri, '?');
	r->query = q ? q + 1 : "";
	/* The decoded path and the method live behind the raw URI, in the same block. */
	path = r->raw_uri + strlen(raw_path) + 1;
	for (i = 0; i < n; i++) {
		if (raw_path[i] == '%' && i + 2 < n && codec_hexval(raw_path[i + 1]) >= 0 &&
		    codec_hexval(raw_path[i + 2]) >= 0) {
			path[o] = (char)(codec_hexval(raw_path[i + 1]) << 4 | codec_hexval(raw_path[i + 2]));
			if (path[o++] == '\0' && !r->bad_target)
				r->bad_target = "the path holds a NUL byte (%00)";
			i += 2;
		} else {
			path[o++] = raw_path[i];
		}
	}
	path[o] = '\0';
	r->path = path;
	memcpy(path + n + 1, method, strlen(method) + 1);
	r->method = path + n + 1;
	return 0;
}

static bool path_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, path, n - 1) == 0;
	return strcmp(pattern, path) == 0;
}

/* The route for the request, or NULL after queueing the 404/405 answer (in *ret). */
static const struct httpd_route *route_for(struct httpd *h, struct httpd_req *r, enum MHD_Result *ret)
{
	char allow[128] = "";
	bool path_known = false;
	struct httpd_resp *resp;
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
	if (!path_known || r->grpc) {
		if (httpd_header(r, "X-Prometheus-Remote-Write-Version")) {
			refuse_note(h->name, r->peer, REFUSE_PROTOCOL, "a Prometheus remote-write request (%s %.100s) on a port without a prometheus_remote_write input",
				    r->method, r->path);
			*ret = httpd_reply_error(r, MHD_HTTP_NOT_FOUND, "%s has no Prometheus remote-write input: send it to a prometheus_remote_write input's port", h->name);
			return NULL;
		}
		refuse_note(h->name, r->peer, r->grpc ? REFUSE_PROTOCOL : REFUSE_NOT_FOUND, "%s %.100s: %s", r->method, r->path,
			    r->grpc ? "no gRPC method of that name here" : "no such path");
		*ret = r->grpc ? grpc_reply_status(r, GRPC_UNIMPLEMENTED, "unknown method")
			       : httpd_reply_error(r, MHD_HTTP_NOT_FOUND, "no such path: %s", r->path);
		return NULL;
	}
	n = snprintf(msg, sizeof(msg), "{\"error\":\"method %s not allowed; allowed: %s\"}\n", r->method, allow);
	if (!(resp = httpd_resp_buffer(msg, (size_t)(n < 0 ? 0 : n), true))) {
		*ret = MHD_NO;
		return NULL;
	}
	httpd_resp_header(resp, "Allow", allow);
	httpd_resp_header(resp, "Content-Type", "application/json");
	httpd_add_cors(resp, h->cors);
	*ret = httpd_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	return NULL;
}

static bool is_grpc_type(const char *ct)
{
	return ct && strncasecmp(ct, "application/grpc", 16) == 0 && (ct[16] == '\0' || ct[16] == '+' || ct[16] == ';');
}

enum MHD_Result httpd_req_begin(struct httpd_req *r)
{
	struct httpd *h = r->srv;
	enum MHD_Result ret = MHD_YES;
	const char *cl;

	r->grpc = r->proto == HTTPD_HTTP2 && is_grpc_type(httpd_header(r, "content-type"));
	r->body_start_ms = httpd_now_ms();
	atomic_store(&r->body_last_ms, r->body_start_ms);
	if (r->bad_target) {
		bool longer = strlen(r->raw_uri ? r->raw_uri : "") > HTTPD_TARGET_MAX;

		refuse_note(h->name, r->peer, longer ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST, "%s", r->bad_target);
		return httpd_reply_error(r, longer ? MHD_HTTP_URI_TOO_LONG : MHD_HTTP_BAD_REQUEST, "%s", r->bad_target);
	}
	if (atomic_load(&h->draining))
		return httpd_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down; retry");
	if (!(r->route = route_for(h, r, &ret)))
		return ret;
	/* Answer an announced oversize body before reading any of it. */
	cl = httpd_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno || *end || n > h->o.body_max) {
			refuse_note(h->name, r->peer, REFUSE_TOO_LARGE, "announced body of %.40s bytes is over the %zu-byte limit",
				    cl, h->o.body_max);
			return httpd_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over the limit of %zu bytes",
						 h->o.body_max);
		}
	}
	return MHD_YES;
}

/* Whether a request holding `mine` body bytes may take more while `held` are in flight in
 * all: the last quarter of the budget is kept for requests under HTTPD_SMALL_BODY, and no
 * request holds more than a quarter, so large uploads (stalled or not) cannot shut out the
 * small requests most senders make. */
static bool within_share(size_t mine, size_t held)
{
	if (held > inflight_max || mine > inflight_max / 4)
		return false;
	return mine <= HTTPD_SMALL_BODY || held <= inflight_max / 4 * 3;
}

int httpd_req_data(struct httpd_req *r, const char *data, size_t n)
{
	struct httpd *h = r->srv;

	atomic_fetch_add(&r->body_got, n);
	atomic_store(&r->body_last_ms, httpd_now_ms());
	if (!r->too_large && !r->busy && !atomic_load(&r->timed_out)) {
		size_t held = atomic_fetch_add(&inflight, n) + n, mine = atomic_fetch_add(&r->counted, n) + n;

		if (!within_share(mine, held)) {
			refuse_note(h->name, r->peer, REFUSE_BUSY, "%zu bytes of request bodies in flight, %zu of them this request's (budget %zu)",
				    held, mine, inflight_max);
			r->busy = true;
			buf_free(&r->body);
			httpd_req_release_budget(r); /* its body is discarded: it holds nothing */
		}
	}
	if (r->busy || atomic_load(&r->timed_out))
		return 0;
	if (!r->too_large && r->grpc && grpc_prefix_over(r->body.data, r->body.len, data, n, h->o.body_max)) {
		refuse_note(h->name, r->peer, REFUSE_TOO_LARGE, "gRPC message announces more than %zu bytes", h->o.body_max);
		r->too_large = true;
		buf_free(&r->body);
	}
	if (r->too_large || buf_append(&r->body, data, n) < 0) {
		if (!r->too_large)
			refuse_note(h->name, r->peer, REFUSE_TOO_LARGE, "body is over the %zu-byte limit", h->o.body_max);
		r->too_large = true;
		r->discarded += n;
		buf_free(&r->body);
		httpd_req_release_budget(r);
		if (r->discarded > 64 * (uint64_t)h->o.body_max + (1u << 20))
			return -1;
	}
	return 0;
}

enum MHD_Result httpd_req_run(struct httpd_req *r)
{
	struct httpd *h = r->srv;

	r->body_done = true;
	if (atomic_load(&r->timed_out))
		return httpd_reply_error(r, MHD_HTTP_REQUEST_TIMEOUT, "request body arrived below the minimum rate of %d bytes/s",
					 HTTPD_BODY_MIN_RATE);
	if (r->busy)
		return httpd_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "too many large requests in flight; retry later");
	if (r->too_large)
		return httpd_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over the limit of %zu bytes",
					 h->o.body_max);
	return r->route->fn(r, h->o.ctx);
}

void httpd_req_free(struct httpd_req *r)
{
	if (!r)
		return;
	if (r->state_free)
		r->state_free(r->state);
	httpd_req_release_budget(r);
	buf_free(&r->body);
	free(r->raw_uri);
	free(r);
}

/* ---- the server ------------------------------------------------------------------------- */

int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen)
{
	struct lsn_opts lo = { .addr = o->addr, .port = o->port, .loops = o->threads ? o->threads : 1,
			       .tls_crt_file = o->tls_crt_file, .tls_key_file = o->tls_key_file };
	struct httpd *h;
	int rc;

	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	h->o = *o;
	snprintf(h->name, sizeof(h->name), "%s", o->name);
	if (o->cors_origin)
		snprintf(h->cors, sizeof(h->cors), "%s", o->cors_origin);
	h->o.name = h->name;
	h->o.cors_origin = h->cors;
	if (mhd_start(h) < 0) {
		snprintf(err, errlen, "%s: cannot start the HTTP/1.1 server", o->name);
		free(h);
		return -ENOMEM;
	}
	if ((rc = lsn_start(h, &lo, &h->lsn, &h->port, err, errlen)) < 0) {
		MHD_stop_daemon(h->d);
		free(h);
		return rc;
	}
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

static _Atomic int64_t stop_deadline; /* 0: not shutting down */

void httpd_begin_shutdown(long long grace_s)
{
	atomic_store(&stop_deadline, httpd_now_ms() + grace_s * 1000);
}

int64_t httpd_stop_deadline(void)
{
	int64_t d = atomic_load(&stop_deadline);

	return d ? d : httpd_now_ms() + 5000;
}

void httpd_drain(struct httpd *h)
{
	if (!h)
		return;
	atomic_store(&h->draining, true);
	lsn_drain_begin(h->lsn);
}

void httpd_stop(struct httpd *h)
{
	int64_t deadline = httpd_stop_deadline();

	if (!h)
		return;
	httpd_drain(h);
	lsn_drain(h->lsn, deadline);
	/* HTTP/1.1 uploads in flight finish and are answered before the daemon stops. */
	while (atomic_load(&h->active1) > 0 && httpd_now_ms() < deadline)
		usleep(10000);
	if (atomic_load(&h->active1) > 0)
		log_warn("%s: %d requests still in flight after the grace period: closing them", h->name, atomic_load(&h->active1));
	MHD_stop_daemon(h->d);
	lsn_stop(h->lsn);
	free(h);
}
