/* bench_fleet.c: benchmark tool: follows an agent's /logs with long-polls for a fixed time and prints the latency from each record's timestamp (its append upstream) to its arrival here; optionally writes "ts arrival" of the records holding a mark, to join two readers per record. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "opts.h"

#define MAX_SAMPLES (20 * 1000 * 1000)

struct reader {
	int64_t *lat_us;            /* latency of each record, microseconds */
	size_t n;
	uint64_t next;
	int have_next;
	char partial[1 << 16];      /* a line split across two writes */
	size_t plen;
	const char *mark;           /* records whose line holds this are written to `out` */
	FILE *out;
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A legacy line starts with [[<ts_ns>, : the dummy input's append time upstream. */
static void take_line(struct reader *r, const char *p, size_t n, int64_t now)
{
	int64_t ts = 0;
	size_t i;

	if (n < 3 || p[0] != '[' || p[1] != '[')
		return;
	for (i = 2; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		ts = ts * 10 + (p[i] - '0');
	if (i == 2 || r->n >= MAX_SAMPLES)
		return;
	r->lat_us[r->n++] = (now - ts) / 1000;
	if (r->out && memmem(p, n, r->mark, strlen(r->mark)))
		fprintf(r->out, "%lld %lld\n", (long long)ts, (long long)now);
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

int main(int argc, char **argv)
{
	struct reader *r = calloc(1, sizeof(*r));
	uint64_t port, secs;
	char url[256];
	CURL *h;
	time_t end;

	if ((argc != 4 && argc != 6) || strcmp(argv[1], "latency") != 0 || opts_parse_u64(argv[2], 65535, &port) < 0 ||
	    opts_parse_u64(argv[3], 3600, &secs) < 0 || !r || !(r->lat_us = malloc(MAX_SAMPLES * sizeof(int64_t)))) {
		fprintf(stderr, "usage: bench_fleet latency PORT SECONDS [MARK OUTFILE]\n");
		return 2;
	}
	if (argc == 6) {
		r->mark = argv[4];
		if (!(r->out = fopen(argv[5], "w"))) {
			perror(argv[5]);
			return 2;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
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
	end = time(NULL) + (time_t)secs;
	while (time(NULL) < end) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%llu/logs?from=%llu&wait=2", (unsigned long long)port,
			 (unsigned long long)r->next);
		curl_easy_setopt(h, CURLOPT_URL, url);
		r->plen = 0;
		if (curl_easy_perform(h) != CURLE_OK)
			break;
	}
	curl_easy_cleanup(h);
	curl_global_cleanup();
	if (r->out)
		fclose(r->out);
	if (r->n == 0) {
		printf("records=0 p50_us=0 p99_us=0 max_us=0\n");
		return 1;
	}
	qsort(r->lat_us, r->n, sizeof(int64_t), cmp64);
	printf("records=%zu p50_us=%lld p99_us=%lld max_us=%lld\n", r->n, (long long)r->lat_us[r->n / 2],
	       (long long)r->lat_us[r->n * 99 / 100], (long long)r->lat_us[r->n - 1]);
	free(r->lat_us);
	free(r);
	return 0;
}
