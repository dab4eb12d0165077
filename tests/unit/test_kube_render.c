/* test_kube_render.c: unit tests for the controller's rendering: objects, labels, owners, configs, hashes, determinism, the aggregator and peers (docs/fleet.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_config.h"
#include "buf.h"
#include "ctlutil.h"
#include "kobj.h"
#include "render.h"
#include "tap.h"
#include "yamljson.h"
#include "yamlout.h"

static const struct render_opts opts = { "vivo-agent:0.1.0", "fluent/fluent-bit:5.1.1", NULL };

static json_t *vivo_meta(const char *name, const char *ns, const char *uid, const char *spec_json)
{
	char text[8192];
	json_error_t e;
	json_t *v;

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"vivo.dev/v1alpha1\",\"kind\":\"Vivo\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\",\"uid\":\"%s\",\"generation\":3},\"spec\":%s}", name, ns, uid, spec_json);
	v = json_loads(text, 0, &e);
	if (!v)
		printf("# bad test JSON: %s\n", e.text);
	return v;
}

static json_t *vivo(const char *spec_json)
{
	return vivo_meta("demo", "default", "1234-abcd", spec_json);
}

/* Print text as TAP diagnostics, one "# " line per line. */
static void diag(const char *title, const char *text)
{
	const char *p = text;

	printf("# %s:\n", title);
	while (*p) {
		size_t n = strcspn(p, "\n");

		printf("#   %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

static const char *cm_data(const struct render_out *r, const char *key)
{
	return json_string_value(json_object_get(json_object_get(r->configmap, "data"), key));
}

/* Find the element of array `a` whose `key` equals `val`. */
static json_t *find(const json_t *a, const char *key, const char *val)
{
	json_t *it;
	size_t i;

	json_array_foreach(a, i, it)
		if (strcmp(kobj_str(it, key, ""), val) == 0)
			return it;
	return NULL;
}

/* The first input of plugin `name` in a loaded agent config, or NULL. */
static const struct input_entry *find_input(const struct agent_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ninputs; i++)
		if (strcmp(cfg->inputs[i].plugin->name, name) == 0)
			return &cfg->inputs[i];
	return NULL;
}

static bool std_meta(const json_t *o, const char *name)
{
	const json_t *labels = kobj_get(o, "metadata.labels"), *ref = json_array_get(kobj_get(o, "metadata.ownerReferences"), 0);

	return strcmp(kobj_str(o, "metadata.name", ""), name) == 0 &&
	       strcmp(kobj_str(o, "metadata.namespace", ""), "default") == 0 &&
	       strcmp(json_string_value(json_object_get(labels, "app.kubernetes.io/name")), "vivo") == 0 &&
	       strcmp(json_string_value(json_object_get(labels, "app.kubernetes.io/instance")), "demo") == 0 &&
	       strcmp(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")), "vivo-controller") == 0 &&
	       json_array_size(kobj_get(o, "metadata.ownerReferences")) == 1 &&
	       strcmp(kobj_str(ref, "apiVersion", ""), "vivo.dev/v1alpha1") == 0 &&
	       strcmp(kobj_str(ref, "kind", ""), "Vivo") == 0 && strcmp(kobj_str(ref, "name", ""), "demo") == 0 &&
	       strcmp(kobj_str(ref, "uid", ""), "1234-abcd") == 0 && json_is_true(json_object_get(ref, "controller")) &&
	       json_is_true(json_object_get(ref, "blockOwnerDeletion"));
}

static void test_defaults(void)
{
	struct render_out r;
	char err[256] = "";
	json_t *v = vivo("{}"), *c, *ports, *sc, *svcports;
	struct agent_config cfg;
	const char *agent_yaml;
	size_t i;
	bool ok_inputs = true;

	ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "an empty spec renders (%s)", err);
	ok(std_meta(r.configmap, "demo-config"), "ConfigMap demo-config: labels and controller ownerReference");
	ok(std_meta(r.deployment, "demo"), "Deployment demo: labels and controller ownerReference");
	ok(std_meta(r.service, "demo"), "Service demo: labels and controller ownerReference");
	ok(strncmp(r.hash, "sha256:", 7) == 0 && strlen(r.hash) == 71, "config hash is sha256:<64 hex> (%s)", r.hash);
	agent_yaml = cm_data(&r, "vivo-agent.yaml");
	ok(agent_yaml != NULL && !cm_data(&r, "fluent-bit.yaml"), "vivo-agent.yaml only, without Fluent Bit");
	if (agent_yaml)
		diag("vivo-agent.yaml", agent_yaml);

	/* The agent's own loader takes the rendered config, with the spec's values. */
	config_init(&cfg);
	ok(agent_yaml && config_load_text(agent_yaml, strlen(agent_yaml), "vivo-agent.yaml", &cfg, err, sizeof(err)) == 0,
	   "the agent's config loader accepts vivo-agent.yaml (%s)", err);
	ok(cfg.service.listen && strcmp(cfg.service.listen, "0.0.0.0") == 0, "agent listens on 0.0.0.0");
	ok(cfg.service.ui_port == 8000 && cfg.service.http_port == 2020 && cfg.exporter.port == 2025,
	   "ui 8000, health 2020, exporter 2025");
	ok(cfg.exporter.stream_queue_size == 20000000 && !cfg.exporter.empty_stream_on_read,
	   "stream_queue_size 20M, empty_stream_on_read off");
	ok(cfg.ninputs == 3, "three inputs: forward, http, opentelemetry (%zu)", cfg.ninputs);
	for (i = 0; i < cfg.ninputs; i++) {
		const char *n = cfg.inputs[i].plugin->name;
		long long p = cfg.inputs[i].conf.port;

		if (!((strcmp(n, "forward") == 0 && p == 9000) || (strcmp(n, "http") == 0 && p == 9010) ||
		      (strcmp(n, "opentelemetry") == 0 && p == 4318 && cfg.inputs[i].conf.grpc_port == 4317)))
			ok_inputs = false;
	}
	ok(ok_inputs, "input ports forward 9000, http 9010, opentelemetry 4318 with grpc_port 4317");
	config_free(&cfg);

	c = json_array_get(kobj_get(r.deployment, "spec.template.spec.containers"), 0);
	ok(json_array_size(kobj_get(r.deployment, "spec.template.spec.containers")) == 1, "one container");
	is_str(kobj_str(c, "image", NULL), "vivo-agent:0.1.0", "image defaults to --agent-image");
	ok(json_integer_value(kobj_get(r.deployment, "spec.replicas")) == 1, "replicas default 1");
	ports = json_object_get(c, "ports");
	ok(find(ports, "name", "ui") && find(ports, "name", "forward") && find(ports, "name", "http") &&
	   find(ports, "name", "exporter") && find(ports, "name", "otlp") && find(ports, "name", "otlp-grpc") &&
	   find(ports, "name", "health"),
	   "container ports ui, forward, http, exporter, otlp, otlp-grpc, health");
	is_str(kobj_str(c, "readinessProbe.httpGet.path", NULL), "/api/v1/health", "readiness probe path");
	ok(json_integer_value(kobj_get(c, "readinessProbe.httpGet.port")) == 2020 &&
	   json_integer_value(kobj_get(c, "livenessProbe.httpGet.port")) == 2020, "probes on :2020");
	sc = json_object_get(c, "securityContext");
	ok(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")) &&
	   json_is_true(json_object_get(sc, "readOnlyRootFilesystem")) && json_is_true(json_object_get(sc, "runAsNonRoot")) &&
	   strcmp(json_string_value(json_array_get(kobj_get(sc, "capabilities.drop"), 0)), "ALL") == 0,
	   "non-root, read-only root fs, no privilege escalation, all capabilities dropped");
	ok(json_is_true(kobj_get(r.deployment, "spec.template.spec.securityContext.runAsNonRoot")), "pod runAsNonRoot");
	is_str(json_string_value(json_object_get(kobj_get(r.deployment, "spec.template.metadata.annotations"),
						 "vivo.dev/config-hash")), r.hash, "pod annotation vivo.dev/config-hash");
	is_str(kobj_str(json_array_get(kobj_get(r.deployment, "spec.template.spec.volumes"), 0), "configMap.name", NULL),
	       "demo-config", "config volume from demo-config");
	ok(json_is_true(kobj_get(json_array_get(json_object_get(c, "volumeMounts"), 0), "readOnly")), "mounted read-only");
	ok(strcmp(json_string_value(json_object_get(kobj_get(r.deployment, "spec.selector.matchLabels"),
						    "app.kubernetes.io/instance")), "demo") == 0, "selector on the instance label");

	svcports = kobj_get(r.service, "spec.ports");
	is_str(kobj_str(r.service, "spec.type", NULL), "ClusterIP", "Service type ClusterIP");
	ok(json_array_size(svcports) == 6 &&
	   json_integer_value(json_object_get(find(svcports, "name", "otlp-grpc"), "port")) == 4317 &&
	   json_integer_value(json_object_get(find(svcports, "name", "ui"), "port")) == 8000 &&
	   json_integer_value(json_object_get(find(svcports, "name", "forward"), "port")) == 9000 &&
	   json_integer_value(json_object_get(find(svcports, "name", "http"), "port")) == 9010 &&
	   json_integer_value(json_object_get(find(svcports, "name", "exporter"), "port")) == 2025 &&
	   json_integer_value(json_object_get(find(svcports, "name", "otlp"), "port")) == 4318,
	   "Service ports ui 8000, forward 9000, http 9010, exporter 2025, otlp 4318, otlp-grpc 4317");
	is_str(kobj_str(r.endpoints, "otlpGrpc", NULL), "http://demo.default.svc:4317", "endpoint otlpGrpc");
	is_str(kobj_str(r.endpoints, "ui", NULL), "http://demo.default.svc:8000", "endpoint ui");
	is_str(kobj_str(r.endpoints, "exporter", NULL), "http://demo.default.svc:2025", "endpoint exporter");
	render_out_free(&r);
	json_decref(v);
}

static void test_spec_values(void)
{
	struct render_out r;
	char err[256] = "";
	json_t *v = vivo("{\"image\":\"my/agent:2\",\"replicas\":3,\"streamQueueSize\":\"5M\",\"emptyStreamOnRead\":true,"
			 "\"corsAllowOrigin\":\"https://x.example\",\"otlp\":{\"enabled\":false},"
			 "\"service\":{\"type\":\"NodePort\",\"annotations\":{\"a\":\"b\"},\"ports\":{\"ui\":18000}},"
			 "\"resources\":{\"limits\":{\"memory\":\"64Mi\"}},\"nodeSelector\":{\"disk\":\"ssd\"},"
			 "\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}],\"podAnnotations\":{\"p\":\"q\"}}");
	struct agent_config cfg;
	const char *agent_yaml;
	json_t *c;

	ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "a full spec renders (%s)", err);
	agent_yaml = cm_data(&r, "vivo-agent.yaml");
	config_init(&cfg);
	ok(agent_yaml && config_load_text(agent_yaml, strlen(agent_yaml), "vivo-agent.yaml", &cfg, err, sizeof(err)) == 0,
	   "agent loads it (%s)", err);
	ok(cfg.exporter.stream_queue_size == 5000000 && cfg.exporter.empty_stream_on_read &&
	   cfg.exporter.http_cors_allow_origin && strcmp(cfg.exporter.http_cors_allow_origin, "https://x.example") == 0,
	   "streamQueueSize, emptyStreamOnRead, corsAllowOrigin reach the agent");
	ok(cfg.service.ui_port == 18000 && cfg.ninputs == 3 && !find_input(&cfg, "opentelemetry") &&
	   find_input(&cfg, "forward") && find_input(&cfg, "http") && find_input(&cfg, "vivo"),
	   "ui port 18000, no OTLP input (forward, http, and vivo for the 3 replicas)");
	config_free(&cfg);
	c = json_array_get(kobj_get(r.deployment, "spec.template.spec.containers"), 0);
	is_str(kobj_str(c, "image", NULL), "my/agent:2", "spec.image");
	is_str(kobj_str(c, "resources.limits.memory", NULL), "64Mi", "resources from the spec");
	ok(json_integer_value(kobj_get(r.deployment, "spec.replicas")) == 3, "replicas 3");
	is_str(kobj_str(r.deployment, "spec.template.spec.nodeSelector.disk", NULL), "ssd", "nodeSelector");
	ok(json_array_size(kobj_get(r.deployment, "spec.template.spec.tolerations")) == 1, "tolerations");
	is_str(kobj_str(r.deployment, "spec.template.metadata.annotations.p", NULL), "q", "podAnnotations kept");
	is_str(kobj_str(r.service, "spec.type", NULL), "NodePort", "Service type NodePort");
	is_str(kobj_str(r.service, "metadata.annotations.a", NULL), "b", "Service annotations");
	ok(json_array_size(kobj_get(r.service, "spec.ports")) == 4, "no otlp Service port when disabled");
	ok(!kobj_get(r.endpoints, "otlp") && !kobj_get(r.endpoints, "otlpGrpc"), "no otlp endpoints when disabled");
	render_out_free(&r);
	json_decref(v);
}

static void test_fluent_bit(void)
{
	struct render_out r;
	char err[256] = "";
	json_t *v = vivo("{\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"name\":\"cpu\",\"tag\":\"cpu.local\","
			 "\"interval_sec\":5}],\"filters\":[{\"name\":\"grep\",\"match\":\"*\",\"regex\":\"log \\\"a\\\": b\"}]}}}");
	json_t *fb = NULL, *containers, *inputs;
	const char *fbyaml, *agent_yaml;
	struct agent_config cfg;
	size_t i;
	bool internal = false;

	ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "fluentBit.enabled renders (%s)", err);
	fbyaml = cm_data(&r, "fluent-bit.yaml");
	ok(fbyaml != NULL, "fluent-bit.yaml is rendered");
	if (fbyaml)
		diag("fluent-bit.yaml", fbyaml);
	ok(fbyaml && yj_parse(fbyaml, strlen(fbyaml), &fb, err, sizeof(err)) == 0, "fluent-bit.yaml is YAML (%s)", err);
	inputs = kobj_get(fb, "pipeline.inputs");
	ok(json_array_size(inputs) == 3, "user input + forward + http");
	is_str(kobj_str(json_array_get(inputs, 0), "name", NULL), "cpu", "user's input first");
	ok(json_integer_value(json_object_get(json_array_get(inputs, 0), "interval_sec")) == 5, "user's keys kept");
	ok(json_integer_value(json_object_get(find(inputs, "name", "forward"), "port")) == 9000 &&
	   json_integer_value(json_object_get(find(inputs, "name", "http"), "port")) == 9010, "forward 9000 and http 9010 inputs");
	is_str(kobj_str(json_array_get(kobj_get(fb, "pipeline.filters"), 0), "regex", NULL), "log \"a\": b",
	       "filter value with quotes survives");
	is_str(kobj_str(json_array_get(kobj_get(fb, "pipeline.outputs"), 0), "name", NULL), "forward", "forward output");
	is_str(kobj_str(json_array_get(kobj_get(fb, "pipeline.outputs"), 0), "host", NULL), "127.0.0.1", "to the agent on localhost");
	ok(json_integer_value(kobj_get(json_array_get(kobj_get(fb, "pipeline.outputs"), 0), "port")) == 24224, "on 24224");
	json_decref(fb);

	agent_yaml = cm_data(&r, "vivo-agent.yaml");
	config_init(&cfg);
	ok(agent_yaml && config_load_text(agent_yaml, strlen(agent_yaml), "vivo-agent.yaml", &cfg, err, sizeof(err)) == 0,
	   "agent loads its config with Fluent Bit in front (%s)", err);
	for (i = 0; i < cfg.ninputs; i++)
		if (strcmp(cfg.inputs[i].plugin->name, "forward") == 0 && cfg.inputs[i].conf.port == 24224 &&
		    cfg.inputs[i].conf.listen && strcmp(cfg.inputs[i].conf.listen, "127.0.0.1") == 0)
			internal = true;
	ok(internal && cfg.ninputs == 2, "agent: forward on 127.0.0.1:24224 and otlp; no http input");
	config_free(&cfg);

	containers = kobj_get(r.deployment, "spec.template.spec.containers");
	ok(json_array_size(containers) == 2, "two containers");
	is_str(kobj_str(json_array_get(containers, 1), "image", NULL), "fluent/fluent-bit:5.1.1", "Fluent Bit image default");
	ok(find(json_object_get(json_array_get(containers, 1), "ports"), "name", "forward") &&
	   !find(json_object_get(json_array_get(containers, 0), "ports"), "name", "forward"),
	   "the forward port moves to the Fluent Bit container");
	render_out_free(&r);
	json_decref(v);
}

