/* strmap.c: a chained hash map from strings to pointers (FNV-1a, doubling at load 1). */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
	size_t h = (size_t)14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * (size_t)1099511628211ULL;
	return h;
}

void smap_init(struct smap *m)
{
	memset(m, 0, sizeof(*m));
}

void smap_free(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->nb; i++) {
		struct smap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

static struct smap_ent *find(const struct smap *m, const char *key)
{
	size_t h;
	struct smap_ent *e;

	if (!m->nb)
		return NULL;
	h = hash(key);
	for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const char *smap_key(const struct smap *m, const char *key)
{
	struct smap_ent *e = find(m, key);

	return e ? e->key : NULL;
}

void *smap_get(const struct smap *m, const char *key)
{
	struct smap_ent *e = find(m, key);

	return e ? e->val : NULL;
}

static int grow(struct smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16, i;
	struct smap_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < m->nb; i++) {
		struct smap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int smap_put(struct smap *m, const char *key, void *val, void **old)
{
	size_t h = hash(key), len;
	struct smap_ent *e;

	if (old)
		*old = NULL;
	if (m->nb) {
		for (e = m->b[h & (m->nb - 1)]; e; e = e->next) {
			if (e->hash == h && strcmp(e->key, key) == 0) {
				if (old)
					*old = e->val;
				e->val = val;
				return 0;
			}
		}
	}
	if (m->n >= m->nb && grow(m) < 0 && !m->nb)
		return -ENOMEM;
	len = strlen(key);
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return -ENOMEM;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->val = val;
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->n++;
	return 0;
}

void *smap_del(struct smap *m, const char *key)
{
	size_t h;
	struct smap_ent **pp, *e;
	void *v;

	if (!m->nb)
		return NULL;
	h = hash(key);
	for (pp = &m->b[h & (m->nb - 1)]; (e = *pp); pp = &e->next) {
		if (e->hash == h && strcmp(e->key, key) == 0) {
			*pp = e->next;
			v = e->val;
			free(e);
			m->n--;
			return v;
		}
	}
	return NULL;
}

struct smap_ent *smap_next(const struct smap *m, size_t *pos, struct smap_ent *e)
{
	if (e && e->next)
		return e->next;
	if (e)
		(*pos)++;
	for (; *pos < m->nb; (*pos)++)
		if (m->b[*pos])
			return m->b[*pos];
	return NULL;
}
