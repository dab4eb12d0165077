/* reconcile.c: render a Vivo, apply (server-side, fieldManager vivo-controller) the objects that differ, delete those it no longer renders, then update its status. */
#include "reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmetrics.h"
#include "ctlutil.h"
#include "kobj.h"
#include "log.h"
#include "status.h"

#define REC_MAX_RESP (8u << 20)

int rec_stamp(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata"), *ann;
	char hash[80];
	char *text;

	if (!json_is_object(md))
		return -EINVAL;
	ann = json_object_get(md, "annotations");
	if (ann) {
		json_object_del(ann, REC_APPLIED_ANNOTATION);
		/* Hash the object as it was rendered: without an annotations map of our own. */
		if (json_object_size(ann) == 0) {
			json_object_del(md, "annotations");
			ann = NULL;
		}
	}
	if (!(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS)))
		return -ENOMEM;
	cu_sha256_tag(text, strlen(text), hash, sizeof(hash));
	free(text);
	if (!ann) {
		if (json_object_set_new(md, "annotations", json_object()) < 0)
			return -ENOMEM;
		ann = json_object_get(md, "annotations");
	}
	return json_object_set_new(ann, REC_APPLIED_ANNOTATION, json_string(hash)) < 0 ? -ENOMEM : 0;
}

bool rec_up_to_date(const json_t *desired, const json_t *live)
{
	const char *k;
	json_t *v;
	const json_t *want_ann, *have_ann;

	if (!live)
		return false;
	want_ann = json_object_get(kobj_get(desired, "metadata.annotations"), REC_APPLIED_ANNOTATION);
	have_ann = json_object_get(kobj_get(live, "metadata.annotations"), REC_APPLIED_ANNOTATION);
	if (!want_ann || !have_ann || !json_equal((json_t *)want_ann, (json_t *)have_ann))
		return false;
	/* List items carry no apiVersion/kind: compare the rest. */
	json_object_foreach((json_t *)desired, k, v) {
		if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
			continue;
		if (!kobj_covers(v, json_object_get(live, k)))
			return false;
	}
	return true;
}

struct target {
	const char *resource;   /* configmaps, deployments, services */
	const char *prefix;     /* API path prefix */
	struct cache *cache;
	json_t *desired;
};

/* The message of a failed response, into out. */
static const char *why(const struct kube_resp *r, char *out, size_t n)
{
	return kube_resp_message(r, out, n);
}

/* Apply one object; on success the cache gets the server's answer. 0, or -EAGAIN (retry),
 * -EBUSY (throttled: *after_ms), -EPERM (not leader). */
