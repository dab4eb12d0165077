/* status.c: conditions from a Deployment's status, with transition times that move only when a status flips. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "ctlutil.h"
#include "kobj.h"

const json_t *status_condition(const json_t *status, const char *type)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (strcmp(kobj_str(c, "type", ""), type) == 0)
			return c;
	return NULL;
}

static long long ival(const json_t *o, const char *path, long long def)
{
	const json_t *v = kobj_get(o, path);

	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

static int add_cond(json_t *conds, const json_t *old, const char *type, bool status, const char *reason,
		    const char *message, long long gen, const char *now)
{
	const json_t *prev = status_condition(old, type);
	const char *st = status ? "True" : "False", *ltt = now;

	if (prev && strcmp(kobj_str(prev, "status", ""), st) == 0 && kobj_str(prev, "lastTransitionTime", NULL))
		ltt = kobj_str(prev, "lastTransitionTime", now);
	return json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "type", type, "status", st,
						       "reason", reason, "message", message,
						       "observedGeneration", (json_int_t)gen, "lastTransitionTime", ltt));
}

/* The Deployment condition of `type`, or NULL. */
static const json_t *dep_cond(const json_t *d, const char *type)
{
	return status_condition(json_object_get(d, "status"), type);
}

/* Set `key` to `v` (taken), or keep the old status's value when `v` is NULL. */
static int set_or_keep(json_t *st, const json_t *old, const char *key, json_t *v)
{
	if (v)
		return json_object_set_new(st, key, v);
	if (json_object_get(old, key))
		return json_object_set(st, key, json_object_get(old, key));
	return 0;
}

/* What both modes' statuses carry: observedGeneration, the conditions (taken), configHash
 * (the last one while the spec does not render) and readyReplicas. */
static int common_fields(json_t *st, json_t *conds, const json_t *old, const struct status_in *in, long long ready)
{
	int rc = 0;

	rc |= json_object_set_new(st, "observedGeneration", json_integer(in->generation));
	rc |= json_object_set_new(st, "conditions", conds);
	rc |= set_or_keep(st, old, "configHash", in->config_hash ? json_string(in->config_hash) : NULL);
	rc |= json_object_set_new(st, "readyReplicas", json_integer(ready));
	return rc;
}

/* What a Deployment says: Ready (all wanted replicas of the current template available),
 * Progressing (a rollout under way) and Degraded (something a person must fix), with
 * messages led by `who` ("" for Deployment mode, "the aggregator: " in Sidecar mode). */
struct dep_view {
	bool ready, progressing, degraded;
	const char *ready_reason, *prog_reason, *deg_reason, *deg_msg;
	char ready_msg[256], prog_msg[320];
	long long ready_replicas;
};