static void test_determinism(void)
{
	const char *spec = "{\"streamQueueSize\":\"20M\",\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":"
			   "[{\"name\":\"dummy\",\"b\":\"2\",\"a\":\"1\"}]}}}";
	struct render_out a, b, c;
	char err[256];
	json_t *v1 = vivo(spec), *v2 = vivo(spec), *v3;
	char *da, *db, *dc;
	int k;

	render_vivo(v1, &opts, &a, err, sizeof(err));
	render_vivo(v2, &opts, &b, err, sizeof(err));
	da = dump(a.configmap);
	db = dump(b.configmap);
	ok(strcmp(da, db) == 0 && strcmp(a.hash, b.hash) == 0, "same spec, same ConfigMap bytes and hash");
	free(da);
	free(db);
	da = dump(a.deployment);
	db = dump(b.deployment);
	ok(strcmp(da, db) == 0, "same spec, same Deployment");
	free(da);
	free(db);
	for (k = 0; k < 3; k++) {
		v3 = vivo(k == 0 ? "{\"streamQueueSize\":\"21M\",\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"name\":\"dummy\",\"b\":\"2\",\"a\":\"1\"}]}}}"
			  : k == 1 ? "{\"streamQueueSize\":\"20M\",\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"name\":\"dummy\",\"b\":\"3\",\"a\":\"1\"}]}}}"
				   : "{\"streamQueueSize\":\"20M\",\"service\":{\"ports\":{\"exporter\":2026}},\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"name\":\"dummy\",\"b\":\"2\",\"a\":\"1\"}]}}}");
		render_vivo(v3, &opts, &c, err, sizeof(err));
		ok(strcmp(a.hash, c.hash) != 0, "a %s change changes the config hash",
		   k == 0 ? "streamQueueSize" : k == 1 ? "pipeline" : "port");
		dc = dump(kobj_get(c.deployment, "spec.template.metadata.annotations"));
		ok(strstr(dc, c.hash) != NULL, "... and the pod annotation");
		free(dc);
		render_out_free(&c);
		json_decref(v3);
	}
	render_out_free(&a);
	render_out_free(&b);
	json_decref(v1);
	json_decref(v2);
}

