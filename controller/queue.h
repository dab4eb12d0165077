/* queue.h: the reconcile work queue: deduplicated keys, delayed adds, per-key exponential backoff and an overall rate limit. */
#ifndef VIVO_QUEUE_H
#define VIVO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* As client-go's default controller rate limiter: per key 5 ms * 2^failures up to
 * 1000 s (~16.7 min), and a token bucket of 10 per second with a burst of 100; a retry
 * waits for the larger of the two. */
struct wq_opts {
	int64_t base_ms;
	int64_t max_ms;
	double qps;
	double burst;
};
#define WQ_OPTS_DEFAULT { 5, 1000000, 10.0, 100.0 }

struct wq;

/* All times are the caller's monotonic milliseconds (`now`), so tests drive the clock. */
struct wq *wq_new(const struct wq_opts *o, int64_t now);
void wq_free(struct wq *q);

/* Queue `key` now. A key waiting to be processed is not queued twice; a key being
 * processed is queued again when it is done. 0 or -ENOMEM. */
int wq_add(struct wq *q, const char *key, int64_t now);
/* Queue `key` after `delay_ms` (<= 0: now). A key already waiting keeps the earlier time. */
int wq_add_after(struct wq *q, const char *key, int64_t delay_ms, int64_t now);
/* Queue after the rate limiter's delay for this key (counts a failure); *delay_ms gets it. */
int wq_add_rate_limited(struct wq *q, const char *key, int64_t now, int64_t *delay_ms);
/* The key succeeded: reset its failure count. */
void wq_forget(struct wq *q, const char *key);
int wq_failures(const struct wq *q, const char *key);

/* Take the next ready key (moving due delayed keys in first). The string is valid until
 * wq_done for it. false when nothing is ready. */
bool wq_get(struct wq *q, int64_t now, const char **key);
/* Processing of `key` finished. */
void wq_done(struct wq *q, const char *key);

/* Milliseconds until the next delayed key is due: 0 when something is ready, -1 when
 * nothing is queued or waiting. */
int64_t wq_next_ms(struct wq *q, int64_t now);
/* Ready keys (the depth metric), and keys waiting for a delay. */
size_t wq_len(const struct wq *q);
size_t wq_waiting(const struct wq *q);

#endif
