/* inject.h: the JSON Patch that adds a Sidecar-mode Vivo's agent to a pod, shared by the webhook and --inject; an RFC 6902 applier; the native-sidecar version check. */
#ifndef VIVO_INJECT_H
#define VIVO_INJECT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "render.h"

/* Pod annotation: "false" keeps the OTEL_* variables out of the app containers. */
#define INJ_ENV_ANNOTATION "vivo.dev/inject-env"
/* Label the webhook puts on every injected pod (value: the Vivo's name): what the Vivo's
 * headless Service <name>-pods selects. */
#define INJ_SIDECAR_LABEL RENDER_SIDECAR_LABEL
/* Variables the webhook adds to app containers (downward API), referenced by
 * OTEL_RESOURCE_ATTRIBUTES as $(VIVO_POD_NAME) and $(VIVO_POD_NAMESPACE). */
#define INJ_ENV_POD_NAME "VIVO_POD_NAME"
#define INJ_ENV_POD_NAMESPACE "VIVO_POD_NAMESPACE"
/* Native sidecars (restartable init containers) are on by default from Kubernetes 1.29. */
#define INJ_NATIVE_MAJOR 1
#define INJ_NATIVE_MINOR 29

/* What one Sidecar-mode Vivo injects. Borrowed pointers. */
struct inj_profile {
	const char *vivo;          /* the Vivo's name */
	const char *hash;          /* "sha256:..." (render_out.hash) */
	const char *configmap;     /* its ConfigMap, in the pod's namespace */
	const json_t *container;   /* render_out.sidecar: mounts volume RENDER_SIDECAR_VOLUME */
	long long otlp_port;       /* 0: no OTLP input, so no OTEL_* variables */
	const int *ports;          /* every port the agent listens on (for clash warnings) */
	int nports;
	bool native;               /* an initContainers entry with restartPolicy Always */
};

struct inj_result {
	json_t *patch;     /* RFC 6902 operations, in order; an empty array changes nothing */
	json_t *warnings;  /* strings for the admission response's warnings */
	bool present;      /* the pod already had the sidecar: nothing of it was added */
};

/* Build the patch that adds `p` to `pod` (a Pod, or a pod template: an object with
 * "metadata" and "spec"). Idempotent: for a pod this patch was applied to, the new patch
 * is empty. The sidecar goes first in spec.initContainers (native) or last in
 * spec.containers; its config volume takes the first free name of vivo-config,
 * vivo-config-2, ...; every app container gets OTEL_EXPORTER_OTLP_ENDPOINT and _PROTOCOL
 * unless it sets either, and k8s.pod.name/k8s.namespace.name appended to
 * OTEL_RESOURCE_ATTRIBUTES unless present; the pod gets annotation vivo.dev/injected
 * "<vivo>@<hash>" and label vivo.dev/sidecar. Pods on the host network are left alone (a
 * warning says why). On success the caller owns out->patch and out->warnings
 * (inj_result_free). -EINVAL with a reason in `err` when `pod` has no usable spec, -ENOMEM. */
int inj_build(const json_t *pod, const struct inj_profile *p, struct inj_result *out, char *err, size_t errlen);
void inj_result_free(struct inj_result *r);

/* Apply RFC 6902 operations (add, remove, replace, test) to `doc` in place, as the API
 * server does. 0, or -EINVAL with the failing operation and why in `err` (doc may then be
 * partly patched), -ENOMEM. */
int inj_apply(json_t *doc, const json_t *patch, char *err, size_t errlen);

/* The major and minor version of a /version answer ({"major":"1","minor":"29+",
 * "gitVersion":"v1.29.3-gke.1",...}): the numeric prefixes of major and minor, else from
 * gitVersion. 0 or -EINVAL. */
int inj_parse_version(const json_t *version, int *major, int *minor);
/* True when that version runs native sidecars (>= 1.29). */
bool inj_native_supported(int major, int minor);

/* The sidecar container in `podspec` (initContainers or containers), or NULL; *native
 * (may be NULL) tells which list. Borrowed. */
const json_t *inj_find_sidecar(const json_t *podspec, bool *native);

/* Reduce a Pod in place to what a Vivo's status needs: metadata name, namespace,
 * resourceVersion, deletionTimestamp, the vivo.dev/inject label and vivo.dev/injected
 * annotation, and {"vivo": {"sidecar", "hostNetwork", "phase", "ready"}}. */
void inj_pod_summary(json_t *pod);

#endif
