/* test_prom_rw.c: unit tests for the remote-write decoder: families, types from metadata, labels and hashes, exemplars, native histograms, malformed requests. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "in_prom_rw/decode.h"
#include "in_prom_rw/meta.h"
#include "pbw.h"
#include "tap.h"

static char text[65536], err[320];
static struct prw_meta_cache *cache;

static void label(struct buf *ts, const char *k, const char *v)
{
	struct buf l;

	buf_init(&l, SIZE_MAX);
	pbw_bytes(&l, 1, k, strlen(k));
	pbw_bytes(&l, 2, v, strlen(v));
	pbw_msg(ts, 1, &l);
}

static void sample(struct buf *ts, double v, int64_t ms)
{
	struct buf s;

	buf_init(&s, SIZE_MAX);
	pbw_double(&s, 1, v);
	pbw_tag(&s, 2, 0);
	pbw_varint(&s, (uint64_t)ms);
	pbw_msg(ts, 2, &s);
}

static void metadata(struct buf *wr, int type, const char *family, const char *help)
{
	struct buf m;

	buf_init(&m, SIZE_MAX);
	pbw_tag(&m, 1, 0);
	pbw_varint(&m, (uint64_t)type);
	pbw_bytes(&m, 2, family, strlen(family));
	pbw_bytes(&m, 4, help, strlen(help));
	pbw_msg(wr, 3, &m);
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int decode(struct buf *wr, uint64_t *samples)
{
	struct chunk_builder cb;
	int rc;

	chunk_builder_init(&cb, STREAM_METRICS, "t", "prometheus_remote_write", "prometheus_remote_write.0", 1 << 20);
	rc = prw_decode(wr->data ? wr->data : "", wr->len, cache, &cb, samples, err, sizeof(err));
	snprintf(text, sizeof(text), "%.*s", rc == 0 ? (int)cb.text.len : 0, cb.text.data ? cb.text.data : "");
	chunk_builder_free(&cb);
	return rc;
}

static void test_samples(void)
{
	struct buf wr, ts;
	uint64_t n;

	buf_init(&wr, SIZE_MAX);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "http_requests_total");
	label(&ts, "method", "GET");
	sample(&ts, 3, 1700000000000);
	sample(&ts, 5, 1700000001000);
	pbw_msg(&wr, 1, &ts);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "http_requests_total");
	label(&ts, "code", "500");
	sample(&ts, 1, 1700000000000);
	pbw_msg(&wr, 1, &ts);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "temperature");
	sample(&ts, 21.5, 1700000000000);
	pbw_msg(&wr, 1, &ts);
	metadata(&wr, 1, "http_requests", "Requests served");
	/* Hashes: cmetrics' XXH3-64 over the name and the values ("" adds no bytes), e.g.
	 * XXH3("http_requests_totalGET") = 3090542388019004943 (python3-xxhash's xxh3_64). */
	ok(decode(&wr, &n) == 0 && n == 4, "4 samples decoded: %s", err);
	is_str(text,
	       "{\"meta\":{\"cmetrics\":{\"producer\":\"prometheus_remote_write\"},\"external\":{},"
	       "\"processing\":{\"static_labels\":[]}},\"metrics\":["
	       "{\"meta\":{\"ver\":2,\"type\":0,\"opts\":{\"ns\":\"\",\"ss\":\"\",\"name\":\"http_requests_total\","
	       "\"desc\":\"Requests served\"},\"labels\":[\"method\",\"code\"],\"aggregation_type\":2},\"values\":["
	       "{\"ts\":1700000000000000000,\"value\":3.0,\"labels\":[\"GET\",\"\"],\"hash\":3090542388019004943},"
	       "{\"ts\":1700000001000000000,\"value\":5.0,\"labels\":[\"GET\",\"\"],\"hash\":3090542388019004943},"
	       "{\"ts\":1700000000000000000,\"value\":1.0,\"labels\":[\"\",\"500\"],\"hash\":4334510675424157472}]},"
	       "{\"meta\":{\"ver\":2,\"type\":4,\"opts\":{\"ns\":\"\",\"ss\":\"\",\"name\":\"temperature\",\"desc\":\"\"},"
	       "\"labels\":[]},\"values\":[{\"ts\":1700000000000000000,\"value\":21.5,\"hash\":0}]}]}\n",
	       "one family per name, label keys united, counter from the metadata of its family name, untyped without");
	buf_free(&wr);
}

