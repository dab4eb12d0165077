/* test_kube_inject.c: unit tests for the sidecar patch builder (every container and volume layout, idempotence), the JSON Patch applier, version checks, AdmissionReview and the profile registry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "admission.h"
#include "buf.h"
#include "inject.h"
#include "kobj.h"
#include "profiles.h"
#include "render.h"
#include "tap.h"

static const struct render_opts ropts = { "vivo-agent:0.1.0", "fluent/fluent-bit:5.1.1", NULL };

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		printf("# bad test JSON: %s: %s\n", e.text, text);
	return v;
}

/* A Sidecar-mode Vivo "prof" rendered, with `extra` spec fields ("" for none). */
static int render_sidecar_vivo(const char *name, const char *extra, struct render_out *ro)
{
	char text[2048], err[256] = "";
	json_t *v;
	int rc;

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"vivo.dev/v1alpha1\",\"kind\":\"Vivo\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"apps\",\"uid\":\"u-1\"},\"spec\":{\"mode\":\"Sidecar\"%s%s}}", name, *extra ? "," : "", extra);
	v = parse(text);
	rc = render_vivo(v, &ropts, ro, err, sizeof(err));
	if (rc < 0)
		printf("# render: %s\n", err);
	json_decref(v);
	return rc;
}

static struct render_out ro_main;

static struct inj_profile profile(const struct render_out *ro, const char *name, bool native)
{
	struct inj_profile p;
	static char cm[320];

	render_configmap_name(name, cm, sizeof(cm));
	memset(&p, 0, sizeof(p));
	p.vivo = name;
	p.hash = ro->hash;
	p.configmap = cm;
	p.container = ro->sidecar;
	p.otlp_port = ro->otlp_port;
	p.ports = ro->ports;
	p.nports = ro->nports;
	p.native = native;
	return p;
}

/* Build the patch for `pod_text`, apply it, and return the patched pod (NULL on failure);
 * *res keeps the result for inspection (caller frees). */
static json_t *inject(const char *pod_text, const struct inj_profile *p, struct inj_result *res)
{
	char err[256] = "";
	json_t *pod = parse(pod_text);

	if (!pod)
		return NULL;
	if (inj_build(pod, p, res, err, sizeof(err)) < 0) {
		printf("# inj_build: %s\n", err);
		json_decref(pod);
		return NULL;
	}
	if (inj_apply(pod, res->patch, err, sizeof(err)) < 0) {
		printf("# inj_apply: %s\n", err);
		json_decref(pod);
		inj_result_free(res);
		return NULL;
	}
	return pod;
}

/* Building again on the patched pod changes nothing. */
static bool idempotent(const json_t *patched, const struct inj_profile *p)
{
	struct inj_result again;
	char err[256];
	bool ok_;

	if (inj_build(patched, p, &again, err, sizeof(err)) < 0)
		return false;
	ok_ = again.present && json_array_size(again.patch) == 0;
	inj_result_free(&again);
	return ok_;
}

static const json_t *env_of(const json_t *c, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e)
		if (strcmp(kobj_str(e, "name", ""), name) == 0)
			return e;
	return NULL;
}

static long env_index(const json_t *c, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e)
		if (strcmp(kobj_str(e, "name", ""), name) == 0)
			return (long)i;
	return -1;
}

static const json_t *container(const json_t *pod, const char *list, size_t i)
{
	return json_array_get(kobj_get(pod, list), i);
}

static bool has_warning(const struct inj_result *r, const char *needle)
{
	const json_t *w;
	size_t i;

	json_array_foreach(r->warnings, i, w)
		if (strstr(json_string_value(w), needle))
			return true;
	return false;
}

#define ATTRS "k8s.pod.name=$(VIVO_POD_NAME),k8s.namespace.name=$(VIVO_POD_NAMESPACE)"

