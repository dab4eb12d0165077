/* in_otlp/metrics.c: OTLP metrics to the cmetrics shape Fluent Bit serves for OTLP input (spec
 * agent.md 3.4): one line per (resource, scope), resource, scope and data point details in
 * meta.external. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mp.h"
#include "mpjson.h"
#include "mpk.h"

/* ---- opentelemetry-proto v1 metrics.proto ----------------------------------------- */

static const struct ow_enum e_temporality[] = {
	{ "AGGREGATION_TEMPORALITY_UNSPECIFIED", 0 }, { "AGGREGATION_TEMPORALITY_DELTA", 1 },
	{ "AGGREGATION_TEMPORALITY_CUMULATIVE", 2 }, { "UNSPECIFIED", 0 }, { "DELTA", 1 },
	{ "CUMULATIVE", 2 }, { NULL, 0 },
};
/* Fields every data point has at the same numbers. */
enum { DP_START = 2, DP_TIME = 3, DP_COUNT = 4, DP_SUM = 5 };
#define DP_TIMES \
	{ DP_START, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL }, \
	{ DP_TIME, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL }
#define DP_COUNT_SUM \
	{ DP_COUNT, OW_FIXED64, false, "count", NULL, NULL, NULL }, { DP_SUM, OW_DOUBLE, false, "sum", NULL, NULL, NULL }
