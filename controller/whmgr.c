/* whmgr.c: the webhook's certificates and configuration: a create-if-absent Secret rotated in three stages (new CA trusted, new certificate served, old CA dropped), --webhook-cert-dir reloads, and the server-side applied MutatingWebhookConfiguration. */
#include "whmgr.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "certs.h"
#include "cmetrics.h"
#include "ctlutil.h"
#include "kobj.h"
#include "log.h"
#include "render.h"

#define WHM_MAX_BODY (1u << 20)
#define WHM_STAGE_ANNOTATION "vivo.dev/rotation"
#define WHM_SINCE_ANNOTATION "vivo.dev/rotation-since"

enum { F_CA, F_CA_KEY, F_TLS, F_TLS_KEY, F_BUNDLE, F_NEXT_CA, F_NEXT_CA_KEY, F_NEXT_TLS, F_NEXT_TLS_KEY, F_COUNT };
static const char *const fkeys[F_COUNT] = { "ca.crt", "ca.key", "tls.crt", "tls.key", "ca-bundle.crt",
					    "next-ca.crt", "next-ca.key", "next-tls.crt", "next-tls.key" };

/* The Secret as read: PEM texts, the rotation stage ("", "prepared", "switched") and since when. */
struct tls_state {
	char *f[F_COUNT];
	char stage[16];
	int64_t since;
	char rv[64];
};

struct whm {
	struct kube *k;
	CURL *e;
	struct webhook *w;
	struct whm_opts o;
	char *own[8];            /* copies of the option strings */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, started;
	atomic_int native;
	char version[64];        /* under mu */
	const char *names[CERT_MAX_NAMES];
	size_t nnames;
	char names_store[2048];
	int64_t grace_s;
	struct tls_state st;
	char *served;            /* the certificate served now */
	char *bundle;            /* caBundle for the configuration, or NULL */
	bool have_certs;
	int64_t next_api_ms;
	char last_err[384];
	struct stat dir_sig[3];
};

static void st_free(struct tls_state *s)
{
	int i;

	for (i = 0; i < F_COUNT; i++) {
		if (s->f[i] && (i == F_CA_KEY || i == F_TLS_KEY || i == F_NEXT_CA_KEY || i == F_NEXT_TLS_KEY))
			memset(s->f[i], 0, strlen(s->f[i]));
		free(s->f[i]);
	}
	memset(s, 0, sizeof(*s));
}

static void st_set(struct tls_state *s, int i, char *v)
{
	free(s->f[i]);
	s->f[i] = v;
}

/* Log a failure once until it changes (the loop retries every poll). */
__attribute__((format(printf, 2, 3)))
static void fail_once(struct whm *m, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, m->last_err) != 0)
		log_warn("webhook: %s", msg);
	cu_strlcpy(m->last_err, msg, sizeof(m->last_err));
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- names and the configuration ---------------------------------------------------- */

int whm_names(const struct whm_opts *o, const char **names, size_t *n, char *store, size_t storelen)
{
	static const char *const suffix[] = { "", ".svc", ".svc.cluster.local" };
	size_t used = 0, i;
	int k;

	*n = 0;
	/* The Service's names: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local. */
	for (i = 0; i <= sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (i == 0)
			k = snprintf(store + used, storelen - used, "%s", o->service);
		else
			k = snprintf(store + used, storelen - used, "%s.%s%s", o->service, o->ns, suffix[i - 1]);
		if (k < 0 || (size_t)k >= storelen - used)
			return -ENAMETOOLONG;
		names[(*n)++] = store + used;
		used += (size_t)k + 1;
	}
	if (o->url) {
		const char *h = o->url, *end;
		size_t hl;

		if (strncmp(h, "https://", 8) != 0)
			return -EINVAL;
		h += 8;
		if (*h == '[') {
			h++;
			end = strchr(h, ']');
		} else {
			end = h + strcspn(h, ":/?#");
		}
		if (!end || end == h || (hl = (size_t)(end - h)) >= storelen - used)
			return -EINVAL;
		memcpy(store + used, h, hl);
		store[used + hl] = '\0';
		names[(*n)++] = store + used;
	}
	return 0;
}

