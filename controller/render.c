/* render.c: the agent and Fluent Bit configs, ConfigMap, Deployment, Service and headless Services of a Vivo, deterministically. */
#include "render.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctlutil.h"
#include "kobj.h"
#include "renderspec.h"
#include "yamlout.h"

void render_configmap_name(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s-config", name);
}

/* json_object_set_new that tolerates a NULL value by failing cleanly. */
static int set(json_t *o, const char *k, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_object_set_new(o, k, v) < 0 ? -ENOMEM : 0;
}

static int append(json_t *a, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

static json_t *labels(const struct rspec *s)
{
	return json_pack("{s:s, s:s, s:s}", RENDER_LABEL_NAME, "vivo", RENDER_LABEL_INSTANCE, s->name,
			 RENDER_LABEL_MANAGED_BY, RENDER_MANAGER);
}

static json_t *selector(const struct rspec *s)
{
	return json_pack("{s:s, s:s}", RENDER_LABEL_NAME, "vivo", RENDER_LABEL_INSTANCE, s->name);
}

static json_t *metadata(const struct rspec *s, const char *name)
{
	json_t *md = json_pack("{s:s, s:s}", "name", name, "namespace", s->ns);

	if (!md)
		return NULL;
	if (set(md, "labels", labels(s)) < 0 ||
	    set(md, "ownerReferences",
		json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", RENDER_API_VERSION, "kind", RENDER_KIND,
			  "name", s->name, "uid", s->uid, "controller", 1, "blockOwnerDeletion", 1)) < 0) {
		json_decref(md);
		return NULL;
	}
	return md;
}

static json_t *object(const char *api, const char *kind, json_t *md)
{
	json_t *o;

	if (!md)
		return NULL;
	if (!(o = json_pack("{s:s, s:s, s:o}", "apiVersion", api, "kind", kind, "metadata", md)))
		json_decref(md);
	return o;
}

/* The three agent configs a Vivo can render: its Deployment's agent, the sidecar the
 * webhook injects, and Sidecar mode's aggregator (which follows the injected pods). */
enum agent_role { ROLE_AGENT, ROLE_SIDECAR, ROLE_AGGREGATOR };

/* "dns:<name><suffix>.<ns>.svc.<domain>:<exporter port>": a headless Service's pods. */
static json_t *dns_target(const struct rspec *s, const char *suffix)
{
	char t[700];

	snprintf(t, sizeof(t), "dns:%s%s.%s.svc.%s:%lld", s->name, suffix, s->ns, s->cluster_domain,
		 s->ports[RSPEC_EXPORTER]);
	return json_string(t);
}

/* What the vivo input of `role` follows (an empty list: the config has no vivo input): the
 * aggregator follows the injected pods, and with replicas > 1 every replica (aggregators
 * too) follows its peers; the input asks with origin=local, so a chunk is never taken twice
 * or sent round. */
static json_t *follow_targets(const struct rspec *s, enum agent_role role)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	if ((role == ROLE_AGGREGATOR && append(a, dns_target(s, RENDER_PODS_SUFFIX)) < 0) ||
	    (role != ROLE_SIDECAR && s->peers && append(a, dns_target(s, RENDER_PEERS_SUFFIX)) < 0)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The inputs: forward, http (or Fluent Bit's forward output), OTLP when enabled, and the
 * vivo input when `follow` is not empty. */
static json_t *agent_inputs(const struct rspec *s, const json_t *follow)
{
	json_t *inputs = json_array();
	int rc;

	if (!inputs)
		return NULL;
	if (s->fb) {
		/* Fluent Bit owns the public forward and http ports and forwards here. */
		rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "forward", "listen", "127.0.0.1",
					      "port", (json_int_t)RENDER_AGENT_FB_PORT));
	} else {
		if ((rc = append(inputs, json_pack("{s:s, s:I}", "name", "forward", "port", (json_int_t)s->ports[RSPEC_FORWARD]))) == 0)
			rc = append(inputs, json_pack("{s:s, s:I}", "name", "http", "port", (json_int_t)s->ports[RSPEC_HTTP]));
	}
	if (rc == 0 && s->otlp)
		rc = append(inputs, json_pack("{s:s, s:I, s:I}", "name", "opentelemetry", "port", (json_int_t)s->ports[RSPEC_OTLP],
					      "grpc_port", (json_int_t)s->ports[RSPEC_OTLP_GRPC]));
	if (rc == 0 && json_array_size(follow))
		rc = append(inputs, json_pack("{s:s, s:O}", "name", "vivo", "follow", follow));
	if (rc < 0) {
		json_decref(inputs);
		return NULL;
	}
	return inputs;
}

