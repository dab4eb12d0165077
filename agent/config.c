/* config.c: the agent's option tables, the flag table, and applying config documents. */
#include "agent_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"

#define SOFF(f) offsetof(struct service_conf, f)
static const struct opt_def service_opts[] = {
	{ "log_level", OPT_STRING, "info", 0, 0, SOFF(log_level), "error, warn, info, debug or trace" },
	{ "listen", OPT_STRING, "127.0.0.1", 0, 0, SOFF(listen), "default bind address of every listener (Vivo)" },
	{ "http_server", OPT_BOOL, "on", 0, 0, SOFF(http_server), "serve health and self-metrics (port 2020)" },
	{ "http_listen", OPT_STRING, NULL, 0, 0, SOFF(http_listen), "bind address of the health server" },
	{ "http_port", OPT_INT, "2020", 0, 65535, SOFF(http_port), "port of the health server" },
	{ "ui", OPT_BOOL, "on", 0, 0, SOFF(ui), "serve the web UI (Vivo)" },
	{ "ui_listen", OPT_STRING, NULL, 0, 0, SOFF(ui_listen), "bind address of the web UI (Vivo)" },
	{ "ui_port", OPT_INT, "8000", 0, 65535, SOFF(ui_port), "port of the web UI (Vivo)" },
	{ "demo", OPT_BOOL, "off", 0, 0, SOFF(demo), "add demo inputs: dummy logs, self-metrics (Vivo)" },
	{ "flush", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit flush interval; Vivo stores records as they arrive" },
	{ "grace", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit shutdown grace; Vivo finishes in-flight requests" },
	{ "daemon", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit daemon mode; run Vivo under a supervisor instead" },
	{ "hot_reload", OPT_COMPAT, NULL, 0, 0, 0, "Vivo always reloads its config on SIGHUP" },
	{ "parsers_file", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit parsers; Vivo has no parser filters" },
	{ "http_server.http2", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "health_check", OPT_COMPAT, NULL, 0, 0, 0, "Vivo's /api/v1/health is always on" },
	{ "storage.metrics", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

#define EOFF(f) offsetof(struct exporter_conf, f)
static const struct opt_def exporter_opts[] = {
	{ "name", OPT_STRING, "vivo_exporter", 0, 0, EOFF(name), "plugin name" },
	{ "match", OPT_STRING, "*", 0, 0, EOFF(match), "tag pattern; Vivo exports every record" },
	{ "host", OPT_STRING, NULL, 0, 0, EOFF(host), "bind address of the exporter API (default: the agent's listen)" },
	{ "port", OPT_INT, "2025", 0, 65535, EOFF(port), "port of the exporter API" },
	{ "empty_stream_on_read", OPT_BOOL, "off", 0, 0, EOFF(empty_stream_on_read), "a GET removes the chunks it returned" },
	{ "stream_queue_size", OPT_SIZE, "20M", 1, 0, EOFF(stream_queue_size), "byte budget of each stream (decimal units)" },
	{ "http_cors_allow_origin", OPT_STRING, NULL, 0, 0, EOFF(http_cors_allow_origin), "value of Access-Control-Allow-Origin" },
	{ "workers", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit flush workers; Vivo appends under one lock per stream" },
	{ "alias", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "retry_limit", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	OPT_END,
};

int config_init(struct agent_config *cfg)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if ((rc = opts_defaults(service_opts, &cfg->service)) < 0 ||
	    (rc = opts_defaults(exporter_opts, &cfg->exporter)) < 0)
		return rc;
	return 0;
}

void config_free(struct agent_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->ninputs; i++)
		opts_free(cfg->inputs[i].plugin->opts, &cfg->inputs[i].conf);
	free(cfg->inputs);
	opts_free(service_opts, &cfg->service);
	opts_free(exporter_opts, &cfg->exporter);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* Add an input with its defaults. NULL on ENOMEM. */
static struct input_entry *add_input(struct agent_config *cfg, const struct input_plugin *p)
{
	struct input_entry *e = realloc(cfg->inputs, (cfg->ninputs + 1) * sizeof(*e));

	if (!e)
		return NULL;
	cfg->inputs = e;
	e = &cfg->inputs[cfg->ninputs];
	memset(e, 0, sizeof(*e));
	e->plugin = p;
	if (opts_defaults(p->opts, &e->conf) < 0) {
		opts_free(p->opts, &e->conf);
		return NULL;
	}
	cfg->ninputs++;
	return e;
}

static void plugin_names(char *out, size_t n)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; input_plugins[i] && len + 1 < n; i++) {
		int k = snprintf(out + len, n - len, "%s%s%s%s", i ? ", " : "", input_plugins[i]->name,
				 input_plugins[i]->alias ? ", " : "",
				 input_plugins[i]->alias ? input_plugins[i]->alias : "");
		if (k < 0)
			break;
		len += (size_t)k;
	}
}

static int apply_section(const struct conf_doc *d, const struct conf_section *s, const struct opt_def *t,
			 void *base, const char *what, char *err, size_t errlen)
{
	char reason[256], names[1024];
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		const struct opt_def *o = opts_find(t, s->kv[i].key);

		if (!o) {
			opts_names(t, names, sizeof(names));
			snprintf(err, errlen, "%s:%d: unknown key '%s' for %s (supported: %s)", d->file,
				 s->kv[i].line, s->kv[i].key, what, names);
			return -EINVAL;
		}
		if (o->type == OPT_COMPAT)
			continue;
		if ((rc = opts_set(o, base, s->kv[i].val, reason, sizeof(reason))) < 0) {
			if (rc == -ENOMEM)
				return rc;
			snprintf(err, errlen, "%s:%d: %s", d->file, s->kv[i].line, reason);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *section_name(const struct conf_doc *d, const struct conf_section *s, int *line)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcasecmp(s->kv[i].key, "name") == 0) {
			*line = s->kv[i].line;
			return s->kv[i].val;
		}
	}
	*line = s->line;
	return NULL;
}

static int apply_doc(const struct conf_doc *d, struct agent_config *cfg, char *err, size_t errlen)
{
	char names[512];
	bool have_exporter = false;
	size_t i;
	int rc, line;

	for (i = 0; i < d->n; i++) {
		const struct conf_section *s = &d->s[i];
		const char *name = section_name(d, s, &line);

		if (strcmp(s->kind, "service") == 0) {
			if ((rc = apply_section(d, s, service_opts, &cfg->service, "[SERVICE]", err, errlen)) < 0)
				return rc;
		} else if (strcmp(s->kind, "input") == 0) {
			const struct input_plugin *p;
			struct input_entry *e;

			if (!name) {
				snprintf(err, errlen, "%s:%d: input without a 'name'", d->file, s->line);
				return -EINVAL;
			}
			if (!(p = input_plugin_find(name))) {
				plugin_names(names, sizeof(names));
				snprintf(err, errlen, "%s:%d: unknown input plugin '%s' (supported: %s)", d->file, line,
					 name, names);
				return -EINVAL;
			}
			if (!(e = add_input(cfg, p)))
				return -ENOMEM;
			if ((rc = apply_section(d, s, p->opts, &e->conf, p->name, err, errlen)) < 0)
				return rc;
		} else if (strcmp(s->kind, "output") == 0) {
			if (!name) {
				snprintf(err, errlen, "%s:%d: output without a 'name'", d->file, s->line);
				return -EINVAL;
			}
			if (strcasecmp(name, "vivo_exporter") != 0) {
				snprintf(err, errlen, "%s:%d: unknown output plugin '%s' (supported: vivo_exporter)",
					 d->file, line, name);
				return -EINVAL;
			}
			if (have_exporter) {
				snprintf(err, errlen, "%s:%d: only one vivo_exporter output is supported", d->file, line);
				return -EINVAL;
			}
			have_exporter = true;
			if ((rc = apply_section(d, s, exporter_opts, &cfg->exporter, "vivo_exporter", err, errlen)) < 0)
				return rc;
		} else {
			snprintf(err, errlen, "%s:%d: unsupported section [%s] (supported: SERVICE, INPUT, OUTPUT)",
				 d->file, s->line, s->kind);
			return -EINVAL;
		}
	}
	return 0;
}

int config_load_text(const char *text, size_t n, const char *name, struct agent_config *cfg,
		     char *err, size_t errlen)
{
	struct conf_doc d;
	int rc;

	if ((rc = conf_parse(text, n, name, &d, err, errlen)) < 0)
		return rc;
	rc = apply_doc(&d, cfg, err, errlen);
	conf_doc_free(&d);
	return rc;
}

int config_load_file(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct buf b;
	char tmp[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -EINVAL;
	}
	buf_init(&b, 16 * 1024 * 1024);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if ((rc = buf_append(&b, tmp, n)) < 0)
			break;
	if (ferror(f) && rc == 0)
		rc = -EIO;
	fclose(f);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, rc == -ENOSPC ? "larger than 16 MB" : strerror(-rc));
		buf_free(&b);
		return -EINVAL;
	}
	rc = config_load_text(b.data ? b.data : "", b.len, path, cfg, err, errlen);
	buf_free(&b);
	return rc;
}

/* ---- command line ---------------------------------------------------------------- */

enum flag_target { F_SERVICE, F_EXPORTER, F_INPUT, F_CONFIG, F_HELP, F_VERSION, F_REFERENCE };

struct flag_def {
	const char *flag;
	const char *arg;           /* NULL for a switch (sets the key to "on") */
	enum flag_target target;
	const char *plugin;        /* F_INPUT: which plugin's instances it applies to */
	const char *key;
	const char *help;
};

static const struct flag_def flags[] = {
	{ "--config", "FILE", F_CONFIG, NULL, NULL, "load a YAML or classic Fluent Bit config file" },
	{ "--listen", "ADDR", F_SERVICE, NULL, "listen", "default bind address (default 127.0.0.1)" },
	{ "--ui-port", "PORT", F_SERVICE, NULL, "ui_port", "web UI port (default 8000)" },
	{ "--no-ui", NULL, F_SERVICE, NULL, "ui", "do not serve the web UI" },
	{ "--exporter-port", "PORT", F_EXPORTER, NULL, "port", "exporter API port (default 2025)" },
	{ "--exporter-listen", "ADDR", F_EXPORTER, NULL, "host", "exporter API bind address (default: --listen)" },
	{ "--ops-port", "PORT", F_SERVICE, NULL, "http_port", "health and self-metrics port (default 2020)" },
	{ "--http-port", "PORT", F_INPUT, "http", "port", "HTTP input port (default 9010)" },
	{ "--forward-port", "PORT", F_INPUT, "forward", "port", "Forward input port (default 9000)" },
	{ "--otlp-port", "PORT", F_INPUT, "opentelemetry", "port", "OTLP input port: HTTP/1.1, h2c and gRPC (default 4318)" },
	{ "--otlp-grpc-port", "PORT", F_INPUT, "opentelemetry", "grpc_port", "OTLP/gRPC port, h2c (default 4317; -1 = none)" },
	{ "--stream-queue-size", "SIZE", F_EXPORTER, NULL, "stream_queue_size", "byte budget per stream (default 20M)" },
	{ "--empty-stream-on-read", NULL, F_EXPORTER, NULL, "empty_stream_on_read", "a GET removes the chunks it returned" },
	{ "--cors-allow-origin", "ORIGIN", F_EXPORTER, NULL, "http_cors_allow_origin", "send CORS headers with this origin" },
	{ "--demo", NULL, F_SERVICE, NULL, "demo", "add demo inputs so every tab fills" },
	{ "--log-level", "LEVEL", F_SERVICE, NULL, "log_level", "error, warn, info, debug or trace" },
	{ "--print-config-reference", NULL, F_REFERENCE, NULL, NULL, "print the configuration reference (Markdown)" },
	{ "--version", NULL, F_VERSION, NULL, NULL, "print the version" },
	{ "--help", NULL, F_HELP, NULL, NULL, "print this help" },
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static const struct flag_def *flag_find(const char *arg, const char **value)
{
	size_t i, n;

	*value = NULL;
	for (i = 0; i < NFLAGS; i++) {
		n = strlen(flags[i].flag);
		if (strncmp(arg, flags[i].flag, n) != 0)
			continue;
		if (arg[n] == '\0')
			return &flags[i];
		if (arg[n] == '=' && flags[i].arg) {
			*value = arg + n + 1;
			return &flags[i];
		}
	}
	if (strcmp(arg, "-c") == 0)
		return &flags[0];
	if (strcmp(arg, "-h") == 0)
		return &flags[NFLAGS - 1];
	return NULL;
}

static void print_help(void)
{
	size_t i;

	printf("Usage: vivo-agent [OPTION]...\n"
	       "Vivo agent: receives logs, metrics and traces (Forward, HTTP, OTLP), keeps them in\n"
	       "three byte-bounded streams and serves them on the exporter API and the web UI.\n\n");
	for (i = 0; i < NFLAGS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s", flags[i].flag, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		printf("  %-30s %s\n", left, flags[i].help);
	}
	printf("\nWith no --config the agent runs the forward (9000), http (9010) and opentelemetry\n"
	       "(OTLP/HTTP and gRPC on 4318, OTLP/gRPC on 4317) inputs, the exporter on 2025, the\n"
	       "UI on 8000 and health on 2020, all on 127.0.0.1. Every HTTP port speaks HTTP/1.1 and\n"
	       "HTTP/2 (h2c, prior knowledge). Configuration keys: vivo-agent --print-config-reference.\n"
	       "SIGHUP reloads the config file; SIGTERM stops after in-flight requests.\n");
}

static int apply_flag(struct agent_config *cfg, const struct flag_def *f, const char *value, char *err, size_t errlen)
{
	const struct opt_def *t = f->target == F_SERVICE ? service_opts : exporter_opts;
	const struct opt_def *o;
	char reason[256];
	size_t i;
	bool any = false;
	int rc;

	if (!value)
		value = strcmp(f->key, "ui") == 0 ? "off" : "on";
	if (f->target == F_INPUT) {
		for (i = 0; i < cfg->ninputs; i++) {
			if (strcmp(cfg->inputs[i].plugin->name, f->plugin) != 0)
				continue;
			any = true;
			o = opts_find(cfg->inputs[i].plugin->opts, f->key);
			if ((rc = opts_set(o, &cfg->inputs[i].conf, value, reason, sizeof(reason))) < 0) {
				snprintf(err, errlen, "%s: %s", f->flag, reason);
				return rc;
			}
		}
		if (!any)
			log_warn("%s %s ignored: no %s input is configured", f->flag, value, f->plugin);
		return 0;
	}
	o = opts_find(t, f->key);
	if ((rc = opts_set(o, f->target == F_SERVICE ? (void *)&cfg->service : (void *)&cfg->exporter,
			   value, reason, sizeof(reason))) < 0) {
		snprintf(err, errlen, "%s: %s", f->flag, reason);
		return rc;
	}
	return 0;
}

/* The default pipeline: every listening input, on its default port. */
static int default_inputs(struct agent_config *cfg)
{
	size_t i;

	for (i = 0; input_plugins[i]; i++)
		if (input_plugins[i]->listens && !add_input(cfg, input_plugins[i]))
			return -ENOMEM;
	return 0;
}

int config_from_args(int argc, char **argv, struct agent_config *cfg, char *err, size_t errlen)
{
	const struct flag_def *f;
	const char *value;
	int i, rc, pass;

	if ((rc = config_init(cfg)) < 0)
		return rc;
	/* Pass 0: --config, --help, --version; pass 1: everything else, over the file. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 1; i < argc; i++) {
			if (!(f = flag_find(argv[i], &value))) {
				snprintf(err, errlen, "unknown option '%s' (see --help)", argv[i]);
				return -EINVAL;
			}
			if (f->arg && !value) {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "%s needs a %s", f->flag, f->arg);
					return -EINVAL;
				}
				value = argv[++i];
			}
			if (pass == 0) {
				switch (f->target) {
				case F_HELP:
					print_help();
					return 1;
				case F_VERSION:
					printf("vivo-agent %s\n", PACKAGE_VERSION);
					return 1;
				case F_REFERENCE: {
					struct buf b;

					buf_init(&b, SIZE_MAX);
					if ((rc = config_reference(&b)) == 0)
						fwrite(b.data, 1, b.len, stdout);
					buf_free(&b);
					return rc < 0 ? rc : 1;
				}
				case F_CONFIG:
					free(cfg->path);
					if (!(cfg->path = strdup(value)))
						return -ENOMEM;
					break;
				default:
					break;
				}
				continue;
			}
			if (f->target == F_CONFIG || f->target == F_HELP || f->target == F_VERSION || f->target == F_REFERENCE)
				continue;
			if ((rc = apply_flag(cfg, f, value, err, errlen)) < 0)
				return rc;
		}
		if (pass == 0) {
			if (cfg->path)
				rc = config_load_file(cfg->path, cfg, err, errlen);
			else
				rc = default_inputs(cfg);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int reference_table(struct buf *out, const char *title, const char *intro, const struct opt_def *t)
{
	int rc = buf_printf(out, "\n## %s\n\n%s\n\n| key | type | default | help |\n|---|---|---|---|\n", title, intro);

	for (; rc == 0 && t->name; t++)
		rc = buf_printf(out, "| `%s` | %s | %s | %s |\n", t->name, opts_type_name(t->type),
				t->def ? t->def : "", t->help);
	return rc;
}

int config_reference(struct buf *out)
{
	char title[96];
	size_t i;
	int rc;

	rc = buf_puts(out, "# vivo-agent configuration reference\n\n"
		      "Generated by `vivo-agent --print-config-reference` from the option tables the agent\n"
		      "parses with; `make check` fails when this file and the tables disagree.\n"
		      "Config files use Fluent Bit's YAML or classic format. Sizes are decimal (20M = 20,000,000 bytes).\n"
		      "\n## Command line\n\n| flag | meaning |\n|---|---|\n");
	for (i = 0; rc == 0 && i < NFLAGS; i++)
		rc = buf_printf(out, "| `%s%s%s` | %s |\n", flags[i].flag, flags[i].arg ? " " : "",
				flags[i].arg ? flags[i].arg : "", flags[i].help);
	if (rc == 0)
		rc = reference_table(out, "service", "`service:` (YAML) or `[SERVICE]` (classic).", service_opts);
	if (rc == 0)
		rc = reference_table(out, "output vivo_exporter",
				     "The exporter API (one `vivo_exporter` output; without one the defaults apply).",
				     exporter_opts);
	for (i = 0; rc == 0 && input_plugins[i]; i++) {
		snprintf(title, sizeof(title), "input %s%s%s", input_plugins[i]->name,
			 input_plugins[i]->alias ? " (also: " : "", input_plugins[i]->alias ? input_plugins[i]->alias : "");
		if (input_plugins[i]->alias)
			strncat(title, ")", sizeof(title) - strlen(title) - 1);
		rc = reference_table(out, title, input_plugins[i]->help, input_plugins[i]->opts);
	}
	return rc;
}
