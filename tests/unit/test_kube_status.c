/* test_kube_status.c: unit tests for status conditions, the "covers" comparison, quantities, the apply stamp and the cache. */
#include <string.h>

#include <jansson.h>

#include "cache.h"
#include "kobj.h"
#include "reconcile.h"
#include "status.h"
#include "tap.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);

	if (!v)
		printf("# bad test JSON: %s: %s\n", s, e.text);
	return v;
}

static const char *cond(const json_t *st, const char *type, const char *field)
{
	return kobj_str(status_condition(st, type), field, "");
}

static void test_conditions(void)
{
	json_t *dep_rolling = J("{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":2,"
				"\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":1,\"readyReplicas\":1}}");
	json_t *dep_ready = J("{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":2,"
			      "\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":2,\"readyReplicas\":2}}");
	json_t *dep_stuck = J("{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":1},\"status\":{\"observedGeneration\":2,"
			      "\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\","
			      "\"message\":\"ReplicaSet has timed out progressing.\"}]}}");
	json_t *ep = J("{\"ui\":\"http://x.y.svc:8000\"}");
	struct status_in in = { 5, "sha256:aa", ep, NULL, false, NULL, NULL, "2024-01-01T00:00:00Z", NULL };
	json_t *s0, *s1, *s2, *s3, *s4;

	s0 = status_build(NULL, &in);
	ok(json_integer_value(json_object_get(s0, "observedGeneration")) == 5, "observedGeneration");
	is_str(cond(s0, "Ready", "status"), "False", "no Deployment: not Ready");
	is_str(cond(s0, "Ready", "reason"), "DeploymentMissing", "... DeploymentMissing");
	is_str(cond(s0, "Progressing", "reason"), "Creating", "Progressing: Creating");
	is_str(cond(s0, "Degraded", "status"), "False", "not Degraded");
	ok(json_integer_value(kobj_get(status_condition(s0, "Ready"), "observedGeneration")) == 5, "conditions carry observedGeneration");
	is_str(kobj_str(s0, "configHash", NULL), "sha256:aa", "configHash");
	is_str(kobj_str(s0, "endpoints.ui", NULL), "http://x.y.svc:8000", "endpoints");

	in.deployment = dep_rolling;
	in.now = "2024-01-01T00:01:00Z";
	s1 = status_build(s0, &in);
	is_str(cond(s1, "Ready", "reason"), "ReplicasUnavailable", "1 of 2 available: ReplicasUnavailable");
	is_str(cond(s1, "Ready", "lastTransitionTime"), "2024-01-01T00:00:00Z", "Ready stayed False: lastTransitionTime kept");
	is_str(cond(s1, "Progressing", "reason"), "RollingOut", "Progressing: RollingOut");
	ok(json_integer_value(json_object_get(s1, "readyReplicas")) == 1, "readyReplicas 1");

	in.deployment = dep_ready;
	in.now = "2024-01-01T00:02:00Z";
	s2 = status_build(s1, &in);
	is_str(cond(s2, "Ready", "status"), "True", "all available: Ready");
	is_str(cond(s2, "Ready", "lastTransitionTime"), "2024-01-01T00:02:00Z", "Ready flipped: new lastTransitionTime");
	is_str(cond(s2, "Progressing", "status"), "False", "Progressing False");
	is_str(cond(s2, "Progressing", "reason"), "Complete", "... Complete");
	is_str(cond(s2, "Degraded", "lastTransitionTime"), "2024-01-01T00:00:00Z", "Degraded unchanged: time kept");

	in.now = "2024-01-01T00:03:00Z";
	s3 = status_build(s2, &in);
	ok(json_equal(s2, s3), "same inputs, same status (so no write)");

	in.deployment = dep_stuck;
	in.degraded_reason = NULL;
	s4 = status_build(s3, &in);
	is_str(cond(s4, "Degraded", "reason"), "ProgressDeadlineExceeded", "a stuck rollout is Degraded");
	is_str(cond(s4, "Degraded", "message"), "ReplicaSet has timed out progressing.", "with the Deployment's message");
	json_decref(s4);
	in.degraded_reason = "InvalidSpec";
	in.degraded_message = "spec.service.ports.ui is 2020";
	in.config_hash = NULL;
	in.endpoints = NULL;
	s4 = status_build(s3, &in);
	is_str(cond(s4, "Degraded", "reason"), "InvalidSpec", "the controller's own reason comes first");
	is_str(kobj_str(s4, "configHash", NULL), "sha256:aa", "an unrendered spec keeps the last configHash");
	json_decref(s4);
	in.degraded_reason = NULL;
	in.paused = true;
	s4 = status_build(s3, &in);
	is_str(cond(s4, "Progressing", "reason"), "Paused", "paused");
	json_decref(s4);
	json_decref(s0);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	json_decref(dep_rolling);
	json_decref(dep_ready);
	json_decref(dep_stuck);
	json_decref(ep);
}

