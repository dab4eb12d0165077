/* certs.c: EC P-256 CA and serving certificates (SANs, key usages), validity, verification and CA bundles, on OpenSSL 3. */
#include "certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "ctlutil.h"

void cert_pair_free(struct cert_pair *p)
{
	if (!p)
		return;
	free(p->cert);
	if (p->key) {
		OPENSSL_cleanse(p->key, strlen(p->key));
		free(p->key);
	}
	p->cert = p->key = NULL;
}

static int ossl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "";

	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, detail[0] ? ": " : "", detail);
	return -EIO;
}

/* PEM text of an object written by `fn` into a memory BIO. */
static char *to_pem(int (*fn)(BIO *, const void *), const void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (!b)
		return NULL;
	if (fn(b, obj) && (n = BIO_get_mem_data(b, &data)) > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

static int write_cert(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)x);
}

static int write_key(BIO *b, const void *k)
{
	return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

/* The first certificate (or private key, when `key`) of a PEM text, or NULL. */
static void *read_pem(const char *pem, bool key)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	void *o = NULL;

	if (b)
		o = key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return o;
}

static X509 *read_cert(const char *pem)
{
	return read_pem(pem, false);
}

static EVP_PKEY *read_key(const char *pem)
{
	return read_pem(pem, true);
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A certificate for `key`, valid [now - backdate, now + lifetime], random 128-bit serial. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, int64_t now, int64_t lifetime_s)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	X509_NAME *name;
	int ok = 0;

	if (!x || !bn || !X509_set_version(x, 2) || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !(serial = BN_to_ASN1_INTEGER(bn, NULL)) || !X509_set_serialNumber(x, serial) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - CERT_BACKDATE_S)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + lifetime_s)) || !X509_set_pubkey(x, key) ||
	    !(name = X509_get_subject_name(x)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto out;
	ok = 1;
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int finish(X509 *x, EVP_PKEY *key, EVP_PKEY *signer, struct cert_pair *out, char *err, size_t errlen)
{
	if (!X509_sign(x, signer, EVP_sha256()))
		return ossl_fail(err, errlen, "signing the certificate");
	out->cert = to_pem(write_cert, x);
	out->key = to_pem(write_key, key);
	if (!out->cert || !out->key) {
		cert_pair_free(out);
		return ossl_fail(err, errlen, "writing PEM");
	}
	return 0;
}

int cert_new_ca(const char *cn, int64_t now, int64_t lifetime_s, struct cert_pair *out, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!key)
		return ossl_fail(err, errlen, "generating an EC P-256 key");
	if (!(x = new_cert(key, cn, now, lifetime_s)) || !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") < 0 ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") < 0) {
		rc = ossl_fail(err, errlen, "building the CA certificate");
		goto out;
	}
	rc = finish(x, key, key, out, err, errlen);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* "DNS:a,IP:127.0.0.1,..." for names (IP literals become IP entries). */
static int san_value(const char *const *names, size_t n, struct buf *b)
{
	unsigned char addr[16];
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		bool ip = inet_pton(AF_INET, names[i], addr) == 1 || inet_pton(AF_INET6, names[i], addr) == 1;

		if (strchr(names[i], ',') || !*names[i])
			return -EINVAL;
		rc = buf_printf(b, "%s%s:%s", i ? "," : "", ip ? "IP" : "DNS", names[i]);
	}
	return rc;
}

int cert_new_serving(const struct cert_pair *ca, const char *const *names, size_t nnames, int64_t now,
		     int64_t lifetime_s, struct cert_pair *out, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL, *ca_key = read_key(ca->key);
	X509 *x = NULL, *ca_cert = read_cert(ca->cert);
	struct buf san;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	buf_init(&san, 64 * 1024);
	if (!ca_key || !ca_cert || X509_check_private_key(ca_cert, ca_key) != 1) {
		snprintf(err, errlen, "the CA certificate and key do not parse or do not match");
		goto out;
	}
	if (nnames == 0 || nnames > CERT_MAX_NAMES || san_value(names, nnames, &san) < 0 || buf_putc(&san, '\0') < 0) {
		snprintf(err, errlen, "1 to %d names without commas are needed", CERT_MAX_NAMES);
		goto out;
	}
	if (!(key = EVP_EC_gen("P-256"))) {
		rc = ossl_fail(err, errlen, "generating an EC P-256 key");
		goto out;
	}
	if (!(x = new_cert(key, names[0], now, lifetime_s)) || !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) ||
	    add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, ca_cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, ca_cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, ca_cert, NID_authority_key_identifier, "keyid:always") < 0 ||
	    add_ext(x, ca_cert, NID_subject_alt_name, san.data) < 0) {
		rc = ossl_fail(err, errlen, "building the serving certificate");
		goto out;
	}
	rc = finish(x, key, ca_key, out, err, errlen);