static int agent_config(const struct rspec *s, enum agent_role role, struct buf *out)
{
	json_t *cfg = NULL, *inputs, *exporter, *follow, *t;
	const char *file = role == ROLE_AGGREGATOR ? RENDER_AGGREGATOR_CONFIG : RENDER_AGENT_CONFIG;
	size_t i;
	int rc;

	if (!(follow = follow_targets(s, role)))
		return -ENOMEM;
	inputs = agent_inputs(s, follow);
	exporter = json_pack("{s:s, s:s, s:I, s:s, s:b}", "name", "vivo_exporter", "match", "*",
			     "port", (json_int_t)s->ports[RSPEC_EXPORTER], "stream_queue_size",
			     role == ROLE_AGGREGATOR ? s->agg_queue_size : s->queue_size, "empty_stream_on_read",
			     s->empty_on_read);
	if (exporter && *s->cors && set(exporter, "http_cors_allow_origin", json_string(s->cors)) < 0) {
		json_decref(exporter);
		exporter = NULL;
	}
	if (!inputs || !exporter) {
		json_decref(inputs);
		json_decref(exporter);
		json_decref(follow);
		return -ENOMEM;
	}
	cfg = json_pack("{s:{s:s, s:s, s:I, s:I}, s:{s:o, s:[o]}}",
			"service", "log_level", "info", "listen", "0.0.0.0", "http_port", (json_int_t)RENDER_HEALTH_PORT,
			"ui_port", (json_int_t)s->ports[RSPEC_UI],
			"pipeline", "inputs", inputs, "outputs", exporter);
	rc = cfg ? buf_printf(out, "# %s for Vivo %s/%s, rendered by vivo-controller: edits are overwritten.\n", file,
			      s->ns, s->name) : -ENOMEM;
	/* Say what the vivo input is for; a config without one stays as it always was. */
	if (rc == 0 && role == ROLE_AGGREGATOR)
		rc = buf_printf(out, "# The aggregator: it follows the exporter of every pod with the sidecar%s, so "
				"Service %s shows them all. See docs/fleet.md.\n",
				s->peers ? " and the other replicas' own records" : "", s->name);
	else if (rc == 0 && json_array_size(follow))
		rc = buf_printf(out, "# Every replica follows the others' own records (origin=local), so whichever pod "
				"Service %s picks shows them all. See docs/fleet.md.\n", s->name);
	json_array_foreach(follow, i, t)
		if (rc == 0)
			rc = buf_printf(out, "#   follows %s\n", json_string_value(t));
	if (rc == 0)
		rc = yout_emit(out, cfg);
	json_decref(cfg);
	json_decref(follow);
	return rc;
}

static int fluent_bit_config(const struct rspec *s, struct buf *out)
{
	json_t *cfg, *inputs, *filters = NULL;
	int rc;

	if (!(inputs = s->fb_inputs ? json_deep_copy(s->fb_inputs) : json_array()))
		return -ENOMEM;
	if ((rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "forward", "listen", "0.0.0.0",
					   "port", (json_int_t)s->ports[RSPEC_FORWARD]))) < 0 ||
	    (rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "http", "listen", "0.0.0.0",
					   "port", (json_int_t)s->ports[RSPEC_HTTP]))) < 0) {
		json_decref(inputs);
		return rc;
	}
	cfg = json_pack("{s:{s:I, s:s, s:b}, s:{s:o, s:[{s:s, s:s, s:s, s:I}]}}",
			"service", "flush", (json_int_t)1, "log_level", "info", "http_server", 0,
			"pipeline", "inputs", inputs,
			"outputs", "name", "forward", "match", "*", "host", "127.0.0.1", "port", (json_int_t)RENDER_AGENT_FB_PORT);
	if (!cfg)
		return -ENOMEM;
	if (s->fb_filters && json_array_size(s->fb_filters) &&
	    (!(filters = json_deep_copy(s->fb_filters)) || set(json_object_get(cfg, "pipeline"), "filters", filters) < 0)) {
		json_decref(cfg);
		return -ENOMEM;
	}
	rc = buf_printf(out, "# fluent-bit.yaml for Vivo %s/%s, rendered by vivo-controller: edits are overwritten.\n"
			"# Inputs and filters come from spec.fluentBit.pipeline; everything goes to the agent over forward.\n",
			s->ns, s->name);
	if (rc == 0)
		rc = yout_emit(out, cfg);
	json_decref(cfg);
	return rc;
}