static void test_exemplars_and_histograms(void)
{
	struct buf wr, ts, h, sp, ex;
	uint64_t n;

	buf_init(&wr, SIZE_MAX);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "latency_seconds");
	buf_init(&h, SIZE_MAX);
	pbw_tag(&h, 1, 0); pbw_varint(&h, 6);          /* count_int */
	pbw_double(&h, 3, 1.25);                       /* sum */
	pbw_tag(&h, 4, 0); pbw_varint(&h, zz(1));      /* schema 1 */
	pbw_double(&h, 5, 0.001);                      /* zero_threshold */
	pbw_tag(&h, 6, 0); pbw_varint(&h, 1);          /* zero_count_int */
	buf_init(&sp, SIZE_MAX);
	pbw_tag(&sp, 1, 0); pbw_varint(&sp, zz(-2)); pbw_tag(&sp, 2, 0); pbw_varint(&sp, 2);
	pbw_msg(&h, 11, &sp);
	buf_init(&sp, SIZE_MAX);
	pbw_tag(&sp, 1, 0); pbw_varint(&sp, zz(1)); pbw_tag(&sp, 2, 0); pbw_varint(&sp, 1);
	pbw_msg(&h, 11, &sp);
	{ /* packed deltas 2, -1, +1: counts 2, 1, 2 */
		struct buf d;

		buf_init(&d, SIZE_MAX);
		pbw_varint(&d, zz(2)); pbw_varint(&d, zz(-1)); pbw_varint(&d, zz(1));
		pbw_msg(&h, 12, &d);
	}
	pbw_tag(&h, 15, 0); pbw_varint(&h, 1700000000000);
	pbw_msg(&ts, 4, &h);
	buf_init(&ex, SIZE_MAX);
	label(&ex, "trace_id", "abc");
	pbw_double(&ex, 2, 0.2);
	pbw_tag(&ex, 3, 0); pbw_varint(&ex, 1700000000500);
	pbw_msg(&ts, 3, &ex);
	pbw_msg(&wr, 1, &ts);
	ok(decode(&wr, &n) == 0 && n == 1, "one native histogram point: %s", err);
	ok(strstr(text, "\"type\":5") != NULL, "native histogram family is type 5");
	ok(strstr(text, "\"exp_histogram\":{\"scale\":1,\"zero_count\":1,\"zero_threshold\":0.001,"
			"\"positive_offset\":-3,\"positive_buckets\":[2,1,0,2],\"negative_offset\":0,"
			"\"negative_buckets\":[],\"count\":6,\"sum_set\":1,\"sum\":1.25}") != NULL,
	   "spans and deltas expand to dense buckets, Prometheus index i = OTLP index i-1: %s", text);
	ok(strstr(text, "\"external\":{\"prometheus_remote_write\":{\"exemplars\":[{\"metric\":\"latency_seconds\","
			"\"hash\":0,\"labels\":{\"trace_id\":\"abc\"},\"value\":0.2,\"ts\":1700000000500000000}]}}") != NULL,
	   "exemplar under meta.external");
	buf_free(&wr);
}

static void test_errors(void)
{
	struct buf wr, ts;
	uint64_t n;
	int i;

	buf_init(&wr, SIZE_MAX);
	ok(decode(&wr, &n) == 0 && text[0] == '\0', "empty WriteRequest: nothing added");
	buf_init(&ts, SIZE_MAX);
	label(&ts, "job", "x");
	sample(&ts, 1, 1);
	pbw_msg(&wr, 1, &ts);
	ok(decode(&wr, &n) == -EINVAL && strstr(err, "no __name__"), "series without __name__: %s", err);
	buf_reset(&wr);
	buf_append(&wr, "\x0a\x05\x0a\x03", 4);
	ok(decode(&wr, &n) == -EINVAL && strstr(err, "malformed"), "truncated: %s", err);
	buf_reset(&wr);
	buf_append(&wr, "\x0b\x00", 2);
	ok(decode(&wr, &n) == -EINVAL, "a group: %s", err);
	buf_reset(&wr);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "m");
	for (i = 0; i < PRW_MAX_LABELS + 1; i++) {
		char k[16];

		snprintf(k, sizeof(k), "l%d", i);
		label(&ts, k, "v");
	}
	sample(&ts, 1, 1);
	pbw_msg(&wr, 1, &ts);
	ok(decode(&wr, &n) == -EINVAL && strstr(err, "label names"), "too many label names: %s", err);
	buf_reset(&wr);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "m");
	sample(&ts, 1, INT64_MAX / 1000);
	pbw_msg(&wr, 1, &ts);
	ok(decode(&wr, &n) == -EINVAL && strstr(err, "out of range"), "timestamp overflow: %s", err);
	buf_free(&wr);
}

/* Metadata sent in a request of its own (as Prometheus and the Collector do) types later ones. */
static void test_metadata_cache(void)
{
	struct buf wr, ts;
	uint64_t n;

	buf_init(&wr, SIZE_MAX);
	metadata(&wr, 2, "queue_depth", "Items waiting");
	ok(decode(&wr, &n) == 0 && text[0] == '\0' && prw_meta_cache_size(cache) >= 1, "metadata-only request: remembered");
	buf_reset(&wr);
	buf_init(&ts, SIZE_MAX);
	label(&ts, "__name__", "queue_depth");
	sample(&ts, 7, 1700000000000);
	pbw_msg(&wr, 1, &ts);
	ok(decode(&wr, &n) == 0 && strstr(text, "\"type\":1,") && strstr(text, "\"desc\":\"Items waiting\""),
	   "a later request without metadata is typed from it: %s", text);
	buf_free(&wr);
}

int main(void)
{
	cache = prw_meta_cache_new(100);
	test_samples();
	test_exemplars_and_histograms();
	test_errors();
	test_metadata_cache();
	prw_meta_cache_free(cache);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