#define DP_FIELD(num, type, json, proto) { num, type, false, json, proto, NULL, NULL }
#define DP_ATTRS(num) { num, OW_MSG, true, "attributes", NULL, &oc_kv, NULL }
#define DP_EXEMPLARS(num) { num, OW_MSG, true, "exemplars", NULL, &d_exemplar, NULL }
/* Exemplar: its value oneof is as_double (3) or as_int (6), as in NumberDataPoint. */
enum { EX_TIME = 2, EX_DOUBLE = 3, EX_SPAN = 4, EX_TRACE = 5, EX_INT = 6, EX_ATTRS = 7 };
static const struct ow_field f_exemplar[] = {
	DP_FIELD(EX_TIME, OW_FIXED64, "timeUnixNano", "time_unix_nano"),
	DP_FIELD(EX_DOUBLE, OW_DOUBLE, "asDouble", "as_double"), DP_FIELD(EX_SPAN, OW_ID8, "spanId", "span_id"),
	DP_FIELD(EX_TRACE, OW_ID16, "traceId", "trace_id"), DP_FIELD(EX_INT, OW_SFIXED64, "asInt", "as_int"),
	{ EX_ATTRS, OW_MSG, true, "filteredAttributes", "filtered_attributes", &oc_kv, NULL },
};
DESC(d_exemplar, "Exemplar", f_exemplar);
static const struct ow_field f_ndp[] = {
	DP_TIMES, DP_FIELD(4, OW_DOUBLE, "asDouble", "as_double"), DP_EXEMPLARS(5),
	DP_FIELD(6, OW_SFIXED64, "asInt", "as_int"), DP_ATTRS(7), DP_FIELD(8, OW_UINT, "flags", NULL),
};
DESC(d_ndp, "NumberDataPoint", f_ndp);
static const struct ow_field f_hdp[] = {
	DP_TIMES, DP_COUNT_SUM,
	{ 6, OW_FIXED64, true, "bucketCounts", "bucket_counts", NULL, NULL },
	{ 7, OW_DOUBLE, true, "explicitBounds", "explicit_bounds", NULL, NULL }, DP_EXEMPLARS(8),
	DP_ATTRS(9), DP_FIELD(10, OW_UINT, "flags", NULL), DP_FIELD(11, OW_DOUBLE, "min", NULL),
	DP_FIELD(12, OW_DOUBLE, "max", NULL),
};
DESC(d_hdp, "HistogramDataPoint", f_hdp);
static const struct ow_field f_buckets[] = {
	{ 1, OW_SINT32, false, "offset", NULL, NULL, NULL },
	{ 2, OW_UINT, true, "bucketCounts", "bucket_counts", NULL, NULL },
};
DESC(d_buckets, "ExponentialHistogramDataPoint.Buckets", f_buckets);
static const struct ow_field f_ehdp[] = {
	DP_ATTRS(1), DP_TIMES, DP_COUNT_SUM, DP_FIELD(6, OW_SINT32, "scale", NULL),
	DP_FIELD(7, OW_FIXED64, "zeroCount", "zero_count"),
	{ 8, OW_MSG, false, "positive", NULL, &d_buckets, NULL },
	{ 9, OW_MSG, false, "negative", NULL, &d_buckets, NULL },
	DP_FIELD(10, OW_UINT, "flags", NULL), DP_EXEMPLARS(11), DP_FIELD(12, OW_DOUBLE, "min", NULL),
	DP_FIELD(13, OW_DOUBLE, "max", NULL),
	DP_FIELD(14, OW_DOUBLE, "zeroThreshold", "zero_threshold"),
};
DESC(d_ehdp, "ExponentialHistogramDataPoint", f_ehdp);
static const struct ow_field f_vaq[] = {
	{ 1, OW_DOUBLE, false, "quantile", NULL, NULL, NULL },
	{ 2, OW_DOUBLE, false, "value", NULL, NULL, NULL },
};
DESC(d_vaq, "SummaryDataPoint.ValueAtQuantile", f_vaq);
static const struct ow_field f_sdp[] = {
	DP_TIMES, DP_COUNT_SUM, { 6, OW_MSG, true, "quantileValues", "quantile_values", &d_vaq, NULL },
	DP_ATTRS(7), DP_FIELD(8, OW_UINT, "flags", NULL),
};
DESC(d_sdp, "SummaryDataPoint", f_sdp);
#define DATA_POINTS(desc) { 1, OW_MSG, true, "dataPoints", "data_points", &desc, NULL }
#define TEMPORALITY { 2, OW_ENUM, false, "aggregationTemporality", "aggregation_temporality", NULL, e_temporality }
static const struct ow_field f_gauge[] = { DATA_POINTS(d_ndp) };
DESC(d_gauge, "Gauge", f_gauge);
static const struct ow_field f_sum[] = {
	DATA_POINTS(d_ndp), TEMPORALITY, { 3, OW_BOOL, false, "isMonotonic", "is_monotonic", NULL, NULL },
};
DESC(d_sum, "Sum", f_sum);
static const struct ow_field f_histogram[] = { DATA_POINTS(d_hdp), TEMPORALITY };
DESC(d_histogram, "Histogram", f_histogram);
static const struct ow_field f_ehistogram[] = { DATA_POINTS(d_ehdp), TEMPORALITY };
DESC(d_ehistogram, "ExponentialHistogram", f_ehistogram);
static const struct ow_field f_summary[] = { DATA_POINTS(d_sdp) };
DESC(d_summary, "Summary", f_summary);
enum { M_GAUGE = 5, M_SUM = 7, M_HISTOGRAM = 9, M_EHISTOGRAM = 10, M_SUMMARY = 11, M_METADATA = 12 };
static const struct ow_field f_metric[] = {
	{ 1, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 2, OW_STRING, false, "description", NULL, NULL, NULL },
	{ 3, OW_STRING, false, "unit", NULL, NULL, NULL },
	{ 5, OW_MSG, false, "gauge", NULL, &d_gauge, NULL },
	{ 7, OW_MSG, false, "sum", NULL, &d_sum, NULL },
	{ 9, OW_MSG, false, "histogram", NULL, &d_histogram, NULL },
	{ 10, OW_MSG, false, "exponentialHistogram", "exponential_histogram", &d_ehistogram, NULL },
	{ 11, OW_MSG, false, "summary", NULL, &d_summary, NULL },
	{ M_METADATA, OW_MSG, true, "metadata", NULL, &oc_kv, NULL },
};
DESC(d_metric, "Metric", f_metric);
OC_WRAPPERS(metrics, d_metric, "metrics", NULL, "scopeMetrics", "scope_metrics", "resourceMetrics",
	    "resource_metrics", "ScopeMetrics", "ResourceMetrics", "ExportMetricsServiceRequest");

