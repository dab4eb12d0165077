/* in_prom_rw/decode.h: Prometheus remote write 1.0 WriteRequest (protobuf, already decompressed) to one cmetrics-shaped metrics context. */
#ifndef VIVO_PROM_RW_DECODE_H
#define VIVO_PROM_RW_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct prw_meta_cache;

/* Most label names one metric family may have (the union over its series). */
#define PRW_MAX_LABELS 128
/* Most buckets one native histogram point may expand to (its spans' gaps included). */
#define PRW_MAX_BUCKETS 4096

/* Decode the WriteRequest in p[0..n) and add it to `cb` (a metrics chunk) as one JSON line
 * in the spec's 3.4 shape: one metric per family (series grouped by __name__), samples and
 * native histograms as values, exemplars under meta.external, types and help from the
 * request's metadata or, for names it has none for, from `cache` (metadata of earlier
 * requests; the request's own metadata is added to it; NULL for none). All or nothing:
 * on error `cb` gets nothing. *samples counts the
 * samples and histogram points. 0 (also for a request without series: nothing is added);
 * -EINVAL for a malformed request (reason in err); -ENOSPC when the rendering is over
 * cb's limit; -ENOMEM. */
int prw_decode(const char *p, size_t n, struct prw_meta_cache *cache, struct chunk_builder *cb, uint64_t *samples,
	       char *err, size_t errlen);

#endif
