/* certs.h: the webhook's CA and serving certificate with OpenSSL (EC P-256): make them, read their validity, check a pair against a CA bundle. */
#ifndef VIVO_CERTS_H
#define VIVO_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Certificates start this long before "now", for clocks a little behind ours. */
#define CERT_BACKDATE_S 300
#define CERT_MAX_NAMES 16
#define CERT_MAX_PEM (256u * 1024)

/* A certificate and its private key, PEM text, each owned (cert_pair_free). */
struct cert_pair {
	char *cert;
	char *key;
};
void cert_pair_free(struct cert_pair *p);

/* A self-signed CA "CN=<cn>" valid from now - CERT_BACKDATE_S to now + lifetime_s (unix
 * seconds). 0, or -EIO/-ENOMEM with the OpenSSL reason in `err`. */
int cert_new_ca(const char *cn, int64_t now, int64_t lifetime_s, struct cert_pair *out, char *err, size_t errlen);
/* A serving certificate signed by `ca` for `names` (DNS names, or IPv4/IPv6 literals that
 * become IP subject alternative names; the first is also the CN), for server auth. */
int cert_new_serving(const struct cert_pair *ca, const char *const *names, size_t nnames, int64_t now,
		     int64_t lifetime_s, struct cert_pair *out, char *err, size_t errlen);

/* The validity of the first certificate in `pem`. 0 or -EINVAL. */
int cert_validity(const char *pem, int64_t *not_before, int64_t *not_after);
/* True when the first certificate in `pem` names every one of `names` (DNS or IP SAN). */
bool cert_covers_names(const char *pem, const char *const *names, size_t nnames);
/* Check that `key` is the key of `cert`, that `cert` verifies against a CA in `bundle`
 * (PEM, one or more) at time `now`, for server auth when `serving`. 0 or -EINVAL with why. */
int cert_check(const char *cert, const char *key, const char *bundle, bool serving, int64_t now, char *err,
	       size_t errlen);
/* The certificates of `bundle` still valid at `now`, plus `add` (may be NULL) when not
 * already there, as one PEM text (caller frees). 0, -EINVAL, -ENOMEM. */
int cert_bundle_merge(const char *bundle, const char *add, int64_t now, char **out);
/* Number of certificates in a PEM bundle (0 when none parse). */
int cert_count(const char *bundle);
/* "sha256:<hex>" of the first certificate's DER (a fingerprint for logs and tests). */
int cert_fingerprint(const char *pem, char *out, size_t n);

#endif