/* One config into data[key]. */
static int put_config(const struct rspec *s, json_t *data, const char *key, enum agent_role role, bool fb)
{
	struct buf b;
	int rc;

	buf_init(&b, 1 << 20);
	rc = fb ? fluent_bit_config(s, &b) : agent_config(s, role, &b);
	if (rc == 0)
		rc = set(data, key, json_stringn(b.data, b.len));
	buf_free(&b);
	return rc;
}

/* The ConfigMap: the agent's config (the sidecar's in Sidecar mode, with the aggregator's
 * beside it), Fluent Bit's when enabled; `hash` of its data. */
static json_t *render_configmap(const struct rspec *s, char *hash, size_t hashlen)
{
	char name[320];
	json_t *cm = NULL, *data;
	char *dump = NULL;

	if (!(data = json_object()) ||
	    put_config(s, data, RENDER_AGENT_CONFIG, s->sidecar ? ROLE_SIDECAR : ROLE_AGENT, false) < 0 ||
	    (s->sidecar && put_config(s, data, RENDER_AGGREGATOR_CONFIG, ROLE_AGGREGATOR, false) < 0) ||
	    (s->fb && put_config(s, data, "fluent-bit.yaml", ROLE_AGENT, true) < 0))
		goto out;
	if (!(dump = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS)))
		goto out;
	cu_sha256_tag(dump, strlen(dump), hash, hashlen);
	render_configmap_name(s->name, name, sizeof(name));
	if (!(cm = object("v1", "ConfigMap", metadata(s, name))))
		goto out;
	if (set(cm, "data", data) < 0) {
		json_decref(cm);
		cm = NULL;
	}
	data = NULL; /* set() took it */
out:
	json_decref(data);
	free(dump);
	return cm;
}

/* The agent's container ports (or Fluent Bit's). In a sidecar the names carry a "vivo-"
 * prefix, so they cannot clash with the application's port names in the same pod. */
