/* ctlhttp.c: /healthz, /readyz and /metrics on lib/httpd route tables. */
#include "ctlhttp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmetrics.h"
#include "httpd.h"
#include "log.h"
#include "opts.h"

struct chttp {
	struct httpd *health, *metrics;
	struct chttp_state *st;
};

int chttp_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;
	uint64_t p;
	size_t hl;

	if (strcmp(s, "0") == 0)
		return 1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		if (hl >= hostlen)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		if (!(colon = strrchr(s, ':')))
			return -EINVAL;
		hl = (size_t)(colon - s);
		if (hl >= hostlen)
			return -EINVAL;
		if (hl == 0)
			snprintf(host, hostlen, "0.0.0.0");
		else {
			memcpy(host, s, hl);
			host[hl] = '\0';
		}
	}
	if (opts_parse_u64(colon + 1, 65535, &p) < 0)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static enum MHD_Result healthz(struct httpd_req *r, void *ctx)
{
	(void)ctx;
	return httpd_reply(r, 200, "text/plain", "ok\n", 3);
}

static enum MHD_Result readyz(struct httpd_req *r, void *ctx)
{
	struct chttp *h = ctx;
	bool synced = atomic_load(&h->st->synced), electing = atomic_load(&h->st->electing);
	char body[128];
	int n;

	if (synced && electing)
		return httpd_reply(r, 200, "text/plain", "ok\n", 3);
	n = snprintf(body, sizeof(body), "not ready:%s%s\n", synced ? "" : " caches not synced",
		     electing ? "" : " leader election lost or shutting down");
	return httpd_reply(r, 503, "text/plain", body, (size_t)n);
}

static enum MHD_Result metrics(struct httpd_req *r, void *ctx)
{
	struct buf b;
	enum MHD_Result mr;

	(void)ctx;
	buf_init(&b, 4 << 20);
	if (cmet_render(&b) < 0) {
		buf_free(&b);
		return httpd_reply_error(r, 500, "metrics too large");
	}
	mr = httpd_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
	buf_free(&b);
	return mr;
}

static const struct httpd_route health_routes[] = {
	{ "GET", "/healthz", healthz },
	{ "GET", "/readyz", readyz },
	{ "GET", "/livez", healthz },
};

static const struct httpd_route metrics_routes[] = {
	{ "GET", "/metrics", metrics },
};

static int start_one(const char *name, const char *addr, const struct httpd_route *routes, size_t n, struct chttp *h,
		     struct httpd **out, char *err, size_t errlen)
{
	struct httpd_opts o;
	char host[256];
	uint16_t port;
	int rc = chttp_parse_addr(addr, host, sizeof(host), &port);

	if (rc == 1)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "%s address '%s': use HOST:PORT, :PORT or 0", name, addr);
		return -EINVAL;
	}
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.addr = host;
	o.port = port;
	o.body_max = 4096;
	o.threads = 1;
	o.routes = routes;
	o.nroutes = n;
	o.ctx = h;
	if ((rc = httpd_start(&o, out, err, errlen)) < 0)
		return rc;
	log_info("listening %s on %s:%u", name, host, httpd_port(*out));
	return 0;
}

int chttp_start(const char *health_addr, const char *metrics_addr, struct chttp_state *st, struct chttp **out,
		char *err, size_t errlen)
{
	struct chttp *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->st = st;
	if ((rc = start_one("health", health_addr, health_routes, 3, h, &h->health, err, errlen)) < 0 ||
	    (rc = start_one("metrics", metrics_addr, metrics_routes, 1, h, &h->metrics, err, errlen)) < 0) {
		chttp_stop(h);
		return rc;
	}
	*out = h;
	return 0;
}

void chttp_stop(struct chttp *h)
{
	if (!h)
		return;
	httpd_stop(h->health);
	httpd_stop(h->metrics);
	free(h);
}
