/* profiles.c: a map of Vivo key to what it injects (or why it cannot), a set of the keys of valid Deployment-mode Vivos, with "true" resolved to the only Sidecar-mode Vivo of a namespace. */
#include "profiles.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlutil.h"
#include "strmap.h"
#include "strset.h"

struct prof_ent {
	bool sidecar;
	char *invalid;           /* why the spec cannot render, or NULL */
	char *name;              /* the Vivo's name */
	char *configmap;
	char hash[80];
	json_t *container;       /* immutable once stored */
	long long otlp_port;
	int ports[RENDER_MAX_PORTS];
	int nports;
};

struct prof_reg {
	pthread_mutex_t mu;
	struct smap m;       /* Sidecar-mode and invalid Vivos: an entry each */
	/* Valid Deployment-mode Vivos, most of them: only their keys, in one pool (an entry
	 * each, allocated between renderings, was measured pinning free heap pages). */
	struct strset dep;
	bool ready;
};

/* What a key of `dep` resolves to. */
static struct prof_ent dep_mode;

static void ent_free(struct prof_ent *e)
{
	if (!e)
		return;
	free(e->invalid);
	free(e->name);
	free(e->configmap);
	json_decref(e->container);
	free(e);
}

struct prof_reg *prof_new(void)
{
	struct prof_reg *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	smap_init(&r->m);
	sset_init(&r->dep);
	return r;
}

void prof_free(struct prof_reg *r)
{
	struct smap_ent *e = NULL;
	size_t pos = 0;

	if (!r)
		return;
	while ((e = smap_next(&r->m, &pos, e)))
		ent_free(e->val);
	smap_free(&r->m);
	sset_free(&r->dep);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int prof_set(struct prof_reg *r, const char *key, const struct render_out *ro, const char *invalid)
{
	struct prof_ent *e;
	const char *slash = strchr(key, '/');
	void *old = NULL;
	char cm[320];
	int rc;

	if (ro && ro->mode != RENDER_MODE_SIDECAR) {
		pthread_mutex_lock(&r->mu);
		rc = sset_add(&r->dep, key);
		if (rc == 0)
			old = smap_del(&r->m, key);
		pthread_mutex_unlock(&r->mu);
		ent_free(old);
		return rc;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	if (!(e->name = strdup(slash ? slash + 1 : key)))
		goto nomem;
	if (!ro) {
		if (!(e->invalid = strdup(invalid ? invalid : "invalid spec")))
			goto nomem;
	} else {
		e->sidecar = ro->mode == RENDER_MODE_SIDECAR;
		if (e->sidecar) {
			render_configmap_name(e->name, cm, sizeof(cm));
			if (!(e->configmap = strdup(cm)) || !(e->container = json_deep_copy(ro->sidecar)))
				goto nomem;
			cu_strlcpy(e->hash, ro->hash, sizeof(e->hash));
			e->otlp_port = ro->otlp_port;
			e->nports = ro->nports;
			memcpy(e->ports, ro->ports, sizeof(e->ports));
		}
	}
	pthread_mutex_lock(&r->mu);
	rc = smap_put(&r->m, key, e, &old);
	if (rc == 0)
		sset_del(&r->dep, key);
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		goto nomem;
	ent_free(old);
	return 0;
nomem:
	ent_free(e);
	return -ENOMEM;
}

void prof_del(struct prof_reg *r, const char *key)
{
	void *old;

	pthread_mutex_lock(&r->mu);
	old = smap_del(&r->m, key);
	sset_del(&r->dep, key);
	pthread_mutex_unlock(&r->mu);
	ent_free(old);
}

void prof_set_ready(struct prof_reg *r, bool ready)
{
	pthread_mutex_lock(&r->mu);
	r->ready = ready;
	pthread_mutex_unlock(&r->mu);
}

/* Under the lock: the entry the label names, and its key. "true": the only valid
 * Sidecar-mode Vivo of the namespace (-EEXIST with their names in `why` when several). */
static struct prof_ent *resolve_locked(struct prof_reg *r, const char *ns, const char *value, char *key, size_t n,
				       int *rc, char *why, size_t whylen)
{
	struct smap_ent *it = NULL, *found = NULL;
	size_t pos = 0, nl = strlen(ns), count = 0;
	int w = 0;

	if (strcmp(value, "true") != 0) {
		struct prof_ent *e;

		snprintf(key, n, "%s/%s", ns, value);
		if (!(e = smap_get(&r->m, key)) && sset_has(&r->dep, key))
			e = &dep_mode;
		if (!e) {
			*rc = -ENOENT;
			snprintf(why, whylen, "there is no Vivo %s in namespace %s", value, ns);
			return NULL;
		}
		*rc = 0;
		return e;
	}
	while ((it = smap_next(&r->m, &pos, it))) {
		struct prof_ent *e = it->val;

		if (strncmp(it->key, ns, nl) != 0 || it->key[nl] != '/' || !e->sidecar || e->invalid)
			continue;
		if (count++ == 0)
			found = it;
		if (w >= 0 && (size_t)w < whylen)
			w += snprintf(why + w, whylen - (size_t)w, "%s%s", count > 1 ? ", " : "", e->name);
	}
	if (count == 0) {
		*rc = -ENOENT;
		snprintf(why, whylen, "there is no Sidecar-mode Vivo in namespace %s", ns);
		return NULL;
	}
	if (count > 1) {
		char names[256];

		cu_strlcpy(names, why, sizeof(names));
		snprintf(why, whylen, "namespace %s has %zu Sidecar-mode Vivos (%s): name one in the label", ns, count, names);
		*rc = -EEXIST;
		return NULL;
	}
	snprintf(key, n, "%s", found->key);
	*rc = 0;
	return found->val;
}

int prof_resolve(struct prof_reg *r, const char *ns, const char *value, char *key, size_t n, bool *sidecar)
{
	char why[256];
	struct prof_ent *e;
	int rc;

	pthread_mutex_lock(&r->mu);
	e = resolve_locked(r, ns, value, key, n, &rc, why, sizeof(why));
	if (e && sidecar)
		*sidecar = e->sidecar && !e->invalid;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int prof_lookup(void *reg, const char *ns, const char *value, struct inj_profile *p, char *why, size_t whylen)
{
	struct prof_reg *r = reg;
	struct prof_ent *e;
	char key[600];
	int rc;

	pthread_mutex_lock(&r->mu);
	if (!r->ready) {
		snprintf(why, whylen, "vivo-controller is starting (its caches are not synced yet)");
		rc = -EAGAIN;
		goto fail;
	}
	if (!(e = resolve_locked(r, ns, value, key, sizeof(key), &rc, why, whylen)))
		goto fail;
	if (e->invalid) {
		snprintf(why, whylen, "Vivo %s has an invalid spec (%s)", e->name, e->invalid);
		rc = -EINVAL;
		goto fail;
	}
	if (!e->sidecar) {
		snprintf(why, whylen, "Vivo %s is in Deployment mode, not Sidecar mode", value);
		rc = -EINVAL;
		goto fail;
	}
	memset(p, 0, sizeof(*p));
	p->vivo = e->name;
	p->hash = e->hash;
	p->configmap = e->configmap;
	p->container = e->container;
	p->otlp_port = e->otlp_port;
	p->ports = e->ports;
	p->nports = e->nports;
	return 0; /* locked until prof_release */
fail:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void prof_release(void *reg)
{
	struct prof_reg *r = reg;

	pthread_mutex_unlock(&r->mu);
}
