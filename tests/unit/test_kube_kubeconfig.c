/* test_kube_kubeconfig.c: unit tests for kubeconfig parsing, merging, context selection and in-cluster configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlutil.h"
#include "kubeconfig.h"
#include "tap.h"

static const char *const full =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: dev\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority-data: Q0EgUEVN\n"          /* "CA PEM" */
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://other:443\n"
	"    certificate-authority: ca/ca.crt\n"
	"    insecure-skip-tls-verify: true\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    client-certificate-data: Q0VSVA==\n"             /* "CERT" */
	"    client-key-data: S0VZ\n"                          /* "KEY" */
	"- name: u2\n"
	"  user:\n"
	"    token: abc.def\n"
	"    tokenFile: /var/run/token\n"
	"- name: u3\n"
	"  user:\n"
	"    client-certificate: certs/u3.crt\n"
	"    client-key: /abs/u3.key\n"
	"- name: u4\n"
	"  user:\n"
	"    exec: {command: aws}\n"
	"contexts:\n"
	"- name: dev\n"
	"  context: {cluster: c1, user: u1, namespace: team-a}\n"
	"- name: ops\n"
	"  context: {cluster: c2, user: u2}\n"
	"- name: files\n"
	"  context: {cluster: c2, user: u3}\n"
	"- name: bad-exec\n"
	"  context: {cluster: c1, user: u4}\n"
	"- name: no-cluster\n"
	"  context: {cluster: nope, user: u1}\n";

static void test_parse(void)
{
	struct kube_auth a;
	char err[512] = "";

	ok(kcfg_parse(full, strlen(full), "/home/x/.kube", NULL, &a, err, sizeof(err)) == 0, "current context parses (%s)", err);
	is_str(a.server, "https://10.0.0.1:6443", "server, trailing slash dropped");
	ok(a.ca_pem && a.ca_len == 6 && memcmp(a.ca_pem, "CA PEM", 6) == 0, "certificate-authority-data decoded");
	ok(a.cert_pem && strcmp(a.cert_pem, "CERT") == 0 && a.key_pem && strcmp(a.key_pem, "KEY") == 0,
	   "client certificate and key data decoded");
	is_str(a.namespace, "team-a", "context namespace");
	ok(!a.insecure && !a.token && !a.token_file, "no token, verifying TLS");
	kcfg_free(&a);

	ok(kcfg_parse(full, strlen(full), "/home/x/.kube", "ops", &a, err, sizeof(err)) == 0, "--context ops (%s)", err);
	is_str(a.ca_file, "/home/x/.kube/ca/ca.crt", "relative certificate-authority resolved against the file's folder");
	ok(a.insecure, "insecure-skip-tls-verify");
	is_str(a.token, "abc.def", "token");
	is_str(a.token_file, "/var/run/token", "tokenFile");
	ok(a.namespace == NULL, "no namespace");
	kcfg_free(&a);

	ok(kcfg_parse(full, strlen(full), "/k", "files", &a, err, sizeof(err)) == 0, "cert files (%s)", err);
	is_str(a.cert_file, "/k/certs/u3.crt", "relative client-certificate resolved");
	is_str(a.key_file, "/abs/u3.key", "absolute client-key kept");
	kcfg_free(&a);

	ok(kcfg_parse(full, strlen(full), NULL, "bad-exec", &a, err, sizeof(err)) == -EINVAL && strstr(err, "exec"),
	   "exec credentials refused: %s", err);
	kcfg_free(&a);
	ok(kcfg_parse(full, strlen(full), NULL, "no-cluster", &a, err, sizeof(err)) == -EINVAL && strstr(err, "nope"),
	   "missing cluster named: %s", err);
	kcfg_free(&a);
	ok(kcfg_parse(full, strlen(full), NULL, "nowhere", &a, err, sizeof(err)) == -EINVAL && strstr(err, "nowhere"),
	   "missing context named: %s", err);
	kcfg_free(&a);
}

static void test_bad(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "current-context" },
		{ "- a\n- b\n", "mapping" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: ftp://x}}]\n", "http" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '@@@'}}]\n", "base64" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-certificate-data: QQ==}}]\n", "key" },
		{ "current-context: [1]\n", "current-context" },
		{ "a: &x 1\nb: *x\n", "aliases" },
		{ "a: 1\na: 2\n", "duplicate" },
		{ "{{{", "line" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}}]\n", "insecure" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_auth a;
		char err[512] = "";
		int rc = kcfg_parse(cases[i].text, strlen(cases[i].text), NULL, NULL, &a, err, sizeof(err));

		ok(rc == -EINVAL && strstr(err, cases[i].want), "bad kubeconfig %zu refused: %s", i, err);
		kcfg_free(&a);
	}
}

