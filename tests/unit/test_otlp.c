/* test_otlp.c: unit tests of the OTLP wire view (protobuf edge cases, JSON value rules) and of
 * otlp_decode's contract (all or nothing, limits, depth bounds, the v1 resource/scope member). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "in_otlp/decode.h"
#include "in_otlp/wire.h"
#include "pbw.h"
#include "tap.h"

struct out {
	int rc;
	char err[256];
	char *text;
	char *v1;
	uint64_t records;
	uint32_t lines;
};

static struct out decode(enum otlp_signal sig, enum otlp_format fmt, const char *p, size_t n, size_t limit)
{
	struct chunk_builder cb;
	struct out o;

	memset(&o, 0, sizeof(o));
	chunk_builder_init(&cb, otlp_stream(sig), "v1_test", "opentelemetry", "opentelemetry.0", limit);
	o.rc = otlp_decode(sig, fmt, p, n, 42, &cb, &o.records, o.err, sizeof(o.err));
	o.lines = cb.records;
	o.text = strndup(cb.text.data ? cb.text.data : "", cb.text.len);
	o.v1 = cb.v1_extra ? strdup(cb.v1_extra) : NULL;
	chunk_builder_free(&cb);
	return o;
}

static void out_free(struct out *o)
{
	free(o->text);
	free(o->v1);
}

/* A logs request with one record whose body is `body` (an AnyValue message). */
static void logs_req(struct buf *req, struct buf *body)
{
	struct buf lr, sl, rl;

	buf_init(&lr, SIZE_MAX);
	buf_init(&sl, SIZE_MAX);
	buf_init(&rl, SIZE_MAX);
	pbw_fixed64(&lr, 1, 7);
	pbw_msg(&lr, 5, body);
	pbw_msg(&sl, 2, &lr);
	pbw_msg(&rl, 2, &sl);
	pbw_msg(req, 1, &rl);
	buf_free(&lr);
	buf_free(&sl);
	buf_free(&rl);
}