static void test_bare_pod(void)
{
	struct inj_profile p = profile(&ro_main, "prof", true);
	struct inj_result r;
	json_t *pod = inject("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"x\"}]}}",
			     &p, &r);
	const json_t *side, *app, *vol;
	char want[128];

	ok(pod != NULL, "a bare pod (no env, volumes, init containers, labels or annotations) is patched");
	if (!pod)
		return;
	side = container(pod, "spec.initContainers", 0);
	app = container(pod, "spec.containers", 0);
	is_str(kobj_str(side, "name", NULL), "vivo-agent", "native: the sidecar is spec.initContainers[0]");
	is_str(kobj_str(side, "restartPolicy", NULL), "Always", "... with restartPolicy Always");
	ok(json_array_size(kobj_get(pod, "spec.containers")) == 1, "no ordinary container added");
	vol = json_array_get(kobj_get(pod, "spec.volumes"), 0);
	is_str(kobj_str(vol, "name", NULL), "vivo-config", "volume vivo-config");
	is_str(kobj_str(vol, "configMap.name", NULL), "prof-config", "... from ConfigMap prof-config");
	is_str(kobj_str(json_array_get(json_object_get(side, "volumeMounts"), 0), "name", NULL), "vivo-config",
	       "the sidecar mounts it");
	ok(json_is_true(kobj_get(json_array_get(json_object_get(side, "volumeMounts"), 0), "readOnly")), "read-only");
	is_str(kobj_str(env_of(app, "OTEL_EXPORTER_OTLP_ENDPOINT"), "value", NULL), "http://localhost:4318",
	       "app gets OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318");
	is_str(kobj_str(env_of(app, "OTEL_EXPORTER_OTLP_PROTOCOL"), "value", NULL), "http/protobuf",
	       "app gets OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf");
	is_str(kobj_str(env_of(app, "OTEL_RESOURCE_ATTRIBUTES"), "value", NULL), ATTRS,
	       "app gets OTEL_RESOURCE_ATTRIBUTES with k8s.pod.name and k8s.namespace.name");
	is_str(kobj_str(env_of(app, "VIVO_POD_NAME"), "valueFrom.fieldRef.fieldPath", NULL), "metadata.name",
	       "VIVO_POD_NAME from the downward API");
	ok(env_index(app, "VIVO_POD_NAME") < env_index(app, "OTEL_RESOURCE_ATTRIBUTES") &&
	   env_index(app, "VIVO_POD_NAMESPACE") < env_index(app, "OTEL_RESOURCE_ATTRIBUTES"),
	   "the referenced variables come before OTEL_RESOURCE_ATTRIBUTES (so $(...) expands)");
	snprintf(want, sizeof(want), "prof@%s", ro_main.hash);
	is_str(json_string_value(json_object_get(kobj_get(pod, "metadata.annotations"), "vivo.dev/injected")), want,
	       "annotation vivo.dev/injected: prof@<hash>");
	is_str(json_string_value(json_object_get(kobj_get(pod, "metadata.labels"), "vivo.dev/sidecar")), "prof",
	       "label vivo.dev/sidecar: prof");
	is_str(kobj_str(env_of(side, "POD_NAME"), "valueFrom.fieldRef.fieldPath", NULL), "metadata.name",
	       "sidecar POD_NAME from the downward API");
	is_str(kobj_str(env_of(side, "NODE_NAME"), "valueFrom.fieldRef.fieldPath", NULL), "spec.nodeName",
	       "sidecar NODE_NAME from spec.nodeName");
	ok(idempotent(pod, &p), "building again on the patched pod: already present, empty patch");
	inj_result_free(&r);
	json_decref(pod);
}

