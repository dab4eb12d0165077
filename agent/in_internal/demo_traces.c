/* in_internal/demo_traces.c: the demo traces source (--demo): realistic multi-service traces built
 * as OTLP JSON and stored through the OTLP decoder, so they have exactly the OTLP shape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "input.h"
#include "log.h"
#include "in_otlp/decode.h"
#include "ticker.h"

struct demo {
	struct ticker *ticker;
	struct input_instance *in;
	uint64_t rng;
	uint64_t emitted;
};

static uint64_t rnd(struct demo *d)
{
	/* xorshift64*: plenty for made-up IDs and durations. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ULL;
}

static void hex_id(struct demo *d, char *out, int bytes)
{
	static const char hexdig[] = "0123456789abcdef";
	int i;

	for (i = 0; i < bytes; i++) {
		unsigned v = (unsigned)(rnd(d) & 0xff);

		out[2 * i] = hexdig[v >> 4];
		out[2 * i + 1] = hexdig[v & 15];
	}
	out[2 * bytes] = '\0';
}

/* One span of the demo tree. */
struct dspan {
	const char *service;
	const char *name;
	int kind;
	int parent;          /* index, -1 for the root */
	long long start_ms;  /* offset from the trace start */
	long long dur_ms;
	const char *attrs;   /* extra JSON attributes, without brackets */
};

static int put_span(struct buf *b, const char *trace_id, const char *span_id, const char *parent_id,
		    const struct dspan *s, int64_t t0, bool error, bool first)
{
	int64_t start = t0 + s->start_ms * 1000000, end = start + s->dur_ms * 1000000;
	int rc = buf_printf(b, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"name\":\"%s\",\"kind\":%d,"
			    "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\",\"attributes\":[%s]",
			    first ? "" : ",", trace_id, span_id, parent_id ? ",\"parentSpanId\":\"" : "",
			    parent_id ? parent_id : "", parent_id ? "\"" : "", s->name, s->kind, (long long)start,
			    (long long)end, s->attrs);

	if (rc == 0 && error)
		rc = buf_printf(b, ",\"events\":[{\"timeUnixNano\":\"%lld\",\"name\":\"exception\",\"attributes\":["
				"{\"key\":\"exception.type\",\"value\":{\"stringValue\":\"PaymentDeclined\"}},"
				"{\"key\":\"exception.message\",\"value\":{\"stringValue\":\"card declined by issuer\"}}]}],"
				"\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"payment declined\"}}",
				(long long)(end - 1000000));
	else if (rc == 0)
		rc = buf_puts(b, ",\"status\":{\"code\":\"STATUS_CODE_OK\"}}");
	return rc;
}

#define A_STR(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define A_INT(k, v) "{\"key\":\"" k "\",\"value\":{\"intValue\":\"" v "\"}}"

/* Build one trace (checkout through four services) as an OTLP JSON export request. */
static int build_trace(struct demo *d, struct buf *b, int64_t t0)
{
	static const char *const services[] = { "frontend", "checkout", "payments", "inventory" };
	struct dspan spans[] = {
		{ "frontend", "POST /checkout", 2, -1, 0, 0,
		  A_STR("http.request.method", "POST") "," A_STR("url.path", "/checkout") "," A_INT("http.response.status_code", "200") },
		{ "frontend", "render cart", 1, 0, 2, 0, A_INT("cart.items", "3") },
		{ "checkout", "checkout.PlaceOrder", 2, 0, 6, 0, A_STR("rpc.system", "grpc") "," A_STR("rpc.method", "PlaceOrder") },
		{ "inventory", "inventory.Reserve", 2, 2, 9, 0, A_STR("rpc.system", "grpc") },
		{ "inventory", "SELECT stock", 3, 3, 10, 0, A_STR("db.system", "postgresql") "," A_STR("db.operation", "SELECT") },
		{ "payments", "payments.Charge", 2, 2, 0, 0, A_STR("rpc.system", "grpc") "," A_STR("payment.provider", "acme-pay") },
		{ "payments", "POST api.acme-pay.example/charges", 3, 5, 0, 0, A_STR("http.request.method", "POST") },
	};
	enum { NSPANS = sizeof(spans) / sizeof(spans[0]) };
	char trace_id[33], ids[NSPANS][17];
	bool error = rnd(d) % 5 == 0;
	size_t s, v;
	int i, rc = 0;

	/* Durations: children inside their parents, with some spread. */
	spans[4].dur_ms = 2 + (long long)(rnd(d) % 20);
	spans[3].dur_ms = spans[4].dur_ms + 3;
	spans[5].start_ms = spans[3].start_ms + spans[3].dur_ms + 1;
	spans[6].start_ms = spans[5].start_ms + 2;
	spans[6].dur_ms = 40 + (long long)(rnd(d) % 200);
	spans[5].dur_ms = spans[6].dur_ms + 5;
	spans[2].dur_ms = spans[5].start_ms + spans[5].dur_ms - spans[2].start_ms + 2;
	spans[1].dur_ms = 3;
	spans[0].dur_ms = spans[2].start_ms + spans[2].dur_ms + 4;
	hex_id(d, trace_id, 16);
	for (i = 0; i < NSPANS; i++)
		hex_id(d, ids[i], 8);
	rc = buf_puts(b, "{\"resourceSpans\":[");
	for (s = 0; rc == 0 && s < sizeof(services) / sizeof(services[0]); s++) {
		bool first = true;

		rc = buf_printf(b, "%s{\"resource\":{\"attributes\":[" A_STR("service.name", "%s") ","
				A_STR("service.version", "1.%d.0") "," A_STR("deployment.environment", "demo") "]},"
				"\"scopeSpans\":[{\"scope\":{\"name\":\"vivo-demo\",\"version\":\"1.0.0\"},\"spans\":[",
				s ? "," : "", services[s], (int)s + 2);
		for (v = 0; rc == 0 && v < NSPANS; v++) {
			if (strcmp(spans[v].service, services[s]) != 0)
				continue;
			rc = put_span(b, trace_id, ids[v], spans[v].parent >= 0 ? ids[spans[v].parent] : NULL, &spans[v],
				      t0, error && (v == 5 || v == 6), first);
			first = false;
		}
		if (rc == 0)
			rc = buf_puts(b, "]}]}");
	}
	if (rc == 0)
		rc = buf_puts(b, "]}");
	return rc;
}

