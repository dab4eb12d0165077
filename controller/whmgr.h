/* whmgr.h: the webhook's upkeep in its own thread: the API server's version, the certificates (a Secret all replicas share, rotated in stages, or --webhook-cert-dir) and the MutatingWebhookConfiguration (server-side apply, caBundle). */
#ifndef VIVO_WHMGR_H
#define VIVO_WHMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "kube.h"
#include "webhook.h"

#define WHM_WEBHOOK_NAME "inject.vivo.dev"
#define WHM_DEFAULT_LIFETIME_S (365LL * 24 * 3600)
#define WHM_DEFAULT_POLL_MS 10000
#define WHM_TIMEOUT_S 5

struct whm_opts {
	const char *ns;           /* the controller's namespace (Secret, Service) */
	const char *secret;       /* Secret holding the CA and serving certificate */
	const char *service;      /* Service in front of the webhook (clientConfig.service) */
	const char *config;       /* MutatingWebhookConfiguration name */
	const char *url;          /* register this URL instead of the Service, or NULL */
	const char *cert_dir;     /* serve DIR/tls.crt + DIR/tls.key (caBundle DIR/ca.crt), or NULL */
	const char *watch_ns;     /* only pods of this namespace are sent, or NULL */
	int64_t lifetime_s;       /* of the CA and of the serving certificate */
	int64_t poll_ms;          /* how often the Secret and the configuration are checked */
	const char *server_version; /* test hook: "1.28" instead of asking /version, or NULL */
	/* True while this replica may write (the leader): it alone renews the certificates and
	 * applies the configuration. Called from the manager's thread. */
	bool (*may_write)(void *ctx);
	void *may_write_ctx;
	int wake_fd;              /* written once the version is known, or -1 */
};

struct whm;

/* Start the thread. It serves certificates through `w` and reports the version to it.
 * Strings in `o` are copied. 0, -EINVAL (a bad URL, with the reason logged), -ENOMEM. */
int whm_start(struct kube *k, struct webhook *w, const struct whm_opts *o, struct whm **out);
/* Stop the thread and free. NULL-safe. */
void whm_stop(struct whm *m);
/* 1: native sidecars, 0: ordinary containers, -1: the version is not known yet. */
int whm_native(const struct whm *m);
/* The API server's gitVersion ("v1.34.3"), or "" while unknown, into out. */
void whm_server_version(struct whm *m, char *out, size_t n);

/* The serving certificate's names for these options: the Service's DNS names and the host
 * of `url`. Exposed for tests; `names` has room for CERT_MAX_NAMES, strings in `store`. */
int whm_names(const struct whm_opts *o, const char **names, size_t *n, char *store, size_t storelen);
/* The MutatingWebhookConfiguration to apply (caBundle from `bundle`, omitted when NULL).
 * Caller json_decref()s; NULL on ENOMEM. */
json_t *whm_config(const struct whm_opts *o, const char *bundle);

#endif