static void test_env_layouts(void)
{
	struct inj_profile p = profile(&ro_main, "prof", true);
	struct inj_result r;
	json_t *pod;
	const json_t *a, *b, *c;

	pod = inject("{\"metadata\":{\"name\":\"a\",\"labels\":{\"vivo.dev/inject\":\"prof\"},\"annotations\":{\"x\":\"y\"}},"
		     "\"spec\":{\"containers\":["
		     "{\"name\":\"own\",\"env\":[{\"name\":\"OTEL_EXPORTER_OTLP_ENDPOINT\",\"value\":\"http://collector:4318\"}]},"
		     "{\"name\":\"attrs\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
		     "{\"name\":\"OTEL_RESOURCE_ATTRIBUTES\",\"value\":\"service.name=shop\"}]},"
		     "{\"name\":\"half\",\"env\":[{\"name\":\"OTEL_RESOURCE_ATTRIBUTES\",\"value\":\"k8s.pod.name=mine, \"},"
		     "{\"name\":\"OTEL_EXPORTER_OTLP_PROTOCOL\",\"value\":\"grpc\"}]},"
		     "{\"name\":\"secret\",\"env\":[{\"name\":\"OTEL_RESOURCE_ATTRIBUTES\",\"valueFrom\":{\"secretKeyRef\":"
		     "{\"name\":\"s\",\"key\":\"k\"}}}]},"
		     "{\"name\":\"empty\",\"env\":[]},"
		     "{\"name\":\"nullenv\",\"env\":null}"
		     "]}}", &p, &r);
	ok(pod != NULL, "six containers with different env layouts are patched");
	if (!pod)
		return;
	a = container(pod, "spec.containers", 0);
	is_str(kobj_str(env_of(a, "OTEL_EXPORTER_OTLP_ENDPOINT"), "value", NULL), "http://collector:4318",
	       "a container that sets OTEL_EXPORTER_OTLP_ENDPOINT keeps its value");
	ok(!env_of(a, "OTEL_EXPORTER_OTLP_PROTOCOL"), "... and gets no protocol (its endpoint may be gRPC)");
	is_str(kobj_str(env_of(a, "OTEL_RESOURCE_ATTRIBUTES"), "value", NULL), ATTRS, "... but gets the resource attributes");
	ok(json_array_size(json_object_get(a, "env")) == 4, "... 4 variables in all (%zu)",
	   json_array_size(json_object_get(a, "env")));

	b = container(pod, "spec.containers", 1);
	is_str(kobj_str(env_of(b, "OTEL_RESOURCE_ATTRIBUTES"), "value", NULL), "service.name=shop," ATTRS,
	       "existing OTEL_RESOURCE_ATTRIBUTES: ours appended, theirs kept");
	ok(env_index(b, "VIVO_POD_NAME") == 0 && env_index(b, "VIVO_POD_NAMESPACE") == 1 && env_index(b, "A") == 2,
	   "... the variables it refers to inserted first, the others after them in order");
	ok(env_of(b, "OTEL_EXPORTER_OTLP_ENDPOINT") && env_of(b, "OTEL_EXPORTER_OTLP_PROTOCOL"), "... and the endpoint pair added");

	c = container(pod, "spec.containers", 2);
	is_str(kobj_str(env_of(c, "OTEL_RESOURCE_ATTRIBUTES"), "value", NULL),
	       "k8s.pod.name=mine,k8s.namespace.name=$(VIVO_POD_NAMESPACE)",
	       "k8s.pod.name already set: kept, only k8s.namespace.name appended (trailing ', ' tidied)");
	ok(!env_of(c, "VIVO_POD_NAME") && env_of(c, "VIVO_POD_NAMESPACE"), "... and only VIVO_POD_NAMESPACE added");
	is_str(kobj_str(env_of(c, "OTEL_EXPORTER_OTLP_PROTOCOL"), "value", NULL), "grpc", "a set protocol is kept");
	ok(!env_of(c, "OTEL_EXPORTER_OTLP_ENDPOINT"), "... and no endpoint is added beside it");

	c = container(pod, "spec.containers", 3);
	ok(json_object_get(env_of(c, "OTEL_RESOURCE_ATTRIBUTES"), "valueFrom") &&
	   !json_object_get(env_of(c, "OTEL_RESOURCE_ATTRIBUTES"), "value"),
	   "OTEL_RESOURCE_ATTRIBUTES from a Secret is left as it is");
	ok(has_warning(&r, "container secret takes OTEL_RESOURCE_ATTRIBUTES from valueFrom"), "... with a warning");
	ok(env_of(c, "OTEL_EXPORTER_OTLP_ENDPOINT") != NULL, "... and the endpoint still added");

	c = container(pod, "spec.containers", 4);
	ok(json_array_size(json_object_get(c, "env")) == 5 && env_index(c, "OTEL_RESOURCE_ATTRIBUTES") == 4,
	   "env: [] gets all five, OTEL_RESOURCE_ATTRIBUTES last");
	c = container(pod, "spec.containers", 5);
	ok(json_array_size(json_object_get(c, "env")) == 5, "env: null gets all five");
	is_str(json_string_value(json_object_get(kobj_get(pod, "metadata.annotations"), "x")), "y",
	       "existing annotations kept");
	is_str(json_string_value(json_object_get(kobj_get(pod, "metadata.labels"), "vivo.dev/inject")), "prof",
	       "existing labels kept");
	ok(idempotent(pod, &p), "idempotent");
	inj_result_free(&r);
	json_decref(pod);
}