static void dep_view(const json_t *d, const struct status_in *in, const char *who, struct dep_view *v)
{
	long long want = 1, updated = 0, available = 0, total = 0;
	const json_t *rf, *pr;
	bool observed = false;

	memset(v, 0, sizeof(*v));
	v->deg_reason = "AsExpected";
	v->deg_msg = "";
	if (d) {
		want = ival(d, "spec.replicas", 1);
		updated = ival(d, "status.updatedReplicas", 0);
		available = ival(d, "status.availableReplicas", 0);
		total = ival(d, "status.replicas", 0);
		v->ready_replicas = ival(d, "status.readyReplicas", 0);
		observed = ival(d, "status.observedGeneration", 0) >= ival(d, "metadata.generation", 1);
	}

	if (!d) {
		v->ready_reason = "DeploymentMissing";
		snprintf(v->ready_msg, sizeof(v->ready_msg), "%sthe Deployment does not exist yet", who);
	} else if (observed && available >= want && updated >= want) {
		v->ready = true;
		v->ready_reason = "Available";
		snprintf(v->ready_msg, sizeof(v->ready_msg), "%s%lld of %lld replicas available", who, available, want);
	} else {
		v->ready_reason = "ReplicasUnavailable";
		snprintf(v->ready_msg, sizeof(v->ready_msg), "%s%lld of %lld replicas available", who, available, want);
	}

	if (in->paused) {
		v->prog_reason = "Paused";
		snprintf(v->prog_msg, sizeof(v->prog_msg), "spec.paused is true: rendered objects are left alone");
	} else if (!d) {
		v->progressing = true;
		v->prog_reason = "Creating";
		snprintf(v->prog_msg, sizeof(v->prog_msg), "%screating the Deployment", who);
	} else if (!observed || updated < want || total > updated || available < want) {
		v->progressing = true;
		v->prog_reason = "RollingOut";
		snprintf(v->prog_msg, sizeof(v->prog_msg), "%s%lld of %lld replicas updated, %lld available%s", who, updated,
			 want, available, observed ? "" : " (the Deployment controller has not seen the latest spec)");
	} else {
		v->prog_reason = "Complete";
		snprintf(v->prog_msg, sizeof(v->prog_msg), "%s%lld of %lld replicas updated and available", who, updated, want);
	}

	/* The controller's own trouble comes first. */
	if (in->degraded_reason) {
		v->degraded = true;
		v->deg_reason = in->degraded_reason;
		v->deg_msg = in->degraded_message ? in->degraded_message : "";
	} else if ((rf = dep_cond(d, "ReplicaFailure")) && strcmp(kobj_str(rf, "status", ""), "True") == 0) {
		v->degraded = true;
		v->deg_reason = "ReplicaFailure";
		v->deg_msg = kobj_str(rf, "message", "the Deployment cannot create pods");
	} else if ((pr = dep_cond(d, "Progressing")) && strcmp(kobj_str(pr, "status", ""), "False") == 0 &&
		   strcmp(kobj_str(pr, "reason", ""), "ProgressDeadlineExceeded") == 0) {
		v->degraded = true;
		v->deg_reason = "ProgressDeadlineExceeded";
		v->deg_msg = kobj_str(pr, "message", "the rollout is stuck: check the pods' events (image pulls, scheduling)");
	}
}

static json_t *build_sidecar(const json_t *old, const struct status_in *in);

json_t *status_build(const json_t *old, const struct status_in *in)
{
	json_t *st, *conds;
	struct dep_view v;
	int rc = 0;

	if (in->sidecar)
		return build_sidecar(old, in);
	st = json_object();
	conds = json_array();
	if (!st || !conds) {
		json_decref(st);
		json_decref(conds);
		return NULL;
	}
	dep_view(in->deployment, in, "", &v);
	rc |= add_cond(conds, old, "Ready", v.ready, v.ready_reason, v.ready_msg, in->generation, in->now);
	rc |= add_cond(conds, old, "Progressing", v.progressing, v.prog_reason, v.prog_msg, in->generation, in->now);
	rc |= add_cond(conds, old, "Degraded", v.degraded, v.deg_reason, v.deg_msg, in->generation, in->now);
	rc |= common_fields(st, conds, old, in, v.ready_replicas);
	rc |= set_or_keep(st, old, "endpoints", in->endpoints ? json_deep_copy(in->endpoints) : NULL);
	if (rc) {
		json_decref(st);
		return NULL;
	}
	return st;
}

void status_note_pod(struct status_sidecar *sc, const char *name)
{
	size_t i, at;

	for (at = 0; at < sc->nnames && strcmp(sc->names[at], name) < 0; at++)
		;
	if (at >= STATUS_MAX_NAMES)
		return;
	if (sc->nnames < STATUS_MAX_NAMES)
		sc->nnames++;
	for (i = sc->nnames - 1; i > at; i--)
		memcpy(sc->names[i], sc->names[i - 1], sizeof(sc->names[i]));
	cu_strlcpy(sc->names[at], name, sizeof(sc->names[at]));
}

/* "a, b, c" of the noted names, and "and N more" when there are more. */
static void name_list(const struct status_sidecar *sc, char *out, size_t n)
{
	size_t i, used = 0;
	int k;

	out[0] = '\0';
	for (i = 0; i < sc->nnames && used < n; i++) {
		k = snprintf(out + used, n - used, "%s%s", i ? ", " : "", sc->names[i]);
		if (k < 0)
			return;
		used += (size_t)k;
	}
	if (used < n && sc->need_restart > (long long)sc->nnames)
		snprintf(out + used, n - used, " and %lld more", sc->need_restart - (long long)sc->nnames);
}

