/* input_httpd.h: what every HTTP-served input (http, opentelemetry, prometheus_remote_write) does alike: its server's start, drain and stop, the success-code check, the tag from a path and the success answer. */
#ifndef VIVO_INPUT_HTTPD_H
#define VIVO_INPUT_HTTPD_H

#include <stddef.h>

#include "httpd.h"
#include "input.h"

/* The server options of `in`: its listen address and port, buffer_max_size as the body
 * limit, two threads, `routes` (nroutes of them) with `in` as the handlers' ctx. The
 * caller may change fields (TLS files, the port of a second listener) before starting. */
struct httpd_opts input_httpd_opts(struct input_instance *in, const struct httpd_route *routes, size_t nroutes);

/* 0, or -EINVAL with "<name>: successful_response_code must be 200, 201 or 204" in `err`. */
int input_httpd_check_code(const struct input_instance *in, char *err, size_t errlen);

/* Serve `o` for `in`: in->priv holds the server and `state` (the plugin's own, read with
 * input_httpd_state) from before the first request can arrive; in->bound_port is set.
 * Takes ownership of `state`: state_free(state) runs at input_httpd_stop, and on failure
 * here (state_free may be NULL when state is). 0, or -errno with the reason in `err` and
 * in->priv NULL. */
int input_httpd_start(struct input_instance *in, const struct httpd_opts *o, void *state,
		      void (*state_free)(void *state), char *err, size_t errlen);
/* A second listener of a started `in`: `o` served again on o->port; in->bound_port2 is set.
 * 0, or -errno with the reason in `err`; the first listener keeps running then (the
 * caller stops `in` with input_httpd_stop). */
int input_httpd_start2(struct input_instance *in, const struct httpd_opts *o, char *err, size_t errlen);
/* The `state` given to input_httpd_start (borrowed), NULL before it or after the stop. */
void *input_httpd_state(const struct input_instance *in);

/* The plugin's .drain: every listener of `in` stops accepting now (SIGTERM drains all
 * inputs before it stops any, so none takes new uploads while another finishes). Uploads
 * in flight go on. NULL-safe on in->priv. */
void input_httpd_drain(struct input_instance *in);
/* The plugin's .stop: stop accepting, let uploads in flight finish and be answered (until
 * httpd_stop_deadline), close, free the state and everything start made; in->priv NULL. */
void input_httpd_stop(struct input_instance *in);

/* A tag from a URL path into `out` (n bytes): the path without its leading '/'s, every
 * byte outside [A-Za-z0-9_.] as '_' (Fluent Bit's tag_from_uri: /api/prom/push ->
 * api_prom_push); `def` when nothing is left. */
void input_httpd_tag_from_path(const char *path, const char *def, char *out, size_t n);
/* The success answer of `in`: successful_response_code, no body, the success_header
 * lines ("Name value"). MHD_NO when out of memory. */
enum MHD_Result input_httpd_reply_ok(struct input_instance *in, struct httpd_req *r);

#endif
