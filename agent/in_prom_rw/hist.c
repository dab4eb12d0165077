/* in_prom_rw/hist.c: one native histogram at a time: spans and deltas (or float counts) read into scratch arrays, then written densely with the gaps as zeros. */
#include "hist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "mpjson.h"

/* Histogram field numbers (prometheus/prompb types.proto). */
enum {
	H_COUNT_INT = 1, H_COUNT_FLOAT, H_SUM, H_SCHEMA, H_ZERO_THRESHOLD, H_ZERO_INT, H_ZERO_FLOAT,
	H_NEG_SPANS, H_NEG_DELTAS, H_NEG_COUNTS, H_POS_SPANS, H_POS_DELTAS, H_POS_COUNTS, H_RESET, H_TS, H_CUSTOM
};

struct point {
	uint64_t count_int, zero_int;
	double count_float, zero_float, sum, zero_threshold;
	int64_t schema, ts;
	bool is_float;
	int64_t acc[2];
	struct pb custom;
};

static int say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int add_span(struct prw_hist *h, int side, struct pb msg, char *err, size_t errlen)
{
	struct pbf f;
	int32_t off = 0;
	uint32_t len = 0;
	int rc;

	while ((rc = pb_next(&msg, &f)) > 0) {
		if (f.num == 1 && f.wt == WT_VARINT)
			off = (int32_t)pb_zigzag(f.v);
		else if (f.num == 2 && f.wt == WT_VARINT)
			len = (uint32_t)f.v;
	}
	if (rc < 0)
		return say(err, errlen, "malformed protobuf in BucketSpan");
	if (h->nspans[side] == PRW_MAX_BUCKETS)
		return say(err, errlen, "histogram with more than %d spans", PRW_MAX_BUCKETS);
	h->span_off[side][h->nspans[side]] = off;
	h->span_len[side][h->nspans[side]++] = len;
	return 0;
}

/* One delta (integer histograms: counts are deltas from the previous bucket) or count. */
static int add_count(struct prw_hist *h, struct point *pt, int side, bool delta, uint64_t raw, char *err,
		     size_t errlen)
{
	size_t i = h->ncounts[side];

	if (i == PRW_MAX_BUCKETS)
		return say(err, errlen, "histogram with more than %d buckets", PRW_MAX_BUCKETS);
	if (delta) {
		if (__builtin_add_overflow(pt->acc[side], pb_zigzag(raw), &pt->acc[side]) || pt->acc[side] < 0)
			return say(err, errlen, "histogram bucket deltas give a negative count");
		h->icount[side][i] = pt->acc[side];
	} else {
		h->fcount[side][i] = pb_double(raw);
	}
	h->ncounts[side]++;
	return 0;
}

/* A repeated scalar field, packed (LEN) or not. */
static int add_counts(struct prw_hist *h, struct point *pt, int side, const struct pbf *f, char *err, size_t errlen)
{
	bool delta = f->num == H_NEG_DELTAS || f->num == H_POS_DELTAS;
	struct pb run = f->sub;
	uint64_t v;
	int rc;

	if (!delta)
		pt->is_float = true;
	if (f->wt != WT_LEN)
		return add_count(h, pt, side, delta, f->v, err, errlen);
	while ((rc = pb_packed_next(&run, !delta, &v)) > 0)
		TRY(add_count(h, pt, side, delta, v, err, errlen));
	return rc < 0 ? say(err, errlen, "malformed packed histogram counts") : 0;
}

static int read_point(struct prw_hist *h, struct point *pt, struct pb msg, char *err, size_t errlen)
{
	struct pbf f;
	int rc;

	*pt = (struct point){ .custom = { NULL, NULL } };
	h->nspans[0] = h->nspans[1] = h->ncounts[0] = h->ncounts[1] = 0;
	while ((rc = pb_next(&msg, &f)) > 0) {
		switch (f.num) {
		case H_COUNT_INT: pt->count_int = f.v; break;
		case H_COUNT_FLOAT: pt->count_float = pb_double(f.v); pt->is_float = true; break;
		case H_SUM: pt->sum = pb_double(f.v); break;
		case H_SCHEMA: pt->schema = pb_zigzag(f.v); break;
		case H_ZERO_THRESHOLD: pt->zero_threshold = pb_double(f.v); break;
		case H_ZERO_INT: pt->zero_int = f.v; break;
		case H_ZERO_FLOAT: pt->zero_float = pb_double(f.v); break;
		case H_NEG_SPANS: case H_POS_SPANS:
			if (f.wt != WT_LEN)
				return say(err, errlen, "Histogram field %u has wire type %u", f.num, f.wt);
			TRY(add_span(h, f.num == H_POS_SPANS, f.sub, err, errlen));
			break;
		case H_NEG_DELTAS: case H_NEG_COUNTS: case H_POS_DELTAS: case H_POS_COUNTS:
			TRY(add_counts(h, pt, f.num >= H_POS_SPANS, &f, err, errlen));
			break;
		case H_TS: pt->ts = (int64_t)f.v; break;
		case H_CUSTOM: if (f.wt == WT_LEN) pt->custom = f.sub; break;
		default: break;
		}
	}
	return rc < 0 ? say(err, errlen, "malformed protobuf in Histogram") : 0;
}

