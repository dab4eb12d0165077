/* filters/grep.c: the grep filter: keep or drop records by regular expressions on their values (Regex, Exclude, Logical_Op), as Fluent Bit's flb_grep does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_int.h"
#include "log.h"

enum grep_type { GREP_REGEX, GREP_EXCLUDE };
enum grep_op { OP_LEGACY, OP_AND, OP_OR };

struct grep_rule {
	enum grep_type type;
	struct ra *ra;
	struct frx *re;
};

struct grep {
	enum grep_op op;
	struct grep_rule *rules;
	size_t n;
};

/* A rule matches when the key names a string value that the regex finds (other types, or
 * a missing key, do not match: Fluent Bit's flb_ra_regex_match). */
static bool rule_matches(const struct grep_rule *r, const msgpack_object *map)
{
	const msgpack_object *v = ra_get(r->ra, map);

	return v && v->type == MSGPACK_OBJECT_STR && frx_search(r->re, v->via.str.ptr, v->via.str.size);
}

static int grep_run(const struct filter *f, msgpack_object *map, msgpack_zone *z)
{
	const struct grep *g = f->priv;
	bool found = false;
	size_t i;

	(void)z;
	if (g->n == 0)
		return FILTER_KEEP;
	if (g->op == OP_LEGACY) {
		/* In order: a Regex that does not match drops the record, an Exclude that
		 * matches drops it, and the first Regex that matches keeps it. */
		for (i = 0; i < g->n; i++) {
			bool m = rule_matches(&g->rules[i], map);

			if (!m && g->rules[i].type == GREP_REGEX)
				return FILTER_DROP;
			if (m)
				return g->rules[i].type == GREP_EXCLUDE ? FILTER_DROP : FILTER_KEEP;
		}
		return FILTER_KEEP;
	}
	/* AND / OR over rules of one type (mixing them is a config error). */
	for (i = 0; i < g->n; i++) {
		found = rule_matches(&g->rules[i], map);
		if ((g->op == OP_OR && found) || (g->op == OP_AND && !found))
			break;
	}
	if (g->rules[0].type == GREP_REGEX)
		return found ? FILTER_KEEP : FILTER_DROP;
	return found ? FILTER_DROP : FILTER_KEEP;
}

static int add_rule(struct grep *g, enum grep_type type, const struct conf_section *s, const struct conf_kv *kv,
		    char *err, size_t errlen)
{
	struct grep_rule *r, *grown;
	const char *sp = strpbrk(kv->val, " \t");
	char key[512], why[256];
	int rc;

	if (!sp || sp == kv->val || (size_t)(sp - kv->val) >= sizeof(key))
		return filter_bad(s, kv, err, errlen, "grep: %s needs 'KEY REGEX'", kv->key);
	if (g->op != OP_LEGACY && g->n && g->rules[0].type != type)
		return filter_bad(s, kv, err, errlen, "grep: Regex and Exclude cannot be mixed with Logical_Op %s",
				  g->op == OP_AND ? "AND" : "OR");
	if (!(grown = realloc(g->rules, (g->n + 1) * sizeof(*grown))))
		return -ENOMEM;
	g->rules = grown;
	r = &g->rules[g->n];
	memset(r, 0, sizeof(*r));
	r->type = type;
	memcpy(key, kv->val, (size_t)(sp - kv->val));
	key[sp - kv->val] = '\0';
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if ((rc = ra_new(key, true, &r->ra, why, sizeof(why))) < 0 || (rc = frx_new(sp, &r->re, why, sizeof(why))) < 0) {
		ra_free(r->ra);
		return rc == -EINVAL ? filter_bad(s, kv, err, errlen, "grep: %s: %s", kv->key, why) : rc;
	}
	g->n++;
	return 0;
}

static void grep_free(struct filter *f)
{
	struct grep *g = f->priv;
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++) {
		ra_free(g->rules[i].ra);
		frx_free(g->rules[i].re);
	}
	free(g->rules);
	free(g);
	f->priv = NULL;
}

static int grep_init(struct filter *f, const struct conf_section *s, char *err, size_t errlen)
{
	struct grep *g = calloc(1, sizeof(*g));
	size_t i;
	int rc = 0;

	if (!g)
		return -ENOMEM;
	f->priv = g;
	/* Logical_Op first: it decides whether Regex and Exclude may mix. */
	for (i = 0; i < s->n; i++) {
		if (strcasecmp(s->kv[i].key, "logical_op") != 0)
			continue;
		if (strcasecmp(s->kv[i].val, "and") == 0)
			g->op = OP_AND;
		else if (strcasecmp(s->kv[i].val, "or") == 0)
			g->op = OP_OR;
		else if (strcasecmp(s->kv[i].val, "legacy") == 0)
			g->op = OP_LEGACY;
		else
			log_warn("%s:%d: grep: Logical_Op '%s' is not AND, OR or legacy: legacy it is (as in Fluent Bit)",
				 s->file, s->kv[i].line, s->kv[i].val);
	}
	for (i = 0; rc == 0 && i < s->n; i++) {
		if (strcasecmp(s->kv[i].key, "regex") == 0)
			rc = add_rule(g, GREP_REGEX, s, &s->kv[i], err, errlen);
		else if (strcasecmp(s->kv[i].key, "exclude") == 0)
			rc = add_rule(g, GREP_EXCLUDE, s, &s->kv[i], err, errlen);
	}
	return rc;
}

static const struct opt_def grep_opts[] = {
	{ "regex", OPT_LIST, NULL, 0, 0, 0, "KEY REGEX: keep records whose KEY (or $key['sub'] accessor) matches (repeatable)" },
	{ "exclude", OPT_LIST, NULL, 0, 0, 0, "KEY REGEX: drop records whose KEY matches (repeatable)" },
	{ "logical_op", OPT_STRING, "legacy", 0, 0, 0, "legacy (rules in order), AND or OR (then Regex and Exclude cannot mix)" },
	OPT_END,
};

const struct filter_plugin filter_grep = {
	.name = "grep",
	.help = "Keep or drop records by regular expressions on their values.",
	.opts = grep_opts,
	.init = grep_init,
	.run = grep_run,
	.free = grep_free,
};
