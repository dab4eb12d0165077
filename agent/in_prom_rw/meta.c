/* in_prom_rw/meta.c: a fixed-capacity, linear-probing table of family name -> metadata behind a read-write lock. */
#include "meta.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

struct prw_meta_cache {
	pthread_rwlock_t lock;
	struct prw_meta *e; /* name == NULL: empty */
	size_t mask, n, max;
};

struct prw_meta_cache *prw_meta_cache_new(size_t max)
{
	struct prw_meta_cache *c = calloc(1, sizeof(*c));
	size_t size = 16;

	if (!c)
		return NULL;
	while (size < 2 * max)
		size *= 2;
	if (!(c->e = calloc(size, sizeof(*c->e))) || pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c->e);
		free(c);
		return NULL;
	}
	c->mask = size - 1;
	c->max = max;
	return c;
}

void prw_meta_cache_free(struct prw_meta_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i <= c->mask; i++) {
		free((char *)c->e[i].name);
		free((char *)c->e[i].help);
		free((char *)c->e[i].unit);
	}
	free(c->e);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

static size_t slot_of(const struct prw_meta_cache *c, const char *name, size_t n)
{
	size_t i;

	for (i = htab_hash(name, n, 0) & c->mask; c->e[i].name; i = (i + 1) & c->mask)
		if (c->e[i].name_n == n && memcmp(c->e[i].name, name, n) == 0)
			break;
	return i;
}

static int dup_cut(const char **dst, size_t *dn, const char *src, size_t n, size_t max)
{
	char *p;

	if (n > max)
		n = max;
	if (*dst && *dn == n && memcmp(*dst, src, n) == 0)
		return 0;
	if (!(p = malloc(n + 1)))
		return -ENOMEM;
	memcpy(p, src, n);
	p[n] = '\0';
	free((char *)*dst);
	*dst = p;
	*dn = n;
	return 0;
}

int prw_meta_cache_update(struct prw_meta_cache *c, const struct prw_meta *m, size_t n)
{
	size_t k;
	int rc = 0;

	if (!c || n == 0)
		return 0;
	pthread_rwlock_wrlock(&c->lock);
	for (k = 0; k < n && rc == 0; k++) {
		size_t nn = m[k].name_n > PRW_META_NAME_MAX ? PRW_META_NAME_MAX : m[k].name_n, i;
		struct prw_meta *e;

		if (nn == 0)
			continue;
		e = &c->e[i = slot_of(c, m[k].name, nn)];
		if (!e->name && c->n == c->max)
			continue; /* full: only known names are updated */
		if (!e->name) {
			if ((rc = dup_cut(&e->name, &e->name_n, m[k].name, nn, PRW_META_NAME_MAX)) < 0)
				break;
			c->n++;
		}
		e->type = m[k].type;
		if ((rc = dup_cut(&e->help, &e->help_n, m[k].help, m[k].help_n, PRW_META_HELP_MAX)) == 0)
			rc = dup_cut(&e->unit, &e->unit_n, m[k].unit, m[k].unit_n, PRW_META_UNIT_MAX);
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

void prw_meta_cache_read_begin(struct prw_meta_cache *c)
{
	if (c)
		pthread_rwlock_rdlock(&c->lock);
}

void prw_meta_cache_read_end(struct prw_meta_cache *c)
{
	if (c)
		pthread_rwlock_unlock(&c->lock);
}

const struct prw_meta *prw_meta_cache_find(const struct prw_meta_cache *c, const char *name, size_t n)
{
	size_t i;

	if (!c || n == 0 || n > PRW_META_NAME_MAX)
		return NULL;
	i = slot_of(c, name, n);
	return c->e[i].name ? &c->e[i] : NULL;
}

size_t prw_meta_cache_size(struct prw_meta_cache *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	n = c->n;
	pthread_rwlock_unlock(&c->lock);
	return n;
}
