/* in_forward/auth.c: secure-forward HELO/PING/PONG (Fluentd's forward protocol v1 handshake) with libcrypto's SHA-512. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mp.h"
#include "mpw.h"

void fwd_auth_sha512_hex(const void *const *parts, const size_t *lens, size_t n, char hex[129])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t k;

	hex[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1) {
		for (k = 0; k < n; k++)
			EVP_DigestUpdate(ctx, parts[k], lens[k]);
		if (EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
			for (i = 0; i < mdlen && i < 64; i++) {
				hex[2 * i] = digits[md[i] >> 4];
				hex[2 * i + 1] = digits[md[i] & 15];
			}
			hex[2 * i] = '\0';
		}
	}
	EVP_MD_CTX_free(ctx);
}

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void fwd_auth_free(struct fwd_auth *a)
{
	size_t i;

	if (!a)
		return;
	if (a->shared_key)
		OPENSSL_cleanse(a->shared_key, strlen(a->shared_key));
	free(a->shared_key);
	free(a->self_hostname);
	for (i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		if (a->users[i].password)
			OPENSSL_cleanse(a->users[i].password, strlen(a->users[i].password));
		free(a->users[i].password);
	}
	free(a->users);
	memset(a, 0, sizeof(*a));
}

/* Split "name password [name password...]" into users. */
static int add_users(struct fwd_auth *a, const char *s, char *err, size_t errlen)
{
	const char *tok[2];
	size_t len[2];
	int k = 0;

	for (;;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		tok[k] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		len[k] = (size_t)(s - tok[k]);
		if (++k == 2) {
			struct fwd_user *u = realloc(a->users, (a->nusers + 1) * sizeof(*u));

			if (!u)
				return -ENOMEM;
			a->users = u;
			u += a->nusers;
			u->name = dup_range(tok[0], len[0]);
			u->password = dup_range(tok[1], len[1]);
			a->nusers++;
			if (!u->name || !u->password)
				return -ENOMEM;
			k = 0;
		}
	}
	if (k) {
		snprintf(err, errlen, "security.users: user '%.*s' has no password (want 'name password')",
			 (int)(len[0] > 64 ? 64 : len[0]), tok[0]);
		return -EINVAL;
	}
	return 0;
}

int fwd_auth_init(struct fwd_auth *a, const char *shared_key, const char *self_hostname,
		  char *const *users, size_t nusers, char *err, size_t errlen)
{
	size_t i;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!(a->shared_key = strdup(shared_key ? shared_key : "")) ||
	    !(a->self_hostname = strdup(self_hostname && *self_hostname ? self_hostname : "localhost"))) {
		fwd_auth_free(a);
		return -ENOMEM;
	}
	for (i = 0; i < nusers; i++) {
		if ((rc = add_users(a, users[i], err, errlen)) < 0) {
			fwd_auth_free(a);
			return rc;
		}
	}
	return 0;
}

int fwd_auth_helo(const struct fwd_auth *a, struct fwd_auth_session *s, struct buf *out)
{
	int rc;

	if (RAND_bytes(s->nonce, sizeof(s->nonce)) != 1 || RAND_bytes(s->salt, sizeof(s->salt)) != 1)
		return -EIO;
	if ((rc = mpw_array(out, 2)) < 0 || (rc = mpw_cstr(out, "HELO")) < 0 ||
	    (rc = mpw_map(out, 3)) < 0 ||
	    (rc = mpw_cstr(out, "nonce")) < 0 || (rc = mpw_bin(out, s->nonce, sizeof(s->nonce))) < 0 ||
	    /* Clients read a non-empty auth salt as "send a user name and password"; it is
	     * a bin so that Fluentd's Node client, which checks for a Buffer, sees it. */
	    (rc = mpw_cstr(out, "auth")) < 0 ||
	    (rc = mpw_bin(out, s->salt, a->nusers ? sizeof(s->salt) : 0)) < 0 ||
	    (rc = mpw_cstr(out, "keepalive")) < 0 || (rc = mpw_bool(out, true)) < 0)
		return rc;
	return 0;
}

