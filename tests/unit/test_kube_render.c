/* test_kube_render.c: unit tests for the controller's rendering: objects, labels, owners, configs, hashes, determinism. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_config.h"
#include "buf.h"
#include "kobj.h"
#include "render.h"
#include "tap.h"
#include "yamljson.h"
#include "yamlout.h"

static const struct render_opts opts = { "vivo-agent:0.1.0", "fluent/fluent-bit:5.1.1" };

static json_t *vivo(const char *spec_json)
{
	char text[8192];
	json_error_t e;
	json_t *v;

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"vivo.dev/v1alpha1\",\"kind\":\"Vivo\",\"metadata\":{\"name\":\"demo\","
		 "\"namespace\":\"default\",\"uid\":\"1234-abcd\",\"generation\":3},\"spec\":%s}", spec_json);
	v = json_loads(text, 0, &e);
	if (!v)
		printf("# bad test JSON: %s\n", e.text);
	return v;
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
	ok(cfg.service.ui_port == 18000 && cfg.ninputs == 2, "ui port 18000, no OTLP input");
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
	test_yaml_roundtrip();
	return tap_done();
}