static void test_volumes_and_init(void)
{
	struct inj_profile p = profile(&ro_main, "prof", true);
	struct inj_result r;
	json_t *pod;
	const json_t *vols;

	pod = inject("{\"metadata\":{\"name\":\"a\"},\"spec\":{"
		     "\"initContainers\":[{\"name\":\"migrate\"},{\"name\":\"seed\"}],"
		     "\"containers\":[{\"name\":\"app\",\"volumeMounts\":[{\"name\":\"vivo-config\",\"mountPath\":\"/cfg\"}]}],"
		     "\"volumes\":[{\"name\":\"vivo-config\",\"emptyDir\":{}},{\"name\":\"vivo-config-2\",\"emptyDir\":{}}]}}",
		     &p, &r);
	ok(pod != NULL, "a pod with init containers and volumes named like ours is patched");
	if (!pod)
		return;
	ok(json_array_size(kobj_get(pod, "spec.initContainers")) == 3, "three init containers");
	is_str(kobj_str(container(pod, "spec.initContainers", 0), "name", NULL), "vivo-agent", "the sidecar first");
	is_str(kobj_str(container(pod, "spec.initContainers", 1), "name", NULL), "migrate", "then the existing ones in order");
	is_str(kobj_str(container(pod, "spec.initContainers", 2), "name", NULL), "seed", "...");
	vols = kobj_get(pod, "spec.volumes");
	ok(json_array_size(vols) == 3 && json_object_get(json_array_get(vols, 0), "emptyDir") &&
	   json_object_get(json_array_get(vols, 1), "emptyDir"), "the pod's own vivo-config and vivo-config-2 are untouched");
	is_str(kobj_str(json_array_get(vols, 2), "name", NULL), "vivo-config-3", "ours is vivo-config-3");
	is_str(kobj_str(json_array_get(vols, 2), "configMap.name", NULL), "prof-config", "... from the ConfigMap");
	is_str(kobj_str(json_array_get(json_object_get(container(pod, "spec.initContainers", 0), "volumeMounts"), 0), "name", NULL),
	       "vivo-config-3", "the sidecar mounts vivo-config-3");
	is_str(kobj_str(json_array_get(json_object_get(container(pod, "spec.containers", 0), "volumeMounts"), 0), "name", NULL),
	       "vivo-config", "the app's mount is its own");
	ok(idempotent(pod, &p), "idempotent");
	inj_result_free(&r);
	json_decref(pod);
}

static void test_not_native(void)
{
	struct inj_profile p = profile(&ro_main, "prof", false);
	struct inj_result r;
	json_t *pod = inject("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"one\"},{\"name\":\"two\"}]}}",
			     &p, &r);
	const json_t *side;

	ok(pod != NULL, "older API server (< 1.29): patched as an ordinary container");
	if (!pod)
		return;
	ok(!kobj_get(pod, "spec.initContainers"), "no init containers");
	ok(json_array_size(kobj_get(pod, "spec.containers")) == 3, "three containers");
	side = container(pod, "spec.containers", 2);
	is_str(kobj_str(side, "name", NULL), "vivo-agent", "the sidecar last (the first stays kubectl's default)");
	ok(!json_object_get(side, "restartPolicy"), "no restartPolicy on an ordinary container");
	ok(!env_of(side, "OTEL_EXPORTER_OTLP_ENDPOINT"), "the sidecar itself gets no OTEL variables");
	ok(env_of(container(pod, "spec.containers", 0), "OTEL_EXPORTER_OTLP_ENDPOINT") &&
	   env_of(container(pod, "spec.containers", 1), "OTEL_EXPORTER_OTLP_ENDPOINT"), "both app containers do");
	ok(idempotent(pod, &p), "idempotent");
	inj_result_free(&r);
	json_decref(pod);
}

