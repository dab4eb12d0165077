/* main.c: vivo-agent: reads its configuration, wires inputs, streams and servers, and
 * handles signals (SIGTERM/SIGINT stop, SIGHUP reloads). */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "filters/filter.h"
#include "log.h"
#include "ops.h"
#include "ui.h"

#define ERRLEN 1024

static const char *listen_addr(const struct agent_config *cfg, const char *specific)
{
	return specific && *specific ? specific : cfg->service.listen;
}

/* A text form of an input's settings: equal fingerprints = nothing to re-bind. */
static int fingerprint(const struct input_entry *e, const struct agent_config *cfg, struct buf *out)
{
	const struct opt_def *o;
	size_t i;
	int rc = buf_printf(out, "%s|%s", e->plugin->name, listen_addr(cfg, e->conf.listen));

	for (o = e->plugin->opts; rc == 0 && o->name; o++) {
		const char *f = (const char *)&e->conf + o->off;

		if (o->off == offsetof(struct input_conf, listen) && o->type == OPT_STRING)
			continue; /* compared above, with the agent's default applied */
		switch (o->type) {
		case OPT_STRING: {
			const char *s = *(char *const *)(const void *)f;

			rc = buf_printf(out, "|%s=%s", o->name, s ? s : "(null)");
			break;
		}
		case OPT_INT: rc = buf_printf(out, "|%s=%lld", o->name, *(const long long *)(const void *)f); break;
		case OPT_BOOL: rc = buf_printf(out, "|%s=%d", o->name, *(const bool *)(const void *)f); break;
		case OPT_SIZE: rc = buf_printf(out, "|%s=%llu", o->name, (unsigned long long)*(const uint64_t *)(const void *)f); break;
		case OPT_DOUBLE: rc = buf_printf(out, "|%s=%.17g", o->name, *(const double *)(const void *)f); break;
		case OPT_LIST: {
			const struct opt_list *l = (const struct opt_list *)(const void *)f;

			for (i = 0; rc == 0 && i < l->n; i++)
				rc = buf_printf(out, "|%s=%s", o->name, l->v[i]);
			break;
		}
		case OPT_COMPAT:
			break;
		}
	}
	return rc;
}

/* Every connection is a descriptor: take the hard limit (each listener's table holds up to
 * HTTPD_MAX_CONNS; at EMFILE a listener refuses cleanly with its spare descriptor). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void announce(const char *name, const char *addr, uint16_t port)
{
	/* Tests and people read this line to find ephemeral ports. */
	log_info("listening %s on %s:%u", name, addr, port);
}

static int start_input(struct agent *a, struct input_instance *in, char *err, size_t errlen)
{
	int rc;

	if (in->plugin->listens && !in->conf.listen) {
		if (!(in->conf.listen = strdup(a->cfg.service.listen)))
			return -ENOMEM;
	}
	in->streams = a->streams;
	if ((rc = in->plugin->start(in, err, errlen)) < 0)
		return rc;
	if (in->plugin->listens) {
		enum exporter_port p = PORT_COUNT;

		if (in->bound_port == 0 && in->conf.unix_path && *in->conf.unix_path)
			log_info("listening %s on unix:%s", in->plugin->listener, in->conf.unix_path);
		else
			announce(in->plugin->listener, in->conf.listen, in->bound_port);
		if (strcmp(in->plugin->listener, "http") == 0)
			p = PORT_HTTP;
		else if (strcmp(in->plugin->listener, "forward") == 0)
			p = PORT_FORWARD;
		else if (strcmp(in->plugin->listener, "otlp") == 0)
			p = PORT_OTLP;
		if (p != PORT_COUNT)
			exporter_set_port(a->exporter, p, in->bound_port);
		if (in->plugin->listener2 && in->bound_port2) {
			announce(in->plugin->listener2, in->conf.listen, in->bound_port2);
			exporter_set_port(a->exporter, PORT_OTLP_GRPC, in->bound_port2);
		}
	}
	return 0;
}

static void stop_input(struct input_instance *in)
{
	if (in->priv)
		in->plugin->stop(in);
}

