/* status.h: a Vivo's status (observedGeneration, Ready/Progressing/Degraded, endpoints, configHash, readyReplicas) from its Deployment. */
#ifndef VIVO_STATUS_H
#define VIVO_STATUS_H

#include <stdbool.h>

#include <jansson.h>

struct status_in {
	long long generation;        /* the Vivo's metadata.generation */
	const char *config_hash;     /* NULL: keep the previous one */
	const json_t *endpoints;     /* NULL: keep the previous ones */
	const json_t *deployment;    /* the live Deployment, or NULL */
	bool paused;
	const char *degraded_reason; /* set when the controller itself failed: InvalidSpec, ApplyFailed */
	const char *degraded_message;
	const char *now;             /* RFC 3339, for lastTransitionTime */
};

/* The new status. lastTransitionTime is carried over from `old` (a status object or
 * NULL) for every condition whose status did not change. Caller json_decref()s; NULL on
 * ENOMEM. */
json_t *status_build(const json_t *old, const struct status_in *in);
/* The condition of `type` in a status, or NULL (borrowed). */
const json_t *status_condition(const json_t *status, const char *type);

#endif