static int put_count(struct buf *b, const struct prw_hist *h, bool is_float, int side, size_t i)
{
	return is_float ? mpjson_put_double(b, h->fcount[side][i]) : buf_put_i64(b, h->icount[side][i]);
}

/* "<side>_offset":N,"<side>_buckets":[...] with the gaps between spans as zeros. */
static int put_side(struct buf *b, const struct prw_hist *h, const struct point *pt, int side, char *err,
		    size_t errlen)
{
	size_t s, c = 0, total = 0;
	uint32_t j;

	TRY(buf_puts(b, side ? ",\"positive_offset\":" : ",\"negative_offset\":"));
	TRY(buf_put_i64(b, h->nspans[side] ? (int64_t)h->span_off[side][0] - 1 : 0));
	TRY(buf_puts(b, side ? ",\"positive_buckets\":[" : ",\"negative_buckets\":["));
	for (s = 0; s < h->nspans[side]; s++) {
		int64_t gap = s ? h->span_off[side][s] : 0;

		if (gap < 0 || total + (uint64_t)gap + h->span_len[side][s] > PRW_MAX_BUCKETS)
			return say(err, errlen, "histogram spans cover more than %d buckets or overlap", PRW_MAX_BUCKETS);
		for (; gap > 0; gap--, total++)
			TRY(buf_puts(b, total ? ",0" : "0"));
		for (j = 0; j < h->span_len[side][s]; j++, total++, c++) {
			if (c >= h->ncounts[side])
				return say(err, errlen, "histogram spans name more buckets than it has counts");
			if (total)
				TRY(buf_putc(b, ','));
			TRY(put_count(b, h, pt->is_float, side, c));
		}
	}
	if (c != h->ncounts[side])
		return say(err, errlen, "histogram has %zu bucket counts but its spans name %zu", h->ncounts[side], c);
	return buf_putc(b, ']');
}

static int put_point(struct buf *b, const struct prw_hist *h, const struct point *pt, char *err, size_t errlen)
{
	struct pb run = pt->custom;
	uint64_t v;
	int rc, k = 0;

	TRY(buf_puts(b, "\"exp_histogram\":{\"scale\":"));
	TRY(buf_put_i64(b, pt->schema));
	TRY(buf_puts(b, ",\"zero_count\":"));
	TRY(pt->is_float ? mpjson_put_double(b, pt->zero_float) : buf_put_u64(b, pt->zero_int));
	TRY(buf_puts(b, ",\"zero_threshold\":"));
	TRY(mpjson_put_double(b, pt->zero_threshold));
	TRY(put_side(b, h, pt, 1, err, errlen));
	TRY(put_side(b, h, pt, 0, err, errlen));
	TRY(buf_puts(b, ",\"count\":"));
	TRY(pt->is_float ? mpjson_put_double(b, pt->count_float) : buf_put_u64(b, pt->count_int));
	TRY(buf_puts(b, ",\"sum_set\":1,\"sum\":"));
	TRY(mpjson_put_double(b, pt->sum));
	if (run.p) { /* custom bucket bounds (schema -53) */
		TRY(buf_puts(b, ",\"custom_values\":["));
		while ((rc = pb_packed_next(&run, 1, &v)) > 0) {
			TRY(buf_puts(b, k++ ? "," : ""));
			TRY(mpjson_put_double(b, pb_double(v)));
		}
		if (rc < 0)
			return say(err, errlen, "malformed histogram custom_values");
		TRY(buf_putc(b, ']'));
	}
	return buf_putc(b, '}');
}

int prw_hist_render(struct prw_hist *h, struct pb series, unsigned field, struct buf *out, const char *tail,
		    size_t tlen, bool *first, uint64_t *points, char *err, size_t errlen)
{
	struct point pt;
	struct pbf f;
	int rc;

	while ((rc = pb_next(&series, &f)) > 0) {
		if (f.num != field)
			continue;
		TRY(read_point(h, &pt, f.sub, err, errlen));
		if (pt.ts > INT64_MAX / 1000000 || pt.ts < INT64_MIN / 1000000)
			return say(err, errlen, "timestamp %lld ms is out of range", (long long)pt.ts);
		TRY(buf_puts(out, *first ? "{\"ts\":" : ",{\"ts\":"));
		TRY(buf_put_i64(out, pt.ts * 1000000));
		TRY(buf_putc(out, ','));
		TRY(put_point(out, h, &pt, err, errlen));
		TRY(buf_append(out, tail, tlen));
		*first = false;
		(*points)++;
	}
	return rc < 0 ? say(err, errlen, "malformed protobuf in TimeSeries") : 0;
}
