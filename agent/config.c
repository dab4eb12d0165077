/* config.c: applying Fluent Bit config documents (sections, includes, parsers files, filters) and the flag table over the option tables. */
#include "agent_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libgen.h>

#include "conf.h"
#include "config_tables.h"
#include "filters/filter.h"
#include "log.h"

#define service_opts config_service_opts
#define exporter_opts config_exporter_opts

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
	filter_chain_free(cfg->filters);
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

/* The tables a section's keys are looked up in, in order. */
struct tables {
	const struct opt_def *t[4];
	const char *what;          /* "[SERVICE]", "http", "vivo_exporter" */
};

static const struct opt_def *tables_find(const struct tables *tb, const char *key)
{
	const struct opt_def *o = NULL;
	size_t i;

	for (i = 0; i < 4 && tb->t[i] && !o; i++)
		o = opts_find(tb->t[i], key);
	return o;
}

static void tables_names(const struct tables *tb, char *out, size_t n)
{
	size_t i, len;

	out[0] = '\0';
	for (i = 0; i < 4 && tb->t[i]; i++) {
		len = strlen(out);
		if (len + 3 >= n)
			break;
		if (i)
			strcat(out, ", ");
		opts_names(tb->t[i], out + strlen(out), n - strlen(out));
	}
}

/* A key Fluent Bit takes that does nothing here: check the value where Vivo takes only
 * some, then say so once, with where and why. */
static int compat_key(const struct conf_section *s, const struct conf_kv *kv, const struct opt_def *o,
		      const char *what, char *err, size_t errlen)
{
	const char *values = config_accepted_values(o->name);

	if (values && !opts_accepts(values, kv->val)) {
		snprintf(err, errlen, "%s:%d: %s '%s %s' is not supported by Vivo: %s (accepted: %s)", s->file, kv->line,
			 what, kv->key, kv->val, o->help, values);
		return -EINVAL;
	}
	log_info("%s:%d: notice: '%s' has no effect in Vivo: %s", s->file, kv->line, kv->key, o->help);
	return 0;
}

