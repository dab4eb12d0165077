/* opts.c: table-driven option parsing with Fluent Bit's value conventions. */
#include "opts.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : (char)tolower((unsigned char)*a);
		char y = *b == '-' ? '_' : (char)tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return *a == *b;
}

const struct opt_def *opts_find(const struct opt_def *t, const char *name)
{
	for (; t->name; t++)
		if (name_eq(t->name, name))
			return t;
	return NULL;
}

int opts_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int opts_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	uint64_t v, mult = 1;
	size_t n = strlen(s);

	/* Fluent Bit's units are decimal: K = 1000, M = 1000^2, G = 1000^3, optional B. */
	if (n && (s[n - 1] == 'B' || s[n - 1] == 'b') && n >= 2 && !isdigit((unsigned char)s[n - 2]))
		n--;
	if (n && strchr("KkMmGg", s[n - 1])) {
		switch (tolower((unsigned char)s[n - 1])) {
		case 'k': mult = 1000ULL; break;
		case 'm': mult = 1000000ULL; break;
		case 'g': mult = 1000000000ULL; break;
		}
		n--;
	} else if (n && (s[n - 1] == 'B' || s[n - 1] == 'b')) {
		n--; /* "100B" = 100 bytes */
	}
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	if (opts_parse_u64(num, UINT64_MAX / mult, &v) < 0)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

int opts_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" }, *const no[] = { "off", "false", "no", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

const char *opts_type_name(enum opt_type t)
{
	switch (t) {
	case OPT_STRING: return "string";
	case OPT_INT: return "integer";
	case OPT_BOOL: return "bool";
	case OPT_SIZE: return "size";
	case OPT_DOUBLE: return "number";
	case OPT_LIST: return "string (repeatable)";
	case OPT_COMPAT: return "accepted, no effect";
	}
	return "?";
}

static int bad_value(const struct opt_def *d, const char *value, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: '%s' is not a valid %s", d->name, value, opts_type_name(d->type));
	return -EINVAL;
}

static int out_of_range(const struct opt_def *d, const char *value, const char *unit, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s is out of range [%lld, %lld]%s", d->name, value, d->min, d->max, unit);
	return -EINVAL;
}

static int set_int(const struct opt_def *d, long long *field, const char *value, char *err, size_t errlen)
{
	bool neg = value[0] == '-';
	uint64_t u;
	long long v;

	if (opts_parse_u64(value + neg, (uint64_t)LLONG_MAX, &u) < 0)
		return bad_value(d, value, err, errlen);
	v = neg ? -(long long)u : (long long)u;
	if (v < d->min || v > d->max)
		return out_of_range(d, value, "", err, errlen);
	*field = v;
	return 0;
}

static int set_size(const struct opt_def *d, uint64_t *field, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (opts_parse_size(value, &v) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a size (bytes, or a number with K, M or G; units are decimal)",
			 d->name, value);
		return -EINVAL;
	}
	if ((long long)v < d->min || (d->max && v > (uint64_t)d->max))
		return out_of_range(d, value, " bytes", err, errlen);
	*field = v;
	return 0;
}

static int set_double(const struct opt_def *d, double *field, const char *value, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(v))
		return bad_value(d, value, err, errlen);
	if (v < (double)d->min || v > (double)d->max)
		return out_of_range(d, value, "", err, errlen);
	*field = v;
	return 0;
}

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int add_list(struct opt_list *l, const char *value)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	if (!(v[l->n] = strdup(value)))
		return -ENOMEM;
	l->n++;
	return 0;
}

bool opts_accepts(const char *accept, const char *value)
{
	const char *p = accept;
	size_t n = strlen(value);

	while (*p) {
		size_t k = strcspn(p, "|");

		if (k == n && strncasecmp(p, value, n) == 0)
			return true;
		p += k + (p[k] == '|');
	}
	return false;
}

int opts_set(const struct opt_def *d, void *base, const char *value, char *err, size_t errlen)
{
	void *field = (char *)base + d->off;

	switch (d->type) {
	case OPT_STRING: return set_string(field, value);
	case OPT_INT: return set_int(d, field, value, err, errlen);
	case OPT_BOOL: return opts_parse_bool(value, field) < 0 ? bad_value(d, value, err, errlen) : 0;
	case OPT_SIZE: return set_size(d, field, value, err, errlen);
	case OPT_DOUBLE: return set_double(d, field, value, err, errlen);
	case OPT_LIST: return add_list(field, value);
	case OPT_COMPAT:
		return 0;
	}
	return bad_value(d, value, err, errlen);
}

int opts_defaults(const struct opt_def *t, void *base)
{
	char err[256];
	int rc;

	for (; t->name; t++) {
		if (t->type == OPT_STRING) {
			free(*(char **)(void *)((char *)base + t->off));
			*(char **)(void *)((char *)base + t->off) = NULL;
		}
		if (t->def && t->type != OPT_COMPAT && t->type != OPT_LIST &&
		    (rc = opts_set(t, base, t->def, err, sizeof(err))) < 0)
			return rc;
	}
	return 0;
}

void opts_free(const struct opt_def *t, void *base)
{
	size_t i;

	for (; t->name; t++) {
		char *field = (char *)base + t->off;

		if (t->type == OPT_STRING) {
			free(*(char **)(void *)field);
			*(char **)(void *)field = NULL;
		} else if (t->type == OPT_LIST) {
			struct opt_list *l = (struct opt_list *)(void *)field;

			for (i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}

void opts_names(const struct opt_def *t, char *out, size_t n)
{
	size_t len = 0;

	if (n)
		out[0] = '\0';
	for (; t->name && len + 1 < n; t++) {
		int k = snprintf(out + len, n - len, "%s%s", len ? ", " : "", t->name);

		if (k < 0)
			break;
		len += (size_t)k;
	}
}
