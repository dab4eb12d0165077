/* bench_fleet.c: benchmark tool for the vivo input: `load` posts records to many agents at a fixed rate; `latency` follows one agent's /logs and prints the delay from each record's timestamp (its append upstream) to its arrival, optionally writing "key arrival" per marked record to join two readers. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "benchlib.h"
#include "opts.h"

#define MAX_SAMPLES (20 * 1000 * 1000)
#define MAX_UPSTREAMS 256

struct reader {
	int64_t *lat_us;            /* latency of each record, microseconds */
	size_t n;
	uint64_t next;
	int have_next;
	char partial[1 << 16];      /* a line split across two writes */
	size_t plen;
	const char *mark;           /* records whose line holds this, followed by a number (the key; else the time) */
	FILE *out;                  /* get "key arrival_ns" written here */
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint64_t num(const char *s, uint64_t max)
{
	return bench_num("bench_fleet", s, max);
}

/* A legacy line starts with [[<ts_ns>, : the record's time, set when its agent took it in. */
static void take_line(struct reader *r, const char *p, size_t n, int64_t now)
{
	const char *m, *digits;
	int64_t ts = 0, key = 0;
	size_t i, ml;

	if (n < 3 || p[0] != '[' || p[1] != '[')
		return;
	for (i = 2; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		ts = ts * 10 + (p[i] - '0');
	if (i == 2 || r->n >= MAX_SAMPLES)
		return;
	r->lat_us[r->n++] = (now - ts) / 1000;
	if (!r->out || !(m = memmem(p, n, r->mark, ml = strlen(r->mark))))
		return;
	for (m += ml, digits = m; m < p + n && *m >= '0' && *m <= '9'; m++)
		key = key * 10 + (*m - '0');
	if (m == digits)
		key = ts; /* no number after the mark: records are told apart by their time */
	fprintf(r->out, "%lld %lld\n", (long long)key, (long long)now);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb, off = 0;
	int64_t now = now_ns();

	while (off < n) {
		char *nl = memchr(data + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : n - off;

		if (r->plen || !nl) {
			size_t room = sizeof(r->partial) - r->plen, take = len < room ? len : room;

			memcpy(r->partial + r->plen, data + off, take);
			r->plen += take;
			if (nl) {
				take_line(r, r->partial, r->plen, now);
				r->plen = 0;
			}
		} else {
			take_line(r, data + off, len, now);
		}
		off += len + (nl ? 1 : 0);
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;
	char v[32];
	uint64_t id;

	if (n > 21 && strncasecmp(data, "Vivo-Stream-Next-ID:", 20) == 0) {
		size_t l = n - 20 < sizeof(v) - 1 ? n - 20 : sizeof(v) - 1;

		memcpy(v, data + 20, l);
		v[l] = '\0';
		v[strcspn(v, "\r\n")] = '\0';
		if (opts_parse_u64(v + strspn(v, " "), UINT64_MAX, &id) == 0) {
			r->next = id;
			r->have_next = 1;
		}
	}
	return n;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int latency(int argc, char **argv)
{
	struct reader *r = calloc(1, sizeof(*r));
	uint64_t port = num(argv[2], 65535), secs = num(argv[3], 3600);
	char url[256];
	double end;
	CURL *h;

	if (!r || !(r->lat_us = malloc(MAX_SAMPLES * sizeof(int64_t))))
		return 2;
	if (argc == 6) {
		r->mark = argv[4];
		if (!(r->out = fopen(argv[5], "w"))) {
			perror(argv[5]);
			return 2;
		}
	}
	h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	/* Where the stream is now: an empty read past the end still says Next-ID. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%llu/logs?from=18446744073709551615", (unsigned long long)port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (curl_easy_perform(h) != CURLE_OK || !r->have_next) {
		fprintf(stderr, "bench_fleet: cannot read 127.0.0.1:%llu\n", (unsigned long long)port);
		return 1;
	}
	for (end = bench_mono_s() + (double)secs; bench_mono_s() < end;) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%llu/logs?from=%llu&wait=2", (unsigned long long)port,
			 (unsigned long long)r->next);
		curl_easy_setopt(h, CURLOPT_URL, url);
		r->plen = 0;
		if (curl_easy_perform(h) != CURLE_OK)
			break;
	}
	curl_easy_cleanup(h);
	if (r->out)
		fclose(r->out);
	if (r->n) {
		qsort(r->lat_us, r->n, sizeof(int64_t), cmp64);
		printf("records=%zu p50_us=%lld p99_us=%lld max_us=%lld\n", r->n, (long long)r->lat_us[r->n / 2],
		       (long long)r->lat_us[r->n * 99 / 100], (long long)r->lat_us[r->n - 1]);
	} else {
		printf("records=0 p50_us=0 p99_us=0 max_us=0\n");
	}
	free(r->lat_us);
	free(r);
	return 0;
}

/* load RATE BATCH SECONDS PORT...: each agent gets RATE records/s as POSTs of BATCH records
 * ({"message","upstream":k,"seq":n}), paced every 10 ms; keep-alive, one request at a time. */
static int load(int argc, char **argv)
{
	uint64_t rate = num(argv[2], 1000000), batch = num(argv[3], 100000), secs = num(argv[4], 3600);
	size_t n = (size_t)argc - 5, k, i, sent = 0, failed = 0;
	static CURL *h[MAX_UPSTREAMS];
	static uint64_t seq[MAX_UPSTREAMS];
	double start = bench_mono_s(), t;
	struct curl_slist *hd;
	char url[128], *body;
	size_t cap = batch * 128 + 16;

	if (n == 0 || n > MAX_UPSTREAMS || batch == 0 || !(body = malloc(cap)))
		return 2;
	for (k = 0; k < n; k++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%llu/bench", (unsigned long long)num(argv[5 + k], 65535));
		h[k] = curl_easy_init();
		curl_easy_setopt(h[k], CURLOPT_URL, url);
		curl_easy_setopt(h[k], CURLOPT_WRITEFUNCTION, bench_curl_sink);
		curl_easy_setopt(h[k], CURLOPT_TIMEOUT, 10L);
	}
	hd = curl_slist_append(NULL, "Content-Type: application/json");
	while ((t = bench_mono_s() - start) < (double)secs) {
		/* Requests due by now, per agent: rate/batch per second since the start. */
		uint64_t due = (uint64_t)(t * (double)rate / (double)batch) + 1;

		for (k = 0; k < n; k++) {
			while (seq[k] / batch < due) {
				size_t len = 0;

				body[len++] = '[';
				for (i = 0; i < batch; i++, seq[k]++)
					len += (size_t)snprintf(body + len, cap - len, "%s{\"message\":\"GET /cart 200 12ms\",\"upstream\":%zu,\"seq\":%llu}",
								i ? "," : "", k, (unsigned long long)seq[k]);
				body[len++] = ']';
				curl_easy_setopt(h[k], CURLOPT_HTTPHEADER, hd);
				curl_easy_setopt(h[k], CURLOPT_POSTFIELDSIZE, (long)len);
				curl_easy_setopt(h[k], CURLOPT_COPYPOSTFIELDS, body);
				if (curl_easy_perform(h[k]) == CURLE_OK)
					sent += batch;
				else
					failed++;
			}
		}
		{
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	curl_slist_free_all(hd);
	for (k = 0; k < n; k++)
		curl_easy_cleanup(h[k]);
	free(body);
	printf("records=%zu failed_requests=%zu seconds=%.1f\n", sent, failed, bench_mono_s() - start);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc >= 4 && strcmp(argv[1], "latency") == 0 && (argc == 4 || argc == 6))
		rc = latency(argc, argv);
	else if (argc >= 6 && strcmp(argv[1], "load") == 0)
		rc = load(argc, argv);
	else
		fprintf(stderr, "usage: bench_fleet latency PORT SECONDS [MARK OUTFILE]\n"
				"       bench_fleet load RATE BATCH SECONDS PORT...\n");
	curl_global_cleanup();
	return rc;
}