static const char *const type_keys[T_NTYPES] = { "counter", "gauge", "histogram", "summary", "untyped", "exp_histogram" };

/* ---- labels ------------------------------------------------------------------------ */

/* FNV-1a 64 over the label values, each followed by a 0 byte; 0 without labels
 * (documented in docs/otlp.md). */
static uint64_t labels_hash(const struct oc_ctx *x)
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
static int label_text(struct oc_ctx *x, const struct ow_msg *av, struct buf *out)
{
	const char *s;
	size_t n;

	switch (oc_any_case(av)) {
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
		TRY(oc_any_mp(x, av, &x->mp, 0));
		mp_cur_init(&c, x->mp.data, x->mp.len);
		return mpjson_write(out, &c);
	}
	}
}

/* Collect the label keys of every data point of a metric (first-seen order). */
static int collect_keys(struct oc_ctx *x, const struct ow_msg *data, unsigned attr_field)
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
				return oc_fail(x, "more than %d attribute keys in one metric", MAX_LABELS);
			x->key[x->nkeys] = k;
			x->klen[x->nkeys++] = n;
		}
		if (ra < 0)
			return ra;
	}
	return rc;
}

/* Fill the label values of one data point (x->tmp); returns whether it has any. */
static int point_labels(struct oc_ctx *x, const struct ow_msg *dp, unsigned attr_field, bool *has)
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

static void jw_labels_hash(struct oc_ctx *x, struct buf *b, bool has, uint64_t *hash)
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

/* external.otlp.metrics.<type>.<name>.datapoints."<hash>:<ts>": open one point's map of 2 + more
 * keys with the two that cmetrics always writes, start_time_unix_nano and flags. */
static int ot_point(struct buf *ot, uint64_t hash, uint64_t ts, uint64_t start, uint64_t flags, uint32_t more)
{
	char key[48];
	int n = snprintf(key, sizeof(key), "%llx:%llu", (unsigned long long)hash, (unsigned long long)ts);

	TRY(msgpack_pack_str_with_body(MPK(ot), key, (size_t)n));
	TRY(msgpack_pack_map(MPK(ot), 2 + more));
	TRY(mpk_cstr(MPK(ot), "start_time_unix_nano"));
	TRY(msgpack_pack_uint64(MPK(ot), start));
	TRY(mpk_cstr(MPK(ot), "flags"));
	return msgpack_pack_uint64(MPK(ot), flags);
}

/* The exemplars of a data point as cmetrics keeps them: [{time_unix_nano, span_id, trace_id
 * (hex, when set), as_double | as_int, filtered_attributes (when any)}]. */
