/* bench_store.c: store append throughput beside memcpy of the same bytes, in one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	enum { CHUNK = 4096, ROUNDS = 200000 };
	struct stream *s = stream_new(STREAM_LOGS, 20000000);
	struct chunk_builder cb;
	char *line = malloc(CHUNK), *dst = malloc(20000000);
	double t0, t_store, t_copy;
	size_t off = 0;
	int i;

	memset(line, 'x', CHUNK);
	line[0] = '{';
	line[CHUNK - 2] = '}';
	/* Each chunk: one pre-rendered 4 KB line copied into a builder, then appended (the
	 * store's share of every ingest: copy, allocate, lock, link, evict). */
	chunk_builder_init(&cb, STREAM_METRICS, "bench", "bench", "bench.0", 1 << 20);
	t0 = now();
	for (i = 0; i < ROUNDS; i++) {
		chunk_add_line(&cb, line, CHUNK - 1);
		stream_append(s, &cb, NULL);
	}
	t_store = now() - t0;
	/* Baseline: memcpy of the same bytes into a 20 MB ring. */
	t0 = now();
	for (i = 0; i < ROUNDS; i++) {
		if (off + CHUNK > 20000000)
			off = 0;
		memcpy(dst + off, line, CHUNK);
		off += CHUNK;
	}
	t_copy = now() - t0;
	printf("%.0f %.0f\n", (double)ROUNDS * CHUNK / t_store / 1e6, (double)ROUNDS * CHUNK / t_copy / 1e6);
	fprintf(stderr, "dst[%zu]=%c\n", off - 1, dst[off - 1]); /* keep the copies observable */
	chunk_builder_free(&cb);
	stream_free(s);
	free(line);
	free(dst);
	return 0;
}