/* Demo inputs: records in every tab without any sender. */
static int add_demo_inputs(struct agent_config *cfg, char *err, size_t errlen)
{
	static const char demo[] =
		"pipeline:\n"
		"  inputs:\n"
		"    - name: dummy\n"
		"      tag: demo.web\n"
		"      rate: 2\n"
		"      dummy: '{\"message\":\"GET /cart 200 12ms\",\"level\":\"info\",\"service\":\"checkout\",\"http\":{\"method\":\"GET\",\"status\":200}}'\n"
		"    - name: dummy\n"
		"      tag: demo.worker\n"
		"      rate: 0.5\n"
		"      dummy: '{\"message\":\"payment retry scheduled\",\"level\":\"warn\",\"service\":\"payments\",\"attempt\":2}'\n"
		"    - name: self_metrics\n"
		"      tag: vivo.metrics\n"
		"      scrape_interval: 2\n"
		"    - name: demo_traces\n";

	return config_load_text(demo, sizeof(demo) - 1, "<demo>", cfg, err, errlen);
}

static int start_servers(struct agent *a, char *err, size_t errlen)
{
	struct agent_config *c = &a->cfg;
	static struct httpd_route ui_all[64];
	size_t i, n = 0;
	int rc;
	struct httpd_opts eo = {
		.name = "exporter", .addr = listen_addr(c, c->exporter.host), .port = (uint16_t)c->exporter.port,
		.body_max = 0, .threads = 2, .routes = exporter_routes, .nroutes = exporter_nroutes,
		.ctx = a->exporter, .cors_origin = c->exporter.http_cors_allow_origin,
	};

	if ((rc = httpd_start(&eo, &a->exporter_srv, err, errlen)) < 0)
		return rc;
	announce("exporter", eo.addr, httpd_port(a->exporter_srv));
	exporter_set_port(a->exporter, PORT_EXPORTER, httpd_port(a->exporter_srv));
	if (c->service.ui) {
		struct httpd_opts uo = eo;

		for (i = 0; i < ui_nroutes; i++)
			ui_all[n++] = ui_routes[i];
		for (i = 0; i < exporter_api_nroutes; i++)
			ui_all[n++] = exporter_api_routes[i];
		uo.name = "ui";
		uo.addr = listen_addr(c, c->service.ui_listen);
		uo.port = (uint16_t)c->service.ui_port;
		uo.routes = ui_all;
		uo.nroutes = n;
		if ((rc = httpd_start(&uo, &a->ui_srv, err, errlen)) < 0)
			return rc;
		announce("ui", uo.addr, httpd_port(a->ui_srv));
		exporter_set_port(a->exporter, PORT_UI, httpd_port(a->ui_srv));
	}
	if (c->service.http_server) {
		struct httpd_opts oo = {
			.name = "ops", .addr = listen_addr(c, c->service.http_listen),
			.port = (uint16_t)c->service.http_port, .threads = 1,
			.routes = ops_routes, .nroutes = ops_nroutes, .ctx = a,
		};

		if ((rc = httpd_start(&oo, &a->ops_srv, err, errlen)) < 0)
			return rc;
		announce("ops", oo.addr, httpd_port(a->ops_srv));
		exporter_set_port(a->exporter, PORT_OPS, httpd_port(a->ops_srv));
	}
	return 0;
}

static void stop_servers(struct agent *a)
{
	httpd_stop(a->ops_srv);
	httpd_stop(a->ui_srv);
	httpd_stop(a->exporter_srv);
	a->ops_srv = a->ui_srv = a->exporter_srv = NULL;
}

static void apply_log_level(const struct agent_config *cfg)
{
	enum log_level l;

	if (log_level_parse(cfg->service.log_level, &l) == 0)
		log_set_level(l);
}

static struct exporter_settings exporter_settings(const struct agent_config *c)
{
	struct exporter_settings s = {
		.empty_stream_on_read = c->exporter.empty_stream_on_read,
		.cors_origin = c->exporter.http_cors_allow_origin,
	};
	return s;
}

static void free_instance(struct input_instance *in)
{
	if (!in)
		return;
	opts_free(in->plugin->opts, &in->conf);
	free(in);
}

/* One heap instance per configured input (threads keep their address); the instances
 * take over the confs, `cfg` keeps the rest. */
static int new_instances(struct agent_config *cfg, struct input_instance **ins)
{
	size_t i;

	for (i = 0; i < cfg->ninputs; i++) {
		if (!(ins[i] = calloc(1, sizeof(**ins)))) {
			while (i-- > 0)
				free(ins[i]);
			return -ENOMEM;
		}
	}
	for (i = 0; i < cfg->ninputs; i++) {
		ins[i]->plugin = cfg->inputs[i].plugin;
		ins[i]->conf = cfg->inputs[i].conf;
	}
	input_name_instances(ins, cfg->ninputs);
	return 0;
}

