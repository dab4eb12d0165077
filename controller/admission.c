/* admission.c: AdmissionReview decoding with bounds, the response with a base64 JSON Patch, and the review of one pod creation. */
#include "admission.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlutil.h"
#include "kobj.h"
#include "render.h"

/* Copy string field `key` of `o` into out (n bytes). Absent is "" when `optional`. */
static int copy_field(const json_t *o, const char *key, bool optional, char *out, size_t n, const char *what,
		      char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (!v || json_is_null(v)) {
		if (optional)
			return 0;
		snprintf(err, errlen, "%s is missing", what);
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s must be a string", what);
		return -EINVAL;
	}
	if (json_string_length(v) >= n) {
		snprintf(err, errlen, "%s is longer than %zu bytes", what, n - 1);
		return -EINVAL;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	if (strlen(out) != json_string_length(v)) {
		snprintf(err, errlen, "%s contains a NUL byte", what);
		return -EINVAL;
	}
	return 0;
}

int adm_decode(const char *body, size_t len, struct adm_req *out, char *err, size_t errlen)
{
	json_error_t je;
	const json_t *req, *kind, *res, *dry;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len > ADM_MAX_BODY) {
		snprintf(err, errlen, "AdmissionReview of %zu bytes is over the %u byte limit", len, ADM_MAX_BODY);
		return -EINVAL;
	}
	if (!(out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
		return -EINVAL;
	}
	if (!json_is_object(out->root) || strcmp(kobj_str(out->root, "kind", ""), "AdmissionReview") != 0) {
		snprintf(err, errlen, "not an AdmissionReview");
		goto fail;
	}
	if (strcmp(kobj_str(out->root, "apiVersion", ""), ADM_API_VERSION) != 0) {
		snprintf(err, errlen, "apiVersion must be %s (admissionReviewVersions: [v1])", ADM_API_VERSION);
		goto fail;
	}
	req = json_object_get(out->root, "request");
	if (!json_is_object(req)) {
		snprintf(err, errlen, "the AdmissionReview has no request");
		goto fail;
	}
	kind = json_object_get(req, "kind");
	res = json_object_get(req, "resource");
	if ((rc = copy_field(req, "uid", false, out->uid, sizeof(out->uid), "request.uid", err, errlen)) < 0 ||
	    (rc = copy_field(req, "operation", false, out->operation, sizeof(out->operation), "request.operation", err, errlen)) < 0 ||
	    (rc = copy_field(req, "namespace", true, out->ns, sizeof(out->ns), "request.namespace", err, errlen)) < 0 ||
	    (rc = copy_field(req, "subResource", true, out->subresource, sizeof(out->subresource), "request.subResource", err, errlen)) < 0)
		goto fail;
	rc = -EINVAL;
	if (!out->uid[0]) {
		snprintf(err, errlen, "request.uid is empty");
		goto fail;
	}
	if (!json_is_object(kind)) {
		snprintf(err, errlen, "request.kind is missing");
		goto fail;
	}
	if ((rc = copy_field(kind, "group", true, out->group, sizeof(out->group), "request.kind.group", err, errlen)) < 0 ||
	    (rc = copy_field(kind, "version", false, out->version, sizeof(out->version), "request.kind.version", err, errlen)) < 0 ||
	    (rc = copy_field(kind, "kind", false, out->kind, sizeof(out->kind), "request.kind.kind", err, errlen)) < 0)
		goto fail;
	if (json_is_object(res) &&
	    (rc = copy_field(res, "resource", true, out->resource, sizeof(out->resource), "request.resource.resource", err, errlen)) < 0)
		goto fail;
	dry = json_object_get(req, "dryRun");
	out->dry_run = json_is_true(dry);
	out->object = json_object_get(req, "object");
	if (out->object && json_is_null(out->object))
		out->object = NULL;
	if (out->object && !json_is_object(out->object)) {
		snprintf(err, errlen, "request.object must be an object");
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	adm_req_free(out);
	return rc;
}

void adm_req_free(struct adm_req *r)
{
	if (!r)
		return;
	json_decref(r->root);
	r->root = NULL;
	r->object = NULL;
}

int adm_respond(const char *uid, const json_t *patch, const json_t *warnings, struct buf *out)
{
	json_t *resp = json_pack("{s:s, s:b}", "uid", uid, "allowed", 1), *review;
	char *text = NULL, *b64 = NULL;
	int rc = -ENOMEM;

	if (!resp)
		return -ENOMEM;
	if (json_array_size(patch)) {
		if (!(text = json_dumps(patch, JSON_COMPACT)) || cu_b64_encode(text, strlen(text), &b64) < 0 ||
		    json_object_set_new(resp, "patchType", json_string("JSONPatch")) < 0 ||
		    json_object_set_new(resp, "patch", json_string(b64)) < 0)
			goto out;
	}
	if (json_array_size(warnings) && json_object_set(resp, "warnings", (json_t *)warnings) < 0)
		goto out;
	review = json_pack("{s:s, s:s, s:O}", "apiVersion", ADM_API_VERSION, "kind", "AdmissionReview", "response", resp);
	free(text);
	text = review ? json_dumps(review, JSON_COMPACT) : NULL;
	json_decref(review);
	if (text)
		rc = buf_puts(out, text);
out:
	free(text);
	free(b64);
	json_decref(resp);
	return rc;
}

/* An allowed response that changes nothing, with one warning (or none). */
static int allow(struct buf *out, const char *uid, const char *warning)
{
	json_t *w = warning ? json_pack("[s]", warning) : NULL;
	int rc = adm_respond(uid, NULL, w, out);

	json_decref(w);
	return rc;
}

int adm_review(const char *body, size_t len, const struct adm_env *env, struct buf *out, const char **result,
	       char *err, size_t errlen)
{
	struct adm_req rq;
	struct inj_profile prof;
	struct inj_result ir;
	char why[512], msg[768], berr[256];
	const char *value;
	int rc, lrc;

	*result = "error";
	if ((rc = adm_decode(body, len, &rq, err, errlen)) < 0)
		return rc;
	if (strcmp(rq.operation, "CREATE") != 0 || rq.group[0] || strcmp(rq.kind, "Pod") != 0 || rq.subresource[0] ||
	    !rq.object) {
		*result = "skipped"; /* not a pod creation: the configuration never sends one */
		rc = allow(out, rq.uid, NULL);
		goto out;
	}
	if (!rq.ns[0])
		cu_strlcpy(rq.ns, kobj_str(rq.object, "metadata.namespace", ""), sizeof(rq.ns));
	value = json_string_value(json_object_get(kobj_get(rq.object, "metadata.labels"), RENDER_INJECT_LABEL));
	if (!value || !*value || strcmp(value, "false") == 0) {
		*result = "not_opted_in";
		rc = allow(out, rq.uid, NULL);
		goto out;
	}
	memset(&prof, 0, sizeof(prof));
	why[0] = '\0';
	lrc = env->lookup(env->ctx, rq.ns, value, &prof, why, sizeof(why));
	if (lrc < 0) {
		*result = lrc == -ENOENT ? "no_vivo" : lrc == -EEXIST ? "ambiguous" : lrc == -EAGAIN ? "not_ready" : "not_sidecar";
		snprintf(msg, sizeof(msg), "%s=%s: %s; the pod was admitted without the Vivo sidecar", RENDER_INJECT_LABEL,
			 value, why);
		rc = allow(out, rq.uid, msg);
		goto out;
	}
	rc = inj_build(rq.object, &prof, &ir, berr, sizeof(berr));
	if (env->release)
		env->release(env->ctx);
	if (rc == -EINVAL) {
		*result = "unpatchable";
		snprintf(msg, sizeof(msg), "the Vivo sidecar was not added: %s", berr);
		rc = allow(out, rq.uid, msg);
		goto out;
	}
	if (rc < 0)
		goto out;
	*result = ir.present ? "present" : json_array_size(ir.patch) ? "injected" : "host_network";
	rc = adm_respond(rq.uid, ir.patch, ir.warnings, out);
	inj_result_free(&ir);
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	adm_req_free(&rq);
	return rc;
}