static json_t *container_ports(const struct rspec *s, bool fb_container, bool sidecar)
{
	json_t *a = json_array();
	char name[32];
	int i, rc = 0;

	if (!a)
		return NULL;
	for (i = 0; i < RSPEC_NPORTS && rc == 0; i++) {
		bool fb_port = i == RSPEC_FORWARD || i == RSPEC_HTTP;

		if (!rspec_port_used(s, i))
			continue;
		/* With Fluent Bit in the pod, forward and http are its ports, not the agent's. */
		if (s->fb ? fb_port != fb_container : fb_container)
			continue;
		snprintf(name, sizeof(name), "%s%s", sidecar ? "vivo-" : "", rspec_port_names[i]);
		rc = append(a, json_pack("{s:s, s:I, s:s}", "name", name, "containerPort", (json_int_t)s->ports[i],
					 "protocol", "TCP"));
	}
	if (rc == 0 && !fb_container)
		rc = append(a, json_pack("{s:s, s:I, s:s}", "name", sidecar ? "vivo-health" : "health", "containerPort",
					 (json_int_t)RENDER_HEALTH_PORT, "protocol", "TCP"));
	if (rc < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Complete at the container level (user, group, seccomp too), so the agent runs the same
 * way in its own Deployment and as a sidecar in a pod whose pod-level context is not ours. */
static json_t *security_context(void)
{
	return json_pack("{s:b, s:b, s:b, s:I, s:I, s:{s:s}, s:{s:[s]}}", "allowPrivilegeEscalation", 0,
			 "readOnlyRootFilesystem", 1, "runAsNonRoot", 1, "runAsUser", (json_int_t)RENDER_AGENT_UID,
			 "runAsGroup", (json_int_t)RENDER_AGENT_UID, "seccompProfile", "type", "RuntimeDefault",
			 "capabilities", "drop", "ALL");
}

static json_t *probe(int period, int failures)
{
	return json_pack("{s:{s:s, s:I}, s:I, s:I, s:I}", "httpGet", "path", "/api/v1/health", "port",
			 (json_int_t)RENDER_HEALTH_PORT, "periodSeconds", (json_int_t)period, "timeoutSeconds",
			 (json_int_t)2, "failureThreshold", (json_int_t)failures);
}

static json_t *config_mount(const char *volume)
{
	return json_pack("[{s:s, s:s, s:b}]", "name", volume, "mountPath", RENDER_CONFIG_DIR, "readOnly", 1);
}

/* POD_NAME, POD_NAMESPACE and NODE_NAME from the downward API (the agent reports them). */
static json_t *downward_env(void)
{
	return json_pack("[{s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}]",
			 "name", "POD_NAME", "valueFrom", "fieldRef", "fieldPath", "metadata.name",
			 "name", "POD_NAMESPACE", "valueFrom", "fieldRef", "fieldPath", "metadata.namespace",
			 "name", "NODE_NAME", "valueFrom", "fieldRef", "fieldPath", "spec.nodeName");
}

/* The agent container, one rendering for the Deployment (`role` ROLE_AGENT), the sidecar
 * the webhook injects and Sidecar mode's aggregator: image, args (the role's config file),
 * env, ports, probes, resources, security context and the config mounted read-only from
 * `volume`. */
static json_t *agent_container(const struct rspec *s, const char *name, const char *volume, enum agent_role role)
{
	const json_t *resources = role == ROLE_AGGREGATOR ? s->agg_resources : s->resources;
	json_t *c = json_pack("{s:s, s:s, s:[s, s]}", "name", name, "image", s->image, "args", "--config",
			      role == ROLE_AGGREGATOR ? RENDER_CONFIG_DIR "/" RENDER_AGGREGATOR_CONFIG
						      : RENDER_CONFIG_DIR "/" RENDER_AGENT_CONFIG);

	if (!c || set(c, "env", downward_env()) < 0 ||
	    set(c, "ports", container_ports(s, false, role == ROLE_SIDECAR)) < 0 ||
	    set(c, "readinessProbe", probe(5, 3)) < 0 || set(c, "livenessProbe", probe(10, 6)) < 0 ||
	    (resources && set(c, "resources", json_deep_copy(resources)) < 0) ||
	    set(c, "securityContext", security_context()) < 0 || set(c, "volumeMounts", config_mount(volume)) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* The Deployment `<name>`: the agent (Sidecar mode: the aggregator), pods labelled for the
 * Service and the peers, rolled by `hash` (of the ConfigMap's data). */
static json_t *render_deployment(const struct rspec *s, const char *hash)
{
	json_t *d = NULL, *podspec = NULL, *containers = NULL, *agent = NULL, *annotations = NULL, *tmpl;
	char cm[320];
	int rc = -ENOMEM;

	render_configmap_name(s->name, cm, sizeof(cm));
	annotations = s->pod_annotations ? json_deep_copy(s->pod_annotations) : json_object();
	if (!annotations || set(annotations, RENDER_HASH_ANNOTATION, json_string(hash)) < 0)
		goto out;
	if (!(agent = agent_container(s, "agent", "config", s->sidecar ? ROLE_AGGREGATOR : ROLE_AGENT)))
		goto out;
	if (!(containers = json_array()))
		goto out;
	rc = append(containers, agent); /* takes agent, also on failure */
	agent = NULL;
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	if (s->fb) {
		json_t *fb = json_pack("{s:s, s:s, s:[s], s:[s, s]}", "name", "fluent-bit", "image", s->fb_image,
				       "command", "/fluent-bit/bin/fluent-bit", "args", "-c",
				       RENDER_CONFIG_DIR "/fluent-bit.yaml");

		if (!fb || set(fb, "ports", container_ports(s, true, false)) < 0 ||
		    set(fb, "securityContext", security_context()) < 0 || set(fb, "volumeMounts", config_mount("config")) < 0 ||
		    append(containers, fb) < 0) {
			json_decref(fb);
			goto out;
		}
	}
	podspec = json_pack("{s:b, s:{s:b, s:I, s:I, s:{s:s}}, s:o, s:[{s:s, s:{s:s}}]}",
			    "automountServiceAccountToken", 0,
			    "securityContext", "runAsNonRoot", 1, "runAsUser", (json_int_t)RENDER_AGENT_UID, "runAsGroup",
			    (json_int_t)RENDER_AGENT_UID, "seccompProfile", "type", "RuntimeDefault",
			    "containers", containers,
			    "volumes", "name", "config", "configMap", "name", cm);
	containers = NULL;
	if (!podspec)
		goto out;
	if ((s->node_selector && set(podspec, "nodeSelector", json_deep_copy(s->node_selector)) < 0) ||
	    (s->tolerations && set(podspec, "tolerations", json_deep_copy(s->tolerations)) < 0) ||
	    (s->affinity && set(podspec, "affinity", json_deep_copy(s->affinity)) < 0))
		goto out;
	if (!(d = object("apps/v1", "Deployment", metadata(s, s->name))))
		goto out;
	tmpl = json_pack("{s:{s:o, s:o}, s:o}", "metadata", "labels", labels(s), "annotations", annotations, "spec", podspec);
	annotations = podspec = NULL;
	if (set(d, "spec", json_pack("{s:I, s:{s:o}, s:o}", "replicas", (json_int_t)s->replicas, "selector",
				     "matchLabels", selector(s), "template", tmpl)) < 0)
		goto out;
	rc = 0;
out:
	json_decref(agent);
	json_decref(containers);
	json_decref(annotations);
	json_decref(podspec);
	if (rc < 0) {
		json_decref(d);
		d = NULL;
	}
	return d;
}

static json_t *render_service(const struct rspec *s)
{
	json_t *svc, *ports = json_array(), *md;
	int i, rc = 0;

	if (!ports)
		return NULL;
	for (i = 0; i < RSPEC_NPORTS && rc == 0; i++) {
		if (!rspec_port_used(s, i))
			continue;
		rc = append(ports, json_pack("{s:s, s:I, s:s, s:s}", "name", rspec_port_names[i], "port", (json_int_t)s->ports[i],
					     "targetPort", rspec_port_names[i], "protocol", "TCP"));
	}
	if (rc < 0 || !(md = metadata(s, s->name))) {
		json_decref(ports);
		return NULL;
	}
	if (s->svc_annotations && json_object_size(s->svc_annotations) &&
	    set(md, "annotations", json_deep_copy(s->svc_annotations)) < 0) {
		json_decref(md);
		json_decref(ports);
		return NULL;
	}
	if (!(svc = object("v1", "Service", md))) {
		json_decref(ports);
		return NULL;
	}
	if (set(svc, "spec", json_pack("{s:s, s:o, s:o}", "type", s->svc_type, "selector", selector(s), "ports", ports)) < 0) {
		json_decref(svc);
		return NULL;
	}
	return svc;
}

/* A headless Service `<name><suffix>` selecting `sel` (taken) on the exporter port: its DNS
 * name answers one address per pod, which is what the vivo input follows. Not-ready pods
 * are published too (docs/fleet.md: a pod whose app fails its readiness probe, or that is
 * shutting down, still holds records worth reading). */
static json_t *render_headless(const struct rspec *s, const char *suffix, json_t *sel)
{
	char name[320];
	json_t *svc;

	snprintf(name, sizeof(name), "%s%s", s->name, suffix);
	if (!sel || !(svc = object("v1", "Service", metadata(s, name)))) {
		json_decref(sel);
		return NULL;
	}
	if (set(svc, "spec", json_pack("{s:s, s:b, s:o, s:[{s:s, s:I, s:I, s:s}]}", "clusterIP", "None",
				       "publishNotReadyAddresses", 1, "selector", sel, "ports", "name", "exporter",
				       "port", (json_int_t)s->ports[RSPEC_EXPORTER], "targetPort",
				       (json_int_t)s->ports[RSPEC_EXPORTER], "protocol", "TCP")) < 0) {
		json_decref(svc);
		return NULL;
	}
	return svc;
}

static json_t *render_endpoints(const struct rspec *s)
{
	static const char *const scheme[RSPEC_NPORTS] = { "http", "forward", "http", "http", "http", "http" };
	json_t *e = json_object();
	char url[512];
	int i;

	if (!e)
		return NULL;
	for (i = 0; i < RSPEC_NPORTS; i++) {
		if (!rspec_port_used(s, i))
			continue;
		snprintf(url, sizeof(url), "%s://%s.%s.svc:%lld", scheme[i], s->name, s->ns, s->ports[i]);
		if (set(e, rspec_port_keys[i], json_string(url)) < 0) {
			json_decref(e);
			return NULL;
		}
	}
	return e;
}

/* Sidecar mode: the container to inject, and a hash over everything injected (the sidecar's
 * config and the container), so a spec change that touches only the container (image,
 * resources) also makes injected pods stale, and one that touches only the aggregator does
 * not. */
static int render_sidecar(const struct rspec *s, struct render_out *out)
{
	const json_t *data = json_object_get(out->configmap, "data");
	json_t *both;
	char *dump;
	int i;

	if (!(out->sidecar = agent_container(s, RENDER_SIDECAR_NAME, RENDER_SIDECAR_VOLUME, ROLE_SIDECAR)))
		return -ENOMEM;
	both = json_pack("{s:{s:O}, s:O}", "data", RENDER_AGENT_CONFIG, json_object_get(data, RENDER_AGENT_CONFIG),
			 "sidecar", out->sidecar);
	dump = both ? json_dumps(both, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(both);
	if (!dump)
		return -ENOMEM;
	cu_sha256_tag(dump, strlen(dump), out->hash, sizeof(out->hash));
	free(dump);
	out->otlp_port = s->otlp ? s->ports[RSPEC_OTLP] : 0;
	out->nports = 0;
	for (i = 0; i < RSPEC_NPORTS; i++)
		if (rspec_port_used(s, i))
			out->ports[out->nports++] = (int)s->ports[i];
	out->ports[out->nports++] = RENDER_HEALTH_PORT;
	return 0;
}

int render_vivo(const json_t *vivo, const struct render_opts *o, struct render_out *out, char *err, size_t errlen)
{
	struct rspec s;
	char cm_hash[80];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rspec_parse(vivo, o, &s, err, errlen)) < 0)
		return rc;
	out->paused = s.paused;
	out->replicas = s.replicas;
	out->mode = s.sidecar ? RENDER_MODE_SIDECAR : RENDER_MODE_DEPLOYMENT;
	if (!(out->configmap = render_configmap(&s, cm_hash, sizeof(cm_hash))))
		goto nomem;
	/* Sidecar mode: a profile (the config, and the container the webhook adds to labelled
	 * pods), and the aggregator that follows those pods through <name>-pods. */
	if (!s.sidecar)
		cu_strlcpy(out->hash, cm_hash, sizeof(out->hash));
	else if (render_sidecar(&s, out) < 0)
		goto nomem;
	if (!(out->deployment = render_deployment(&s, cm_hash)) || !(out->service = render_service(&s)) ||
	    !(out->endpoints = render_endpoints(&s)))
		goto nomem;
	if (s.sidecar && !(out->pods_service = render_headless(&s, RENDER_PODS_SUFFIX,
							       json_pack("{s:s}", RENDER_SIDECAR_LABEL, s.name))))
		goto nomem;
	if (s.peers && !(out->peers_service = render_headless(&s, RENDER_PEERS_SUFFIX, selector(&s))))
		goto nomem;
	return 0;
nomem:
	render_out_free(out);
	snprintf(err, errlen, "out of memory while rendering");
	return -ENOMEM;
}

void render_out_free(struct render_out *out)
{
	if (!out)
		return;
	json_decref(out->configmap);
	json_decref(out->deployment);
	json_decref(out->service);
	json_decref(out->pods_service);
	json_decref(out->peers_service);
	json_decref(out->endpoints);
	json_decref(out->sidecar);
	memset(out, 0, sizeof(*out));
}