json_t *whm_config(const struct whm_opts *o, const char *bundle)
{
	json_t *cc, *hook, *cfg, *sel;
	char *b64 = NULL;

	if (o->url)
		cc = json_pack("{s:s}", "url", o->url);
	else
		cc = json_pack("{s:{s:s, s:s, s:s, s:i}}", "service", "namespace", o->ns, "name", o->service, "path", WH_PATH,
			       "port", 443);
	if (cc && bundle && (cu_b64_encode(bundle, strlen(bundle), &b64) < 0 ||
			     json_object_set_new(cc, "caBundle", json_string(b64)) < 0)) {
		json_decref(cc);
		cc = NULL;
	}
	free(b64);
	/* Only labelled pods reach the webhook; "false" opts out explicitly. */
	sel = json_pack("{s:[{s:s, s:s}, {s:s, s:s, s:[s]}]}", "matchExpressions", "key", RENDER_INJECT_LABEL, "operator",
			"Exists", "key", RENDER_INJECT_LABEL, "operator", "NotIn", "values", "false");
	hook = json_pack("{s:s, s:[s], s:o, s:[{s:[s], s:[s], s:[s], s:[s], s:s}], s:o, s:s, s:s, s:i, s:s, s:s}",
			 "name", WHM_WEBHOOK_NAME, "admissionReviewVersions", "v1", "clientConfig", cc,
			 "rules", "operations", "CREATE", "apiGroups", "", "apiVersions", "v1", "resources", "pods",
			 "scope", "Namespaced", "objectSelector", sel, "failurePolicy", "Ignore", "sideEffects", "None",
			 "timeoutSeconds", WHM_TIMEOUT_S, "reinvocationPolicy", "IfNeeded", "matchPolicy", "Equivalent");
	if (hook && o->watch_ns &&
	    json_object_set_new(hook, "namespaceSelector",
				json_pack("{s:{s:s}}", "matchLabels", "kubernetes.io/metadata.name", o->watch_ns)) < 0) {
		json_decref(hook);
		hook = NULL;
	}
	cfg = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:[o]}", "apiVersion", "admissionregistration.k8s.io/v1",
			"kind", "MutatingWebhookConfiguration", "metadata", "name", o->config, "labels", RENDER_LABEL_NAME,
			"vivo", RENDER_LABEL_MANAGED_BY, RENDER_MANAGER, "webhooks", hook);
	return cfg;
}

/* ---- API calls ---------------------------------------------------------------------- */

static long call(struct whm *m, const char *method, const char *path, const char *ctype, const json_t *body,
		 json_t **out, char *msg, size_t msglen)
{
	struct kube_resp r;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status;

	if (body && !text)
		return 0;
	kube_resp_init(&r, WHM_MAX_BODY);
	r.timeout_ms = 10000;
	kube_request(m->k, m->e, method, NULL, path, ctype, text, text ? strlen(text) : 0, &r);
	free(text);
	status = r.status;
	if (out)
		*out = status >= 200 && status < 300 ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
	if (msg)
		kube_resp_message(&r, msg, msglen);
	kube_resp_free(&r);
	return status;
}

static void fetch_version(struct whm *m)
{
	json_t *v = NULL, *hook = NULL;
	int major = 0, minor = 0;
	char msg[256] = "";
	long st = 200;

	if (m->o.server_version) {
		/* Test hook: pretend to be another version (the < 1.29 path on a new server). */
		hook = json_pack("{s:s}", "gitVersion", m->o.server_version);
		v = hook;
	} else if ((st = call(m, "GET", "/version", NULL, NULL, &v, msg, sizeof(msg))) != 200) {
		fail_once(m, "cannot read the API server's /version (%s); retrying", msg);
		return;
	}
	if (!v || inj_parse_version(v, &major, &minor) < 0) {
		fail_once(m, "the API server's /version has no version number");
		json_decref(v);
		return;
	}
	pthread_mutex_lock(&m->mu);
	snprintf(m->version, sizeof(m->version), "%s", kobj_str(v, "gitVersion", ""));
	if (!m->version[0])
		snprintf(m->version, sizeof(m->version), "v%d.%d", major, minor);
	pthread_mutex_unlock(&m->mu);
	atomic_store(&m->native, inj_native_supported(major, minor) ? 1 : 0);
	wh_set_native(m->w, atomic_load(&m->native));
	log_info("webhook: API server %s%s: sidecars are injected as %s", m->version, hook ? " (test hook)" : "",
		 atomic_load(&m->native) ? "native sidecars (initContainers, restartPolicy Always)"
					 : "ordinary containers (native sidecars need Kubernetes >= 1.29)");
	json_decref(v);
	if (m->o.wake_fd >= 0 && write(m->o.wake_fd, "v", 1) < 0)
		log_debug("webhook: cannot wake the main loop");
}

