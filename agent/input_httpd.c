/* input_httpd.c: the server of an HTTP-served input (start, drain, stop) and what its handlers share, written once for http, opentelemetry and prometheus_remote_write. */
#include "input_httpd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* in->priv of an HTTP-served input. */
struct input_httpd {
	struct httpd *srv;
	struct httpd *srv2;  /* a second listener (OTLP's grpc_port), or NULL */
	void *state;         /* the plugin's own */
	void (*state_free)(void *state);
};

struct httpd_opts input_httpd_opts(struct input_instance *in, const struct httpd_route *routes, size_t nroutes)
{
	struct httpd_opts o = {
		.name = in->name,
		.addr = in->conf.listen,
		.port = (uint16_t)in->conf.port,
		.body_max = in->conf.buffer_max_size,
		.threads = 2,
		.routes = routes,
		.nroutes = nroutes,
		.ctx = in,
	};

	return o;
}

int input_httpd_check_code(const struct input_instance *in, char *err, size_t errlen)
{
	long long code = in->conf.successful_response_code;

	if (code == 200 || code == 201 || code == 204)
		return 0;
	snprintf(err, errlen, "%s: successful_response_code must be 200, 201 or 204", in->name);
	return -EINVAL;
}

int input_httpd_start(struct input_instance *in, const struct httpd_opts *o, void *state,
		      void (*state_free)(void *state), char *err, size_t errlen)
{
	struct input_httpd *h = calloc(1, sizeof(*h));
	int rc;

	if (!h) {
		if (state_free)
			state_free(state);
		return -ENOMEM;
	}
	h->state = state;
	h->state_free = state_free;
	in->bound_port2 = 0;
	/* Handlers may read the state: in->priv is set before the first request can come in. */
	in->priv = h;
	if ((rc = httpd_start(o, &h->srv, err, errlen)) < 0) {
		in->priv = NULL;
		if (state_free)
			state_free(state);
		free(h);
		return rc;
	}
	in->bound_port = httpd_port(h->srv);
	return 0;
}

int input_httpd_start2(struct input_instance *in, const struct httpd_opts *o, char *err, size_t errlen)
{
	struct input_httpd *h = in->priv;
	int rc;

	if (!h || h->srv2)
		return -EINVAL;
	if ((rc = httpd_start(o, &h->srv2, err, errlen)) < 0)
		return rc;
	in->bound_port2 = httpd_port(h->srv2);
	return 0;
}

void *input_httpd_state(const struct input_instance *in)
{
	const struct input_httpd *h = in->priv;

	return h ? h->state : NULL;
}

void input_httpd_drain(struct input_instance *in)
{
	struct input_httpd *h = in->priv;

	if (!h)
		return;
	httpd_drain(h->srv2);
	httpd_drain(h->srv);
}

void input_httpd_stop(struct input_instance *in)
{
	struct input_httpd *h = in->priv;

	if (!h)
		return;
	httpd_stop(h->srv2);
	httpd_stop(h->srv);
	if (h->state_free)
		h->state_free(h->state);
	free(h);
	in->priv = NULL;
}

void input_httpd_tag_from_path(const char *path, const char *def, char *out, size_t n)
{
	size_t i, o = 0;

	while (*path == '/')
		path++;
	for (i = 0; path[i] && o + 1 < n; i++) {
		char c = path[i];

		out[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '_' || c == '.') ? c : '_';
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, n, "%s", def);
}

enum MHD_Result input_httpd_reply_ok(struct input_instance *in, struct httpd_req *r)
{
	struct httpd_resp *resp = httpd_resp_buffer("", 0, false);
	size_t i;

	if (!resp)
		return MHD_NO;
	for (i = 0; i < in->conf.success_header.n; i++) {
		char name[128];
		const char *h = in->conf.success_header.v[i], *sp = strchr(h, ' ');

		if (!sp || (size_t)(sp - h) >= sizeof(name))
			continue;
		memcpy(name, h, (size_t)(sp - h));
		name[sp - h] = '\0';
		while (*sp == ' ')
			sp++;
		httpd_resp_header(resp, name, sp);
	}
	return httpd_queue(r, (unsigned)in->conf.successful_response_code, resp);
}