static int pong(struct buf *out, bool ok, const char *reason, const char *host, const char *digest)
{
	int rc;

	if ((rc = mpw_array(out, 5)) < 0 || (rc = mpw_cstr(out, "PONG")) < 0 ||
	    (rc = mpw_bool(out, ok)) < 0 || (rc = mpw_cstr(out, reason)) < 0 ||
	    (rc = mpw_cstr(out, host)) < 0 || (rc = mpw_cstr(out, digest)) < 0)
		return rc;
	return 0;
}

/* A digest from the client, compared in constant time (case-insensitively). */
static bool digest_eq(const struct mp_obj *o, const char want[129])
{
	char got[128];
	uint32_t i;

	if ((o->type != MP_STR && o->type != MP_BIN) || o->len != 128)
		return false;
	for (i = 0; i < 128; i++)
		got[i] = (char)tolower((unsigned char)o->ptr[i]);
	return CRYPTO_memcmp(got, want, 128) == 0;
}

static bool is_text(const struct mp_obj *o)
{
	return o->type == MP_STR || o->type == MP_BIN;
}

int fwd_auth_ping(const struct fwd_auth *a, const struct fwd_auth_session *s,
		  const char *msg, size_t n, struct buf *out, char *client, size_t clientlen,
		  char *err, size_t errlen)
{
	struct mp_obj o, v[6];
	struct mp_cur c;
	const char *reason;
	char want[129];
	size_t i;
	int rc = -EBADMSG;

	if (clientlen)
		client[0] = '\0';
	mp_cur_init(&c, msg, n);
	if (mp_read(&c, &o) < 0 || o.type != MP_ARRAY || o.len != 6) {
		reason = "invalid ping message";
		goto fail;
	}
	for (i = 0; i < 6; i++) {
		struct mp_cur vc = c;

		if (mp_read(&vc, &v[i]) < 0 || mp_skip(&c) < 0) {
			reason = "invalid ping message";
			goto fail;
		}
	}
	if (!mp_str_eq(&v[0], "PING") || !is_text(&v[1]) || !is_text(&v[2]) || !is_text(&v[4])) {
		reason = "invalid ping message";
		goto fail;
	}
	if (clientlen)
		snprintf(client, clientlen, "%.*s", (int)(v[1].len > 200 ? 200 : v[1].len), v[1].ptr);
	{
		const void *parts[4] = { v[2].ptr, v[1].ptr, s->nonce, a->shared_key };
		size_t lens[4] = { v[2].len, v[1].len, sizeof(s->nonce), strlen(a->shared_key) };

		fwd_auth_sha512_hex(parts, lens, 4, want);
	}
	rc = -EACCES;
	if (!digest_eq(&v[3], want)) {
		reason = "shared_key mismatch";
		goto fail;
	}
	if (a->nusers) {
		bool found = false;

		for (i = 0; i < a->nusers; i++) {
			const struct fwd_user *u = &a->users[i];
			const void *parts[3] = { s->salt, v[4].ptr, u->password };
			size_t lens[3] = { sizeof(s->salt), v[4].len, strlen(u->password) };

			if (strlen(u->name) != v[4].len || memcmp(u->name, v[4].ptr, v[4].len) != 0)
				continue;
			fwd_auth_sha512_hex(parts, lens, 3, want);
			found = digest_eq(&v[5], want);
			break;
		}
		if (!found) {
			reason = "username/password mismatch";
			goto fail;
		}
	}
	{
		const void *parts[4] = { v[2].ptr, a->self_hostname, s->nonce, a->shared_key };
		size_t lens[4] = { v[2].len, strlen(a->self_hostname), sizeof(s->nonce), strlen(a->shared_key) };

		fwd_auth_sha512_hex(parts, lens, 4, want);
	}
	return pong(out, true, "", a->self_hostname, want);
fail:
	snprintf(err, errlen, "%s", reason);
	{
		int prc = pong(out, false, reason, "", "");

		return prc < 0 ? prc : rc;
	}
}
