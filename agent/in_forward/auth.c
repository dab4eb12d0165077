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
#include "mpu.h"
#include "mpk.h"

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
	msgpack_packer pk;
	int rc;

	if (RAND_bytes(s->nonce, sizeof(s->nonce)) != 1 || RAND_bytes(s->salt, sizeof(s->salt)) != 1)
		return -EIO;
	mpk_init(&pk, out);
	if ((rc = msgpack_pack_array(&pk, 2)) < 0 || (rc = mpk_cstr(&pk, "HELO")) < 0 ||
	    (rc = msgpack_pack_map(&pk, 3)) < 0 || (rc = mpk_cstr(&pk, "nonce")) < 0 ||
	    (rc = msgpack_pack_bin_with_body(&pk, s->nonce, sizeof(s->nonce))) < 0 ||
	    /* Clients read a non-empty auth salt as "send a user name and password"; it is
	     * a bin so that Fluentd's Node client, which checks for a Buffer, sees it. */
	    (rc = mpk_cstr(&pk, "auth")) < 0 ||
	    (rc = msgpack_pack_bin_with_body(&pk, s->salt, a->nusers ? sizeof(s->salt) : 0)) < 0 ||
	    (rc = mpk_cstr(&pk, "keepalive")) < 0 || (rc = msgpack_pack_true(&pk)) < 0)
		return rc;
	return 0;
}

static int pong(struct buf *out, bool ok, const char *reason, const char *host, const char *digest)
{
	msgpack_packer pk;
	int rc;

	mpk_init(&pk, out);
	if ((rc = msgpack_pack_array(&pk, 5)) < 0 || (rc = mpk_cstr(&pk, "PONG")) < 0 ||
	    (rc = (ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk))) < 0 ||
	    (rc = mpk_cstr(&pk, reason)) < 0 || (rc = mpk_cstr(&pk, host)) < 0 ||
	    (rc = mpk_cstr(&pk, digest)) < 0)
		return rc;
	return 0;
}

/* A PING is ["PING", hostname, salt, digest, user, password digest]: 7 objects. A
 * message of more is not a PING, and is refused before msgpack-c unpacks it. */
#define PING_OBJECTS 7

/* str and bin share their layout in msgpack_object: either is text here. */
static bool is_text(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}

/* A digest from the client, compared in constant time (case-insensitively). */
static bool digest_eq(const msgpack_object *o, const char want[129])
{
	char got[128];
	uint32_t i;

	if (!is_text(o) || o->via.str.size != 128)
		return false;
	for (i = 0; i < 128; i++)
		got[i] = (char)tolower((unsigned char)o->via.str.ptr[i]);
	return CRYPTO_memcmp(got, want, 128) == 0;
}

/* The digest a user's PING must carry: sha512_hex(auth_salt + username + password). */
static bool user_ok(const struct fwd_auth *a, const struct fwd_auth_session *s,
		    const msgpack_object *name, const msgpack_object *digest)
{
	char want[129];
	size_t i;

	for (i = 0; i < a->nusers; i++) {
		const struct fwd_user *u = &a->users[i];
		const void *parts[3] = { s->salt, name->via.str.ptr, u->password };
		size_t lens[3] = { sizeof(s->salt), name->via.str.size, strlen(u->password) };

		if (strlen(u->name) != name->via.str.size || memcmp(u->name, name->via.str.ptr, lens[1]) != 0)
			continue;
		fwd_auth_sha512_hex(parts, lens, 3, want);
		return digest_eq(digest, want);
	}
	return false;
}

/* ["PING", hostname, salt, digest, user, password digest] with text where text goes. */
static bool is_ping(const msgpack_object *v)
{
	return v[0].type == MSGPACK_OBJECT_STR && v[0].via.str.size == 4 && memcmp(v[0].via.str.ptr, "PING", 4) == 0 &&
	       is_text(&v[1]) && is_text(&v[2]) && is_text(&v[4]);
}

/* The PING's digests `v[6]`: NULL when they match, else the reason. */
static const char *check_digests(const struct fwd_auth *a, const struct fwd_auth_session *s,
				 const msgpack_object *v)
{
	const msgpack_object *host = &v[1], *salt = &v[2];
	const void *parts[4] = { salt->via.str.ptr, host->via.str.ptr, s->nonce, a->shared_key };
	size_t lens[4] = { salt->via.str.size, host->via.str.size, sizeof(s->nonce), strlen(a->shared_key) };
	char want[129];

	fwd_auth_sha512_hex(parts, lens, 4, want);
	if (!digest_eq(&v[3], want))
		return "shared_key mismatch";
	if (a->nusers && !user_ok(a, s, &v[4], &v[5]))
		return "username/password mismatch";
	return NULL;
}

int fwd_auth_ping(const struct fwd_auth *a, const struct fwd_auth_session *s,
		  const char *msg, size_t n, struct buf *out, char *client, size_t clientlen,
		  char *err, size_t errlen)
{
	const char *reason = "invalid ping message";
	msgpack_unpacked u;
	struct mp_cur c;
	char want[129];
	int rc = -EBADMSG;

	if (clientlen)
		client[0] = '\0';
	msgpack_unpacked_init(&u);
	mp_cur_init(&c, msg, n);
	if (mpu_unpack(&c, PING_OBJECTS, &u) < 0 || u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 6)
		goto fail;
	{
		const msgpack_object *v = u.data.via.array.ptr;

		if (!is_ping(v))
			goto fail;
		if (clientlen)
			snprintf(client, clientlen, "%.*s", (int)(v[1].via.str.size > 200 ? 200 : v[1].via.str.size),
				 v[1].via.str.ptr);
		rc = -EACCES;
		if ((reason = check_digests(a, s, v)))
			goto fail;
		/* The PONG's digest: sha512_hex(salt + self_hostname + nonce + key). */
		{
			const void *parts[4] = { v[2].via.str.ptr, a->self_hostname, s->nonce, a->shared_key };
			size_t lens[4] = { v[2].via.str.size, strlen(a->self_hostname), sizeof(s->nonce), strlen(a->shared_key) };

			fwd_auth_sha512_hex(parts, lens, 4, want);
		}
	}
	rc = pong(out, true, "", a->self_hostname, want);
	goto out;
fail:
	snprintf(err, errlen, "%s", reason);
	{
		int prc = pong(out, false, reason, "", "");

		if (prc < 0)
			rc = prc;
	}
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}
