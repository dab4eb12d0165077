/* kubeconfig.c: kubeconfig parsing, merging and context selection; in-cluster service-account configuration. */
#include "kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "codec.h"
#include "ctlutil.h"
#include "yamljson.h"

void kcfg_free(struct kube_auth *a)
{
	if (!a)
		return;
	free(a->server);
	free(a->ca_pem);
	free(a->ca_file);
	free(a->cert_pem);
	free(a->key_pem);
	free(a->cert_file);
	free(a->key_file);
	free(a->token);
	free(a->token_file);
	free(a->tls_server_name);
	free(a->namespace);
	free(a->source);
	memset(a, 0, sizeof(*a));
}

/* The entry named `name` of a kubeconfig list (clusters, users, contexts): its inner object. */
static const json_t *named(const json_t *doc, const char *list, const char *inner, const char *name)
{
	const json_t *it;
	size_t i;

	json_array_foreach(json_object_get(doc, list), i, it) {
		const json_t *n = json_object_get(it, "name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
			const json_t *v = json_object_get(it, inner);

			return json_is_object(v) ? v : NULL;
		}
	}
	return NULL;
}

static int dupstr(char **dst, const char *s)
{
	if (!s)
		return 0;
	if (!(*dst = strdup(s)))
		return -ENOMEM;
	return 0;
}

/* A string field; empty strings count as absent. -EINVAL when present but not a string. */
static int field(const json_t *o, const char *key, const char **out, const char *where, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: %s must be a string", where, key);
		return -EINVAL;
	}
	if (json_string_length(v))
		*out = json_string_value(v);
	return 0;
}

static int b64field(const json_t *o, const char *key, char **out, size_t *len, const char *where, char *err, size_t errlen)
{
	const char *s;
	int rc;

	if ((rc = field(o, key, &s, where, err, errlen)) < 0 || !s)
		return rc;
	{
		struct buf b;

		buf_init(&b, strlen(s));
		if ((rc = codec_base64_decode(s, strlen(s), &b)) < 0) {
			buf_free(&b);
			if (rc == -EINVAL)
				snprintf(err, errlen, "%s: %s is not base64", where, key);
			return rc;
		}
		if (!(*out = buf_steal(&b, len)))
			return -ENOMEM;
	}
	if (*len == 0) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

int kcfg_select(const json_t *doc, const char *context, struct kube_auth *out, char *err, size_t errlen)
{
	const json_t *ctx, *cluster, *user, *ins;
	const char *cname, *uname, *ns, *server, *s;
	char where[320];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "a kubeconfig is a mapping (apiVersion, clusters, users, contexts)");
		return -EINVAL;
	}
	if (!context || !*context) {
		if ((rc = field(doc, "current-context", &context, "kubeconfig", err, errlen)) < 0)
			return rc;
		if (!context) {
			snprintf(err, errlen, "kubeconfig has no current-context");
			return -EINVAL;
		}
	}
	if (!(ctx = named(doc, "contexts", "context", context))) {
		snprintf(err, errlen, "context '%.200s' not found in the kubeconfig", context);
		return -EINVAL;
	}
	snprintf(where, sizeof(where), "context %.200s", context);
	if ((rc = field(ctx, "cluster", &cname, where, err, errlen)) < 0 ||
	    (rc = field(ctx, "user", &uname, where, err, errlen)) < 0 ||
	    (rc = field(ctx, "namespace", &ns, where, err, errlen)) < 0)
		return rc;
	if (!cname || !(cluster = named(doc, "clusters", "cluster", cname))) {
		snprintf(err, errlen, "context '%.200s': cluster '%.200s' not found", context, cname ? cname : "");
		return -EINVAL;
	}
	user = uname ? named(doc, "users", "user", uname) : NULL;
	if (uname && !user) {
		snprintf(err, errlen, "context '%.200s': user '%.200s' not found", context, uname);
		return -EINVAL;
	}

	snprintf(where, sizeof(where), "cluster %.200s", cname);
	if ((rc = field(cluster, "server", &server, where, err, errlen)) < 0)
		return rc;
	if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)) {
		snprintf(err, errlen, "%s: server must be an http(s):// URL", where);
		return -EINVAL;
	}
	if ((rc = dupstr(&out->server, server)) < 0)
		return rc;
	while (strlen(out->server) > 8 && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = '\0';
	if ((rc = b64field(cluster, "certificate-authority-data", &out->ca_pem, &out->ca_len, where, err, errlen)) < 0 ||
	    (rc = field(cluster, "certificate-authority", &s, where, err, errlen)) < 0 ||
	    (!out->ca_pem && (rc = dupstr(&out->ca_file, s)) < 0) ||
	    (rc = field(cluster, "tls-server-name", &s, where, err, errlen)) < 0 ||
	    (rc = dupstr(&out->tls_server_name, s)) < 0)
		return rc;
	ins = json_object_get(cluster, "insecure-skip-tls-verify");
	if (ins && !json_is_null(ins)) {
		if (json_is_boolean(ins))
			out->insecure = json_is_true(ins);
		else if (json_is_string(ins) && (strcasecmp(json_string_value(ins), "true") == 0 ||
						 strcasecmp(json_string_value(ins), "false") == 0))
			out->insecure = strcasecmp(json_string_value(ins), "true") == 0;
		else {
			snprintf(err, errlen, "%s: insecure-skip-tls-verify must be true or false", where);
			return -EINVAL;
		}
	}

	if (user) {
		snprintf(where, sizeof(where), "user %.200s", uname);
		if (json_object_get(user, "exec") || json_object_get(user, "auth-provider")) {
			snprintf(err, errlen, "%s: exec and auth-provider credentials are not supported "
				 "(use a token, tokenFile or client certificate)", where);
			return -EINVAL;
		}
		if ((rc = b64field(user, "client-certificate-data", &out->cert_pem, &out->cert_len, where, err, errlen)) < 0 ||
		    (rc = b64field(user, "client-key-data", &out->key_pem, &out->key_len, where, err, errlen)) < 0 ||
		    (rc = field(user, "client-certificate", &s, where, err, errlen)) < 0 ||
		    (!out->cert_pem && (rc = dupstr(&out->cert_file, s)) < 0) ||
		    (rc = field(user, "client-key", &s, where, err, errlen)) < 0 ||
		    (!out->key_pem && (rc = dupstr(&out->key_file, s)) < 0) ||
		    (rc = field(user, "token", &s, where, err, errlen)) < 0 || (rc = dupstr(&out->token, s)) < 0 ||
		    (rc = field(user, "tokenFile", &s, where, err, errlen)) < 0 || (rc = dupstr(&out->token_file, s)) < 0)
			return rc;
		if (!!(out->cert_pem || out->cert_file) != !!(out->key_pem || out->key_file)) {
			snprintf(err, errlen, "%s: a client certificate needs its key, and a key its certificate", where);
			return -EINVAL;
		}
	}
	if ((rc = dupstr(&out->namespace, ns)) < 0)
		return rc;
	return 0;
}

