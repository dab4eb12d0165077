/* test_store.c: unit tests for the stream store: IDs, eviction, reads, v1, concurrency. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "mpk.h"
#include "store.h"
#include "tap.h"

/* Append one chunk holding `records` log records whose body is {"n":<n>,"pad":"<pad>"}. */
static int append(struct stream *s, int n, size_t pad, uint64_t *id)
{
	msgpack_packer pk;
	struct chunk_builder cb;
	struct buf mp;
	struct mp_cur c;
	char *p = malloc(pad + 1);
	int rc;

	mpk_init(&pk, &mp);
	memset(p, 'x', pad);
	p[pad] = 0;
	buf_init(&mp, 1 << 24);
	msgpack_pack_map(&pk, 2);
	mpk_cstr(&pk, "n");
	msgpack_pack_int64(&pk, n);
	mpk_cstr(&pk, "pad");
	mpk_cstr(&pk, p);
	chunk_builder_init(&cb, STREAM_LOGS, "t", "test", "test.0", 1 << 24);
	mp_cur_init(&c, mp.data, mp.len);
	chunk_add_log(&cb, 1, NULL, &c);
	rc = stream_append(s, &cb, id);
	chunk_builder_free(&cb);
	buf_free(&mp);
	free(p);
	return rc;
}

/* Bytes of the legacy line for append(n, pad) with n < 10: [[1,{"_tag":"t"}],{"n":N,"pad":"..."}]\n */
static size_t line_len(size_t pad)
{
	return strlen("[[1,{\"_tag\":\"t\"}],{\"n\":0,\"pad\":\"\"}]\n") + pad;
}

static void test_ids_and_eviction(void)
{
	size_t one = line_len(10);
	struct stream *s = stream_new(STREAM_LOGS, 3 * one);
	struct stream_stats st;
	struct stream_view v;
	uint64_t id;
	int i;

	for (i = 0; i < 3; i++)
		append(s, i, 10, &id);
	ok(id == 2, "IDs start at 0 and count up");
	stream_get_stats(s, &st);
	ok(st.chunks == 3 && st.bytes_used == 3 * one, "three chunks use exactly their text bytes (%llu)",
	   (unsigned long long)st.bytes_used);
	append(s, 3, 10, &id);
	stream_get_stats(s, &st);
	ok(id == 3 && st.chunks == 3 && st.oldest_id == 1 && st.evicted == 1,
	   "a fourth chunk evicts exactly the oldest one");
	/* A chunk twice as big needs two evictions, not three. */
	append(s, 4, 10 + one, &id);
	stream_get_stats(s, &st);
	ok(st.oldest_id == 3 && st.chunks == 2 && st.evicted == 3 && st.bytes_used <= st.bytes_max,
	   "a double-size chunk evicts the fewest oldest chunks (oldest now %llu)", (unsigned long long)st.oldest_id);
	append(s, 5, 10 * one, &id);
	stream_get_stats(s, &st);
	ok(st.chunks == 1 && st.oldest_id == 5 && st.bytes_used > st.bytes_max,
	   "an oversize chunk evicts everything and is stored alone");
	append(s, 6, 10, &id);
	stream_get_stats(s, &st);
	ok(st.chunks == 1 && st.oldest_id == 6, "the next chunk evicts the oversize one");

	stream_read(s, 0, UINT64_MAX, 0, &v);
	ok(v.count == 1 && v.first_id == 6 && v.next_id == 7, "from an evicted ID starts at the oldest");
	stream_view_release(&v);
	stream_free(s);
}

