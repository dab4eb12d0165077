/* test_cmhash.c: unit tests for lib/cmhash against the hashes Fluent Bit 5.1.1's cmetrics wrote in the captures (tests/fixtures/fluent-bit-5.1.1), plus the name rules and the streaming calls. */
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "cmhash.h"
#include "tap.h"

/* One series as Fluent Bit served it: opts.ns, opts.ss, opts.name, values[].labels, values[].hash. */
struct vec {
	const char *src, *ns, *ss, *name;
	const char *labels[3];
	size_t n;
	uint64_t hash;
};

/* Copied from the fixtures' decoded payloads, each from the file named. */
static const struct vec vecs[] = {
	/* OTLP metrics Fluent Bit's opentelemetry input decoded (cmt_decode_opentelemetry): ns and ss empty. */
	{ "forward-metrics-otlp-01", "", "", "http.server.requests", { "POST", "200" }, 2, 15719662371135266513ULL },
	{ "forward-metrics-otlp-01", "", "", "http.server.requests", { "POST", "500" }, 2, 4157156412003127605ULL },
	{ "forward-metrics-otlp-01", "", "", "http.server.duration", { "POST" }, 1, 11091723445520572106ULL },
	{ "forward-metrics-otlp-01", "", "", "process.memory.usage", { NULL }, 0, 0 },
	/* Fluent Bit's own metrics (cmt_map_metric_get): ns fluentbit, ss empty or not. */
	{ "exporter-internal-metrics-01", "fluentbit", "", "uptime", { "vm" }, 1, 14422074905289377809ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "logger", "logs_total", { "error" }, 1, 17506100955943729344ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "logger", "queue_enqueued_total", { NULL }, 0, 0 },
	{ "exporter-internal-metrics-01", "fluentbit", "input", "bytes_total", { "http.1" }, 1, 15490083465588767564ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "input", "records_total", { "forward.0" }, 1, 13056790908281524477ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "output", "proc_records_total", { "vivo_exporter.0" }, 1,
	  9239957208346926779ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "routing_logs", "records_total", { "http.1", "vivo_exporter.0" }, 2,
	  15203338132310049442ULL },
	{ "exporter-internal-metrics-01", "fluentbit", "build", "info", { "vm", "5.1.1", "linux" }, 3,
	  9744549520672815668ULL },
	{ "forward-metrics-fluentdcompat-01", "fluentbit", "input_metrics", "scrapes_total", { "fluentbit_metrics.0" }, 1,
	  14712530311786223830ULL },
	{ "forward-metrics-gzip-03", "fluentbit", "output", "latency_seconds", { "fluentbit_metrics.0", "forward.0" }, 2,
	  12896859971716737619ULL },
};

static void test_fixtures(void)
{
	struct cmhash *h = cmhash_new();
	size_t i, j;

	ok(h != NULL, "cmhash_new");
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		uint64_t one = 1, streamed;
		int rc = cmhash_strings(v->ns, v->ss, v->name, v->labels, v->n, &one);

		ok(rc == 0 && one == v->hash,
		   "%s: %s/%s/%s with %zu labels: %llu (Fluent Bit: %llu)", v->src, v->ns, v->ss, v->name, v->n,
		   (unsigned long long)one, (unsigned long long)v->hash);
		/* The same state serves one series after another. */
		cmhash_start(h, v->ns, v->ss, v->name, strlen(v->name));
		for (j = 0; j < v->n; j++)
			cmhash_label(h, v->labels[j], strlen(v->labels[j]));
		streamed = cmhash_digest(h);
		ok(streamed == v->hash, "... and streamed on a reused state");
	}
	cmhash_free(h);
}

static uint64_t xxh3(const char *s)
{
	return XXH3_64bits(s, strlen(s));
}

static void test_names(void)
{
	const char *ab[] = { "a", "b" }, *empty[] = { "", "" }, *joined[] = { "ab" };
	uint64_t h;

	/* cmt_opts_init: "<ns>_" when ns is not empty; "<ss>_" when ss is not empty, without a
	 * second "_" when ss ends in one; the values back to back. */
	ok(cmhash_strings("ns", "ss", "m", ab, 2, &h) == 0 && h == xxh3("ns_ss_mab"), "ns_ss_name, then the values");
	ok(cmhash_strings("ns", "", "m", ab, 2, &h) == 0 && h == xxh3("ns_mab"), "an empty ss adds nothing");
	ok(cmhash_strings("", "ss", "m", ab, 2, &h) == 0 && h == xxh3("ss_mab"), "an empty ns adds nothing");
	ok(cmhash_strings(NULL, NULL, "m", ab, 2, &h) == 0 && h == xxh3("mab"), "NULL ns and ss are empty");
	ok(cmhash_strings("ns", "ss_", "m", ab, 2, &h) == 0 && h == xxh3("ns_ss_mab"), "an ss ending in _ gets no second one");
	ok(cmhash_strings("", "", "m", ab, 2, &h) == 0 && h == xxh3("mab") && cmhash_strings("", "", "m", joined, 1, &h) == 0 &&
	   h == xxh3("mab"), "no separator between values: [a, b] and [ab] hash alike, as in cmetrics");
	ok(cmhash_strings("", "", "m", empty, 2, &h) == 0 && h == xxh3("m") && h != 0,
	   "empty label values are labels: the hash of the name alone, not 0");
	h = 1;
	ok(cmhash_strings("ns", "ss", "m", NULL, 0, &h) == 0 && h == 0, "no labels: 0 (cmetrics' static sample)");
}

static void test_state(void)
{
	struct cmhash *h = cmhash_new();

	cmhash_start(h, "", "", "name", 4);
	ok(cmhash_digest(h) == 0, "a series without labels digests to 0");
	cmhash_label(h, "x", 1);
	ok(cmhash_digest(h) == xxh3("namex"), "a label added after a digest continues the series");
	ok(cmhash_digest(h) == xxh3("namex"), "digest leaves the state as it was");
	cmhash_label(h, NULL, 0);
	ok(cmhash_digest(h) == xxh3("namex"), "an empty value (NULL, 0) adds no bytes");
	cmhash_start(h, "", "", "other", 5);
	cmhash_label(h, "y", 1);
	ok(cmhash_digest(h) == xxh3("othery"), "cmhash_start forgets the previous series");
	cmhash_start(h, "", "", "abcdef", 3);
	cmhash_label(h, "z", 1);
	ok(cmhash_digest(h) == xxh3("abcz"), "the name is name_len bytes");
	{ /* past XXH3's short-input sizes (240 bytes) and its 256-byte stripes, in pieces */
		static char big[3000], all[4000];
		size_t i, n = 0;

		memset(big, 'v', sizeof(big));
		cmhash_start(h, "ns", "ss", "m", 1);
		memcpy(all, "ns_ss_m", 7);
		n = 7;
		for (i = 1; i < 60; i += 7) {
			cmhash_label(h, big, i * 7);
			memcpy(all + n, big, i * 7);
			n += i * 7;
		}
		ok(n > 1024 && cmhash_digest(h) == XXH3_64bits(all, n), "long series (%zu bytes) streamed = XXH3 of the whole", n);
	}
	cmhash_free(h);
	cmhash_free(NULL);
	ok(1, "cmhash_free(NULL) is a no-op");
}

int main(void)
{
	test_fixtures();
	test_names();
	test_state();
	return tap_done();
}