/* ---- the Secret ----------------------------------------------------------------------- */

static void secret_path(const struct whm *m, char *out, size_t n, bool item)
{
	snprintf(out, n, "/api/v1/namespaces/%s/secrets%s%s", m->o.ns, item ? "/" : "", item ? m->o.secret : "");
}

static int decode_secret(const json_t *sec, struct tls_state *s)
{
	const json_t *data = json_object_get(sec, "data"), *ann = kobj_get(sec, "metadata.annotations");
	const char *since = json_string_value(json_object_get(ann, WHM_SINCE_ANNOTATION));
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < F_COUNT; i++) {
		const char *b64 = json_string_value(json_object_get(data, fkeys[i]));
		size_t n;

		if (b64 && cu_b64_decode(b64, strlen(b64), &s->f[i], &n) < 0)
			return -EINVAL;
		if (s->f[i] && (strlen(s->f[i]) != n || n > CERT_MAX_PEM))
			return -EINVAL;
	}
	cu_strlcpy(s->stage, json_string_value(json_object_get(ann, WHM_STAGE_ANNOTATION)) ?
				     json_string_value(json_object_get(ann, WHM_STAGE_ANNOTATION)) : "", sizeof(s->stage));
	s->since = 0;
	if (since) {
		int64_t us;

		if (cu_parse_rfc3339(since, &us) == 0)
			s->since = us / 1000000;
	}
	cu_strlcpy(s->rv, kobj_str(sec, "metadata.resourceVersion", ""), sizeof(s->rv));
	return 0;
}

static json_t *encode_secret(const struct whm *m, const struct tls_state *s)
{
	json_t *sec, *data = json_object(), *ann;
	char since[40];
	int i;

	if (!data)
		return NULL;
	for (i = 0; i < F_COUNT; i++) {
		char *b64;

		if (!s->f[i])
			continue;
		if (cu_b64_encode(s->f[i], strlen(s->f[i]), &b64) < 0 || json_object_set_new(data, fkeys[i], json_string(b64)) < 0) {
			free(b64);
			json_decref(data);
			return NULL;
		}
		free(b64);
	}
	cu_rfc3339_micro(s->since * 1000000, since, sizeof(since));
	ann = s->stage[0] ? json_pack("{s:s, s:s}", WHM_STAGE_ANNOTATION, s->stage, WHM_SINCE_ANNOTATION, since)
			  : json_object();
	sec = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:o}, s:o}", "apiVersion", "v1", "kind", "Secret",
			"type", "kubernetes.io/tls", "metadata", "name", m->o.secret, "namespace", m->o.ns, "labels",
			RENDER_LABEL_NAME, "vivo", RENDER_LABEL_MANAGED_BY, RENDER_MANAGER, "annotations", ann, "data", data);
	if (sec && s->rv[0])
		json_object_set_new(json_object_get(sec, "metadata"), "resourceVersion", json_string(s->rv));
	return sec;
}

/* A fresh CA and serving certificate into ca/tls fields (next_* when `next`). */
static int generate(struct whm *m, int64_t now, struct tls_state *s, bool next)
{
	struct cert_pair ca, srv;
	char err[256];
	int rc;

	if ((rc = cert_new_ca("vivo-controller-webhook-ca", now, m->o.lifetime_s, &ca, err, sizeof(err))) < 0) {
		fail_once(m, "cannot make a CA: %s", err);
		return rc;
	}
	if ((rc = cert_new_serving(&ca, m->names, m->nnames, now, m->o.lifetime_s, &srv, err, sizeof(err))) < 0) {
		fail_once(m, "cannot make a serving certificate: %s", err);
		cert_pair_free(&ca);
		return rc;
	}
	st_set(s, next ? F_NEXT_CA : F_CA, ca.cert);
	st_set(s, next ? F_NEXT_CA_KEY : F_CA_KEY, ca.key);
	st_set(s, next ? F_NEXT_TLS : F_TLS, srv.cert);
	st_set(s, next ? F_NEXT_TLS_KEY : F_TLS_KEY, srv.key);
	return 0;
}