static int start_inputs(struct agent *a, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (!(a->inputs = calloc(a->cfg.ninputs + 1, sizeof(*a->inputs))))
		return -ENOMEM;
	if ((rc = new_instances(&a->cfg, a->inputs)) < 0)
		return rc;
	a->ninputs = a->cfg.ninputs;
	free(a->cfg.inputs);
	a->cfg.inputs = NULL;
	a->cfg.ninputs = 0;
	for (i = 0; i < a->ninputs; i++)
		if ((rc = start_input(a, a->inputs[i], err, errlen)) < 0)
			return rc;
	return 0;
}

/* Reload, step 1: which new instances have a running twin (same name, same settings)?
 * Those twins replace them (their address is held by their threads): kept[i] marks a
 * running instance that stays, running[j] a new slot that holds one. */
static void match_inputs(struct agent *a, const struct agent_config *next, struct input_instance **ins,
			 bool *kept, bool *running)
{
	struct buf fa, fb;
	size_t i, j;

	buf_init(&fa, SIZE_MAX);
	buf_init(&fb, SIZE_MAX);
	for (j = 0; j < next->ninputs; j++) {
		struct input_entry ne = { ins[j]->plugin, ins[j]->conf };

		buf_reset(&fb);
		fingerprint(&ne, next, &fb);
		for (i = 0; i < a->ninputs; i++) {
			struct input_entry old = { a->inputs[i]->plugin, a->inputs[i]->conf };

			if (kept[i] || strcmp(a->inputs[i]->name, ins[j]->name) != 0)
				continue;
			buf_reset(&fa);
			fingerprint(&old, &a->cfg, &fa);
			if (fa.len == fb.len && memcmp(fa.data, fb.data, fa.len) == 0) {
				free_instance(ins[j]);
				ins[j] = a->inputs[i];
				kept[i] = running[j] = true;
				break;
			}
		}
	}
	buf_free(&fa);
	buf_free(&fb);
}

/* Reload, step 2: stop the instances no longer wanted, start the new ones. */
static void swap_inputs(struct agent *a, size_t n, struct input_instance **ins, const bool *kept,
			const bool *running)
{
	char err[ERRLEN];
	size_t i, j;

	for (i = 0; i < a->ninputs; i++) {
		if (kept[i])
			continue;
		stop_input(a->inputs[i]);
		free_instance(a->inputs[i]);
	}
	free(a->inputs);
	a->inputs = ins;
	a->ninputs = n;
	for (j = 0; j < a->ninputs; j++)
		if (!running[j] && start_input(a, a->inputs[j], err, sizeof(err)) < 0)
			log_error("reload: %s", err);
}

/* Whether the exporter, UI or HTTP servers must listen anew for `next`. */
static bool must_rebind(const struct agent_config *cur, const struct agent_config *next)
{
	return strcmp(listen_addr(cur, cur->exporter.host), listen_addr(next, next->exporter.host)) != 0 ||
	       cur->exporter.port != next->exporter.port || cur->service.ui != next->service.ui ||
	       cur->service.ui_port != next->service.ui_port || cur->service.http_port != next->service.http_port ||
	       cur->service.http_server != next->service.http_server ||
	       strcmp(cur->service.listen, next->service.listen) != 0;
}

/* Reload, step 3: `next` becomes the running configuration (the instances own their
 * confs already), and the servers re-bind when their addresses changed. */
static void adopt_config(struct agent *a, struct agent_config *next)
{
	bool rebind = must_rebind(&a->cfg, next);
	struct exporter_settings es;
	char err[ERRLEN];

	free(next->inputs);
	next->inputs = NULL;
	next->ninputs = 0;
	config_free(&a->cfg);
	a->cfg = *next;
	/* The new [FILTER]s apply to every record from now on. */
	filters_activate(a->cfg.filters);
	a->cfg.filters = NULL;
	es = exporter_settings(&a->cfg);
	exporter_configure(a->exporter, &es);
	if (rebind) {
		exporter_drain(a->exporter);
		stop_servers(a);
		if (start_servers(a, err, sizeof(err)) < 0)
			log_error("reload: %s", err);
		exporter_undrain(a->exporter);
	}
}

/* SIGHUP: re-read the config; keep inputs whose settings did not change (their
 * connections and counters stay), re-bind the others; stream contents survive. */