/* Make the relative path at o[key] absolute under dir. */
static int absolutize(json_t *o, const char *key, const char *dir)
{
	const json_t *v = json_object_get(o, key);
	char path[4096];

	if (!dir || !json_is_string(v) || !json_string_length(v) || json_string_value(v)[0] == '/')
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, json_string_value(v)) >= sizeof(path))
		return -ENAMETOOLONG;
	return json_object_set_new(o, key, json_string(path)) < 0 ? -ENOMEM : 0;
}

static int absolutize_all(json_t *doc, const char *dir)
{
	static const struct {
		const char *list, *inner, *key;
	} paths[] = {
		{ "clusters", "cluster", "certificate-authority" },
		{ "users", "user", "client-certificate" },
		{ "users", "user", "client-key" },
		{ "users", "user", "tokenFile" },
	};
	size_t i, j;
	json_t *it;
	int rc;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_array_foreach(json_object_get(doc, paths[i].list), j, it) {
			json_t *inner = json_object_get(it, paths[i].inner);

			if (json_is_object(inner) && (rc = absolutize(inner, paths[i].key, dir)) < 0)
				return rc;
		}
	}
	return 0;
}

static int parse_doc(const char *text, size_t n, const char *dir, json_t **out, char *err, size_t errlen)
{
	json_t *doc = NULL;
	int rc;

	if ((rc = yj_parse(text, n, &doc, err, errlen)) < 0)
		return rc;
	if (json_is_null(doc)) {
		json_decref(doc);
		doc = json_object(); /* an empty file is an empty config */
		if (!doc)
			return -ENOMEM;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		snprintf(err, errlen, "a kubeconfig is a mapping (apiVersion, clusters, users, contexts)");
		return -EINVAL;
	}
	if ((rc = absolutize_all(doc, dir)) < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int kcfg_parse(const char *text, size_t n, const char *dir, const char *context, struct kube_auth *out,
	       char *err, size_t errlen)
{
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_doc(text, n, dir, &doc, err, errlen)) < 0)
		return rc;
	rc = kcfg_select(doc, context, out, err, errlen);
	json_decref(doc);
	return rc;
}

int kcfg_merge(json_t **merged, const char *text, size_t n, const char *dir, char *err, size_t errlen)
{
	static const char *const lists[] = { "clusters", "users", "contexts" };
	json_t *doc, *m;
	size_t i, j;
	int rc;

	if ((rc = parse_doc(text, n, dir, &doc, err, errlen)) < 0)
		return rc;
	if (!*merged) {
		*merged = doc;
		return 0;
	}
	m = *merged;
	if (!json_is_string(json_object_get(m, "current-context")) && json_is_string(json_object_get(doc, "current-context")))
		json_object_set(m, "current-context", json_object_get(doc, "current-context"));
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *src = json_object_get(doc, lists[i]), *dst = json_object_get(m, lists[i]), *it;

		if (!json_is_array(src))
			continue;
		if (!json_is_array(dst)) {
			json_object_set(m, lists[i], src);
			continue;
		}
		/* Lookups take the first entry of a name, so appending keeps earlier files winning. */
		json_array_foreach(src, j, it)
			json_array_append(dst, it);
	}
	json_decref(doc);
	return 0;
}

