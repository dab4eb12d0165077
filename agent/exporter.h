/* exporter.h: the Vivo exporter API (spec agent.md 2) over the stream store. */
#ifndef VIVO_EXPORTER_H
#define VIVO_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>

#include "httpd.h"
#include "store.h"

struct exporter;

struct exporter_settings {
	bool empty_stream_on_read;
	const char *cors_origin; /* copied; NULL or "" = no CORS headers */
};

/* Listener ports reported by /api/v1/info (0 = not running). */
enum exporter_port { PORT_UI, PORT_FORWARD, PORT_HTTP, PORT_EXPORTER, PORT_OTLP, PORT_OPS, PORT_OTLP_GRPC, PORT_COUNT };

/* Create the exporter over `streams` (borrowed, STREAM_COUNT of them) and start its
 * long-poll waker thread. 0 or -errno. */
int exporter_new(struct stream **streams, const struct exporter_settings *s, struct exporter **out);
/* Apply new settings (SIGHUP reload). */
int exporter_configure(struct exporter *e, const struct exporter_settings *s);
void exporter_set_port(struct exporter *e, enum exporter_port p, uint16_t port);
/* Answer every held long-poll now and hold no new ones, waiting (bounded) until they are
 * answered: servers must not be stopped with requests suspended (shutdown, re-binding). */
void exporter_drain(struct exporter *e);
/* Hold long-polls again after exporter_drain (the servers are back). */
void exporter_undrain(struct exporter *e);
/* Free; call after every server using the routes is stopped. NULL-safe. */
void exporter_free(struct exporter *e);

/* Routes for a server whose ctx is the exporter: the 2025 API and its mirror on 8000. */
extern const struct httpd_route exporter_routes[];
extern const size_t exporter_nroutes;
/* Only the /api/v1/... routes (mounted by the UI server next to its pages). */
extern const struct httpd_route exporter_api_routes[];
extern const size_t exporter_api_nroutes;

#endif
