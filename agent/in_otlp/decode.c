/* in_otlp/decode.c: walks OTLP requests through the otlp_wire view and renders Vivo's shapes. */
#include "decode.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonmp.h"
#include "mp.h"
#include "mpjson.h"
#include "mpk.h"
#include "wire.h"

/* ---- the OTLP schema (opentelemetry-proto v1), as field tables ----------------------- */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DESC(var, name, fields) static const struct ow_desc var = { name, fields, COUNT(fields) }

static const struct ow_desc d_any, d_kv, d_array, d_kvlist;

static const struct ow_field f_any[] = {
	{ 1, OW_STRING, false, "stringValue", "string_value", NULL, NULL },
	{ 2, OW_BOOL, false, "boolValue", "bool_value", NULL, NULL },
	{ 3, OW_INT64, false, "intValue", "int_value", NULL, NULL },
	{ 4, OW_DOUBLE, false, "doubleValue", "double_value", NULL, NULL },
	{ 5, OW_MSG, false, "arrayValue", "array_value", &d_array, NULL },
	{ 6, OW_MSG, false, "kvlistValue", "kvlist_value", &d_kvlist, NULL },
	{ 7, OW_BYTES, false, "bytesValue", "bytes_value", NULL, NULL },
};
static const struct ow_desc d_any = { "AnyValue", f_any, COUNT(f_any) };
static const struct ow_field f_array[] = { { 1, OW_MSG, true, "values", NULL, &d_any, NULL } };
static const struct ow_desc d_array = { "ArrayValue", f_array, COUNT(f_array) };
static const struct ow_field f_kvlist[] = { { 1, OW_MSG, true, "values", NULL, &d_kv, NULL } };
static const struct ow_desc d_kvlist = { "KeyValueList", f_kvlist, COUNT(f_kvlist) };
static const struct ow_field f_kv[] = {
	{ 1, OW_STRING, false, "key", NULL, NULL, NULL },
	{ 2, OW_MSG, false, "value", NULL, &d_any, NULL },
};
static const struct ow_desc d_kv = { "KeyValue", f_kv, COUNT(f_kv) };

