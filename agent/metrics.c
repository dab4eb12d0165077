/* metrics.c: the agent's self-metrics, as Prometheus text and as a cmetrics-shaped line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "cmhash.h"
#include "mpjson.h"
#include "refuse.h"

struct agent *agent_current;

#define M_COUNTER METRIC_COUNTER
#define M_GAUGE METRIC_GAUGE

uint64_t agent_rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct err_walk {
	metric_emit_fn emit;
	void *arg;
};

static const char errors_desc[] = "Requests, frames or connections refused, by input or listener and reason";

static int emit_refusal(const char *where, const char *reason, uint64_t count, void *arg)
{
	struct err_walk *w = arg;
	struct metric_sample s = { "input", "errors_total", errors_desc, M_COUNTER, "name", where, (double)count,
				   "reason", reason };

	return w->emit(&s, w->arg);
}

/* vivo_input_errors_total{name,reason}: the refusals of the shared refusal logger (inputs and
 * the other listeners), then per input the errors it counted itself, which no reason names
 * ("other"; every input has this row, also at 0). */
static int collect_errors(struct agent *a, metric_emit_fn emit, void *arg)
{
	struct err_walk w = { emit, arg };
	size_t i;
	int rc;

	if ((rc = refuse_each(emit_refusal, &w)) < 0)
		return rc;
	for (i = 0; i < a->ninputs; i++) {
		struct metric_sample s = { "input", "errors_total", errors_desc, M_COUNTER, "name", a->inputs[i]->name,
					   (double)atomic_load(&a->inputs[i]->stats.errors), "reason", "other" };

		if ((rc = emit(&s, arg)) < 0)
			return rc;
	}
	return 0;
}

