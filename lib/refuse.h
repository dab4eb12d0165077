/* refuse.h: the one rate-limited refusal logger every input and listener shares: each
 * refusal is counted under (where, reason) for vivo_input_errors_total{name,reason} and
 * logged at the default level at most once per client address, where and reason per minute,
 * with the count since the last line. Thread-safe. */
#ifndef VIVO_REFUSE_H
#define VIVO_REFUSE_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds between two lines for one (address, where, reason). */
#define REFUSE_LOG_INTERVAL 60

/* Reasons (label values of vivo_input_errors_total{reason}). */
#define REFUSE_ENCODING "unsupported_encoding"      /* 415: Content-Encoding */
#define REFUSE_CTYPE "unsupported_content_type"     /* 415/400: Content-Type */
#define REFUSE_BAD_REQUEST "bad_request"            /* 400: framing, query, body that does not parse */
#define REFUSE_TOO_LARGE "too_large"                /* 413, 414, 431 */
#define REFUSE_BUSY "busy"                          /* 503: request bodies in flight */
#define REFUSE_TIMEOUT "timeout"                    /* 408: an upload below the minimum rate */
#define REFUSE_CONNS "too_many_connections"         /* per-address or table cap */
#define REFUSE_POLLS "too_many_polls"               /* 429: held long-polls per address */
#define REFUSE_PROTOCOL "wrong_protocol"            /* HTTP/2, HTTP or remote write on a port that is not for it */
#define REFUSE_BAD_FRAME "bad_frame"                /* Forward: a frame refused (no ack) */
#define REFUSE_NOT_FOUND "no_such_path"             /* 404, 405 */
#define REFUSE_AUTH "auth_failed"                   /* secure forward handshake */

/* Count one refusal of `where` (an input or listener name) and log it unless this
 * (address of `peer`, where, reason) was logged less than REFUSE_LOG_INTERVAL seconds ago:
 * "<where>: refused <peer>: <message> (reason <reason>; N from this address since the last
 * line)". `reason` must be a string that lives as long as the process (a REFUSE_ macro). */
void refuse_note(const char *where, const char *peer, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Call fn for every (where, reason) counted so far, in first-seen order; stops at the
 * first non-zero return and returns it. */
typedef int (*refuse_each_fn)(const char *where, const char *reason, uint64_t count, void *arg);
int refuse_each(refuse_each_fn fn, void *arg);
/* Refusals counted for `where` (all reasons), for the "other" part of errors_total. */
uint64_t refuse_total(const char *where);
/* Out of descriptors (accept said EMFILE or ENFILE) on the listening socket `lfd`: close the
 * spare descriptor `*spare_fd` (kept open on /dev/null for this), accept the oldest pending
 * connection with it and close that at once, so the client learns now and the backlog does
 * not keep the loop awake; reopen the spare and note the refusal (REFUSE_CONNS) for `where`.
 * False, doing nothing, when there is no spare (*spare_fd < 0). */
bool refuse_emfile(int lfd, int *spare_fd, const char *where);

#endif