static int ot_exemplars(struct oc_ctx *x, struct buf *ot, const struct ow_msg *dp, unsigned num)
{
	struct ow_msg ex;
	struct ow_iter it;
	uint32_t count = 0;
	size_t at, at2;
	char hex[33];
	unsigned v;
	int rc;

	TRY(mpk_cstr(MPK(ot), "exemplars"));
	TRY(mpk_array32(MPK(ot), &at));
	ow_iter_init(&it, dp, num);
	while ((rc = ow_next_msg(&it, &ex, &x->e)) > 0) {
		uint32_t keys = 1;

		TRY(mpk_map32(MPK(ot), &at2));
		TRY(mpk_cstr(MPK(ot), "time_unix_nano"));
		TRY(msgpack_pack_uint64(MPK(ot), ow_u64(&ex, EX_TIME)));
		if (ow_hex(&ex, EX_SPAN, hex)) {
			TRY(mpk_cstr(MPK(ot), "span_id"));
			TRY(oc_hex_mp(ot, &ex, EX_SPAN));
			keys++;
		}
		if (ow_hex(&ex, EX_TRACE, hex)) {
			TRY(mpk_cstr(MPK(ot), "trace_id"));
			TRY(oc_hex_mp(ot, &ex, EX_TRACE));
			keys++;
		}
		if ((v = ow_oneof(&ex, (const unsigned[]){ EX_DOUBLE, EX_INT }, 2))) {
			TRY(mpk_cstr(MPK(ot), v == EX_INT ? "as_int" : "as_double"));
			TRY(v == EX_INT ? msgpack_pack_int64(MPK(ot), ow_i64(&ex, EX_INT)) : msgpack_pack_double(MPK(ot), ow_f64(&ex, EX_DOUBLE)));
			keys++;
		}
		if (ow_count(&ex, EX_ATTRS)) {
			TRY(mpk_cstr(MPK(ot), "filtered_attributes"));
			TRY(oc_kvs_mp(x, &ex, EX_ATTRS, ot, 0));
			keys++;
		}
		mpk_patch32(MPK(ot), at2, keys);
		count++;
	}
	if (rc < 0)
		return rc;
	mpk_patch32(MPK(ot), at, count);
	return 0;
}

/* ---- data points ------------------------------------------------------------------- */

/* How one kind of metric reads: its data field in Metric, its cmetrics type, its data point
 * message and the numbers of the attributes, flags, exemplars (0: none) and min fields there
 * (max follows min; 0: none), and the JSON of a point's value after "ts". */
struct kind {
	unsigned field;
	int type;
	const struct ow_desc *dp;
	unsigned attrs, flags, exemplars, min;
	int (*value)(struct oc_ctx *x, struct buf *b, const struct ow_msg *dp, size_t nb);
};

/* value (and value_int64 for an integer point) of a gauge or sum. */
static int value_number(struct oc_ctx *x, struct buf *b, const struct ow_msg *dp, size_t nb)
{
	(void)nb;
	jw_raw(x, b, ",\"value\":");
	if (ow_oneof(dp, (const unsigned[]){ 4, 6 }, 2) == 6) {
		jw_f64(x, b, (double)ow_i64(dp, 6));
		jw_raw(x, b, ",\"value_type\":1,\"value_int64\":");
		jw_i64(x, b, ow_i64(dp, 6));
	} else {
		jw_f64(x, b, ow_f64(dp, 4));
	}
	return 0;
}

/* The repeated unsigned field num of m as a JSON array: all its values, or exactly n of them
 * (missing ones 0). */
static void jw_u64s(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, size_t n)
{
	struct ow_iter it;
	uint64_t c;
	size_t j;

	jw_raw(x, b, "[");
	ow_iter_init(&it, m, num);
	for (j = 0; j < n; j++) {
		if (!ow_next_u64(&it, &c)) {
			if (n == SIZE_MAX)
				break;
			c = 0;
		}
		if (j)
			jw_raw(x, b, ",");
		jw_u64(x, b, c);
	}
	jw_raw(x, b, "]");
}

/* The scalars of the point values, after what comes before them. */
static const struct oc_member hist_tail[] = { OM("sum", OM_F64, DP_SUM), OM("count", OM_U64, DP_COUNT) };
static const struct oc_member exp_head[] = {
	OM("scale", OM_I64, 6), OM("zero_count", OM_U64, 7), OM("zero_threshold", OM_F64, 14),
};
static const struct oc_member count_member[] = { OM("count", OM_U64, DP_COUNT) };
static const struct oc_member sum_member[] = { OM("sum", OM_F64, DP_SUM) };