static int apply(struct rec_ctx *c, const struct target *t, const char *ns, const char *name, int64_t *after_ms,
		 char *err, size_t errlen, unsigned *writes)
{
	char path[1024], key[512], msg[512];
	struct kube_resp r;
	char *body;
	int rc = 0;

	if (c->may_write && !c->may_write(c->may_write_ctx))
		return -EPERM;
	if (!(body = json_dumps(t->desired, JSON_COMPACT)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/namespaces/%s/%s/%s?fieldManager=vivo-controller&force=true", t->prefix, ns,
		 t->resource, name);
	kube_resp_init(&r, REC_MAX_RESP);
	kube_request(c->k, c->e, "PATCH", NULL, path, "application/apply-patch+yaml", body, strlen(body), &r);
	cmet_add(CMET_API_WRITES, t->resource, "apply", 1);
	(*writes)++;
	if (r.status == 422) {
		/* Server-side apply merges list entries by key, so an entry another manager added
		 * (a hand-edited Service port, say) survives our apply and can make the merged
		 * object invalid. A JSON merge patch replaces lists whole: put ours back that way,
		 * then apply again so the fields are owned by the apply. */
		log_info("applying %s %s/%s: %s; replacing hand-made list entries", t->resource, ns, name,
			 why(&r, msg, sizeof(msg)));
		snprintf(path, sizeof(path), "%s/namespaces/%s/%s/%s?fieldManager=vivo-controller", t->prefix, ns,
			 t->resource, name);
		kube_request(c->k, c->e, "PATCH", NULL, path, "application/merge-patch+json", body, strlen(body), &r);
		cmet_add(CMET_API_WRITES, t->resource, "patch", 1);
		(*writes)++;
		if (r.status == 200) {
			snprintf(path, sizeof(path), "%s/namespaces/%s/%s/%s?fieldManager=vivo-controller&force=true",
				 t->prefix, ns, t->resource, name);
			kube_request(c->k, c->e, "PATCH", NULL, path, "application/apply-patch+yaml", body, strlen(body), &r);
			cmet_add(CMET_API_WRITES, t->resource, "apply", 1);
			(*writes)++;
		}
	}
	free(body);
	if (r.status == 200 || r.status == 201) {
		json_t *obj = json_loadb(r.body.data, r.body.len, 0, NULL);

		snprintf(key, sizeof(key), "%s/%s", ns, name);
		if (obj) {
			char owner[512];

			if (kobj_owner_key(obj, owner, sizeof(owner)) < 0)
				owner[0] = '\0';
			cache_put(t->cache, key, obj, owner[0] ? owner : NULL, NULL);
		}
		json_decref(obj);
		log_info("applied %s %s/%s (%ld)", t->resource, ns, name, r.status);
	} else if (r.status == 429 || (r.status >= 500 && r.retry_after > 0)) {
		*after_ms = r.retry_after > 0 ? r.retry_after * 1000 : 1000;
		snprintf(err, errlen, "applying %s %s: %s", t->resource, name, why(&r, msg, sizeof(msg)));
		rc = -EBUSY;
	} else {
		snprintf(err, errlen, "applying %s %s: %s", t->resource, name, why(&r, msg, sizeof(msg)));
		rc = -EAGAIN;
	}
	kube_resp_free(&r);
	return rc;
}

/* Apply `t` unless its cached live copy already holds it. */
static int ensure(struct rec_ctx *c, struct target *t, const char *ns, const char *oname, int64_t *after, char *aerr,
		  size_t aerrlen, unsigned *writes)
{
	char okey[512];
	json_t *live;
	int rc;

	if ((rc = rec_stamp(t->desired)) < 0)
		return rc;
	snprintf(okey, sizeof(okey), "%s/%s", ns, oname);
	live = cache_load(t->cache, okey);
	if (!rec_up_to_date(t->desired, live)) {
		log_debug("%s %s: %s", t->resource, okey, live ? "differs from the rendering" : "missing");
		rc = apply(c, t, ns, oname, after, aerr, aerrlen, writes);
	}
	json_decref(live);
	return rc;
}

/* True when `o` has a controller ownerReference to the Vivo with uid `uid`. */
static bool owned_by(const json_t *o, const char *uid)
{
	const json_t *r;
	size_t i;

	json_array_foreach(kobj_get(o, "metadata.ownerReferences"), i, r)
		if (json_is_true(json_object_get(r, "controller")) && strcmp(kobj_str(r, "kind", ""), RENDER_KIND) == 0 &&
		    strcmp(kobj_str(r, "uid", ""), uid) == 0)
			return true;
	return false;
}

/* Remove an object the Vivo rendered before and no longer does (a headless Service after a
 * mode switch or a scale down to one replica): only ours, by the ownerReference's uid and a
 * uid precondition. `why_gone` ends the log line. */
static int delete_owned(struct rec_ctx *c, struct cache *cache, const char *prefix, const char *resource,
			const char *ns, const char *name, const char *uid, const char *why_gone, char *err, size_t errlen,
			unsigned *writes)
{
	char key[512], path[1024], msg[256], body[256];
	struct kube_resp r;
	json_t *live;
	int rc = 0;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (!(live = cache_load(cache, key)))
		return 0;
	if (!owned_by(live, uid)) {
		json_decref(live);
		return 0;
	}
	if (c->may_write && !c->may_write(c->may_write_ctx)) {
		json_decref(live);
		return -EPERM;
	}
	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"propagationPolicy\":\"Background\","
		 "\"preconditions\":{\"uid\":\"%s\"}}", kobj_str(live, "metadata.uid", ""));
	json_decref(live);
	snprintf(path, sizeof(path), "%s/namespaces/%s/%s/%s", prefix, ns, resource, name);
	kube_resp_init(&r, 1 << 20);
	kube_request(c->k, c->e, "DELETE", NULL, path, "application/json", body, strlen(body), &r);
	cmet_add(CMET_API_WRITES, resource, "delete", 1);
	(*writes)++;
	if (r.status == 200 || r.status == 202 || r.status == 404 || r.status == 409) {
		log_info("deleted %s %s: %s", resource, key, why_gone);
	} else {
		snprintf(err, errlen, "deleting %s %s: %s", resource, name, why(&r, msg, sizeof(msg)));
		rc = -EAGAIN;
	}
	kube_resp_free(&r);
	return rc;
}