static void test_covers(void)
{
	static const struct {
		const char *want, *have;
		bool covered;
	} cases[] = {
		{ "{\"a\":1}", "{\"a\":1,\"b\":2}", true },
		{ "{\"a\":1}", "{\"a\":2}", false },
		{ "{\"a\":{\"b\":\"x\"}}", "{\"a\":{\"b\":\"x\",\"c\":1}}", true },
		{ "{\"a\":[1,2]}", "{\"a\":[1,2,3]}", false },
		{ "{\"a\":[{\"n\":1}]}", "{\"a\":[{\"n\":1,\"d\":\"default\"}]}", true },
		{ "{\"a\":\"\",\"b\":false,\"c\":0,\"d\":{},\"e\":[]}", "{}", true },
		{ "{\"a\":\"x\"}", "{}", false },
		{ "{\"resources\":{\"limits\":{\"cpu\":\"1000m\",\"memory\":\"128Mi\"}}}", "{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"134217728\"}}}", true },
		{ "{\"resources\":{\"limits\":{\"cpu\":\"0.5\"}}}", "{\"resources\":{\"limits\":{\"cpu\":\"500m\"}}}", true },
		{ "{\"resources\":{\"limits\":{\"cpu\":2}}}", "{\"resources\":{\"limits\":{\"cpu\":\"2\"}}}", true },
		{ "{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}", "{\"resources\":{\"limits\":{\"cpu\":\"2\"}}}", false },
		{ "{\"labels\":{\"v\":\"1.0\"}}", "{\"labels\":{\"v\":\"1\"}}", false },
		{ "{\"a\":1}", "{\"a\":1.0}", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *w = J(cases[i].want), *h = J(cases[i].have);

		ok(kobj_covers(w, h) == cases[i].covered, "%s %s %s", cases[i].have, cases[i].covered ? "covers" : "does not cover",
		   cases[i].want);
		json_decref(w);
		json_decref(h);
	}
	{
		long double v;

		ok(kobj_quantity("1Ki", &v) == 0 && v == 1024.0L, "1Ki = 1024");
		ok(kobj_quantity("1e3", &v) == 0 && v == 1000.0L, "1e3 = 1000");
		ok(kobj_quantity("2E", &v) == 0 && v == 2e18L, "2E = 2 exa");
		ok(kobj_quantity("12x", &v) < 0 && kobj_quantity("", &v) < 0 && kobj_quantity("Mi", &v) < 0, "bad quantities refused");
	}
}

static void test_stamp(void)
{
	json_t *d = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\",\"namespace\":\"n\"},\"data\":{\"k\":\"v\"}}");
	json_t *live, *d2;
	const char *h1;

	ok(rec_stamp(d) == 0, "stamp");
	h1 = json_string_value(json_object_get(kobj_get(d, "metadata.annotations"), REC_APPLIED_ANNOTATION));
	ok(h1 && strncmp(h1, "sha256:", 7) == 0, "applied annotation is a sha256");
	d2 = json_deep_copy(d);
	ok(rec_stamp(d2) == 0 && json_equal(d, d2), "stamping again is stable");
	/* A live copy as a list returns it: no apiVersion/kind, server fields added. */
	live = json_deep_copy(d);
	json_object_del(live, "apiVersion");
	json_object_del(live, "kind");
	json_object_set_new(json_object_get(live, "metadata"), "resourceVersion", json_string("5"));
	json_object_set_new(json_object_get(live, "metadata"), "uid", json_string("u"));
	ok(rec_up_to_date(d, live), "a live object with server fields is up to date");
	json_object_set_new(json_object_get(live, "data"), "k", json_string("edited"));
	ok(!rec_up_to_date(d, live), "an edited field is drift");
	json_object_set_new(json_object_get(live, "data"), "k", json_string("v"));
	json_object_set_new(json_object_get(d2, "data"), "k2", json_string("new"));
	rec_stamp(d2);
	ok(!rec_up_to_date(d2, live), "a new rendering (different hash) is not up to date");
	json_object_del(json_object_get(d2, "data"), "k2");
	rec_stamp(d2);
	ok(rec_up_to_date(d2, live), "back to the same rendering: up to date");
	ok(!rec_up_to_date(d, NULL), "a missing object is not up to date");
	json_decref(d);
	json_decref(d2);
	json_decref(live);
}

