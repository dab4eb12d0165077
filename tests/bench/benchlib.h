/* benchlib.h: what the C bench programs share: a monotonic clock, bounded number arguments and a keep-alive libcurl POST loop. */
#ifndef VIVO_BENCHLIB_H
#define VIVO_BENCHLIB_H

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "opts.h"

/* CLOCK_MONOTONIC seconds. */
static inline double bench_mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The number argument `s`, 0 to `max`; anything else ends the program (exit 2) with
 * "<prog>: bad number '<s>'". */
static inline uint64_t bench_num(const char *prog, const char *s, uint64_t max)
{
	uint64_t v;

	if (opts_parse_u64(s, max, &v) < 0) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

/* A libcurl write callback that drops the body. */
static inline size_t bench_curl_sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* POST `body` to `url` `requests` times, one after another on one keep-alive libcurl
 * handle, with the headers `hdrs` (NULL-terminated). A request fails when libcurl does or
 * the status is not `want` (0: any 2xx); the first failure is told on stderr after
 * "<prog>: ". Returns the count of failures. */
static inline int bench_curl_post(const char *prog, const char *url, const char *const *hdrs,
				  const struct buf *body, int requests, long want)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	int i, failures = 0;

	for (; *hdrs; hdrs++)
		hdr = curl_slist_append(hdr, *hdrs);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_curl_sink);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	for (i = 0; i < requests; i++) {
		CURLcode rc = curl_easy_perform(h);
		long code = 0;

		if (rc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if ((rc != CURLE_OK || (want ? code != want : code / 100 != 2)) && !failures++)
			fprintf(stderr, "%s: %s: %s, HTTP %ld\n", prog, url, curl_easy_strerror(rc), code);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return failures;
}

#endif
