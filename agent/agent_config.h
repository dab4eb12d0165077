/* agent_config.h: the agent's configuration: flags, YAML and classic files, one option table. */
#ifndef VIVO_CONFIG_H
#define VIVO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"

struct filter_chain;

struct service_conf {
	char *log_level;
	char *listen;               /* default bind address of every listener */
	bool http_server;           /* the ops server (2020) */
	char *http_listen;
	long long http_port;
	bool ui;
	char *ui_listen;
	long long ui_port;
	bool demo;
	struct opt_list parsers_file;
	long long grace;            /* seconds SIGTERM gives requests and frames in flight */
};

struct exporter_conf {
	char *name;
	char *match;
	char *host;
	long long port;
	bool empty_stream_on_read;
	uint64_t stream_queue_size;
	char *http_cors_allow_origin;
	char *alias;
};

struct input_entry {
	const struct input_plugin *plugin;
	struct input_conf conf;
};

struct agent_config {
	char *path;                 /* config file, or NULL */
	struct service_conf service;
	struct exporter_conf exporter;
	struct input_entry *inputs;
	size_t ninputs;
	struct filter_chain *filters; /* the [FILTER]s, in order (NULL: none) */
};

/* Parse argv into `cfg` (loading --config FILE, then applying the other flags over it).
 * Returns 0 to run, 1 when --help/--version/--print-config-reference printed and the
 * program should exit 0, -EINVAL with a message in `err` (file:line for files). */
int config_from_args(int argc, char **argv, struct agent_config *cfg, char *err, size_t errlen);
/* Load a config file (YAML or classic, by content) over the defaults. */
int config_load_file(const char *path, struct agent_config *cfg, char *err, size_t errlen);
/* Load config text (`name` for messages). Used by the file loader and the fuzzers. */
int config_load_text(const char *text, size_t n, const char *name, struct agent_config *cfg,
		     char *err, size_t errlen);
/* Defaults with no inputs. */
int config_init(struct agent_config *cfg);
void config_free(struct agent_config *cfg);
/* Write the option reference (Markdown) generated from the tables to `out`. */
int config_reference(struct buf *out);
/* One table of the reference: a "## title" heading, `intro`, a row per option. */
int config_reference_table(struct buf *out, const char *title, const char *intro, const struct opt_def *t);

#endif
