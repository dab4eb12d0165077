/* render.c: the agent and Fluent Bit configs, ConfigMap, Deployment and Service of a Vivo, deterministically. */
#include "render.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctlutil.h"
#include "kobj.h"
#include "opts.h"
#include "yamlout.h"

enum { P_UI, P_FORWARD, P_HTTP, P_EXPORTER, P_OTLP, P_OTLP_GRPC, P_COUNT };
/* Keys of spec.service.ports (and status.endpoints), and the names of the ports in the pod
 * and on the Service (IANA service names: lower case, so otlp-grpc). */
static const char *const port_keys[P_COUNT] = { "ui", "forward", "http", "exporter", "otlp", "otlpGrpc" };
static const char *const port_names[P_COUNT] = { "ui", "forward", "http", "exporter", "otlp", "otlp-grpc" };
static const long long port_defaults[P_COUNT] = { 8000, 9000, 9010, 2025, 4318, 4317 };

struct spec {
	const char *name, *ns, *uid;
	const char *image;
	long long replicas;
	const char *queue_size;
	bool empty_on_read;
	const char *cors;
	bool otlp;
	const char *svc_type;
	json_t *svc_annotations;
	long long ports[P_COUNT];
	bool fb;
	const char *fb_image;
	json_t *fb_inputs, *fb_filters;
	json_t *resources, *node_selector, *tolerations, *affinity, *pod_annotations;
	bool paused;
	bool sidecar;                /* spec.mode Sidecar */
};

/* The OTLP ports exist only with spec.otlp.enabled. */
static bool port_used(const struct spec *s, int i)
{
	return s->otlp || (i != P_OTLP && i != P_OTLP_GRPC);
}

void render_configmap_name(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s-config", name);
}

/* Typed optional fields: absent or null = default; the wrong type is an error. */
static int get_str(const json_t *o, const char *key, const char *def, const char **out, const char *path,
		   char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s%s must be a string", path, key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_bool(const json_t *o, const char *key, bool def, bool *out, const char *path, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s%s must be true or false", path, key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static int get_int(const json_t *o, const char *key, long long def, long long *out, const char *path,
		   char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s%s must be an integer", path, key);
		return -EINVAL;
	}
	*out = (long long)json_integer_value(v);
	return 0;
}

