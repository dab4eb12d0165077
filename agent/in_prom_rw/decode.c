/* in_prom_rw/decode.c: remote write 1.0 protobuf (WriteRequest, TimeSeries, Sample, Exemplar, Histogram, MetricMetadata) read in two passes: index series into families, then render the cmetrics JSON. */
#include "decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmhash.h"
#include "mpjson.h"
#include "hist.h"
#include "meta.h"
#include "proto.h"

/* Field numbers (prometheus/prompb types.proto and remote.proto). */
enum { WR_SERIES = 1, WR_METADATA = 3 };
enum { TS_LABELS = 1, TS_SAMPLES = 2, TS_EXEMPLARS = 3, TS_HISTOGRAMS = 4 };
enum { MD_TYPE = 1, MD_FAMILY = 2, MD_HELP = 4, MD_UNIT = 5 };
enum { MT_UNKNOWN, MT_COUNTER, MT_GAUGE, MT_HISTOGRAM, MT_GAUGEHISTOGRAM, MT_SUMMARY, MT_INFO, MT_STATESET };

struct str {
	const char *p;
	size_t n;
};

struct meta {
	struct str name, help, unit;
	uint64_t type;
};

struct series {
	struct pb msg;
	int fam, next;
};

struct family {
	struct str name;
	bool hist;
	int first, last;
	struct str *keys;
	int nkeys, kcap;
};

struct ctx {
	struct series *series;
	size_t nseries;
	struct meta *meta;
	size_t nmeta;
	struct family *fam;
	size_t nfam;
	struct htab fam_ix, meta_ix;
	struct prw_meta_cache *cache;
	struct meta cached; /* the last answer from the cache */
	struct str vals[PRW_MAX_LABELS];
	struct prw_hist hist;
	struct buf line, metrics, ex, lab;
	struct cmhash *hash; /* the series hash state (lib/cmhash) */
	uint64_t samples;
	char *err;
	size_t errlen;
};

