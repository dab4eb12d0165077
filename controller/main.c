/* main.c: vivo-controller: flags, the kube client, informers, the work queue, leader election, probes and the event loop. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cmetrics.h"
#include "ctlhttp.h"
#include "ctlutil.h"
#include "kobj.h"
#include "kube.h"
#include "kubeconfig.h"
#include "inject.h"
#include "lease.h"
#include "log.h"
#include "offline.h"
#include "opts.h"
#include "profiles.h"
#include "queue.h"
#include "reconcile.h"
#include "render.h"
#include "watch.h"
#include "webhook.h"
#include "whmgr.h"

/* Reconciles run back to back for at most this long before the watches are read again. */
#define LOOP_RECONCILE_BUDGET_MS 100
/* A pod change reconciles its Vivo this much later, so a burst of pods is one status write. */
#define POD_STATUS_DELAY_MS 500

struct flags {
	const char *kubeconfig, *context, *watch_ns, *lease_ns, *lease_name, *ns;
	const char *agent_image, *fb_image, *cluster_domain, *metrics_addr, *health_addr, *log_level, *render;
	const char *wh_listen, *wh_url, *wh_cert_dir, *wh_service, *wh_config, *wh_secret;
	const char *inject, *vivo, *server_version;
	bool leader_elect;
};

enum ftype { F_STR, F_BOOL, F_HELP, F_VERSION };

struct flag_def {
	const char *name, *arg;
	enum ftype type;
	size_t off;
	const char *help;
};

#define FO(f) offsetof(struct flags, f)
static const struct flag_def flag_defs[] = {
	{ "--kubeconfig", "FILE", F_STR, FO(kubeconfig), "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)" },
	{ "--context", "NAME", F_STR, FO(context), "kubeconfig context (default: current-context)" },
	{ "--watch-namespace", "NS", F_STR, FO(watch_ns), "watch one namespace only (default: all; one namespace works with a Role)" },
	{ "--leader-elect", NULL, F_BOOL, FO(leader_elect), "elect a leader among replicas on a Lease (15 s lease, 10 s renew, 2 s retry)" },
	{ "--lease-namespace", "NS", F_STR, FO(lease_ns), "namespace of the Lease (default: the pod's namespace, or vivo-system)" },
	{ "--lease-name", "NAME", F_STR, FO(lease_name), "name of the Lease (default vivo-controller)" },
	{ "--namespace", "NS", F_STR, FO(ns), "the controller's own namespace: webhook Secret and Service (default: the pod's, or vivo-system)" },
	{ "--webhook-listen", "ADDR", F_STR, FO(wh_listen), "serve the sidecar-injection webhook (HTTPS) here (default :9443; 0 disables)" },
	{ "--webhook-url", "URL", F_STR, FO(wh_url), "register this https:// URL for the webhook instead of its Service (outside a cluster, tests)" },
	{ "--webhook-cert-dir", "DIR", F_STR, FO(wh_cert_dir), "serve DIR/tls.crt and DIR/tls.key (caBundle from DIR/ca.crt), re-read on change, instead of a generated CA" },
	{ "--webhook-service", "NAME", F_STR, FO(wh_service), "the webhook's Service in --namespace (default vivo-controller-webhook)" },
	{ "--webhook-config", "NAME", F_STR, FO(wh_config), "the MutatingWebhookConfiguration it keeps (default vivo-controller)" },
	{ "--webhook-secret", "NAME", F_STR, FO(wh_secret), "the Secret with the generated CA and certificate (default vivo-controller-webhook-tls)" },
	{ "--agent-image", "IMAGE", F_STR, FO(agent_image), "agent image when spec.image is empty (default vivo-agent:0.1.0)" },
	{ "--fluent-bit-image", "IMAGE", F_STR, FO(fb_image), "Fluent Bit image when spec.fluentBit.image is empty (default fluent/fluent-bit:5.1.1)" },
	{ "--cluster-domain", "DOMAIN", F_STR, FO(cluster_domain), "the cluster's DNS domain, in the names agents follow (default cluster.local)" },
	{ "--metrics-addr", "ADDR", F_STR, FO(metrics_addr), "serve /metrics here (default :8080; 0 disables)" },
	{ "--health-addr", "ADDR", F_STR, FO(health_addr), "serve /healthz and /readyz here (default :8081; 0 disables)" },
	{ "--log-level", "LEVEL", F_STR, FO(log_level), "error, warn, info, debug or trace (default info)" },
	{ "--render", "FILE", F_STR, FO(render), "print the objects a Vivo (YAML or JSON file) renders to, and exit" },
	{ "--inject", "FILE", F_STR, FO(inject), "print FILE's pods and workloads with the sidecar of --vivo added, as the webhook does, and exit" },
	{ "--vivo", "FILE", F_STR, FO(vivo), "the Sidecar-mode Vivo (YAML or JSON file) for --inject" },
	{ "--server-version", "X.Y", F_STR, FO(server_version), "for --inject: the Kubernetes version to inject for (default: >= 1.29, native sidecar)" },
	{ "--version", NULL, F_VERSION, 0, "print the version" },
	{ "--help", NULL, F_HELP, 0, "print this help" },
};
#define NFLAGS (sizeof(flag_defs) / sizeof(flag_defs[0]))