/* Apply what `ro` renders that the caches do not hold yet: the Services first (they are
 * what users wait for, and they need nothing), then the config, then the Deployment whose
 * pods mount it; then delete the headless Services it no longer renders. */
static int apply_all(struct rec_ctx *c, const json_t *vivo, struct render_out *ro, int64_t *after, char *aerr,
		     size_t aerrlen, unsigned *writes)
{
	const char *ns = kobj_str(vivo, "metadata.namespace", ""), *name = kobj_str(vivo, "metadata.name", "");
	const char *uid = kobj_str(vivo, "metadata.uid", "");
	char names[4][320], why[128];
	struct target ts[5] = {
		{ "services", "/api/v1", c->services, ro->service },
		{ "services", "/api/v1", c->services, ro->pods_service },
		{ "services", "/api/v1", c->services, ro->peers_service },
		{ "configmaps", "/api/v1", c->configmaps, ro->configmap },
		{ "deployments", "/apis/apps/v1", c->deployments, ro->deployment },
	};
	const char *tnames[5] = { name, names[0], names[1], names[2], name };
	size_t i;
	int rc = 0;

	snprintf(names[0], sizeof(names[0]), "%s%s", name, RENDER_PODS_SUFFIX);
	snprintf(names[1], sizeof(names[1]), "%s%s", name, RENDER_PEERS_SUFFIX);
	render_configmap_name(name, names[2], sizeof(names[2]));
	for (i = 0; i < 5 && rc == 0; i++)
		if (ts[i].desired)
			rc = ensure(c, &ts[i], ns, tnames[i], after, aerr, aerrlen, writes);
	if (rc == 0 && !ro->pods_service)
		rc = delete_owned(c, c->services, "/api/v1", "services", ns, names[0], uid,
				  "the Vivo is no longer in Sidecar mode", aerr, aerrlen, writes);
	if (rc == 0 && !ro->peers_service) {
		snprintf(why, sizeof(why), "the Vivo has %lld replica%s (peers follow each other above 1)", ro->replicas,
			 ro->replicas == 1 ? "" : "s");
		rc = delete_owned(c, c->services, "/api/v1", "services", ns, names[1], uid, why, aerr, aerrlen, writes);
	}
	return rc;
}

struct pod_count {
	const char *ns, *name, *want;
	size_t nslen;
	bool via_true;            /* this Vivo is what "true" means in its namespace */
	struct status_sidecar *sc;
};

static void count_pod(void *ctx, const char *key, const struct cache_obj *o)
{
	struct pod_count *pc = ctx;
	const char *label, *ann, *phase;
	json_t *p;

	if (strncmp(key, pc->ns, pc->nslen) != 0 || key[pc->nslen] != '/' || !(p = json_loadb(o->text, o->len, 0, NULL)))
		return;
	label = json_string_value(json_object_get(kobj_get(p, "metadata.labels"), RENDER_INJECT_LABEL));
	phase = kobj_str(p, "vivo.phase", "");
	if (!label || (strcmp(label, pc->name) != 0 && !(pc->via_true && strcmp(label, "true") == 0)) ||
	    kobj_get(p, "metadata.deletionTimestamp") || strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) {
		json_decref(p);
		return;
	}
	if (json_is_true(kobj_get(p, "vivo.sidecar"))) {
		ann = json_string_value(json_object_get(kobj_get(p, "metadata.annotations"), RENDER_INJECTED_ANNOTATION));
		pc->sc->injected++;
		if (!ann || strcmp(ann, pc->want) != 0)
			pc->sc->stale++;
		if (json_is_true(kobj_get(p, "vivo.ready")))
			pc->sc->ready++;
	} else if (!json_is_true(kobj_get(p, "vivo.hostNetwork"))) {
		/* Host-network pods are never injected: not something a restart fixes. */
		pc->sc->need_restart++;
		status_note_pod(pc->sc, kobj_str(p, "metadata.name", "?"));
	}
	json_decref(p);
}

