/* status.h: a Vivo's status (observedGeneration, Ready/Progressing/Degraded, endpoints, configHash, readyReplicas) from its Deployment (Sidecar mode: its aggregator's) and pods. */
#ifndef VIVO_STATUS_H
#define VIVO_STATUS_H

#include <stdbool.h>

#include <jansson.h>

#define STATUS_MAX_NAMES 10

/* Sidecar mode: what the pods that carry the opt-in label look like. */
struct status_sidecar {
	long long injected;        /* running pods with the sidecar */
	long long stale;           /* ... whose vivo.dev/injected hash is not the current one */
	long long ready;           /* ... that are Ready */
	long long need_restart;    /* labelled running pods without the sidecar */
	char names[STATUS_MAX_NAMES][254]; /* the first of those, sorted */
	size_t nnames;
	int native;                /* 1 native sidecars, 0 ordinary containers, -1 unknown */
	const char *server_version;
	const char *label;         /* the label value that names this Vivo */
	bool webhook;              /* this controller runs the webhook */
};

struct status_in {
	long long generation;        /* the Vivo's metadata.generation */
	const char *config_hash;     /* NULL: keep the previous one */
	const json_t *endpoints;     /* NULL: keep the previous ones */
	const json_t *deployment;    /* the live Deployment (Sidecar mode: the aggregator), or NULL */
	bool paused;
	const char *degraded_reason; /* set when the controller itself failed: InvalidSpec, ApplyFailed */
	const char *degraded_message;
	const char *now;             /* RFC 3339, for lastTransitionTime */
	const struct status_sidecar *sidecar; /* Sidecar mode (no Deployment), or NULL */
};

/* The new status (Deployment mode: from the Deployment; Sidecar mode: conditions Ready (the
 * webhook's profile), Progressing and Degraded (also from the aggregator Deployment),
 * Injected and AggregatorReady, injectedPods, stalePods, podsNeedRestart, sidecarType; both:
 * endpoints, the previous ones while `endpoints` is NULL). lastTransitionTime is carried over from `old` (a status object or
 * NULL) for every condition whose status did not change. Caller json_decref()s; NULL on
 * ENOMEM. */
json_t *status_build(const json_t *old, const struct status_in *in);
/* Keep `name` among the first STATUS_MAX_NAMES names of `sc` in byte order. */
void status_note_pod(struct status_sidecar *sc, const char *name);
/* The condition of `type` in a status, or NULL (borrowed). */
const json_t *status_condition(const json_t *status, const char *type);

#endif
