/* queue.c: a FIFO of unique keys with a processing set, a min-heap of delayed keys and client-go's rate limiters. */
#include "queue.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct ent {
	char *key;            /* the map's copy */
	struct ent *next;     /* FIFO link */
	bool dirty;           /* queued (in the FIFO, or pending behind processing) */
	bool processing;
	int failures;
	int64_t wait_until;   /* in the heap when > 0 */
	size_t heap_idx;
};

struct wq {
	struct wq_opts o;
	struct smap keys;
	struct ent *head, *tail;
	size_t len;
	struct ent **heap;
	size_t nheap, capheap;
	double tokens;
	int64_t last_ms;
};

struct wq *wq_new(const struct wq_opts *o, int64_t now)
{
	struct wq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->o = *o;
	smap_init(&q->keys);
	q->tokens = o->burst;
	q->last_ms = now;
	return q;
}

void wq_free(struct wq *q)
{
	size_t pos = 0;
	struct smap_ent *e = NULL;

	if (!q)
		return;
	while ((e = smap_next(&q->keys, &pos, e)))
		free(e->val);
	smap_free(&q->keys);
	free(q->heap);
	free(q);
}

static struct ent *ent_get(struct wq *q, const char *key, bool create)
{
	struct ent *e = smap_get(&q->keys, key);

	if (e || !create)
		return e;
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	if (smap_put(&q->keys, key, e, NULL) < 0) {
		free(e);
		return NULL;
	}
	e->key = (char *)smap_key(&q->keys, key); /* the map's own copy */
	return e;
}

/* Drop entries that hold no state. */
static void ent_gc(struct wq *q, struct ent *e)
{
	if (!e->dirty && !e->processing && !e->failures && !e->wait_until)
		free(smap_del(&q->keys, e->key));
}

static void fifo_push(struct wq *q, struct ent *e)
{
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->len++;
}

static void heap_swap(struct wq *q, size_t a, size_t b)
{
	struct ent *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void heap_up(struct wq *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->wait_until > q->heap[i]->wait_until) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct wq *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheap && q->heap[l]->wait_until < q->heap[m]->wait_until)
			m = l;
		if (r < q->nheap && q->heap[r]->wait_until < q->heap[m]->wait_until)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void heap_remove(struct wq *q, struct ent *e)
{
	size_t i = e->heap_idx;

	q->nheap--;
	if (i != q->nheap) {
		q->heap[i] = q->heap[q->nheap];
		q->heap[i]->heap_idx = i;
		heap_down(q, i);
		heap_up(q, i);
	}
	e->wait_until = 0;
}

static void mark_dirty(struct wq *q, struct ent *e)
{
	if (e->dirty)
		return;
	e->dirty = true;
	if (!e->processing)
		fifo_push(q, e);
}

int wq_add(struct wq *q, const char *key, int64_t now)
{
	struct ent *e = ent_get(q, key, true);

	(void)now;
	if (!e)
		return -ENOMEM;
	mark_dirty(q, e);
	return 0;
}

int wq_add_after(struct wq *q, const char *key, int64_t delay_ms, int64_t now)
{
	struct ent *e;
	int64_t at = now + delay_ms;

	if (delay_ms <= 0)
		return wq_add(q, key, now);
	if (!(e = ent_get(q, key, true)))
		return -ENOMEM;
	if (at <= 0)
		at = 1;
	if (e->wait_until) {
		if (at < e->wait_until) {
			e->wait_until = at;
			heap_up(q, e->heap_idx);
		}
		return 0;
	}
	if (q->nheap == q->capheap) {
		size_t cap = q->capheap ? q->capheap * 2 : 16;
		struct ent **h = realloc(q->heap, cap * sizeof(*h));

		if (!h) {
			ent_gc(q, e);
			return -ENOMEM;
		}
		q->heap = h;
		q->capheap = cap;
	}
	e->wait_until = at;
	e->heap_idx = q->nheap;
	q->heap[q->nheap++] = e;
	heap_up(q, e->heap_idx);
	return 0;
}

/* Token bucket: refill, then reserve one token; the delay until it is covered. */
static int64_t bucket_delay(struct wq *q, int64_t now)
{
	double elapsed = (double)(now - q->last_ms) / 1000.0;

	if (elapsed > 0) {
		q->tokens = fmin(q->o.burst, q->tokens + elapsed * q->o.qps);
		q->last_ms = now;
	}
	q->tokens -= 1.0;
	if (q->tokens >= 0)
		return 0;
	return (int64_t)ceil(-q->tokens / q->o.qps * 1000.0);
}

int wq_add_rate_limited(struct wq *q, const char *key, int64_t now, int64_t *delay_ms)
{
	struct ent *e = ent_get(q, key, true);
	int64_t d, b;

	if (!e)
		return -ENOMEM;
	/* base * 2^failures, capped (the exponent is capped first so it cannot overflow). */
	d = e->failures >= 40 ? q->o.max_ms : (int64_t)fmin((double)q->o.max_ms, (double)q->o.base_ms * ldexp(1.0, e->failures));
	if (e->failures < 1000)
		e->failures++;
	b = bucket_delay(q, now);
	if (b > d)
		d = b;
	if (delay_ms)
		*delay_ms = d;
	return wq_add_after(q, key, d, now);
}

void wq_forget(struct wq *q, const char *key)
{
	struct ent *e = ent_get(q, key, false);

	if (!e)
		return;
	e->failures = 0;
	ent_gc(q, e);
}

int wq_failures(const struct wq *q, const char *key)
{
	const struct ent *e = smap_get(&q->keys, key);

	return e ? e->failures : 0;
}

static void promote_due(struct wq *q, int64_t now)
{
	while (q->nheap && q->heap[0]->wait_until <= now) {
		struct ent *e = q->heap[0];

		heap_remove(q, e);
		mark_dirty(q, e);
	}
}

bool wq_get(struct wq *q, int64_t now, const char **key)
{
	struct ent *e;

	promote_due(q, now);
	if (!(e = q->head))
		return false;
	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	e->next = NULL;
	e->dirty = false;
	e->processing = true;
	*key = e->key;
	return true;
}

void wq_done(struct wq *q, const char *key)
{
	struct ent *e = ent_get(q, key, false);

	if (!e || !e->processing)
		return;
	e->processing = false;
	if (e->dirty)
		fifo_push(q, e);
	else
		ent_gc(q, e);
}

int64_t wq_next_ms(struct wq *q, int64_t now)
{
	if (q->head)
		return 0;
	if (!q->nheap)
		return -1;
	return q->heap[0]->wait_until <= now ? 0 : q->heap[0]->wait_until - now;
}

size_t wq_len(const struct wq *q)
{
	return q->len;
}

size_t wq_waiting(const struct wq *q)
{
	return q->nheap;
}
