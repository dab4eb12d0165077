/* in_internal/internal.c: inputs that generate records in-process: dummy and self_metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "jsonmp.h"
#include "log.h"
#include "ticker.h"

/* State of one dummy or self_metrics instance. */
struct internal {
	struct input_instance *in;
	struct ticker *ticker;
	struct buf record;     /* dummy: the record as msgpack */
	uint64_t emitted;
};

static void internal_stop(struct input_instance *in)
{
	struct internal *t = in->priv;

	if (!t)
		return;
	ticker_stop(t->ticker);
	buf_free(&t->record);
	free(t);
	in->priv = NULL;
}

/* Start ticking `tick` for `in`; on failure `t` is freed. */
static int internal_start(struct input_instance *in, struct internal *t, double interval,
			  void (*tick)(void *), char *err, size_t errlen)
{
	int rc;

	t->in = in;
	if ((rc = ticker_start(interval, tick, t, &t->ticker)) < 0) {
		snprintf(err, errlen, "%s: %s", in->name, rc == -EINVAL ? "the interval must be above 0" : "cannot start a thread");
		buf_free(&t->record);
		free(t);
		return rc;
	}
	in->priv = t;
	return 0;
}

static const char *instance_tag(struct input_instance *in)
{
	return in->conf.tag && *in->conf.tag ? in->conf.tag : in->name;
}

/* ---- dummy ---- */

static void dummy_tick(void *arg)
{
	struct internal *t = arg;
	struct input_instance *in = t->in;
	struct chunk_builder cb;
	struct timespec now;
	struct mp_cur c;

	if (in->conf.samples > 0 && t->emitted >= (uint64_t)in->conf.samples)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (chunk_builder_init(&cb, STREAM_LOGS, instance_tag(in), in->plugin->name, in->name, 1 << 20) < 0)
		return;
	mp_cur_init(&c, t->record.data, t->record.len);
	if (chunk_add_log(&cb, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, NULL, &c) == 0 &&
	    input_emit(in, &cb) == 0) {
		atomic_fetch_add(&in->stats.records, 1);
		t->emitted++;
	}
	chunk_builder_free(&cb);
}

static int dummy_start(struct input_instance *in, char *err, size_t errlen)
{
	struct internal *t = calloc(1, sizeof(*t));
	struct mp_cur c;
	struct mp_obj o;
	size_t off = 0;
	char perr[128];
	int rc;

	if (!t)
		return -ENOMEM;
	if (!(in->conf.rate > 0)) {
		snprintf(err, errlen, "%s: rate must be above 0", in->name);
		free(t);
		return -EINVAL;
	}
	buf_init(&t->record, 64 * 1024);
	rc = jsonmp_next(in->conf.dummy, strlen(in->conf.dummy), &off, &t->record, perr, sizeof(perr));
	mp_cur_init(&c, t->record.data, t->record.len);
	if (rc != 0 || mp_read(&c, &o) < 0 || o.type != MP_MAP) {
		snprintf(err, errlen, "%s: dummy must be one JSON object (%s)", in->name, rc < 0 ? perr : "not an object");
		buf_free(&t->record);
		free(t);
		return -EINVAL;
	}
	return internal_start(in, t, 1.0 / in->conf.rate, dummy_tick, err, errlen);
}

/* ---- self_metrics ---- */

static void self_metrics_tick(void *arg)
{
	struct internal *t = arg;
	struct input_instance *in = t->in;
	struct chunk_builder cb;
	struct buf line;

	if (!agent_current)
		return;
	buf_init(&line, 4 * 1024 * 1024);
	if (agent_metrics_cmetrics(agent_current, &line) == 0 &&
	    chunk_builder_init(&cb, STREAM_METRICS, instance_tag(in), in->plugin->name, in->name, 8 * 1024 * 1024) == 0) {
		if (chunk_add_line(&cb, line.data, line.len) == 0 && input_emit(in, &cb) == 0)
			atomic_fetch_add(&in->stats.records, 1);
		chunk_builder_free(&cb);
	}
	buf_free(&line);
}

static int self_metrics_start(struct input_instance *in, char *err, size_t errlen)
{
	struct internal *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (!(in->conf.scrape_interval > 0)) {
		snprintf(err, errlen, "%s: scrape_interval must be above 0", in->name);
		free(t);
		return -EINVAL;
	}
	buf_init(&t->record, 0);
	return internal_start(in, t, in->conf.scrape_interval, self_metrics_tick, err, errlen);
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def dummy_opts[] = {
	{ "name", OPT_STRING, "dummy", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag of the records (default: the instance name)" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name" },
	{ "dummy", OPT_STRING, "{\"message\":\"dummy\"}", 0, 0, OFF(dummy), "the record, one JSON object" },
	{ "rate", OPT_DOUBLE, "1", 0, 100000, OFF(rate), "records per second" },
	{ "samples", OPT_INT, "0", 0, 1000000000000LL, OFF(samples), "stop after this many records (0 = never)" },
	{ "metadata", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "start_time_sec", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "start_time_nsec", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "fixed_timestamp", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "copies", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

static const struct opt_def self_metrics_opts[] = {
	{ "name", OPT_STRING, "self_metrics", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag of the metrics (default: the instance name)" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name" },
	{ "scrape_interval", OPT_DOUBLE, "2", 0, 86400, OFF(scrape_interval), "seconds between scrapes" },
	{ "scrape_on_start", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

const struct input_plugin input_dummy = {
	.name = "dummy",
	.help = "Generates a fixed record at a fixed rate (like Fluent Bit's dummy)",
	.opts = dummy_opts,
	.start = dummy_start,
	.stop = internal_stop,
};

const struct input_plugin input_self_metrics = {
	.name = "self_metrics",
	.alias = "fluentbit_metrics",
	.help = "Appends the agent's own metrics to the metrics stream every scrape_interval",
	.opts = self_metrics_opts,
	.start = self_metrics_start,
	.stop = internal_stop,
};
