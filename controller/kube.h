/* kube.h: the Kubernetes API client on libcurl: TLS and auth from a kube_auth, token re-reads, bounded requests, metrics. */
#ifndef VIVO_KUBE_H
#define VIVO_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "kubeconfig.h"

/* Token files are re-read at least this often (and after a 401). */
#define KUBE_TOKEN_REREAD_MS 60000
#define KUBE_CONNECT_TIMEOUT_MS 5000
#define KUBE_REQUEST_TIMEOUT_MS 30000
#define KUBE_USER_AGENT "vivo-controller/" PACKAGE_VERSION

struct kube;

/* Observer of every finished request: verb (GET, LIST, WATCH, PATCH, PUT, POST, DELETE),
 * HTTP status or 0 for a transport error, and the seconds it took (to the headers, for
 * watches). Called from any thread. */
typedef void (*kube_observer)(void *ctx, const char *verb, long code, double seconds);

/* A client for the server in `auth` (taken over: the caller must not free it). Reads the
 * token file once. 0, or -EINVAL with the reason in err, -ENOMEM. */
int kube_new(struct kube_auth *auth, struct kube **out, char *err, size_t errlen);
void kube_free(struct kube *k);
void kube_set_observer(struct kube *k, kube_observer fn, void *ctx);
const char *kube_server(const struct kube *k);
/* The kubeconfig context's namespace or the pod's, or NULL. */
const char *kube_namespace(const struct kube *k);
const char *kube_source(const struct kube *k);

/* One response. body is bounded by the max given to kube_request. */
struct kube_resp {
	long status;              /* HTTP status, 0 when the request failed before one */
	struct buf body;
	long retry_after;         /* seconds from Retry-After, or -1 */
	long timeout_ms;          /* set before the request: overall timeout (0 = KUBE_REQUEST_TIMEOUT_MS) */
	char err[CURL_ERROR_SIZE + 64]; /* transport error text when status is 0 */
};
void kube_resp_init(struct kube_resp *r, size_t max_body);
void kube_resp_free(struct kube_resp *r);
/* The "message" of a Status body, or a short description of the failure. */
const char *kube_resp_message(const struct kube_resp *r, char *out, size_t n);

/* A blocking request on the caller's handle `e` (reused for keep-alive; one thread per
 * handle). `verb` labels the metric (NULL = method). A 401 with a token file re-reads the
 * token and retries once. Returns 0 when an HTTP status was received (any status), or
 * -EIO with r->err set. */
int kube_request(struct kube *k, CURL *e, const char *method, const char *verb, const char *path,
		 const char *ctype, const char *body, size_t len, struct kube_resp *r);

/* Set up `e` for a streaming GET of `path` (a watch): TLS, auth, timeouts
 * (`timeout_ms` overall, 0 = none), the caller's write callback and error buffer
 * (CURL_ERROR_SIZE bytes, or NULL). `*hdrs` receives the header list, which the caller frees
 * with curl_slist_free_all after the transfer. */
int kube_setup_stream(struct kube *k, CURL *e, const char *path, long timeout_ms,
		      curl_write_callback write_cb, void *write_ctx, char *errbuf, struct curl_slist **hdrs);

/* The token is suspect (a 401): re-read the token file before the next request. */
void kube_token_invalidate(struct kube *k);
/* Report a finished request to the observer (used by streaming callers). */
void kube_observe(struct kube *k, const char *verb, long code, double seconds);

/* Percent-encode `s` for a query value. */
int kube_query_escape(struct buf *b, const char *s);

#endif
