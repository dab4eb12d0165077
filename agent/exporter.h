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
/* Long-polls held right now (self-metrics: vivo_exporter_held_polls). */
size_t exporter_held(struct exporter *e);
/* Free; call after every server using the routes is stopped. NULL-safe. */
void exporter_free(struct exporter *e);
/* This process's boot ID (32 hex digits, random per start; sent as Vivo-Boot-ID on every
 * stream response and as "boot_id" in /api/v1/info). Valid while `e` lives. */
const char *exporter_boot_id(const struct exporter *e);

/* Appends JSON objects to /api/v1/info's "sources" array: a ',' before each one when
 * *count > 0, and *count incremented per object. Called with the exporter's lock held:
 * it must not call back into the exporter. 0 or -errno. */
typedef int (*exporter_info_fn)(void *arg, struct buf *out, size_t *count);
/* Register a contributor (the vivo input: one object per upstream). 0 or -ENOMEM. */
int exporter_add_info_source(struct exporter *e, exporter_info_fn fn, void *arg);
/* Unregister every contributor registered with `arg`; after it returns, fn is not running
 * and will not be called for `arg` again. */
void exporter_remove_info_source(struct exporter *e, void *arg);

/* Answer `r` as the legacy stream route of kind `k` does (/logs, /metrics, /traces):
 * the UI server's /vivo/logs... answer for clients that do not ask for HTML. */
enum MHD_Result exporter_serve_legacy(struct exporter *e, struct httpd_req *r, enum stream_kind k);

/* Routes for a server whose ctx is the exporter: the 2025 API and its mirror on 8000. */
extern const struct httpd_route exporter_routes[];
extern const size_t exporter_nroutes;
/* Only the /api/v1/... routes (mounted by the UI server next to its pages). */
extern const struct httpd_route exporter_api_routes[];
extern const size_t exporter_api_nroutes;

#endif
