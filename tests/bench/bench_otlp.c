/* bench_otlp.c: posts protobuf ExportTraceServiceRequests of 512 spans to a vivo-agent's OTLP
 * port and, in the same run, the same bytes to a discard endpoint (lib/httpd, same server
 * code, no decoding) and as OTLP/gRPC (h2c, an nghttp2 client) to its gRPC port, and prints
 * spans/s for each.
 * usage: bench_otlp OTLP_PORT [REQUESTS [CLIENTS [SPANS [GRPC_PORT]]]] */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "httpd.h"
#include "log.h"
#include "../unit/pbw.h"
#include "benchlib.h"

static void kv_str(struct buf *b, unsigned num, const char *k, const char *v)
{
	struct buf kv, av;

	buf_init(&kv, SIZE_MAX);
	buf_init(&av, SIZE_MAX);
	pbw_str(&kv, 1, k);
	pbw_str(&av, 1, v);
	pbw_msg(&kv, 2, &av);
	pbw_msg(b, num, &kv);
	buf_free(&kv);
	buf_free(&av);
}

static void kv_int(struct buf *b, unsigned num, const char *k, int64_t v)
{
	struct buf kv, av;

	buf_init(&kv, SIZE_MAX);
	buf_init(&av, SIZE_MAX);
	pbw_str(&kv, 1, k);
	pbw_uint(&av, 3, (uint64_t)v);
	pbw_msg(&kv, 2, &av);
	pbw_msg(b, num, &kv);
	buf_free(&kv);
	buf_free(&av);
}

/* 512 spans like an instrumented HTTP service sends: 64 traces of 8 spans. */
static void build_request(struct buf *req, int nspans)
{
	static const char *const names[] = { "GET /api/cart", "SELECT cart_items", "redis GET", "POST /pay",
					     "grpc inventory.Reserve", "render", "kafka send", "auth.Verify" };
	struct buf rs, ss, sp, sub;
	uint64_t t0 = 1700000000000000000ULL;
	unsigned char tid[16], sid[8], pid[8];
	int i, j;

	buf_init(&rs, SIZE_MAX);
	buf_init(&ss, SIZE_MAX);
	buf_init(&sp, SIZE_MAX);
	buf_init(&sub, SIZE_MAX);
	kv_str(&sub, 1, "service.name", "cart");
	kv_str(&sub, 1, "service.version", "1.8.3");
	kv_str(&sub, 1, "host.name", "cart-7d9f8b6c5-x2x4k");
	kv_str(&sub, 1, "telemetry.sdk.language", "go");
	pbw_msg(&rs, 1, &sub);
	pbw_str(&sub, 1, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
	pbw_str(&sub, 2, "0.49.0");
	pbw_msg(&ss, 1, &sub);
	for (i = 0; i < nspans; i++) {
		for (j = 0; j < 16; j++)
			tid[j] = (unsigned char)(i / 8 * 31 + j * 7 + 1);
		for (j = 0; j < 8; j++) {
			sid[j] = (unsigned char)(i * 13 + j * 5 + 3);
			pid[j] = (unsigned char)((i - 1) * 13 + j * 5 + 3);
		}
		pbw_bytes(&sp, 1, tid, 16);
		pbw_bytes(&sp, 2, sid, 8);
		if (i % 8)
			pbw_bytes(&sp, 4, pid, 8);
		pbw_str(&sp, 5, names[i % 8]);
		pbw_uint(&sp, 6, i % 8 ? 3 : 2);
		pbw_fixed64(&sp, 7, t0 + (uint64_t)i * 1000000);
		pbw_fixed64(&sp, 8, t0 + (uint64_t)i * 1000000 + 734000);
		kv_str(&sp, 9, "http.request.method", "GET");
		kv_str(&sp, 9, "url.path", "/api/cart/items");
		kv_int(&sp, 9, "http.response.status_code", 200);
		kv_str(&sp, 9, "net.peer.name", "cart-db.internal");
		kv_int(&sp, 9, "db.rows", i % 17);
		kv_str(&sp, 9, "user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
		if (i % 8 == 3) {
			pbw_fixed64(&sub, 1, t0 + (uint64_t)i * 1000000 + 500000);
			pbw_str(&sub, 2, "exception");
			kv_str(&sub, 3, "exception.type", "TimeoutError");
			kv_str(&sub, 3, "exception.message", "upstream timed out after 500ms");
			pbw_msg(&sp, 11, &sub);
			pbw_str(&sub, 2, "upstream timed out");
			pbw_uint(&sub, 3, 2);
		} else {
			pbw_uint(&sub, 3, 1);
		}
		pbw_msg(&sp, 15, &sub);
		pbw_msg(&ss, 2, &sp);
	}
	pbw_msg(&rs, 2, &ss);
	pbw_msg(req, 1, &rs);
	buf_free(&rs);
	buf_free(&ss);
	buf_free(&sp);
	buf_free(&sub);
}

/* ---- the discard endpoint --------------------------------------------------------------- */

static enum MHD_Result h_discard(struct httpd_req *r, void *ctx)
{
	(void)ctx;
	return httpd_reply(r, MHD_HTTP_OK, "application/x-protobuf", "", 0);
}

static const struct httpd_route discard_routes[] = { { "POST", "*", h_discard } };

/* ---- the client ----------------------------------------------------------------------------- */

struct client {
	pthread_t thread;
	const char *url;
	int port;             /* gRPC: the port; the path is the TraceService's Export */
	const struct buf *body;
	bool grpc;
	int requests;
	int failures;
};

/* OTLP/HTTP: libcurl, HTTP/1.1 keep-alive. */
static void *http1_main(struct client *c)
{
	static const char *const hdrs[] = { "Content-Type: application/x-protobuf", "Expect:", NULL };

	c->failures = bench_curl_post("bench_otlp", c->url, hdrs, c->body, c->requests, 200);
	return NULL;
}

/* ---- OTLP/gRPC: an h2c client on nghttp2, one connection per client thread, unary calls
 * one after another (libcurl 7.88's reuse of h2c prior-knowledge connections is broken:
 * curl/curl#10634, fixed in 8.0). --------------------------------------------------------- */

struct h2call {
	int fd;
	const struct buf *body;
	size_t off;
	bool done, ok;
};

static ssize_t h2_write(nghttp2_session *s, const uint8_t *p, size_t n, int flags, void *ud)
{
	struct h2call *k = ud;
	ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);

	(void)s;
	(void)flags;
	return w < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : w;
}

static int h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	struct h2call *k = ud;

	(void)s;
	(void)f;
	(void)flags;
	if (nl == 11 && memcmp(name, "grpc-status", 11) == 0 && vl == 1 && value[0] == '0')
		k->ok = true;
	return 0;
}