static void test_unknown_fields_and_packing(void)
{
	struct buf hdp, h, m, sm, rm, req, t;
	struct out a, b;
	int i;

	buf_init(&hdp, SIZE_MAX);
	buf_init(&h, SIZE_MAX);
	buf_init(&m, SIZE_MAX);
	buf_init(&sm, SIZE_MAX);
	buf_init(&rm, SIZE_MAX);
	buf_init(&req, SIZE_MAX);
	buf_init(&t, SIZE_MAX);
	/* bucket_counts packed (one run) vs unpacked (a field each): the same data point. */
	for (i = 0; i < 2; i++) {
		pbw_fixed64(&hdp, 3, 9);
		pbw_fixed64(&hdp, 4, 6);
		if (i == 0) {
			uint64_t c[3] = { 1, 2, 3 };
			int k, j;

			for (k = 0; k < 3; k++)
				for (j = 0; j < 8; j++)
					buf_putc(&t, (char)(c[k] >> (8 * j)));
			pbw_bytes(&hdp, 6, t.data, t.len);
			buf_reset(&t);
		} else {
			pbw_fixed64(&hdp, 6, 1);
			pbw_fixed64(&hdp, 6, 2);
			pbw_fixed64(&hdp, 6, 3);
			/* unknown fields of every wire type, and numbers above the tables */
			pbw_uint(&hdp, 15, 99);
			pbw_fixed64(&hdp, 16, 1);
			pbw_varint(&hdp, 17 << 3 | 5);
			buf_append(&hdp, "abcd", 4);
			pbw_bytes(&hdp, 1000, "zz", 2);
		}
		{
			double bounds[2] = { 1.0, 2.0 };

			pbw_bytes(&hdp, 7, bounds, sizeof(bounds));
		}
		pbw_msg(&h, 1, &hdp);
		pbw_uint(&h, 2, 2);
		pbw_bytes(&m, 1, "h", 1);
		pbw_msg(&m, 9, &h);
		pbw_msg(&sm, 2, &m);
		pbw_msg(&rm, 2, &sm);
		pbw_msg(&req, 1, &rm);
		if (i == 0)
			a = decode(OTLP_METRICS, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
		else
			b = decode(OTLP_METRICS, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
		buf_reset(&req);
	}
	ok(a.rc == 0 && b.rc == 0, "packed and unpacked histograms decode (%s / %s)", a.err, b.err);
	ok(strstr(a.text, "\"histogram\":{\"buckets\":[1,2,3],\"sum\":0.0,\"count\":6}") != NULL, "packed bucket counts");
	is_str(b.text, a.text, "unknown fields are skipped; unpacked counts read the same");
	out_free(&a);
	out_free(&b);
	buf_free(&hdp);
	buf_free(&h);
	buf_free(&m);
	buf_free(&sm);
	buf_free(&rm);
	buf_free(&req);
	buf_free(&t);
}

/* An AnyValue holding a "leaf" string inside `levels` arrays (or kvlists, each under key "k"). */
static void nested_value(struct buf *v, int levels, bool kvlist)
{
	struct buf w, kv;
	int i;

	buf_init(&w, SIZE_MAX);
	buf_init(&kv, SIZE_MAX);
	buf_reset(v);
	pbw_bytes(v, 1, "leaf", 4);
	for (i = 0; i < levels; i++) {
		if (kvlist) {
			pbw_bytes(&kv, 1, "k", 1);
			pbw_msg(&kv, 2, v);
			pbw_msg(&w, 1, &kv);
			pbw_msg(v, 6, &w);
		} else {
			pbw_msg(&w, 1, v);
			pbw_msg(v, 5, &w);
		}
	}
	buf_free(&w);
	buf_free(&kv);
}

/* A KeyValue "a" = v (consumed). */
static void key_value(struct buf *kv, struct buf *v)
{
	buf_reset(kv);
	pbw_bytes(kv, 1, "a", 1);
	pbw_msg(kv, 2, v);
}

/* Requests that carry v (consumed) where the schema nests it: a log body, a log attribute, a
 * span attribute, an exemplar's filtered attribute (the deepest path: 8 messages down). */
enum where { IN_BODY, IN_LOG_ATTR, IN_SPAN_ATTR, IN_EXEMPLAR, N_WHERE };
static const char *const where_names[N_WHERE] = { "log body", "log attribute", "span attribute", "exemplar attribute" };

static enum otlp_signal request_with(struct buf *req, struct buf *v, enum where w)
{
	struct buf a, b, c, d, e;
	enum otlp_signal sig = w == IN_SPAN_ATTR ? OTLP_TRACES : w == IN_EXEMPLAR ? OTLP_METRICS : OTLP_LOGS;

	buf_init(&a, SIZE_MAX);
	buf_init(&b, SIZE_MAX);
	buf_init(&c, SIZE_MAX);
	buf_init(&d, SIZE_MAX);
	buf_init(&e, SIZE_MAX);
	buf_reset(req);
	if (w == IN_BODY) {
		logs_req(req, v);
	} else if (w == IN_LOG_ATTR || w == IN_SPAN_ATTR) {
		key_value(&a, v);
		pbw_fixed64(&b, w == IN_LOG_ATTR ? 1 : 7, 7);
		pbw_msg(&b, w == IN_LOG_ATTR ? 6 : 9, &a);  /* LogRecord.attributes / Span.attributes */
		pbw_msg(&c, 2, &b);                          /* ScopeX.items */
		pbw_msg(&d, 2, &c);                          /* ResourceX.scopes */
		pbw_msg(req, 1, &d);
	} else {
		key_value(&a, v);
		pbw_fixed64(&b, 2, 5);
		pbw_msg(&b, 7, &a);     /* Exemplar.filtered_attributes */
		pbw_fixed64(&a, 3, 9);
		pbw_msg(&a, 8, &b);     /* HistogramDataPoint.exemplars */
		pbw_msg(&b, 1, &a);     /* Histogram.data_points */
		pbw_bytes(&c, 1, "h", 1);
		pbw_msg(&c, 9, &b);     /* Metric.histogram */
		pbw_msg(&d, 2, &c);     /* ScopeMetrics.metrics */
		pbw_msg(&e, 2, &d);     /* ResourceMetrics.scope_metrics */
		pbw_msg(req, 1, &e);
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
	buf_free(&e);
	return sig;
}

/* docs/otlp.md, Limits: a value inside 32 arrays or kvlists is kept wherever it sits, a 33rd
 * level is refused with the AnyValue reason (the message nesting bound never comes first). */
static void test_depth(void)
{
	struct buf v, req;
	struct out o;
	int w, kv, levels;

	buf_init(&v, SIZE_MAX);
	buf_init(&req, SIZE_MAX);
	for (w = 0; w < N_WHERE; w++) {
		for (kv = 0; kv < 2; kv++) {
			for (levels = 32; levels <= 33; levels++) {
				enum otlp_signal sig;

				nested_value(&v, levels, kv);
				sig = request_with(&req, &v, (enum where)w);
				o = decode(sig, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
				if (levels == 32)
					ok(o.rc == 0 && strstr(o.text, "\"leaf\"") != NULL, "%s: 32 nested %s kept (%s)",
					   where_names[w], kv ? "kvlists" : "arrays", o.err);
				else
					ok(o.rc == -EINVAL && strstr(o.err, "AnyValue nested deeper than 32 levels") != NULL,
					   "%s: 33 nested %s refused (%s)", where_names[w], kv ? "kvlists" : "arrays", o.err);
				out_free(&o);
			}
		}
	}
	nested_value(&v, 5000, false); /* far deeper than any bound */
	buf_reset(&req);
	logs_req(&req, &v);
	o = decode(OTLP_LOGS, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
	ok(o.rc == -EINVAL && strstr(o.err, "deeper") != NULL, "5000 nested arrays: refused (%s)", o.err);
	out_free(&o);
	buf_free(&v);
	buf_free(&req);
}

/* OTLP JSON meets the JSON parser's bound first (60 nested containers, lib/jsonmp): a log body
 * keeps 17 nested arrays (3 containers each, 8 around the body), 18 are refused. */
static void test_json_depth(void)
{
	struct buf j;
	struct out o;
	int levels, i;

	buf_init(&j, SIZE_MAX);
	for (levels = 17; levels <= 18; levels++) {
		buf_reset(&j);
		buf_puts(&j, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
		for (i = 0; i < levels; i++)
			buf_puts(&j, "{\"arrayValue\":{\"values\":[");
		buf_puts(&j, "{\"stringValue\":\"leaf\"}");
		for (i = 0; i < levels; i++)
			buf_puts(&j, "]}}");
		buf_puts(&j, "}]}]}]}");
		o = decode(OTLP_LOGS, OTLP_JSON, j.data, j.len, 1 << 20);
		if (levels == 17)
			ok(o.rc == 0 && strstr(o.text, "\"leaf\"") != NULL, "JSON log body: 17 nested arrays kept (%s)", o.err);
		else
			ok(o.rc == -EINVAL && strstr(o.err, "nesting too deep") != NULL, "JSON log body: 18 refused (%s)", o.err);
		out_free(&o);
	}
	buf_free(&j);
}

/* A body that is an empty AnyValue (the OpenTelemetry Collector's otlphttp exporter sends one
 * for a record without a body) is no body: {}. */
static void test_empty_body(void)
{
	static const char json[] = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"7\",\"body\":{}}]}]}]}";
	struct buf req, body;
	struct out o;

	buf_init(&req, SIZE_MAX);
	buf_init(&body, SIZE_MAX);
	logs_req(&req, &body); /* field 5 present, zero bytes long */
	o = decode(OTLP_LOGS, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
	is_str(o.text, "[[7,{\"_tag\":\"v1_test\",\"otlp\":{}}],{}]\n", "protobuf: an empty AnyValue body is {}");
	out_free(&o);
	o = decode(OTLP_LOGS, OTLP_JSON, json, sizeof(json) - 1, 1 << 20);
	is_str(o.text, "[[7,{\"_tag\":\"v1_test\",\"otlp\":{}}],{}]\n", "JSON: \"body\":{} is {}");
	out_free(&o);
	buf_free(&req);
	buf_free(&body);
}

static void test_truncation_everywhere(void)
{
	struct buf req, body;
	struct out full;
	size_t n, bad = 0, okays = 0;

	buf_init(&req, SIZE_MAX);
	buf_init(&body, SIZE_MAX);
	pbw_bytes(&body, 1, "a log line", 10);
	logs_req(&req, &body);
	full = decode(OTLP_LOGS, OTLP_PROTOBUF, req.data, req.len, 1 << 20);
	ok(full.rc == 0 && full.lines == 1, "the full request decodes");
	/* Every prefix either fails cleanly or is itself a valid (shorter) request. */
	for (n = 0; n < req.len; n++) {
		struct out o = decode(OTLP_LOGS, OTLP_PROTOBUF, req.data, n, 1 << 20);

		if (o.rc == -EINVAL && o.err[0])
			bad++;
		else if (o.rc == 0)
			okays++;
		out_free(&o);
	}
	ok(bad + okays == req.len && bad > 0, "every truncation is an error with a reason or a valid prefix (%zu bad)", bad);
	out_free(&full);
	buf_free(&req);
	buf_free(&body);
}

static void test_limits_and_all_or_nothing(void)
{
	static const char json[] =
		"{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\"}}]},"
		"\"scopeLogs\":[{\"scope\":{\"name\":\"lib\"},\"logRecords\":[{\"timeUnixNano\":\"5\",\"body\":{\"stringValue\":\"one\"}},"
		"{\"body\":{\"stringValue\":\"two\"}}]}]}]}";
	static const char bad_second[] =
		"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"one\"}},"
		"{\"traceId\":\"00\"}]}]}]}";
	struct out o;

	o = decode(OTLP_LOGS, OTLP_JSON, json, sizeof(json) - 1, 1 << 20);
	ok(o.rc == 0 && o.lines == 2 && o.records == 2, "two records");
	is_str(o.v1, "\"otlp\":{\"resource\":{\"attributes\":{\"service.name\":\"s\"}},\"scope\":{\"name\":\"lib\"}}",
	       "the v1 member names the shared resource and scope");
	ok(strstr(o.text, "[[42,{\"_tag\":\"v1_test\",\"otlp\":{}}],{\"log\":\"two\"}]") != NULL,
	   "a record without times gets now");
	out_free(&o);
	o = decode(OTLP_LOGS, OTLP_JSON, json, sizeof(json) - 1, 60);
	ok(o.rc == -ENOSPC, "output over the builder's limit: -ENOSPC (%d %s)", o.rc, o.err);
	out_free(&o);
	o = decode(OTLP_LOGS, OTLP_JSON, bad_second, sizeof(bad_second) - 1, 1 << 20);
	ok(o.rc == -EINVAL && strstr(o.err, "LogRecord.traceId") != NULL, "a bad second record fails the request (%s)", o.err);
	out_free(&o);
}

static void test_json_numbers(void)
{
	static const struct {
		const char *attr, *want;
	} cases[] = {
		{ "{\"intValue\":\"9223372036854775807\"}", "9223372036854775807" },
		{ "{\"intValue\":-12}", "-12" },
		{ "{\"intValue\":1e3}", "1000" },
		{ "{\"doubleValue\":\"Infinity\"}", "null" },
		{ "{\"doubleValue\":1}", "1.0" },
		{ "{\"intValue\":\"9223372036854775808\"}", NULL },
		{ "{\"intValue\":\"0x10\"}", NULL },
		{ "{\"intValue\":1.5}", NULL },
		{ "{\"doubleValue\":\"1e5x\"}", NULL },
		{ "{\"boolValue\":\"true\"}", NULL },
		{ "{\"bytesValue\":\"!!\"}", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char req[512], want[128];
		struct out o;

		snprintf(req, sizeof(req), "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":"
			 "[{\"key\":\"k\",\"value\":%s}]}]}]}]}", cases[i].attr);
		o = decode(OTLP_TRACES, OTLP_JSON, req, strlen(req), 1 << 20);
		if (cases[i].want) {
			snprintf(want, sizeof(want), "\"attributes\":{\"k\":%s}", cases[i].want);
			ok(o.rc == 0 && strstr(o.text, want), "%s -> %s", cases[i].attr, cases[i].want);
		} else {
			ok(o.rc == -EINVAL && strstr(o.err, "AnyValue"), "%s refused (%s)", cases[i].attr, o.err);
		}
		out_free(&o);
	}
}

int main(void)
{
	test_unknown_fields_and_packing();
	test_depth();
	test_json_depth();
	test_empty_body();
	test_truncation_everywhere();
	test_limits_and_all_or_nothing();
	test_json_numbers();
	return tap_done();
}
