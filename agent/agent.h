/* agent.h: the running agent: streams, inputs, servers and settings, wired by main. */
#ifndef VIVO_AGENT_H
#define VIVO_AGENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent_config.h"
#include "exporter.h"
#include "httpd.h"
#include "input.h"
#include "store.h"

struct agent {
	struct stream *streams[STREAM_COUNT];
	struct agent_config cfg;
	struct exporter *exporter;
	struct httpd *exporter_srv;
	struct httpd *ui_srv;
	struct httpd *ops_srv;
	struct input_instance **inputs;
	size_t ninputs;
	struct timespec started;   /* CLOCK_MONOTONIC */
	time_t started_wall;
	atomic_bool up;            /* every listener bound */
};

/* Self-metrics, as Prometheus text (ops endpoint) and as one cmetrics-shaped JSON line
 * (the self_metrics input). Both append to `out`. 0 or -errno. */
int agent_metrics_prometheus(struct agent *a, struct buf *out);
int agent_metrics_cmetrics(struct agent *a, struct buf *out);
/* Fluent Bit 5.1.1's internal metrics (what its vivo_exporter serves on
 * /api/v1/internal/metrics): the families Vivo has figures for, with Fluent Bit's names,
 * descriptions and labels and Vivo's instance names, as one cmetrics JSON object. */
int agent_metrics_internal(struct agent *a, struct buf *out);
/* Resident set size in bytes (0 if unknown). */
uint64_t agent_rss_bytes(void);

/* The agent all inputs and servers belong to (one per process). */
extern struct agent *agent_current;

#endif
