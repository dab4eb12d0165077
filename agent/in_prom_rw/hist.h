/* in_prom_rw/hist.h: Prometheus native histograms (sparse spans and deltas) rendered as the exponential-histogram values of the metrics JSON. */
#ifndef VIVO_PROM_RW_HIST_H
#define VIVO_PROM_RW_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "decode.h"
#include "proto.h"

/* Scratch space for one histogram point (both sides), reused across points. */
struct prw_hist {
	int32_t span_off[2][PRW_MAX_BUCKETS];
	uint32_t span_len[2][PRW_MAX_BUCKETS];
	size_t nspans[2];
	int64_t icount[2][PRW_MAX_BUCKETS];
	double fcount[2][PRW_MAX_BUCKETS];
	size_t ncounts[2];
};

/* Render every Histogram (field `field`) of the TimeSeries message `series` into out as
 * `{"ts":..,"exp_histogram":{...}` followed by `tail` (the series' labels and hash), comma-
 * separated after the first (*first tracks it). Bucket index i of a Prometheus schema-s
 * histogram is OTLP's index i - 1 at scale s. *points counts what was rendered.
 * 0; -EINVAL for a malformed or inconsistent histogram (reason in err); buffer errors. */
int prw_hist_render(struct prw_hist *h, struct pb series, unsigned field, struct buf *out, const char *tail,
		    size_t tlen, bool *first, uint64_t *points, char *err, size_t errlen);

#endif