/* An object (or array when `array`) field, or NULL when absent. */
static int get_coll(const json_t *o, const char *key, bool array, json_t **out, const char *path,
		    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		snprintf(err, errlen, "%s%s must be %s", path, key, array ? "a list" : "a mapping");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int check_string_map(const json_t *m, const char *path, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)m, k, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s.%s must be a string", path, k);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_pipeline(const json_t *list, const char *path, char *err, size_t errlen)
{
	const json_t *it;
	size_t i;

	json_array_foreach(list, i, it) {
		const json_t *name = json_object_get(it, "name");

		if (!json_is_object(it)) {
			snprintf(err, errlen, "%s[%zu] must be a mapping of Fluent Bit keys to values", path, i);
			return -EINVAL;
		}
		if (!json_is_string(name) || !json_string_length(name)) {
			snprintf(err, errlen, "%s[%zu] needs a 'name' (the Fluent Bit plugin)", path, i);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_spec(const json_t *vivo, const struct render_opts *o, struct spec *s, char *err, size_t errlen)
{
	const json_t *spec = json_object_get(vivo, "spec"), *svc, *ports, *fb, *pipe, *otlp;
	const char *mode;
	uint64_t qs;
	int rc, i, j;

	memset(s, 0, sizeof(*s));
	s->name = kobj_str(vivo, "metadata.name", NULL);
	s->ns = kobj_str(vivo, "metadata.namespace", NULL);
	s->uid = kobj_str(vivo, "metadata.uid", "");
	if (!s->name || !*s->name || !s->ns || !*s->ns) {
		snprintf(err, errlen, "metadata.name and metadata.namespace are required");
		return -EINVAL;
	}
	if (spec && !json_is_object(spec) && !json_is_null(spec)) {
		snprintf(err, errlen, "spec must be a mapping");
		return -EINVAL;
	}
	if (!json_is_object(spec))
		spec = NULL;
	if ((rc = get_str(spec, "image", "", &s->image, "spec.", err, errlen)) < 0 ||
	    (rc = get_int(spec, "replicas", 1, &s->replicas, "spec.", err, errlen)) < 0 ||
	    (rc = get_str(spec, "streamQueueSize", "20M", &s->queue_size, "spec.", err, errlen)) < 0 ||
	    (rc = get_bool(spec, "emptyStreamOnRead", false, &s->empty_on_read, "spec.", err, errlen)) < 0 ||
	    (rc = get_str(spec, "corsAllowOrigin", "", &s->cors, "spec.", err, errlen)) < 0 ||
	    (rc = get_bool(spec, "paused", false, &s->paused, "spec.", err, errlen)) < 0 ||
	    (rc = get_coll(spec, "resources", false, &s->resources, "spec.", err, errlen)) < 0 ||
	    (rc = get_coll(spec, "nodeSelector", false, &s->node_selector, "spec.", err, errlen)) < 0 ||
	    (rc = get_coll(spec, "tolerations", true, &s->tolerations, "spec.", err, errlen)) < 0 ||
	    (rc = get_coll(spec, "affinity", false, &s->affinity, "spec.", err, errlen)) < 0 ||
	    (rc = get_coll(spec, "podAnnotations", false, &s->pod_annotations, "spec.", err, errlen)) < 0 ||
	    (rc = get_str(spec, "mode", "Deployment", &mode, "spec.", err, errlen)) < 0)
		return rc;
	if (strcmp(mode, "Deployment") != 0 && strcmp(mode, "Sidecar") != 0) {
		snprintf(err, errlen, "spec.mode must be Deployment or Sidecar");
		return -EINVAL;
	}
	s->sidecar = strcmp(mode, "Sidecar") == 0;
	if (!*s->image)
		s->image = o->agent_image;
	if (s->replicas < 0 || s->replicas > INT32_MAX) {
		snprintf(err, errlen, "spec.replicas must be between 0 and %d", INT32_MAX);
		return -EINVAL;
	}
	if (opts_parse_size(s->queue_size, &qs) < 0 || qs < 1) {
		snprintf(err, errlen, "spec.streamQueueSize '%.64s' is not a size (bytes, or a number with K, M or G)",
			 s->queue_size);
		return -EINVAL;
	}
	if (strchr(s->cors, '\n') || strchr(s->cors, '\r')) {
		snprintf(err, errlen, "spec.corsAllowOrigin must be one line");
		return -EINVAL;
	}
	if (s->node_selector && (rc = check_string_map(s->node_selector, "spec.nodeSelector", err, errlen)) < 0)
		return rc;
	if (s->pod_annotations && (rc = check_string_map(s->pod_annotations, "spec.podAnnotations", err, errlen)) < 0)
		return rc;

	otlp = json_object_get(spec, "otlp");
	if (otlp && !json_is_object(otlp) && !json_is_null(otlp)) {
		snprintf(err, errlen, "spec.otlp must be a mapping");
		return -EINVAL;
	}
	if ((rc = get_bool(otlp, "enabled", true, &s->otlp, "spec.otlp.", err, errlen)) < 0)
		return rc;

	svc = json_object_get(spec, "service");
	if (svc && !json_is_object(svc) && !json_is_null(svc)) {
		snprintf(err, errlen, "spec.service must be a mapping");
		return -EINVAL;
	}
	if ((rc = get_str(svc, "type", "ClusterIP", &s->svc_type, "spec.service.", err, errlen)) < 0 ||
	    (rc = get_coll(svc, "annotations", false, &s->svc_annotations, "spec.service.", err, errlen)) < 0)
		return rc;
	if (strcmp(s->svc_type, "ClusterIP") && strcmp(s->svc_type, "NodePort") && strcmp(s->svc_type, "LoadBalancer")) {
		snprintf(err, errlen, "spec.service.type must be ClusterIP, NodePort or LoadBalancer");
		return -EINVAL;
	}
	if (s->svc_annotations && (rc = check_string_map(s->svc_annotations, "spec.service.annotations", err, errlen)) < 0)
		return rc;
	ports = json_object_get(svc, "ports");
	if (ports && !json_is_object(ports) && !json_is_null(ports)) {
		snprintf(err, errlen, "spec.service.ports must be a mapping");
		return -EINVAL;
	}
	for (i = 0; i < P_COUNT; i++) {
		if ((rc = get_int(ports, port_keys[i], port_defaults[i], &s->ports[i], "spec.service.ports.", err, errlen)) < 0)
			return rc;
		if (s->ports[i] < 1 || s->ports[i] > 65535) {
			snprintf(err, errlen, "spec.service.ports.%s must be between 1 and 65535", port_keys[i]);
			return -EINVAL;
		}
	}

	fb = json_object_get(spec, "fluentBit");
	if (fb && !json_is_object(fb) && !json_is_null(fb)) {
		snprintf(err, errlen, "spec.fluentBit must be a mapping");
		return -EINVAL;
	}
	if ((rc = get_bool(fb, "enabled", false, &s->fb, "spec.fluentBit.", err, errlen)) < 0 ||
	    (rc = get_str(fb, "image", "", &s->fb_image, "spec.fluentBit.", err, errlen)) < 0)
		return rc;
	if (!*s->fb_image)
		s->fb_image = o->fluent_bit_image;
	pipe = json_object_get(fb, "pipeline");
	if (pipe && !json_is_object(pipe) && !json_is_null(pipe)) {
		snprintf(err, errlen, "spec.fluentBit.pipeline must be a mapping");
		return -EINVAL;
	}
	if ((rc = get_coll(pipe, "inputs", true, &s->fb_inputs, "spec.fluentBit.pipeline.", err, errlen)) < 0 ||
	    (rc = get_coll(pipe, "filters", true, &s->fb_filters, "spec.fluentBit.pipeline.", err, errlen)) < 0)
		return rc;
	if (s->fb && s->sidecar) {
		snprintf(err, errlen, "spec.fluentBit.enabled is not supported with spec.mode Sidecar: the sidecar is the agent only");
		return -EINVAL;
	}
	if (s->fb && ((rc = check_pipeline(s->fb_inputs, "spec.fluentBit.pipeline.inputs", err, errlen)) < 0 ||
		      (rc = check_pipeline(s->fb_filters, "spec.fluentBit.pipeline.filters", err, errlen)) < 0))
		return rc;

	/* What the schema cannot see: the fixed ports inside the pod, and clashes among the
	 * ports actually used (OTLP only when enabled). */
	for (i = 0; i < P_COUNT; i++) {
		if (!port_used(s, i))
			continue;
		if (s->ports[i] == RENDER_HEALTH_PORT) {
			snprintf(err, errlen, "spec.service.ports.%s is %d, the agent's health port: choose another port",
				 port_keys[i], RENDER_HEALTH_PORT);
			return -EINVAL;
		}
		if (s->fb && s->ports[i] == RENDER_AGENT_FB_PORT) {
			snprintf(err, errlen, "spec.service.ports.%s is %d, where the agent takes Fluent Bit's output: "
				 "choose another port", port_keys[i], RENDER_AGENT_FB_PORT);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (port_used(s, j) && s->ports[i] == s->ports[j]) {
				snprintf(err, errlen, "spec.service.ports.%s and spec.service.ports.%s are both %lld",
					 port_keys[j], port_keys[i], s->ports[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
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

static json_t *labels(const struct spec *s)
{
	return json_pack("{s:s, s:s, s:s}", RENDER_LABEL_NAME, "vivo", RENDER_LABEL_INSTANCE, s->name,
			 RENDER_LABEL_MANAGED_BY, RENDER_MANAGER);
}

static json_t *selector(const struct spec *s)
{
	return json_pack("{s:s, s:s}", RENDER_LABEL_NAME, "vivo", RENDER_LABEL_INSTANCE, s->name);
}

static json_t *metadata(const struct spec *s, const char *name)
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

static int agent_config(const struct spec *s, struct buf *out)
{
	json_t *cfg = NULL, *inputs, *exporter;
	int rc = -ENOMEM;

	if (!(inputs = json_array()))
		return -ENOMEM;
	if (s->fb) {
		/* Fluent Bit owns the public forward and http ports and forwards here. */
		rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "forward", "listen", "127.0.0.1",
					      "port", (json_int_t)RENDER_AGENT_FB_PORT));
	} else {
		if ((rc = append(inputs, json_pack("{s:s, s:I}", "name", "forward", "port", (json_int_t)s->ports[P_FORWARD]))) == 0)
			rc = append(inputs, json_pack("{s:s, s:I}", "name", "http", "port", (json_int_t)s->ports[P_HTTP]));
	}
	if (rc == 0 && s->otlp)
		rc = append(inputs, json_pack("{s:s, s:I, s:I}", "name", "opentelemetry", "port", (json_int_t)s->ports[P_OTLP],
					      "grpc_port", (json_int_t)s->ports[P_OTLP_GRPC]));
	if (rc < 0) {
		json_decref(inputs);
		return rc;
	}
	exporter = json_pack("{s:s, s:s, s:I, s:s, s:b}", "name", "vivo_exporter", "match", "*",
			     "port", (json_int_t)s->ports[P_EXPORTER], "stream_queue_size", s->queue_size,
			     "empty_stream_on_read", s->empty_on_read);
	if (exporter && *s->cors && set(exporter, "http_cors_allow_origin", json_string(s->cors)) < 0) {
		json_decref(exporter);
		exporter = NULL;
	}
	if (!exporter) {
		json_decref(inputs);
		return -ENOMEM;
	}
	cfg = json_pack("{s:{s:s, s:s, s:I, s:I}, s:{s:o, s:[o]}}",
			"service", "log_level", "info", "listen", "0.0.0.0", "http_port", (json_int_t)RENDER_HEALTH_PORT,
			"ui_port", (json_int_t)s->ports[P_UI],
			"pipeline", "inputs", inputs, "outputs", exporter);
	if (!cfg)
		return -ENOMEM;
	rc = buf_printf(out, "# vivo-agent.yaml for Vivo %s/%s, rendered by vivo-controller: edits are overwritten.\n",
			s->ns, s->name);
	if (rc == 0)
		rc = yout_emit(out, cfg);
	json_decref(cfg);
	return rc;
}

static int fluent_bit_config(const struct spec *s, struct buf *out)
{
	json_t *cfg, *inputs, *filters = NULL;
	int rc;

	if (!(inputs = s->fb_inputs ? json_deep_copy(s->fb_inputs) : json_array()))
		return -ENOMEM;
	if ((rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "forward", "listen", "0.0.0.0",
					   "port", (json_int_t)s->ports[P_FORWARD]))) < 0 ||
	    (rc = append(inputs, json_pack("{s:s, s:s, s:I}", "name", "http", "listen", "0.0.0.0",
					   "port", (json_int_t)s->ports[P_HTTP]))) < 0) {
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

static json_t *render_configmap(const struct spec *s, char *hash, size_t hashlen)
{
	char name[320];
	struct buf agent, fb;
	json_t *cm = NULL, *data = NULL;
	char *dump = NULL;

	buf_init(&agent, 1 << 20);
	buf_init(&fb, 1 << 20);
	if (agent_config(s, &agent) < 0 || (s->fb && fluent_bit_config(s, &fb) < 0))
		goto out;
	if (!(data = json_object()) || set(data, "vivo-agent.yaml", json_stringn(agent.data, agent.len)) < 0)
		goto out;
	if (s->fb && set(data, "fluent-bit.yaml", json_stringn(fb.data, fb.len)) < 0)
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
	buf_free(&agent);
	buf_free(&fb);
	return cm;
}

/* The agent's container ports (or Fluent Bit's). In a sidecar the names carry a "vivo-"
 * prefix, so they cannot clash with the application's port names in the same pod. */
static json_t *container_ports(const struct spec *s, bool fb_container, bool sidecar)
{
	json_t *a = json_array();
	char name[32];
	int i, rc = 0;

	if (!a)
		return NULL;
	for (i = 0; i < P_COUNT && rc == 0; i++) {
		bool fb_port = i == P_FORWARD || i == P_HTTP;

		if (!port_used(s, i))
			continue;
		/* With Fluent Bit in the pod, forward and http are its ports, not the agent's. */
		if (s->fb ? fb_port != fb_container : fb_container)
			continue;
		snprintf(name, sizeof(name), "%s%s", sidecar ? "vivo-" : "", port_names[i]);
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

/* The agent container, one rendering for the Deployment (`sidecar` false) and for the
 * sidecar the webhook injects: image, args, env, ports, probes, resources, security
 * context and the config mounted read-only from `volume`. */
static json_t *agent_container(const struct spec *s, const char *name, const char *volume, bool sidecar)
{
	json_t *c = json_pack("{s:s, s:s, s:[s, s]}", "name", name, "image", s->image, "args", "--config",
			      RENDER_CONFIG_DIR "/vivo-agent.yaml");

	if (!c || set(c, "env", downward_env()) < 0 || set(c, "ports", container_ports(s, false, sidecar)) < 0 ||
	    set(c, "readinessProbe", probe(5, 3)) < 0 || set(c, "livenessProbe", probe(10, 6)) < 0 ||
	    (s->resources && set(c, "resources", json_deep_copy(s->resources)) < 0) ||
	    set(c, "securityContext", security_context()) < 0 || set(c, "volumeMounts", config_mount(volume)) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static json_t *render_deployment(const struct spec *s, const char *hash)
{
	json_t *d = NULL, *podspec = NULL, *containers = NULL, *agent = NULL, *annotations = NULL, *tmpl;
	char cm[320];
	int rc = -ENOMEM;

	render_configmap_name(s->name, cm, sizeof(cm));
	annotations = s->pod_annotations ? json_deep_copy(s->pod_annotations) : json_object();
	if (!annotations || set(annotations, RENDER_HASH_ANNOTATION, json_string(hash)) < 0)
		goto out;
	if (!(agent = agent_container(s, "agent", "config", false)))
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

static json_t *render_service(const struct spec *s)
{
	json_t *svc, *ports = json_array(), *md;
	int i, rc = 0;

	if (!ports)
		return NULL;
	for (i = 0; i < P_COUNT && rc == 0; i++) {
		if (!port_used(s, i))
			continue;
		rc = append(ports, json_pack("{s:s, s:I, s:s, s:s}", "name", port_names[i], "port", (json_int_t)s->ports[i],
					     "targetPort", port_names[i], "protocol", "TCP"));
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

static json_t *render_endpoints(const struct spec *s)
{
	static const char *const scheme[P_COUNT] = { "http", "forward", "http", "http", "http", "http" };
	json_t *e = json_object();
	char url[512];
	int i;

	if (!e)
		return NULL;
	for (i = 0; i < P_COUNT; i++) {
		if (!port_used(s, i))
			continue;
		snprintf(url, sizeof(url), "%s://%s.%s.svc:%lld", scheme[i], s->name, s->ns, s->ports[i]);
		if (set(e, port_keys[i], json_string(url)) < 0) {
			json_decref(e);
			return NULL;
		}
	}
	return e;
}

/* Sidecar mode: the container to inject, and a hash over everything injected (the config
 * and the container), so a spec change that touches only the container (image, resources)
 * also makes injected pods stale. */
static int render_sidecar(const struct spec *s, struct render_out *out)
{
	json_t *both;
	char *dump;
	int i;

	if (!(out->sidecar = agent_container(s, RENDER_SIDECAR_NAME, RENDER_SIDECAR_VOLUME, true)))
		return -ENOMEM;
	both = json_pack("{s:O, s:O}", "data", json_object_get(out->configmap, "data"), "sidecar", out->sidecar);
	dump = both ? json_dumps(both, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(both);
	if (!dump)
		return -ENOMEM;
	cu_sha256_tag(dump, strlen(dump), out->hash, sizeof(out->hash));
	free(dump);
	out->otlp_port = s->otlp ? s->ports[P_OTLP] : 0;
	out->nports = 0;
	for (i = 0; i < P_COUNT; i++)
		if (i != P_OTLP || s->otlp)
			out->ports[out->nports++] = (int)s->ports[i];
	out->ports[out->nports++] = RENDER_HEALTH_PORT;
	return 0;
}

int render_vivo(const json_t *vivo, const struct render_opts *o, struct render_out *out, char *err, size_t errlen)
{
	struct spec s;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_spec(vivo, o, &s, err, errlen)) < 0)
		return rc;
	out->paused = s.paused;
	out->replicas = s.replicas;
	out->mode = s.sidecar ? RENDER_MODE_SIDECAR : RENDER_MODE_DEPLOYMENT;
	if (!(out->configmap = render_configmap(&s, out->hash, sizeof(out->hash))))
		goto nomem;
	if (s.sidecar) {
		/* A profile: the config, and the container the webhook adds to labelled pods. */
		if (render_sidecar(&s, out) < 0)
			goto nomem;
		return 0;
	}
	if (!(out->deployment = render_deployment(&s, out->hash)) || !(out->service = render_service(&s)) ||
	    !(out->endpoints = render_endpoints(&s)))
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
	json_decref(out->endpoints);
	json_decref(out->sidecar);
	memset(out, 0, sizeof(*out));
}
