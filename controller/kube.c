/* kube.c: libcurl requests to the API server with kubeconfig TLS material, bearer tokens re-read from files, and metrics. */
#include "kube.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ctlutil.h"
#include "log.h"

#define KUBE_MAX_TOKEN (64 * 1024)

struct kube {
	struct kube_auth a;
	pthread_mutex_t mu;      /* guards the token fields */
	char *token;             /* current bearer token (static or from the file), or NULL */
	int64_t token_read_ms;
	unsigned token_gen;      /* bumped whenever the token changes */
	bool token_stale;
	kube_observer obs;
	void *obs_ctx;
};

static int token_reload_locked(struct kube *k)
{
	char *t = NULL;
	size_t n = 0;
	int rc;

	if (!k->a.token_file)
		return 0;
	k->token_read_ms = cu_now_ms();
	k->token_stale = false;
	if ((rc = cu_read_file(k->a.token_file, KUBE_MAX_TOKEN, &t, &n)) < 0) {
		log_warn("cannot read token file %s: %s (keeping the previous token)", k->a.token_file,
			 rc == -EFBIG ? "too large" : strerror(-rc));
		return rc;
	}
	while (n && isspace((unsigned char)t[n - 1]))
		t[--n] = '\0';
	if (!k->token || strcmp(k->token, t) != 0) {
		if (k->token)
			log_info("bearer token re-read from %s (changed)", k->a.token_file);
		free(k->token);
		k->token = t;
		k->token_gen++;
	} else {
		free(t);
	}
	return 0;
}

int kube_new(struct kube_auth *auth, struct kube **out, char *err, size_t errlen)
{
	struct kube *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->a = *auth;
	memset(auth, 0, sizeof(*auth));
	pthread_mutex_init(&k->mu, NULL);
	if (k->a.token && !k->a.token_file && !(k->token = strdup(k->a.token))) {
		kube_free(k);
		return -ENOMEM;
	}
	if (k->a.token_file && token_reload_locked(k) < 0 && !k->token) {
		snprintf(err, errlen, "cannot read the token file %s", k->a.token_file);
		kube_free(k);
		return -EINVAL;
	}
	if (k->a.tls_server_name)
		log_warn("tls-server-name %s is not supported; verifying the server's own name", k->a.tls_server_name);
	*out = k;
	return 0;
}

void kube_free(struct kube *k)
{
	if (!k)
		return;
	kcfg_free(&k->a);
	free(k->token);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

void kube_set_observer(struct kube *k, kube_observer fn, void *ctx)
{
	k->obs = fn;
	k->obs_ctx = ctx;
}

const char *kube_server(const struct kube *k)
{
	return k->a.server;
}

const char *kube_namespace(const struct kube *k)
{
	return k->a.namespace;
}

const char *kube_source(const struct kube *k)
{
	return k->a.source ? k->a.source : "?";
}

void kube_token_invalidate(struct kube *k)
{
	pthread_mutex_lock(&k->mu);
	k->token_stale = true;
	pthread_mutex_unlock(&k->mu);
}

void kube_observe(struct kube *k, const char *verb, long code, double seconds)
{
	if (k->obs)
		k->obs(k->obs_ctx, verb, code, seconds);
}

/* The Authorization header for the current token (re-read when due), or an empty string;
 * *gen gets the token's generation. */
static void auth_header(struct kube *k, char *out, size_t n, unsigned *gen)
{
	pthread_mutex_lock(&k->mu);
	if (k->a.token_file && (k->token_stale || cu_now_ms() - k->token_read_ms >= KUBE_TOKEN_REREAD_MS))
		token_reload_locked(k);
	out[0] = '\0';
	if (k->token && strlen(k->token) + 32 < n)
		snprintf(out, n, "Authorization: Bearer %s", k->token);
	*gen = k->token_gen;
	pthread_mutex_unlock(&k->mu);
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct kube_resp *r = ctx;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t i = 12, k = 0;
		long v = 0;

		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < n && k + 1 < sizeof(tmp) && isdigit((unsigned char)p[i]))
			tmp[k++] = p[i++];
		tmp[k] = '\0';
		if (k && k < 7) {
			for (i = 0; i < k; i++)
				v = v * 10 + (tmp[i] - '0');
			r->retry_after = v;
		}
	}
	return n;
}

static size_t body_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct kube_resp *r = ctx;
	size_t n = size * nmemb;

	if (buf_append(&r->body, p, n) < 0)
		return 0; /* over the limit: abort the transfer */
	return n;
}

void kube_resp_init(struct kube_resp *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, max_body);
	r->retry_after = -1;
}

void kube_resp_free(struct kube_resp *r)
{
	if (!r)
		return;
	buf_free(&r->body);
}

