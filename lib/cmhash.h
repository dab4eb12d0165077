/* cmhash.h: the 64-bit hash cmetrics (Fluent Bit 5.1.1) gives each series of a metric, XXH3-64 from Debian's libxxhash, so Vivo's values[].hash are the numbers Fluent Bit writes. */
#ifndef VIVO_CMHASH_H
#define VIVO_CMHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * What cmetrics hashes (cmt_map.c cmt_map_metric_get, cmt_decode_opentelemetry.c
 * compute_metric_hash; cfl_hash_64bits_* are XXH3_64bits_* with seed 0): the metric's fully
 * qualified name, then each label value's bytes in the order of the metric's label keys,
 * back to back with no separator and no terminator. The name is built as cmt_opts_init
 * builds it: "<ns>_" when ns is not empty, then "<ss>" followed by "_" unless ss already ends
 * in one when ss is not empty, then the name ("fluentbit" "input" "bytes_total" ->
 * "fluentbit_input_bytes_total"; "" "" "http.server.requests" -> "http.server.requests").
 * A sample without labels is cmetrics' static sample: its hash is 0, not the hash of the name.
 */

/* An XXH3 streaming state (opaque; libxxhash keeps its layout private to shared-library
 * users, so it is allocated by the library). */
struct cmhash;

/* A new state, or NULL when out of memory. The caller frees it with cmhash_free. */
struct cmhash *cmhash_new(void);
/* Free a state from cmhash_new; NULL is allowed. */
void cmhash_free(struct cmhash *h);

/* Start the series of metric ns/ss/name: feeds the fully qualified name (above). ns and ss
 * are NUL-terminated, NULL meaning ""; name is name_len bytes. Forgets any earlier series. */
void cmhash_start(struct cmhash *h, const char *ns, const char *ss, const char *name, size_t name_len);
/* Add the next label value, n bytes (n may be 0: an empty value adds no bytes but still
 * counts as a label). */
void cmhash_label(struct cmhash *h, const void *p, size_t n);
/* The hash of the series started: 0 when no label was added since cmhash_start. The state
 * is left as it was (more labels may follow). */
uint64_t cmhash_digest(const struct cmhash *h);

/* The hash of ns/ss/name with the n NUL-terminated label values v[0..n) in *out, in one call
 * (a state of its own, freed before it returns; none at all when n is 0). 0 or -ENOMEM. */
int cmhash_strings(const char *ns, const char *ss, const char *name, const char *const *v, size_t n,
		   uint64_t *out);

#endif