static int fail(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err && x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool str_eq(struct str a, const char *p, size_t n)
{
	return a.n == n && memcmp(a.p, p, n) == 0;
}

/* ---- pass 1: the request's series and metadata ---- */

static int read_request(struct ctx *x, const char *p, size_t n)
{
	struct pb c = { (const unsigned char *)p, (const unsigned char *)p + n };
	size_t cap_s = 0, cap_m = 0;
	struct pbf f;
	int rc;

	while ((rc = pb_next(&c, &f)) > 0) {
		if (f.num != WR_SERIES && f.num != WR_METADATA)
			continue;
		if (f.wt != WT_LEN)
			return fail(x, "WriteRequest field %u has wire type %u", f.num, f.wt);
		if (f.num == WR_SERIES) {
			TRY(pb_grow((void **)&x->series, &cap_s, x->nseries, sizeof(*x->series)));
			x->series[x->nseries++] = (struct series){ f.sub, -1, -1 };
		} else {
			TRY(pb_grow((void **)&x->meta, &cap_m, x->nmeta, sizeof(*x->meta)));
			x->meta[x->nmeta++] = (struct meta){ { "", 0 }, { "", 0 }, { "", 0 }, 0 };
			x->meta[x->nmeta - 1].name.p = (const char *)f.sub.p; /* parsed below */
			x->meta[x->nmeta - 1].name.n = (size_t)(f.sub.end - f.sub.p);
		}
	}
	return rc < 0 ? fail(x, "malformed protobuf in WriteRequest") : 0;
}

static int read_metadata(struct ctx *x, struct meta *m)
{
	struct pb c = { (const unsigned char *)m->name.p, (const unsigned char *)m->name.p + m->name.n };
	struct pbf f;
	int rc;

	m->name = (struct str){ "", 0 };
	while ((rc = pb_next(&c, &f)) > 0) {
		struct str *s = f.num == MD_FAMILY ? &m->name : f.num == MD_HELP ? &m->help : f.num == MD_UNIT ? &m->unit : NULL;

		if (f.num == MD_TYPE) {
			if (f.wt != WT_VARINT)
				return fail(x, "MetricMetadata.type has wire type %u", f.wt);
			m->type = f.v;
		} else if (s) {
			if (f.wt != WT_LEN)
				return fail(x, "MetricMetadata field %u has wire type %u", f.num, f.wt);
			*s = (struct str){ (const char *)f.sub.p, (size_t)(f.sub.end - f.sub.p) };
		}
	}
	return rc < 0 ? fail(x, "malformed protobuf in MetricMetadata") : 0;
}

/* The name and value of a Label message. */
static int read_label(struct ctx *x, struct pb msg, struct str *name, struct str *value)
{
	struct pbf f;
	int rc;

	*name = *value = (struct str){ "", 0 };
	while ((rc = pb_next(&msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (f.wt != WT_LEN)
			return fail(x, "Label field %u has wire type %u", f.num, f.wt);
		*(f.num == 1 ? name : value) = (struct str){ (const char *)f.sub.p, (size_t)(f.sub.end - f.sub.p) };
	}
	return rc < 0 ? fail(x, "malformed protobuf in Label") : 0;
}

static int add_key(struct ctx *x, struct family *fm, struct str k)
{
	int i;

	for (i = 0; i < fm->nkeys; i++)
		if (str_eq(fm->keys[i], k.p, k.n))
			return 0;
	if (fm->nkeys == PRW_MAX_LABELS)
		return fail(x, "metric %.*s has more than %d label names", (int)fm->name.n, fm->name.p, PRW_MAX_LABELS);
	if (fm->nkeys == fm->kcap) {
		size_t cap = (size_t)fm->kcap;

		TRY(pb_grow((void **)&fm->keys, &cap, (size_t)fm->nkeys, sizeof(*fm->keys)));
		fm->kcap = (int)cap;
	}
	fm->keys[fm->nkeys++] = k;
	return 0;
}

/* The family of a series: by __name__ and by kind (float samples or native histograms). */
static int family_of(struct ctx *x, struct str name, bool hist, size_t *cap)
{
	uint64_t h = htab_hash(name.p, name.n, hist);
	size_t i;
	int at;

	for (i = h & x->fam_ix.mask; (at = x->fam_ix.slot[i]) >= 0; i = (i + 1) & x->fam_ix.mask)
		if (x->fam[at].hist == hist && str_eq(x->fam[at].name, name.p, name.n))
			return at;
	TRY(pb_grow((void **)&x->fam, cap, x->nfam, sizeof(*x->fam)));
	x->fam[x->nfam] = (struct family){ name, hist, -1, -1, NULL, 0, 0 };
	x->fam_ix.slot[i] = (int)x->nfam;
	return (int)x->nfam++;
}

/* Which family a series belongs to, and the label names it adds to it. */
static int index_series(struct ctx *x, size_t si, size_t *cap)
{
	struct series *s = &x->series[si];
	struct str name = { NULL, 0 }, k, v;
	struct pb c = s->msg;
	bool any_hist = false, any_sample = false;
	struct pbf f;
	int rc, fi;

	while ((rc = pb_next(&c, &f)) > 0) {
		if (f.num == TS_LABELS && f.wt == WT_LEN) {
			TRY(read_label(x, f.sub, &k, &v));
			if (str_eq(k, "__name__", 8)) {
				if (name.p)
					return fail(x, "time series %zu has two __name__ labels", si);
				name = v;
			}
		} else if (f.num == TS_HISTOGRAMS && f.wt == WT_LEN) {
			any_hist = true;
		} else if (f.num == TS_SAMPLES && f.wt == WT_LEN) {
			any_sample = true;
		} else if (f.num >= TS_LABELS && f.num <= TS_HISTOGRAMS && f.wt != WT_LEN) {
			return fail(x, "TimeSeries field %u has wire type %u", f.num, f.wt);
		}
	}
	if (rc < 0)
		return fail(x, "malformed protobuf in TimeSeries %zu", si);
	if (!name.p || name.n == 0)
		return fail(x, "time series %zu has no __name__ label", si);
	if (any_hist && any_sample)
		return fail(x, "time series %zu (%.*s) has both samples and histograms", si, (int)name.n, name.p);
	if ((fi = family_of(x, name, any_hist, cap)) < 0)
		return fi;
	s->fam = fi;
	if (x->fam[fi].last >= 0)
		x->series[x->fam[fi].last].next = (int)si;
	else
		x->fam[fi].first = (int)si;
	x->fam[fi].last = (int)si;
	c = s->msg;
	while ((rc = pb_next(&c, &f)) > 0) {
		if (f.num != TS_LABELS)
			continue;
		TRY(read_label(x, f.sub, &k, &v));
		if (!str_eq(k, "__name__", 8))
			TRY(add_key(x, &x->fam[fi], k));
	}
	return 0;
}

static int build_index(struct ctx *x)
{
	size_t i, cap = 0;

	for (i = 0; i < x->nmeta; i++)
		TRY(read_metadata(x, &x->meta[i]));
	TRY(htab_init(&x->meta_ix, x->nmeta));
	for (i = 0; i < x->nmeta; i++)
		htab_put_first(&x->meta_ix, htab_hash(x->meta[i].name.p, x->meta[i].name.n, 0), (int)i);
	TRY(htab_init(&x->fam_ix, x->nseries));
	for (i = 0; i < x->nseries; i++)
		TRY(index_series(x, i, &cap));
	return 0;
}

/* ---- pass 2: rendering ---- */

/* Metadata for a name: this request's, else what earlier requests sent (the cache). */
static const struct meta *meta_find(struct ctx *x, const char *p, size_t n)
{
	const struct prw_meta *c;
	uint64_t h = htab_hash(p, n, 0);
	size_t i;
	int at;

	if (x->nmeta)
		for (i = h & x->meta_ix.mask; (at = x->meta_ix.slot[i]) >= 0; i = (i + 1) & x->meta_ix.mask)
			if (str_eq(x->meta[at].name, p, n))
				return &x->meta[at];
	if (!(c = prw_meta_cache_find(x->cache, p, n)))
		return NULL;
	x->cached = (struct meta){ { c->name, c->name_n }, { c->help, c->help_n }, { c->unit, c->unit_n }, c->type };
	return &x->cached;
}

/* Remember this request's metadata for the requests that come without. */
static int remember_metadata(struct ctx *x)
{
	struct prw_meta *m;
	size_t i;
	int rc;

	if (!x->cache || !x->nmeta)
		return 0;
	if (!(m = calloc(x->nmeta, sizeof(*m))))
		return -ENOMEM;
	for (i = 0; i < x->nmeta; i++)
		m[i] = (struct prw_meta){ x->meta[i].name.p, x->meta[i].help.p, x->meta[i].unit.p, x->meta[i].name.n,
					  x->meta[i].help.n, x->meta[i].unit.n, x->meta[i].type };
	rc = prw_meta_cache_update(x->cache, m, x->nmeta);
	free(m);
	return rc;
}

/* cmetrics type of a float family from the metadata of its name, or of its family name
 * without a suffix (a counter's _total, a histogram's or summary's _bucket/_count/_sum). */
static int family_type(struct ctx *x, struct str name, const struct meta **m)
{
	static const char *const suffixes[] = { "_total", "_bucket", "_count", "_sum", "_created", "_info", "_gcount", "_gsum" };
	size_t i, sl;

	if ((*m = meta_find(x, name.p, name.n)) != NULL) {
		switch ((*m)->type) {
		case MT_COUNTER: return 0;
		case MT_GAUGE: case MT_GAUGEHISTOGRAM: case MT_INFO: case MT_STATESET: return 1;
		case MT_SUMMARY: return 1; /* the quantile series */
		default: return 4;
		}
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		sl = strlen(suffixes[i]);
		if (name.n > sl && memcmp(name.p + name.n - sl, suffixes[i], sl) == 0 &&
		    (*m = meta_find(x, name.p, name.n - sl)) != NULL) {
			switch ((*m)->type) {
			case MT_COUNTER: case MT_HISTOGRAM: case MT_SUMMARY: return 0;
			case MT_GAUGEHISTOGRAM: case MT_INFO: return 1;
			default: return 4;
			}
		}
	}
	return 4;
}

static int family_head(struct ctx *x, const struct family *fm, int type, const struct meta *m)
{
	struct buf *b = &x->metrics;
	int i;

	TRY(buf_puts(b, x->metrics.len > 1 ? ",{\"meta\":{\"ver\":2,\"type\":" : "{\"meta\":{\"ver\":2,\"type\":"));
	TRY(buf_put_i64(b, type));
	TRY(buf_puts(b, ",\"opts\":{\"ns\":\"\",\"ss\":\"\",\"name\":"));
	TRY(mpjson_put_string(b, fm->name.p, fm->name.n));
	TRY(buf_puts(b, ",\"desc\":"));
	TRY(mpjson_put_string(b, m ? m->help.p : "", m ? m->help.n : 0));
	if (m && m->unit.n) {
		TRY(buf_puts(b, ",\"unit\":"));
		TRY(mpjson_put_string(b, m->unit.p, m->unit.n));
	}
	TRY(buf_puts(b, "},\"labels\":["));
	for (i = 0; i < fm->nkeys; i++) {
		if (i)
			TRY(buf_putc(b, ','));
		TRY(mpjson_put_string(b, fm->keys[i].p, fm->keys[i].n));
	}
	TRY(buf_putc(b, ']'));
	if (type == 0 || type == 5)
		TRY(buf_puts(b, ",\"aggregation_type\":2"));
	return buf_puts(b, "},\"values\":[");
}

/* A series' label values in its family's key order ("" where it has none) as the
 * `,"labels":[...],"hash":N}` tail every value of the series ends with. The hash is
 * cmetrics' (lib/cmhash: XXH3-64 over the family name, then the values); 0 without labels. */
static int series_tail(struct ctx *x, const struct family *fm, struct pb msg, uint64_t *hash)
{
	struct str k, v;
	struct pbf f;
	int i, rc;

	for (i = 0; i < fm->nkeys; i++)
		x->vals[i] = (struct str){ "", 0 };
	while ((rc = pb_next(&msg, &f)) > 0) {
		if (f.num != TS_LABELS)
			continue;
		TRY(read_label(x, f.sub, &k, &v));
		for (i = 0; i < fm->nkeys; i++)
			if (str_eq(fm->keys[i], k.p, k.n)) {
				x->vals[i] = v; /* a repeated label name: the last one wins */
				break;
			}
	}
	buf_reset(&x->lab);
	cmhash_start(x->hash, "", "", fm->name.p, fm->name.n);
	if (fm->nkeys) {
		TRY(buf_puts(&x->lab, ",\"labels\":["));
		for (i = 0; i < fm->nkeys; i++) {
			if (i)
				TRY(buf_putc(&x->lab, ','));
			TRY(mpjson_put_string(&x->lab, x->vals[i].p, x->vals[i].n));
			cmhash_label(x->hash, x->vals[i].p, x->vals[i].n);
		}
		TRY(buf_putc(&x->lab, ']'));
	}
	*hash = cmhash_digest(x->hash);
	TRY(buf_puts(&x->lab, ",\"hash\":"));
	TRY(buf_put_u64(&x->lab, *hash));
	return buf_putc(&x->lab, '}');
}

static int ms_to_ns(struct ctx *x, int64_t ms, int64_t *ns)
{
	if (ms > INT64_MAX / 1000000 || ms < INT64_MIN / 1000000)
		return fail(x, "timestamp %lld ms is out of range", (long long)ms);
	*ns = ms * 1000000;
	return 0;
}

/* {"ts":..,"value":..<tail> for each Sample of a series. */
static int render_samples(struct ctx *x, struct pb msg, bool *first)
{
	struct pbf f, g;
	int rc, rs;

	while ((rc = pb_next(&msg, &f)) > 0) {
		struct pb s = f.sub;
		double v = 0;
		int64_t ms = 0, ns = 0;

		if (f.num != TS_SAMPLES)
			continue;
		while ((rs = pb_next(&s, &g)) > 0) {
			if (g.num == 1 && g.wt == WT_I64)
				v = pb_double(g.v);
			else if (g.num == 2 && g.wt == WT_VARINT)
				ms = (int64_t)g.v;
			else if (g.num == 1 || g.num == 2)
				return fail(x, "Sample field %u has wire type %u", g.num, g.wt);
		}
		if (rs < 0)
			return fail(x, "malformed protobuf in Sample");
		TRY(ms_to_ns(x, ms, &ns));
		TRY(buf_puts(&x->metrics, *first ? "{\"ts\":" : ",{\"ts\":"));
		TRY(buf_put_i64(&x->metrics, ns));
		TRY(buf_puts(&x->metrics, ",\"value\":"));
		TRY(mpjson_put_double(&x->metrics, v));
		TRY(buf_append(&x->metrics, x->lab.data, x->lab.len));
		*first = false;
		x->samples++;
	}
	return rc < 0 ? fail(x, "malformed protobuf in TimeSeries") : 0;
}

/* Exemplars of a series into meta.external: {"metric","hash","labels":{..},"value","ts"}. */
static int render_exemplars(struct ctx *x, const struct family *fm, struct pb msg, uint64_t hash)
{
	struct pbf f, g;
	int rc, rs;

	while ((rc = pb_next(&msg, &f)) > 0) {
		struct pb e = f.sub;
		double v = 0;
		int64_t ms = 0, ns = 0;
		bool any = false;

		if (f.num != TS_EXEMPLARS)
			continue;
		TRY(buf_puts(&x->ex, x->ex.len ? ",{\"metric\":" : "{\"metric\":"));
		TRY(mpjson_put_string(&x->ex, fm->name.p, fm->name.n));
		TRY(buf_puts(&x->ex, ",\"hash\":"));
		TRY(buf_put_u64(&x->ex, hash));
		TRY(buf_puts(&x->ex, ",\"labels\":{"));
		while ((rs = pb_next(&e, &g)) > 0) {
			struct str k, lv;

			if (g.num == 1 && g.wt == WT_LEN) {
				TRY(read_label(x, g.sub, &k, &lv));
				TRY(buf_puts(&x->ex, any ? "," : ""));
				TRY(mpjson_put_string(&x->ex, k.p, k.n));
				TRY(buf_putc(&x->ex, ':'));
				TRY(mpjson_put_string(&x->ex, lv.p, lv.n));
				any = true;
			} else if (g.num == 2 && g.wt == WT_I64) {
				v = pb_double(g.v);
			} else if (g.num == 3 && g.wt == WT_VARINT) {
				ms = (int64_t)g.v;
			} else if (g.num >= 1 && g.num <= 3) {
				return fail(x, "Exemplar field %u has wire type %u", g.num, g.wt);
			}
		}
		if (rs < 0)
			return fail(x, "malformed protobuf in Exemplar");
		TRY(ms_to_ns(x, ms, &ns));
		TRY(buf_puts(&x->ex, "},\"value\":"));
		TRY(mpjson_put_double(&x->ex, v));
		TRY(buf_puts(&x->ex, ",\"ts\":"));
		TRY(buf_put_i64(&x->ex, ns));
		TRY(buf_putc(&x->ex, '}'));
	}
	return rc < 0 ? fail(x, "malformed protobuf in TimeSeries") : 0;
}

static int render_family(struct ctx *x, const struct family *fm)
{
	const struct meta *m = NULL;
	int type = fm->hist ? 5 : family_type(x, fm->name, &m), si;
	bool first = true;
	uint64_t hash;

	if (fm->hist)
		m = meta_find(x, fm->name.p, fm->name.n);
	TRY(family_head(x, fm, type, m));
	for (si = fm->first; si >= 0; si = x->series[si].next) {
		struct pb msg = x->series[si].msg;

		TRY(series_tail(x, fm, msg, &hash));
		if (fm->hist)
			TRY(prw_hist_render(&x->hist, msg, TS_HISTOGRAMS, &x->metrics, x->lab.data, x->lab.len,
						  &first, &x->samples, x->err, x->errlen));
		else
			TRY(render_samples(x, msg, &first));
		TRY(render_exemplars(x, fm, msg, hash));
	}
	return buf_puts(&x->metrics, "]}");
}

static int render(struct ctx *x, struct chunk_builder *cb)
{
	size_t i;

	if (!(x->hash = cmhash_new()))
		return -ENOMEM;
	TRY(buf_putc(&x->metrics, '['));
	for (i = 0; i < x->nfam; i++)
		TRY(render_family(x, &x->fam[i]));
	TRY(buf_putc(&x->metrics, ']'));
	TRY(buf_puts(&x->line, "{\"meta\":{\"cmetrics\":{\"producer\":\"prometheus_remote_write\"},\"external\":"));
	if (x->ex.len) {
		TRY(buf_puts(&x->line, "{\"prometheus_remote_write\":{\"exemplars\":["));
		TRY(buf_append(&x->line, x->ex.data, x->ex.len));
		TRY(buf_puts(&x->line, "]}}"));
	} else {
		TRY(buf_puts(&x->line, "{}"));
	}
	TRY(buf_puts(&x->line, ",\"processing\":{\"static_labels\":[]}},\"metrics\":"));
	TRY(buf_append(&x->line, x->metrics.data, x->metrics.len));
	TRY(buf_putc(&x->line, '}'));
	return chunk_add_line(cb, x->line.data, x->line.len);
}

int prw_decode(const char *p, size_t n, struct prw_meta_cache *cache, struct chunk_builder *cb, uint64_t *samples,
	       char *err, size_t errlen)
{
	struct ctx *x = calloc(1, sizeof(*x));
	size_t max = cb->text.max, i;
	int rc;

	*samples = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!x)
		return -ENOMEM;
	x->err = err;
	x->errlen = errlen;
	x->cache = cache;
	buf_init(&x->line, max);
	buf_init(&x->metrics, max);
	buf_init(&x->ex, max);
	buf_init(&x->lab, max);
	if ((rc = read_request(x, p, n)) == 0 && (rc = build_index(x)) == 0 && (rc = remember_metadata(x)) == 0 &&
	    x->nfam > 0) {
		prw_meta_cache_read_begin(cache);
		if ((rc = render(x, cb)) == 0)
			*samples = x->samples;
		prw_meta_cache_read_end(cache);
	}
	if (rc == -ENOSPC && err && errlen)
		snprintf(err, errlen, "the rendered metrics are over the limit of %zu bytes", max);
	for (i = 0; i < x->nfam; i++)
		free(x->fam[i].keys);
	free(x->fam);
	free(x->series);
	free(x->meta);
	htab_free(&x->fam_ix);
	htab_free(&x->meta_ix);
	buf_free(&x->line);
	buf_free(&x->metrics);
	buf_free(&x->ex);
	buf_free(&x->lab);
	cmhash_free(x->hash);
	free(x);
	return rc;
}
