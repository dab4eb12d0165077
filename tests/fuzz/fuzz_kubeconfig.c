/* fuzz_kubeconfig.c: libFuzzer target for the kubeconfig loader (YAML parsing, merging, context selection). */
#include <stddef.h>
#include <stdint.h>

#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_auth a;
	char err[512];
	json_t *doc = NULL;

	kcfg_parse((const char *)data, size, "/fuzz", NULL, &a, err, sizeof(err));
	kcfg_free(&a);
	kcfg_parse((const char *)data, size, NULL, "dev", &a, err, sizeof(err));
	kcfg_free(&a);
	/* The same text merged twice: lists grow, the first entries win. */
	if (kcfg_merge(&doc, (const char *)data, size, "/a", err, sizeof(err)) == 0 &&
	    kcfg_merge(&doc, (const char *)data, size, "/b", err, sizeof(err)) == 0) {
		kcfg_select(doc, NULL, &a, err, sizeof(err));
		kcfg_free(&a);
	}
	json_decref(doc);
	return 0;
}
