/* kubeconfig.h: where the controller finds the API server and its credentials: kubeconfig files or in-cluster. */
#ifndef VIVO_KUBECONFIG_H
#define VIVO_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define KCFG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KCFG_MAX_FILE (4u << 20)

/* Everything the client needs to talk to one API server. Strings are owned (kcfg_free). */
struct kube_auth {
	char *server;           /* "https://host:port", no trailing slash */
	char *ca_pem;           /* CA bundle bytes, or NULL (then ca_file, or the system store) */
	size_t ca_len;
	char *ca_file;          /* read by kcfg_load_files */
	char *cert_pem, *key_pem; /* client certificate and key (PEM) */
	size_t cert_len, key_len;
	char *cert_file, *key_file;
	char *token;            /* a static bearer token */
	char *token_file;       /* a bearer token re-read from this file */
	bool insecure;          /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *namespace;        /* the context's namespace (or the pod's), may be NULL */
	char *source;           /* where this came from, for logs */
};

/* Parse kubeconfig text and pick `context` (NULL = current-context). Relative file paths
 * are taken relative to `dir` (NULL = as given); files are not read here (kcfg_load_files).
 * exec and auth-provider users are refused. 0, or -EINVAL with the reason in `err`,
 * -ENOMEM. The caller frees `out` with kcfg_free, also on error. */
int kcfg_parse(const char *text, size_t n, const char *dir, const char *context, struct kube_auth *out,
	       char *err, size_t errlen);
/* The same over an already merged document (see kcfg_merge). */
int kcfg_select(const json_t *doc, const char *context, struct kube_auth *out, char *err, size_t errlen);
/* Add the kubeconfig at `text` (from `dir`) to the merged document *doc (created when
 * NULL): earlier files win for clusters, users and contexts of the same name and for
 * current-context, as kubectl merges $KUBECONFIG. Relative paths are made absolute first. */
int kcfg_merge(json_t **doc, const char *text, size_t n, const char *dir, char *err, size_t errlen);

/* Read ca_file, cert_file and key_file into the PEM fields (bounded). 0 or -errno with
 * "path: reason" in err. */
int kcfg_load_files(struct kube_auth *a, char *err, size_t errlen);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, and token, ca.crt and namespace from `sa_dir`
 * (NULL = KCFG_SA_DIR). -ENOENT when not in a cluster. */
int kcfg_in_cluster(const char *sa_dir, struct kube_auth *out, char *err, size_t errlen);

/* The controller's order: `flag` (--kubeconfig), $KUBECONFIG (colon-separated, merged),
 * in-cluster, ~/.kube/config. Files are loaded. 0 or negative with the reason in `err`. */
int kcfg_resolve(const char *flag, const char *context, struct kube_auth *out, char *err, size_t errlen);

void kcfg_free(struct kube_auth *a);

#endif
