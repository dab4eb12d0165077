/* addrmap.h: counts per client address (the host part of "ip:port"), for per-address caps on
 * connections and held requests; not thread-safe (callers hold their own lock). */
#ifndef VIVO_ADDRMAP_H
#define VIVO_ADDRMAP_H

#include <stddef.h>

#define ADDRMAP_KEY_MAX 64

struct addrmap_ent;

struct addrmap {
	struct addrmap_ent **b; /* buckets, allocated on first use */
	size_t nb;
	size_t n;               /* addresses with a count above 0 */
};

/* The host part of a peer string ("1.2.3.4:56" -> "1.2.3.4", "::1:56" -> "::1",
 * "[::1]:56" -> "::1") into out (ADDRMAP_KEY_MAX bytes). */
void addrmap_host(const char *peer, char *out);
/* Add `delta` (may be negative) to the count of `host`; *count gets the new count (NULL
 * allowed). An address whose count reaches 0 is forgotten. 0, or -ENOMEM (nothing changed). */
int addrmap_add(struct addrmap *m, const char *host, int delta, unsigned *count);
/* The count of `host` (0 when unknown). */
unsigned addrmap_get(const struct addrmap *m, const char *host);
/* Forget everything. */
void addrmap_free(struct addrmap *m);

#endif