static void test_invalid(void)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
		{ "{\"service\":{\"ports\":{\"ui\":2020}}}", "health port" },
		{ "{\"service\":{\"ports\":{\"ui\":9000}}}", "are both 9000" },
		{ "{\"service\":{\"ports\":{\"exporter\":70000}}}", "between 1 and 65535" },
		{ "{\"service\":{\"ports\":{\"otlpGrpc\":4318}}}", "otlp and spec.service.ports.otlpGrpc are both 4318" },
		{ "{\"service\":{\"ports\":{\"otlpGrpc\":0}}}", "otlpGrpc must be between 1 and 65535" },
		{ "{\"streamQueueSize\":\"lots\"}", "not a size" },
		{ "{\"replicas\":-1}", "replicas" },
		{ "{\"replicas\":\"two\"}", "must be an integer" },
		{ "{\"service\":{\"type\":\"Ingress\"}}", "ClusterIP, NodePort or LoadBalancer" },
		{ "{\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"tag\":\"x\"}]}}}", "needs a 'name'" },
		{ "{\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[\"cpu\"]}}}", "must be a mapping" },
		{ "{\"fluentBit\":{\"enabled\":true},\"service\":{\"ports\":{\"http\":24224}}}", "24224" },
		{ "{\"podAnnotations\":{\"a\":1}}", "must be a string" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct render_out r;
		char err[256] = "";
		json_t *v = vivo(cases[i].spec);
		int rc = render_vivo(v, &opts, &r, err, sizeof(err));

		ok(rc == -EINVAL && strstr(err, cases[i].want), "invalid %s refused: %s", cases[i].spec, err);
		json_decref(v);
	}
	{
		struct render_out r;
		char err[256] = "";
		json_t *v = vivo("{\"otlp\":{\"enabled\":false},\"service\":{\"ports\":{\"otlp\":9000,\"otlpGrpc\":9010}}}");

		ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "a clash with disabled otlp ports is fine");
		render_out_free(&r);
		json_decref(v);
	}
}