const char *kube_resp_message(const struct kube_resp *r, char *out, size_t n)
{
	json_t *st;

	if (!r->status) {
		snprintf(out, n, "%s", r->err[0] ? r->err : "request failed");
		return out;
	}
	st = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
	if (json_is_string(json_object_get(st, "message")))
		snprintf(out, n, "%ld %s", r->status, json_string_value(json_object_get(st, "message")));
	else
		snprintf(out, n, "HTTP %ld", r->status);
	json_decref(st);
	return out;
}

/* Options every request shares. */
static int setup_common(struct kube *k, CURL *e, const char *path, struct curl_slist **hdrs, char *errbuf,
			unsigned *gen)
{
	char url[8192];
	char *auth;
	struct curl_slist *h = NULL, *t;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", k->a.server, path) >= sizeof(url))
		return -ENAMETOOLONG;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)KUBE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, KUBE_USER_AGENT);
	if (errbuf)
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	if (k->a.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->a.ca_pem) {
		struct curl_blob ca = { k->a.ca_pem, k->a.ca_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (k->a.cert_pem && k->a.key_pem) {
		struct curl_blob cert = { k->a.cert_pem, k->a.cert_len, CURL_BLOB_NOCOPY };
		struct curl_blob key = { k->a.key_pem, k->a.key_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (!(auth = malloc(KUBE_MAX_TOKEN + 64)))
		return -ENOMEM;
	auth_header(k, auth, KUBE_MAX_TOKEN + 64, gen);
	if (!(t = curl_slist_append(h, "Accept: application/json")))
		goto nomem;
	h = t;
	if (!(t = curl_slist_append(h, "Expect:")))
		goto nomem;
	h = t;
	if (auth[0]) {
		if (!(t = curl_slist_append(h, auth)))
			goto nomem;
		h = t;
	}
	free(auth);
	*hdrs = h;
	return 0;
nomem:
	free(auth);
	curl_slist_free_all(h);
	return -ENOMEM;
}

int kube_request(struct kube *k, CURL *e, const char *method, const char *verb, const char *path,
		 const char *ctype, const char *body, size_t len, struct kube_resp *r)
{
	char errbuf[CURL_ERROR_SIZE], ct[128];
	unsigned gen = 0, gen_after;
	struct curl_slist *hdrs = NULL, *t;
	int attempt, rc = 0;
	double t0;
	CURLcode cc;

	for (attempt = 0; attempt < 2; attempt++) {
		buf_reset(&r->body);
		r->status = 0;
		r->retry_after = -1;
		r->err[0] = '\0';
		errbuf[0] = '\0';
		curl_easy_reset(e);
		if ((rc = setup_common(k, e, path, &hdrs, errbuf, &gen)) < 0) {
			snprintf(r->err, sizeof(r->err), "cannot build the request: %s", strerror(-rc));
			return -EIO;
		}
		if (ctype) {
			snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
			if (!(t = curl_slist_append(hdrs, ct))) {
				curl_slist_free_all(hdrs);
				return -ENOMEM;
			}
			hdrs = t;
		}
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : (long)KUBE_REQUEST_TIMEOUT_MS);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
		if (strcmp(method, "GET") == 0) {
			curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		} else {
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
			if (body) {
				curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
				curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
			}
		}
		t0 = cu_now_s();
		cc = curl_easy_perform(e);
		curl_slist_free_all(hdrs);
		hdrs = NULL;
		if (cc == CURLE_OK) {
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
		} else {
			long code = 0;

			/* A body over the limit still had a status. */
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			snprintf(r->err, sizeof(r->err), "%s %s: %s", method, path, errbuf[0] ? errbuf : curl_easy_strerror(cc));
			if (cc == CURLE_WRITE_ERROR && code)
				snprintf(r->err, sizeof(r->err), "%s %s: response larger than %zu bytes", method, path, r->body.max);
		}
		kube_observe(k, verb ? verb : method, r->status, cu_now_s() - t0);
		if (r->status != 401 || !k->a.token_file || attempt == 1)
			break;
		/* 401: the token may have rotated under us. Retry once if the file has news. */
		pthread_mutex_lock(&k->mu);
		token_reload_locked(k);
		gen_after = k->token_gen;
		pthread_mutex_unlock(&k->mu);
		if (gen_after == gen)
			break;
		log_info("%s %s: 401 Unauthorized; retrying with the re-read token", method, path);
	}
	return r->status ? 0 : -EIO;
}

int kube_setup_stream(struct kube *k, CURL *e, const char *path, long timeout_ms,
		      curl_write_callback write_cb, void *write_ctx, char *errbuf, struct curl_slist **hdrs)
{
	unsigned gen;
	int rc;

	curl_easy_reset(e);
	if ((rc = setup_common(k, e, path, hdrs, errbuf, &gen)) < 0)
		return rc;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, write_ctx);
	return 0;
}

int kube_query_escape(struct buf *b, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			rc = buf_putc(b, (char)c);
		else
			rc = buf_printf(b, "%%%02X", c);
	}
	return rc;
}