/* Walk every sample, grouped by family (samples of one family are adjacent). */
static int collect(struct agent *a, metric_emit_fn emit, void *arg)
{
	static const struct { const char *name, *desc; size_t off; } in_fams[] = {
		{ "records_total", "Records accepted by the input", offsetof(struct input_stats, records) },
		{ "bytes_total", "Bytes received by the input (before decompression)", offsetof(struct input_stats, bytes) },
		{ "chunks_total", "Chunks the input appended to a stream", offsetof(struct input_stats, chunks) },
	};
	static const struct { const char *name, *desc; enum metric_type type; size_t off; } st_fams[] = {
		{ "chunks", "Chunks held by the stream", M_GAUGE, offsetof(struct stream_stats, chunks) },
		{ "bytes_used", "Bytes held by the stream (legacy JSON text)", M_GAUGE, offsetof(struct stream_stats, bytes_used) },
		{ "bytes_max", "Byte budget of the stream (stream_queue_size)", M_GAUGE, offsetof(struct stream_stats, bytes_max) },
		{ "appended_total", "Chunks ever appended to the stream", M_COUNTER, offsetof(struct stream_stats, appended) },
		{ "records_total", "Records ever appended to the stream", M_COUNTER, offsetof(struct stream_stats, records) },
		{ "evictions_total", "Chunks evicted to make room", M_COUNTER, offsetof(struct stream_stats, evicted) },
		{ "dropped_total", "Chunks removed by empty_stream_on_read", M_COUNTER, offsetof(struct stream_stats, dropped) },
		{ "reads_total", "Read requests served from the stream", M_COUNTER, offsetof(struct stream_stats, reads) },
	};
	struct stream_stats st[STREAM_COUNT];
	struct timespec now;
	struct metric_sample s;
	size_t f, i;
	int k, rc;

	for (k = 0; k < STREAM_COUNT; k++)
		stream_get_stats(a->streams[k], &st[k]);
	for (f = 0; f < sizeof(in_fams) / sizeof(in_fams[0]); f++) {
		for (i = 0; i < a->ninputs; i++) {
			const atomic_ullong *v = (const atomic_ullong *)(const void *)((const char *)&a->inputs[i]->stats + in_fams[f].off);

			s = (struct metric_sample){ "input", in_fams[f].name, in_fams[f].desc, M_COUNTER, "name",
					     a->inputs[i]->name, (double)atomic_load(v), NULL, NULL };
			if ((rc = emit(&s, arg)) < 0)
				return rc;
		}
	}
	if ((rc = collect_errors(a, emit, arg)) < 0)
		return rc;
	for (f = 0; f < sizeof(st_fams) / sizeof(st_fams[0]); f++) {
		for (k = 0; k < STREAM_COUNT; k++) {
			const uint64_t *v = (const uint64_t *)(const void *)((const char *)&st[k] + st_fams[f].off);

			s = (struct metric_sample){ "stream", st_fams[f].name, st_fams[f].desc, st_fams[f].type, "stream",
					     stream_kind_name((enum stream_kind)k), (double)*v, NULL, NULL };
			if ((rc = emit(&s, arg)) < 0)
				return rc;
		}
	}
	for (i = 0; input_plugins[i]; i++)
		if (input_plugins[i]->metrics && (rc = input_plugins[i]->metrics(emit, arg)) < 0)
			return rc;
	s = (struct metric_sample){ "exporter", "held_polls", "Long-polls (wait=) held now", M_GAUGE, NULL, NULL,
			     a->exporter ? (double)exporter_held(a->exporter) : 0.0, NULL, NULL };
	if ((rc = emit(&s, arg)) < 0)
		return rc;
	s = (struct metric_sample){ "process", "resident_memory_bytes", "Resident set size", M_GAUGE, NULL, NULL,
			     (double)agent_rss_bytes(), NULL, NULL };
	if ((rc = emit(&s, arg)) < 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (struct metric_sample){ "process", "uptime_seconds", "Seconds since the agent started", M_GAUGE, NULL, NULL,
			     (double)(now.tv_sec - a->started.tv_sec), NULL, NULL };
	return emit(&s, arg);
}

struct prom_state {
	struct buf *out;
	const char *last_ss, *last_name;
};

static int prom_emit(const struct metric_sample *s, void *arg)
{
	struct prom_state *p = arg;
	int rc = 0;

	if (p->last_ss != s->ss || p->last_name != s->name) {
		rc = buf_printf(p->out, "# HELP vivo_%s_%s %s\n# TYPE vivo_%s_%s %s\n", s->ss, s->name, s->desc,
				s->ss, s->name, s->type == M_COUNTER ? "counter" : "gauge");
		p->last_ss = s->ss;
		p->last_name = s->name;
	}
	if (rc == 0 && s->label && s->label2)
		rc = buf_printf(p->out, "vivo_%s_%s{%s=\"%s\",%s=\"%s\"} %.17g\n", s->ss, s->name, s->label, s->lval,
				s->label2, s->lval2, s->value);
	else if (rc == 0 && s->label)
		rc = buf_printf(p->out, "vivo_%s_%s{%s=\"%s\"} %.17g\n", s->ss, s->name, s->label, s->lval, s->value);
	else if (rc == 0)
		rc = buf_printf(p->out, "vivo_%s_%s %.17g\n", s->ss, s->name, s->value);
	return rc;
}

int agent_metrics_prometheus(struct agent *a, struct buf *out)
{
	struct prom_state p = { .out = out };

	return collect(a, prom_emit, &p);
}

/* cmetrics' hash of the sample's series (lib/cmhash: XXH3-64 over "vivo_<ss>_<name>", then
 * the label values; 0 without labels), as docs/streams.md says. 0 or -ENOMEM. */
static int label_hash(const struct metric_sample *s, uint64_t *h)
{
	const char *v[2] = { s->lval, s->lval2 };

	return cmhash_strings("vivo", s->ss, s->name, v, s->label ? (s->label2 ? 2 : 1) : 0, h);
}

struct cm_state {
	struct buf *out;
	const char *last_ss, *last_name;
	bool any;
	uint64_t ts;
};

static int cm_emit(const struct metric_sample *s, void *arg)
{
	struct cm_state *c = arg;
	uint64_t hash;
	int rc = 0;

	if (c->last_ss != s->ss || c->last_name != s->name) {
		if (c->any)
			rc |= buf_puts(c->out, "]},");
		rc |= buf_printf(c->out, "{\"meta\":{\"ver\":2,\"type\":%d,\"opts\":{\"ns\":\"vivo\",\"ss\":\"%s\","
				 "\"name\":\"%s\",\"desc\":", (int)s->type, s->ss, s->name);
		rc |= mpjson_put_string(c->out, s->desc, strlen(s->desc));
		rc |= buf_printf(c->out, "},\"labels\":[%s%s%s%s%s%s],\"aggregation_type\":%d},\"values\":[",
				 s->label ? "\"" : "", s->label ? s->label : "", s->label ? "\"" : "",
				 s->label2 ? ",\"" : "", s->label2 ? s->label2 : "", s->label2 ? "\"" : "",
				 s->type == M_COUNTER ? 2 : 0);
		c->last_ss = s->ss;
		c->last_name = s->name;
		c->any = true;
	} else {
		rc |= buf_putc(c->out, ',');
	}
	rc |= buf_printf(c->out, "{\"ts\":%llu,\"value\":", (unsigned long long)c->ts);
	rc |= mpjson_put_double(c->out, s->value);
	if (s->label) {
		rc |= buf_puts(c->out, ",\"labels\":[");
		rc |= mpjson_put_string(c->out, s->lval, strlen(s->lval));
		if (s->label2) {
			rc |= buf_putc(c->out, ',');
			rc |= mpjson_put_string(c->out, s->lval2, strlen(s->lval2));
		}
		rc |= buf_putc(c->out, ']');
	}
	rc |= label_hash(s, &hash);
	rc |= buf_printf(c->out, ",\"hash\":%llu}", (unsigned long long)hash);
	return rc ? -ENOSPC : 0;
}

int agent_metrics_cmetrics(struct agent *a, struct buf *out)
{
	struct cm_state c = { .out = out };
	struct timespec now;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	c.ts = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	if ((rc = buf_puts(out, "{\"meta\":{\"cmetrics\":{},\"external\":{},\"processing\":{\"static_labels\":[]}},"
			   "\"metrics\":[")) < 0)
		return rc;
	if ((rc = collect(a, cm_emit, &c)) < 0)
		return rc;
	return buf_puts(out, c.any ? "]}]}" : "]}");
}

/* ---- /api/v1/internal/metrics: Fluent Bit's own metric families, Vivo's figures ---- */

/* One family of Fluent Bit's internal metrics, named and described exactly as Fluent Bit
 * 5.1.1 serves it (tests/fixtures/fluent-bit-5.1.1/exporter-internal-metrics-01.txt). */
struct fb_family {
	const char *ss, *name, *desc;
	enum metric_type type;
	const char *labels[3];
	size_t nlabels;
};

struct fb_writer {
	struct buf *out;
	const struct fb_family *fam; /* the family open, whose name the hash covers */
	uint64_t ts;
	bool first_family, first_value;
	int rc;
};

static void fb_strings(struct fb_writer *w, const char *const *v, size_t n)
{
	size_t i;

	w->rc |= buf_putc(w->out, '[');
	for (i = 0; i < n; i++) {
		if (i)
			w->rc |= buf_putc(w->out, ',');
		w->rc |= mpjson_put_string(w->out, v[i], strlen(v[i]));
	}
	w->rc |= buf_putc(w->out, ']');
}

static void fb_family_open(struct fb_writer *w, const struct fb_family *f)
{
	w->rc |= buf_puts(w->out, w->first_family ? "" : "]},");
	w->first_family = false;
	w->first_value = true;
	w->fam = f;
	w->rc |= buf_printf(w->out, "{\"meta\":{\"ver\":2,\"type\":%d,\"opts\":{\"ns\":\"fluentbit\",\"ss\":\"%s\","
			    "\"name\":\"%s\",\"desc\":", (int)f->type, f->ss, f->name);
	w->rc |= mpjson_put_string(w->out, f->desc, strlen(f->desc));
	w->rc |= buf_puts(w->out, ",\"unit\":\"\"},\"labels\":");
	fb_strings(w, f->labels, f->nlabels);
	/* cmetrics writes aggregation_type for counters (cumulative) and not for gauges. */
	if (f->type == M_COUNTER)
		w->rc |= buf_puts(w->out, ",\"aggregation_type\":2");
	w->rc |= buf_puts(w->out, "},\"values\":[");
}

static void fb_value(struct fb_writer *w, double v, const char *const *lv, size_t n)
{
	uint64_t h;

	w->rc |= buf_puts(w->out, w->first_value ? "" : ",");
	w->first_value = false;
	w->rc |= buf_printf(w->out, "{\"ts\":%llu,\"value\":", (unsigned long long)w->ts);
	w->rc |= mpjson_put_double(w->out, v);
	if (n) {
		w->rc |= buf_puts(w->out, ",\"labels\":");
		fb_strings(w, lv, n);
	}
	/* cmetrics' hash (lib/cmhash), so each value carries the number Fluent Bit writes for the
	 * same family and labels; no labels hash to 0, as in cmetrics. */
	w->rc |= cmhash_strings("fluentbit", w->fam->ss, w->fam->name, lv, n, &h);
	w->rc |= buf_printf(w->out, ",\"hash\":%llu}", (unsigned long long)h);
}

static void fb_inputs(struct fb_writer *w, struct agent *a, const struct fb_family *f, size_t off)
{
	size_t i;

	fb_family_open(w, f);
	for (i = 0; i < a->ninputs; i++) {
		const atomic_ullong *v = (const atomic_ullong *)(const void *)((const char *)&a->inputs[i]->stats + off);
		const char *name = a->inputs[i]->name;

		fb_value(w, (double)atomic_load(v), &name, 1);
	}
}

int agent_metrics_internal(struct agent *a, struct buf *out)
{
	static const struct fb_family fams[] = {
		{ "", "uptime", "Number of seconds that Fluent Bit has been running.", M_COUNTER, { "hostname" }, 1 },
		{ "input", "bytes_total", "Number of input bytes.", M_COUNTER, { "name" }, 1 },
		{ "input", "records_total", "Number of input records.", M_COUNTER, { "name" }, 1 },
		{ "output", "proc_records_total", "Number of processed output records.", M_COUNTER, { "name" }, 1 },
		{ "", "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", M_GAUGE, { "hostname" }, 1 },
		{ "build", "info", "Build version information.", M_GAUGE, { "hostname", "version", "os" }, 3 },
		{ "storage", "chunks", "Total number of chunks in the storage layer.", M_GAUGE, { NULL }, 0 },
		{ "storage", "mem_chunks", "Total number of memory chunks.", M_GAUGE, { NULL }, 0 },
	};
	struct fb_writer w = { .out = out, .first_family = true };
	struct stream_stats st;
	struct timespec now;
	struct utsname un;
	char host[256];
	const char *lv[3];
	uint64_t records = 0, chunks = 0;
	int k;

	clock_gettime(CLOCK_REALTIME, &now);
	w.ts = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	lv[0] = host;
	lv[1] = PACKAGE_VERSION;
	lv[2] = uname(&un) == 0 && strcmp(un.sysname, "Linux") == 0 ? "linux" : "unknown";
	for (k = 0; k < STREAM_COUNT; k++) {
		stream_get_stats(a->streams[k], &st);
		records += st.records;
		chunks += st.chunks;
	}
	w.rc |= buf_puts(out, "{\"meta\":{\"cmetrics\":{},\"external\":{},\"processing\":{\"static_labels\":[]}},\"metrics\":[");
	clock_gettime(CLOCK_MONOTONIC, &now);
	fb_family_open(&w, &fams[0]);
	fb_value(&w, (double)(now.tv_sec - a->started.tv_sec), lv, 1);
	fb_inputs(&w, a, &fams[1], offsetof(struct input_stats, bytes));
	fb_inputs(&w, a, &fams[2], offsetof(struct input_stats, records));
	fb_family_open(&w, &fams[3]);
	{
		const char *out_name = "vivo_exporter.0";

		fb_value(&w, (double)records, &out_name, 1);
	}
	fb_family_open(&w, &fams[4]);
	fb_value(&w, (double)a->started_wall, lv, 1);
	fb_family_open(&w, &fams[5]);
	fb_value(&w, (double)a->started_wall, lv, 3);
	fb_family_open(&w, &fams[6]);
	fb_value(&w, (double)chunks, NULL, 0);
	fb_family_open(&w, &fams[7]);
	fb_value(&w, (double)chunks, NULL, 0);
	w.rc |= buf_puts(out, "]}]}");
	return w.rc ? -ENOSPC : 0;
}