/* histogram{buckets, sum, count}: as many counts as the metric has buckets (nb = bounds + 1). */
static int value_histogram(struct oc_ctx *x, struct buf *b, const struct ow_msg *dp, size_t nb)
{
	bool first = false;

	jw_raw(x, b, ",\"histogram\":{\"buckets\":");
	jw_u64s(x, b, dp, 6, nb);
	TRY(oc_members(x, b, &first, dp, hist_tail, COUNT(hist_tail)));
	jw_raw(x, b, "}");
	return 0;
}

static int value_exp_histogram(struct oc_ctx *x, struct buf *b, const struct ow_msg *dp, size_t nb)
{
	struct ow_msg side;
	bool first = true;
	int s;

	(void)nb;
	jw_raw(x, b, ",\"exp_histogram\":{");
	TRY(oc_members(x, b, &first, dp, exp_head, COUNT(exp_head)));
	for (s = 0; s < 2; s++) {
		TRY(ow_sub(dp, s ? 9 : 8, &side, &x->e));
		jw_raw(x, b, s ? ",\"negative_offset\":" : ",\"positive_offset\":");
		jw_i64(x, b, ow_i64(&side, 1));
		jw_raw(x, b, s ? ",\"negative_buckets\":" : ",\"positive_buckets\":");
		jw_u64s(x, b, &side, 2, SIZE_MAX);
	}
	TRY(oc_members(x, b, &first, dp, count_member, 1));
	jw_raw(x, b, ow_has(dp, DP_SUM) ? ",\"sum_set\":1" : ",\"sum_set\":0");
	TRY(oc_members(x, b, &first, dp, sum_member, 1));
	jw_raw(x, b, "}");
	return 0;
}

/* The doubles field f of each message of the repeated field num of m, as a JSON array. */
static int jw_msg_f64s(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, unsigned f)
{
	struct ow_msg q;
	struct ow_iter it;
	int k, rc;

	jw_raw(x, b, "[");
	ow_iter_init(&it, m, num);
	for (k = 0; (rc = ow_next_msg(&it, &q, &x->e)) > 0; k++) {
		if (k)
			jw_raw(x, b, ",");
		jw_f64(x, b, ow_f64(&q, f));
	}
	if (rc < 0)
		return rc;
	jw_raw(x, b, "]");
	return 0;
}

static int value_summary(struct oc_ctx *x, struct buf *b, const struct ow_msg *dp, size_t nb)
{
	bool first = false;

	(void)nb;
	jw_raw(x, b, ow_count(dp, 6) ? ",\"summary\":{\"quantiles_set\":1" : ",\"summary\":{\"quantiles_set\":0");
	jw_raw(x, b, ",\"quantiles\":");
	TRY(jw_msg_f64s(x, b, dp, 6, 2));
	TRY(oc_members(x, b, &first, dp, count_member, 1));
	TRY(oc_members(x, b, &first, dp, sum_member, 1));
	jw_raw(x, b, "}");
	return 0;
}

static const struct kind kinds[] = {
	{ M_GAUGE, T_GAUGE, &d_ndp, 7, 8, 5, 0, value_number },
	{ M_SUM, T_COUNTER, &d_ndp, 7, 8, 5, 0, value_number },
	{ M_HISTOGRAM, T_HISTOGRAM, &d_hdp, 9, 10, 8, 11, value_histogram },
	{ M_EHISTOGRAM, T_EXP_HISTOGRAM, &d_ehdp, 1, 10, 11, 12, value_exp_histogram },
	{ M_SUMMARY, T_SUMMARY, &d_sdp, 7, 8, 0, 0, value_summary },
};

/* The point's entry under external.otlp.metrics: what cmetrics keeps of an OTLP data point
 * (start_time_unix_nano, flags; number_value_case or has_sum, has_min/min, has_max/max;
 * exemplars). */
