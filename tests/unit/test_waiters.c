/* test_waiters.c: the exporter's waiter index (agent/waiters.c): the polls an append satisfies, deadlines, removal from the middle. */
#include <stdlib.h>

#include "tap.h"
#include "waiters.h"

#define N 2000

int main(void)
{
	static struct waiter w[N];
	struct waitset ws = { 0 };
	struct waiter *p;
	unsigned seed = 7;
	int i, popped, wrong;
	uint64_t min = UINT64_MAX;

	for (i = 0; i < N; i++) {
		seed = seed * 1103515245 + 12345;
		w[i].from = seed % 10000;
		w[i].deadline_ms = (int64_t)(seed / 7 % 60000);
		w[i].kind = (enum stream_kind)(i % STREAM_COUNT);
		w[i].local_only = i % 5 == 0;
		if (waitset_add(&ws, &w[i]) < 0)
			ok(0, "add %d", i);
		if (w[i].kind == STREAM_LOGS && !w[i].local_only && w[i].from < min)
			min = w[i].from;
	}
	ok(waitset_count(&ws) == N, "%d waiters indexed", N);
	ok(waitset_min_from(&ws, STREAM_LOGS, false) == min, "the smallest from of logs/any is known (%llu)", (unsigned long long)min);
	/* Remove every seventh from the middle of the heaps. */
	for (i = 0; i < N; i += 7)
		waitset_remove(&ws, &w[i]);
	ok(waitset_count(&ws) == N - (N + 6) / 7, "removal from the middle");
	/* An append of ID 5000 to logs answers exactly the logs/any waiters with from <= 5000. */
	popped = wrong = 0;
	while ((p = waitset_pop_from(&ws, STREAM_LOGS, false, 5000))) {
		popped++;
		wrong += p->from > 5000 || p->kind != STREAM_LOGS || p->local_only || (p - w) % 7 == 0;
		p->from = UINT64_MAX; /* mark as popped */
	}
	for (i = 0; i < N; i++)
		wrong += i % 7 != 0 && w[i].kind == STREAM_LOGS && !w[i].local_only && w[i].from <= 5000;
	ok(popped > 0 && wrong == 0, "an append answers exactly the polls it satisfies (%d)", popped);
	ok(waitset_min_from(&ws, STREAM_LOGS, false) > 5000, "the rest wait for later chunks");
	/* Deadlines come out in order. */
	{
		int64_t last = -1;
		bool ordered = true;
		int n = 0;

		while ((p = waitset_pop_expired(&ws, 30000))) {
			ordered &= p->deadline_ms >= last && p->deadline_ms <= 30000;
			last = p->deadline_ms;
			n++;
		}
		ok(ordered && n > 0 && waitset_next_deadline(&ws) > 30000, "expired ones in deadline order (%d)", n);
	}
	while (waitset_count(&ws)) {
		p = waitset_pop_expired(&ws, INT64_MAX);
		if (!p)
			break;
	}
	ok(waitset_count(&ws) == 0 && waitset_min_from(&ws, STREAM_METRICS, true) == UINT64_MAX, "empty again");
	waitset_free(&ws);
	return tap_done();
}