static void demo_tick(void *arg)
{
	struct demo *d = arg;
	struct input_instance *in = d->in;
	struct chunk_builder cb;
	struct timespec now;
	struct buf req;
	uint64_t records = 0;
	char err[256];
	int64_t t;

	if (in->conf.samples > 0 && d->emitted >= (uint64_t)in->conf.samples)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - 500000000; /* finished just now */
	buf_init(&req, 1 << 20);
	if (build_trace(d, &req, t) == 0 &&
	    chunk_builder_init(&cb, STREAM_TRACES, in->conf.tag && *in->conf.tag ? in->conf.tag : in->name,
			       in->plugin->name, in->name, 4 << 20) == 0) {
		if (otlp_decode(OTLP_TRACES, OTLP_JSON, req.data, req.len, t, &cb, &records, err, sizeof(err)) == 0 &&
		    input_emit(in, &cb) == 0) {
			atomic_fetch_add(&in->stats.records, records);
			d->emitted++;
		} else {
			log_warn("%s: cannot build a demo trace: %s", in->name, err);
		}
		chunk_builder_free(&cb);
	}
	buf_free(&req);
}

static int demo_start(struct input_instance *in, char *err, size_t errlen)
{
	struct demo *d = calloc(1, sizeof(*d));
	struct timespec now;
	int rc;

	if (!d)
		return -ENOMEM;
	if (!(in->conf.rate > 0)) {
		snprintf(err, errlen, "%s: rate must be above 0", in->name);
		free(d);
		return -EINVAL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	d->rng = ((uint64_t)now.tv_sec * 1000000007ULL) ^ (uint64_t)now.tv_nsec ^ (uint64_t)(uintptr_t)d;
	if (!d->rng)
		d->rng = 88172645463325252ULL;
	d->in = in;
	if ((rc = ticker_start(1.0 / in->conf.rate, demo_tick, d, &d->ticker)) < 0) {
		snprintf(err, errlen, "%s: cannot start a thread", in->name);
		free(d);
		return rc;
	}
	in->priv = d;
	return 0;
}

static void demo_stop(struct input_instance *in)
{
	struct demo *d = in->priv;

	if (!d)
		return;
	ticker_stop(d->ticker);
	free(d);
	in->priv = NULL;
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def demo_traces_opts[] = {
	{ "name", OPT_STRING, "demo_traces", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, "demo.traces", 0, 0, OFF(tag), "tag of the traces" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name" },
	{ "rate", OPT_DOUBLE, "1", 0, 1000, OFF(rate), "traces per second" },
	{ "samples", OPT_INT, "0", 0, 1000000000000LL, OFF(samples), "stop after this many traces (0 = never)" },
	OPT_END,
};

const struct input_plugin input_demo_traces = {
	.name = "demo_traces",
	.help = "Generates realistic multi-service traces (seven spans over four services; one in five fails)",
	.opts = demo_traces_opts,
	.start = demo_start,
	.stop = demo_stop,
};