static void test_same_container_as_deployment(void)
{
	struct render_out dep;
	char err[256] = "";
	json_t *v = parse("{\"metadata\":{\"name\":\"prof\",\"namespace\":\"apps\",\"uid\":\"u\"},"
			  "\"spec\":{\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}}");
	struct render_out side;
	const json_t *a, *s;
	static const char *const same[] = { "image", "args", "env", "readinessProbe", "livenessProbe", "resources",
					   "securityContext" };
	size_t i;
	bool all = true;

	ok(render_vivo(v, &ropts, &dep, err, sizeof(err)) == 0 &&
	   render_sidecar_vivo("prof", "\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}", &side) == 0,
	   "the same Vivo renders in both modes (%s)", err);
	a = json_array_get(kobj_get(dep.deployment, "spec.template.spec.containers"), 0);
	s = side.sidecar;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (!json_equal(json_object_get(a, same[i]), json_object_get(s, same[i]))) {
			printf("# %s differs\n", same[i]);
			all = false;
		}
	ok(all, "sidecar and Deployment agent containers: same image, args, env, probes, resources, security context");
	is_str(kobj_str(s, "securityContext.seccompProfile.type", NULL), "RuntimeDefault",
	       "the container's own context is complete (seccomp, user 65532) for someone else's pod");
	ok(json_integer_value(kobj_get(s, "securityContext.runAsUser")) == 65532, "runAsUser 65532");
	is_str(kobj_str(json_array_get(json_object_get(s, "ports"), 0), "name", NULL), "vivo-ui",
	       "sidecar port names carry a vivo- prefix");
	ok(!dep.sidecar && side.mode == RENDER_MODE_SIDECAR && side.configmap && side.deployment && side.service &&
	   side.pods_service && side.endpoints && !dep.pods_service,
	   "Sidecar mode renders a ConfigMap, the sidecar, and the aggregator (Deployment, Service, headless demo-pods)");
	ok(strcmp(dep.hash, side.hash) != 0, "the Sidecar hash covers the container too");
	render_out_free(&dep);
	render_out_free(&side);
	json_decref(v);
}

static void test_edges(void)
{
	struct inj_profile p = profile(&ro_main, "prof", true);
	struct inj_result r;
	struct render_out nootlp;
	char err[256];
	json_t *pod, *in;

	pod = inject("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"initContainers\":[{\"name\":\"vivo-agent\"}],"
		     "\"containers\":[{\"name\":\"app\"}]}}", &p, &r);
	ok(pod && r.present && json_array_size(r.patch) == 0, "a pod that already has the sidecar is returned unchanged");
	inj_result_free(&r);
	json_decref(pod);

	pod = inject("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"app\"}]}}", &p, &r);
	ok(pod && json_array_size(r.patch) == 0 && has_warning(&r, "host network"),
	   "a host-network pod is left alone, with a warning");
	inj_result_free(&r);
	json_decref(pod);

	pod = inject("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"vivo.dev/inject-env\":\"false\"}},"
		     "\"spec\":{\"containers\":[{\"name\":\"app\",\"ports\":[{\"containerPort\":8000}]}]}}", &p, &r);
	ok(pod && !json_object_get(container(pod, "spec.containers", 0), "env") && inj_find_sidecar(json_object_get(pod, "spec"), NULL),
	   "vivo.dev/inject-env: \"false\": the sidecar without the OTEL variables");
	ok(has_warning(&r, "declares port 8000"), "an app port the agent uses too gets a warning");
	inj_result_free(&r);
	json_decref(pod);

	pod = inject("{\"spec\":{\"containers\":[{\"name\":\"app\"}]}}", &p, &r);
	ok(pod && kobj_get(pod, "metadata.annotations") && kobj_get(pod, "metadata.labels"),
	   "a template without metadata gets one");
	ok(pod && idempotent(pod, &p), "idempotent");
	inj_result_free(&r);
	json_decref(pod);

	ok(render_sidecar_vivo("nootlp", "\"otlp\":{\"enabled\":false}", &nootlp) == 0, "a Sidecar Vivo without OTLP renders");
	{
		struct inj_profile q = profile(&nootlp, "nootlp", true);

		pod = inject("{\"metadata\":{},\"spec\":{\"containers\":[{\"name\":\"app\"}]}}", &q, &r);
		ok(pod && !json_object_get(container(pod, "spec.containers", 0), "env"),
		   "no OTLP input: no OTEL variables in the apps");
		inj_result_free(&r);
		json_decref(pod);
	}
	render_out_free(&nootlp);

	in = parse("{\"metadata\":{}}");
	ok(inj_build(in, &p, &r, err, sizeof(err)) == -EINVAL, "no spec: refused (%s)", err);
	json_decref(in);
	in = parse("{\"spec\":{\"containers\":{}}}");
	ok(inj_build(in, &p, &r, err, sizeof(err)) == -EINVAL, "containers not a list: refused (%s)", err);
	json_decref(in);
}

