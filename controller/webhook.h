/* webhook.h: the mutating admission webhook over HTTPS (libmicrohttpd with GnuTLS): POST /mutate-pods, certificates swapped for new connections without a restart. */
#ifndef VIVO_WEBHOOK_H
#define VIVO_WEBHOOK_H

#include <stdint.h>
#include <stddef.h>

#include "profiles.h"

#define WH_PATH "/mutate-pods"
/* Idle keep-alive connections are closed after this many seconds. */
#define WH_CONNECTION_TIMEOUT_S 30
/* Certificate generations kept alive for sessions that were handshaken with them. */
#define WH_KEEP_GENERATIONS 16
/* Threads answering reviews (each serves its share of the connections). */
#define WH_THREADS 2

struct webhook;

/* Listen on `listen` ("HOST:PORT", ":PORT", "[v6]:PORT") and answer reviews from
 * `profiles`. Until wh_set_cert succeeds, TLS handshakes fail; until wh_set_native,
 * reviews admit pods unchanged with a "starting" warning. One webhook per process (the
 * GnuTLS certificate callback has no context of its own). Logs "listening webhook on
 * ADDR:PORT". 0, or -errno with the reason in `err`. */
int wh_start(const char *listen, struct prof_reg *profiles, struct webhook **out, char *err, size_t errlen);
uint16_t wh_port(const struct webhook *w);
/* Serve `cert` (PEM, the leaf first, then any intermediates) and `key` (PEM) to every new
 * connection from now on; connections already open keep theirs. 0, or -EINVAL with the
 * reason in `err` (not PEM, the key is not the certificate's). */
int wh_set_cert(struct webhook *w, const char *cert, const char *key, char *err, size_t errlen);
/* The API server runs native sidecars (1), or not (0), or is not known yet (-1). */
void wh_set_native(struct webhook *w, int native);
/* Stop listening, close connections, free. NULL-safe. */
void wh_stop(struct webhook *w);

#endif
