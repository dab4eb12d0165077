/* ops.c: /api/v1/health, /api/v1/metrics/prometheus and /api/v1/uptime. */
#include "ops.h"

#include <stdio.h>
#include <time.h>

#include "agent.h"

static enum MHD_Result h_health(struct httpd_req *r, void *ctx)
{
	struct agent *a = ctx;

	if (atomic_load(&a->up))
		return httpd_reply(r, MHD_HTTP_OK, "text/plain", "ok\n", 3);
	return httpd_reply(r, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "starting\n", 9);
}

static enum MHD_Result h_prometheus(struct httpd_req *r, void *ctx)
{
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b, 16 * 1024 * 1024);
	if (agent_metrics_prometheus(ctx, &b) < 0) {
		buf_free(&b);
		return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot collect metrics");
	}
	ret = httpd_reply(r, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
	buf_free(&b);
	return ret;
}

static enum MHD_Result h_uptime(struct httpd_req *r, void *ctx)
{
	struct agent *a = ctx;
	struct timespec now;
	long long s;
	char body[256];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (long long)(now.tv_sec - a->started.tv_sec);
	n = snprintf(body, sizeof(body),
		     "{\"uptime_sec\":%lld,\"uptime_hr\":\"Vivo agent has been running: %lld day%s, %lld hour%s, "
		     "%lld minute%s and %lld second%s\"}\n",
		     s, s / 86400, s / 86400 == 1 ? "" : "s", s / 3600 % 24, s / 3600 % 24 == 1 ? "" : "s",
		     s / 60 % 60, s / 60 % 60 == 1 ? "" : "s", s % 60, s % 60 == 1 ? "" : "s");
	return httpd_reply(r, MHD_HTTP_OK, "application/json", body, (size_t)n);
}

const struct httpd_route ops_routes[] = {
	{ "GET", "/api/v1/health", h_health },
	{ "GET", "/api/v1/metrics/prometheus", h_prometheus },
	{ "GET", "/api/v1/uptime", h_uptime },
};
const size_t ops_nroutes = sizeof(ops_routes) / sizeof(ops_routes[0]);