static int h2_closed(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	(void)s;
	(void)id;
	(void)code;
	((struct h2call *)ud)->done = true;
	return 0;
}

static ssize_t h2_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *ud)
{
	struct h2call *k = ud;
	size_t n = k->body->len - k->off < len ? k->body->len - k->off : len;

	(void)s;
	(void)id;
	(void)src;
	memcpy(buf, k->body->data + k->off, n);
	k->off += n;
	if (k->off == k->body->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int h2_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One unary call: 0 when it ended with grpc-status 0. */
static int h2_call(nghttp2_session *s, struct h2call *k, const char *authority)
{
	static const char path[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
	nghttp2_nv nva[] = {
		{ (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
		{ (uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority), 0 },
		{ (uint8_t *)":path", (uint8_t *)path, 5, sizeof(path) - 1, 0 },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0 },
		{ (uint8_t *)"te", (uint8_t *)"trailers", 2, 8, 0 },
	};
	nghttp2_data_provider prd = { .read_callback = h2_body };
	uint8_t in[16384];
	ssize_t n;

	k->off = 0;
	k->done = k->ok = false;
	if (nghttp2_submit_request(s, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, NULL) < 0)
		return -1;
	while (!k->done) {
		if (nghttp2_session_send(s) != 0 || (n = recv(k->fd, in, sizeof(in), 0)) <= 0 ||
		    nghttp2_session_mem_recv(s, in, (size_t)n) < 0)
			return -1;
	}
	return nghttp2_session_send(s) == 0 && k->ok ? 0 : -1;
}

static void *grpc_main(struct client *c)
{
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 } };
	nghttp2_session_callbacks *cb;
	nghttp2_session *s = NULL;
	struct h2call k = { .body = c->body };
	char authority[32];
	int i;

	snprintf(authority, sizeof(authority), "127.0.0.1:%d", c->port);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, h2_write);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_header);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_closed);
	if ((k.fd = h2_connect(c->port)) < 0 || nghttp2_session_client_new(&s, cb, &k) != 0 ||
	    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 1) != 0) {
		c->failures = c->requests;
		goto out;
	}
	for (i = 0; i < c->requests; i++)
		if (h2_call(s, &k, authority) < 0 && !c->failures++)
			fprintf(stderr, "bench_otlp: gRPC call to port %d failed\n", c->port);
out:
	nghttp2_session_del(s);
	nghttp2_session_callbacks_del(cb);
	if (k.fd >= 0)
		close(k.fd);
	return NULL;
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	return c->grpc ? grpc_main(c) : http1_main(c);
}

