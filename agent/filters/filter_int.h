/* filters/filter_int.h: what the filter plugins share: the plugin interface, regexes, record accessors, msgpack object helpers. */
#ifndef VIVO_FILTER_INT_H
#define VIVO_FILTER_INT_H

#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "filter.h"
#include "opts.h"

/* A compiled Fluent Bit regular expression (Oniguruma, Ruby syntax, UTF-8). */
struct frx;
/* Compile `pattern` ("re", "/re/" or "/re/imx"). 0 or -EINVAL with a reason; -ENOMEM. */
int frx_new(const char *pattern, struct frx **out, char *err, size_t errlen);
/* True when the regex matches somewhere in s[0..n) (an unanchored search). */
bool frx_search(struct frx *re, const char *s, size_t n);
void frx_free(struct frx *re);

/* A record accessor: "$key", "$key['sub'][0]", or a plain top-level key. */
struct ra;
int ra_new(const char *pattern, bool plain_is_key, struct ra **out, char *err, size_t errlen);
void ra_free(struct ra *ra);
/* The value the accessor names in `map` (the last of duplicate keys, as Fluent Bit's
 * accessor finds it), or NULL. */
const msgpack_object *ra_get(const struct ra *ra, const msgpack_object *map);

/* msgpack objects built in a zone. */
bool fobj_is_str(const msgpack_object *o);
/* The bytes of a STR or BIN object. */
const char *fobj_bytes(const msgpack_object *o, size_t *n);
bool fobj_str_eq(const msgpack_object *o, const char *s, size_t n);
/* A STR object holding a copy of s[0..n) in the zone; false on ENOMEM. */
bool fobj_str(msgpack_zone *z, const char *s, size_t n, msgpack_object *out);
/* A map of `n` pairs (uninitialised) in the zone, or NULL. */
msgpack_object_kv *fobj_pairs(msgpack_zone *z, size_t n);

/* One [FILTER] instance. */
struct filter {
	const struct filter_plugin *p;
	char *match;
	struct frx *match_regex;
	const char *file;
	int line;
	void *priv;
};

/* What each filter plugin brings. `init` reads the section's plugin keys (already checked
 * against `opts`); `run` may replace *map with a new map built in `z` and says FILTER_KEEP,
 * FILTER_MODIFIED or FILTER_DROP; negative on ENOMEM (the record is then kept as it was). */
struct filter_plugin {
	const char *name;
	const char *help;
	const struct opt_def *opts;
	int (*init)(struct filter *f, const struct conf_section *s, char *err, size_t errlen);
	int (*run)(const struct filter *f, msgpack_object *map, msgpack_zone *z);
	void (*free)(struct filter *f);
};

extern const struct filter_plugin filter_grep, filter_modify, filter_record_modifier, filter_nest;

/* Split a rule value into at most `max` words; "double quoted" words may hold spaces
 * (\" inside). Words point into `buf` (a copy of the value of `cap` bytes). Returns
 * the count, or -1 when there are more than `max` or a quote is open. */
int filter_words(const char *value, char *buf, size_t cap, char **words, int max);

/* A rule key of section `s` with a bad value: "file:line: <plugin>: <what>". */
int filter_bad(const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