/* "sha256:<hex>" of an object's compact, key-sorted JSON. */
static void obj_hash(const json_t *o, char *out, size_t n)
{
	char *d = dump(o);

	cu_sha256_tag(d ? d : "", d ? strlen(d) : 0, out, n);
	free(d);
}

/* Load a rendered agent config with the agent's own loader; NULL-safe text. */
static bool load_agent(const char *text, struct agent_config *cfg, char *err, size_t errlen)
{
	config_init(cfg);
	return text && config_load_text(text, strlen(text), "rendered.yaml", cfg, err, errlen) == 0;
}

/* The follow targets of the vivo input, joined by spaces ("" without one). */
static void follow_of(const struct agent_config *cfg, char *out, size_t n)
{
	const struct input_entry *in = find_input(cfg, "vivo");
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; in && i < in->conf.follow.n && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s", i ? " " : "", in->conf.follow.v[i]);
}

static bool headless(const json_t *svc, const char *name, long long port)
{
	const json_t *p = json_array_get(kobj_get(svc, "spec.ports"), 0);

	return svc && std_meta(svc, name) && strcmp(kobj_str(svc, "kind", ""), "Service") == 0 &&
	       strcmp(kobj_str(svc, "spec.clusterIP", ""), "None") == 0 &&
	       json_is_true(kobj_get(svc, "spec.publishNotReadyAddresses")) &&
	       json_array_size(kobj_get(svc, "spec.ports")) == 1 && strcmp(kobj_str(p, "name", ""), "exporter") == 0 &&
	       json_integer_value(json_object_get(p, "port")) == port &&
	       json_integer_value(json_object_get(p, "targetPort")) == port && !kobj_get(svc, "spec.type");
}

