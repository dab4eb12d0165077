/* bench_prom_rw.c: remote write samples/s: snappy WriteRequests of 2000 samples (Prometheus' max_samples_per_send) posted to a vivo-agent's prometheus_remote_write port, beside, in the same run, the same bytes posted to a discard endpoint (lib/httpd, no decoding) and the decode alone (snappy + prw_decode, in process).
 * usage: bench_prom_rw PORT [REQUESTS [CLIENTS [SAMPLES]]] */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "decompress.h"
#include "httpd.h"
#include "in_prom_rw/decode.h"
#include "log.h"
#include "../unit/pbw.h"
#include "benchlib.h"
#include <snappy-c.h>

static void label(struct buf *ts, const char *k, const char *v)
{
	struct buf l;

	buf_init(&l, SIZE_MAX);
	pbw_bytes(&l, 1, k, strlen(k));
	pbw_bytes(&l, 2, v, strlen(v));
	pbw_msg(ts, 1, &l);
}

/* `n` series of one sample each, as a node exporter scrape relayed by Prometheus looks:
 * 50 metric names, job/instance/mode/cpu-like labels, millisecond timestamps. */
static void build_request(struct buf *wr, int n)
{
	static const char *const modes[] = { "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice" };
	struct buf ts, s;
	char name[64], inst[64], cpu[16];
	double v;
	int i;

	buf_init(&ts, SIZE_MAX);
	buf_init(&s, SIZE_MAX);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "node_metric_%02d_seconds_total", i % 50);
		snprintf(inst, sizeof(inst), "node-%02d.example.internal:9100", i / 400);
		snprintf(cpu, sizeof(cpu), "%d", i / 50 % 8);
		label(&ts, "__name__", name);
		label(&ts, "cpu", cpu);
		label(&ts, "instance", inst);
		label(&ts, "job", "node");
		label(&ts, "mode", modes[i % 8]);
		v = 12345.678 + i * 0.25;
		pbw_double(&s, 1, v);
		pbw_uint(&s, 2, 1700000000000ULL + (uint64_t)i);
		pbw_msg(&ts, 2, &s);
		pbw_msg(wr, 1, &ts);
	}
	buf_free(&ts);
	buf_free(&s);
}

static enum MHD_Result h_discard(struct httpd_req *r, void *ctx)
{
	(void)ctx;
	return httpd_reply(r, 204, "text/plain", "", 0);
}

static const struct httpd_route discard_routes[] = { { "POST", "*", h_discard } };

struct client {
	pthread_t thread;
	const char *url;
	const struct buf *body;
	int requests, failures;
};

static const char *const rw_headers[] = {
	"Content-Type: application/x-protobuf", "Content-Encoding: snappy", "X-Prometheus-Remote-Write-Version: 0.1.0",
	"Expect:", NULL,
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	c->failures = bench_curl_post("bench_prom_rw", c->url, rw_headers, c->body, c->requests, 0);
	return NULL;
}

static double post_all(const char *url, const struct buf *body, int total, int nclients)
{
	struct client c[16];
	double t0 = bench_mono_s();
	int i, fail = 0;

	for (i = 0; i < nclients; i++) {
		c[i] = (struct client){ .url = url, .body = body, .requests = total / nclients + (i < total % nclients) };
		pthread_create(&c[i].thread, NULL, client_main, &c[i]);
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(c[i].thread, NULL);
		fail += c[i].failures;
	}
	if (fail) {
		fprintf(stderr, "bench_prom_rw: %d of %d requests to %s failed\n", fail, total, url);
		return -1;
	}
	return bench_mono_s() - t0;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The decode alone, on one core: snappy, then the WriteRequest into a chunk. CPU seconds
 * (the machine is shared: wall time would count other work). */
static double decode_all(const struct buf *body, int total)
{
	double t0 = cpu_s();
	uint64_t samples;
	char err[320];
	int i;

	for (i = 0; i < total; i++) {
		struct chunk_builder cb;
		struct buf plain;

		buf_init(&plain, 4000000);
		chunk_builder_init(&cb, STREAM_METRICS, "t", "prometheus_remote_write", "b", 32000000);
		if (dc_decode(DC_SNAPPY, body->data, body->len, 4000000, &plain, err, sizeof(err)) < 0 ||
		    prw_decode(plain.data, plain.len, NULL, &cb, &samples, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_prom_rw: decode: %s\n", err);
			return -1;
		}
		chunk_builder_free(&cb);
		buf_free(&plain);
	}
	return cpu_s() - t0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080, total = argc > 2 ? atoi(argv[2]) : 300;
	int nclients = argc > 3 ? atoi(argv[3]) : 2, nsamples = argc > 4 ? atoi(argv[4]) : 2000;
	struct httpd_opts o = { .name = "discard", .addr = "127.0.0.1", .port = 0, .body_max = 4000000,
				.threads = 2, .routes = discard_routes, .nroutes = 1 };
	struct buf pb, body;
	struct httpd *d;
	char err[256], url[128], durl[128];
	double td, ta, tdec, td2;
	size_t zn;

	log_init("bench_prom_rw");
	log_set_level(LOG_WARN);
	if (nclients < 1 || nclients > 16 || total < nclients || nsamples < 1)
		return 2;
	buf_init(&pb, SIZE_MAX);
	build_request(&pb, nsamples);
	buf_init(&body, SIZE_MAX);
	zn = snappy_max_compressed_length(pb.len);
	buf_reserve(&body, zn);
	snappy_compress(pb.data, pb.len, body.data, &zn);
	body.len = zn;
	if (httpd_start(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_prom_rw: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/prom/push", port);
	snprintf(durl, sizeof(durl), "http://127.0.0.1:%u/api/prom/push", httpd_port(d));
	if (post_all(durl, &body, 2 * nclients, nclients) < 0 || post_all(url, &body, 2 * nclients, nclients) < 0)
		return 1;
	td = post_all(durl, &body, total, nclients);
	ta = post_all(url, &body, total, nclients);
	td2 = post_all(durl, &body, total, nclients);
	tdec = decode_all(&body, total);
	httpd_stop(d);
	curl_global_cleanup();
	if (td < 0 || ta < 0 || td2 < 0 || tdec < 0)
		return 1;
	td = (td + td2) / 2;
	printf("request: %d samples, %zu bytes of protobuf, %zu of snappy; %d requests per run, %d keep-alive clients\n",
	       nsamples, pb.len, body.len, total, nclients);
	printf("discard endpoint:   %10.0f samples/s  %7.1f req/s\n", (double)total * nsamples / td, total / td);
	printf("decode alone:       %10.0f samples per CPU second (%.2f us/sample)\n", (double)total * nsamples / tdec,
	       tdec / ((double)total * nsamples) * 1e6);
	printf("remote write ingest: %9.0f samples/s  %7.1f req/s\n", (double)total * nsamples / ta, total / ta);
	printf("ratio: ingest takes %.1fx the discard endpoint's time\n", ta / td);
	printf("RESULT samples_per_s=%.0f discard_samples_per_s=%.0f decode_samples_per_s=%.0f requests=%d\n",
	       (double)total * nsamples / ta, (double)total * nsamples / td, (double)total * nsamples / tdec,
	       total + 2 * nclients);
	buf_free(&pb);
	buf_free(&body);
	return 0;
}
