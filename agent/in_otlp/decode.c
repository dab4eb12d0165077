/* in_otlp/decode.c: otlp_decode, the entry of the OTLP decoders: the per-thread context, the JSON
 * body to msgpack, the request opened through the wire view, then the signal's renderer. */
#include "decode.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmhash.h"
#include "common.h"
#include "jsonmp.h"
#include "mp.h"

enum stream_kind otlp_stream(enum otlp_signal sig)
{
	return sig == OTLP_LOGS ? STREAM_LOGS : sig == OTLP_METRICS ? STREAM_METRICS : STREAM_TRACES;
}

/* Each thread keeps its context and scratch buffers between requests: no allocation and no
 * page faults for the steady state. Buffers that grew past this are given back. */
#define KEEP_BYTES (1u << 20)

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_each_buf(struct oc_ctx *x, void (*fn)(struct buf *b, size_t max), size_t max)
{
	struct buf *const all[] = { &x->doc, &x->line, &x->shared, &x->mp, &x->mp2, &x->tmp, &x->metrics,
				    &x->ot[0], &x->ot[1], &x->ot[2], &x->ot[3], &x->ot[4], &x->ot[5] };
	size_t i;

	for (i = 0; i < COUNT(all); i++)
		fn(all[i], max);
}

static void buf_release(struct buf *b, size_t max)
{
	(void)max;
	if (b->cap > KEEP_BYTES)
		buf_free(b);
	buf_reset(b);
}

static void buf_drop(struct buf *b, size_t max)
{
	(void)max;
	buf_free(b);
}

static void buf_limit(struct buf *b, size_t max)
{
	b->max = max;
}

static void ctx_free(void *p)
{
	struct oc_ctx *x = p;

	if (!x)
		return;
	ctx_each_buf(x, buf_drop, 0);
	cmhash_free(x->hash);
	free(x);
}

static void ctx_key_init(void)
{
	pthread_key_create(&ctx_key, ctx_free);
}

/* This thread's context, reset; *owned says the caller must free it (no TSD slot). */
static struct oc_ctx *ctx_get(bool *owned)
{
	struct oc_ctx *x;

	pthread_once(&ctx_once, ctx_key_init);
	*owned = false;
	if ((x = pthread_getspecific(ctx_key)))
		return x;
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	if (pthread_setspecific(ctx_key, x) != 0)
		*owned = true;
	return x;
}

int otlp_decode(enum otlp_signal sig, enum otlp_format fmt, const char *body, size_t n, int64_t now_ns,
		struct chunk_builder *cb, uint64_t *records, char *err, size_t errlen)
{
	static const struct ow_desc *const reqs[] = { &otlp_logs_request, &otlp_metrics_request, &otlp_traces_request };
	size_t limit = cb->text.max, off = 0;
	struct ow_msg req;
	struct oc_ctx *x;
	bool owned;
	int rc;

	*records = 0;
	if (!(x = ctx_get(&owned)))
		return -ENOMEM;
	x->json = fmt == OTLP_JSON;
	x->now_ns = now_ns;
	x->rc = 0;
	x->records = 0;
	x->e.msg[0] = '\0';
	/* Scratch buffers never need more than the chunk itself may hold. */
	ctx_each_buf(x, buf_limit, limit);
	x->doc.max = 3 * n + 1024;
	if (x->json) {
		char jerr[160];

		rc = jsonmp_next(body, n, &off, &x->doc, jerr, sizeof(jerr));
		if (rc == 1) {
			rc = oc_fail(x, "empty JSON body");
		} else if (rc == -EINVAL) {
			rc = oc_fail(x, "invalid JSON: %s", jerr);
		} else if (rc == 0 && jsonmp_next(body, n, &off, &x->doc, jerr, sizeof(jerr)) != 1) {
			rc = oc_fail(x, "invalid JSON: more than one value in the body");
		}
		if (rc == 0)
			rc = ow_open(&req, reqs[sig], true, x->doc.data, x->doc.len, 0, &x->e);
	} else {
		rc = ow_open(&req, reqs[sig], false, body ? body : "", n, 0, &x->e);
	}
	if (rc == 0) {
		switch (sig) {
		case OTLP_LOGS: rc = otlp_logs_render(x, &req, cb); break;
		case OTLP_METRICS: rc = otlp_metrics_render(x, &req, cb); break;
		case OTLP_TRACES: rc = otlp_traces_render(x, &req, cb); break;
		}
	}
	if (rc == 0 && x->rc)
		rc = x->rc;
	if (rc == MP_EBAD || rc == MP_ETRUNC)
		rc = oc_fail(x, "cannot render the records");
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s", x->e.msg);
	*records = x->records;
	if (owned)
		ctx_free(x);
	else
		ctx_each_buf(x, buf_release, 0);
	return rc;
}