/* replicas 1 (the default) and 0 render what they rendered before the aggregator and the
 * peers existed: the objects' hashes are pinned (a change would roll every Deployment-mode
 * Vivo's pods on a controller upgrade). Pinned after the OTLP/gRPC port (4317) joined the
 * rendering, the one change since the last release, reviewed as the diff of --render. */
static void test_single_replica_unchanged(void)
{
	static const char *const specs[] = { "{}", "{\"replicas\":1}", "{\"replicas\":0}" };
	static const char *const want[3] = {
		"sha256:0b1153de18e523103b61bf23eb7dcc2080e43f362889545c28eed943740d3850",
		"sha256:ca5fde943487f16153dea95e5b9b642232f294fbffcaadfdcf9d86c314864dae",
		"sha256:ab341b48fcc3e8a530a9a3137615067276f73985b9aceeae2518793e7cdc3963",
	};
	char h[3][80], err[256] = "";
	struct render_out r;
	size_t i;

	for (i = 0; i < 3; i++) {
		json_t *v = vivo_meta("demo", "shop", "u-1", specs[i]);
		const char *yaml;

		ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "%s renders (%s)", specs[i], err);
		yaml = cm_data(&r, "vivo-agent.yaml");
		ok(!r.pods_service && !r.peers_service && yaml && !strstr(yaml, "vivo\"\n") && !strstr(yaml, "follow") &&
		   json_object_size(json_object_get(r.configmap, "data")) == 1,
		   "%s: no headless Service, no vivo input, one config", specs[i]);
		obj_hash(r.configmap, h[0], sizeof(h[0]));
		obj_hash(r.deployment, h[1], sizeof(h[1]));
		obj_hash(r.service, h[2], sizeof(h[2]));
		if (i < 2)
			ok(strcmp(h[0], want[0]) == 0 && strcmp(h[1], want[1]) == 0 && strcmp(h[2], want[2]) == 0 &&
			   strcmp(r.hash, "sha256:6a2b6f2b03cd4b47b9382a86eae74fb5b639cbcf8a5e8af673f2e63b1c008b4d") == 0,
			   "%s: ConfigMap, Deployment and Service byte for byte as before (%s %s %s, config %s)", specs[i], h[0],
			   h[1], h[2], r.hash);
		else
			ok(strcmp(h[0], want[0]) == 0 && strcmp(h[2], want[2]) == 0,
			   "replicas 0: the same ConfigMap and Service (nothing follows)");
		render_out_free(&r);
		json_decref(v);
	}
}

