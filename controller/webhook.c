/* webhook.c: the HTTPS admission endpoint: bounded bodies, reviews against the profile registry, per-result metrics, hot-swapped certificates. */
#include "webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "admission.h"
#include "buf.h"
#include "cmetrics.h"
#include "ctlhttp.h"
#include "ctlutil.h"
#include "log.h"
#include "opts.h"

/* One certificate and key as GnuTLS wants them for a handshake. */
struct creds {
	gnutls_pcert_st pcert[4];
	unsigned int n;
	gnutls_privkey_t key;
};

struct webhook {
	struct MHD_Daemon *d;
	struct prof_reg *profiles;
	atomic_int native;
	uint16_t port;
};

/* The GnuTLS callback has no context pointer: the one webhook's credentials live here.
 * gens[0] is served; older generations stay alive for sessions made with them. */
static pthread_mutex_t creds_mu = PTHREAD_MUTEX_INITIALIZER;
static struct creds *gens[WH_KEEP_GENERATIONS];

static void creds_free(struct creds *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		gnutls_pcert_deinit(&c->pcert[i]);
	if (c->key)
		gnutls_privkey_deinit(c->key);
	free(c);
}

static int cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs, const gnutls_pk_algorithm_t *pk,
		   int npk, gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *key)
{
	int rc = -1;

	(void)s;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk;
	(void)npk;
	pthread_mutex_lock(&creds_mu);
	if (gens[0]) {
		*pcert = gens[0]->pcert;
		*pcert_length = gens[0]->n;
		*key = gens[0]->key;
		rc = 0;
	}
	pthread_mutex_unlock(&creds_mu);
	return rc; /* -1: no certificate yet, the handshake fails */
}

int wh_set_cert(struct webhook *w, const char *cert, const char *key, char *err, size_t errlen)
{
	struct creds *c = calloc(1, sizeof(*c)), *old;
	gnutls_datum_t cd = { (unsigned char *)cert, (unsigned)strlen(cert) };
	gnutls_datum_t kd = { (unsigned char *)key, (unsigned)strlen(key) };
	int g, i;

	(void)w;
	if (!c)
		return -ENOMEM;
	c->n = sizeof(c->pcert) / sizeof(c->pcert[0]);
	if ((g = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0)) < 0) {
		c->n = 0;
		snprintf(err, errlen, "the certificate: %s", gnutls_strerror(g));
		goto fail;
	}
	if ((g = gnutls_privkey_init(&c->key)) < 0 ||
	    (g = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, errlen, "the key: %s", gnutls_strerror(g));
		goto fail;
	}
	{
		/* The key must be the leaf's: sign a probe with it, verify with the certificate. */
		gnutls_datum_t probe = { (unsigned char *)"vivo", 4 }, sig = { NULL, 0 };
		gnutls_sign_algorithm_t alg = GNUTLS_SIGN_ECDSA_SHA256;

		if (gnutls_privkey_get_pk_algorithm(c->key, NULL) != GNUTLS_PK_ECDSA)
			alg = GNUTLS_SIGN_RSA_SHA256;
		g = gnutls_privkey_sign_data2(c->key, alg, 0, &probe, &sig);
		if (g >= 0)
			g = gnutls_pubkey_verify_data2(c->pcert[0].pubkey, alg, 0, &probe, &sig);
		gnutls_free(sig.data);
		if (g < 0) {
			snprintf(err, errlen, "the key does not belong to the certificate (%s)", gnutls_strerror(g));
			goto fail;
		}
	}
	pthread_mutex_lock(&creds_mu);
	old = gens[WH_KEEP_GENERATIONS - 1];
	for (i = WH_KEEP_GENERATIONS - 1; i > 0; i--)
		gens[i] = gens[i - 1];
	gens[0] = c;
	pthread_mutex_unlock(&creds_mu);
	creds_free(old);
	return 0;
fail:
	creds_free(c);
	return -EINVAL;
}

void wh_set_native(struct webhook *w, int native)
{
	atomic_store(&w->native, native);
}

uint16_t wh_port(const struct webhook *w)
{
	return w->port;
}

/* The registry lookup, plus whether the sidecar is native. */
static int lookup(void *ctx, const char *ns, const char *value, struct inj_profile *p, char *why, size_t n)
{
	struct webhook *w = ctx;
	int native = atomic_load(&w->native), rc;

	if (native < 0) {
		snprintf(why, n, "vivo-controller is starting (the API server's version is not known yet)");
		return -EAGAIN;
	}
	if ((rc = prof_lookup(w->profiles, ns, value, p, why, n)) == 0)
		p->native = native == 1;
	return rc;
}

static void release(void *ctx)
{
	prof_release(((struct webhook *)ctx)->profiles);
}

/* One request's state, from its headers to its response. */
struct wh_req {
	struct buf body;
	double t0;
	unsigned reject;      /* an HTTP status to answer instead of a review, or 0 */
	char peer[80];
};

static void peer_of(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";

	if (ci && ci->client_addr)
		getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
										    : sizeof(struct sockaddr_in),
			    host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, n, "%s:%s", host, serv);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result mr;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	mr = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return mr;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *why)
{
	json_t *o = json_pack("{s:s}", "error", why);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	enum MHD_Result mr = text ? reply(c, status, text, strlen(text)) : MHD_NO;

	free(text);
	json_decref(o);
	return mr;
}