static const struct ow_field f_scope[] = {
	{ 1, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 2, OW_STRING, false, "version", NULL, NULL, NULL },
	{ 3, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 4, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
DESC(d_scope, "InstrumentationScope", f_scope);
static const struct ow_field f_resource[] = {
	{ 1, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 2, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
DESC(d_resource, "Resource", f_resource);

/* Field numbers shared by ResourceX (resource, scopeX, schema_url) and ScopeX (scope, items, schema_url). */
enum { F_RESOURCE = 1, F_SCOPES = 2, F_SCHEMA = 3, F_SCOPE = 1, F_ITEMS = 2 };

/* traces */
static const struct ow_enum e_kind[] = {
	{ "SPAN_KIND_UNSPECIFIED", 0 }, { "SPAN_KIND_INTERNAL", 1 }, { "SPAN_KIND_SERVER", 2 },
	{ "SPAN_KIND_CLIENT", 3 }, { "SPAN_KIND_PRODUCER", 4 }, { "SPAN_KIND_CONSUMER", 5 },
	{ "UNSPECIFIED", 0 }, { "INTERNAL", 1 }, { "SERVER", 2 }, { "CLIENT", 3 }, { "PRODUCER", 4 },
	{ "CONSUMER", 5 }, { NULL, 0 },
};
static const struct ow_enum e_status[] = {
	{ "STATUS_CODE_UNSET", 0 }, { "STATUS_CODE_OK", 1 }, { "STATUS_CODE_ERROR", 2 },
	{ "UNSET", 0 }, { "OK", 1 }, { "ERROR", 2 }, { NULL, 0 },
};
static const struct ow_field f_status[] = {
	{ 2, OW_STRING, false, "message", NULL, NULL, NULL },
	{ 3, OW_ENUM, false, "code", NULL, NULL, e_status },
};
DESC(d_status, "Status", f_status);
static const struct ow_field f_event[] = {
	{ 1, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 2, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 3, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 4, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
DESC(d_event, "Span.Event", f_event);
static const struct ow_field f_link[] = {
	{ 1, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 2, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 3, OW_STRING, false, "traceState", "trace_state", NULL, NULL },
	{ 4, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 5, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 6, OW_FIXED32, false, "flags", NULL, NULL, NULL },
};
DESC(d_link, "Span.Link", f_link);
static const struct ow_field f_span[] = {
	{ 1, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 2, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 3, OW_STRING, false, "traceState", "trace_state", NULL, NULL },
	{ 4, OW_ID8, false, "parentSpanId", "parent_span_id", NULL, NULL },
	{ 5, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 6, OW_ENUM, false, "kind", NULL, NULL, e_kind },
	{ 7, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 8, OW_FIXED64, false, "endTimeUnixNano", "end_time_unix_nano", NULL, NULL },
	{ 9, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 10, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 11, OW_MSG, true, "events", NULL, &d_event, NULL },
	{ 12, OW_UINT, false, "droppedEventsCount", "dropped_events_count", NULL, NULL },
	{ 13, OW_MSG, true, "links", NULL, &d_link, NULL },
	{ 14, OW_UINT, false, "droppedLinksCount", "dropped_links_count", NULL, NULL },
	{ 15, OW_MSG, false, "status", NULL, &d_status, NULL },
	{ 16, OW_FIXED32, false, "flags", NULL, NULL, NULL },
};
DESC(d_span, "Span", f_span);
static const struct ow_field f_scope_spans[] = {
	{ 1, OW_MSG, false, "scope", NULL, &d_scope, NULL },
	{ 2, OW_MSG, true, "spans", NULL, &d_span, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_scope_spans, "ScopeSpans", f_scope_spans);
static const struct ow_field f_resource_spans[] = {
	{ 1, OW_MSG, false, "resource", NULL, &d_resource, NULL },
	{ 2, OW_MSG, true, "scopeSpans", "scope_spans", &d_scope_spans, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_resource_spans, "ResourceSpans", f_resource_spans);
static const struct ow_field f_traces_req[] = {
	{ 1, OW_MSG, true, "resourceSpans", "resource_spans", &d_resource_spans, NULL },
};
DESC(d_traces_req, "ExportTraceServiceRequest", f_traces_req);

/* logs */
#define SEV(n, v) { "SEVERITY_NUMBER_" n, v }
static const struct ow_enum e_severity[] = {
	SEV("UNSPECIFIED", 0), SEV("TRACE", 1), SEV("TRACE2", 2), SEV("TRACE3", 3), SEV("TRACE4", 4),
	SEV("DEBUG", 5), SEV("DEBUG2", 6), SEV("DEBUG3", 7), SEV("DEBUG4", 8),
	SEV("INFO", 9), SEV("INFO2", 10), SEV("INFO3", 11), SEV("INFO4", 12),
	SEV("WARN", 13), SEV("WARN2", 14), SEV("WARN3", 15), SEV("WARN4", 16),
	SEV("ERROR", 17), SEV("ERROR2", 18), SEV("ERROR3", 19), SEV("ERROR4", 20),
	SEV("FATAL", 21), SEV("FATAL2", 22), SEV("FATAL3", 23), SEV("FATAL4", 24), { NULL, 0 },
};
static const struct ow_field f_log[] = {
	{ 1, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 2, OW_ENUM, false, "severityNumber", "severity_number", NULL, e_severity },
	{ 3, OW_STRING, false, "severityText", "severity_text", NULL, NULL },
	{ 5, OW_MSG, false, "body", NULL, &d_any, NULL },
	{ 6, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 7, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 8, OW_FIXED32, false, "flags", NULL, NULL, NULL },
	{ 9, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 10, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 11, OW_FIXED64, false, "observedTimeUnixNano", "observed_time_unix_nano", NULL, NULL },
	{ 12, OW_STRING, false, "eventName", "event_name", NULL, NULL },
};
DESC(d_log, "LogRecord", f_log);
static const struct ow_field f_scope_logs[] = {
	{ 1, OW_MSG, false, "scope", NULL, &d_scope, NULL },
	{ 2, OW_MSG, true, "logRecords", "log_records", &d_log, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_scope_logs, "ScopeLogs", f_scope_logs);
static const struct ow_field f_resource_logs[] = {
	{ 1, OW_MSG, false, "resource", NULL, &d_resource, NULL },
	{ 2, OW_MSG, true, "scopeLogs", "scope_logs", &d_scope_logs, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_resource_logs, "ResourceLogs", f_resource_logs);
static const struct ow_field f_logs_req[] = {
	{ 1, OW_MSG, true, "resourceLogs", "resource_logs", &d_resource_logs, NULL },
};
DESC(d_logs_req, "ExportLogsServiceRequest", f_logs_req);

/* metrics */
static const struct ow_enum e_temporality[] = {
	{ "AGGREGATION_TEMPORALITY_UNSPECIFIED", 0 }, { "AGGREGATION_TEMPORALITY_DELTA", 1 },
	{ "AGGREGATION_TEMPORALITY_CUMULATIVE", 2 }, { "UNSPECIFIED", 0 }, { "DELTA", 1 },
	{ "CUMULATIVE", 2 }, { NULL, 0 },
};
enum { DP_START = 2, DP_TIME = 3 };
static const struct ow_field f_ndp[] = {
	{ 2, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 3, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 4, OW_DOUBLE, false, "asDouble", "as_double", NULL, NULL },
	{ 6, OW_SFIXED64, false, "asInt", "as_int", NULL, NULL },
	{ 7, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 8, OW_UINT, false, "flags", NULL, NULL, NULL },
};
DESC(d_ndp, "NumberDataPoint", f_ndp);
static const struct ow_field f_hdp[] = {
	{ 2, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 3, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 4, OW_FIXED64, false, "count", NULL, NULL, NULL },
	{ 5, OW_DOUBLE, false, "sum", NULL, NULL, NULL },
	{ 6, OW_FIXED64, true, "bucketCounts", "bucket_counts", NULL, NULL },
	{ 7, OW_DOUBLE, true, "explicitBounds", "explicit_bounds", NULL, NULL },
	{ 9, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 10, OW_UINT, false, "flags", NULL, NULL, NULL },
	{ 11, OW_DOUBLE, false, "min", NULL, NULL, NULL },
	{ 12, OW_DOUBLE, false, "max", NULL, NULL, NULL },
};
DESC(d_hdp, "HistogramDataPoint", f_hdp);
static const struct ow_field f_buckets[] = {
	{ 1, OW_SINT32, false, "offset", NULL, NULL, NULL },
	{ 2, OW_UINT, true, "bucketCounts", "bucket_counts", NULL, NULL },
};
DESC(d_buckets, "ExponentialHistogramDataPoint.Buckets", f_buckets);
static const struct ow_field f_ehdp[] = {
	{ 1, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 2, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 3, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 4, OW_FIXED64, false, "count", NULL, NULL, NULL },
	{ 5, OW_DOUBLE, false, "sum", NULL, NULL, NULL },
	{ 6, OW_SINT32, false, "scale", NULL, NULL, NULL },
	{ 7, OW_FIXED64, false, "zeroCount", "zero_count", NULL, NULL },
	{ 8, OW_MSG, false, "positive", NULL, &d_buckets, NULL },
	{ 9, OW_MSG, false, "negative", NULL, &d_buckets, NULL },
	{ 10, OW_UINT, false, "flags", NULL, NULL, NULL },
	{ 12, OW_DOUBLE, false, "min", NULL, NULL, NULL },
	{ 13, OW_DOUBLE, false, "max", NULL, NULL, NULL },
	{ 14, OW_DOUBLE, false, "zeroThreshold", "zero_threshold", NULL, NULL },
};
DESC(d_ehdp, "ExponentialHistogramDataPoint", f_ehdp);
static const struct ow_field f_vaq[] = {
	{ 1, OW_DOUBLE, false, "quantile", NULL, NULL, NULL },
	{ 2, OW_DOUBLE, false, "value", NULL, NULL, NULL },
};
DESC(d_vaq, "SummaryDataPoint.ValueAtQuantile", f_vaq);
static const struct ow_field f_sdp[] = {
	{ 2, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 3, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 4, OW_FIXED64, false, "count", NULL, NULL, NULL },
	{ 5, OW_DOUBLE, false, "sum", NULL, NULL, NULL },
	{ 6, OW_MSG, true, "quantileValues", "quantile_values", &d_vaq, NULL },
	{ 7, OW_MSG, true, "attributes", NULL, &d_kv, NULL },
	{ 8, OW_UINT, false, "flags", NULL, NULL, NULL },
};
DESC(d_sdp, "SummaryDataPoint", f_sdp);
static const struct ow_field f_gauge[] = { { 1, OW_MSG, true, "dataPoints", "data_points", &d_ndp, NULL } };
DESC(d_gauge, "Gauge", f_gauge);
static const struct ow_field f_sum[] = {
	{ 1, OW_MSG, true, "dataPoints", "data_points", &d_ndp, NULL },
	{ 2, OW_ENUM, false, "aggregationTemporality", "aggregation_temporality", NULL, e_temporality },
	{ 3, OW_BOOL, false, "isMonotonic", "is_monotonic", NULL, NULL },
};
DESC(d_sum, "Sum", f_sum);
static const struct ow_field f_histogram[] = {
	{ 1, OW_MSG, true, "dataPoints", "data_points", &d_hdp, NULL },
	{ 2, OW_ENUM, false, "aggregationTemporality", "aggregation_temporality", NULL, e_temporality },
};
DESC(d_histogram, "Histogram", f_histogram);
static const struct ow_field f_ehistogram[] = {
	{ 1, OW_MSG, true, "dataPoints", "data_points", &d_ehdp, NULL },
	{ 2, OW_ENUM, false, "aggregationTemporality", "aggregation_temporality", NULL, e_temporality },
};
DESC(d_ehistogram, "ExponentialHistogram", f_ehistogram);
static const struct ow_field f_summary[] = { { 1, OW_MSG, true, "dataPoints", "data_points", &d_sdp, NULL } };
DESC(d_summary, "Summary", f_summary);
enum { M_GAUGE = 5, M_SUM = 7, M_HISTOGRAM = 9, M_EHISTOGRAM = 10, M_SUMMARY = 11 };
static const struct ow_field f_metric[] = {
	{ 1, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 2, OW_STRING, false, "description", NULL, NULL, NULL },
	{ 3, OW_STRING, false, "unit", NULL, NULL, NULL },
	{ 5, OW_MSG, false, "gauge", NULL, &d_gauge, NULL },
	{ 7, OW_MSG, false, "sum", NULL, &d_sum, NULL },
	{ 9, OW_MSG, false, "histogram", NULL, &d_histogram, NULL },
	{ 10, OW_MSG, false, "exponentialHistogram", "exponential_histogram", &d_ehistogram, NULL },
	{ 11, OW_MSG, false, "summary", NULL, &d_summary, NULL },
};
DESC(d_metric, "Metric", f_metric);
static const struct ow_field f_scope_metrics[] = {
	{ 1, OW_MSG, false, "scope", NULL, &d_scope, NULL },
	{ 2, OW_MSG, true, "metrics", NULL, &d_metric, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_scope_metrics, "ScopeMetrics", f_scope_metrics);
static const struct ow_field f_resource_metrics[] = {
	{ 1, OW_MSG, false, "resource", NULL, &d_resource, NULL },
	{ 2, OW_MSG, true, "scopeMetrics", "scope_metrics", &d_scope_metrics, NULL },
	{ 3, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL },
};
DESC(d_resource_metrics, "ResourceMetrics", f_resource_metrics);
static const struct ow_field f_metrics_req[] = {
	{ 1, OW_MSG, true, "resourceMetrics", "resource_metrics", &d_resource_metrics, NULL },
};
DESC(d_metrics_req, "ExportMetricsServiceRequest", f_metrics_req);

/* ---- rendering context ------------------------------------------------------------ */

/* Deepest AnyValue nesting (arrays and kvlists) kept; the rendered msgpack stays well
 * inside MPJSON_MAX_DEPTH. */
#define ANY_MAX_DEPTH 32
/* Most distinct attribute keys (labels) in one metric. */
#define MAX_LABELS 128

enum { T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY, T_UNTYPED, T_EXP_HISTOGRAM, T_NTYPES };
static const char *const type_keys[T_NTYPES] = { "counter", "gauge", "histogram", "summary", "untyped", "exp_histogram" };

struct ctx {
	bool json;
	int rc;               /* sticky output error of the jw_* writers */
	struct ow_err e;
	struct buf doc;       /* JSON input as msgpack */
	struct buf line;      /* the metrics/traces line, or the log resource+scope object */
	struct buf shared;    /* logs: the resource+scope object of the first scope with records */
	struct buf mp;        /* msgpack scratch: attributes, log metadata */
	struct buf mp2;       /* msgpack scratch: log body */
	struct buf tmp;       /* label value text */
	struct buf metrics;   /* metrics: the "metrics" array of the line being built */
	struct buf ot[T_NTYPES]; /* metrics: external.otlp.metrics.<type> pairs (msgpack) */
	uint32_t ot_count[T_NTYPES];
	int ot_order[T_NTYPES];
	int ot_n;
	uint64_t records;
	int64_t now_ns;
	/* metric labels */
	size_t nkeys;
	const char *key[MAX_LABELS];
	size_t klen[MAX_LABELS];
	size_t voff[MAX_LABELS], vlen[MAX_LABELS];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->e.msg, sizeof(x->e.msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define TRY(expr) do { int rc_ = (expr); if (rc_ < 0) return rc_; } while (0)

/* Sticky JSON writers: after the first error they do nothing; x->rc keeps it. */
static inline void jw_mem(struct ctx *x, struct buf *b, const char *p, size_t n)
{
	if (x->rc)
		return;
	if (b->cap - b->len >= n) { /* the common case, without a call */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return;
	}
	x->rc = buf_append(b, p, n);
}

/* A macro, so that the length of a literal is known at compile time. */
#define jw_raw(x, b, s) jw_mem((x), (b), (s), strlen(s))

static void jw_str(struct ctx *x, struct buf *b, const char *p, size_t n)
{
	size_t i;

	if (x->rc)
		return;
	/* Plain ASCII needs no escaping: copy it; anything else takes the full rules. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			break;
	}
	if (i < n || b->cap - b->len < n + 2) {
		x->rc = mpjson_put_string(b, p, n);
		return;
	}
	b->data[b->len] = '"';
	memcpy(b->data + b->len + 1, p, n);
	b->data[b->len + 1 + n] = '"';
	b->len += n + 2;
}

static void jw_strnull(struct ctx *x, struct buf *b, const char *p, size_t n)
{
	if (n)
		jw_str(x, b, p, n);
	else
		jw_raw(x, b, "null");
}

static void jw_u64(struct ctx *x, struct buf *b, uint64_t v)
{
	if (!x->rc)
		x->rc = buf_put_u64(b, (unsigned long long)v);
}

static void jw_i64(struct ctx *x, struct buf *b, int64_t v)
{
	if (!x->rc)
		x->rc = buf_put_i64(b, (long long)v);
}

static void jw_f64(struct ctx *x, struct buf *b, double v)
{
	if (!x->rc)
		x->rc = mpjson_put_double(b, v);
}

/* A hex ID field of m as a JSON string, or null when absent or empty. */
static void jw_id(struct ctx *x, struct buf *b, const struct ow_msg *m, unsigned num)
{
	char hex[33];
	size_t n = ow_hex(m, num, hex);

	if (n) {
		jw_raw(x, b, "\"");
		jw_mem(x, b, hex, n);
		jw_raw(x, b, "\"");
	} else {
		jw_raw(x, b, "null");
	}
}

static void jw_field_str(struct ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty)
{
	size_t n;
	const char *s = ow_str(m, num, &n);

	if (null_if_empty)
		jw_strnull(x, b, s, n);
	else
		jw_str(x, b, s, n);
}

/* ---- AnyValue and attributes ------------------------------------------------------ */

static int kvs_to_mp(struct ctx *x, const struct ow_msg *m, unsigned num, struct buf *out, int depth);

static int any_to_mp(struct ctx *x, const struct ow_msg *av, struct buf *out, int depth)
{
	static const unsigned cases[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct ow_msg sub, el;
	struct ow_iter it;
	const char *s;
	size_t n, at;
	uint32_t count = 0;
	int rc;

	if (depth > ANY_MAX_DEPTH)
		return fail(x, "AnyValue nested deeper than %d levels", ANY_MAX_DEPTH);
	switch (ow_oneof(av, cases, COUNT(cases))) {
	case 1:
		s = ow_str(av, 1, &n);
		return msgpack_pack_str_with_body(MPK(out), s, n);
	case 2:
		return mpk_bool(MPK(out), ow_bool(av, 2));
	case 3:
		return msgpack_pack_int64(MPK(out), ow_i64(av, 3));
	case 4:
		return msgpack_pack_double(MPK(out), ow_f64(av, 4));
	case 5:
		TRY(ow_sub(av, 5, &sub, &x->e));
		TRY(mpk_array32(MPK(out), &at));
		ow_iter_init(&it, &sub, 1);
		while ((rc = ow_next_msg(&it, &el, &x->e)) > 0) {
			TRY(any_to_mp(x, &el, out, depth + 1));
			count++;
		}
		if (rc < 0)
			return rc;
		mpk_patch32(MPK(out), at, count);
		return 0;
	case 6:
		TRY(ow_sub(av, 6, &sub, &x->e));
		return kvs_to_mp(x, &sub, 1, out, depth + 1);
	case 7:
		if (!av->json) {
			s = ow_str(av, 7, &n);
			return msgpack_pack_bin_with_body(MPK(out), s, n);
		} else {
			struct buf raw;

			buf_init(&raw, out->max);
			if ((rc = ow_bytes(av, 7, &raw)) == 0)
				rc = msgpack_pack_bin_with_body(MPK(out), raw.data ? raw.data : "", raw.len);
			buf_free(&raw);
			return rc;
		}
	default:
		return msgpack_pack_nil(MPK(out));
	}
}

/* A repeated KeyValue field as a msgpack map (duplicates are resolved when rendered). */
static int kvs_to_mp(struct ctx *x, const struct ow_msg *m, unsigned num, struct buf *out, int depth)
{
	struct ow_msg kv, v;
	struct ow_iter it;
	uint32_t count = 0;
	size_t at, n;
	const char *k;
	int rc;

	if (depth > ANY_MAX_DEPTH)
		return fail(x, "AnyValue nested deeper than %d levels", ANY_MAX_DEPTH);
	TRY(mpk_map32(MPK(out), &at));
	ow_iter_init(&it, m, num);
	while ((rc = ow_next_msg(&it, &kv, &x->e)) > 0) {
		k = ow_str(&kv, 1, &n);
		TRY(msgpack_pack_str_with_body(MPK(out), k, n));
		TRY(ow_sub(&kv, 2, &v, &x->e));
		TRY(any_to_mp(x, &v, out, depth + 1));
		count++;
	}
	if (rc < 0)
		return rc;
	mpk_patch32(MPK(out), at, count);
	return 0;
}

/* Straight to JSON, the common case: 1 asks the caller to take the msgpack path instead
 * (a duplicate key, bytes, too many keys to check), which resolves those by spec 3.1. */
#define FAST_KEYS 32
static int kvs_to_json(struct ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, int depth);

static int any_to_json(struct ctx *x, struct buf *b, const struct ow_msg *av, int depth)
{
	static const unsigned cases[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct ow_msg sub, el;
	struct ow_iter it;
	const char *s;
	size_t n;
	int rc, k;

	if (depth > ANY_MAX_DEPTH)
		return fail(x, "AnyValue nested deeper than %d levels", ANY_MAX_DEPTH);
	switch (ow_oneof(av, cases, COUNT(cases))) {
	case 1:
		s = ow_str(av, 1, &n);
		jw_str(x, b, s, n);
		return 0;
	case 2:
		jw_raw(x, b, ow_bool(av, 2) ? "true" : "false");
		return 0;
	case 3:
		jw_i64(x, b, ow_i64(av, 3));
		return 0;
	case 4:
		jw_f64(x, b, ow_f64(av, 4));
		return 0;
	case 5:
		TRY(ow_sub(av, 5, &sub, &x->e));
		jw_raw(x, b, "[");
		ow_iter_init(&it, &sub, 1);
		for (k = 0; (rc = ow_next_msg(&it, &el, &x->e)) > 0; k++) {
			if (k)
				jw_raw(x, b, ",");
			if ((rc = any_to_json(x, b, &el, depth + 1)) != 0)
				return rc;
		}
		if (rc < 0)
			return rc;
		jw_raw(x, b, "]");
		return 0;
	case 6:
		TRY(ow_sub(av, 6, &sub, &x->e));
		return kvs_to_json(x, b, &sub, 1, depth + 1);
	case 7:
		return 1;
	default:
		jw_raw(x, b, "null");
		return 0;
	}
}

static int kvs_to_json(struct ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, int depth)
{
	const char *keys[FAST_KEYS];
	size_t klen[FAST_KEYS];
	struct ow_msg kv, v;
	struct ow_iter it;
	int rc, n = 0, i;

	if (depth > ANY_MAX_DEPTH)
		return fail(x, "AnyValue nested deeper than %d levels", ANY_MAX_DEPTH);
	jw_raw(x, b, "{");
	ow_iter_init(&it, m, num);
	while ((rc = ow_next_msg(&it, &kv, &x->e)) > 0) {
		if (n == FAST_KEYS)
			return 1;
		keys[n] = ow_str(&kv, 1, &klen[n]);
		for (i = 0; i < n; i++)
			if (klen[i] == klen[n] && memcmp(keys[i], keys[n], klen[n]) == 0)
				return 1;
		if (n)
			jw_raw(x, b, ",");
		jw_str(x, b, keys[n], klen[n]);
		jw_raw(x, b, ":");
		n++;
		TRY(ow_sub(&kv, 2, &v, &x->e));
		if ((rc = any_to_json(x, b, &v, depth + 1)) != 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	jw_raw(x, b, "}");
	return 0;
}

/* Attributes of m as a JSON object (or null when there are none and null_if_empty). */
static int jw_attrs(struct ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty)
{
	size_t mark = b->len;
	struct mp_cur c;
	int rc;

	if (!ow_has(m, num) || (m->json && ow_count(m, num) == 0)) {
		jw_raw(x, b, null_if_empty ? "null" : "{}");
		return 0;
	}
	if ((rc = kvs_to_json(x, b, m, num, 0)) <= 0)
		return rc;
	b->len = mark; /* the rare case: through msgpack and its renderer */
	buf_reset(&x->mp);
	if ((rc = kvs_to_mp(x, m, num, &x->mp, 0)) < 0)
		return rc;
	mp_cur_init(&c, x->mp.data, x->mp.len);
	if (!x->rc && (rc = mpjson_write(b, &c)) < 0)
		x->rc = rc;
	return 0;
}

/* ---- traces (spec 3.5: the ctraces shape Fluent Bit serves) ------------------------- */

static int trace_span(struct ctx *x, struct buf *b, const struct ow_msg *sp)
{
	struct ow_msg ev, ln, st;
	struct ow_iter it;
	int rc, k;

	jw_raw(x, b, "{\"trace_id\":");
	jw_id(x, b, sp, 1);
	jw_raw(x, b, ",\"span_id\":");
	jw_id(x, b, sp, 2);
	jw_raw(x, b, ",\"parent_span_id\":");
	jw_id(x, b, sp, 4);
	jw_raw(x, b, ",\"trace_state\":");
	jw_field_str(x, b, sp, 3, true);
	jw_raw(x, b, ",\"name\":");
	jw_field_str(x, b, sp, 5, false);
	jw_raw(x, b, ",\"kind\":");
	jw_i64(x, b, ow_i64(sp, 6));
	jw_raw(x, b, ",\"start_time_unix_nano\":");
	jw_u64(x, b, ow_u64(sp, 7));
	jw_raw(x, b, ",\"end_time_unix_nano\":");
	jw_u64(x, b, ow_u64(sp, 8));
	jw_raw(x, b, ",\"attributes\":");
	TRY(jw_attrs(x, b, sp, 9, false));
	jw_raw(x, b, ",\"dropped_attributes_count\":");
	jw_u64(x, b, ow_u64(sp, 10));
	jw_raw(x, b, ",\"dropped_events_count\":");
	jw_u64(x, b, ow_u64(sp, 12));
	jw_raw(x, b, ",\"dropped_links_count\":");
	jw_u64(x, b, ow_u64(sp, 14));
	jw_raw(x, b, ",\"events\":[");
	ow_iter_init(&it, sp, 11);
	for (k = 0; (rc = ow_next_msg(&it, &ev, &x->e)) > 0; k++) {
		jw_raw(x, b, k ? ",{\"time_unix_nano\":" : "{\"time_unix_nano\":");
		jw_u64(x, b, ow_u64(&ev, 1));
		jw_raw(x, b, ",\"name\":");
		jw_field_str(x, b, &ev, 2, false);
		jw_raw(x, b, ",\"attributes\":");
		TRY(jw_attrs(x, b, &ev, 3, false));
		jw_raw(x, b, ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&ev, 4));
		jw_raw(x, b, "}");
	}
	if (rc < 0)
		return rc;
	jw_raw(x, b, "],\"links\":[");
	ow_iter_init(&it, sp, 13);
	for (k = 0; (rc = ow_next_msg(&it, &ln, &x->e)) > 0; k++) {
		jw_raw(x, b, k ? ",{\"trace_id\":" : "{\"trace_id\":");
		jw_id(x, b, &ln, 1);
		jw_raw(x, b, ",\"span_id\":");
		jw_id(x, b, &ln, 2);
		jw_raw(x, b, ",\"trace_state\":");
		jw_field_str(x, b, &ln, 3, true);
		jw_raw(x, b, ",\"attributes\":");
		TRY(jw_attrs(x, b, &ln, 4, false));
		jw_raw(x, b, ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&ln, 5));
		jw_raw(x, b, "}");
	}
	if (rc < 0)
		return rc;
	TRY(ow_sub(sp, 15, &st, &x->e));
	jw_raw(x, b, "],\"schema_url\":null,\"status\":{\"code\":");
	jw_i64(x, b, ow_i64(&st, 3));
	jw_raw(x, b, ",\"message\":");
	jw_field_str(x, b, &st, 2, true);
	jw_raw(x, b, "}}");
	return 0;
}

static int do_traces(struct ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	struct buf *b = &x->line;
	struct ow_msg rs, res, ss, scope, sp;
	struct ow_iter i1, i2, i3;
	int r1, r2, r3, k1, k2, k3;

	jw_raw(x, b, "{\"resourceSpans\":[");
	ow_iter_init(&i1, req, 1);
	for (k1 = 0; (r1 = ow_next_msg(&i1, &rs, &x->e)) > 0; k1++) {
		TRY(ow_sub(&rs, F_RESOURCE, &res, &x->e));
		jw_raw(x, b, k1 ? ",{\"resource\":{\"attributes\":" : "{\"resource\":{\"attributes\":");
		TRY(jw_attrs(x, b, &res, 1, false));
		jw_raw(x, b, ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&res, 2));
		jw_raw(x, b, "},\"schema_url\":");
		jw_field_str(x, b, &rs, F_SCHEMA, true);
		jw_raw(x, b, ",\"scope_spans\":[");
		ow_iter_init(&i2, &rs, F_SCOPES);
		for (k2 = 0; (r2 = ow_next_msg(&i2, &ss, &x->e)) > 0; k2++) {
			TRY(ow_sub(&ss, F_SCOPE, &scope, &x->e));
			jw_raw(x, b, k2 ? ",{\"scope\":" : "{\"scope\":");
			if (ow_has(&ss, F_SCOPE)) {
				jw_raw(x, b, "{\"name\":");
				jw_field_str(x, b, &scope, 1, false);
				jw_raw(x, b, ",\"version\":");
				jw_field_str(x, b, &scope, 2, false);
				jw_raw(x, b, ",\"attributes\":");
				TRY(jw_attrs(x, b, &scope, 3, true));
				jw_raw(x, b, ",\"dropped_attributes_count\":");
				jw_u64(x, b, ow_u64(&scope, 4));
				jw_raw(x, b, "}");
			} else {
				jw_raw(x, b, "{\"name\":null,\"version\":null,\"attributes\":null,\"dropped_attributes_count\":0}");
			}
			jw_raw(x, b, ",\"spans\":[");
			ow_iter_init(&i3, &ss, F_ITEMS);
			for (k3 = 0; (r3 = ow_next_msg(&i3, &sp, &x->e)) > 0; k3++) {
				if (k3)
					jw_raw(x, b, ",");
				TRY(trace_span(x, b, &sp));
				x->records++;
			}
			if (r3 < 0)
				return r3;
			jw_raw(x, b, "],\"schema_url\":");
			jw_field_str(x, b, &ss, F_SCHEMA, true);
			jw_raw(x, b, "}");
		}
		if (r2 < 0)
			return r2;
		jw_raw(x, b, "]}");
	}
	if (r1 < 0)
		return r1;
	jw_raw(x, b, "]}");
	if (x->rc)
		return x->rc;
	if (x->records == 0)
		return 0; /* an empty export stores nothing */
	return chunk_add_line(cb, b->data, b->len);
}

/* ---- logs (spec 3.3, 4.3) ---------------------------------------------------------- */

/* {"resource":{...},"scope":{...}} for the v1 "otlp" member. */
static int log_context(struct ctx *x, struct buf *b, const struct ow_msg *rl, const struct ow_msg *sl)
{
	struct ow_msg res, scope;
	size_t n;

	TRY(ow_sub(rl, F_RESOURCE, &res, &x->e));
	TRY(ow_sub(sl, F_SCOPE, &scope, &x->e));
	jw_raw(x, b, "{\"resource\":{\"attributes\":");
	TRY(jw_attrs(x, b, &res, 1, false));
	if (ow_u64(&res, 2)) {
		jw_raw(x, b, ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&res, 2));
	}
	ow_str(rl, F_SCHEMA, &n);
	if (n) {
		jw_raw(x, b, ",\"schema_url\":");
		jw_field_str(x, b, rl, F_SCHEMA, false);
	}
	jw_raw(x, b, "},\"scope\":{");
	{
		bool first = true;

		ow_str(&scope, 1, &n);
		if (n) {
			jw_raw(x, b, "\"name\":");
			jw_field_str(x, b, &scope, 1, false);
			first = false;
		}
		ow_str(&scope, 2, &n);
		if (n) {
			jw_raw(x, b, first ? "\"version\":" : ",\"version\":");
			jw_field_str(x, b, &scope, 2, false);
			first = false;
		}
		if (ow_count(&scope, 3)) {
			jw_raw(x, b, first ? "\"attributes\":" : ",\"attributes\":");
			TRY(jw_attrs(x, b, &scope, 3, false));
			first = false;
		}
		if (ow_u64(&scope, 4)) {
			jw_raw(x, b, first ? "\"dropped_attributes_count\":" : ",\"dropped_attributes_count\":");
			jw_u64(x, b, ow_u64(&scope, 4));
			first = false;
		}
		ow_str(sl, F_SCHEMA, &n);
		if (n) {
			jw_raw(x, b, first ? "\"schema_url\":" : ",\"schema_url\":");
			jw_field_str(x, b, sl, F_SCHEMA, false);
		}
	}
	jw_raw(x, b, "}}");
	return x->rc;
}

static int mp_hexstr(struct buf *b, const struct ow_msg *m, unsigned num)
{
	char hex[33];
	size_t n = ow_hex(m, num, hex);

	return msgpack_pack_str_with_body(MPK(b), hex, n);
}

static int log_record(struct ctx *x, const struct ow_msg *lr, struct chunk_builder *cb)
{
	struct buf *meta = &x->mp, *body = &x->mp2;
	struct ow_msg bv, kl;
	struct mp_cur mc, bc;
	uint32_t keys = 0;
	size_t at, n;
	int64_t ts;
	uint64_t v;
	const char *s;

	/* Metadata: {"otlp":{...present keys only...}}, in Fluent Bit's order. */
	buf_reset(meta);
	TRY(msgpack_pack_map(MPK(meta), 1));
	TRY(mpk_cstr(MPK(meta), "otlp"));
	TRY(mpk_map32(MPK(meta), &at));
	if ((v = ow_u64(lr, 11))) {
		TRY(mpk_cstr(MPK(meta), "observed_timestamp"));
		TRY(msgpack_pack_uint64(MPK(meta), v));
		keys++;
	}
	if (ow_has(lr, 2) && ow_i64(lr, 2)) {
		TRY(mpk_cstr(MPK(meta), "severity_number"));
		TRY(msgpack_pack_int64(MPK(meta), ow_i64(lr, 2)));
		keys++;
	}
	s = ow_str(lr, 3, &n);
	if (n) {
		TRY(mpk_cstr(MPK(meta), "severity_text"));
		TRY(msgpack_pack_str_with_body(MPK(meta), s, n));
		keys++;
	}
	if (ow_count(lr, 6)) {
		TRY(mpk_cstr(MPK(meta), "attributes"));
		TRY(kvs_to_mp(x, lr, 6, meta, 1));
		keys++;
	}
	{
		char hex[33];

		if (ow_hex(lr, 9, hex)) {
			TRY(mpk_cstr(MPK(meta), "trace_id"));
			TRY(mp_hexstr(meta, lr, 9));
			keys++;
		}
		if (ow_hex(lr, 10, hex)) {
			TRY(mpk_cstr(MPK(meta), "span_id"));
			TRY(mp_hexstr(meta, lr, 10));
			keys++;
		}
	}
	if ((v = ow_u64(lr, 8) & 0xff)) {
		TRY(mpk_cstr(MPK(meta), "trace_flags"));
		TRY(msgpack_pack_uint64(MPK(meta), v));
		keys++;
	}
	mpk_patch32(MPK(meta), at, keys);

	/* Body: a kvlist stays a map, anything else goes under "log". */
	buf_reset(body);
	TRY(ow_sub(lr, 5, &bv, &x->e));
	if (!ow_has(lr, 5)) {
		TRY(msgpack_pack_map(MPK(body), 0));
	} else if (ow_oneof(&bv, (const unsigned[]){ 1, 2, 3, 4, 5, 6, 7 }, 7) == 6) {
		TRY(ow_sub(&bv, 6, &kl, &x->e));
		TRY(kvs_to_mp(x, &kl, 1, body, 1));
	} else {
		TRY(msgpack_pack_map(MPK(body), 1));
		TRY(mpk_cstr(MPK(body), "log"));
		TRY(any_to_mp(x, &bv, body, 1));
	}

	ts = (int64_t)ow_u64(lr, 1);
	if (ts <= 0)
		ts = (int64_t)ow_u64(lr, 11);
	if (ts <= 0)
		ts = x->now_ns;
	mp_cur_init(&mc, meta->data, meta->len);
	mp_cur_init(&bc, body->data, body->len);
	TRY(chunk_add_log(cb, ts, &mc, &bc));
	x->records++;
	return 0;
}

static int do_logs(struct ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	struct ow_msg rl, sl, lr;
	struct ow_iter i1, i2, i3;
	bool mixed = false, any = false;
	int r1, r2, r3;

	ow_iter_init(&i1, req, 1);
	while ((r1 = ow_next_msg(&i1, &rl, &x->e)) > 0) {
		ow_iter_init(&i2, &rl, F_SCOPES);
		while ((r2 = ow_next_msg(&i2, &sl, &x->e)) > 0) {
			uint32_t before = cb->records;

			ow_iter_init(&i3, &sl, F_ITEMS);
			while ((r3 = ow_next_msg(&i3, &lr, &x->e)) > 0)
				TRY(log_record(x, &lr, cb));
			if (r3 < 0)
				return r3;
			if (cb->records == before || mixed)
				continue;
			/* Does this scope share the resource and scope of the ones before? */
			buf_reset(&x->line);
			TRY(log_context(x, &x->line, &rl, &sl));
			if (!any) {
				TRY(buf_append(&x->shared, "\"otlp\":", 7));
				TRY(buf_append(&x->shared, x->line.data, x->line.len));
				any = true;
			} else if (x->shared.len != x->line.len + 7 ||
				   memcmp(x->shared.data + 7, x->line.data, x->line.len) != 0) {
				mixed = true;
			}
		}
		if (r2 < 0)
			return r2;
	}
	if (r1 < 0)
		return r1;
	if (any && !mixed)
		TRY(chunk_builder_set_v1_extra(cb, x->shared.data, x->shared.len));
	return 0;
}

/* ---- metrics (spec 3.4: the cmetrics shape, resource and scope in meta.external) ---- */

/* FNV-1a 64 over the label values, each followed by a 0 byte; 0 without labels
 * (documented in docs/otlp.md). */
static uint64_t labels_hash(const struct ctx *x)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i, j;

	for (i = 0; i < x->nkeys; i++) {
		const unsigned char *p = (const unsigned char *)(x->tmp.data ? x->tmp.data + x->voff[i] : "");

		for (j = 0; j < x->vlen[i]; j++)
			h = (h ^ p[j]) * 1099511628211ULL;
		h = (h ^ 0) * 1099511628211ULL;
	}
	return h;
}

/* A double as short text: the shortest form that reads back the same. */
static int put_short_double(struct buf *b, double v)
{
	char t[40];
	int prec, n = 0;

	if (isnan(v))
		return buf_puts(b, "NaN");
	if (isinf(v))
		return buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	for (prec = 1; prec <= 17; prec++) {
		n = snprintf(t, sizeof(t), "%.*g", prec, v);
		if (strtod(t, NULL) == v)
			break;
	}
	return buf_append(b, t, (size_t)n);
}

/* An attribute value as label text: strings as they are, numbers and booleans in
 * decimal / true / false, arrays and maps as JSON. */
static int label_text(struct ctx *x, const struct ow_msg *av, struct buf *out)
{
	static const unsigned cases[] = { 1, 2, 3, 4, 5, 6, 7 };
	const char *s;
	size_t n;

	switch (ow_oneof(av, cases, COUNT(cases))) {
	case 0:
		return 0;
	case 1:
		s = ow_str(av, 1, &n);
		return buf_append(out, s, n);
	case 2:
		return buf_puts(out, ow_bool(av, 2) ? "true" : "false");
	case 3:
		return buf_put_i64(out, (long long)ow_i64(av, 3));
	case 4:
		return put_short_double(out, ow_f64(av, 4));
	case 7:
		return ow_bytes(av, 7, out);
	default: {
		struct mp_cur c;

		buf_reset(&x->mp);
		TRY(any_to_mp(x, av, &x->mp, 1));
		mp_cur_init(&c, x->mp.data, x->mp.len);
		return mpjson_write(out, &c);
	}
	}
}

/* Collect the label keys of every data point of a metric (first-seen order). */
static int collect_keys(struct ctx *x, const struct ow_msg *data, unsigned attr_field)
{
	struct ow_msg dp, kv;
	struct ow_iter it, ia;
	int rc, ra;

	x->nkeys = 0;
	ow_iter_init(&it, data, 1);
	while ((rc = ow_next_msg(&it, &dp, &x->e)) > 0) {
		ow_iter_init(&ia, &dp, attr_field);
		while ((ra = ow_next_msg(&ia, &kv, &x->e)) > 0) {
			size_t n, i;
			const char *k = ow_str(&kv, 1, &n);

			for (i = 0; i < x->nkeys; i++)
				if (x->klen[i] == n && memcmp(x->key[i], k, n) == 0)
					break;
			if (i < x->nkeys)
				continue;
			if (x->nkeys == MAX_LABELS)
				return fail(x, "more than %d attribute keys in one metric", MAX_LABELS);
			x->key[x->nkeys] = k;
			x->klen[x->nkeys++] = n;
		}
		if (ra < 0)
			return ra;
	}
	return rc;
}

/* Fill the label values of one data point (x->tmp); returns whether it has any. */
static int point_labels(struct ctx *x, const struct ow_msg *dp, unsigned attr_field, bool *has)
{
	struct ow_msg kv, v;
	struct ow_iter ia;
	size_t i;
	int ra;

	buf_reset(&x->tmp);
	*has = false;
	for (i = 0; i < x->nkeys; i++)
		x->voff[i] = x->vlen[i] = 0;
	ow_iter_init(&ia, dp, attr_field);
	while ((ra = ow_next_msg(&ia, &kv, &x->e)) > 0) {
		size_t n, off = x->tmp.len;
		const char *k = ow_str(&kv, 1, &n);

		for (i = 0; i < x->nkeys; i++)
			if (x->klen[i] == n && memcmp(x->key[i], k, n) == 0)
				break;
		if (i == x->nkeys)
			continue;
		TRY(ow_sub(&kv, 2, &v, &x->e));
		TRY(label_text(x, &v, &x->tmp));
		x->voff[i] = off;
		x->vlen[i] = x->tmp.len - off;
		*has = true;
	}
	return ra;
}

static void jw_labels_hash(struct ctx *x, struct buf *b, bool has, uint64_t *hash)
{
	size_t i;

	*hash = has ? labels_hash(x) : 0;
	if (has) {
		jw_raw(x, b, ",\"labels\":[");
		for (i = 0; i < x->nkeys; i++) {
			if (i)
				jw_raw(x, b, ",");
			jw_str(x, b, x->tmp.data ? x->tmp.data + x->voff[i] : "", x->vlen[i]);
		}
		jw_raw(x, b, "]");
	}
	jw_raw(x, b, ",\"hash\":");
	jw_u64(x, b, *hash);
	jw_raw(x, b, "}");
}

/* external.otlp.metrics.<type>.<name>.datapoints."<hash>:<ts>": open one point's map. */
static int ot_point(struct ctx *x, struct buf *ot, uint64_t hash, uint64_t ts, uint64_t start, uint32_t keys)
{
	char key[48];
	int n = snprintf(key, sizeof(key), "%llx:%llu", (unsigned long long)hash, (unsigned long long)ts);

	TRY(msgpack_pack_str_with_body(MPK(ot), key, (size_t)n));
	TRY(msgpack_pack_map(MPK(ot), keys + (start ? 1 : 0)));
	if (start) {
		TRY(mpk_cstr(MPK(ot), "start_time_unix_nano"));
		TRY(msgpack_pack_uint64(MPK(ot), start));
	}
	return 0;
}

static int render_metric(struct ctx *x, const struct ow_msg *met)
{
	static const unsigned kinds[] = { M_GAUGE, M_SUM, M_HISTOGRAM, M_EHISTOGRAM, M_SUMMARY };
	struct buf *b = &x->metrics, *ot;
	struct ow_msg data, dp, first;
	struct ow_iter it, iv;
	unsigned kind = ow_oneof(met, kinds, COUNT(kinds)), attr_field;
	const struct ow_desc *dd;
	int type, rc, k, i;
	size_t dps_at, n;
	uint32_t dps = 0;
	const char *name;
	bool has;
	uint64_t hash;
	double f;

	if (!kind)
		return 0; /* a metric without data: nothing to show */
	TRY(ow_sub(met, kind, &data, &x->e));
	switch (kind) {
	case M_GAUGE: type = T_GAUGE; attr_field = 7; dd = &d_ndp; break;
	case M_SUM: type = T_COUNTER; attr_field = 7; dd = &d_ndp; break;
	case M_HISTOGRAM: type = T_HISTOGRAM; attr_field = 9; dd = &d_hdp; break;
	case M_EHISTOGRAM: type = T_EXP_HISTOGRAM; attr_field = 1; dd = &d_ehdp; break;
	default: type = T_SUMMARY; attr_field = 7; dd = &d_sdp; break;
	}
	TRY(collect_keys(x, &data, attr_field));

	if (x->metrics.len > 1)
		jw_raw(x, b, ",");
	jw_raw(x, b, "{\"meta\":{\"ver\":2,\"type\":");
	jw_i64(x, b, type == T_EXP_HISTOGRAM ? 5 : type);
	jw_raw(x, b, ",\"opts\":{\"ns\":\"\",\"ss\":\"\",\"name\":");
	jw_field_str(x, b, met, 1, false);
	jw_raw(x, b, ",\"desc\":");
	jw_field_str(x, b, met, 2, false);
	ow_str(met, 3, &n);
	if (n) {
		jw_raw(x, b, ",\"unit\":");
		jw_field_str(x, b, met, 3, false);
	}
	jw_raw(x, b, "},\"labels\":[");
	for (i = 0; i < (int)x->nkeys; i++) {
		if (i)
			jw_raw(x, b, ",");
		jw_str(x, b, x->key[i], x->klen[i]);
	}
	jw_raw(x, b, "]");
	/* The first data point gives the histogram bounds and summary quantiles. */
	ow_iter_init(&it, &data, 1);
	if ((rc = ow_next_msg(&it, &first, &x->e)) < 0)
		return rc;
	if (rc == 0) { /* no data points: an empty message */
		memset(&first, 0, sizeof(first));
		first.d = dd;
		first.json = x->json;
		first.end = "";
	}
	if (type == T_HISTOGRAM) {
		jw_raw(x, b, ",\"buckets\":[");
		ow_iter_init(&iv, &first, 7);
		for (k = 0; ow_next_f64(&iv, &f); k++) {
			if (k)
				jw_raw(x, b, ",");
			jw_f64(x, b, f);
		}
		jw_raw(x, b, "]");
	} else if (type == T_SUMMARY) {
		struct ow_msg q;

		jw_raw(x, b, ",\"quantiles\":[");
		ow_iter_init(&iv, &first, 6);
		for (k = 0; (rc = ow_next_msg(&iv, &q, &x->e)) > 0; k++) {
			if (k)
				jw_raw(x, b, ",");
			jw_f64(x, b, ow_f64(&q, 1));
		}
		if (rc < 0)
			return rc;
		jw_raw(x, b, "]");
	}
	if (type == T_COUNTER || type == T_HISTOGRAM || type == T_EXP_HISTOGRAM) {
		jw_raw(x, b, ",\"aggregation_type\":");
		jw_i64(x, b, ow_i64(&data, 2));
	}
	jw_raw(x, b, "},\"values\":[");

	/* external.otlp.metrics.<type>.<name>: {"datapoints":{...}} */
	ot = &x->ot[type];
	if (x->ot_count[type]++ == 0)
		x->ot_order[x->ot_n++] = type;
	name = ow_str(met, 1, &n);
	TRY(msgpack_pack_str_with_body(MPK(ot), name, n));
	TRY(msgpack_pack_map(MPK(ot), 1));
	TRY(mpk_cstr(MPK(ot), "datapoints"));
	TRY(mpk_map32(MPK(ot), &dps_at));

	ow_iter_init(&it, &data, 1);
	for (k = 0; (rc = ow_next_msg(&it, &dp, &x->e)) > 0; k++) {
		uint64_t ts = ow_u64(&dp, DP_TIME), start = ow_u64(&dp, DP_START);

		TRY(point_labels(x, &dp, attr_field, &has));
		if (k)
			jw_raw(x, b, ",");
		jw_raw(x, b, "{\"ts\":");
		jw_u64(x, b, ts);
		if (type == T_GAUGE || type == T_COUNTER) {
			bool is_int = ow_oneof(&dp, (const unsigned[]){ 4, 6 }, 2) == 6;

			jw_raw(x, b, ",\"value\":");
			if (is_int) {
				jw_f64(x, b, (double)ow_i64(&dp, 6));
				jw_raw(x, b, ",\"value_type\":1,\"value_int64\":");
				jw_i64(x, b, ow_i64(&dp, 6));
			} else {
				jw_f64(x, b, ow_f64(&dp, 4));
			}
			jw_labels_hash(x, b, has, &hash);
			TRY(ot_point(x, ot, hash, ts, start, 1));
			TRY(mpk_cstr(MPK(ot), "number_value_case"));
			TRY(mpk_cstr(MPK(ot), is_int ? "int" : "double"));
		} else if (type == T_HISTOGRAM) {
			struct ow_iter ib;
			uint64_t c;
			size_t nb = ow_count(&first, 7) + 1, j = 0;

			jw_raw(x, b, ",\"histogram\":{\"buckets\":[");
			/* As many counts as the metric has buckets (bounds + 1); missing ones are 0. */
			ow_iter_init(&ib, &dp, 6);
			for (j = 0; j < nb; j++) {
				if (!ow_next_u64(&ib, &c))
					c = 0;
				if (j)
					jw_raw(x, b, ",");
				jw_u64(x, b, c);
			}
			jw_raw(x, b, "],\"sum\":");
			jw_f64(x, b, ow_f64(&dp, 5));
			jw_raw(x, b, ",\"count\":");
			jw_u64(x, b, ow_u64(&dp, 4));
			jw_raw(x, b, "}");
			jw_labels_hash(x, b, has, &hash);
			TRY(ot_point(x, ot, hash, ts, start, 1 + 2 * ow_has(&dp, 11) + 2 * ow_has(&dp, 12)));
			TRY(mpk_cstr(MPK(ot), "has_sum"));
			TRY(mpk_bool(MPK(ot), ow_has(&dp, 5)));
			if (ow_has(&dp, 11)) {
				TRY(mpk_cstr(MPK(ot), "has_min"));
				TRY(msgpack_pack_true(MPK(ot)));
				TRY(mpk_cstr(MPK(ot), "min"));
				TRY(msgpack_pack_double(MPK(ot), ow_f64(&dp, 11)));
			}
			if (ow_has(&dp, 12)) {
				TRY(mpk_cstr(MPK(ot), "has_max"));
				TRY(msgpack_pack_true(MPK(ot)));
				TRY(mpk_cstr(MPK(ot), "max"));
				TRY(msgpack_pack_double(MPK(ot), ow_f64(&dp, 12)));
			}
		} else if (type == T_EXP_HISTOGRAM) {
			struct ow_msg side;
			struct ow_iter ib;
			uint64_t c;
			int s, j;

			jw_raw(x, b, ",\"exp_histogram\":{\"scale\":");
			jw_i64(x, b, ow_i64(&dp, 6));
			jw_raw(x, b, ",\"zero_count\":");
			jw_u64(x, b, ow_u64(&dp, 7));
			jw_raw(x, b, ",\"zero_threshold\":");
			jw_f64(x, b, ow_f64(&dp, 14));
			for (s = 0; s < 2; s++) {
				TRY(ow_sub(&dp, s ? 9 : 8, &side, &x->e));
				jw_raw(x, b, s ? ",\"negative_offset\":" : ",\"positive_offset\":");
				jw_i64(x, b, ow_i64(&side, 1));
				jw_raw(x, b, s ? ",\"negative_buckets\":[" : ",\"positive_buckets\":[");
				ow_iter_init(&ib, &side, 2);
				for (j = 0; ow_next_u64(&ib, &c); j++) {
					if (j)
						jw_raw(x, b, ",");
					jw_u64(x, b, c);
				}
				jw_raw(x, b, "]");
			}
			jw_raw(x, b, ",\"count\":");
			jw_u64(x, b, ow_u64(&dp, 4));
			jw_raw(x, b, ow_has(&dp, 5) ? ",\"sum_set\":1,\"sum\":" : ",\"sum_set\":0,\"sum\":");
			jw_f64(x, b, ow_f64(&dp, 5));
			jw_raw(x, b, "}");
			jw_labels_hash(x, b, has, &hash);
			TRY(ot_point(x, ot, hash, ts, start, 1 + 2 * ow_has(&dp, 12) + 2 * ow_has(&dp, 13)));
			TRY(mpk_cstr(MPK(ot), "has_sum"));
			TRY(mpk_bool(MPK(ot), ow_has(&dp, 5)));
			if (ow_has(&dp, 12)) {
				TRY(mpk_cstr(MPK(ot), "has_min"));
				TRY(msgpack_pack_true(MPK(ot)));
				TRY(mpk_cstr(MPK(ot), "min"));
				TRY(msgpack_pack_double(MPK(ot), ow_f64(&dp, 12)));
			}
			if (ow_has(&dp, 13)) {
				TRY(mpk_cstr(MPK(ot), "has_max"));
				TRY(msgpack_pack_true(MPK(ot)));
				TRY(mpk_cstr(MPK(ot), "max"));
				TRY(msgpack_pack_double(MPK(ot), ow_f64(&dp, 13)));
			}
		} else {
			struct ow_msg q;
			struct ow_iter iq;
			int j, rq;

			jw_raw(x, b, ",\"summary\":{\"quantiles_set\":");
			jw_raw(x, b, ow_count(&dp, 6) ? "1" : "0");
			jw_raw(x, b, ",\"quantiles\":[");
			ow_iter_init(&iq, &dp, 6);
			for (j = 0; (rq = ow_next_msg(&iq, &q, &x->e)) > 0; j++) {
				if (j)
					jw_raw(x, b, ",");
				jw_f64(x, b, ow_f64(&q, 2));
			}
			if (rq < 0)
				return rq;
			jw_raw(x, b, "],\"count\":");
			jw_u64(x, b, ow_u64(&dp, 4));
			jw_raw(x, b, ",\"sum\":");
			jw_f64(x, b, ow_f64(&dp, 5));
			jw_raw(x, b, "}");
			jw_labels_hash(x, b, has, &hash);
			TRY(ot_point(x, ot, hash, ts, start, 0));
		}
		dps++;
		x->records++;
	}
	if (rc < 0)
		return rc;
	mpk_patch32(MPK(ot), dps_at, dps);
	jw_raw(x, b, "]}");
	return x->rc;
}

/* "resource":{...},"scope":{...} of meta.external. */
static int metrics_external(struct ctx *x, struct buf *b, const struct ow_msg *rm, const struct ow_msg *sm)
{
	struct ow_msg res, scope;
	size_t n;
	bool first;

	TRY(ow_sub(rm, F_RESOURCE, &res, &x->e));
	TRY(ow_sub(sm, F_SCOPE, &scope, &x->e));
	jw_raw(x, b, "\"resource\":{\"metadata\":{");
	first = true;
	ow_str(rm, F_SCHEMA, &n);
	if (n) {
		jw_raw(x, b, "\"schema_url\":");
		jw_field_str(x, b, rm, F_SCHEMA, false);
		first = false;
	}
	if (ow_u64(&res, 2)) {
		jw_raw(x, b, first ? "\"dropped_attributes_count\":" : ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&res, 2));
	}
	jw_raw(x, b, "},\"attributes\":");
	TRY(jw_attrs(x, b, &res, 1, false));
	jw_raw(x, b, "},\"scope\":{\"metadata\":{");
	first = true;
	ow_str(&scope, 1, &n);
	if (n) {
		jw_raw(x, b, "\"name\":");
		jw_field_str(x, b, &scope, 1, false);
		first = false;
	}
	ow_str(&scope, 2, &n);
	if (n) {
		jw_raw(x, b, first ? "\"version\":" : ",\"version\":");
		jw_field_str(x, b, &scope, 2, false);
		first = false;
	}
	if (ow_u64(&scope, 4)) {
		jw_raw(x, b, first ? "\"dropped_attributes_count\":" : ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&scope, 4));
		first = false;
	}
	ow_str(sm, F_SCHEMA, &n);
	if (n) {
		jw_raw(x, b, first ? "\"schema_url\":" : ",\"schema_url\":");
		jw_field_str(x, b, sm, F_SCHEMA, false);
	}
	jw_raw(x, b, "},\"attributes\":");
	TRY(jw_attrs(x, b, &scope, 3, false));
	jw_raw(x, b, "}");
	return x->rc;
}

static int metrics_scope(struct ctx *x, const struct ow_msg *rm, const struct ow_msg *sm, struct chunk_builder *cb)
{
	struct buf *b = &x->line;
	struct ow_msg met;
	struct ow_iter it;
	int rc, t;

	buf_reset(b);
	buf_reset(&x->metrics);
	for (t = 0; t < T_NTYPES; t++) {
		buf_reset(&x->ot[t]);
		x->ot_count[t] = 0;
	}
	x->ot_n = 0;
	jw_raw(x, &x->metrics, "[");
	ow_iter_init(&it, sm, F_ITEMS);
	while ((rc = ow_next_msg(&it, &met, &x->e)) > 0)
		TRY(render_metric(x, &met));
	if (rc < 0)
		return rc;
	if (x->metrics.len <= 1)
		return x->rc; /* no metric with data in this scope */
	jw_raw(x, &x->metrics, "]");
	jw_raw(x, b, "{\"meta\":{\"cmetrics\":{\"producer\":\"opentelemetry\"},\"external\":{");
	TRY(metrics_external(x, b, rm, sm));
	jw_raw(x, b, ",\"otlp\":{\"metrics\":{");
	for (t = 0; t < x->ot_n && !x->rc; t++) {
		int ty = x->ot_order[t];
		struct buf m;
		size_t at;
		struct mp_cur c;

		if (t)
			jw_raw(x, b, ",");
		jw_str(x, b, type_keys[ty], strlen(type_keys[ty]));
		jw_raw(x, b, ":");
		/* The pairs become one map; the renderer resolves duplicate names. */
		buf_init(&m, SIZE_MAX);
		if ((rc = mpk_map32(MPK(&m), &at)) == 0 && (rc = buf_append(&m, x->ot[ty].data, x->ot[ty].len)) == 0) {
			mpk_patch32(MPK(&m), at, x->ot_count[ty]);
			mp_cur_init(&c, m.data, m.len);
			rc = mpjson_write(b, &c);
		}
		buf_free(&m);
		if (rc < 0)
			x->rc = rc;
	}
	jw_raw(x, b, "}}},\"processing\":{\"static_labels\":[]}},\"metrics\":");
	jw_mem(x, b, x->metrics.data, x->metrics.len);
	jw_raw(x, b, "}");
	if (x->rc)
		return x->rc;
	return chunk_add_line(cb, b->data, b->len);
}

static int do_metrics(struct ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	struct ow_msg rm, sm;
	struct ow_iter i1, i2;
	int r1, r2;

	ow_iter_init(&i1, req, 1);
	while ((r1 = ow_next_msg(&i1, &rm, &x->e)) > 0) {
		ow_iter_init(&i2, &rm, F_SCOPES);
		while ((r2 = ow_next_msg(&i2, &sm, &x->e)) > 0)
			TRY(metrics_scope(x, &rm, &sm, cb));
		if (r2 < 0)
			return r2;
	}
	return r1;
}

/* ---- entry ----------------------------------------------------------------------------- */

enum stream_kind otlp_stream(enum otlp_signal sig)
{
	return sig == OTLP_LOGS ? STREAM_LOGS : sig == OTLP_METRICS ? STREAM_METRICS : STREAM_TRACES;
}

/* Each thread keeps its context and scratch buffers between requests: no allocation and no
 * page faults for the steady state. Buffers that grew past this are given back. */
#define KEEP_BYTES (1u << 20)

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_each_buf(struct ctx *x, void (*fn)(struct buf *b, size_t max), size_t max)
{
	struct buf *const all[] = { &x->doc, &x->line, &x->shared, &x->mp, &x->mp2, &x->tmp, &x->metrics,
				    &x->ot[0], &x->ot[1], &x->ot[2], &x->ot[3], &x->ot[4], &x->ot[5] };
	size_t i;

	for (i = 0; i < COUNT(all); i++)
		fn(all[i], max);
}

static void buf_release(struct buf *b, size_t max)
{
	(void)max;
	if (b->cap > KEEP_BYTES)
		buf_free(b);
	buf_reset(b);
}

static void buf_drop(struct buf *b, size_t max)
{
	(void)max;
	buf_free(b);
}

static void buf_limit(struct buf *b, size_t max)
{
	b->max = max;
}

static void ctx_free(void *p)
{
	struct ctx *x = p;

	if (!x)
		return;
	ctx_each_buf(x, buf_drop, 0);
	free(x);
}

static void ctx_key_init(void)
{
	pthread_key_create(&ctx_key, ctx_free);
}

/* This thread's context, reset; *owned says the caller must free it (no TSD slot). */
static struct ctx *ctx_get(bool *owned)
{
	struct ctx *x;

	pthread_once(&ctx_once, ctx_key_init);
	*owned = false;
	if ((x = pthread_getspecific(ctx_key)))
		return x;
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	if (pthread_setspecific(ctx_key, x) != 0)
		*owned = true;
	return x;
}

int otlp_decode(enum otlp_signal sig, enum otlp_format fmt, const char *body, size_t n, int64_t now_ns,
		struct chunk_builder *cb, uint64_t *records, char *err, size_t errlen)
{
	static const struct ow_desc *const reqs[] = { &d_logs_req, &d_metrics_req, &d_traces_req };
	size_t limit = cb->text.max, off = 0;
	struct ow_msg req;
	struct ctx *x;
	bool owned;
	int rc;

	*records = 0;
	if (!(x = ctx_get(&owned)))
		return -ENOMEM;
	x->json = fmt == OTLP_JSON;
	x->now_ns = now_ns;
	x->rc = 0;
	x->records = 0;
	x->e.msg[0] = '\0';
	/* Scratch buffers never need more than the chunk itself may hold. */
	ctx_each_buf(x, buf_limit, limit);
	x->doc.max = 3 * n + 1024;
	if (x->json) {
		char jerr[160];

		rc = jsonmp_next(body, n, &off, &x->doc, jerr, sizeof(jerr));
		if (rc == 1) {
			rc = fail(x, "empty JSON body");
		} else if (rc == -EINVAL) {
			rc = fail(x, "invalid JSON: %s", jerr);
		} else if (rc == 0 && jsonmp_next(body, n, &off, &x->doc, jerr, sizeof(jerr)) != 1) {
			rc = fail(x, "invalid JSON: more than one value in the body");
		}
		if (rc == 0)
			rc = ow_open(&req, reqs[sig], true, x->doc.data, x->doc.len, 0, &x->e);
	} else {
		rc = ow_open(&req, reqs[sig], false, body ? body : "", n, 0, &x->e);
	}
	if (rc == 0) {
		switch (sig) {
		case OTLP_LOGS: rc = do_logs(x, &req, cb); break;
		case OTLP_METRICS: rc = do_metrics(x, &req, cb); break;
		case OTLP_TRACES: rc = do_traces(x, &req, cb); break;
		}
	}
	if (rc == 0 && x->rc)
		rc = x->rc;
	if (rc == MP_EBAD || rc == MP_ETRUNC)
		rc = fail(x, "cannot render the records");
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s", x->e.msg);
	*records = x->records;
	if (owned)
		ctx_free(x);
	else
		ctx_each_buf(x, buf_release, 0);
	return rc;
}
