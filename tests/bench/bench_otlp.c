/* bench_otlp.c: posts protobuf ExportTraceServiceRequests of 512 spans to a vivo-agent's OTLP
 * port and, in the same run, the same bytes to a discard endpoint (lib/httpd, same server
 * code, no decoding), and prints spans/s for both.
 * usage: bench_otlp OTLP_PORT [REQUESTS [CLIENTS [SPANS]]] */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "httpd.h"
#include "log.h"

/* ---- a tiny protobuf writer ---------------------------------------------------------- */

static void pb_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_putc(b, (char)v);
}

static void pb_tag(struct buf *b, unsigned num, unsigned wt)
{
	pb_varint(b, (uint64_t)num << 3 | wt);
}

static void pb_bytes(struct buf *b, unsigned num, const void *p, size_t n)
{
	pb_tag(b, num, 2);
	pb_varint(b, n);
	buf_append(b, p, n);
}

static void pb_str(struct buf *b, unsigned num, const char *s)
{
	pb_bytes(b, num, s, strlen(s));
}

static void pb_fixed64(struct buf *b, unsigned num, uint64_t v)
{
	char t[8];
	int i;

	pb_tag(b, num, 1);
	for (i = 0; i < 8; i++)
		t[i] = (char)(v >> (8 * i));
	buf_append(b, t, 8);
}

static void pb_uint(struct buf *b, unsigned num, uint64_t v)
{
	pb_tag(b, num, 0);
	pb_varint(b, v);
}

static void pb_msg(struct buf *b, unsigned num, struct buf *sub)
{
	pb_bytes(b, num, sub->data ? sub->data : "", sub->len);
	buf_reset(sub);
}

static void kv_str(struct buf *b, unsigned num, const char *k, const char *v)
{
	struct buf kv, av;

	buf_init(&kv, SIZE_MAX);
	buf_init(&av, SIZE_MAX);
	pb_str(&kv, 1, k);
	pb_str(&av, 1, v);
	pb_msg(&kv, 2, &av);
	pb_msg(b, num, &kv);
	buf_free(&kv);
	buf_free(&av);
}