/* Everything new in one step (nothing valid to overlap with). */
static int regenerate(struct whm *m, int64_t now, struct tls_state *s)
{
	int i, rc;

	for (i = 0; i < F_COUNT; i++)
		st_set(s, i, NULL);
	s->stage[0] = '\0';
	s->since = now;
	if ((rc = generate(m, now, s, false)) < 0)
		return rc;
	if (!(s->f[F_BUNDLE] = strdup(s->f[F_CA])))
		return -ENOMEM;
	return 0;
}

/* Is the served pair usable now: the key matches, it verifies against the bundle, the CA
 * pair matches, and it names what it must. */
static bool usable(const struct whm *m, const struct tls_state *s, int64_t now, char *why, size_t n)
{
	char err[256];

	if (!s->f[F_TLS] || !s->f[F_TLS_KEY] || !s->f[F_CA] || !s->f[F_CA_KEY] || !s->f[F_BUNDLE]) {
		snprintf(why, n, "fields are missing");
		return false;
	}
	if (cert_check(s->f[F_TLS], s->f[F_TLS_KEY], s->f[F_BUNDLE], true, now, err, sizeof(err)) < 0 ||
	    cert_check(s->f[F_CA], s->f[F_CA_KEY], s->f[F_CA], false, now, err, sizeof(err)) < 0) {
		snprintf(why, n, "%s", err);
		return false;
	}
	(void)m;
	return true;
}

static int64_t not_after(const char *pem)
{
	int64_t nb = 0, na = 0;

	return pem && cert_validity(pem, &nb, &na) == 0 ? na : 0;
}

/* One rotation step, by the replica that may write. true when `s` changed. */
static bool renew(struct whm *m, int64_t now, struct tls_state *s)
{
	char why[256], *b = NULL;
	int64_t left;

	if (!usable(m, s, now, why, sizeof(why))) {
		log_warn("webhook: the certificates in Secret %s/%s are not usable (%s): making new ones", m->o.ns,
			 m->o.secret, why);
		cmet_add(CMET_WEBHOOK_CERTS, "regenerated", NULL, 1);
		return regenerate(m, now, s) == 0;
	}
	if (strcmp(s->stage, "prepared") == 0) {
		if (now - s->since < m->grace_s)
			return false;
		if (!s->f[F_NEXT_TLS] || !s->f[F_NEXT_TLS_KEY] || !s->f[F_NEXT_CA] || !s->f[F_NEXT_CA_KEY])
			return regenerate(m, now, s) == 0;
		/* Stage 2: every replica serves the new certificate; both CAs stay trusted. */
		st_set(s, F_CA, s->f[F_NEXT_CA]);
		st_set(s, F_CA_KEY, s->f[F_NEXT_CA_KEY]);
		st_set(s, F_TLS, s->f[F_NEXT_TLS]);
		st_set(s, F_TLS_KEY, s->f[F_NEXT_TLS_KEY]);
		s->f[F_NEXT_CA] = s->f[F_NEXT_CA_KEY] = s->f[F_NEXT_TLS] = s->f[F_NEXT_TLS_KEY] = NULL;
		cu_strlcpy(s->stage, "switched", sizeof(s->stage));
		s->since = now;
		log_info("webhook: certificate rotation, stage 2 of 3: serving the new certificate");
		cmet_add(CMET_WEBHOOK_CERTS, "rotation_switched", NULL, 1);
		return true;
	}
	if (strcmp(s->stage, "switched") == 0) {
		if (now - s->since < m->grace_s || cert_bundle_merge(s->f[F_CA], NULL, now, &b) < 0)
			return false;
		/* Stage 3: no replica serves a certificate of the old CA any more. */
		st_set(s, F_BUNDLE, b);
		s->stage[0] = '\0';
		s->since = now;
		log_info("webhook: certificate rotation, stage 3 of 3: the old CA left caBundle");
		cmet_add(CMET_WEBHOOK_CERTS, "rotation_done", NULL, 1);
		return true;
	}
	left = not_after(s->f[F_TLS]) < not_after(s->f[F_CA]) ? not_after(s->f[F_TLS]) : not_after(s->f[F_CA]);
	if (left - now < m->o.lifetime_s / 3) {
		/* Stage 1: a new CA (and a certificate it signed, not served yet) joins caBundle. */
		if (generate(m, now, s, true) < 0 || cert_bundle_merge(s->f[F_BUNDLE], s->f[F_NEXT_CA], now, &b) < 0)
			return false;
		st_set(s, F_BUNDLE, b);
		cu_strlcpy(s->stage, "prepared", sizeof(s->stage));
		s->since = now;
		log_info("webhook: certificate rotation, stage 1 of 3: %lld s left; a new CA joins caBundle",
			 (long long)(left - now));
		cmet_add(CMET_WEBHOOK_CERTS, "rotation_prepared", NULL, 1);
		return true;
	}
	if (!cert_covers_names(s->f[F_TLS], m->names, m->nnames)) {
		struct cert_pair ca = { s->f[F_CA], s->f[F_CA_KEY] }, srv;
		char err[256];

		/* A new name (another --webhook-url host): same CA, so caBundle stays. */
		if (cert_new_serving(&ca, m->names, m->nnames, now, m->o.lifetime_s, &srv, err, sizeof(err)) < 0) {
			fail_once(m, "cannot make a serving certificate: %s", err);
			return false;
		}
		st_set(s, F_TLS, srv.cert);
		st_set(s, F_TLS_KEY, srv.key);
		log_info("webhook: the serving certificate lacked a name: reissued by the same CA");
		cmet_add(CMET_WEBHOOK_CERTS, "reissued", NULL, 1);
		return true;
	}
	return false;
}

