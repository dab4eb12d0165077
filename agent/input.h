/* input.h: the input plugin interface: a table of plugins, instances with counters. */
#ifndef VIVO_INPUT_H
#define VIVO_INPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"
#include "store.h"

/* Every key any input accepts; each plugin's option table names the ones it uses. */
struct input_conf {
	char *name;
	char *tag;
	char *alias;
	char *listen;
	long long port;
	uint64_t buffer_max_size;
	uint64_t buffer_chunk_size;
	long long successful_response_code;
	struct opt_list success_header;
	char *time_key;
	char *tag_key;
	/* dummy */
	char *dummy;
	double rate;
	long long samples;
	/* self_metrics */
	double scrape_interval;
	/* forward */
	char *shared_key;
	char *self_hostname;
	struct opt_list users;
	char *unix_path;
	char *unix_perm;
	bool tls;
	char *tls_crt_file;
	char *tls_key_file;
	char *tag_prefix;
	bool empty_shared_key;
	long long workers;
	/* opentelemetry, prometheus_remote_write */
	bool tag_from_uri;
	/* prometheus_remote_write */
	char *uri;
	/* vivo (follows other agents' exporters) */
	struct opt_list follow;
	double refresh;
	double grace;
	double linger;
	long long wait;
	long long limit;
	long long grpc_port;
};

/* Per-instance counters (self-metrics). */
struct input_stats {
	atomic_ullong records;
	atomic_ullong bytes;
	atomic_ullong chunks;
	atomic_ullong errors;
};

struct input_instance;

/* One self-metrics sample (spec agent.md 6): vivo_<ss>_<name>{label="lval",label2="lval2"}. */
enum metric_type { METRIC_COUNTER = 0, METRIC_GAUGE = 1 };
struct metric_sample {
	const char *ss;       /* subsystem: input, stream, process, follow */
	const char *name;     /* e.g. records_total */
	const char *desc;
	enum metric_type type;
	const char *label;    /* label key or NULL */
	const char *lval;
	double value;
	const char *label2;   /* a second label key or NULL */
	const char *lval2;
};
typedef int (*metric_emit_fn)(const struct metric_sample *s, void *arg);

struct input_plugin {
	const char *name;          /* as written in configs */
	const char *alias;         /* another accepted name (e.g. fluentbit_metrics), or NULL */
	const char *help;
	const struct opt_def *opts;
	bool listens;              /* has a TCP port (and a `listen` address) */
	const char *listener;      /* its name in "listening <name> on ADDR:PORT" (http, forward, otlp) */
	bool opt_in;               /* runs only when a config names it, not among the default inputs */
	const char *listener2;     /* a second listener's name (otlp_grpc), or NULL */
	/* Start serving; `err` gets a reason. Runs on the main thread. */
	int (*start)(struct input_instance *in, char *err, size_t errlen);
	/* Stop and free everything start made. Finishes in-flight work (bounded). */
	void (*stop)(struct input_instance *in);
	/* Stop accepting new connections now (SIGTERM drains every input first, then stops them
	 * one by one), or NULL. */
	void (*drain)(struct input_instance *in);
	/* Extra self-metrics of the plugin's running instances, family by family (the
	 * samples of one family adjacent), or NULL. 0 or the first error of emit. */
	int (*metrics)(metric_emit_fn emit, void *arg);
};

struct input_instance {
	const struct input_plugin *plugin;
	struct input_conf conf;
	char name[64];                       /* "<plugin>.<n>" (n counts all inputs) or the alias */
	struct stream **streams;             /* STREAM_COUNT streams, owned by the agent */
	struct input_stats stats;
	uint16_t bound_port;                 /* set by start for listening inputs */
	uint16_t bound_port2;                /* the second listener's, 0 when it has none */
	void *priv;
};

/* The plugin table (NULL-terminated). */
extern const struct input_plugin *const input_plugins[];
/* Find a plugin by name or alias. */
const struct input_plugin *input_plugin_find(const char *name);

/* The plugin name an instance is numbered under: the alias when the config names the
 * plugin by it (fluentbit_metrics), else the plugin's name. */
const char *input_config_name(const struct input_plugin *p, const char *written);
/* Name every instance as Fluent Bit does: its alias, or "<plugin>.<n>" with n its
 * position among all `n` inputs (forward.0, http.1, opentelemetry.2). */
void input_name_instances(struct input_instance **ins, size_t n);

/* Append a built chunk to its stream and count it for `in`; a builder with no records
 * appends nothing and succeeds. 0 or -errno. */
int input_emit(struct input_instance *in, struct chunk_builder *cb);

#endif