/* Post `total` requests from `nclients` keep-alive clients; returns seconds, or -1. */
static double run(const char *url, const struct buf *body, int total, int nclients)
{
	struct client c[16];
	double t0, t1;
	int i, fail = 0;

	for (i = 0; i < nclients; i++) {
		c[i] = (struct client){ .url = url, .body = body, .requests = total / nclients + (i < total % nclients) };
		if (strncmp(url, "grpc:", 5) == 0) {
			c[i].grpc = true;
			c[i].port = atoi(url + 5);
		}
	}
	t0 = bench_mono_s();
	for (i = 0; i < nclients; i++)
		pthread_create(&c[i].thread, NULL, client_main, &c[i]);
	for (i = 0; i < nclients; i++) {
		pthread_join(c[i].thread, NULL);
		fail += c[i].failures;
	}
	t1 = bench_mono_s();
	if (fail) {
		fprintf(stderr, "bench_otlp: %d of %d requests to %s failed\n", fail, total, url);
		return -1;
	}
	return t1 - t0;
}

static void report(const char *what, int total, int nspans, size_t len, double t)
{
	printf("%-18s %10.0f spans/s  %7.1f req/s  %7.1f MB/s\n", what, (double)total * nspans / t, total / t,
	       total * (double)len / t / 1e6);
}

/* The same request as one gRPC message: flag 0, big-endian length, the protobuf. */
static void grpc_framed(const struct buf *pb, struct buf *out)
{
	unsigned char pre[5] = { 0, (unsigned char)(pb->len >> 24), (unsigned char)(pb->len >> 16),
				 (unsigned char)(pb->len >> 8), (unsigned char)pb->len };

	buf_append(out, pre, 5);
	buf_append(out, pb->data, pb->len);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 4318, total = argc > 2 ? atoi(argv[2]) : 400;
	int nclients = argc > 3 ? atoi(argv[3]) : 2, nspans = argc > 4 ? atoi(argv[4]) : 512;
	int gport = argc > 5 ? atoi(argv[5]) : 4317;
	struct httpd_opts o = { .name = "discard", .addr = "127.0.0.1", .port = 0, .body_max = 4000000,
				.threads = 2, .routes = discard_routes, .nroutes = 1 };
	struct httpd *d;
	struct buf body, framed;
	char err[256], otlp_url[128], discard_url[128], grpc_url[32];
	double td, to, tg;

	log_init("bench_otlp");
	log_set_level(LOG_WARN);
	if (nclients < 1 || nclients > 16 || total < nclients || nspans < 1)
		return 2;
	buf_init(&body, SIZE_MAX);
	buf_init(&framed, SIZE_MAX);
	build_request(&body, nspans);
	grpc_framed(&body, &framed);
	if (httpd_start(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_otlp: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(otlp_url, sizeof(otlp_url), "http://127.0.0.1:%d/v1/traces", port);
	snprintf(grpc_url, sizeof(grpc_url), "grpc:%d", gport);
	snprintf(discard_url, sizeof(discard_url), "http://127.0.0.1:%u/v1/traces", httpd_port(d));
	/* Warm every path; then discard, HTTP, gRPC, gRPC, HTTP, discard: each figure is the
	 * mean of its two runs, so drift in the machine's load hits them alike. */
	if (run(discard_url, &body, 2 * nclients, nclients) < 0 || run(otlp_url, &body, 2 * nclients, nclients) < 0 ||
	    run(grpc_url, &framed, 2 * nclients, nclients) < 0)
		return 1;
	td = run(discard_url, &body, total, nclients);
	to = run(otlp_url, &body, total, nclients);
	tg = run(grpc_url, &framed, total, nclients);
	tg += run(grpc_url, &framed, total, nclients);
	to += run(otlp_url, &body, total, nclients);
	td += run(discard_url, &body, total, nclients);
	httpd_stop(d);
	curl_global_cleanup();
	if (td < 0 || to < 0 || tg < 0)
		return 1;
	td /= 2, to /= 2, tg /= 2;
	printf("request: %d spans, %zu bytes of protobuf; %d requests per run, %d keep-alive clients\n",
	       nspans, body.len, total, nclients);
	report("discard endpoint:", total, nspans, body.len, td);
	report("OTLP/HTTP ingest:", total, nspans, body.len, to);
	report("OTLP/gRPC ingest:", total, nspans, framed.len, tg);
	printf("ratio: OTLP/HTTP %.2f of the discard rate; target >= 200000 spans/s: %s\n", td / to,
	       (double)total * nspans / to >= 200000 ? "met" : "NOT met");
	printf("ratio: OTLP/gRPC %.2f of OTLP/HTTP; target >= 0.80 (within 20%%): %s\n", to / tg,
	       to / tg >= 0.8 ? "met" : "NOT met");
	printf("RESULT spans_per_s=%.0f grpc_spans_per_s=%.0f discard_spans_per_s=%.0f requests=%d\n",
	       (double)total * nspans / to, (double)total * nspans / tg, (double)total * nspans / td,
	       4 * total + 4 * nclients);
	buf_free(&body);
	buf_free(&framed);
	return 0;
}