/* Serve `cert`/`key` if they are not what is served already. */
static void serve(struct whm *m, const char *cert, const char *key, const char *source)
{
	char err[256], fp[80] = "?";
	int64_t nb = 0, na = 0;

	if (!cert || !key || (m->served && strcmp(m->served, cert) == 0))
		return;
	if (wh_set_cert(m->w, cert, key, err, sizeof(err)) < 0) {
		fail_once(m, "cannot serve the certificate from %s: %s", source, err);
		return;
	}
	free(m->served);
	m->served = strdup(cert);
	cert_fingerprint(cert, fp, sizeof(fp));
	cert_validity(cert, &nb, &na);
	cmet_add(CMET_WEBHOOK_CERTS, "loaded", NULL, 1);
	cmet_set(CMET_WEBHOOK_CERT_EXPIRY, NULL, NULL, (double)na);
	log_info("webhook: serving certificate %s from %s (valid for %lld s more)", fp, source, (long long)(na - wall_s()));
	m->have_certs = true;
}

static void set_bundle(struct whm *m, const char *bundle)
{
	free(m->bundle);
	m->bundle = bundle ? strdup(bundle) : NULL;
}

/* The Secret as stored, created first when absent (the first replica's wins; the others
 * get 409 and read it). The object (caller json_decref()s), or NULL with the reason logged. */
static json_t *secret_fetch(struct whm *m, int64_t now)
{
	char path[512], msg[256] = "";
	struct tls_state s;
	json_t *sec = NULL, *body;
	long st = 0;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		secret_path(m, path, sizeof(path), true);
		if ((st = call(m, "GET", path, NULL, NULL, &sec, msg, sizeof(msg))) != 404)
			break;
		memset(&s, 0, sizeof(s));
		body = regenerate(m, now, &s) == 0 ? encode_secret(m, &s) : NULL;
		st_free(&s);
		if (!body)
			return NULL;
		secret_path(m, path, sizeof(path), false);
		st = call(m, "POST", path, "application/json", body, &sec, msg, sizeof(msg));
		json_decref(body);
		if (st == 201) {
			log_info("webhook: created Secret %s/%s with a new CA and serving certificate", m->o.ns, m->o.secret);
			cmet_add(CMET_WEBHOOK_CERTS, "created", NULL, 1);
			return sec;
		}
		json_decref(sec);
		sec = NULL;
		if (st != 409) {
			fail_once(m, "cannot create Secret %s/%s: %s", m->o.ns, m->o.secret, msg);
			return NULL;
		}
	}
	if (st != 200 || !sec) {
		fail_once(m, "cannot read Secret %s/%s: %s", m->o.ns, m->o.secret, msg);
		json_decref(sec);
		return NULL;
	}
	return sec;
}

/* Write `s` over the stored Secret (its resourceVersion: a 409 means someone else did). */
static int secret_put(struct whm *m, struct tls_state *s)
{
	char path[512], msg[256] = "";
	json_t *body = encode_secret(m, s), *sec = NULL;
	long st;

	if (!body)
		return -ENOMEM;
	secret_path(m, path, sizeof(path), true);
	st = call(m, "PUT", path, "application/json", body, &sec, msg, sizeof(msg));
	json_decref(body);
	if (st == 200 && sec)
		cu_strlcpy(s->rv, kobj_str(sec, "metadata.resourceVersion", ""), sizeof(s->rv));
	else
		fail_once(m, "cannot update Secret %s/%s: %s (retrying)", m->o.ns, m->o.secret, msg);
	json_decref(sec);
	return st == 200 ? 0 : -EAGAIN;
}