static void count_pods(struct rec_ctx *c, const char *ns, const char *name, const char *hash, struct status_sidecar *sc)
{
	char want[512], key[600], self[600];
	struct pod_count pc = { ns, name, want, strlen(ns), false, sc };

	snprintf(want, sizeof(want), "%s@%s", name, hash ? hash : "");
	snprintf(self, sizeof(self), "%s/%s", ns, name);
	pc.via_true = c->profiles && prof_resolve(c->profiles, ns, "true", key, sizeof(key), NULL) == 0 &&
		      strcmp(key, self) == 0;
	if (c->pods)
		cache_foreach(c->pods, count_pod, &pc);
}

/* Write status through /status if it changed. 0, -EAGAIN, -EBUSY, -ESTALE (409), -ENOENT, -EPERM. */
static int write_status(struct rec_ctx *c, json_t *vivo, json_t *status, const char *key, int64_t *after_ms,
			char *err, size_t errlen, unsigned *writes)
{
	const char *ns = kobj_str(vivo, "metadata.namespace", ""), *name = kobj_str(vivo, "metadata.name", "");
	char path[1024], msg[512];
	struct kube_resp r;
	json_t *obj;
	char *body;
	int rc = 0;

	if (json_equal(json_object_get(vivo, "status"), status))
		return 0;
	if (c->may_write && !c->may_write(c->may_write_ctx))
		return -EPERM;
	if (!(obj = json_deep_copy(vivo)))
		return -ENOMEM;
	json_object_set_new(obj, "apiVersion", json_string(RENDER_API_VERSION));
	json_object_set_new(obj, "kind", json_string(RENDER_KIND));
	json_object_set(obj, "status", status);
	if (c->fault_stale_status > 0) {
		/* Test hook: a resourceVersion from long ago, so the server answers 409. */
		c->fault_stale_status--;
		json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string("1"));
		log_info("fault injection: status update of %s with a stale resourceVersion", key);
	}
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/apis/%s/namespaces/%s/vivos/%s/status", RENDER_API_VERSION, ns, name);
	kube_resp_init(&r, REC_MAX_RESP);
	kube_request(c->k, c->e, "PUT", NULL, path, "application/json", body, strlen(body), &r);
	free(body);
	cmet_add(CMET_API_WRITES, "vivos/status", "update", 1);
	(*writes)++;
	if (r.status == 200) {
		json_t *fresh = json_loadb(r.body.data, r.body.len, 0, NULL);

		if (fresh)
			cache_put(c->vivos, key, fresh, NULL, NULL);
		json_decref(fresh);
		log_info("status of %s: %s", key, kobj_str(status_condition(status, "Ready"), "reason", "?"));
	} else if (r.status == 409) {
		snprintf(err, errlen, "status update of %s: %s", key, why(&r, msg, sizeof(msg)));
		rc = -ESTALE;
	} else if (r.status == 404) {
		rc = -ENOENT;
	} else if (r.status == 429 || (r.status >= 500 && r.retry_after > 0)) {
		*after_ms = r.retry_after > 0 ? r.retry_after * 1000 : 1000;
		snprintf(err, errlen, "status update of %s: %s", key, why(&r, msg, sizeof(msg)));
		rc = -EBUSY;
	} else {
		snprintf(err, errlen, "status update of %s: %s", key, why(&r, msg, sizeof(msg)));
		rc = -EAGAIN;
	}
	kube_resp_free(&r);
	return rc;
}

static void outcome(struct rec_result *res, int rc, int64_t after_ms)
{
	switch (rc) {
	case 0:
		break;
	case -EPERM:
		res->outcome = REC_NOT_LEADER;
		res->label = "not_leader";
		break;
	case -EBUSY:
		res->outcome = REC_AFTER;
		res->after_ms = after_ms;
		res->label = "throttled";
		break;
	case -ESTALE:
		res->outcome = REC_RETRY;
		res->label = "conflict";
		break;
	default:
		res->outcome = REC_RETRY;
		res->label = "error";
		break;
	}
}

