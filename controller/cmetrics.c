/* cmetrics.c: fixed metric families with label series created on demand, rendered as Prometheus text. */
#include "cmetrics.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlutil.h"

enum kind { COUNTER, GAUGE, HISTOGRAM };

static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))
/* Admission reviews take well under a millisecond: the same number of finer buckets. */
static const double fine_bounds[NBOUNDS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005,
					     0.006, 0.0075, 0.01, 0.025, 0.1, 1 };

struct family {
	const char *name, *help;
	enum kind kind;
	const char *l1, *l2; /* label names or NULL */
	const double *bounds; /* histogram buckets (NBOUNDS of them); NULL = bounds */
};

static const struct family fams[CMET_FAMILIES] = {
	[CMET_RECONCILE_TOTAL] = { "vivo_controller_reconcile_total", "Reconciles by result.", COUNTER, "result", NULL, NULL },
	[CMET_RECONCILE_SECONDS] = { "vivo_controller_reconcile_duration_seconds", "Time spent in one reconcile.", HISTOGRAM, NULL, NULL, NULL },
	[CMET_QUEUE_DEPTH] = { "vivo_controller_workqueue_depth", "Keys ready in the work queue.", GAUGE, NULL, NULL, NULL },
	[CMET_QUEUE_RETRIES] = { "vivo_controller_workqueue_retries_total", "Keys re-queued with backoff.", COUNTER, NULL, NULL, NULL },
	[CMET_WATCH_RESTARTS] = { "vivo_controller_watch_restarts_total", "Watches restarted, by resource and reason.", COUNTER, "resource", "reason", NULL },
	[CMET_WATCH_EVENTS] = { "vivo_controller_watch_events_total", "Watch events received, by resource and type.", COUNTER, "resource", "type", NULL },
	[CMET_API_SECONDS] = { "vivo_controller_api_request_duration_seconds", "API server request latency by verb and HTTP code (0 = no response).", HISTOGRAM, "verb", "code", NULL },
	[CMET_API_WRITES] = { "vivo_controller_api_writes_total", "Writes sent to the API server, by resource and verb.", COUNTER, "resource", "verb", NULL },
	[CMET_LEADER] = { "vivo_controller_leader", "1 while this replica holds the leader Lease (or runs without election).", GAUGE, NULL, NULL, NULL },
	[CMET_SYNCED] = { "vivo_controller_caches_synced", "1 once every watch has listed.", GAUGE, NULL, NULL, NULL },
	[CMET_CACHE_OBJECTS] = { "vivo_controller_cache_objects", "Objects held in the informer caches.", GAUGE, "resource", NULL, NULL },
	[CMET_CACHE_BYTES] = { "vivo_controller_cache_bytes", "Bytes of the cached objects: their JSON text (json), and what the cache holds for them, deflated, with its dictionary (stored).", GAUGE, "resource", "form", NULL },
	[CMET_WEBHOOK_REQUESTS] = { "vivo_controller_webhook_requests_total", "Admission requests answered by the webhook, by result.", COUNTER, "result", NULL, NULL },
	[CMET_WEBHOOK_SECONDS] = { "vivo_controller_webhook_duration_seconds", "Time the controller takes to answer an admission request, from the whole request in to the answer queued.", HISTOGRAM, NULL, NULL, fine_bounds },
	[CMET_WEBHOOK_UPLOAD_SECONDS] = { "vivo_controller_webhook_upload_seconds", "Time from an admission request's headers to the end of its body (the client's sending).", HISTOGRAM, NULL, NULL, fine_bounds },
	[CMET_WEBHOOK_CERTS] = { "vivo_controller_webhook_certificate_events_total", "Webhook certificate events: loaded (served), created, renewed, rotation stages.", COUNTER, "event", NULL, NULL },
	[CMET_WEBHOOK_CERT_EXPIRY] = { "vivo_controller_webhook_certificate_expiry_timestamp_seconds", "notAfter of the certificate the webhook serves.", GAUGE, NULL, NULL, NULL },
	[CMET_WEBHOOK_CONFIG_APPLIES] = { "vivo_controller_webhook_configuration_applies_total", "Server-side applies of the MutatingWebhookConfiguration.", COUNTER, NULL, NULL, NULL },
};

struct series {
	char l1[48], l2[48];
	double value;
	double sum;
	unsigned long long count, buckets[NBOUNDS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Grown as series appear (most families have one to a few): 64 of them for every family
 * up front was ~250 KB of zeroed, resident heap. */
static struct series *series[CMET_FAMILIES];
static size_t nseries[CMET_FAMILIES], capseries[CMET_FAMILIES];

static struct series *find(enum cmet_family f, const char *l1, const char *l2, int create)
{
	size_t i;

	l1 = l1 ? l1 : "";
	l2 = l2 ? l2 : "";
	for (i = 0; i < nseries[f]; i++)
		if (strcmp(series[f][i].l1, l1) == 0 && strcmp(series[f][i].l2, l2) == 0)
			return &series[f][i];
	if (!create || nseries[f] >= CMET_MAX_SERIES)
		return NULL;
	if (nseries[f] == capseries[f]) {
		size_t cap = capseries[f] ? capseries[f] * 2 : 1;
		struct series *n = realloc(series[f], cap * sizeof(*n));

		if (!n)
			return NULL;
		series[f] = n;
		capseries[f] = cap;
	}
	i = nseries[f]++;
	memset(&series[f][i], 0, sizeof(series[f][i]));
	cu_strlcpy(series[f][i].l1, l1, sizeof(series[f][i].l1));
	cu_strlcpy(series[f][i].l2, l2, sizeof(series[f][i].l2));
	return &series[f][i];
}

void cmet_add(enum cmet_family f, const char *l1, const char *l2, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = find(f, l1, l2, 1)))
		s->value += v;
	pthread_mutex_unlock(&mu);
}