/* Read (or create) the Secret, rotate if this replica may, serve what it holds. */
static void secret_tick(struct whm *m, bool writer)
{
	char src[600];
	struct tls_state s;
	int64_t now = wall_s();
	json_t *sec = secret_fetch(m, now);

	if (!sec)
		return;
	if (decode_secret(sec, &s) < 0) {
		st_free(&s);
		if (!writer) {
			fail_once(m, "Secret %s/%s does not decode; waiting for the leader to replace it", m->o.ns, m->o.secret);
			json_decref(sec);
			return;
		}
		/* renew() replaces what does not decode; the PUT needs the stored version. */
		cu_strlcpy(s.rv, kobj_str(sec, "metadata.resourceVersion", ""), sizeof(s.rv));
	}
	json_decref(sec);
	if (writer && renew(m, now, &s) && secret_put(m, &s) < 0) {
		st_free(&s);
		return; /* serve what was served; read again next time */
	}
	snprintf(src, sizeof(src), "Secret %s/%s", m->o.ns, m->o.secret);
	serve(m, s.f[F_TLS], s.f[F_TLS_KEY], src);
	set_bundle(m, s.f[F_BUNDLE]);
	st_free(&m->st);
	m->st = s;
	m->last_err[0] = '\0';
}

/* --webhook-cert-dir: re-read tls.crt/tls.key (and ca.crt) when any of them changed. True
 * when they were re-read (the configuration's caBundle may have to follow). */
static bool dir_tick(struct whm *m)
{
	static const char *const files[3] = { "tls.crt", "tls.key", "ca.crt" };
	char path[3][1024], *text[3] = { NULL, NULL, NULL };
	struct stat sig[3];
	bool changed = false;
	size_t len;
	int i, rc;

	for (i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", m->o.cert_dir, files[i]);
		if (stat(path[i], &sig[i]) < 0)
			memset(&sig[i], 0, sizeof(sig[i]));
		if (sig[i].st_ino != m->dir_sig[i].st_ino || sig[i].st_size != m->dir_sig[i].st_size ||
		    sig[i].st_mtim.tv_sec != m->dir_sig[i].st_mtim.tv_sec ||
		    sig[i].st_mtim.tv_nsec != m->dir_sig[i].st_mtim.tv_nsec)
			changed = true;
	}
	if (!changed)
		return false;
	for (i = 0; i < 3; i++) {
		if ((rc = cu_read_file(path[i], CERT_MAX_PEM, &text[i], &len)) < 0 && i < 2) {
			fail_once(m, "cannot read %s: %s", path[i], strerror(-rc));
			goto out;
		}
	}
	memcpy(m->dir_sig, sig, sizeof(sig));
	serve(m, text[0], text[1], m->o.cert_dir);
	set_bundle(m, text[2]);
out:
	for (i = 0; i < 3; i++)
		free(text[i]);
	return changed && text[0] && text[1];
}