static void usage(void)
{
	size_t i;

	printf("Usage: vivo-controller [OPTION]...\n"
	       "Reconciles Vivo custom resources (vivo.dev/v1alpha1) into a ConfigMap, a Deployment and a\n"
	       "Service each (Sidecar mode: a ConfigMap, and the agent injected into labelled pods by its\n"
	       "webhook), with server-side apply, and keeps them so.\n\n");
	for (i = 0; i < NFLAGS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s", flag_defs[i].name, flag_defs[i].arg ? " " : "",
			 flag_defs[i].arg ? flag_defs[i].arg : "");
		printf("  %-28s %s\n", left, flag_defs[i].help);
	}
	printf("\nEnvironment: KUBECONFIG, POD_NAMESPACE and POD_NAME (namespace and lease identity),\n"
	       "KUBERNETES_SERVICE_HOST/PORT (in-cluster). SIGTERM stops cleanly and releases the Lease.\n");
}

/* A DNS domain for the followed names: labels of letters, digits and '-', dots between. */
static bool valid_domain(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n > 200 || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.')
			return false;
	return true;
}

/* 0 run, 1 exit 0 (help/version), -1 bad usage. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->agent_image = "vivo-agent:0.1.0";
	f->fb_image = "fluent/fluent-bit:5.1.1";
	f->cluster_domain = RENDER_CLUSTER_DOMAIN;
	f->metrics_addr = ":8080";
	f->health_addr = ":8081";
	f->log_level = "info";
	f->lease_name = "vivo-controller";
	f->wh_listen = ":9443";
	f->wh_service = "vivo-controller-webhook";
	f->wh_config = "vivo-controller";
	f->wh_secret = "vivo-controller-webhook-tls";
	for (i = 1; i < argc; i++) {
		const struct flag_def *d = NULL;
		const char *val = NULL;
		size_t k, n;

		for (k = 0; k < NFLAGS; k++) {
			n = strlen(flag_defs[k].name);
			if (strncmp(argv[i], flag_defs[k].name, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '=')) {
				d = &flag_defs[k];
				val = argv[i][n] == '=' ? argv[i] + n + 1 : NULL;
				break;
			}
		}
		if (!d && strcmp(argv[i], "-h") == 0)
			d = &flag_defs[NFLAGS - 1];
		if (!d) {
			fprintf(stderr, "vivo-controller: unknown option '%s' (see --help)\n", argv[i]);
			return -1;
		}
		switch (d->type) {
		case F_HELP:
			usage();
			return 1;
		case F_VERSION:
			printf("vivo-controller %s\n", PACKAGE_VERSION);
			return 1;
		case F_BOOL: {
			bool b = true;

			if (val && opts_parse_bool(val, &b) < 0) {
				fprintf(stderr, "vivo-controller: %s: '%s' is not true or false\n", d->name, val);
				return -1;
			}
			*(bool *)(void *)((char *)f + d->off) = b;
			break;
		}
		case F_STR:
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "vivo-controller: %s needs a %s\n", d->name, d->arg);
					return -1;
				}
				val = argv[++i];
			}
			*(const char **)(void *)((char *)f + d->off) = val;
			break;
		}
	}
	if (!valid_domain(f->cluster_domain)) {
		fprintf(stderr, "vivo-controller: --cluster-domain: '%s' is not a DNS domain (letters, digits, '-' and '.', "
			"at most 200 characters)\n", f->cluster_domain);
		return -1;
	}
	return 0;
}

/* ---- the running controller --------------------------------------------------------- */