static int point_external(struct oc_ctx *x, const struct kind *k, struct buf *ot, const struct ow_msg *dp,
			  uint64_t hash)
{
	bool number = k->value == value_number, ex = k->exemplars && ow_count(dp, k->exemplars);
	uint32_t more = ex;
	unsigned i;

	if (number)
		more += 1;
	else if (k->min)
		more += 1 + 2 * ow_has(dp, k->min) + 2 * ow_has(dp, k->min + 1);
	TRY(ot_point(ot, hash, ow_u64(dp, DP_TIME), ow_u64(dp, DP_START), ow_u64(dp, k->flags), more));
	if (number) {
		TRY(mpk_cstr(MPK(ot), "number_value_case"));
		TRY(mpk_cstr(MPK(ot), ow_oneof(dp, (const unsigned[]){ 4, 6 }, 2) == 6 ? "int" : "double"));
	} else if (k->min) {
		TRY(mpk_cstr(MPK(ot), "has_sum"));
		TRY(mpk_bool(MPK(ot), ow_has(dp, DP_SUM)));
	}
	for (i = k->min; k->min && i <= k->min + 1; i++) {
		if (!ow_has(dp, i))
			continue;
		TRY(mpk_cstr(MPK(ot), i == k->min ? "has_min" : "has_max"));
		TRY(mpk_bool(MPK(ot), true));
		TRY(mpk_cstr(MPK(ot), i == k->min ? "min" : "max"));
		TRY(msgpack_pack_double(MPK(ot), ow_f64(dp, i)));
	}
	return ex ? ot_exemplars(x, ot, dp, k->exemplars) : 0;
}

/* One data point: its values[] entry and its external entry. */
static int render_point(struct oc_ctx *x, const struct kind *k, struct buf *ot, const struct ow_msg *dp, size_t nb,
			bool first)
{
	struct buf *b = &x->metrics;
	uint64_t hash;
	bool has;

	TRY(point_labels(x, dp, k->attrs, &has));
	if (!first)
		jw_raw(x, b, ",");
	jw_raw(x, b, "{\"ts\":");
	jw_u64(x, b, ow_u64(dp, DP_TIME));
	if (ow_u64(dp, DP_START)) { /* cmetrics' start timestamp, set when there is one */
		jw_raw(x, b, ",\"start_ts\":");
		jw_u64(x, b, ow_u64(dp, DP_START));
	}
	TRY(k->value(x, b, dp, nb));
	jw_labels_hash(x, b, has, &hash);
	return point_external(x, k, ot, dp, hash);
}

/* ---- metrics ----------------------------------------------------------------------- */

/* meta{ver, type, opts, labels, buckets | quantiles, aggregation_type} of one metric; the
 * first data point (first) gives the histogram bounds and the summary quantiles. */
static int metric_meta(struct oc_ctx *x, const struct ow_msg *met, const struct kind *k, const struct ow_msg *data,
		       const struct ow_msg *first)
{
	struct buf *b = &x->metrics;
	struct ow_iter iv;
	size_t i;
	double f;

	jw_raw(x, b, "{\"meta\":{\"ver\":2,\"type\":");
	jw_i64(x, b, k->type == T_EXP_HISTOGRAM ? 5 : k->type);
	jw_raw(x, b, ",\"opts\":{\"ns\":\"\",\"ss\":\"\",\"name\":");
	jw_field_str(x, b, met, 1, false);
	jw_raw(x, b, ",\"desc\":");
	jw_field_str(x, b, met, 2, false);
	jw_raw(x, b, ",\"unit\":");
	jw_field_str(x, b, met, 3, false);
	jw_raw(x, b, "},\"labels\":[");
	for (i = 0; i < x->nkeys; i++) {
		if (i)
			jw_raw(x, b, ",");
		jw_str(x, b, x->key[i], x->klen[i]);
	}
	jw_raw(x, b, "]");
	if (k->type == T_HISTOGRAM) {
		jw_raw(x, b, ",\"buckets\":[");
		ow_iter_init(&iv, first, 7);
		for (i = 0; ow_next_f64(&iv, &f); i++) {
			if (i)
				jw_raw(x, b, ",");
			jw_f64(x, b, f);
		}
		jw_raw(x, b, "]");
	} else if (k->type == T_SUMMARY) {
		jw_raw(x, b, ",\"quantiles\":");
		TRY(jw_msg_f64s(x, b, first, 6, 1));
	}
	if (k->type == T_COUNTER || k->type == T_HISTOGRAM || k->type == T_EXP_HISTOGRAM) {
		jw_raw(x, b, ",\"aggregation_type\":");
		jw_i64(x, b, ow_i64(data, 2));
	}
	jw_raw(x, b, "},\"values\":[");
	return 0;
}