/* The leader keeps the configuration as rendered (caBundle included). */
static void config_tick(struct whm *m)
{
	char path[512], msg[256] = "";
	json_t *want = whm_config(&m->o, m->bundle), *live = NULL;
	long st;

	if (!want)
		return;
	snprintf(path, sizeof(path), "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/%s", m->o.config);
	st = call(m, "GET", path, NULL, NULL, &live, msg, sizeof(msg));
	if (st == 200 && kobj_covers(json_object_get(want, "webhooks"), json_object_get(live, "webhooks")) &&
	    kobj_covers(json_object_get(want, "metadata"), json_object_get(live, "metadata")))
		goto out;
	if (st != 200 && st != 404) {
		fail_once(m, "cannot read MutatingWebhookConfiguration %s: %s", m->o.config, msg);
		goto out;
	}
	if (st == 404 && !m->o.url) {
		/* Behind a Service, the installer (chart, manifests) owns the object's existence:
		 * re-creating it would undo an uninstall that is still stopping this controller. */
		fail_once(m, "MutatingWebhookConfiguration %s does not exist: it comes with the chart or "
			  "manifests/webhook.yaml (only --webhook-url makes it)", m->o.config);
		goto out;
	}
	snprintf(path, sizeof(path), "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/%s"
		 "?fieldManager=" RENDER_MANAGER "&force=true", m->o.config);
	st = call(m, "PATCH", path, "application/apply-patch+yaml", want, NULL, msg, sizeof(msg));
	cmet_add(CMET_API_WRITES, "mutatingwebhookconfigurations", "apply", 1);
	if (st == 200 || st == 201) {
		cmet_add(CMET_WEBHOOK_CONFIG_APPLIES, NULL, NULL, 1);
		log_info("webhook: applied MutatingWebhookConfiguration %s (%s, caBundle %s)", m->o.config,
			 m->o.url ? m->o.url : "the Service",
			 m->bundle ? (cert_count(m->bundle) > 1 ? "with two CAs" : "with one CA") : "left to its owner");
	} else {
		fail_once(m, "cannot apply MutatingWebhookConfiguration %s: %s", m->o.config, msg);
	}
out:
	json_decref(live);
	json_decref(want);
}

static void *run(void *arg)
{
	struct whm *m = arg;
	struct timespec ts;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		int64_t now = cu_now_ms();
		bool writer;

		pthread_mutex_unlock(&m->mu);
		writer = !m->o.may_write || m->o.may_write(m->o.may_write_ctx);
		if (atomic_load(&m->native) < 0)
			fetch_version(m);
		if (m->o.cert_dir && dir_tick(m))
			m->next_api_ms = now; /* caBundle follows the files at once */
		if (now >= m->next_api_ms) {
			if (!m->o.cert_dir)
				secret_tick(m, writer);
			if (writer && m->have_certs)
				config_tick(m);
			m->next_api_ms = now + m->o.poll_ms;
		}
		pthread_mutex_lock(&m->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1; /* cert-dir stats, version retries, and the poll deadline */
		while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int whm_start(struct kube *k, struct webhook *w, const struct whm_opts *o, struct whm **out)
{
	struct whm *m = calloc(1, sizeof(*m));
	const char **strs[] = { &m->o.ns, &m->o.secret, &m->o.service, &m->o.config, &m->o.url, &m->o.cert_dir,
				&m->o.watch_ns, &m->o.server_version };
	pthread_condattr_t ca;
	size_t i;

	if (!m)
		return -ENOMEM;
	m->k = k;
	m->w = w;
	m->o = *o;
	atomic_init(&m->native, -1);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (*strs[i] && !(m->own[i] = strdup(*strs[i]))) {
			whm_stop(m);
			return -ENOMEM;
		}
		*strs[i] = m->own[i];
	}
	if (m->o.lifetime_s <= 0)
		m->o.lifetime_s = WHM_DEFAULT_LIFETIME_S;
	if (m->o.poll_ms <= 0)
		m->o.poll_ms = WHM_DEFAULT_POLL_MS;
	/* A stage waits until every replica has read the Secret (a poll) and the API server has
	 * seen the new caBundle. */
	m->grace_s = 3 * ((m->o.poll_ms + 999) / 1000) + 2;
	if (whm_names(&m->o, m->names, &m->nnames, m->names_store, sizeof(m->names_store)) < 0) {
		log_error("webhook: --webhook-url '%s' is not https://HOST[:PORT]/PATH", o->url ? o->url : "");
		whm_stop(m);
		return -EINVAL;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	m->started = true;
	if (!(m->e = curl_easy_init()) || pthread_create(&m->th, NULL, run, m) != 0) {
		m->started = false;
		whm_stop(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void whm_stop(struct whm *m)
{
	size_t i;

	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		if (m->e)
			pthread_join(m->th, NULL);
	}
	if (m->e)
		curl_easy_cleanup(m->e);
	st_free(&m->st);
	free(m->served);
	free(m->bundle);
	for (i = 0; i < sizeof(m->own) / sizeof(m->own[0]); i++)
		free(m->own[i]);
	free(m);
}

int whm_native(const struct whm *m)
{
	return m ? atomic_load(&((struct whm *)m)->native) : -1;
}

void whm_server_version(struct whm *m, char *out, size_t n)
{
	pthread_mutex_lock(&m->mu);
	snprintf(out, n, "%s", m->version);
	pthread_mutex_unlock(&m->mu);
}