static json_t *build_sidecar(const json_t *old, const struct status_in *in)
{
	const struct status_sidecar *sc = in->sidecar;
	json_t *st = json_object(), *conds = json_array();
	char ready_msg[384], inj_msg[3072], names[2800], prog_msg[400];
	const char *kind = sc->native == 1 ? "Native" : sc->native == 0 ? "Container" : NULL;
	bool degraded = in->degraded_reason != NULL;
	struct dep_view v;
	int rc = 0;

	if (!st || !conds) {
		json_decref(st);
		json_decref(conds);
		return NULL;
	}
	if (degraded)
		snprintf(ready_msg, sizeof(ready_msg), "%s", in->degraded_message ? in->degraded_message : "");
	else if (!sc->webhook)
		snprintf(ready_msg, sizeof(ready_msg), "the webhook is off (--webhook-listen 0): add the sidecar with "
			 "vivo-controller --inject");
	else if (sc->native == 1)
		snprintf(ready_msg, sizeof(ready_msg), "pods labelled %s=%s get the agent as a native sidecar "
			 "(API server %s)", "vivo.dev/inject", sc->label, sc->server_version);
	else if (sc->native == 0)
		snprintf(ready_msg, sizeof(ready_msg), "pods labelled %s=%s get the agent as an ordinary container: API "
			 "server %s has no native sidecars (Kubernetes >= 1.29), so the agent may stop before the app",
			 "vivo.dev/inject", sc->label, sc->server_version);
	else
		snprintf(ready_msg, sizeof(ready_msg), "the API server's version is not known yet");
	if (sc->need_restart > 0) {
		name_list(sc, names, sizeof(names));
		snprintf(inj_msg, sizeof(inj_msg), "%lld pod%s carry the label but no sidecar (created before the "
			 "controller ran or while its webhook was down): restart %s: %s", sc->need_restart,
			 sc->need_restart == 1 ? "" : "s", sc->need_restart == 1 ? "it" : "them", names);
	} else {
		snprintf(inj_msg, sizeof(inj_msg), "%lld pod%s injected, %lld stale (a spec change since: they get it "
			 "when restarted)", sc->injected, sc->injected == 1 ? "" : "s", sc->stale);
	}
	rc |= add_cond(conds, old, "Ready", !degraded, degraded ? in->degraded_reason : "ProfileReady", ready_msg,
		       in->generation, in->now);
	/* The aggregator Deployment rolls out; the injected pods never do (they get a new
	 * config when someone restarts them). */
	dep_view(in->deployment, in, "the aggregator: ", &v);
	snprintf(prog_msg, sizeof(prog_msg), "%s%s", v.prog_msg,
		 in->paused ? "" : "; injected pods get a new config when restarted");
	rc |= add_cond(conds, old, "Progressing", v.progressing, v.prog_reason, prog_msg, in->generation, in->now);
	rc |= add_cond(conds, old, "Degraded", v.degraded, v.deg_reason, v.deg_msg, in->generation, in->now);
	rc |= add_cond(conds, old, "Injected", sc->need_restart == 0, sc->need_restart ? "PodsNeedRestart" : "AllInjected",
		       inj_msg, in->generation, in->now);
	rc |= add_cond(conds, old, "AggregatorReady", v.ready, v.ready_reason, v.ready_msg, in->generation, in->now);
	rc |= common_fields(st, conds, old, in, sc->ready);
	rc |= json_object_set_new(st, "injectedPods", json_integer(sc->injected));
	rc |= json_object_set_new(st, "stalePods", json_integer(sc->stale));
	rc |= json_object_set_new(st, "podsNeedRestart", json_integer(sc->need_restart));
	rc |= set_or_keep(st, old, "sidecarType", kind ? json_string(kind) : NULL);
	rc |= set_or_keep(st, old, "endpoints", in->endpoints ? json_deep_copy(in->endpoints) : NULL);
	if (rc) {
		json_decref(st);
		return NULL;
	}
	return st;
}