static void reload(struct agent *a, int argc, char **argv)
{
	struct agent_config next;
	struct input_instance **ins;
	char err[ERRLEN];
	bool *kept, *running;
	int rc, k;

	rc = config_from_args(argc, argv, &next, err, sizeof(err));
	if (rc == 0 && next.service.demo)
		rc = add_demo_inputs(&next, err, sizeof(err));
	if (rc != 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		config_free(&next);
		return;
	}
	ins = calloc(next.ninputs + 1, sizeof(*ins));
	kept = calloc(a->ninputs + 1, sizeof(*kept));
	running = calloc(next.ninputs + 1, sizeof(*running));
	if (!ins || !kept || !running || new_instances(&next, ins) < 0) {
		log_error("reload failed: out of memory");
		free(ins);
		config_free(&next);
		goto out;
	}
	log_info("reloading configuration%s%s", next.path ? " from " : "", next.path ? next.path : "");
	apply_log_level(&next);
	for (k = 0; k < STREAM_COUNT; k++)
		stream_set_budget(a->streams[k], next.exporter.stream_queue_size);
	match_inputs(a, &next, ins, kept, running);
	swap_inputs(a, next.ninputs, ins, kept, running);
	adopt_config(a, &next);
	log_info("reload done: %zu input%s", a->ninputs, a->ninputs == 1 ? "" : "s");
out:
	free(kept);
	free(running);
}

/* Every input stops accepting at once; then each finishes what it took in (uploads and
 * Forward frames in flight, until the grace deadline); then the readers. */
static void shutdown_agent(struct agent *a)
{
	size_t i;
	int k;

	atomic_store(&a->up, false);
	for (i = 0; i < a->ninputs; i++)
		if (a->inputs[i]->priv && a->inputs[i]->plugin->drain)
			a->inputs[i]->plugin->drain(a->inputs[i]);
	for (i = 0; i < a->ninputs; i++) {
		stop_input(a->inputs[i]);
		free_instance(a->inputs[i]);
	}
	free(a->inputs);
	filters_activate(NULL);
	if (a->exporter)
		exporter_drain(a->exporter);
	stop_servers(a);
	exporter_free(a->exporter);
	agent_current = NULL;
	for (k = 0; k < STREAM_COUNT; k++)
		stream_free(a->streams[k]);
	config_free(&a->cfg);
}

int main(int argc, char **argv)
{
	struct agent a;
	char err[ERRLEN];
	sigset_t set;
	int rc, k, sig, status = 1;

	log_init("vivo-agent");
	memset(&a, 0, sizeof(a));
	raise_nofile();
	rc = config_from_args(argc, argv, &a.cfg, err, sizeof(err));
	if (rc == 1) {
		config_free(&a.cfg);
		return 0;
	}
	if (rc == 0 && a.cfg.service.demo)
		rc = add_demo_inputs(&a.cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vivo-agent: %s\n", rc == -ENOMEM ? "out of memory" : err);
		config_free(&a.cfg);
		return 2;
	}
	apply_log_level(&a.cfg);
	filters_activate(a.cfg.filters);
	a.cfg.filters = NULL;
	/* Signals go to the main thread only, through sigwait; every other thread blocks them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &a.started);
	a.started_wall = time(NULL);
	agent_current = &a;
	for (k = 0; k < STREAM_COUNT; k++)
		if (!(a.streams[k] = stream_new((enum stream_kind)k, a.cfg.exporter.stream_queue_size)))
			goto out;
	{
		struct exporter_settings es = exporter_settings(&a.cfg);

		if (exporter_new(a.streams, &es, &a.exporter) < 0)
			goto out;
	}
	if ((rc = start_inputs(&a, err, sizeof(err))) < 0 || (rc = start_servers(&a, err, sizeof(err))) < 0) {
		log_error("%s", rc == -ENOMEM ? "out of memory" : err);
		goto out;
	}
	atomic_store(&a.up, true);
	log_info("vivo-agent %s ready: %zu input%s, streams of %llu bytes", PACKAGE_VERSION, a.ninputs,
		 a.ninputs == 1 ? "" : "s", (unsigned long long)a.cfg.exporter.stream_queue_size);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&a, argc, argv);
			continue;
		}
		log_info("signal %d: shutting down (new connections refused; requests in flight have %lld s)", sig,
			 a.cfg.service.grace);
		httpd_begin_shutdown(a.cfg.service.grace);
		break;
	}
	status = 0;
out:
	shutdown_agent(&a);
	return status;
}
