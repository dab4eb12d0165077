/* opts.h: option tables (name, type, default, bounds, help) that drive parsing and docs. */
#ifndef VIVO_OPTS_H
#define VIVO_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opt_type {
	OPT_STRING, /* char * (owned, freed by opts_free) */
	OPT_INT,    /* long long within [min, max] */
	OPT_BOOL,   /* bool: on/off, true/false, yes/no, 1/0 */
	OPT_SIZE,   /* uint64_t bytes; decimal units K M G (optional B), within [min, max] */
	OPT_DOUBLE, /* double within [min, max] */
	OPT_LIST,   /* struct opt_list: the key may repeat; each value is appended */
	OPT_COMPAT, /* a Fluent Bit key accepted for compatibility, with no effect */
};

struct opt_list {
	char **v;
	size_t n;
};

struct opt_def {
	const char *name;
	enum opt_type type;
	const char *def;   /* default as text (NULL = none) */
	long long min;
	long long max;
	size_t off;        /* offset of the field in the config struct */
	const char *help;  /* for OPT_COMPAT: why the key has no effect in Vivo */
};

#define OPT_END { NULL, OPT_COMPAT, NULL, 0, 0, 0, NULL }

/* Find `name` (case-insensitive, '-' and '_' alike) in a table ended by OPT_END. */
const struct opt_def *opts_find(const struct opt_def *t, const char *name);
/* Store every default into the struct at `base`. 0 or -ENOMEM. */
int opts_defaults(const struct opt_def *t, void *base);
/* Parse `value` for option `d` into `base` (OPT_COMPAT takes any value).
 * 0, or -EINVAL with a reason in `err`; -ENOMEM. */
int opts_set(const struct opt_def *d, void *base, const char *value, char *err, size_t errlen);
/* True when `value` is one of `accept`, "a|b|c" (case-insensitive). */
bool opts_accepts(const char *accept, const char *value);
/* Free the strings and lists of a struct filled from `t`. */
void opts_free(const struct opt_def *t, void *base);
/* Write "a, b, c" (every option name of the table) into out. */
void opts_names(const struct opt_def *t, char *out, size_t n);
/* Type name for docs ("size", "bool", ...). */
const char *opts_type_name(enum opt_type t);

/* Bounded parsers for numbers from outside. 0 or -EINVAL. */
int opts_parse_size(const char *s, uint64_t *out);
int opts_parse_bool(const char *s, bool *out);
int opts_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