/* Deployment mode, replicas > 1: the peers Service and every replica following it. */
static void test_peers(void)
{
	struct render_out r, r2, r5, dom;
	struct render_opts o2 = opts;
	struct agent_config cfg;
	char err[256] = "", fol[512];
	json_t *v = vivo("{\"replicas\":3}"), *v2 = vivo("{\"replicas\":2}"), *v5 = vivo("{\"replicas\":5}"), *v7;
	const char *yaml;

	ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "replicas 3 renders (%s)", err);
	ok(headless(r.peers_service, "demo-peers", 2025), "headless Service demo-peers on the exporter port, "
	   "publishNotReadyAddresses, labels and ownerReference");
	ok(json_equal(kobj_get(r.peers_service, "spec.selector"), kobj_get(r.deployment, "spec.selector.matchLabels")) &&
	   json_equal(kobj_get(r.peers_service, "spec.selector"), kobj_get(r.service, "spec.selector")),
	   "demo-peers selects the Deployment's own pods (its matchLabels)");
	ok(!r.pods_service && r.deployment && r.service, "the Deployment and Service as always, no pods Service");
	ok(json_integer_value(kobj_get(r.deployment, "spec.replicas")) == 3, "replicas 3");
	yaml = cm_data(&r, "vivo-agent.yaml");
	if (yaml)
		diag("vivo-agent.yaml (replicas 3)", yaml);
	ok(load_agent(yaml, &cfg, err, sizeof(err)), "the agent's loader takes the replicas' config (%s)", err);
	follow_of(&cfg, fol, sizeof(fol));
	is_str(fol, "dns:demo-peers.default.svc.cluster.local:2025", "every replica follows dns:demo-peers...:2025");
	ok(cfg.ninputs == 4 && find_input(&cfg, "forward") && find_input(&cfg, "http") && find_input(&cfg, "opentelemetry"),
	   "beside its own inputs (forward, http, opentelemetry)");
	ok(find_input(&cfg, "vivo") && find_input(&cfg, "vivo")->conf.refresh == 10 && find_input(&cfg, "vivo")->conf.grace == 60,
	   "DNS refresh 10 s, grace 60 s (the input's defaults)");
	config_free(&cfg);

	ok(render_vivo(v2, &opts, &r2, err, sizeof(err)) == 0 && render_vivo(v5, &opts, &r5, err, sizeof(err)) == 0,
	   "replicas 2 and 5 render");
	ok(strcmp(r.hash, r2.hash) == 0 && strcmp(r.hash, r5.hash) == 0,
	   "replicas 2, 3, 5: the same config (scaling above 1 rolls nothing)");
	render_out_free(&r2);
	render_out_free(&r5);

	v7 = vivo("{\"replicas\":3,\"service\":{\"ports\":{\"exporter\":2026}}}");
	o2.cluster_domain = "corp.example";
	ok(render_vivo(v7, &o2, &dom, err, sizeof(err)) == 0 && load_agent(cm_data(&dom, "vivo-agent.yaml"), &cfg, err, sizeof(err)),
	   "another exporter port and --cluster-domain render (%s)", err);
	follow_of(&cfg, fol, sizeof(fol));
	is_str(fol, "dns:demo-peers.default.svc.corp.example:2026", "the target follows the exporter port and the cluster domain");
	ok(headless(dom.peers_service, "demo-peers", 2026), "and so does demo-peers");
	config_free(&cfg);
	render_out_free(&dom);
	render_out_free(&r);
	json_decref(v);
	json_decref(v2);
	json_decref(v5);
	json_decref(v7);
}

/* Sidecar mode: the aggregator Deployment, its Service and the headless Service of the
 * injected pods. */