static void test_ranges(void)
{
	struct stream *s = stream_new(STREAM_LOGS, 1 << 20);
	struct stream_view v;
	size_t len;
	int i;

	stream_read(s, 0, UINT64_MAX, 0, &v);
	ok(v.count == 0 && v.next_id == 0, "empty stream: nothing, next 0");
	for (i = 0; i < 10; i++)
		append(s, i, 1, NULL);
	stream_read(s, 0, 0, 0, &v);
	ok(v.count == 1 && v.first_id == 0 && v.last_id == 0, "to=0 means chunk 0");
	stream_view_release(&v);
	stream_read(s, 3, 5, 0, &v);
	ok(v.count == 3 && v.first_id == 3 && v.last_id == 5, "from=3&to=5 inclusive");
	stream_view_release(&v);
	stream_read(s, 2, UINT64_MAX, 4, &v);
	ok(v.count == 4 && v.first_id == 2 && v.last_id == 5, "limit counts chunks");
	stream_view_release(&v);
	stream_read(s, 6, 4, 0, &v);
	ok(v.count == 0 && v.next_id == 10, "from > to is empty");
	stream_read(s, 10, UINT64_MAX, 0, &v);
	ok(v.count == 0, "from = next is empty");
	stream_read(s, 9, UINT64_MAX, 0, &v);
	ok(v.count == 1 && strncmp(chunk_text(v.chunks[0], &len), "[[1,{\"_tag\":\"t\"}],{\"n\":9,", 25) == 0,
	   "chunk text is the legacy line");
	stream_view_release(&v);
	stream_drop_through(s, 4);
	stream_read(s, 0, UINT64_MAX, 0, &v);
	ok(v.count == 5 && v.first_id == 5, "drop_through(4) removes 0..4 only");
	{
		struct buf b;

		buf_init(&b, 4096);
		chunk_write_v1(v.chunks[0], &b);
		buf_putc(&b, 0);
		is_str(b.data, "{\"source_type\":\"test\",\"source_name\":\"test.0\",\"tag\":\"t\",\"records\":"
			       "[[[1,{}],{\"n\":5,\"pad\":\"x\"}]]}\n", "v1 rendering drops the injected _tag");
		buf_free(&b);
	}
	stream_view_release(&v);
	stream_free(s);
}

/* Append a followed logs chunk: one pre-rendered line with its mark, and a source. */
static void append_followed(struct stream *s, const char *line, size_t mark_off, size_t mark_len, const char *src)
{
	struct chunk_builder cb;

	chunk_builder_init(&cb, STREAM_LOGS, "app", "http", "http.0", 1 << 20);
	chunk_builder_set_source(&cb, src, strlen(src));
	ok(chunk_add_log_line(&cb, line, strlen(line), mark_off, mark_len) == 0, "a pre-rendered line is added");
	stream_append(s, &cb, NULL);
	chunk_builder_free(&cb);
}

static char *render(const struct chunk *c, int (*fn)(const struct chunk *, struct buf *))
{
	struct buf b;
	size_t n;

	buf_init(&b, 1 << 20);
	fn(c, &b);
	return buf_steal(&b, &n);
}