static int apply_section(const struct conf_section *s, const struct tables *tb, void *base, char *err, size_t errlen)
{
	char reason[256], names[4096];
	bool service = strcmp(tb->what, "[SERVICE]") == 0;
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		const struct conf_kv *kv = &s->kv[i];
		const struct opt_def *o = tables_find(tb, kv->key);

		if (!o && service) {
			log_warn("%s:%d: unknown key '%s' in [SERVICE] ignored (Fluent Bit ignores unknown service keys too)",
				 s->file, kv->line, kv->key);
			continue;
		}
		if (!o && strncasecmp(kv->key, "processors", 10) == 0) {
			snprintf(err, errlen, "%s:%d: %s: processors are not supported by Vivo; run them in the Vivo "
				 "CR's fluentBit pipeline, where real Fluent Bit runs them", s->file, kv->line, tb->what);
			return -EINVAL;
		}
		if (!o) {
			tables_names(tb, names, sizeof(names));
			snprintf(err, errlen, "%s:%d: unknown key '%s' for %s (supported: %s)", s->file, kv->line, kv->key,
				 tb->what, names);
			return -EINVAL;
		}
		if (o->type == OPT_COMPAT) {
			if ((rc = compat_key(s, kv, o, tb->what, err, errlen)) < 0)
				return rc;
			continue;
		}
		if ((rc = opts_set(o, base, kv->val, reason, sizeof(reason))) < 0) {
			if (rc == -ENOMEM)
				return rc;
			snprintf(err, errlen, "%s:%d: %s", s->file, kv->line, reason);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *section_name(const struct conf_section *s, int *line)
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

static int apply_input(struct agent_config *cfg, const struct conf_section *s, char *err, size_t errlen)
{
	const struct input_plugin *p;
	struct input_entry *e;
	struct tables tb = { { NULL }, NULL };
	char names[512];
	const char *name;
	size_t k = 0;
	int line;

	if (!(name = section_name(s, &line))) {
		snprintf(err, errlen, "%s:%d: input without a 'name'", s->file, s->line);
		return -EINVAL;
	}
	if (!(p = input_plugin_find(name))) {
		plugin_names(names, sizeof(names));
		snprintf(err, errlen, "%s:%d: unknown input plugin '%s' (supported: %s)", s->file, line, name, names);
		return -EINVAL;
	}
	if (!(e = add_input(cfg, p)))
		return -ENOMEM;
	tb.t[k++] = p->opts;
	tb.t[k++] = config_input_common_opts;
	if (p->listens)
		tb.t[k++] = config_input_net_opts;
	if (strcmp(p->name, "http") == 0 || strcmp(p->name, "opentelemetry") == 0)
		tb.t[k++] = config_input_http_opts;
	tb.what = p->name;
	return apply_section(s, &tb, &e->conf, err, errlen);
}

static int apply_output(struct agent_config *cfg, const struct conf_section *s, bool *have, char *err, size_t errlen)
{
	struct tables tb = { { exporter_opts }, "vivo_exporter" };
	const char *name;
	int line;

	if (!(name = section_name(s, &line))) {
		snprintf(err, errlen, "%s:%d: output without a 'name'", s->file, s->line);
		return -EINVAL;
	}
	if (strcasecmp(name, "vivo_exporter") != 0) {
		snprintf(err, errlen, "%s:%d: unknown output plugin '%s' (supported: vivo_exporter)", s->file, line, name);
		return -EINVAL;
	}
	if (*have) {
		snprintf(err, errlen, "%s:%d: only one vivo_exporter output is supported", s->file, line);
		return -EINVAL;
	}
	*have = true;
	return apply_section(s, &tb, &cfg->exporter, err, errlen);
}

static int apply_filter(struct agent_config *cfg, const struct conf_section *s, char *err, size_t errlen)
{
	const char *name;
	int line;

	if (!(name = section_name(s, &line))) {
		snprintf(err, errlen, "%s:%d: filter without a 'name'", s->file, s->line);
		return -EINVAL;
	}
	if (!filter_known(name)) {
		snprintf(err, errlen, "%s:%d: filter '%s' does not run in Vivo (Vivo runs %s); run it in the Vivo CR's "
			 "fluentBit pipeline, where real Fluent Bit runs it in front of Vivo", s->file, line, name,
			 filter_names());
		return -EINVAL;
	}
	return filter_chain_add(&cfg->filters, s, err, errlen);
}

static int apply_doc(const struct conf_doc *d, struct agent_config *cfg, bool parsers_only, char *err, size_t errlen);

static const char *key_value(const struct conf_section *s, const char *key)
{
	size_t i;

	for (i = s->n; i-- > 0;)
		if (strcasecmp(s->kv[i].key, key) == 0)
			return s->kv[i].val;
	return NULL;
}

/* [PARSER] / [MULTILINE_PARSER] (in a parsers file, or in YAML parsers:): checked as
 * Fluent Bit checks them (a name, a format or type, a regex that compiles), then unused. */
static int config_check_parser(const struct conf_section *s, char *err, size_t errlen)
{
	bool ml = strcmp(s->kind, "multiline_parser") == 0;
	const char *name = key_value(s, "name"), *format = key_value(s, ml ? "type" : "format");
	const char *regex = key_value(s, "regex");
	char why[256];

	if (!name || !format) {
		snprintf(err, errlen, "%s:%d: [%s] without a '%s'", s->file, s->line, ml ? "MULTILINE_PARSER" : "PARSER",
			 !name ? "name" : ml ? "type" : "format");
		return -EINVAL;
	}
	if (!ml && strcasecmp(format, "json") != 0 && strcasecmp(format, "regex") != 0 &&
	    strcasecmp(format, "ltsv") != 0 && strcasecmp(format, "logfmt") != 0) {
		snprintf(err, errlen, "%s:%d: parser '%s': unknown format '%s' (json, regex, ltsv or logfmt)", s->file,
			 s->line, name, format);
		return -EINVAL;
	}
	if (!ml && strcasecmp(format, "regex") == 0 && (!regex || filter_regex_check(regex, why, sizeof(why)) < 0)) {
		snprintf(err, errlen, "%s:%d: parser '%s': %s", s->file, s->line, name, regex ? why : "format regex needs a 'regex'");
		return -EINVAL;
	}
	log_info("%s:%d: notice: %s '%s' is read and checked, and has no effect in Vivo: Vivo has no parser filter "
		 "(run parsers in the Vivo CR's fluentBit pipeline)", s->file, s->line, ml ? "multiline parser" : "parser", name);
	return 0;
}

/* [SERVICE] parsers_file: read each (relative to the file naming it) and check it. */
static int load_parsers(const struct conf_section *s, const struct opt_list *files, size_t from,
			struct agent_config *cfg, char *err, size_t errlen)
{
	char path[4096], *dir;
	struct conf_doc d;
	size_t i;
	int rc = 0;

	for (i = from; rc == 0 && i < files->n; i++) {
		if (!(dir = strdup(s->file)))
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s%s%s", files->v[i][0] == '/' ? "" : dirname(dir),
			 files->v[i][0] == '/' ? "" : "/", files->v[i]);
		free(dir);
		if ((rc = conf_parse_file(path, &d, err, errlen)) == 0)
			rc = apply_doc(&d, cfg, true, err, errlen);
		conf_doc_free(&d);
	}
	return rc;
}

static int apply_one(const struct conf_section *s, struct agent_config *cfg, bool *have_exporter, char *err, size_t errlen)
{
	struct tables service = { { service_opts }, "[SERVICE]" };
	size_t before;
	int rc;

	if (strcmp(s->kind, "service") == 0) {
		before = cfg->service.parsers_file.n;
		if ((rc = apply_section(s, &service, &cfg->service, err, errlen)) < 0)
			return rc;
		return load_parsers(s, &cfg->service.parsers_file, before, cfg, err, errlen);
	}
	if (strcmp(s->kind, "input") == 0)
		return apply_input(cfg, s, err, errlen);
	if (strcmp(s->kind, "output") == 0)
		return apply_output(cfg, s, have_exporter, err, errlen);
	if (strcmp(s->kind, "filter") == 0)
		return apply_filter(cfg, s, err, errlen);
	snprintf(err, errlen, "%s:%d: unsupported section [%s] (supported: SERVICE, INPUT, FILTER, OUTPUT, PARSER, "
		 "MULTILINE_PARSER)", s->file, s->line, s->kind);
	return -EINVAL;
}

static int apply_doc(const struct conf_doc *d, struct agent_config *cfg, bool parsers_only, char *err, size_t errlen)
{
	bool have_exporter = false;
	size_t i;
	int rc;

	for (i = 0; i < d->n; i++) {
		const struct conf_section *s = &d->s[i];

		if (strcmp(s->kind, "parser") == 0 || strcmp(s->kind, "multiline_parser") == 0) {
			if ((rc = config_check_parser(s, err, errlen)) < 0)
				return rc;
			continue;
		}
		if (parsers_only) {
			snprintf(err, errlen, "%s:%d: a parsers file holds [PARSER] and [MULTILINE_PARSER] sections, not [%s]",
				 s->file, s->line, s->kind);
			return -EINVAL;
		}
		if ((rc = apply_one(s, cfg, &have_exporter, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

int config_load_text(const char *text, size_t n, const char *name, struct agent_config *cfg,
		     char *err, size_t errlen)
{
	struct conf_doc d;
	int rc;

	if ((rc = conf_parse(text, n, name, NULL, &d, err, errlen)) == 0)
		rc = apply_doc(&d, cfg, false, err, errlen);
	conf_doc_free(&d);
	return rc;
}

int config_load_file(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct conf_doc d;
	int rc;

	if ((rc = conf_parse_file(path, &d, err, errlen)) == 0)
		rc = apply_doc(&d, cfg, false, err, errlen);
	conf_doc_free(&d);
	return rc;
}

/* ---- command line ---------------------------------------------------------------- */

enum flag_target { F_SERVICE, F_EXPORTER, F_INPUT, F_FOLLOW, F_CONFIG, F_HELP, F_VERSION, F_REFERENCE };

struct flag_def {
	const char *flag;
	const char *arg;           /* NULL for a switch (sets the key to "on") */
	enum flag_target target;
	const char *plugin;        /* F_INPUT: which plugin's instances it applies to */
	/* key: the option set; for F_FOLLOW, the prefix put before the value */
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
	{ "--follow", "URL", F_FOLLOW, "vivo", "", "follow another agent's exporter, e.g. http://10.0.0.7:2025 (repeatable)" },
	{ "--follow-dns", "NAME:PORT", F_FOLLOW, "vivo", "dns:", "follow every address NAME resolves to (A/AAAA), looked up every 10 s" },
	{ "--stream-queue-size", "SIZE", F_EXPORTER, NULL, "stream_queue_size", "byte budget per stream (default 20M)" },
	{ "--empty-stream-on-read", NULL, F_EXPORTER, NULL, "empty_stream_on_read", "a GET removes the chunks it returned" },
	{ "--cors-allow-origin", "ORIGIN", F_EXPORTER, NULL, "http_cors_allow_origin", "send CORS headers with this origin (exporter and UI ports; lets the original Vivo frontend run from ORIGIN)" },
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
	       "HTTP/2 (h2c, prior knowledge); the HTTP and OTLP inputs take Content-Encoding gzip,\n"
	       "zstd and snappy. A config file adds the other inputs (prometheus_remote_write on 8080,\n"
	       "dummy, self_metrics, vivo), [FILTER]s (grep, modify, record_modifier, nest) and every\n"
	       "key: vivo-agent --print-config-reference.\n"
	       "SIGHUP reloads the config file; SIGTERM stops after in-flight requests.\n");
}

/* --follow and --follow-dns: an upstream for the first vivo input (one is added if the
 * configuration has none). */
static int apply_follow(struct agent_config *cfg, const struct flag_def *f, const char *value, char *err, size_t errlen)
{
	const struct input_plugin *p = input_plugin_find(f->plugin);
	struct input_entry *e = NULL;
	char reason[256], *full;
	size_t i;
	int rc;

	for (i = 0; i < cfg->ninputs && !e; i++)
		if (cfg->inputs[i].plugin == p)
			e = &cfg->inputs[i];
	if (!e && !(e = add_input(cfg, p)))
		return -ENOMEM;
	if (!(full = malloc(strlen(f->key) + strlen(value) + 1)))
		return -ENOMEM;
	memcpy(full, f->key, strlen(f->key));
	memcpy(full + strlen(f->key), value, strlen(value) + 1);
	if ((rc = opts_set(opts_find(p->opts, "follow"), &e->conf, full, reason, sizeof(reason))) < 0)
		snprintf(err, errlen, "%s: %s", f->flag, reason);
	free(full);
	return rc;
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
	if (f->target == F_FOLLOW)
		return apply_follow(cfg, f, value, err, errlen);
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

/* The default pipeline: every listening input that is not opt-in, on its default port. */
static int default_inputs(struct agent_config *cfg)
{
	size_t i;

	for (i = 0; input_plugins[i]; i++)
		if (input_plugins[i]->listens && !input_plugins[i]->opt_in && !add_input(cfg, input_plugins[i]))
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

int config_reference_table(struct buf *out, const char *title, const char *intro, const struct opt_def *t)
{
	int rc = buf_printf(out, "\n## %s\n\n%s\n\n| key | type | default | help |\n|---|---|---|---|\n", title, intro);

	for (; rc == 0 && t->name; t++)
		rc = buf_printf(out, "| `%s` | %s | %s | %s |\n", t->name, opts_type_name(t->type),
				t->def ? t->def : "", t->help);
	return rc;
}

/* The sections of the reference before the inputs' own, in order. */
static const struct {
	const char *title, *intro;
	const struct opt_def *opts;
} ref_sections[] = {
	{ "service", "`service:` (YAML) or `[SERVICE]` (classic).", service_opts },
	{ "output vivo_exporter", "The exporter API (one `vivo_exporter` output; without one the defaults apply).",
	  exporter_opts },
	{ "every input", "Keys every input takes besides its own.", config_input_common_opts },
	{ "listening inputs (forward, http, opentelemetry)",
	  "Keys the listening inputs take besides their own (forward's own `tls` keys come first).", config_input_net_opts },
	{ "HTTP inputs (http, opentelemetry)", "Fluent Bit 5's shared HTTP listener and OAuth 2.0 keys.",
	  config_input_http_opts },
};

int config_reference(struct buf *out)
{
	char title[96];
	size_t i;
	int rc;

	rc = buf_puts(out, "# vivo-agent configuration reference\n\n"
		      "Generated by `vivo-agent --print-config-reference` from the option tables the agent\n"
		      "parses with; `make check` fails when this file and the tables disagree.\n"
		      "Config files use Fluent Bit's YAML or classic format (`@INCLUDE`, `@SET`, `${ENV}`, YAML\n"
		      "`env:` and `includes:`). Sizes are decimal (20M = 20,000,000 bytes). Every key Fluent Bit\n"
		      "5.1.1 takes on these sections is accepted; a key marked *accepted, no effect* logs one\n"
		      "notice line (file:line, key, why) when it is read. Unknown `[SERVICE]` keys log a warning\n"
		      "and are ignored, as Fluent Bit ignores them; an unknown key anywhere else is an error.\n"
		      "\n## Command line\n\n| flag | meaning |\n|---|---|\n");
	for (i = 0; rc == 0 && i < NFLAGS; i++)
		rc = buf_printf(out, "| `%s%s%s` | %s |\n", flags[i].flag, flags[i].arg ? " " : "",
				flags[i].arg ? flags[i].arg : "", flags[i].help);
	for (i = 0; rc == 0 && i < sizeof(ref_sections) / sizeof(ref_sections[0]); i++)
		rc = config_reference_table(out, ref_sections[i].title, ref_sections[i].intro, ref_sections[i].opts);
	for (i = 0; rc == 0 && input_plugins[i]; i++) {
		snprintf(title, sizeof(title), "input %s%s%s", input_plugins[i]->name,
			 input_plugins[i]->alias ? " (also: " : "", input_plugins[i]->alias ? input_plugins[i]->alias : "");
		if (input_plugins[i]->alias)
			strncat(title, ")", sizeof(title) - strlen(title) - 1);
		rc = config_reference_table(out, title, input_plugins[i]->help, input_plugins[i]->opts);
	}
	if (rc == 0)
		rc = filter_reference(out);
	if (rc == 0)
		rc = buf_puts(out, "\n## parsers\n\n`[PARSER]` and `[MULTILINE_PARSER]` sections (in a `parsers_file`, an `@INCLUDE`d\n"
			      "file, or YAML `parsers:` / `multiline_parsers:`) are read and checked as Fluent Bit checks\n"
			      "them (a name; a format of json, regex, ltsv or logfmt, or a multiline type; a regex that\n"
			      "compiles) and logged as having no effect: Vivo has no parser filter.\n");
	return rc;
}
