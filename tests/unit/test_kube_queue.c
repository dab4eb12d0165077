/* test_kube_queue.c: unit tests for the work queue: deduplication, processing, delays, per-key backoff, the bucket. */
#include <stdio.h>
#include <string.h>

#include "queue.h"
#include "tap.h"

static void test_dedup(void)
{
	struct wq_opts o = WQ_OPTS_DEFAULT;
	struct wq *q = wq_new(&o, 0);
	const char *k1, *k2, *k3;

	wq_add(q, "ns/a", 0);
	wq_add(q, "ns/b", 0);
	wq_add(q, "ns/a", 0);
	ok(wq_len(q) == 2, "a key added twice is queued once");
	ok(wq_get(q, 0, &k1) && strcmp(k1, "ns/a") == 0, "FIFO order: a first");
	wq_add(q, "ns/a", 0);
	ok(wq_len(q) == 1, "a key added while processing is not handed out twice");
	ok(wq_get(q, 0, &k2) && strcmp(k2, "ns/b") == 0, "then b");
	ok(!wq_get(q, 0, &k3), "a is not ready while it is being processed");
	wq_done(q, "ns/a");
	ok(wq_get(q, 0, &k3) && strcmp(k3, "ns/a") == 0, "a comes back after done, since it was added meanwhile");
	wq_done(q, "ns/a");
	wq_done(q, "ns/b");
	ok(wq_len(q) == 0 && wq_next_ms(q, 0) == -1, "empty afterwards");
	wq_free(q);
}

static void test_delay(void)
{
	struct wq_opts o = WQ_OPTS_DEFAULT;
	struct wq *q = wq_new(&o, 0);
	const char *k;

	wq_add_after(q, "x", 100, 1000);
	wq_add_after(q, "x", 500, 1000);
	ok(wq_waiting(q) == 1 && wq_next_ms(q, 1000) == 100, "a key waits once, for the earlier time");
	wq_add_after(q, "y", 50, 1000);
	ok(wq_next_ms(q, 1000) == 50, "next due in 50 ms");
	ok(!wq_get(q, 1049, &k), "nothing before it is due");
	ok(wq_get(q, 1050, &k) && strcmp(k, "y") == 0, "y at 1050");
	wq_done(q, "y");
	ok(wq_get(q, 1100, &k) && strcmp(k, "x") == 0, "x at 1100");
	wq_done(q, "x");
	wq_add(q, "z", 2000);
	wq_add_after(q, "z", 10, 2000);
	ok(wq_get(q, 2000, &k) && strcmp(k, "z") == 0, "a queued key is ready at once");
	wq_done(q, "z");
	ok(!wq_get(q, 2005, &k) && wq_get(q, 2010, &k), "and its delayed add brings it back later");
	wq_done(q, "z");
	wq_free(q);
}

static void test_backoff(void)
{
	struct wq_opts o = WQ_OPTS_DEFAULT;
	struct wq *q = wq_new(&o, 0);
	int64_t d, want = 5;
	int i;
	bool doubling = true;
	const char *k;

	for (i = 0; i < 12; i++) {
		wq_add_rate_limited(q, "k", 0, &d);
		if (d != want)
			doubling = false;
		want *= 2;
	}
	ok(doubling, "per-key backoff 5 ms, 10, 20, ... doubling");
	for (i = 0; i < 30; i++)
		wq_add_rate_limited(q, "k", 0, &d);
	ok(d == 1000000, "capped at 1000 s (~16.7 min): %lld ms", (long long)d);
	ok(wq_failures(q, "k") == 42, "42 failures counted");
	wq_forget(q, "k");
	ok(wq_failures(q, "k") == 0, "forget resets");
	wq_add_rate_limited(q, "other", 0, &d);
	ok(d == 5, "another key starts at 5 ms");
	{
		int found = 0, n;

		for (n = 0; n < 2 && wq_get(q, 5, &k); n++) {
			found += strcmp(k, "other") == 0;
			wq_done(q, k);
		}
		ok(found == 1, "and is handed out when due");
	}
	wq_free(q);
}

static void test_bucket(void)
{
	struct wq_opts o = WQ_OPTS_DEFAULT;
	struct wq *q = wq_new(&o, 0);
	char key[32];
	int64_t d = 0;
	int i;

	/* 100 first failures of distinct keys: the burst; the 101st waits for the bucket. */
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		wq_add_rate_limited(q, key, 0, &d);
	}
	ok(d == 5, "within the burst of 100 the per-key delay rules");
	wq_add_rate_limited(q, "k100", 0, &d);
	ok(d == 100, "the 101st waits for the 10/s bucket: %lld ms", (long long)d);
	wq_add_rate_limited(q, "k101", 0, &d);
	ok(d == 200, "the 102nd 200 ms: %lld ms", (long long)d);
	wq_add_rate_limited(q, "k102", 10000, &d);
	ok(d == 5, "after 10 s the bucket has refilled");
	wq_free(q);
}

static void test_many(void)
{
	struct wq_opts o = WQ_OPTS_DEFAULT;
	struct wq *q = wq_new(&o, 0);
	char key[32];
	const char *k;
	int i, got = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns/%d", i % 1000);
		wq_add(q, key, 0);
	}
	ok(wq_len(q) == 1000, "5000 adds of 1000 keys: 1000 queued");
	while (wq_get(q, 0, &k)) {
		got++;
		wq_done(q, k);
	}
	ok(got == 1000 && wq_len(q) == 0, "all 1000 handed out once");
	wq_free(q);
}

int main(void)
{
	test_dedup();
	test_delay();
	test_backoff();
	test_bucket();
	test_many();
	return tap_done();
}
