/* strset.c: a string set as a pool of NUL-terminated members and a linear-probing index of their offsets, compacted when half of the pool is removed members. */
#include "strset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlutil.h"

#define SLOT_TOMB UINT32_MAX
#define POOL_MIN 1024u

void sset_init(struct strset *s)
{
	memset(s, 0, sizeof(*s));
}

void sset_free(struct strset *s)
{
	free(s->pool);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* The slot of str, or of the first free place on its probe sequence (*found false). */
static size_t probe(const struct strset *s, const char *str, size_t len, bool *found)
{
	size_t mask = s->nslots - 1, i = cu_fnv1a32(str, len) & mask, avail = SIZE_MAX;

	*found = false;
	for (;; i = (i + 1) & mask) {
		uint32_t v = s->slots[i];

		if (v == 0)
			return avail != SIZE_MAX ? avail : i;
		if (v == SLOT_TOMB) {
			if (avail == SIZE_MAX)
				avail = i;
		} else if (strncmp(s->pool + v - 1, str, len) == 0 && s->pool[v - 1 + len] == '\0') {
			*found = true;
			return i;
		}
	}
}

/* A new index of nslots for the members of `pool` (used bytes): every non-empty run. */
static int reindex(struct strset *s, char *pool, size_t used, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	size_t off = 0;

	if (!slots)
		return -ENOMEM;
	while (off < used) {
		size_t len = strlen(pool + off), i;

		if (len) {
			for (i = cu_fnv1a32(pool + off, len) & (nslots - 1); slots[i]; i = (i + 1) & (nslots - 1))
				;
			slots[i] = (uint32_t)(off + 1);
		}
		off += len + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	s->tombs = 0;
	return 0;
}

/* Rewrite the pool without its removed members, and index it anew. */
static int compact(struct strset *s)
{
	size_t live = s->used - s->dead, cap = live + live / 2 > POOL_MIN ? live + live / 2 : POOL_MIN, off = 0, w = 0;
	size_t nslots = 16;
	char *pool = malloc(cap);

	if (!pool)
		return -ENOMEM;
	while (off < s->used) {
		size_t len = strlen(s->pool + off);

		if (len) {
			memcpy(pool + w, s->pool + off, len + 1);
			w += len + 1;
		}
		off += len + 1;
	}
	while (nslots < (s->n + 1) * 3)
		nslots *= 2;
	if (reindex(s, pool, w, nslots) < 0) {
		free(pool);
		return -ENOMEM;
	}
	free(s->pool);
	s->pool = pool;
	s->cap = cap;
	s->used = w;
	s->dead = 0;
	return 0;
}

int sset_add(struct strset *s, const char *str)
{
	size_t len = strlen(str), i, n = 16;
	bool found;

	if (!len)
		return -EINVAL;
	if (s->nslots && (probe(s, str, len, &found), found))
		return 0;
	if (s->used + len + 1 > UINT32_MAX - 1)
		return -E2BIG;
	if (s->used + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : POOL_MIN;
		char *p;

		while (cap < s->used + len + 1)
			cap *= 2;
		if (!(p = realloc(s->pool, cap)))
			return -ENOMEM;
		s->pool = p;
		s->cap = cap;
	}
	if (!s->nslots || (s->n + s->tombs + 1) * 2 > s->nslots) {
		while (n < (s->n + 1) * 3)
			n *= 2;
		if (reindex(s, s->pool, s->used, n) < 0)
			return -ENOMEM;
	}
	i = probe(s, str, len, &found);
	if (s->slots[i] == SLOT_TOMB)
		s->tombs--;
	memcpy(s->pool + s->used, str, len + 1);
	s->slots[i] = (uint32_t)(s->used + 1);
	s->used += len + 1;
	s->n++;
	return 0;
}

void sset_del(struct strset *s, const char *str)
{
	size_t len = strlen(str), i;
	bool found;

	if (!len || !s->n)
		return;
	i = probe(s, str, len, &found);
	if (!found)
		return;
	memset(s->pool + s->slots[i] - 1, 0, len);
	s->slots[i] = SLOT_TOMB;
	s->tombs++;
	s->n--;
	s->dead += len + 1;
	if (s->dead > POOL_MIN && s->dead * 2 > s->used)
		compact(s); /* on failure the next removal tries again */
}

bool sset_has(const struct strset *s, const char *str)
{
	size_t len = strlen(str);
	bool found;

	if (!len || !s->n)
		return false;
	probe(s, str, len, &found);
	return found;
}

size_t sset_bytes(const struct strset *s)
{
	return s->cap + s->nslots * sizeof(*s->slots);
}