static int render_metric(struct oc_ctx *x, const struct ow_msg *met)
{
	static const unsigned fields[] = { M_GAUGE, M_SUM, M_HISTOGRAM, M_EHISTOGRAM, M_SUMMARY };
	unsigned field = ow_oneof(met, fields, COUNT(fields));
	const struct kind *k;
	struct ow_msg data, dp, first;
	struct ow_iter it;
	struct buf *ot;
	size_t dps_at, n, nb;
	uint32_t dps = 0;
	const char *name;
	int rc;

	if (!field)
		return 0; /* a metric without data: nothing to show */
	for (k = kinds; k->field != field; k++)
		;
	TRY(ow_sub(met, field, &data, &x->e));
	TRY(collect_keys(x, &data, k->attrs));
	if (x->metrics.len > 1)
		jw_raw(x, &x->metrics, ",");
	ow_iter_init(&it, &data, 1);
	if ((rc = ow_next_msg(&it, &first, &x->e)) < 0)
		return rc;
	if (rc == 0) { /* no data points: an empty message */
		memset(&first, 0, sizeof(first));
		first.d = k->dp;
		first.json = x->json;
		first.end = "";
	}
	TRY(metric_meta(x, met, k, &data, &first));
	nb = k->type == T_HISTOGRAM ? ow_count(&first, 7) + 1 : 0;

	/* external.otlp.metrics.<type>.<name>: {"datapoints":{...}} */
	ot = &x->ot[k->type];
	if (x->ot_count[k->type]++ == 0)
		x->ot_order[x->ot_n++] = k->type;
	name = ow_str(met, 1, &n);
	TRY(msgpack_pack_str_with_body(MPK(ot), name, n));
	TRY(msgpack_pack_map(MPK(ot), ow_count(met, M_METADATA) ? 2 : 1));
	TRY(mpk_cstr(MPK(ot), "datapoints"));
	TRY(mpk_map32(MPK(ot), &dps_at));
	ow_iter_init(&it, &data, 1);
	while ((rc = ow_next_msg(&it, &dp, &x->e)) > 0) {
		TRY(render_point(x, k, ot, &dp, nb, dps == 0));
		dps++;
		x->records++;
	}
	if (rc < 0)
		return rc;
	mpk_patch32(MPK(ot), dps_at, dps);
	if (ow_count(met, M_METADATA)) { /* Metric.metadata, as cmetrics keeps it */
		TRY(mpk_cstr(MPK(ot), "metadata"));
		TRY(oc_kvs_mp(x, met, M_METADATA, ot, 0));
	}
	jw_raw(x, &x->metrics, "]}");
	return x->rc;
}


/* The metadata cmetrics keeps of a scope and a resource (every field, with its default, when
 * the message is there) and of the ScopeMetrics and ResourceMetrics around them. */
static const struct oc_member scope_meta[] = {
	OM("name", OM_STR, 1), OM("version", OM_STR, 2), OM("dropped_attributes_count", OM_U64, 4),
};
static const struct oc_member res_meta[] = { OM("dropped_attributes_count", OM_U64, 2) };
static const struct oc_member schema_meta[] = { OM("schema_url", OM_STR, F_SCHEMA) };

/* "<name>":{"metadata":{...},"attributes":{...}} for the scope or resource sub (field num of
 * owner), then "<name>_metrics":{"metadata":{"schema_url":...}} for owner. */
