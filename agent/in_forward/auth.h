/* in_forward/auth.h: the secure-forward handshake (HELO, PING, PONG with SHA-512 digests) as Fluentd and Fluent Bit speak it; no sockets. */
#ifndef VIVO_FWD_AUTH_H
#define VIVO_FWD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct fwd_user {
	char *name;
	char *password;
};

/* The server's side of the handshake. */
struct fwd_auth {
	char *shared_key;          /* may be "" (empty_shared_key) */
	char *self_hostname;
	struct fwd_user *users;    /* when nusers > 0, PING must name one with its password */
	size_t nusers;
};

/* One connection's handshake state. */
struct fwd_auth_session {
	unsigned char nonce[16];
	unsigned char salt[16];    /* user-auth salt, sent only when users are configured */
};

/* Fill `a` (copies the strings). `users` holds entries "name password" (Fluent Bit's
 * security.users; an entry may hold several pairs). 0, -EINVAL with a reason in err,
 * -ENOMEM. Free with fwd_auth_free. */
int fwd_auth_init(struct fwd_auth *a, const char *shared_key, const char *self_hostname,
		  char *const *users, size_t nusers, char *err, size_t errlen);
void fwd_auth_free(struct fwd_auth *a);

/* Start a session: new random nonce (and salt), the HELO message appended to `out`:
 * ["HELO", {"nonce": bin(16), "auth": bin(16 or 0), "keepalive": true}]. 0 or -errno. */
int fwd_auth_helo(const struct fwd_auth *a, struct fwd_auth_session *s, struct buf *out);

/* Check the client's PING (one complete msgpack message) and append the PONG to `out`:
 * ["PONG", true, "", self_hostname, sha512_hex(salt + self_hostname + nonce + key)] on
 * success (0), ["PONG", false, reason, "", ""] otherwise (-EACCES for a wrong key or
 * password, -EBADMSG for a message that is not a PING), with the reason also in `err`
 * and the client's hostname in `client` (NUL-terminated, may be empty). */
int fwd_auth_ping(const struct fwd_auth *a, const struct fwd_auth_session *s,
		  const char *msg, size_t n, struct buf *out, char *client, size_t clientlen,
		  char *err, size_t errlen);

/* Lowercase hex SHA-512 of the concatenation of `n` byte ranges into hex[129]. */
void fwd_auth_sha512_hex(const void *const *parts, const size_t *lens, size_t n, char hex[129]);

#endif
