/* admission.h: admission.k8s.io/v1 AdmissionReview in (bounded, validated) and out, and one review of a pod creation against the Sidecar-mode Vivos. */
#ifndef VIVO_ADMISSION_H
#define VIVO_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "inject.h"

#define ADM_API_VERSION "admission.k8s.io/v1"
#define ADM_MAX_BODY (4u << 20)   /* a pod is at most ~1.5 MB in etcd; the review wraps one */
#define ADM_MAX_UID 128
#define ADM_MAX_NAME 253

/* A decoded AdmissionReview request. Strings are copies; `object` is borrowed from root. */
struct adm_req {
	json_t *root;
	char uid[ADM_MAX_UID + 1];
	char operation[16];        /* CREATE, UPDATE, DELETE, CONNECT */
	char group[64], version[32], kind[64];   /* request.kind */
	char resource[64], subresource[64];      /* request.resource.resource, request.subResource */
	char ns[ADM_MAX_NAME + 1];
	bool dry_run;
	json_t *object;            /* request.object, or NULL */
};

/* Decode `len` bytes of an AdmissionReview (apiVersion admission.k8s.io/v1, a request with a
 * uid, a kind and an operation). 0 (caller adm_req_free()s), or -EINVAL with a reason in
 * `err` (not JSON, wrong apiVersion or kind, a missing or oversized field), -ENOMEM. */
int adm_decode(const char *body, size_t len, struct adm_req *out, char *err, size_t errlen);
void adm_req_free(struct adm_req *r);

/* Append the AdmissionReview response for `uid`: allowed, the JSON Patch (base64, omitted
 * when `patch` is NULL or empty) and the warnings (strings, omitted when NULL or empty).
 * 0, -ENOMEM, -ENOSPC. */
int adm_respond(const char *uid, const json_t *patch, const json_t *warnings, struct buf *out);

/* Looks up the Sidecar-mode Vivo a pod names: 0 with *p filled (strings valid until the
 * next call's release), or -ENOENT/-EINVAL/-EEXIST/-EAGAIN with a sentence in `why` (no
 * such Vivo; not in Sidecar mode or an invalid spec; "true" with several; not ready yet). */
typedef int (*adm_lookup_fn)(void *ctx, const char *ns, const char *value, struct inj_profile *p, char *why,
			     size_t whylen);
typedef void (*adm_release_fn)(void *ctx);

struct adm_env {
	adm_lookup_fn lookup;
	adm_release_fn release;    /* after a successful lookup's profile was used; may be NULL */
	void *ctx;
};

/* One review: decode `body`, and for the CREATE of a Pod labelled vivo.dev/inject build the
 * sidecar patch of the Vivo it names; append the response to `out`. A pod that cannot be
 * injected is allowed unchanged with a warning. *result is the metric label (injected,
 * present, not_opted_in, no_vivo, not_sidecar, ambiguous, not_ready, host_network, skipped,
 * unpatchable). 0, or -EINVAL (a bad request: reason in `err`, nothing appended), -ENOMEM. */
int adm_review(const char *body, size_t len, const struct adm_env *env, struct buf *out, const char **result,
	       char *err, size_t errlen);

#endif
