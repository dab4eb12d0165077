/* waiters.h: the exporter's index of held long-polls: per stream and origin a min-heap by
 * `from`, so an append finds at once the waiters it satisfies (and none of the others), and
 * one min-heap by deadline; no locking (the exporter holds its lock). */
#ifndef VIVO_WAITERS_H
#define VIVO_WAITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct waiter {
	void *req;              /* the held request (the caller's) */
	uint64_t from;          /* answered once a chunk with ID >= from is held */
	int64_t deadline_ms;    /* CLOCK_MONOTONIC milliseconds */
	enum stream_kind kind;
	bool local_only;        /* origin=local: only a local chunk answers it */
	size_t fi, di;          /* positions in its from-heap and the deadline heap */
	struct waiter *next;    /* free for the caller's lists */
};

struct wheap {
	struct waiter **v;
	size_t n, cap;
};

struct waitset {
	struct wheap from[STREAM_COUNT][2]; /* [kind][local_only] */
	struct wheap deadline;
};

/* Index `w` (its fields set). 0 or -ENOMEM (nothing indexed). */
int waitset_add(struct waitset *ws, struct waiter *w);
/* Take `w` out of the index (it must be in it). */
void waitset_remove(struct waitset *ws, struct waiter *w);
/* The smallest `from` waiting on (kind, local_only), UINT64_MAX when none. */
uint64_t waitset_min_from(const struct waitset *ws, enum stream_kind k, bool local_only);
/* Take out and return one waiter of (kind, local_only) with from <= upto, or NULL. */
struct waiter *waitset_pop_from(struct waitset *ws, enum stream_kind k, bool local_only, uint64_t upto);
/* Take out and return one waiter whose deadline is <= now_ms, or NULL. */
struct waiter *waitset_pop_expired(struct waitset *ws, int64_t now_ms);
/* The earliest deadline, or INT64_MAX when nothing waits. */
int64_t waitset_next_deadline(const struct waitset *ws);
/* Waiters indexed. */
size_t waitset_count(const struct waitset *ws);
/* Free the heaps (not the waiters). */
void waitset_free(struct waitset *ws);

#endif
