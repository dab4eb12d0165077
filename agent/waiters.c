/* waiters.c: binary min-heaps of waiters; each waiter knows its place in its two heaps, so
 * taking one out (answered, expired, or its client gone) costs O(log n). */
#include "waiters.h"

#include <errno.h>
#include <stdlib.h>

enum { BY_FROM, BY_DEADLINE };

static bool less(int by, const struct waiter *a, const struct waiter *b)
{
	return by == BY_FROM ? a->from < b->from : a->deadline_ms < b->deadline_ms;
}

static size_t *pos(int by, struct waiter *w)
{
	return by == BY_FROM ? &w->fi : &w->di;
}

static void put(struct wheap *h, int by, size_t i, struct waiter *w)
{
	h->v[i] = w;
	*pos(by, w) = i;
}

static void up(struct wheap *h, int by, size_t i)
{
	struct waiter *w = h->v[i];

	while (i > 0 && less(by, w, h->v[(i - 1) / 2])) {
		put(h, by, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(h, by, i, w);
}

static void down(struct wheap *h, int by, size_t i)
{
	struct waiter *w = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && less(by, h->v[c + 1], h->v[c]))
			c++;
		if (!less(by, h->v[c], w))
			break;
		put(h, by, i, h->v[c]);
		i = c;
	}
	put(h, by, i, w);
}

static int reserve(struct wheap *h)
{
	struct waiter **v;
	size_t cap;

	if (h->n < h->cap)
		return 0;
	cap = h->cap ? 2 * h->cap : 64;
	if (!(v = realloc(h->v, cap * sizeof(*v))))
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

static void heap_push(struct wheap *h, int by, struct waiter *w)
{
	put(h, by, h->n++, w);
	up(h, by, h->n - 1);
}

static void heap_del(struct wheap *h, int by, size_t i)
{
	struct waiter *last = h->v[--h->n];

	if (i == h->n)
		return;
	put(h, by, i, last);
	if (i > 0 && less(by, last, h->v[(i - 1) / 2]))
		up(h, by, i);
	else
		down(h, by, i);
}

static struct wheap *from_heap(struct waitset *ws, const struct waiter *w)
{
	return &ws->from[w->kind][w->local_only ? 1 : 0];
}

int waitset_add(struct waitset *ws, struct waiter *w)
{
	struct wheap *f = from_heap(ws, w);

	if (reserve(f) < 0 || reserve(&ws->deadline) < 0)
		return -ENOMEM;
	heap_push(f, BY_FROM, w);
	heap_push(&ws->deadline, BY_DEADLINE, w);
	return 0;
}

void waitset_remove(struct waitset *ws, struct waiter *w)
{
	heap_del(from_heap(ws, w), BY_FROM, w->fi);
	heap_del(&ws->deadline, BY_DEADLINE, w->di);
}

uint64_t waitset_min_from(const struct waitset *ws, enum stream_kind k, bool local_only)
{
	const struct wheap *h = &ws->from[k][local_only ? 1 : 0];

	return h->n ? h->v[0]->from : UINT64_MAX;
}

struct waiter *waitset_pop_from(struct waitset *ws, enum stream_kind k, bool local_only, uint64_t upto)
{
	struct wheap *h = &ws->from[k][local_only ? 1 : 0];
	struct waiter *w;

	if (!h->n || h->v[0]->from > upto)
		return NULL;
	w = h->v[0];
	waitset_remove(ws, w);
	return w;
}

struct waiter *waitset_pop_expired(struct waitset *ws, int64_t now_ms)
{
	struct waiter *w;

	if (!ws->deadline.n || ws->deadline.v[0]->deadline_ms > now_ms)
		return NULL;
	w = ws->deadline.v[0];
	waitset_remove(ws, w);
	return w;
}

int64_t waitset_next_deadline(const struct waitset *ws)
{
	return ws->deadline.n ? ws->deadline.v[0]->deadline_ms : INT64_MAX;
}

size_t waitset_count(const struct waitset *ws)
{
	return ws->deadline.n;
}

void waitset_free(struct waitset *ws)
{
	int k, l;

	for (k = 0; k < STREAM_COUNT; k++)
		for (l = 0; l < 2; l++)
			free(ws->from[k][l].v);
	free(ws->deadline.v);
}
