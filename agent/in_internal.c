/* in_internal.c: inputs that generate records in-process: dummy and self_metrics. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "jsonmp.h"
#include "log.h"

struct ticker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct input_instance *in;
	struct buf record;     /* dummy: the record as msgpack */
	uint64_t emitted;
	void (*tick)(struct ticker *t);
	double interval;       /* seconds between ticks */
};

static void *ticker_main(void *arg)
{
	struct ticker *t = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		long long ns = (long long)(t->interval * 1e9);

		next.tv_sec += (time_t)(ns / 1000000000);
		next.tv_nsec += (long)(ns % 1000000000);
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &next) != ETIMEDOUT)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		t->tick(t);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static int ticker_start(struct input_instance *in, struct ticker *t, char *err, size_t errlen)
{
	pthread_condattr_t ca;

	t->in = in;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
		snprintf(err, errlen, "%s: cannot start a thread", in->name);
		return -EAGAIN;
	}
	in->priv = t;
	return 0;
}

static void ticker_stop(struct input_instance *in)
{
	struct ticker *t = in->priv;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	buf_free(&t->record);
	free(t);
	in->priv = NULL;
}

static const char *instance_tag(struct input_instance *in)
{
	return in->conf.tag && *in->conf.tag ? in->conf.tag : in->name;
}

/* ---- dummy ---- */

static void dummy_tick(struct ticker *t)
{
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
	struct ticker *t = calloc(1, sizeof(*t));
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
	t->tick = dummy_tick;
	t->interval = 1.0 / in->conf.rate;
	if ((rc = ticker_start(in, t, err, errlen)) < 0) {
		buf_free(&t->record);
		free(t);
	}
	return rc;
}

/* ---- self_metrics ---- */

static void self_metrics_tick(struct ticker *t)
{
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
	struct ticker *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	if (!(in->conf.scrape_interval > 0)) {
		snprintf(err, errlen, "%s: scrape_interval must be above 0", in->name);
		free(t);
		return -EINVAL;
	}
	buf_init(&t->record, 0);
	t->tick = self_metrics_tick;
	t->interval = in->conf.scrape_interval;
	if ((rc = ticker_start(in, t, err, errlen)) < 0)
		free(t);
	return rc;
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
	{ "threaded", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

static const struct opt_def self_metrics_opts[] = {
	{ "name", OPT_STRING, "self_metrics", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag of the metrics (default: the instance name)" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name" },
	{ "scrape_interval", OPT_DOUBLE, "2", 0, 86400, OFF(scrape_interval), "seconds between scrapes" },
	{ "scrape_on_start", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "threaded", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

const struct input_plugin input_dummy = {
	.name = "dummy",
	.help = "Generates a fixed record at a fixed rate (like Fluent Bit's dummy)",
	.opts = dummy_opts,
	.start = dummy_start,
	.stop = ticker_stop,
};

const struct input_plugin input_self_metrics = {
	.name = "self_metrics",
	.alias = "fluentbit_metrics",
	.help = "Appends the agent's own metrics to the metrics stream every scrape_interval",
	.opts = self_metrics_opts,
	.start = self_metrics_start,
	.stop = ticker_stop,
};