static void test_followed(void)
{
	static const char src[] = "{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"ab\"}";
	static const char inj[] = "\"_tag\":\"app\",\"_source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"ab\"},";
	struct stream *s = stream_new(STREAM_LOGS, 1 << 20);
	struct stream_stats st;
	struct stream_view v;
	struct chunk_builder bad;
	char line[512], *out;
	size_t len;

	append(s, 0, 1, NULL);                               /* 0: local, local_seq 0 */
	snprintf(line, sizeof(line), "[[7,{%s\"k\":1}],{\"m\":\"x\"}]", inj);
	append_followed(s, line, 5, strlen(inj), src);       /* 1: followed */
	append(s, 2, 1, NULL);                               /* 2: local, local_seq 1 */
	chunk_builder_init(&bad, STREAM_LOGS, "t", "x", "x.0", 1024);
	ok(chunk_add_log_line(&bad, "[[1,{}],{}]", 11, 10, 5) == -EINVAL && bad.records == 0,
	   "a mark outside the line is refused");
	chunk_builder_free(&bad);

	stream_read(s, 1, 1, 0, &v);
	ok(v.count == 1 && !chunk_is_local(v.chunks[0]), "the followed chunk is not local");
	is_str(chunk_text(v.chunks[0], &len), "[[7,{\"_tag\":\"app\",\"_source\":{\"instance\":\"127.0.0.1:2025\","
	       "\"boot_id\":\"ab\"},\"k\":1}],{\"m\":\"x\"}]\n", "legacy text keeps _tag and _source in the metadata");
	out = render(v.chunks[0], chunk_write_v1);
	is_str(out, "{\"source_type\":\"http\",\"source_name\":\"http.0\",\"tag\":\"app\",\"source\":{\"instance\":"
	       "\"127.0.0.1:2025\",\"boot_id\":\"ab\"},\"records\":[[[7,{\"k\":1}],{\"m\":\"x\"}]]}\n",
	       "v1: the upstream record byte for byte, the source as a member");
	free(out);
	out = render(v.chunks[0], chunk_write_envelope);
	ok(strncmp(out, "{\"id\":1,\"source_type\":\"http\"", strlen("{\"id\":1,\"source_type\":\"http\"")) == 0 && strstr(out, "\"source\":{") &&
	   !strstr(out, "local_seq"), "envelope of a followed chunk: id, source, no local_seq: %s", out);
	free(out);
	stream_view_release(&v);

	stream_read(s, 2, 2, 0, &v);
	out = render(v.chunks[0], chunk_write_envelope);
	is_str(out, "{\"id\":2,\"local_seq\":1,\"source_type\":\"test\",\"source_name\":\"test.0\",\"tag\":\"t\","
	       "\"records\":[[[1,{}],{\"n\":2,\"pad\":\"x\"}]]}\n", "envelope of a local chunk counts local chunks only");
	free(out);
	stream_view_release(&v);

	stream_read_filtered(s, 0, UINT64_MAX, 0, true, &v);
	ok(v.count == 2 && v.first_id == 0 && v.last_id == 2 && chunk_id(v.chunks[1]) == 2 && v.next_id == 3,
	   "origin=local skips the followed chunk");
	stream_view_release(&v);
	stream_read_filtered(s, 0, UINT64_MAX, 1, true, &v);
	ok(v.count == 1 && v.last_id == 0, "limit counts the chunks returned");
	stream_view_release(&v);
	stream_read_filtered(s, 1, 1, 0, true, &v);
	ok(v.count == 0 && v.next_id == 3, "a range of followed chunks only is empty for origin=local");
	ok(stream_has_local_from(s, 2) && !stream_has_local_from(s, 3) && stream_has_from(s, 2),
	   "has_local_from sees the newest local chunk");
	append_followed(s, line, 5, strlen(inj), src);       /* 3: followed */
	ok(stream_has_from(s, 3) && !stream_has_local_from(s, 3), "a followed chunk does not wake origin=local");
	stream_get_stats(s, &st);
	ok(st.local == 2 && st.appended == 4, "stats count local chunks (%llu of %llu)",
	   (unsigned long long)st.local, (unsigned long long)st.appended);
	stream_free(s);

	/* Metrics: the source goes first into each line of the v1 rendering. */
	s = stream_new(STREAM_METRICS, 1 << 20);
	{
		struct chunk_builder cb;

		chunk_builder_init(&cb, STREAM_METRICS, "m", "self_metrics", "self_metrics.0", 1 << 20);
		chunk_builder_set_source(&cb, src, strlen(src));
		chunk_add_line(&cb, "{\"meta\":1}", 10);
		chunk_add_line(&cb, "{}", 2);
		stream_append(s, &cb, NULL);
		chunk_builder_free(&cb);
	}
	stream_read(s, 0, UINT64_MAX, 0, &v);
	out = render(v.chunks[0], chunk_write_v1);
	is_str(out, "{\"source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"ab\"},\"meta\":1}\n"
	       "{\"source\":{\"instance\":\"127.0.0.1:2025\",\"boot_id\":\"ab\"}}\n", "v1 metrics lines carry the source");
	free(out);
	out = render(v.chunks[0], chunk_write_envelope);
	ok(strstr(out, "\"records\":[{\"meta\":1},{}]}\n") != NULL, "envelope of metrics: lines as records: %s", out);
	free(out);
	is_str(chunk_text(v.chunks[0], &len), "{\"meta\":1}\n{}\n", "legacy metrics text is the upstream's lines");
	stream_view_release(&v);
	stream_free(s);
}