out:
	buf_free(&san);
	X509_free(x);
	X509_free(ca_cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return rc;
}

static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int cert_validity(const char *pem, int64_t *not_before, int64_t *not_after)
{
	X509 *x = read_cert(pem);
	int rc = -EINVAL;

	if (x && asn1_unix(X509_get0_notBefore(x), not_before) == 0 && asn1_unix(X509_get0_notAfter(x), not_after) == 0)
		rc = 0;
	X509_free(x);
	return rc;
}

bool cert_covers_names(const char *pem, const char *const *names, size_t nnames)
{
	X509 *x = read_cert(pem);
	unsigned char addr[16];
	size_t i;
	bool all = x != NULL;

	for (i = 0; all && i < nnames; i++) {
		if (inet_pton(AF_INET, names[i], addr) == 1 || inet_pton(AF_INET6, names[i], addr) == 1)
			all = X509_check_ip_asc(x, names[i], 0) == 1;
		else
			all = X509_check_host(x, names[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	}
	X509_free(x);
	return all;
}

/* Every certificate of a PEM bundle, in order. */
static STACK_OF(X509) *read_all(const char *pem)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;

	if (!sk || !b) {
		sk_X509_free(sk);
		BIO_free(b);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x))
			X509_free(x);
	ERR_clear_error();
	BIO_free(b);
	return sk;
}

int cert_check(const char *cert, const char *key, const char *bundle, bool serving, int64_t now, char *err,
	       size_t errlen)
{
	X509 *x = read_cert(cert);
	EVP_PKEY *k = read_key(key);
	STACK_OF(X509) *cas = read_all(bundle);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int i, rc = -EINVAL;

	if (!x || !k) {
		snprintf(err, errlen, "the certificate or key is not PEM");
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		snprintf(err, errlen, "the key is not the certificate's");
		goto out;
	}
	if (!cas || sk_X509_num(cas) == 0 || !st || !ctx) {
		snprintf(err, errlen, "no CA certificate in the bundle");
		goto out;
	}
	for (i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(st, sk_X509_value(cas, i));
	if (!X509_STORE_CTX_init(ctx, st, x, NULL)) {
		rc = ossl_fail(err, errlen, "verifying");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	if (serving)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "does not verify against the CA bundle: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(cas, X509_free);
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

int cert_bundle_merge(const char *bundle, const char *add, int64_t now, char **out)
{
	STACK_OF(X509) *sk = read_all(bundle ? bundle : "");
	X509 *extra = add ? read_cert(add) : NULL;
	struct buf b;
	int i, rc = 0;

	if (!sk || (add && !extra)) {
		sk_X509_pop_free(sk, X509_free);
		X509_free(extra);
		return sk ? -EINVAL : -ENOMEM;
	}
	buf_init(&b, CERT_MAX_PEM);
	for (i = 0; i < sk_X509_num(sk) && rc == 0; i++) {
		X509 *x = sk_X509_value(sk, i);
		int64_t na;
		char *pem;

		if (asn1_unix(X509_get0_notAfter(x), &na) < 0 || na <= now)
			continue; /* expired CAs leave the bundle */
		if (extra && X509_cmp(x, extra) == 0)
			continue; /* added once, at the end */
		if (!(pem = to_pem(write_cert, x)))
			rc = -ENOMEM;
		else
			rc = buf_puts(&b, pem);
		free(pem);
	}
	if (rc == 0 && extra) {
		char *pem = to_pem(write_cert, extra);

		rc = pem ? buf_puts(&b, pem) : -ENOMEM;
		free(pem);
	}
	sk_X509_pop_free(sk, X509_free);
	X509_free(extra);
	if (rc == 0 && !(*out = buf_steal(&b, NULL)))
		rc = -ENOMEM;
	buf_free(&b);
	return rc;
}

int cert_count(const char *bundle)
{
	STACK_OF(X509) *sk = read_all(bundle);
	int n = sk ? sk_X509_num(sk) : 0;

	sk_X509_pop_free(sk, X509_free);
	return n;
}

int cert_fingerprint(const char *pem, char *out, size_t n)
{
	X509 *x = read_cert(pem);
	unsigned char *der = NULL;
	int len;

	if (!x)
		return -EINVAL;
	len = i2d_X509(x, &der);
	X509_free(x);
	if (len <= 0)
		return -EINVAL;
	cu_sha256_tag(der, (size_t)len, out, n);
	OPENSSL_free(der);
	return 0;
}