/* The request is complete: review it and answer. */
static enum MHD_Result finish(struct webhook *w, struct MHD_Connection *c, struct wh_req *r)
{
	struct adm_env env = { lookup, release, w };
	const char *result = "error";
	char err[512] = "";
	struct buf out;
	enum MHD_Result mr;
	double t1;
	int rc;

	if (r->reject) {
		const char *msg = r->reject == 413 ? "the AdmissionReview is larger than the limit"
						   : "only POST " WH_PATH " is served here";

		log_warn("webhook: refused a request from %s: %u %s", r->peer, r->reject, msg);
		cmet_add(CMET_WEBHOOK_REQUESTS, "refused", NULL, 1);
		return reply_error(c, r->reject, msg);
	}
	buf_init(&out, 2 * ADM_MAX_BODY);
	t1 = cu_now_s();
	rc = adm_review(r->body.data ? r->body.data : "", r->body.len, &env, &out, &result, err, sizeof(err));
	if (rc < 0) {
		log_warn("webhook: bad AdmissionReview from %s: %s", r->peer, err);
		cmet_add(CMET_WEBHOOK_REQUESTS, "bad_request", NULL, 1);
		mr = reply_error(c, rc == -ENOMEM ? 500 : 400, err);
	} else {
		log_debug("webhook: review from %s: %s", r->peer, result);
		mr = reply(c, 200, out.data, out.len);
		cmet_add(CMET_WEBHOOK_REQUESTS, result, NULL, 1);
		/* The controller's part starts with the whole request in: before that it waits
		 * for the client (the API server may send the body in several TLS records). */
		cmet_observe(CMET_WEBHOOK_UPLOAD_SECONDS, NULL, NULL, t1 - r->t0);
		cmet_observe(CMET_WEBHOOK_SECONDS, NULL, NULL, cu_now_s() - t1);
	}
	buf_free(&out);
	return mr;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct webhook *w = cls;
	struct wh_req *r = *req_cls;

	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n = 0;

		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->t0 = cu_now_s();
		buf_init(&r->body, ADM_MAX_BODY);
		peer_of(c, r->peer, sizeof(r->peer));
		*req_cls = r;
		if (strcmp(url, WH_PATH) != 0)
			r->reject = 404;
		else if (strcmp(method, "POST") != 0)
			r->reject = 405;
		else if (cl && (opts_parse_u64(cl, ADM_MAX_BODY, &n) < 0)) {
			/* Answer now: the rest of a body this large is not read (the connection closes). */
			r->reject = 413;
			return finish(w, c, r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->reject && buf_append(&r->body, upload, *upload_size) < 0)
			r->reject = 413;
		*upload_size = 0;
		return MHD_YES;
	}
	return finish(w, c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct wh_req *r = *req_cls;

	(void)cls;
	(void)c;
	if (!r)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT)
		log_info("webhook: request from %s ended early (code %d)", r->peer, (int)toe);
	buf_free(&r->body);
	free(r);
	*req_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_info("webhook: libmicrohttpd: %s", msg); /* failed TLS handshakes land here */
}

int wh_start(const char *listen, struct prof_reg *profiles, struct webhook **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct webhook *w;
	char host[256];
	uint16_t port;
	const union MHD_DaemonInfo *di;
	bool v6;

	memset(&ss, 0, sizeof(ss));
	if (chttp_parse_addr(listen, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "webhook address '%s': use HOST:PORT or :PORT", listen);
		return -EINVAL;
	}
	v6 = strchr(host, ':') != NULL;
	if (v6 ? inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) != 1
	       : inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) != 1) {
		snprintf(err, errlen, "webhook address '%s': the host must be an IP address", listen);
		return -EINVAL;
	}
	ss.ss_family = v6 ? AF_INET6 : AF_INET;
	if (v6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS) || !MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK)) {
		snprintf(err, errlen, "this libmicrohttpd has no TLS certificate callback: the webhook needs one");
		return -ENOTSUP;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->profiles = profiles;
	atomic_init(&w->native, -1);
	w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG |
				(v6 ? MHD_USE_IPv6 : 0),
				port, NULL, NULL, on_request, w,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_HTTPS_CERT_CALLBACK, cert_cb,
				MHD_OPTION_NOTIFY_COMPLETED, completed, w,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)WH_THREADS,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WH_CONNECTION_TIMEOUT_S,
				MHD_OPTION_END);
	if (!w->d) {
		snprintf(err, errlen, "webhook: cannot listen on %s: %s", listen, strerror(errno ? errno : EADDRINUSE));
		free(w);
		return -EADDRINUSE;
	}
	di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
	w->port = di ? di->port : port;
	log_info("listening webhook on %s:%u", host, w->port);
	*out = w;
	return 0;
}

void wh_stop(struct webhook *w)
{
	int i;

	if (!w)
		return;
	MHD_stop_daemon(w->d);
	free(w);
	pthread_mutex_lock(&creds_mu);
	for (i = 0; i < WH_KEEP_GENERATIONS; i++) {
		creds_free(gens[i]);
		gens[i] = NULL;
	}
	pthread_mutex_unlock(&creds_mu);
}