static void test_cache(void)
{
	struct cache *c = cache_new();
	json_t *o = J("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"resourceVersion\":\"3\",\"managedFields\":[{\"manager\":\"m\"}]},\"x\":1}");
	json_t *back;
	struct cache_obj *old = NULL;
	const struct cache_obj *e;
	char key[64];
	int i;

	ok(cache_put(c, "n/a", o, "n/owner", NULL) == 0, "put");
	e = cache_get(c, "n/a");
	ok(e && strcmp(e->rv, "3") == 0 && strcmp(e->owner, "n/owner") == 0, "rv and owner kept");
	ok(!strstr(e->text, "managedFields"), "managedFields not cached");
	ok(kobj_get(o, "metadata.managedFields") != NULL, "the caller's object is untouched");
	back = cache_load(c, "n/a");
	ok(json_integer_value(json_object_get(back, "x")) == 1, "load parses the text back");
	json_decref(back);
	cache_put(c, "n/a", o, NULL, &old);
	ok(old && strcmp(old->rv, "3") == 0, "replacing hands back the old entry");
	cache_obj_free(old);
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "n/k%d", i);
		cache_put(c, key, o, NULL, NULL);
	}
	ok(cache_len(c) == 501, "501 entries");
	cache_clear_marks(c);
	for (i = 0; i < 500; i += 2) {
		snprintf(key, sizeof(key), "n/k%d", i);
		cache_put(c, key, o, NULL, NULL);
	}
	cache_sweep(c, NULL, NULL);
	ok(cache_len(c) == 250 && cache_get(c, "n/k0") && !cache_get(c, "n/k1") && !cache_get(c, "n/a"),
	   "sweep drops what the re-list did not see");
	json_decref(o);
	cache_free(c);
}