static void test_apply(void)
{
	static const struct {
		const char *doc, *patch, *want; /* want NULL: must fail */
	} cases[] = {
		{ "{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1}" },
		{ "{\"a\":[1,3]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]", "{\"a\":[1,2,3]}" },
		{ "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":2}]", "{\"a\":[1,2]}" },
		{ "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]", "{\"a\":[1,2]}" },
		{ "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]", NULL },
		{ "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]", NULL },
		{ "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2}]", "{\"a\":2}" },
		{ "{}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2}]", NULL },
		{ "{\"a\":1,\"b\":2}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "{\"b\":2}" },
		{ "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/0\"}]", "{\"a\":[2]}" },
		{ "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1}" },
		{ "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", NULL },
		{ "{\"m\":{}}", "[{\"op\":\"add\",\"path\":\"/m/vivo.dev~1injected\",\"value\":\"x\"}]",
		  "{\"m\":{\"vivo.dev/injected\":\"x\"}}" },
		{ "{\"m\":{}}", "[{\"op\":\"add\",\"path\":\"/m/a~0b\",\"value\":1}]", "{\"m\":{\"a~b\":1}}" },
		{ "{\"m\":{}}", "[{\"op\":\"add\",\"path\":\"/m/a~2\",\"value\":1}]", NULL },
		{ "{}", "[{\"op\":\"add\",\"path\":\"/x/y\",\"value\":1}]", NULL },
		{ "{}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", NULL },
		{ "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL },
		{ "{}", "{\"op\":\"add\"}", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = parse(cases[i].doc), *patch = parse(cases[i].patch), *want = cases[i].want ? parse(cases[i].want) : NULL;
		char err[256] = "";
		int rc = inj_apply(doc, patch, err, sizeof(err));

		if (cases[i].want)
			ok(rc == 0 && json_equal(doc, want), "apply %s to %s (%s)", cases[i].patch, cases[i].doc, err);
		else
			ok(rc == -EINVAL && err[0], "apply %s to %s refused: %s", cases[i].patch, cases[i].doc, err);
		json_decref(doc);
		json_decref(patch);
		json_decref(want);
	}
}

static void test_versions(void)
{
	static const struct {
		const char *json;
		int rc, major, minor;
		bool native;
	} cases[] = {
		{ "{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.3\"}", 0, 1, 34, true },
		{ "{\"major\":\"1\",\"minor\":\"29+\",\"gitVersion\":\"v1.29.3-gke.1\"}", 0, 1, 29, true },
		{ "{\"major\":\"1\",\"minor\":\"28\"}", 0, 1, 28, false },
		{ "{\"major\":\"\",\"minor\":\"\",\"gitVersion\":\"v1.27.16\"}", 0, 1, 27, false },
		{ "{\"gitVersion\":\"v2.0.0\"}", 0, 2, 0, true },
		{ "{\"gitVersion\":\"latest\"}", -EINVAL, 0, 0, false },
		{ "[]", -EINVAL, 0, 0, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = parse(cases[i].json);
		int ma = -1, mi = -1, rc = inj_parse_version(v, &ma, &mi);

		if (cases[i].rc == 0)
			ok(rc == 0 && ma == cases[i].major && mi == cases[i].minor &&
			   inj_native_supported(ma, mi) == cases[i].native, "version %s: %d.%d, native sidecars %s",
			   cases[i].json, ma, mi, cases[i].native ? "yes" : "no");
		else
			ok(rc == cases[i].rc, "version %s refused", cases[i].json);
		json_decref(v);
	}
}

/* A test double for the registry lookup: one profile "prof" in namespace "apps". */
static int fake_lookup(void *ctx, const char *ns, const char *value, struct inj_profile *p, char *why, size_t n)
{
	(void)ctx;
	if (strcmp(ns, "apps") != 0 || (strcmp(value, "prof") != 0 && strcmp(value, "true") != 0)) {
		snprintf(why, n, "there is no Vivo %s in namespace %s", value, ns);
		return -ENOENT;
	}
	*p = profile(&ro_main, "prof", true);
	return 0;
}

static char *review(const char *pod, const char *op, int *rc, const char **result)
{
	struct adm_env env = { fake_lookup, NULL, NULL };
	struct buf out, body;
	char err[256] = "";

	buf_init(&body, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_printf(&body, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
		   "\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
		   "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},\"namespace\":\"apps\","
		   "\"operation\":\"%s\",\"object\":%s}}", op, pod);
	*rc = adm_review(body.data, body.len, &env, &out, result, err, sizeof(err));
	buf_free(&body);
	if (*rc < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

static void test_review(void)
{
	const char *pod = "{\"metadata\":{\"name\":\"a\",\"namespace\":\"apps\",\"labels\":{\"vivo.dev/inject\":\"prof\"}},"
			  "\"spec\":{\"containers\":[{\"name\":\"app\"}]}}";
	const char *result = "";
	char *text, err[256];
	int rc;
	json_t *resp, *patch, *want_pod, *got_pod;
	struct inj_result ir;
	struct inj_profile p = profile(&ro_main, "prof", true);
	unsigned char dec[65536];
	int n;
	struct buf b;
	struct adm_env env = { fake_lookup, NULL, NULL };
	static const char *const bad[] = {
		"not json", "[]", "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\",\"operation\":\"CREATE\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"}}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7,\"operation\":\"CREATE\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"}}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"object\":[]}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"apiVersion\":\"x\"}",
	};
	size_t i;

	text = review(pod, "CREATE", &rc, &result);
	ok(rc == 0 && text && strcmp(result, "injected") == 0, "a labelled pod creation: injected (%s)", result);
	resp = text ? parse(text) : NULL;
	is_str(kobj_str(resp, "response.uid", NULL), "705ab4f5-6393-11e8-b7cc-42010a800002", "response carries the uid");
	ok(json_is_true(kobj_get(resp, "response.allowed")), "allowed");
	is_str(kobj_str(resp, "response.patchType", NULL), "JSONPatch", "patchType JSONPatch");
	n = EVP_DecodeBlock(dec, (const unsigned char *)kobj_str(resp, "response.patch", ""),
			    (int)strlen(kobj_str(resp, "response.patch", "")));
	while (n > 0 && dec[n - 1] == '\0')
		n--; /* padding */
	patch = n > 0 ? json_loadb((const char *)dec, (size_t)n, 0, NULL) : NULL;
	want_pod = parse(pod);
	ok(patch && inj_build(want_pod, &p, &ir, err, sizeof(err)) == 0 && json_equal(patch, ir.patch),
	   "the base64 patch is the builder's patch");
	got_pod = parse(pod);
	ok(patch && inj_apply(got_pod, patch, err, sizeof(err)) == 0 && inj_find_sidecar(json_object_get(got_pod, "spec"), NULL),
	   "and applies to the pod");
	inj_result_free(&ir);
	json_decref(patch);
	json_decref(want_pod);
	json_decref(got_pod);
	json_decref(resp);
	free(text);

	text = review("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"app\"}]}}", "CREATE", &rc, &result);
	resp = text ? parse(text) : NULL;
	ok(rc == 0 && strcmp(result, "not_opted_in") == 0 && !kobj_get(resp, "response.patch"),
	   "an unlabelled pod: allowed, no patch");
	json_decref(resp);
	free(text);

	text = review("{\"metadata\":{\"name\":\"a\",\"labels\":{\"vivo.dev/inject\":\"other\"}},\"spec\":{\"containers\":[]}}",
		      "CREATE", &rc, &result);
	resp = text ? parse(text) : NULL;
	ok(rc == 0 && strcmp(result, "no_vivo") == 0 && !kobj_get(resp, "response.patch") &&
	   strstr(json_string_value(json_array_get(kobj_get(resp, "response.warnings"), 0)), "no Vivo other"),
	   "a label naming a missing Vivo: allowed unchanged with a warning (%s)",
	   json_string_value(json_array_get(kobj_get(resp, "response.warnings"), 0)));
	json_decref(resp);
	free(text);

	text = review(pod, "UPDATE", &rc, &result);
	ok(rc == 0 && strcmp(result, "skipped") == 0, "an UPDATE is allowed unchanged");
	free(text);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 1 << 20);
		err[0] = '\0';
		rc = adm_review(bad[i], strlen(bad[i]), &env, &b, &result, err, sizeof(err));
		ok(rc == -EINVAL && b.len == 0 && err[0], "bad review %zu refused: %s", i, err);
		buf_free(&b);
	}
}

