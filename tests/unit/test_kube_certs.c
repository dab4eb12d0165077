/* test_kube_certs.c: unit tests for the webhook's CA and serving certificates: names, validity, verification, bundles, base64. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs.h"
#include "ctlutil.h"
#include "tap.h"

static const char *const names[] = { "vivo-controller-webhook", "vivo-controller-webhook.vivo-system.svc", "127.0.0.1" };
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void test_make_and_check(void)
{
	int64_t now = (int64_t)time(NULL), nb = 0, na = 0;
	struct cert_pair ca = { 0 }, other = { 0 }, srv = { 0 };
	char err[256] = "", fp1[80], fp2[80];
	const char *const wrong[] = { "evil.example.com" };
	const char *const ip6[] = { "::1" };

	ok(cert_new_ca("vivo-controller-webhook-ca", now, 3600, &ca, err, sizeof(err)) == 0 && ca.cert && ca.key,
	   "a CA is made (%s)", err);
	ok(strstr(ca.cert, "BEGIN CERTIFICATE") && strstr(ca.key, "PRIVATE KEY"), "as PEM");
	ok(cert_new_serving(&ca, names, NNAMES, now, 600, &srv, err, sizeof(err)) == 0, "a serving certificate is made (%s)", err);
	ok(cert_validity(srv.cert, &nb, &na) == 0 && nb == now - CERT_BACKDATE_S && na == now + 600,
	   "valid from now - %d s to now + lifetime", CERT_BACKDATE_S);
	ok(cert_check(srv.cert, srv.key, ca.cert, true, now, err, sizeof(err)) == 0, "verifies against its CA for server auth (%s)", err);
	ok(cert_check(ca.cert, ca.key, ca.cert, false, now, err, sizeof(err)) == 0, "the CA verifies against itself (%s)", err);
	ok(cert_check(srv.cert, srv.key, ca.cert, true, now + 601, err, sizeof(err)) == -EINVAL && strstr(err, "expired"),
	   "not after its lifetime: %s", err);
	ok(cert_new_ca("other", now, 3600, &other, err, sizeof(err)) == 0, "another CA");
	ok(cert_check(srv.cert, srv.key, other.cert, true, now, err, sizeof(err)) == -EINVAL, "not against another CA: %s", err);
	ok(cert_check(srv.cert, other.key, ca.cert, true, now, err, sizeof(err)) == -EINVAL && strstr(err, "key"),
	   "not with another key: %s", err);
	ok(cert_covers_names(srv.cert, names, NNAMES), "covers its DNS names and the IP 127.0.0.1");
	ok(!cert_covers_names(srv.cert, wrong, 1), "not another name");
	ok(!cert_covers_names(srv.cert, ip6, 1), "not another IP");
	ok(cert_fingerprint(srv.cert, fp1, sizeof(fp1)) == 0 && cert_fingerprint(ca.cert, fp2, sizeof(fp2)) == 0 &&
	   strncmp(fp1, "sha256:", 7) == 0 && strcmp(fp1, fp2) != 0, "fingerprints");
	cert_pair_free(&srv);
	ok(cert_new_serving(&other, names, 0, now, 600, &srv, err, sizeof(err)) == -EINVAL, "no names: refused (%s)", err);
	ok(cert_check("junk", "junk", ca.cert, true, now, err, sizeof(err)) == -EINVAL, "junk: %s", err);
	{
		struct cert_pair mixed = { ca.cert, other.key };

		ok(cert_new_serving(&mixed, names, NNAMES, now, 600, &srv, err, sizeof(err)) == -EINVAL,
		   "a CA with another CA's key cannot sign: %s", err);
	}
	cert_pair_free(&ca);
	cert_pair_free(&other);
}

static void test_bundles(void)
{
	int64_t now = (int64_t)time(NULL);
	struct cert_pair a = { 0 }, b = { 0 };
	char err[256] = "", *ab = NULL, *again = NULL, *later = NULL, *joined = NULL;

	ok(cert_new_ca("a", now, 100, &a, err, sizeof(err)) == 0 && cert_new_ca("b", now, 1000, &b, err, sizeof(err)) == 0,
	   "two CAs");
	ok(cert_bundle_merge(a.cert, b.cert, now, &ab) == 0 && cert_count(ab) == 2, "a + b: two certificates");
	ok(cert_bundle_merge(ab, b.cert, now, &again) == 0 && cert_count(again) == 2 && strcmp(ab, again) == 0,
	   "adding b again changes nothing");
	ok(cert_bundle_merge(ab, NULL, now + 200, &later) == 0 && cert_count(later) == 1 &&
	   strcmp(later, b.cert) == 0, "after a expired, the bundle is b alone");
	if (asprintf(&joined, "%s%s", a.cert, b.cert) < 0)
		joined = NULL;
	ok(joined && strcmp(ab, joined) == 0, "bundle text is the PEM blocks in order");
	ok(cert_count("") == 0 && cert_count("garbage") == 0, "no certificates in junk");
	free(ab);
	free(again);
	free(later);
	free(joined);
	cert_pair_free(&a);
	cert_pair_free(&b);
}

static void test_base64(void)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	size_t i, n;
	char *e, *d;
	bool all = true;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (cu_b64_encode(in[i], strlen(in[i]), &e) < 0 || strcmp(e, want[i]) != 0)
			all = false;
		else if (cu_b64_decode(e, strlen(e), &d, &n) < 0 || n != strlen(in[i]) || memcmp(d, in[i], n) != 0)
			all = false;
		else
			free(d);
		free(e);
	}
	ok(all, "base64 of RFC 4648's test vectors, both ways");
	ok(cu_b64_decode("Zm9", 3, &d, &n) == -EINVAL, "a partial quantum is refused");
	ok(cu_b64_decode("Zm9*", 4, &d, &n) == -EINVAL, "a bad character is refused");
}

int main(void)
{
	test_make_and_check();
	test_bundles();
	test_base64();
	return tap_done();
}