enum { W_VIVOS, W_CONFIGMAPS, W_DEPLOYMENTS, W_SERVICES, W_PODS, W_COUNT };

struct ctl {
	struct kube *k;
	CURLM *multi;
	CURL *sync;
	struct watch *w[W_COUNT];
	struct wq *q;
	struct lease *lease;
	struct rec_ctx rec;
	struct chttp_state hs;
	struct prof_reg *profiles;
	struct webhook *wh;
	struct whm *whm;
	int native_seen;
	bool was_leader;
	bool synced;
};

static volatile sig_atomic_t stop_signal;
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;

	stop_signal = sig;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "s", 1) < 0) {
		/* the loop also polls with a timeout */
	}
	errno = saved;
}

static bool is_leader(struct ctl *c)
{
	return !c->lease || lease_is_leader(c->lease);
}

static bool may_write(void *ctx)
{
	return is_leader(ctx);
}

static void enqueue(struct ctl *c, const char *key)
{
	wq_add(c->q, key, cu_now_ms());
}

/* What a Vivo injects, for the webhook's threads: rendered on every change, all replicas. */
static void update_profile(struct ctl *c, const char *key, const struct cache_obj *now)
{
	struct render_out ro;
	json_t *vivo;
	char err[512];

	if (!now) {
		prof_del(c->profiles, key);
		return;
	}
	if (!(vivo = json_loadb(now->text, now->len, 0, NULL)))
		return;
	if (render_vivo(vivo, &c->rec.ropts, &ro, err, sizeof(err)) == 0) {
		prof_set(c->profiles, key, &ro, NULL);
		render_out_free(&ro);
	} else {
		prof_set(c->profiles, key, NULL, err);
	}
	json_decref(vivo);
}

/* A labelled pod changed: its Vivo's status counts it (a little later, batched). */
static void pod_changed(struct ctl *c, const struct cache_obj *o)
{
	json_t *pod = json_loadb(o->text, o->len, 0, NULL);
	const char *ns = kobj_str(pod, "metadata.namespace", ""), *value;
	char key[600];

	value = json_string_value(json_object_get(kobj_get(pod, "metadata.labels"), RENDER_INJECT_LABEL));
	if (value && prof_resolve(c->profiles, ns, value, key, sizeof(key), NULL) == 0)
		wq_add_after(c->q, key, POD_STATUS_DELAY_MS, cu_now_ms());
	json_decref(pod);
}

/* A Vivo changed: reconcile it. An owned object changed: reconcile its owner. */
static void on_change(void *ctx, struct watch *w, const char *key, const struct cache_obj *now,
		      const struct cache_obj *old)
{
	struct ctl *c = ctx;
	const char *owner;

	if (w == c->w[W_VIVOS]) {
		log_debug("vivo %s %s", key, now ? (old ? "changed" : "added") : "deleted");
		update_profile(c, key, now);
		enqueue(c, key);
		return;
	}
	if (w == c->w[W_PODS]) {
		if (now)
			pod_changed(c, now);
		if (old)
			pod_changed(c, old);
		return;
	}
	owner = now && now->owner ? now->owner : old && old->owner ? old->owner : NULL;
	if (owner) {
		log_debug("%s %s %s: reconcile %s", watch_resource(w), key, now ? "changed" : "deleted", owner);
		enqueue(c, owner);
	}
}