static int external_part(struct oc_ctx *x, struct buf *b, const char *name, const struct ow_msg *owner,
			 unsigned num, const struct ow_msg *sub, const struct oc_member *meta, size_t nmeta,
			 unsigned attrs)
{
	bool first = true;

	jw_str(x, b, name, strlen(name));
	jw_raw(x, b, ":{\"metadata\":{");
	if (ow_has(owner, num))
		TRY(oc_members(x, b, &first, sub, meta, nmeta));
	jw_raw(x, b, "},\"attributes\":");
	TRY(oc_attrs(x, b, sub, attrs, false));
	jw_raw(x, b, "},\"");
	jw_mem(x, b, name, strlen(name));
	jw_raw(x, b, "_metrics\":{\"metadata\":{");
	first = true;
	TRY(oc_members(x, b, &first, owner, schema_meta, 1));
	jw_raw(x, b, "}}");
	return 0;
}

/* The "otlp":{"metrics":{<type>:{<name>:{...}}}} part: the pairs of each type become one map,
 * whose renderer resolves duplicate names. */
static int external_otlp(struct oc_ctx *x, struct buf *b)
{
	struct buf m;
	struct mp_cur c;
	size_t at;
	int t, rc = 0;

	jw_raw(x, b, "\"otlp\":{\"metrics\":{");
	for (t = 0; t < x->ot_n && !x->rc && rc == 0; t++) {
		int ty = x->ot_order[t];

		if (t)
			jw_raw(x, b, ",");
		jw_str(x, b, type_keys[ty], strlen(type_keys[ty]));
		jw_raw(x, b, ":");
		buf_init(&m, SIZE_MAX);
		if ((rc = mpk_map32(MPK(&m), &at)) == 0 && (rc = buf_append(&m, x->ot[ty].data, x->ot[ty].len)) == 0) {
			mpk_patch32(MPK(&m), at, x->ot_count[ty]);
			mp_cur_init(&c, m.data, m.len);
			rc = mpjson_write(b, &c);
		}
		buf_free(&m);
	}
	if (rc < 0 && !x->rc)
		x->rc = rc;
	jw_raw(x, b, "}}");
	return x->rc;
}

/* meta.external in cmetrics' order: scope, scope_metrics, otlp, resource, resource_metrics. */
static int metrics_external(struct oc_ctx *x, struct buf *b, const struct ow_msg *rm, const struct ow_msg *sm)
{
	struct ow_msg res, scope;

	TRY(oc_context(x, rm, sm, &res, &scope));
	jw_raw(x, b, "\"external\":{");
	TRY(external_part(x, b, "scope", sm, F_SCOPE, &scope, scope_meta, COUNT(scope_meta), 3));
	jw_raw(x, b, ",");
	TRY(external_otlp(x, b));
	jw_raw(x, b, ",");
	TRY(external_part(x, b, "resource", rm, F_RESOURCE, &res, res_meta, COUNT(res_meta), 1));
	jw_raw(x, b, "}");
	return x->rc;
}

/* One ScopeMetrics: a line when it holds at least one metric with data. */
static int metrics_scope(struct oc_ctx *x, const struct ow_msg *rm, const struct ow_msg *sm, void *arg)
{
	struct chunk_builder *cb = arg;
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
	jw_raw(x, b, "{\"meta\":{\"cmetrics\":{\"producer\":\"opentelemetry\"},");
	TRY(metrics_external(x, b, rm, sm));
	jw_raw(x, b, ",\"processing\":{\"static_labels\":[]}},\"metrics\":");
	jw_mem(x, b, x->metrics.data, x->metrics.len);
	jw_raw(x, b, "}");
	if (x->rc)
		return x->rc;
	return chunk_add_line(cb, b->data, b->len);
}

int otlp_metrics_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	return oc_each_scope(x, req, metrics_scope, cb);
}
