/* addrmap.c: a chained hash of client addresses to counts (FNV-1a over the host text). */
#include "addrmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct addrmap_ent {
	struct addrmap_ent *next;
	unsigned count;
	char host[ADDRMAP_KEY_MAX];
};

void addrmap_host(const char *peer, char *out)
{
	const char *p = peer ? peer : "", *colon = strrchr(p, ':');
	size_t n = colon ? (size_t)(colon - p) : strlen(p);

	if (n && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n >= ADDRMAP_KEY_MAX)
		n = ADDRMAP_KEY_MAX - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static size_t slot(const struct addrmap *m, const char *host)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *host; host++)
		h = (h ^ (unsigned char)*host) * 1099511628211ULL;
	return (size_t)(h % m->nb);
}

static int grow(struct addrmap *m)
{
	size_t nb = m->nb ? m->nb * 4 : 256, i;
	struct addrmap_ent **b = calloc(nb, sizeof(*b)), *e, *next;
	struct addrmap old = *m;

	if (!b)
		return -ENOMEM;
	m->b = b;
	m->nb = nb;
	for (i = 0; i < old.nb; i++) {
		for (e = old.b[i]; e; e = next) {
			size_t k = slot(m, e->host);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(old.b);
	return 0;
}

int addrmap_add(struct addrmap *m, const char *host, int delta, unsigned *count)
{
	struct addrmap_ent **pp, *e;
	long long c;

	if ((!m->nb || m->n >= 2 * m->nb) && grow(m) < 0 && !m->nb)
		return -ENOMEM;
	for (pp = &m->b[slot(m, host)]; (e = *pp); pp = &e->next)
		if (strcmp(e->host, host) == 0)
			break;
	if (!e) {
		if (delta <= 0) {
			if (count)
				*count = 0;
			return 0;
		}
		if (!(e = calloc(1, sizeof(*e))))
			return -ENOMEM;
		memcpy(e->host, host, strnlen(host, ADDRMAP_KEY_MAX - 1));
		*pp = e;
		m->n++;
	}
	c = (long long)e->count + delta;
	e->count = c > 0 ? (unsigned)c : 0;
	if (count)
		*count = e->count;
	if (e->count == 0) {
		*pp = e->next;
		free(e);
		m->n--;
	}
	return 0;
}

unsigned addrmap_get(const struct addrmap *m, const char *host)
{
	const struct addrmap_ent *e;

	if (!m->nb)
		return 0;
	for (e = m->b[slot(m, host)]; e; e = e->next)
		if (strcmp(e->host, host) == 0)
			return e->count;
	return 0;
}

void addrmap_free(struct addrmap *m)
{
	struct addrmap_ent *e, *next;
	size_t i;

	for (i = 0; i < m->nb; i++) {
		for (e = m->b[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