static void test_sidecar(void)
{
	struct status_sidecar sc;
	struct status_in in;
	json_t *st, *st2, *old;
	char name[32];
	int i;
	bool sorted = true;

	memset(&sc, 0, sizeof(sc));
	for (i = 14; i >= 0; i--) {
		snprintf(name, sizeof(name), "pod-%02d", i);
		status_note_pod(&sc, name);
	}
	sc.need_restart = 15;
	for (i = 1; i < (int)sc.nnames; i++)
		if (strcmp(sc.names[i - 1], sc.names[i]) >= 0)
			sorted = false;
	ok(sc.nnames == 10 && sorted && strcmp(sc.names[0], "pod-00") == 0 && strcmp(sc.names[9], "pod-09") == 0,
	   "the first 10 pod names, sorted, whatever the order they come in");
	sc.injected = 3;
	sc.stale = 1;
	sc.ready = 2;
	sc.native = 1;
	sc.server_version = "v1.34.3";
	sc.label = "prof";
	sc.webhook = true;
	memset(&in, 0, sizeof(in));
	in.generation = 4;
	in.config_hash = "sha256:bb";
	in.now = "2024-01-02T00:00:00Z";
	in.sidecar = &sc;
	old = J("{\"endpoints\":{\"ui\":\"http://x\"},\"configHash\":\"sha256:aa\"}");
	st = status_build(old, &in);
	ok(st && strcmp(cond(st, "Injected", "status"), "False") == 0 &&
	   strcmp(cond(st, "Injected", "reason"), "PodsNeedRestart") == 0, "labelled pods without the sidecar: Injected False, PodsNeedRestart");
	ok(strstr(cond(st, "Injected", "message"), "15 pods carry the label") &&
	   strstr(cond(st, "Injected", "message"), "pod-00, pod-01") &&
	   strstr(cond(st, "Injected", "message"), "pod-09 and 5 more"), "... naming the first 10 and the count (%s)",
	   cond(st, "Injected", "message"));
	ok(json_integer_value(json_object_get(st, "injectedPods")) == 3 &&
	   json_integer_value(json_object_get(st, "stalePods")) == 1 &&
	   json_integer_value(json_object_get(st, "podsNeedRestart")) == 15 &&
	   json_integer_value(json_object_get(st, "readyReplicas")) == 2, "injectedPods, stalePods, podsNeedRestart, readyReplicas");
	ok(strcmp(kobj_str(st, "sidecarType", ""), "Native") == 0 && strcmp(cond(st, "Ready", "reason"), "ProfileReady") == 0 &&
	   strstr(cond(st, "Ready", "message"), "native sidecar"), "sidecarType Native, Ready ProfileReady");
	ok(strcmp(kobj_str(st, "endpoints.ui", ""), "http://x") == 0 && strcmp(kobj_str(st, "configHash", ""), "sha256:bb") == 0,
	   "no endpoints rendered: the previous ones kept; the new configHash");
	ok(strcmp(cond(st, "Progressing", "reason"), "Creating") == 0 && strstr(cond(st, "Progressing", "message"), "the aggregator: ") &&
	   strcmp(cond(st, "Degraded", "status"), "False") == 0,
	   "no aggregator Deployment yet: Progressing Creating (%s), not Degraded", cond(st, "Progressing", "message"));
	ok(strcmp(cond(st, "AggregatorReady", "status"), "False") == 0 &&
	   strcmp(cond(st, "AggregatorReady", "reason"), "DeploymentMissing") == 0, "AggregatorReady False, DeploymentMissing");
	sc.need_restart = 0;
	sc.nnames = 0;
	sc.native = 0;
	sc.server_version = "v1.28.9";
	in.now = "2024-01-03T00:00:00Z";
	st2 = status_build(st, &in);
	ok(st2 && strcmp(cond(st2, "Injected", "reason"), "AllInjected") == 0 &&
	   strcmp(cond(st2, "Injected", "lastTransitionTime"), "2024-01-03T00:00:00Z") == 0 &&
	   strcmp(cond(st2, "Ready", "lastTransitionTime"), "2024-01-02T00:00:00Z") == 0,
	   "restarted: Injected flips to AllInjected (new transition time; Ready's kept)");
	ok(strcmp(kobj_str(st2, "sidecarType", ""), "Container") == 0 && strstr(cond(st2, "Ready", "message"), "no native sidecars"),
	   "an older API server: sidecarType Container, and Ready says why");
	json_decref(st2);
	sc.native = -1;
	in.degraded_reason = "InvalidSpec";
	in.degraded_message = "spec.mode must be Deployment or Sidecar";
	st2 = status_build(st, &in);
	ok(st2 && strcmp(cond(st2, "Ready", "status"), "False") == 0 && strcmp(cond(st2, "Ready", "reason"), "InvalidSpec") == 0 &&
	   strcmp(cond(st2, "Degraded", "reason"), "InvalidSpec") == 0 && strcmp(kobj_str(st2, "sidecarType", ""), "Native") == 0,
	   "an invalid spec: Ready False and Degraded InvalidSpec; an unknown version keeps the last sidecarType");
	json_decref(st2);
	json_decref(st);
	json_decref(old);
}

