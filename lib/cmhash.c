/* cmhash.c: cmetrics' series hash (XXH3-64 of the fully qualified name and the label values) on libxxhash's streaming state. */
#include "cmhash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

struct cmhash {
	XXH3_state_t *st;
	size_t labels; /* label values added since cmhash_start */
};

struct cmhash *cmhash_new(void)
{
	struct cmhash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (!(h->st = XXH3_createState())) {
		free(h);
		return NULL;
	}
	return h;
}

void cmhash_free(struct cmhash *h)
{
	if (!h)
		return;
	XXH3_freeState(h->st);
	free(h);
}

/* libxxhash refuses a NULL input even with length 0 in some builds: never pass one. */
static void feed(struct cmhash *h, const void *p, size_t n)
{
	if (n)
		(void)XXH3_64bits_update(h->st, p, n);
}

void cmhash_start(struct cmhash *h, const char *ns, const char *ss, const char *name, size_t name_len)
{
	size_t nss = ss ? strlen(ss) : 0;

	(void)XXH3_64bits_reset(h->st);
	h->labels = 0;
	if (ns && *ns) {
		feed(h, ns, strlen(ns));
		feed(h, "_", 1);
	}
	if (nss) {
		feed(h, ss, nss);
		if (ss[nss - 1] != '_')
			feed(h, "_", 1);
	}
	feed(h, name, name_len);
}

void cmhash_label(struct cmhash *h, const void *p, size_t n)
{
	feed(h, p, n);
	h->labels++;
}

uint64_t cmhash_digest(const struct cmhash *h)
{
	return h->labels ? (uint64_t)XXH3_64bits_digest(h->st) : 0;
}

int cmhash_strings(const char *ns, const char *ss, const char *name, const char *const *v, size_t n,
		   uint64_t *out)
{
	struct cmhash *h;
	size_t i;

	*out = 0;
	if (n == 0)
		return 0;
	if (!(h = cmhash_new()))
		return -ENOMEM;
	cmhash_start(h, ns, ss, name, strlen(name));
	for (i = 0; i < n; i++)
		cmhash_label(h, v[i], strlen(v[i]));
	*out = cmhash_digest(h);
	cmhash_free(h);
	return 0;
}