void cmet_set(enum cmet_family f, const char *l1, const char *l2, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = find(f, l1, l2, 1)))
		s->value = v;
	pthread_mutex_unlock(&mu);
}

double cmet_get(enum cmet_family f, const char *l1, const char *l2)
{
	struct series *s;
	double v = 0;

	pthread_mutex_lock(&mu);
	if ((s = find(f, l1, l2, 0)))
		v = fams[f].kind == HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&mu);
	return v;
}

void cmet_observe(enum cmet_family f, const char *l1, const char *l2, double seconds)
{
	const double *bd = fams[f].bounds ? fams[f].bounds : bounds;
	struct series *s;
	size_t i;

	pthread_mutex_lock(&mu);
	if ((s = find(f, l1, l2, 1))) {
		s->count++;
		s->sum += seconds;
		for (i = 0; i < NBOUNDS; i++)
			if (seconds <= bd[i])
				s->buckets[i]++;
	}
	pthread_mutex_unlock(&mu);
}

unsigned long long cmet_rss_bytes(void)
{
	unsigned long long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static int labels(struct buf *out, const struct family *fm, const struct series *s, const char *extra_k, const char *extra_v)
{
	int rc = 0, n = 0;

	if (!fm->l1 && !extra_k)
		return 0;
	rc = buf_putc(out, '{');
	if (fm->l1 && rc == 0) {
		rc = buf_printf(out, "%s=\"%s\"", fm->l1, s->l1);
		n++;
	}
	if (fm->l2 && rc == 0) {
		rc = buf_printf(out, ",%s=\"%s\"", fm->l2, s->l2);
		n++;
	}
	if (extra_k && rc == 0)
		rc = buf_printf(out, "%s%s=\"%s\"", n ? "," : "", extra_k, extra_v);
	if (rc == 0)
		rc = buf_putc(out, '}');
	return rc;
}

int cmet_render(struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	size_t f, i, b;
	int rc = 0;

	pthread_mutex_lock(&mu);
	for (f = 0; f < CMET_FAMILIES && rc == 0; f++) {
		const struct family *fm = &fams[f];

		rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fm->name, fm->help, fm->name, types[fm->kind]);
		/* A family without labels always shows its one series. */
		if (!fm->l1 && nseries[f] == 0)
			find((enum cmet_family)f, NULL, NULL, 1);
		for (i = 0; i < nseries[f] && rc == 0; i++) {
			const struct series *s = &series[f][i];
			char le[32];

			if (fm->kind != HISTOGRAM) {
				if ((rc = buf_puts(out, fm->name)) == 0 && (rc = labels(out, fm, s, NULL, NULL)) == 0)
					rc = buf_printf(out, " %.17g\n", s->value);
				continue;
			}
			for (b = 0; b <= NBOUNDS && rc == 0; b++) {
				if (b < NBOUNDS)
					snprintf(le, sizeof(le), "%g", fm->bounds ? fm->bounds[b] : bounds[b]);
				else
					snprintf(le, sizeof(le), "+Inf");
				if ((rc = buf_printf(out, "%s_bucket", fm->name)) == 0 && (rc = labels(out, fm, s, "le", le)) == 0)
					rc = buf_printf(out, " %llu\n", b < NBOUNDS ? s->buckets[b] : s->count);
			}
			if (rc == 0 && (rc = buf_printf(out, "%s_sum", fm->name)) == 0 && (rc = labels(out, fm, s, NULL, NULL)) == 0)
				rc = buf_printf(out, " %.17g\n", s->sum);
			if (rc == 0 && (rc = buf_printf(out, "%s_count", fm->name)) == 0 && (rc = labels(out, fm, s, NULL, NULL)) == 0)
				rc = buf_printf(out, " %llu\n", s->count);
		}
	}
	pthread_mutex_unlock(&mu);
	if (rc == 0)
		rc = buf_printf(out, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
				"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
				cmet_rss_bytes());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	if (rc == 0) {
		/* What the allocator holds: in use (including mmapped blocks) and free inside its heap
		 * (resident or not): RSS above the live data is the second. */
		struct mallinfo2 mi = mallinfo2();

		rc = buf_printf(out, "# HELP vivo_controller_heap_bytes Bytes the allocator holds, in use or free.\n"
				"# TYPE vivo_controller_heap_bytes gauge\nvivo_controller_heap_bytes{state=\"in_use\"} %zu\n"
				"vivo_controller_heap_bytes{state=\"free\"} %zu\n", mi.uordblks + mi.hblkhd, mi.fordblks);
	}
#endif
	return rc;
}