static void test_aggregator(void)
{
	struct render_out r, r2, r3, r4;
	struct agent_config cfg;
	char err[256] = "", fol[512], want[80];
	json_t *v = vivo("{\"mode\":\"Sidecar\",\"streamQueueSize\":\"5M\",\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}");
	json_t *v2 = vivo("{\"mode\":\"Sidecar\",\"streamQueueSize\":\"5M\",\"resources\":{\"limits\":{\"memory\":\"64Mi\"}},"
			  "\"aggregator\":{\"streamQueueSize\":\"50M\",\"resources\":{\"limits\":{\"memory\":\"512Mi\"}}}}");
	json_t *v3 = vivo("{\"mode\":\"Sidecar\",\"replicas\":2}");
	json_t *v4 = vivo("{\"mode\":\"Sidecar\",\"streamQueueSize\":\"6M\",\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}");
	const json_t *c, *data;
	const char *agg, *side;
	char *d;

	ok(render_vivo(v, &opts, &r, err, sizeof(err)) == 0, "a Sidecar-mode Vivo renders (%s)", err);
	ok(r.mode == RENDER_MODE_SIDECAR && r.sidecar && std_meta(r.deployment, "demo") && std_meta(r.service, "demo") &&
	   !r.peers_service, "the aggregator: Deployment demo and Service demo (labels, ownerReference), no peers at 1 replica");
	ok(headless(r.pods_service, "demo-pods", 2025), "headless Service demo-pods on the exporter port, publishNotReadyAddresses");
	d = dump(kobj_get(r.pods_service, "spec.selector"));
	is_str(d, "{\"vivo.dev/sidecar\":\"demo\"}", "demo-pods selects the label the webhook puts on injected pods");
	free(d);
	ok(json_array_size(kobj_get(r.service, "spec.ports")) == 6 && strcmp(kobj_str(r.service, "spec.type", ""), "ClusterIP") == 0,
	   "Service demo: all six ports");
	is_str(kobj_str(r.endpoints, "ui", NULL), "http://demo.default.svc:8000", "status endpoints: the aggregator's");

	data = json_object_get(r.configmap, "data");
	side = cm_data(&r, "vivo-agent.yaml");
	agg = cm_data(&r, "vivo-aggregator.yaml");
	ok(json_object_size(data) == 2 && side && agg, "the ConfigMap holds vivo-agent.yaml (the sidecar) and vivo-aggregator.yaml");
	if (agg)
		diag("vivo-aggregator.yaml", agg);
	ok(load_agent(side, &cfg, err, sizeof(err)) && !find_input(&cfg, "vivo") && cfg.exporter.stream_queue_size == 5000000,
	   "the sidecar's config: no vivo input, its 5M streams (%s)", err);
	config_free(&cfg);
	ok(load_agent(agg, &cfg, err, sizeof(err)), "the agent's loader takes the aggregator's config (%s)", err);
	follow_of(&cfg, fol, sizeof(fol));
	is_str(fol, "dns:demo-pods.default.svc.cluster.local:2025", "the aggregator follows dns:demo-pods...:2025");
	ok(cfg.ninputs == 4 && cfg.exporter.port == 2025 && cfg.exporter.stream_queue_size == 5000000,
	   "with the spec's inputs, exporter and (without spec.aggregator) stream budget");
	config_free(&cfg);

	c = json_array_get(kobj_get(r.deployment, "spec.template.spec.containers"), 0);
	d = dump(json_object_get(c, "args"));
	is_str(d, "[\"--config\",\"/etc/vivo/vivo-aggregator.yaml\"]", "the aggregator runs vivo-aggregator.yaml");
	free(d);
	d = dump(json_object_get(r.sidecar, "args"));
	is_str(d, "[\"--config\",\"/etc/vivo/vivo-agent.yaml\"]", "the sidecar runs vivo-agent.yaml");
	free(d);
	is_str(kobj_str(c, "resources.limits.memory", NULL), "64Mi", "aggregator resources default to the spec's");
	ok(!json_object_get(kobj_get(r.deployment, "spec.template.metadata.labels"), "vivo.dev/sidecar") &&
	   !json_object_get(kobj_get(r.deployment, "spec.template.metadata.labels"), "vivo.dev/inject"),
	   "the aggregator's pods are neither injected nor in demo-pods");
	{
		char *cmd = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);

		cu_sha256_tag(cmd, strlen(cmd), want, sizeof(want));
		free(cmd);
	}
	is_str(json_string_value(json_object_get(kobj_get(r.deployment, "spec.template.metadata.annotations"),
						 "vivo.dev/config-hash")), want, "the aggregator rolls on the ConfigMap's data hash");
	ok(strcmp(want, r.hash) != 0, "... which is not the profile hash the injected pods carry");

	ok(render_vivo(v2, &opts, &r2, err, sizeof(err)) == 0 && load_agent(cm_data(&r2, "vivo-aggregator.yaml"), &cfg, err, sizeof(err)),
	   "spec.aggregator renders (%s)", err);
	ok(cfg.exporter.stream_queue_size == 50000000, "spec.aggregator.streamQueueSize: the aggregator's streams");
	config_free(&cfg);
	is_str(kobj_str(json_array_get(kobj_get(r2.deployment, "spec.template.spec.containers"), 0), "resources.limits.memory", NULL),
	       "512Mi", "spec.aggregator.resources: the aggregator's container");
	ok(strcmp(r.hash, r2.hash) == 0 && json_equal(r.sidecar, r2.sidecar),
	   "an aggregator-only change leaves the sidecar and its hash alone (no injected pod goes stale)");
	ok(render_vivo(v4, &opts, &r4, err, sizeof(err)) == 0 && strcmp(r.hash, r4.hash) != 0,
	   "a sidecar change still makes a new hash");

	ok(render_vivo(v3, &opts, &r3, err, sizeof(err)) == 0 && headless(r3.peers_service, "demo-peers", 2025) &&
	   headless(r3.pods_service, "demo-pods", 2025), "Sidecar mode, replicas 2: demo-pods and demo-peers (%s)", err);
	ok(load_agent(cm_data(&r3, "vivo-aggregator.yaml"), &cfg, err, sizeof(err)), "its aggregator config loads (%s)", err);
	follow_of(&cfg, fol, sizeof(fol));
	is_str(fol, "dns:demo-pods.default.svc.cluster.local:2025 dns:demo-peers.default.svc.cluster.local:2025",
	       "two aggregators follow the pods and each other");
	config_free(&cfg);
	ok(load_agent(cm_data(&r3, "vivo-agent.yaml"), &cfg, err, sizeof(err)) && !find_input(&cfg, "vivo"),
	   "the sidecars still follow nothing");
	config_free(&cfg);
	render_out_free(&r);
	render_out_free(&r2);
	render_out_free(&r3);
	render_out_free(&r4);
	json_decref(v);
	json_decref(v2);
	json_decref(v3);
	json_decref(v4);
}