static void kv_int(struct buf *b, unsigned num, const char *k, int64_t v)
{
	struct buf kv, av;

	buf_init(&kv, SIZE_MAX);
	buf_init(&av, SIZE_MAX);
	pb_str(&kv, 1, k);
	pb_uint(&av, 3, (uint64_t)v);
	pb_msg(&kv, 2, &av);
	pb_msg(b, num, &kv);
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
	pb_msg(&rs, 1, &sub);
	pb_str(&sub, 1, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
	pb_str(&sub, 2, "0.49.0");
	pb_msg(&ss, 1, &sub);
	for (i = 0; i < nspans; i++) {
		for (j = 0; j < 16; j++)
			tid[j] = (unsigned char)(i / 8 * 31 + j * 7 + 1);
		for (j = 0; j < 8; j++) {
			sid[j] = (unsigned char)(i * 13 + j * 5 + 3);
			pid[j] = (unsigned char)((i - 1) * 13 + j * 5 + 3);
		}
		pb_bytes(&sp, 1, tid, 16);
		pb_bytes(&sp, 2, sid, 8);
		if (i % 8)
			pb_bytes(&sp, 4, pid, 8);
		pb_str(&sp, 5, names[i % 8]);
		pb_uint(&sp, 6, i % 8 ? 3 : 2);
		pb_fixed64(&sp, 7, t0 + (uint64_t)i * 1000000);
		pb_fixed64(&sp, 8, t0 + (uint64_t)i * 1000000 + 734000);
		kv_str(&sp, 9, "http.request.method", "GET");
		kv_str(&sp, 9, "url.path", "/api/cart/items");
		kv_int(&sp, 9, "http.response.status_code", 200);
		kv_str(&sp, 9, "net.peer.name", "cart-db.internal");
		kv_int(&sp, 9, "db.rows", i % 17);
		kv_str(&sp, 9, "user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
		if (i % 8 == 3) {
			pb_fixed64(&sub, 1, t0 + (uint64_t)i * 1000000 + 500000);
			pb_str(&sub, 2, "exception");
			kv_str(&sub, 3, "exception.type", "TimeoutError");
			kv_str(&sub, 3, "exception.message", "upstream timed out after 500ms");
			pb_msg(&sp, 11, &sub);
			pb_str(&sub, 2, "upstream timed out");
			pb_uint(&sub, 3, 2);
		} else {
			pb_uint(&sub, 3, 1);
		}
		pb_msg(&sp, 15, &sub);
		pb_msg(&ss, 2, &sp);
	}
	pb_msg(&rs, 2, &ss);
	pb_msg(req, 1, &rs);
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
	const struct buf *body;
	int requests;
	int failures;
};

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long code = 0;
	int i;

	hdr = curl_slist_append(hdr, "Content-Type: application/x-protobuf");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	for (i = 0; i < c->requests; i++) {
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
			c->failures++;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Post `total` requests from `nclients` keep-alive clients; returns seconds, or -1. */
static double run(const char *url, const struct buf *body, int total, int nclients)
{
	struct client c[16];
	double t0, t1;
	int i, fail = 0;

	for (i = 0; i < nclients; i++) {
		c[i] = (struct client){ .url = url, .body = body, .requests = total / nclients + (i < total % nclients) };
	}
	t0 = now_s();
	for (i = 0; i < nclients; i++)
		pthread_create(&c[i].thread, NULL, client_main, &c[i]);
	for (i = 0; i < nclients; i++) {
		pthread_join(c[i].thread, NULL);
		fail += c[i].failures;
	}
	t1 = now_s();
	if (fail) {
		fprintf(stderr, "bench_otlp: %d of %d requests to %s failed\n", fail, total, url);
		return -1;
	}
	return t1 - t0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 4318;
	int total = argc > 2 ? atoi(argv[2]) : 400;
	int nclients = argc > 3 ? atoi(argv[3]) : 2;
	int nspans = argc > 4 ? atoi(argv[4]) : 512;
	struct httpd_opts o = { .name = "discard", .addr = "127.0.0.1", .port = 0, .body_max = 4000000,
				.threads = 2, .routes = discard_routes, .nroutes = 1 };
	struct httpd *d;
	struct buf body;
	char err[256], otlp_url[128], discard_url[128];
	double td, to, td2;

	log_init("bench_otlp");
	log_set_level(LOG_WARN);
	if (nclients < 1 || nclients > 16 || total < nclients || nspans < 1)
		return 2;
	buf_init(&body, SIZE_MAX);
	build_request(&body, nspans);
	if (httpd_start(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_otlp: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(otlp_url, sizeof(otlp_url), "http://127.0.0.1:%d/v1/traces", port);
	snprintf(discard_url, sizeof(discard_url), "http://127.0.0.1:%u/v1/traces", httpd_port(d));
	/* Warm both paths, then discard, OTLP, discard again (the baseline is their mean). */
	if (run(discard_url, &body, 2 * nclients, nclients) < 0 || run(otlp_url, &body, 2 * nclients, nclients) < 0)
		return 1;
	td = run(discard_url, &body, total, nclients);
	to = run(otlp_url, &body, total, nclients);
	td2 = run(discard_url, &body, total, nclients);
	httpd_stop(d);
	curl_global_cleanup();
	if (td < 0 || to < 0 || td2 < 0)
		return 1;
	td = (td + td2) / 2;
	printf("request: %d spans, %zu bytes of protobuf; %d requests per run, %d keep-alive clients\n",
	       nspans, body.len, total, nclients);
	printf("discard endpoint: %10.0f spans/s  %7.1f req/s  %7.1f MB/s\n", (double)total * nspans / td,
	       total / td, total * (double)body.len / td / 1e6);
	printf("otlp ingest:      %10.0f spans/s  %7.1f req/s  %7.1f MB/s\n", (double)total * nspans / to,
	       total / to, total * (double)body.len / to / 1e6);
	printf("ratio: %.2f of the discard rate; target >= 200000 spans/s: %s\n", td / to,
	       (double)total * nspans / to >= 200000 ? "met" : "NOT met");
	printf("RESULT spans_per_s=%.0f discard_spans_per_s=%.0f requests=%d\n", (double)total * nspans / to,
	       (double)total * nspans / td, total + 2 * nclients);
	buf_free(&body);
	return 0;
}
