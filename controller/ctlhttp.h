/* ctlhttp.h: the controller's probe (:8081 /healthz, /readyz) and metrics (:8080 /metrics) endpoints. */
#ifndef VIVO_CTLHTTP_H
#define VIVO_CTLHTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* What /readyz reports; written by the main loop, read by the server threads. */
struct chttp_state {
	atomic_bool synced;     /* every watch has listed */
	atomic_bool electing;   /* leader or standby: not lost, not stopping */
};

struct chttp;

/* Parse "[host]:port", "host:port" or ":port" (host 0.0.0.0); "0" disables. 0, 1 when
 * disabled, -EINVAL. */
int chttp_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port);
/* Start the health and metrics servers (either address may be "0"). Logs
 * "listening health on ADDR:PORT" and "listening metrics on ADDR:PORT". */
int chttp_start(const char *health_addr, const char *metrics_addr, struct chttp_state *st, struct chttp **out,
		char *err, size_t errlen);
void chttp_stop(struct chttp *h);

#endif
