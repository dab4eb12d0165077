/* cmetrics.h: the controller's Prometheus metrics: labelled counters, gauges and latency histograms, thread-safe. */
#ifndef VIVO_CMETRICS_H
#define VIVO_CMETRICS_H

#include "buf.h"

/* Series are created on first use, up to a fixed number per family (the rest are dropped:
 * label values come from a closed set, so this bound is only a guard). */
#define CMET_MAX_SERIES 64

enum cmet_family {
	CMET_RECONCILE_TOTAL,      /* counter {result} */
	CMET_RECONCILE_SECONDS,    /* histogram */
	CMET_QUEUE_DEPTH,          /* gauge */
	CMET_QUEUE_RETRIES,        /* counter */
	CMET_WATCH_RESTARTS,       /* counter {resource, reason} */
	CMET_WATCH_EVENTS,         /* counter {resource, type} */
	CMET_API_SECONDS,          /* histogram {verb, code} */
	CMET_API_WRITES,           /* counter {resource, verb} */
	CMET_LEADER,               /* gauge */
	CMET_SYNCED,               /* gauge */
	CMET_CACHE_OBJECTS,        /* gauge {resource} */
	CMET_CACHE_BYTES,          /* gauge {resource, form}: json (the objects' text), stored (deflated, with the dictionary) */
	CMET_WEBHOOK_REQUESTS,     /* counter {result} */
	CMET_WEBHOOK_SECONDS,      /* histogram: request in to answer queued (finer buckets: 0.1 ms up) */
	CMET_WEBHOOK_UPLOAD_SECONDS, /* histogram: headers in to the whole body in (the client's pace) */
	CMET_WEBHOOK_CERTS,        /* counter {event}: loaded, created, renewed, rotated ... */
	CMET_WEBHOOK_CERT_EXPIRY,  /* gauge: notAfter of the served certificate (unix seconds) */
	CMET_WEBHOOK_CONFIG_APPLIES, /* counter: applies of the MutatingWebhookConfiguration */
	CMET_FAMILIES
};

/* Add `v` to a counter (or set a gauge) with up to two label values (NULL when unused). */
void cmet_add(enum cmet_family f, const char *l1, const char *l2, double v);
void cmet_set(enum cmet_family f, const char *l1, const char *l2, double v);
/* Record one observation in a histogram. */
void cmet_observe(enum cmet_family f, const char *l1, const char *l2, double seconds);
/* The current value of a counter or gauge series (0 when absent). */
double cmet_get(enum cmet_family f, const char *l1, const char *l2);
/* Prometheus text exposition format 0.0.4, plus process_resident_memory_bytes and (glibc)
 * vivo_controller_heap_bytes{state="in_use"|"free"}: the allocator's live and free bytes. */
int cmet_render(struct buf *out);
/* Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown. */
unsigned long long cmet_rss_bytes(void);

#endif