void rec_reconcile(struct rec_ctx *c, const char *key, struct rec_result *res)
{
	struct render_out ro;
	bool rendered = false, invalid = false;
	char err[512] = "", aerr[768] = "", now[40];
	json_t *vivo, *dep = NULL, *status = NULL;
	const char *ns, *name;
	struct status_in si;
	struct status_sidecar sc;
	char version[64] = "";
	bool sidecar;
	int64_t after = 0;
	int rc = 0, src;

	memset(res, 0, sizeof(*res));
	res->outcome = REC_DONE;
	res->label = "success";
	memset(&ro, 0, sizeof(ro));
	if (!(vivo = cache_load(c->vivos, key))) {
		res->label = "gone"; /* deleted: the garbage collector removes what it owned */
		return;
	}
	if (kobj_get(vivo, "metadata.deletionTimestamp")) {
		res->label = "deleting";
		goto out;
	}
	ns = kobj_str(vivo, "metadata.namespace", "");
	name = kobj_str(vivo, "metadata.name", "");

	src = render_vivo(vivo, &c->ropts, &ro, err, sizeof(err));
	if (src == -EINVAL) {
		invalid = true;
		log_warn("Vivo %s: invalid spec: %s", key, err);
	} else if (src < 0) {
		res->outcome = REC_RETRY;
		res->label = "error";
		goto out;
	} else {
		rendered = true;
	}

	sidecar = rendered ? ro.mode == RENDER_MODE_SIDECAR : strcmp(kobj_str(vivo, "spec.mode", ""), "Sidecar") == 0;
	if (rendered && !ro.paused)
		rc = apply_all(c, vivo, &ro, &after, aerr, sizeof(aerr), &res->writes);
	if (rc == -EPERM) {
		outcome(res, rc, 0);
		goto out;
	}
	if (rc < 0)
		log_warn("Vivo %s: %s", key, aerr);

	/* Status, also after a failed apply (Degraded says why). */
	{
		char dkey[512];

		snprintf(dkey, sizeof(dkey), "%s/%s", ns, name);
		dep = cache_load(c->deployments, dkey);
	}
	cu_rfc3339_now(now, sizeof(now));
	memset(&si, 0, sizeof(si));
	si.generation = json_integer_value(kobj_get(vivo, "metadata.generation"));
	si.config_hash = rendered ? ro.hash : NULL;
	si.endpoints = rendered ? ro.endpoints : NULL;
	si.deployment = dep;
	si.paused = rendered && ro.paused;
	si.now = now;
	if (sidecar) {
		memset(&sc, 0, sizeof(sc));
		sc.native = c->sidecar_info ? c->sidecar_info(c->sidecar_info_ctx, version, sizeof(version)) : -1;
		sc.server_version = version;
		sc.label = name;
		sc.webhook = c->webhook;
		count_pods(c, ns, name, rendered ? ro.hash : NULL, &sc);
		si.sidecar = &sc; /* si.deployment is the aggregator */
	}
	if (invalid) {
		si.degraded_reason = "InvalidSpec";
		si.degraded_message = err;
	} else if (rc < 0) {
		si.degraded_reason = "ApplyFailed";
		si.degraded_message = aerr;
	}
	if (!(status = status_build(json_object_get(vivo, "status"), &si))) {
		res->outcome = REC_RETRY;
		res->label = "error";
		goto out;
	}
	{
		char serr[768] = "";
		int64_t safter = 0;
		int wrc = write_status(c, vivo, status, key, &safter, serr, sizeof(serr), &res->writes);

		if (wrc == -ENOENT) {
			res->label = "gone";
			goto out;
		}
		if (wrc < 0 && wrc != -EPERM)
			log_warn("Vivo %s: %s", key, serr);
		if (rc == 0 && wrc < 0) {
			rc = wrc;
			after = safter;
		}
	}
	if (rc < 0)
		outcome(res, rc, after);
	else if (invalid)
		res->label = "invalid"; /* nothing to retry until the spec changes */
out:
	json_decref(status);
	json_decref(dep);
	json_decref(vivo);
	render_out_free(&ro);
}
