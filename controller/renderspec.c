/* renderspec.c: a Vivo's spec read for rendering, with its defaults and the checks the CRD schema cannot make. */
#include "renderspec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kobj.h"
#include "opts.h"

const char *const rspec_port_keys[RSPEC_NPORTS] = { "ui", "forward", "http", "exporter", "otlp", "otlpGrpc" };
const char *const rspec_port_names[RSPEC_NPORTS] = { "ui", "forward", "http", "exporter", "otlp", "otlp-grpc" };
static const long long port_defaults[RSPEC_NPORTS] = { 8000, 9000, 9010, 2025, 4318, 4317 };

bool rspec_port_used(const struct rspec *s, int i)
{
	return s->otlp || (i != RSPEC_OTLP && i != RSPEC_OTLP_GRPC);
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

/* A mapping field of `parent` (absent or null: NULL). */
static int get_map(const json_t *parent, const char *key, const json_t **out, const char *path, char *err, size_t errlen)
{
	const json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s%s must be a mapping", path, key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int check_size(const char *v, const char *path, char *err, size_t errlen)
{
	uint64_t qs;

	if (opts_parse_size(v, &qs) < 0 || qs < 1) {
		snprintf(err, errlen, "%s '%.64s' is not a size (bytes, or a number with K, M or G)", path, v);
		return -EINVAL;
	}
	return 0;
}

static int parse_service(const json_t *spec, struct rspec *s, char *err, size_t errlen)
{
	const json_t *svc, *ports;
	int rc, i;

	if ((rc = get_map(spec, "service", &svc, "spec.", err, errlen)) < 0)
		return rc;
	if ((rc = get_str(svc, "type", "ClusterIP", &s->svc_type, "spec.service.", err, errlen)) < 0 ||
	    (rc = get_coll(svc, "annotations", false, &s->svc_annotations, "spec.service.", err, errlen)) < 0)
		return rc;
	if (strcmp(s->svc_type, "ClusterIP") && strcmp(s->svc_type, "NodePort") && strcmp(s->svc_type, "LoadBalancer")) {
		snprintf(err, errlen, "spec.service.type must be ClusterIP, NodePort or LoadBalancer");
		return -EINVAL;
	}
	if (s->svc_annotations && (rc = check_string_map(s->svc_annotations, "spec.service.annotations", err, errlen)) < 0)
		return rc;
	if ((rc = get_map(svc, "ports", &ports, "spec.service.", err, errlen)) < 0)
		return rc;
	for (i = 0; i < RSPEC_NPORTS; i++) {
		if ((rc = get_int(ports, rspec_port_keys[i], port_defaults[i], &s->ports[i], "spec.service.ports.", err,
				  errlen)) < 0)
			return rc;
		if (s->ports[i] < 1 || s->ports[i] > 65535) {
			snprintf(err, errlen, "spec.service.ports.%s must be between 1 and 65535", rspec_port_keys[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_fluent_bit(const json_t *spec, const struct render_opts *o, struct rspec *s, char *err, size_t errlen)
{
	const json_t *fb, *pipe;
	int rc;

	if ((rc = get_map(spec, "fluentBit", &fb, "spec.", err, errlen)) < 0)
		return rc;
	if ((rc = get_bool(fb, "enabled", false, &s->fb, "spec.fluentBit.", err, errlen)) < 0 ||
	    (rc = get_str(fb, "image", "", &s->fb_image, "spec.fluentBit.", err, errlen)) < 0)
		return rc;
	if (!*s->fb_image)
		s->fb_image = o->fluent_bit_image;
	if ((rc = get_map(fb, "pipeline", &pipe, "spec.fluentBit.", err, errlen)) < 0)
		return rc;
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
	return 0;
}

/* spec.aggregator (Sidecar mode's aggregator Deployment): its own stream budget and
 * resources, since it holds what all the pods hold. Read in both modes, so a switch keeps it. */
static int parse_aggregator(const json_t *spec, struct rspec *s, char *err, size_t errlen)
{
	const json_t *agg;
	int rc;

	if ((rc = get_map(spec, "aggregator", &agg, "spec.", err, errlen)) < 0 ||
	    (rc = get_str(agg, "streamQueueSize", "", &s->agg_queue_size, "spec.aggregator.", err, errlen)) < 0 ||
	    (rc = get_coll(agg, "resources", false, &s->agg_resources, "spec.aggregator.", err, errlen)) < 0)
		return rc;
	if (!*s->agg_queue_size)
		s->agg_queue_size = s->queue_size;
	else if ((rc = check_size(s->agg_queue_size, "spec.aggregator.streamQueueSize", err, errlen)) < 0)
		return rc;
	if (!s->agg_resources)
		s->agg_resources = s->resources;
	return 0;
}

/* What the schema cannot see: the fixed ports inside the pod, and clashes among the ports
 * actually used (OTLP only when enabled). */
static int check_ports(const struct rspec *s, char *err, size_t errlen)
{
	int i, j;

	for (i = 0; i < RSPEC_NPORTS; i++) {
		if (!rspec_port_used(s, i))
			continue;
		if (s->ports[i] == RENDER_HEALTH_PORT) {
			snprintf(err, errlen, "spec.service.ports.%s is %d, the agent's health port: choose another port",
				 rspec_port_keys[i], RENDER_HEALTH_PORT);
			return -EINVAL;
		}
		if (s->fb && s->ports[i] == RENDER_AGENT_FB_PORT) {
			snprintf(err, errlen, "spec.service.ports.%s is %d, where the agent takes Fluent Bit's output: "
				 "choose another port", rspec_port_keys[i], RENDER_AGENT_FB_PORT);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (rspec_port_used(s, j) && s->ports[i] == s->ports[j]) {
				snprintf(err, errlen, "spec.service.ports.%s and spec.service.ports.%s are both %lld",
					 rspec_port_keys[j], rspec_port_keys[i], s->ports[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* The headless Services are named <name>-pods and <name>-peers, and a Service's name is a
 * DNS label: refuse a Vivo name that would make one the API server refuses, rather than
 * write half of the objects. */
static int check_names(const struct rspec *s, char *err, size_t errlen)
{
	static const struct {
		const char *suffix, *why;
	} svc[2] = {
		{ RENDER_PODS_SUFFIX, "in Sidecar mode" },
		{ RENDER_PEERS_SUFFIX, "with replicas above 1" },
	};
	size_t i, n = strlen(s->name);

	for (i = 0; i < 2; i++) {
		if (!(i == 0 ? s->sidecar : s->peers) || n + strlen(svc[i].suffix) <= RSPEC_MAX_SERVICE_NAME)
			continue;
		snprintf(err, errlen, "metadata.name is %zu characters: %s the controller also makes the Service "
			 "<name>%s, and a Service name has at most %d: use a name of at most %zu characters", n, svc[i].why,
			 svc[i].suffix, RSPEC_MAX_SERVICE_NAME, RSPEC_MAX_SERVICE_NAME - strlen(svc[i].suffix));
		return -EINVAL;
	}
	return 0;
}

int rspec_parse(const json_t *vivo, const struct render_opts *o, struct rspec *s, char *err, size_t errlen)
{
	const json_t *spec = json_object_get(vivo, "spec"), *otlp;
	const char *mode;
	int rc;

	memset(s, 0, sizeof(*s));
	s->name = kobj_str(vivo, "metadata.name", NULL);
	s->ns = kobj_str(vivo, "metadata.namespace", NULL);
	s->uid = kobj_str(vivo, "metadata.uid", "");
	s->cluster_domain = o->cluster_domain && *o->cluster_domain ? o->cluster_domain : RENDER_CLUSTER_DOMAIN;
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
	s->peers = s->replicas > 1;
	if ((rc = check_size(s->queue_size, "spec.streamQueueSize", err, errlen)) < 0)
		return rc;
	if (strchr(s->cors, '\n') || strchr(s->cors, '\r')) {
		snprintf(err, errlen, "spec.corsAllowOrigin must be one line");
		return -EINVAL;
	}
	if (s->node_selector && (rc = check_string_map(s->node_selector, "spec.nodeSelector", err, errlen)) < 0)
		return rc;
	if (s->pod_annotations && (rc = check_string_map(s->pod_annotations, "spec.podAnnotations", err, errlen)) < 0)
		return rc;
	if ((rc = get_map(spec, "otlp", &otlp, "spec.", err, errlen)) < 0 ||
	    (rc = get_bool(otlp, "enabled", true, &s->otlp, "spec.otlp.", err, errlen)) < 0)
		return rc;
	if ((rc = parse_service(spec, s, err, errlen)) < 0 || (rc = parse_fluent_bit(spec, o, s, err, errlen)) < 0 ||
	    (rc = parse_aggregator(spec, s, err, errlen)) < 0 || (rc = check_ports(s, err, errlen)) < 0)
		return rc;
	return check_names(s, err, errlen);
}