static void test_registry(void)
{
	struct prof_reg *r = prof_new();
	struct render_out a, b, dep;
	struct inj_profile p;
	char why[256], key[256];
	json_t *v = parse("{\"metadata\":{\"name\":\"d\",\"namespace\":\"apps\",\"uid\":\"u\"},\"spec\":{}}");
	char err[128];
	bool sc = false;

	ok(render_sidecar_vivo("a", "", &a) == 0 && render_sidecar_vivo("b", "", &b) == 0 &&
	   render_vivo(v, &ropts, &dep, err, sizeof(err)) == 0, "three Vivos render");
	ok(prof_lookup(r, "apps", "a", &p, why, sizeof(why)) == -EAGAIN, "before the caches sync: not ready (%s)", why);
	prof_set_ready(r, true);
	prof_set(r, "apps/a", &a, NULL);
	prof_set(r, "apps/d", &dep, NULL);
	prof_set(r, "apps/bad", NULL, "spec.mode must be Deployment or Sidecar");
	ok(prof_lookup(r, "apps", "true", &p, why, sizeof(why)) == 0 && strcmp(p.vivo, "a") == 0,
	   "\"true\": the only Sidecar-mode Vivo of the namespace");
	prof_release(r);
	ok(prof_lookup(r, "apps", "a", &p, why, sizeof(why)) == 0 && strcmp(p.configmap, "a-config") == 0 &&
	   strcmp(p.hash, a.hash) == 0, "by name: its ConfigMap and hash");
	prof_release(r);
	ok(prof_lookup(r, "apps", "d", &p, why, sizeof(why)) == -EINVAL && strstr(why, "Deployment mode"),
	   "a Deployment-mode Vivo: %s", why);
	ok(prof_lookup(r, "apps", "bad", &p, why, sizeof(why)) == -EINVAL && strstr(why, "invalid spec"), "invalid: %s", why);
	ok(prof_lookup(r, "apps", "zz", &p, why, sizeof(why)) == -ENOENT, "missing: %s", why);
	ok(prof_lookup(r, "other", "true", &p, why, sizeof(why)) == -ENOENT, "\"true\" with none: %s", why);
	prof_set(r, "apps/b", &b, NULL);
	ok(prof_lookup(r, "apps", "true", &p, why, sizeof(why)) == -EEXIST && strstr(why, "2 Sidecar-mode Vivos"),
	   "\"true\" with two: %s", why);
	ok(prof_resolve(r, "apps", "b", key, sizeof(key), &sc) == 0 && strcmp(key, "apps/b") == 0 && sc, "resolve b");
	ok(prof_resolve(r, "apps", "d", key, sizeof(key), &sc) == 0 && !sc, "resolve d: not Sidecar");
	prof_del(r, "apps/b");
	ok(prof_resolve(r, "apps", "true", key, sizeof(key), NULL) == 0 && strcmp(key, "apps/a") == 0,
	   "after deleting b, \"true\" is a again");
	prof_free(r);
	render_out_free(&a);
	render_out_free(&b);
	render_out_free(&dep);
	json_decref(v);
}

int main(void)
{
	if (render_sidecar_vivo("prof", "", &ro_main) < 0) {
		printf("Bail out! a Sidecar-mode Vivo does not render\n");
		return 1;
	}
	test_bare_pod();
	test_env_layouts();
	test_volumes_and_init();
	test_not_native();
	test_same_container_as_deployment();
	test_edges();
	test_apply();
	test_versions();
	test_review();
	test_registry();
	render_out_free(&ro_main);
	return tap_done();
}