/* ---- concurrency: 8 writers, 8 readers, bounded time ---------------------------- */

#define WRITERS 8
#define READERS 8

struct conc {
	struct stream *s;
	atomic_bool stop;
	atomic_int failures;
	size_t budget;
	char why[256];
};

static void fail(struct conc *c, const char *why)
{
	if (atomic_fetch_add(&c->failures, 1) == 0)
		snprintf(c->why, sizeof(c->why), "%s", why);
}

static void *writer(void *arg)
{
	struct conc *c = arg;
	struct stream_stats st;
	int i = 0;

	while (!atomic_load(&c->stop) && i < 200000) {
		if (append(c->s, i % 10, (size_t)(i % 200), NULL) < 0)
			fail(c, "append failed");
		stream_get_stats(c->s, &st);
		if (st.bytes_used > st.bytes_max && st.chunks > 1)
			fail(c, "bytes above budget with more than one chunk");
		i++;
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct conc *c = arg;
	uint64_t next = 0, last = 0, reads = 0;
	bool any = false;

	while (!atomic_load(&c->stop) && reads < 1000000) {
		struct stream_view v;
		struct stream_stats st;
		size_t i;

		stream_read(c->s, next, UINT64_MAX, 0, &v);
		reads++;
		for (i = 0; i < v.count; i++) {
			uint64_t id = chunk_id(v.chunks[i]);

			if (any && id <= last)
				fail(c, "IDs not strictly increasing for a reader");
			if (i > 0 && id != chunk_id(v.chunks[i - 1]) + 1)
				fail(c, "gap inside one read");
			last = id;
			any = true;
		}
		/* Anything skipped between reads must have been evicted. */
		if (v.count > 0 && v.first_id > next) {
			stream_get_stats(c->s, &st);
			if (st.oldest_id <= next && st.next_id > next)
				fail(c, "a chunk that was not evicted was skipped");
		}
		if (v.count)
			next = v.last_id + 1;
		else if (v.next_id < next)
			fail(c, "next ID went backwards");
		stream_view_release(&v);
	}
	return NULL;
}

static void test_concurrency(void)
{
	struct conc c = { .budget = 200000 };
	pthread_t w[WRITERS], r[READERS];
	struct stream_stats st;
	struct stream_view v;
	int i;

	c.s = stream_new(STREAM_LOGS, c.budget);
	for (i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, &c);
	for (i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, &c);
	{
		struct timespec t = { 1, 500000000 };

		nanosleep(&t, NULL);
	}
	atomic_store(&c.stop, true);
	for (i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	for (i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	stream_get_stats(c.s, &st);
	stream_read(c.s, 0, UINT64_MAX, 0, &v);
	ok(atomic_load(&c.failures) == 0, "8 writers, 8 readers: no violation (%s)", c.failures ? c.why : "none");
	ok(st.appended == st.next_id && st.appended == st.chunks + st.evicted,
	   "every ID used once: appended %llu = next %llu = held %llu + evicted %llu",
	   (unsigned long long)st.appended, (unsigned long long)st.next_id, (unsigned long long)st.chunks,
	   (unsigned long long)st.evicted);
	ok(v.count == st.chunks && v.last_id + 1 == st.next_id && st.bytes_used <= c.budget,
	   "held chunks are contiguous and within the budget");
	stream_view_release(&v);
	stream_free(c.s);
}

int main(void)
{
	test_ids_and_eviction();
	test_ranges();
	test_followed();
	test_concurrency();
	return tap_done();
}
