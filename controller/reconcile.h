/* reconcile.h: one Vivo reconciled: render, server-side apply what differs from the caches, write status. */
#ifndef VIVO_RECONCILE_H
#define VIVO_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "cache.h"
#include "kube.h"
#include "profiles.h"
#include "render.h"

#define REC_APPLIED_ANNOTATION "vivo.dev/applied"

struct rec_ctx {
	struct kube *k;
	CURL *e;                    /* the blocking handle of the main thread */
	struct cache *vivos, *configmaps, *deployments, *services;
	struct cache *pods;         /* labelled pods (inj_pod_summary), or NULL */
	struct prof_reg *profiles;  /* resolves vivo.dev/inject=true; NULL without pods */
	/* Sidecar mode: native sidecars (1/0/-1 unknown) and the API server's version. */
	int (*sidecar_info)(void *ctx, char *version, size_t n);
	void *sidecar_info_ctx;
	bool webhook;               /* the webhook runs in this controller */
	struct render_opts ropts;
	/* Asked before every write: false once this replica may no longer write (leadership). */
	bool (*may_write)(void *ctx);
	void *may_write_ctx;
	/* Test hook: the next N status updates carry a stale resourceVersion (a real 409). */
	int fault_stale_status;
};

enum rec_outcome {
	REC_DONE,         /* converged (or nothing to do) */
	REC_RETRY,        /* failed: retry with the per-key backoff */
	REC_AFTER,        /* retry after `after_ms` (429 Retry-After) */
	REC_NOT_LEADER,   /* stopped: this replica may not write */
};

struct rec_result {
	enum rec_outcome outcome;
	int64_t after_ms;
	const char *label;          /* metric result: success, error, conflict, throttled, invalid, gone, ... */
	unsigned writes;            /* API writes made */
};

/* Reconcile the Vivo `key` ("namespace/name") from the caches. Never blocks longer than
 * its requests' timeouts. */
void rec_reconcile(struct rec_ctx *c, const char *key, struct rec_result *res);

/* True when `live` already holds `desired` (the applied-hash annotation matches and every
 * field we apply is there with the same value). Exposed for tests. */
bool rec_up_to_date(const json_t *desired, const json_t *live);
/* Stamp `obj` with the hash of its own content in REC_APPLIED_ANNOTATION. 0 or -ENOMEM. */
int rec_stamp(json_t *obj);

#endif