static int load_one(char **pem, size_t *len, const char *file, char *err, size_t errlen)
{
	int rc;

	if (*pem || !file)
		return 0;
	if ((rc = cu_read_file(file, KCFG_MAX_FILE, pem, len)) < 0)
		snprintf(err, errlen, "%s: %s", file, rc == -EFBIG ? "file too large" : strerror(-rc));
	return rc;
}

int kcfg_load_files(struct kube_auth *a, char *err, size_t errlen)
{
	int rc;

	if ((rc = load_one(&a->ca_pem, &a->ca_len, a->ca_file, err, errlen)) < 0 ||
	    (rc = load_one(&a->cert_pem, &a->cert_len, a->cert_file, err, errlen)) < 0 ||
	    (rc = load_one(&a->key_pem, &a->key_len, a->key_file, err, errlen)) < 0)
		return rc;
	return 0;
}

int kcfg_in_cluster(const char *sa_dir, struct kube_auth *out, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[4096], url[512];
	char *ns = NULL;
	size_t nlen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sa_dir)
		sa_dir = KCFG_SA_DIR;
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen, "not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)");
		return -ENOENT;
	}
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
		snprintf(err, errlen, "KUBERNETES_SERVICE_PORT '%.20s' is not a port", port);
		return -EINVAL;
	}
	snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	if (!(out->server = strdup(url)) || !(out->token_file = strdup(path)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (!(out->ca_file = strdup(path)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	if (cu_read_file(path, 256, &ns, &nlen) == 0) {
		while (nlen && (ns[nlen - 1] == '\n' || ns[nlen - 1] == ' '))
			ns[--nlen] = '\0';
		out->namespace = ns;
	}
	if (!(out->source = strdup("in-cluster service account")))
		return -ENOMEM;
	if ((rc = kcfg_load_files(out, err, errlen)) < 0)
		return rc;
	return 0;
}

static int dir_of(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return snprintf(dir, n, ".") < 0 ? -EINVAL : 0;
	if ((size_t)(slash - path) >= n)
		return -ENAMETOOLONG;
	if (slash == path)
		return snprintf(dir, n, "/") < 0 ? -EINVAL : 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

static int merge_file(json_t **doc, const char *path, char *err, size_t errlen)
{
	char dir[4096], sub[512];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = cu_read_file(path, KCFG_MAX_FILE, &text, &len)) < 0) {
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc));
		return rc;
	}
	if ((rc = dir_of(path, dir, sizeof(dir))) == 0)
		rc = kcfg_merge(doc, text, len, dir, sub, sizeof(sub));
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(text);
	return rc;
}

static int finish(json_t *doc, const char *context, const char *source, struct kube_auth *out, char *err, size_t errlen)
{
	char sub[512];
	int rc;

	rc = kcfg_select(doc, context, out, sub, sizeof(sub));
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: %s", source, sub);
	if (rc == 0 && !(out->source = strdup(source)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = kcfg_load_files(out, err, errlen);
	return rc;
}

int kcfg_resolve(const char *flag, const char *context, struct kube_auth *out, char *err, size_t errlen)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char path[4096], source[4200];
	json_t *doc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (flag && *flag) {
		if ((rc = merge_file(&doc, flag, err, errlen)) == 0)
			rc = finish(doc, context, flag, out, err, errlen);
		json_decref(doc);
		return rc;
	}
	if (env && *env) {
		const char *p = env;
		bool any = false;

		while (*p) {
			size_t n = strcspn(p, ":");

			if (n && n < sizeof(path)) {
				memcpy(path, p, n);
				path[n] = '\0';
				rc = merge_file(&doc, path, err, errlen);
				if (rc == 0)
					any = true;
				else if (rc != -ENOENT) /* kubectl skips missing files */
					goto out;
			}
			p += n + (p[n] == ':');
		}
		if (any) {
			snprintf(source, sizeof(source), "$KUBECONFIG (%s)", env);
			rc = finish(doc, context, source, out, err, errlen);
			goto out;
		}
	}
	rc = kcfg_in_cluster(getenv("VIVO_SERVICEACCOUNT_DIR"), out, err, errlen);
	if (rc != -ENOENT)
		goto out;
	kcfg_free(out);
	if (!home || (size_t)snprintf(path, sizeof(path), "%s/.kube/config", home) >= sizeof(path)) {
		snprintf(err, errlen, "no kubeconfig: use --kubeconfig, $KUBECONFIG, run in a cluster, or write ~/.kube/config");
		rc = -ENOENT;
		goto out;
	}
	if ((rc = merge_file(&doc, path, err, errlen)) == 0)
		rc = finish(doc, context, path, out, err, errlen);
	else if (rc == -ENOENT)
		snprintf(err, errlen, "no kubeconfig: use --kubeconfig, $KUBECONFIG, run in a cluster, or write ~/.kube/config");
out:
	json_decref(doc);
	return rc;
}