static void test_merge(void)
{
	const char *first = "current-context: one\ncontexts: [{name: one, context: {cluster: c, user: u}}]\n"
			    "clusters: [{name: c, cluster: {server: 'https://first'}}]\n";
	const char *second = "current-context: two\ncontexts: [{name: two, context: {cluster: c, user: u}}]\n"
			     "clusters: [{name: c, cluster: {server: 'https://second'}}, {name: d, cluster: {server: 'https://d'}}]\n"
			     "users: [{name: u, user: {tokenFile: tok}}]\n";
	json_t *doc = NULL;
	struct kube_auth a;
	char err[512] = "";

	ok(kcfg_merge(&doc, first, strlen(first), "/one", err, sizeof(err)) == 0 &&
	   kcfg_merge(&doc, second, strlen(second), "/two", err, sizeof(err)) == 0, "two files merge (%s)", err);
	ok(kcfg_select(doc, NULL, &a, err, sizeof(err)) == 0, "select (%s)", err);
	is_str(a.server, "https://first", "the first file wins for a cluster name and current-context");
	is_str(a.token_file, "/two/tok", "a user from the second file, path relative to it");
	kcfg_free(&a);
	json_decref(doc);
}

static void test_in_cluster(void)
{
	char dir[] = "/tmp/vivo-kcfg-XXXXXX", path[256];
	struct kube_auth a;
	char err[512] = "";

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/token", dir);
	cu_write_file(path, "tok-1\n", 6);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	cu_write_file(path, "PEM", 3);
	snprintf(path, sizeof(path), "%s/namespace", dir);
	cu_write_file(path, "vivo-system\n", 12);
	unsetenv("KUBERNETES_SERVICE_HOST");
	ok(kcfg_in_cluster(dir, &a, err, sizeof(err)) == -ENOENT, "no KUBERNETES_SERVICE_HOST: not in a cluster");
	kcfg_free(&a);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ok(kcfg_in_cluster(dir, &a, err, sizeof(err)) == 0, "in-cluster (%s)", err);
	is_str(a.server, "https://10.96.0.1:443", "server from the environment");
	ok(a.ca_pem && strcmp(a.ca_pem, "PEM") == 0, "CA read from ca.crt");
	ok(a.token_file && strstr(a.token_file, "/token"), "token file (re-read by the client)");
	is_str(a.namespace, "vivo-system", "namespace file, newline trimmed");
	kcfg_free(&a);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ok(kcfg_in_cluster(dir, &a, err, sizeof(err)) == 0 && strcmp(a.server, "https://[fd00::1]:443") == 0,
	   "IPv6 service host bracketed");
	kcfg_free(&a);
	setenv("KUBERNETES_SERVICE_PORT", "44x", 1);
	ok(kcfg_in_cluster(dir, &a, err, sizeof(err)) == -EINVAL, "bad port refused");
	kcfg_free(&a);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
}

static void test_resolve(void)
{
	char dir[] = "/tmp/vivo-kcfg-XXXXXX", p1[256], p2[256], env[600];
	const char *k1 = "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u, namespace: n1}}]\n"
			 "clusters: [{name: c, cluster: {server: 'https://one', certificate-authority: ca.pem}}]\n"
			 "users: [{name: u, user: {token: t}}]\n";
	struct kube_auth a;
	char err[512] = "";

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/config", dir);
	cu_write_file(p1, k1, strlen(k1));
	snprintf(p2, sizeof(p2), "%s/ca.pem", dir);
	cu_write_file(p2, "CAFILE", 6);
	ok(kcfg_resolve(p1, NULL, &a, err, sizeof(err)) == 0, "--kubeconfig FILE (%s)", err);
	ok(a.ca_pem && strcmp(a.ca_pem, "CAFILE") == 0, "CA file loaded relative to the kubeconfig");
	kcfg_free(&a);
	snprintf(env, sizeof(env), "%s/missing:%s", dir, p1);
	setenv("KUBECONFIG", env, 1);
	ok(kcfg_resolve(NULL, NULL, &a, err, sizeof(err)) == 0 && strcmp(a.server, "https://one") == 0,
	   "$KUBECONFIG list, missing files skipped (%s)", err);
	kcfg_free(&a);
	unsetenv("KUBECONFIG");
	snprintf(p2, sizeof(p2), "%s/none", dir);
	ok(kcfg_resolve(p2, NULL, &a, err, sizeof(err)) < 0 && strstr(err, "none"), "missing --kubeconfig: %s", err);
	kcfg_free(&a);
	snprintf(env, sizeof(env), "rm -rf '%s'", dir);
	if (system(env) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	test_parse();
	test_bad();
	test_merge();
	test_in_cluster();
	test_resolve();
	return tap_done();
}
