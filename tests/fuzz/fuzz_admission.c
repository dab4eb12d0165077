/* fuzz_admission.c: libFuzzer target for the webhook's AdmissionReview decoder and review: the patch it answers must apply to the pod and be idempotent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admission.h"
#include "ctlutil.h"
#include "inject.h"
#include "kobj.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct render_out ro;
static int ready;

/* The registry's stand-in: one Sidecar-mode Vivo "prof" everywhere (native by the first byte). */
static int lookup(void *ctx, const char *ns, const char *value, struct inj_profile *p, char *why, size_t n)
{
	(void)ctx;
	(void)ns;
	if (strcmp(value, "prof") != 0 && strcmp(value, "true") != 0) {
		snprintf(why, n, "no Vivo %s", value);
		return -2; /* -ENOENT */
	}
	memset(p, 0, sizeof(*p));
	p->vivo = "prof";
	p->hash = ro.hash;
	p->configmap = "prof-config";
	p->container = ro.sidecar;
	p->otlp_port = ro.otlp_port;
	p->ports = ro.ports;
	p->nports = ro.nports;
	p->native = true;
	return 0;
}

static void setup(void)
{
	static const struct render_opts o = { "vivo-agent:0.1.0", "fluent/fluent-bit:5.1.1", NULL };
	json_t *v = json_loads("{\"metadata\":{\"name\":\"prof\",\"namespace\":\"apps\",\"uid\":\"u\"},"
			       "\"spec\":{\"mode\":\"Sidecar\"}}", 0, NULL);
	char err[256];

	if (!v || render_vivo(v, &o, &ro, err, sizeof(err)) < 0)
		abort();
	json_decref(v);
	ready = 1;
}

/* The response's patch applies to the request's pod, and building again on the result is empty. */
static void check(const char *body, size_t len, const char *resp)
{
	struct adm_req rq;
	struct inj_result again;
	struct inj_profile p;
	json_t *r = json_loads(resp, 0, NULL), *patch = NULL;
	const char *b64 = kobj_str(r, "response.patch", NULL);
	char err[256], *raw = NULL, why[64];
	size_t n;

	if (!r)
		abort(); /* the webhook answered something that is not JSON */
	if (b64 && adm_decode(body, len, &rq, err, sizeof(err)) == 0) {
		if (cu_b64_decode(b64, strlen(b64), &raw, &n) < 0 || !(patch = json_loadb(raw, n, 0, NULL)))
			abort();
		if (inj_apply(rq.object, patch, err, sizeof(err)) < 0)
			abort(); /* a patch that does not apply to the pod it was made for */
		if (lookup(NULL, "", "prof", &p, why, sizeof(why)) == 0 &&
		    inj_build(rq.object, &p, &again, err, sizeof(err)) == 0) {
			if (!again.present || json_array_size(again.patch))
				abort(); /* not idempotent */
			inj_result_free(&again);
		}
		json_decref(patch);
		free(raw);
		adm_req_free(&rq);
	}
	json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adm_env env = { lookup, NULL, NULL };
	const char *result;
	struct buf out;
	char err[512];

	if (!ready)
		setup();
	buf_init(&out, 16u << 20);
	if (adm_review((const char *)data, size, &env, &out, &result, err, sizeof(err)) == 0 && out.data) {
		if (buf_putc(&out, '\0') == 0)
			check((const char *)data, size, out.data);
	}
	buf_free(&out);
	return 0;
}