/* Sidecar mode's aggregator Deployment: AggregatorReady, Progressing and Degraded from it,
 * Ready still the webhook's; the aggregator's endpoints. */
static void test_sidecar_aggregator(void)
{
	struct status_sidecar sc;
	struct status_in in;
	json_t *d, *st, *st2, *ep = J("{\"ui\":\"http://agg.ns.svc:8000\"}");

	memset(&sc, 0, sizeof(sc));
	sc.native = 1;
	sc.server_version = "v1.34.3";
	sc.label = "prof";
	sc.webhook = true;
	memset(&in, 0, sizeof(in));
	in.generation = 2;
	in.config_hash = "sha256:cc";
	in.endpoints = ep;
	in.now = "2024-01-02T00:00:00Z";
	in.sidecar = &sc;
	d = J("{\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,"
	      "\"replicas\":2,\"updatedReplicas\":1,\"availableReplicas\":1,\"readyReplicas\":1}}");
	in.deployment = d;
	st = status_build(NULL, &in);
	ok(st && strcmp(cond(st, "AggregatorReady", "reason"), "ReplicasUnavailable") == 0 &&
	   strstr(cond(st, "AggregatorReady", "message"), "1 of 2 replicas available") &&
	   strcmp(cond(st, "Progressing", "reason"), "RollingOut") == 0 &&
	   strcmp(cond(st, "Ready", "reason"), "ProfileReady") == 0,
	   "an aggregator rolling out: AggregatorReady False, Progressing RollingOut, Ready still ProfileReady (%s)",
	   cond(st, "AggregatorReady", "message"));
	ok(strcmp(kobj_str(st, "endpoints.ui", ""), "http://agg.ns.svc:8000") == 0, "status.endpoints are the aggregator Service's");
	json_decref(d);
	d = J("{\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,"
	      "\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":2,\"readyReplicas\":2,\"conditions\":"
	      "[{\"type\":\"ReplicaFailure\",\"status\":\"True\",\"message\":\"quota exceeded\"}]}}");
	in.deployment = d;
	in.now = "2024-01-03T00:00:00Z";
	st2 = status_build(st, &in);
	ok(st2 && strcmp(cond(st2, "AggregatorReady", "status"), "True") == 0 &&
	   strcmp(cond(st2, "AggregatorReady", "lastTransitionTime"), "2024-01-03T00:00:00Z") == 0 &&
	   strcmp(cond(st2, "Progressing", "reason"), "Complete") == 0 &&
	   strcmp(cond(st2, "Degraded", "reason"), "ReplicaFailure") == 0 &&
	   strcmp(cond(st2, "Degraded", "message"), "quota exceeded") == 0 &&
	   json_integer_value(json_object_get(st2, "readyReplicas")) == 0,
	   "all available: AggregatorReady True (new transition time), Complete; its ReplicaFailure is Degraded; "
	   "readyReplicas still counts injected pods");
	json_decref(st2);
	json_decref(st);
	json_decref(d);
	json_decref(ep);
}

int main(void)
{
	test_conditions();
	test_sidecar();
	test_sidecar_aggregator();
	test_covers();
	test_stamp();
	test_cache();
	return tap_done();
}
