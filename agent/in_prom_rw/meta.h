/* in_prom_rw/meta.h: metric metadata (type, help, unit) remembered across requests, since senders such as Prometheus and the Collector send it in requests of its own. */
#ifndef VIVO_PROM_RW_META_H
#define VIVO_PROM_RW_META_H

#include <stddef.h>
#include <stdint.h>

/* Longest name, help and unit kept; longer ones are cut. */
#define PRW_META_NAME_MAX 256
#define PRW_META_HELP_MAX 1024
#define PRW_META_UNIT_MAX 64

struct prw_meta {
	const char *name, *help, *unit;
	size_t name_n, help_n, unit_n;
	uint64_t type; /* prompb MetricMetadata.MetricType */
};

struct prw_meta_cache;

/* A cache of at most `max` metric family names (later names are not remembered once it is
 * full; a known name's entry is updated). NULL on ENOMEM. Thread-safe. */
struct prw_meta_cache *prw_meta_cache_new(size_t max);
void prw_meta_cache_free(struct prw_meta_cache *c);
/* Remember the metadata of one request (copied), under the write lock. 0 or -ENOMEM. */
int prw_meta_cache_update(struct prw_meta_cache *c, const struct prw_meta *m, size_t n);
/* Lookups happen between read_begin and read_end; what find returns stays valid until
 * read_end. find returns NULL for an unknown name. All NULL-safe on c. */
void prw_meta_cache_read_begin(struct prw_meta_cache *c);
void prw_meta_cache_read_end(struct prw_meta_cache *c);
const struct prw_meta *prw_meta_cache_find(const struct prw_meta_cache *c, const char *name, size_t n);
size_t prw_meta_cache_size(struct prw_meta_cache *c);

#endif