static void enqueue_all_cb(void *ctx, const char *key, const struct cache_obj *o)
{
	(void)o;
	enqueue(ctx, key);
}

static void observe_api(void *ctx, const char *verb, long code, double seconds)
{
	char cs[16];

	(void)ctx;
	snprintf(cs, sizeof(cs), "%ld", code);
	cmet_observe(CMET_API_SECONDS, verb, cs, seconds);
}

static int make_watches(struct ctl *c, const struct flags *f)
{
	static const struct {
		const char *resource, *group;
	} res[W_COUNT] = {
		{ "vivos", "/apis/" RENDER_API_VERSION },
		{ "configmaps", "/api/v1" },
		{ "deployments", "/apis/apps/v1" },
		{ "services", "/api/v1" },
		{ "pods", "/api/v1" },
	};
	char path[512];
	const char *env = getenv("VIVO_CONTROLLER_WATCH_TIMEOUT");
	uint64_t t = 0;
	int i, watch_timeout = 0;

	/* Test hook: short watches, to see clean closes resumed from the last resourceVersion. */
	if (env && *env && opts_parse_u64(env, 3600, &t) == 0)
		watch_timeout = (int)t;
	for (i = 0; i < W_COUNT; i++) {
		struct watch_cfg wc;

		if (f->watch_ns)
			snprintf(path, sizeof(path), "%s/namespaces/%s/%s", res[i].group, f->watch_ns, res[i].resource);
		else
			snprintf(path, sizeof(path), "%s/%s", res[i].group, res[i].resource);
		memset(&wc, 0, sizeof(wc));
		wc.resource = res[i].resource;
		wc.path = path;
		wc.label_selector = i == W_VIVOS ? NULL : RENDER_LABEL_MANAGED_BY "=" RENDER_MANAGER;
		wc.owned = i != W_VIVOS && i != W_PODS;
		if (i == W_PODS) {
			/* Pods that opted in (Sidecar mode's status), cached as the few fields it needs. */
			wc.label_selector = RENDER_INJECT_LABEL "," RENDER_INJECT_LABEL "!=false";
			wc.transform = inj_pod_summary;
		}
		wc.timeout_min_s = watch_timeout ? watch_timeout : 300;
		wc.timeout_max_s = watch_timeout ? watch_timeout : 600;
		wc.on_change = on_change;
		wc.ctx = c;
		if (!(c->w[i] = watch_new(c->k, c->multi, c->sync, &wc)))
			return -ENOMEM;
	}
	return 0;
}

static void handle_result(struct ctl *c, const char *key, const struct rec_result *r, double seconds)
{
	int64_t now = cu_now_ms(), delay = 0;

	cmet_add(CMET_RECONCILE_TOTAL, r->label, NULL, 1);
	cmet_observe(CMET_RECONCILE_SECONDS, NULL, NULL, seconds);
	switch (r->outcome) {
	case REC_DONE:
		wq_forget(c->q, key);
		break;
	case REC_RETRY:
		wq_add_rate_limited(c->q, key, now, &delay);
		cmet_add(CMET_QUEUE_RETRIES, NULL, NULL, 1);
		log_info("reconcile %s: %s; retrying in %lld ms", key, r->label, (long long)delay);
		break;
	case REC_AFTER:
		wq_add_after(c->q, key, r->after_ms, now);
		cmet_add(CMET_QUEUE_RETRIES, NULL, NULL, 1);
		log_info("reconcile %s: throttled; retrying in %lld ms", key, (long long)r->after_ms);
		break;
	case REC_NOT_LEADER:
		wq_add(c->q, key, now); /* for whoever leads next in this process, if anyone */
		break;
	}
}