/* Names the rendered headless Services could not take, and spec.aggregator's types. */
static void test_fleet_invalid(void)
{
	static const struct {
		size_t len;
		const char *spec;
		int rc;
		const char *want;
	} cases[] = {
		{ 58, "{\"mode\":\"Sidecar\"}", 0, NULL },
		{ 59, "{\"mode\":\"Sidecar\"}", -EINVAL, "Service <name>-pods" },
		{ 57, "{\"replicas\":2}", 0, NULL },
		{ 58, "{\"replicas\":2}", -EINVAL, "at most 57 characters" },
		{ 63, "{\"replicas\":1}", 0, NULL },
		{ 4, "{\"aggregator\":{\"streamQueueSize\":\"lots\"}}", -EINVAL, "spec.aggregator.streamQueueSize 'lots' is not a size" },
		{ 4, "{\"aggregator\":[]}", -EINVAL, "spec.aggregator must be a mapping" },
		{ 4, "{\"aggregator\":{\"resources\":1}}", -EINVAL, "spec.aggregator.resources must be a mapping" },
	};
	char name[80];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct render_out r;
		char err[512] = "";
		json_t *v;
		int rc;

		memset(name, 'a', cases[i].len);
		name[cases[i].len] = '\0';
		v = vivo_meta(name, "default", "u", cases[i].spec);
		rc = render_vivo(v, &opts, &r, err, sizeof(err));
		ok(rc == cases[i].rc && (!cases[i].want || strstr(err, cases[i].want)), "a %zu-character name with %s: %s%s",
		   cases[i].len, cases[i].spec, rc == 0 ? "renders" : "refused: ", rc == 0 ? "" : err);
		if (rc == 0)
			render_out_free(&r);
		json_decref(v);
	}
}

static void test_yaml_roundtrip(void)
{
	static const char *const docs[] = {
		"{\"a\":\"plain\",\"b\":\"with: colon\",\"c\":\"#hash\",\"d\":\"\",\"e\":\"true\",\"f\":\"123\",\"g\":\"\\n\\t\\\\\\\"x\","
		"\"h\":\"\\u0001\\u007f\\u0085\\u00e9\\u4e2d\\ud83d\\ude00\",\"i\":\"- dash\",\"j\":\" lead\",\"k\":\"trail \",\"l\":\"null\"}",
		"{\"n\":1,\"m\":-5,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,\"e\":{},\"a\":[],\"on\":\"key named on\",\"odd key\":1,\"\":2}",
		"[[1,[2,[]]],{\"x\":[{\"y\":{\"z\":[\"w\"]}}]},[],{}]",
		"{\"pipeline\":{\"inputs\":[{\"name\":\"x\",\"processors\":{\"logs\":[{\"name\":\"content_modifier\",\"action\":\"insert\"}]}}]}}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *in = json_loads(docs[i], 0, NULL), *back = NULL;
		struct buf b;
		char err[256] = "";
		int rc;

		buf_init(&b, 1 << 20);
		rc = yout_emit(&b, in);
		buf_putc(&b, '\0');
		ok(rc == 0 && yj_parse(b.data, b.len - 1, &back, err, sizeof(err)) == 0 && json_equal(in, back),
		   "YAML round trip %zu (%s)", i, err);
		if (!back || !json_equal(in, back))
			diag("emitted", b.data);
		json_decref(in);
		json_decref(back);
		buf_free(&b);
	}
}

int main(void)
{
	test_defaults();
	test_spec_values();
	test_fluent_bit();
	test_determinism();
	test_invalid();
	test_single_replica_unchanged();
	test_peers();
	test_aggregator();
	test_fleet_invalid();
	test_yaml_roundtrip();
	return tap_done();
}