static void check_sync(struct ctl *c)
{
	int i;

	if (c->synced)
		return;
	for (i = 0; i < W_COUNT; i++)
		if (!watch_synced(c->w[i]))
			return;
	c->synced = true;
	atomic_store(&c->hs.synced, true);
	prof_set_ready(c->profiles, true);
	cmet_set(CMET_SYNCED, NULL, NULL, 1);
	log_info("caches synced: %zu vivos, %zu configmaps, %zu deployments, %zu services, %zu labelled pods",
		 cache_len(c->rec.vivos), cache_len(c->rec.configmaps), cache_len(c->rec.deployments),
		 cache_len(c->rec.services), cache_len(c->rec.pods));
}

static void drain(int fd)
{
	char tmp[64];

	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
}

static int run(struct ctl *c)
{
	int i, running = 0, status = 0;

	while (!stop_signal) {
		int64_t now = cu_now_ms(), next = 1000, t, start;
		struct curl_waitfd extra = { wake_pipe[0], CURL_WAIT_POLLIN, 0 };
		CURLMsg *m;
		int left;

		curl_multi_perform(c->multi, &running);
		while ((m = curl_multi_info_read(c->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < W_COUNT; i++)
				if (watch_owns(c->w[i], m->easy_handle))
					watch_done(c->w[i], m->data.result, cu_now_ms());
		}
		for (i = 0; i < W_COUNT; i++)
			watch_tick(c->w[i], cu_now_ms());
		check_sync(c);

		if (c->lease && lease_lost(c->lease)) {
			log_error("stopping: this replica lost the leader Lease");
			status = 1;
			break;
		}
		if (is_leader(c) && !c->was_leader && c->synced) {
			c->was_leader = true;
			log_info("leading: reconciling all %zu Vivo objects", cache_len(c->rec.vivos));
			cache_foreach(c->rec.vivos, enqueue_all_cb, c);
		}
		if (c->whm && whm_native(c->whm) != c->native_seen) {
			/* The API server's version is known: Sidecar-mode status says which sidecar. */
			c->native_seen = whm_native(c->whm);
			cache_foreach(c->rec.vivos, enqueue_all_cb, c);
		}

		/* Reconcile what is ready, within a time budget, so watches keep flowing. */
		start = cu_now_ms();
		if (c->synced && c->was_leader && is_leader(c)) {
			const char *key;

			while (!stop_signal && cu_now_ms() - start < LOOP_RECONCILE_BUDGET_MS && wq_get(c->q, cu_now_ms(), &key)) {
				struct rec_result r;
				double t0 = cu_now_s();

				rec_reconcile(&c->rec, key, &r);
				handle_result(c, key, &r, cu_now_s() - t0);
				wq_done(c->q, key);
				if (r.outcome == REC_NOT_LEADER)
					break;
			}
		}
		cmet_set(CMET_QUEUE_DEPTH, NULL, NULL, (double)wq_len(c->q));

		now = cu_now_ms();
		if (c->synced && c->was_leader && (t = wq_next_ms(c->q, now)) >= 0 && t < next)
			next = t;
		for (i = 0; i < W_COUNT; i++)
			if ((t = watch_next_ms(c->w[i], now)) >= 0 && t < next)
				next = t;
		if (next > 0)
			curl_multi_poll(c->multi, &extra, 1, (int)next, NULL);
		drain(wake_pipe[0]);
	}
	return status;
}

/* The controller's own namespace: --namespace, $POD_NAMESPACE, the in-cluster one, else vivo-system. */
static const char *own_namespace(const struct flags *f, const struct kube *k)
{
	const char *env = getenv("POD_NAMESPACE");

	if (f->ns)
		return f->ns;
	if (env && *env)
		return env;
	if (kube_namespace(k) && strcmp(kube_source(k), "in-cluster service account") == 0)
		return kube_namespace(k);
	return "vivo-system";
}

static int sidecar_info(void *ctx, char *version, size_t n)
{
	struct ctl *c = ctx;

	if (!c->whm) {
		snprintf(version, n, "?");
		return -1;
	}
	whm_server_version(c->whm, version, n);
	return whm_native(c->whm);
}

/* The webhook (HTTPS) and its upkeep thread; nothing when --webhook-listen is 0. */
static int start_webhook(struct ctl *c, const struct flags *f, const char *ns)
{
	struct whm_opts wo;
	char err[512];
	const char *env;
	uint64_t v = 0;
	int rc;

	if (strcmp(f->wh_listen, "0") == 0) {
		log_info("webhook off (--webhook-listen 0): Sidecar-mode Vivos are injected by vivo-controller --inject only");
		return 0;
	}
	if ((rc = wh_start(f->wh_listen, c->profiles, &c->wh, err, sizeof(err))) < 0) {
		log_error("%s", err);
		return rc;
	}
	memset(&wo, 0, sizeof(wo));
	wo.ns = ns;
	wo.secret = f->wh_secret;
	wo.service = f->wh_service;
	wo.config = f->wh_config;
	wo.url = f->wh_url;
	wo.cert_dir = f->wh_cert_dir;
	wo.watch_ns = f->watch_ns;
	wo.may_write = may_write;
	wo.may_write_ctx = c;
	wo.wake_fd = wake_pipe[1];
	/* Test hooks: certificates that expire within a test (checked every second), and an
	 * older API server version, for the ordinary-container path on a new server. */
	if ((env = getenv("VIVO_CONTROLLER_CERT_LIFETIME")) && *env && opts_parse_u64(env, 100LL * 365 * 86400, &v) == 0 &&
	    v >= 10) {
		wo.lifetime_s = (int64_t)v;
		wo.poll_ms = 1000;
		log_info("test hook: webhook certificates live %llu s, checked every second", (unsigned long long)v);
	}
	if ((env = getenv("VIVO_CONTROLLER_SERVER_VERSION")) && *env)
		wo.server_version = env;
	c->rec.webhook = true;
	return whm_start(c->k, c->wh, &wo, &c->whm);
}

int main(int argc, char **argv)
{
	struct flags f;
	struct kube_auth auth;
	struct ctl c;
	char err[1024], ident[512], host[256];
	struct chttp *http = NULL;
	struct wq_opts qo = WQ_OPTS_DEFAULT;
	enum log_level lvl;
	const char *lease_ns, *env;
	struct sigaction sa;
	int rc, status = 1, i;

	log_init("vivo-controller");
	if ((rc = parse_flags(argc, argv, &f)) != 0)
		return rc > 0 ? 0 : 2;
	if (log_level_parse(f.log_level, &lvl) < 0) {
		fprintf(stderr, "vivo-controller: --log-level: '%s' is not error, warn, info, debug or trace\n", f.log_level);
		return 2;
	}
	log_set_level(lvl);
	if (f.render || f.inject) {
		struct render_opts ro = { f.agent_image, f.fb_image, f.cluster_domain };

		if (f.inject && !f.vivo) {
			fprintf(stderr, "vivo-controller: --inject needs --vivo FILE (a Sidecar-mode Vivo)\n");
			return 2;
		}
		return f.render ? offline_render(f.render, &ro) : offline_inject(f.inject, f.vivo, &ro, f.server_version);
	}
	/* One malloc arena for all threads: they allocate little, and RSS matters more. */
	mallopt(M_ARENA_MAX, 1);

	memset(&c, 0, sizeof(c));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libcurl");
		return 1;
	}
	if ((rc = kcfg_resolve(f.kubeconfig, f.context, &auth, err, sizeof(err))) < 0) {
		log_error("%s", err);
		kcfg_free(&auth);
		goto out;
	}
	if ((rc = kube_new(&auth, &c.k, err, sizeof(err))) < 0) {
		log_error("%s", err);
		kcfg_free(&auth);
		goto out;
	}
	kube_set_observer(c.k, observe_api, NULL);
	log_info("vivo-controller %s: API server %s (%s)%s%s", PACKAGE_VERSION, kube_server(c.k), kube_source(c.k),
		 f.watch_ns ? ", watching namespace " : ", watching all namespaces", f.watch_ns ? f.watch_ns : "");

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe: %s", strerror(errno));
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	atomic_store(&c.hs.electing, true);
	if ((rc = chttp_start(f.health_addr, f.metrics_addr, &c.hs, &http, err, sizeof(err))) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (!(c.multi = curl_multi_init()) || !(c.sync = curl_easy_init()) || !(c.q = wq_new(&qo, cu_now_ms())) ||
	    !(c.profiles = prof_new()) || make_watches(&c, &f) < 0) {
		log_error("out of memory");
		goto out;
	}
	c.rec.k = c.k;
	c.rec.e = c.sync;
	c.rec.vivos = watch_cache(c.w[W_VIVOS]);
	c.rec.configmaps = watch_cache(c.w[W_CONFIGMAPS]);
	c.rec.deployments = watch_cache(c.w[W_DEPLOYMENTS]);
	c.rec.services = watch_cache(c.w[W_SERVICES]);
	c.rec.pods = watch_cache(c.w[W_PODS]);
	c.rec.profiles = c.profiles;
	c.rec.sidecar_info = sidecar_info;
	c.rec.sidecar_info_ctx = &c;
	c.native_seen = -1;
	c.rec.ropts.agent_image = f.agent_image;
	c.rec.ropts.fluent_bit_image = f.fb_image;
	c.rec.ropts.cluster_domain = f.cluster_domain;
	c.rec.may_write = may_write;
	c.rec.may_write_ctx = &c;
	if ((env = getenv("VIVO_CONTROLLER_FAULT_STALE_STATUS")) && *env) {
		uint64_t n = 0;

		if (opts_parse_u64(env, 1000, &n) == 0)
			c.rec.fault_stale_status = (int)n;
	}

	if (f.leader_elect) {
		struct lease_opts lo = { NULL, f.lease_name, ident, 15, 10, 2 };

		lease_ns = f.lease_ns ? f.lease_ns : own_namespace(&f, c.k);
		lo.ns = lease_ns;
		if ((env = getenv("POD_NAME")) && *env) {
			snprintf(ident, sizeof(ident), "%s", env);
		} else {
			if (gethostname(host, sizeof(host)) < 0)
				snprintf(host, sizeof(host), "vivo-controller");
			host[sizeof(host) - 1] = '\0';
			snprintf(ident, sizeof(ident), "%s_%08x%08x", host, (unsigned)(cu_rand01() * 4294967295.0),
				 (unsigned)(cu_rand01() * 4294967295.0));
		}
		if (lease_start(c.k, &lo, wake_pipe[1], &c.lease) < 0) {
			log_error("cannot start leader election");
			goto out;
		}
	} else {
		cmet_set(CMET_LEADER, NULL, NULL, 1);
	}
	if (start_webhook(&c, &f, own_namespace(&f, c.k)) < 0)
		goto out;

	status = run(&c);

	/* Shutdown: stop the watches; the reconcile in flight has finished (one thread). */
	log_info("stopping (%s)", stop_signal ? strsignal(stop_signal) : "leadership lost");
	atomic_store(&c.hs.electing, false);
	for (i = 0; i < W_COUNT; i++)
		watch_stop(c.w[i]);
	whm_stop(c.whm);
	c.whm = NULL;
	wh_stop(c.wh);
	c.wh = NULL;
	if (c.lease) {
		lease_stop(c.lease, status == 0);
		c.lease = NULL;
	}
out:
	chttp_stop(http);
	whm_stop(c.whm);
	wh_stop(c.wh);
	lease_stop(c.lease, false);
	for (i = 0; i < W_COUNT; i++)
		watch_free(c.w[i]);
	wq_free(c.q);
	prof_free(c.profiles);
	if (c.sync)
		curl_easy_cleanup(c.sync);
	if (c.multi)
		curl_multi_cleanup(c.multi);
	kube_free(c.k);
	curl_global_cleanup();
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
	}
	log_info("exit %d", status);
	return status;
}
