/* filters/modify.c: the modify filter: Fluent Bit's rules (Set, Add, Remove*, Rename, Hard_rename, Copy, Hard_copy, Move_to_*) applied in order when every Condition holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_int.h"
#include "log.h"

enum rule_type { SET, ADD, REMOVE, REMOVE_WILDCARD, REMOVE_REGEX, RENAME, HARD_RENAME, COPY, HARD_COPY,
		 MOVE_TO_START, MOVE_TO_END };
enum cond_type { KEY_EXISTS, KEY_DOES_NOT_EXIST, A_KEY_MATCHES, NO_KEY_MATCHES, KEY_VALUE_EQUALS,
		 KEY_VALUE_DOES_NOT_EQUAL, KEY_VALUE_MATCHES, KEY_VALUE_DOES_NOT_MATCH,
		 MATCHING_KEYS_HAVE_MATCHING_VALUES, MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES };

struct rule {
	enum rule_type type;
	char *a, *b;          /* key, and value or new key */
	size_t alen, blen;
	struct frx *re;       /* Remove_regex */
};

struct cond {
	enum cond_type type;
	struct ra *ra;        /* the key (a record accessor) */
	struct frx *ka, *vb;  /* key regex, value regex */
	char *b;
	size_t blen;
};

struct modify {
	struct rule *rules;
	size_t nrules;
	struct cond *conds;
	size_t nconds;
};

static const struct { const char *name; enum rule_type type; int words; } rule_names[] = {
	{ "set", SET, 2 }, { "add", ADD, 2 }, { "add_if_not_present", ADD, 2 }, { "remove", REMOVE, 1 },
	{ "remove_wildcard", REMOVE_WILDCARD, 1 }, { "remove_regex", REMOVE_REGEX, 1 }, { "rename", RENAME, 2 },
	{ "hard_rename", HARD_RENAME, 2 }, { "copy", COPY, 2 }, { "hard_copy", HARD_COPY, 2 },
	{ "move_to_start", MOVE_TO_START, 1 }, { "move_to_end", MOVE_TO_END, 1 },
};

static const struct { const char *name; enum cond_type type; int words; bool key_re, val_re; } cond_names[] = {
	{ "key_exists", KEY_EXISTS, 1, false, false },
	{ "key_does_not_exist", KEY_DOES_NOT_EXIST, 1, false, false },
	{ "a_key_matches", A_KEY_MATCHES, 1, true, false },
	{ "no_key_matches", NO_KEY_MATCHES, 1, true, false },
	{ "key_value_equals", KEY_VALUE_EQUALS, 2, false, false },
	{ "key_value_does_not_equal", KEY_VALUE_DOES_NOT_EQUAL, 2, false, false },
	{ "key_value_matches", KEY_VALUE_MATCHES, 2, false, true },
	{ "key_value_does_not_match", KEY_VALUE_DOES_NOT_MATCH, 2, false, true },
	{ "matching_keys_have_matching_values", MATCHING_KEYS_HAVE_MATCHING_VALUES, 2, true, true },
	{ "matching_keys_do_not_have_matching_values", MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES, 2, true, true },
};

/* ---- conditions (modify.c's evaluate_condition_*) ---- */

/* Keys and values a regex is tried on: strings, and booleans as "true"/"false". */
static bool obj_matches(const msgpack_object *o, struct frx *re)
{
	if (o->type == MSGPACK_OBJECT_STR)
		return frx_search(re, o->via.str.ptr, o->via.str.size);
	if (o->type == MSGPACK_OBJECT_BOOLEAN)
		return o->via.boolean ? frx_search(re, "true", 4) : frx_search(re, "false", 5);
	return false;
}

static size_t keys_matching(const msgpack_object *map, struct frx *re)
{
	size_t i, n = 0;

	for (i = 0; i < map->via.map.size; i++)
		n += map->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR && obj_matches(&map->via.map.ptr[i].key, re);
	return n;
}

static bool cond_holds(const struct cond *c, const msgpack_object *map)
{
	const msgpack_object *v = c->ra ? ra_get(c->ra, map) : NULL;
	size_t i;

	switch (c->type) {
	case KEY_EXISTS: return v != NULL;
	case KEY_DOES_NOT_EXIST: return v == NULL;
	case A_KEY_MATCHES: return keys_matching(map, c->ka) > 0;
	case NO_KEY_MATCHES: return keys_matching(map, c->ka) == 0;
	case KEY_VALUE_EQUALS: return v && fobj_str_eq(v, c->b, c->blen);
	case KEY_VALUE_DOES_NOT_EQUAL: return v && !fobj_str_eq(v, c->b, c->blen);
	case KEY_VALUE_MATCHES: return v && obj_matches(v, c->vb);
	case KEY_VALUE_DOES_NOT_MATCH: return v && !obj_matches(v, c->vb);
	case MATCHING_KEYS_HAVE_MATCHING_VALUES:
	case MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES:
		for (i = 0; i < map->via.map.size; i++) {
			const msgpack_object_kv *kv = &map->via.map.ptr[i];

			if (kv->key.type == MSGPACK_OBJECT_STR && obj_matches(&kv->key, c->ka) && !obj_matches(&kv->val, c->vb))
				return c->type == MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES;
		}
		return c->type == MATCHING_KEYS_HAVE_MATCHING_VALUES;
	}
	return false;
}

/* ---- rules (modify.c's apply_rule_*) ---- */

static bool is_key(const msgpack_object_kv *kv, const char *k, size_t n)
{
	return fobj_str_eq(&kv->key, k, n);
}

/* Key starts with the wildcard's text (Fluent Bit compares its first len bytes). */
static bool is_prefixed(const msgpack_object_kv *kv, const char *k, size_t n)
{
	size_t len;
	const char *b = fobj_bytes(&kv->key, &len);

	return b && len >= n && memcmp(b, k, n) == 0;
}

static size_t count_keys(const msgpack_object *map, const char *k, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < map->via.map.size; i++)
		c += is_key(&map->via.map.ptr[i], k, n);
	return c;
}

/* Which pairs a removal-type rule takes out. */
static bool removed(const struct rule *r, const msgpack_object_kv *kv)
{
	if (r->type == REMOVE_WILDCARD)
		return is_prefixed(kv, r->a, r->alen);
	if (r->type == REMOVE_REGEX)
		return kv->key.type == MSGPACK_OBJECT_STR && obj_matches(&kv->key, r->re);
	return is_key(kv, r->a, r->alen);
}

static int remove_pairs(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	msgpack_object_kv *out = fobj_pairs(z, map->via.map.size);
	uint32_t i, n = 0;

	if (!out)
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++)
		if (!removed(r, &map->via.map.ptr[i]))
			out[n++] = map->via.map.ptr[i];
	if (n == map->via.map.size)
		return FILTER_KEEP;
	map->via.map.ptr = out;
	map->via.map.size = n;
	return FILTER_MODIFIED;
}

/* Set and Add: drop (Set) the pairs of the key, append key = value (a string). */
static int set_pair(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	size_t have = count_keys(map, r->a, r->alen);
	msgpack_object_kv *out;
	uint32_t i, n = 0;

	if (r->type == ADD && have)
		return FILTER_KEEP;
	if (!(out = fobj_pairs(z, map->via.map.size - have + 1)))
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++)
		if (!is_key(&map->via.map.ptr[i], r->a, r->alen))
			out[n++] = map->via.map.ptr[i];
	if (!fobj_str(z, r->a, r->alen, &out[n].key) || !fobj_str(z, r->b, r->blen, &out[n].val))
		return -ENOMEM;
	map->via.map.ptr = out;
	map->via.map.size = n + 1;
	return FILTER_MODIFIED;
}

/* Rename / Hard_rename in place; Hard_rename first drops the pairs of the new key. */
static int rename_key(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	size_t match = count_keys(map, r->a, r->alen), conflict = count_keys(map, r->b, r->blen);
	msgpack_object_kv *out;
	msgpack_object nk;
	uint32_t i, n = 0;

	if (match == 0 || (r->type == RENAME && conflict))
		return FILTER_KEEP;
	if (!(out = fobj_pairs(z, map->via.map.size)) || !fobj_str(z, r->b, r->blen, &nk))
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++) {
		msgpack_object_kv kv = map->via.map.ptr[i];

		if (is_key(&kv, r->b, r->blen))
			continue; /* a conflict, Hard_rename only */
		if (is_key(&kv, r->a, r->alen))
			kv.key = nk;
		out[n++] = kv;
	}
	map->via.map.ptr = out;
	map->via.map.size = n;
	return FILTER_MODIFIED;
}

/* Copy / Hard_copy: the copy goes right after the original (one original only). */
static int copy_key(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	size_t match = count_keys(map, r->a, r->alen), conflict = count_keys(map, r->b, r->blen);
	msgpack_object_kv *out;
	msgpack_object nk;
	uint32_t i, n = 0;

	if (match != 1 || (r->type == COPY && conflict) || conflict > 1)
		return FILTER_KEEP;
	if (!(out = fobj_pairs(z, map->via.map.size + 1)) || !fobj_str(z, r->b, r->blen, &nk))
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (is_key(kv, r->b, r->blen))
			continue;
		out[n++] = *kv;
		if (is_key(kv, r->a, r->alen)) {
			out[n].key = nk;
			out[n++].val = kv->val;
		}
	}
	map->via.map.ptr = out;
	map->via.map.size = n;
	return FILTER_MODIFIED;
}

/* Move_to_start / Move_to_end: the pairs whose key starts with the text, in order. */
static int move_keys(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	msgpack_object_kv *out = fobj_pairs(z, map->via.map.size);
	uint32_t i, n = 0, pass;
	bool front = r->type == MOVE_TO_START, any = false;

	if (!out)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < map->via.map.size; i++) {
			bool m = is_prefixed(&map->via.map.ptr[i], r->a, r->alen);

			any |= m;
			if (m == (front ? pass == 0 : pass == 1))
				out[n++] = map->via.map.ptr[i];
		}
	}
	if (!any)
		return FILTER_KEEP;
	map->via.map.ptr = out;
	return FILTER_MODIFIED;
}

static int apply(const struct rule *r, msgpack_object *map, msgpack_zone *z)
{
	switch (r->type) {
	case SET: case ADD: return set_pair(r, map, z);
	case REMOVE: case REMOVE_WILDCARD: case REMOVE_REGEX: return remove_pairs(r, map, z);
	case RENAME: case HARD_RENAME: return rename_key(r, map, z);
	case COPY: case HARD_COPY: return copy_key(r, map, z);
	case MOVE_TO_START: case MOVE_TO_END: return move_keys(r, map, z);
	}
	return FILTER_KEEP;
}

static int modify_run(const struct filter *f, msgpack_object *map, msgpack_zone *z)
{
	const struct modify *m = f->priv;
	size_t i;
	int rc = FILTER_KEEP, r;

	for (i = 0; i < m->nconds; i++)
		if (!cond_holds(&m->conds[i], map))
			return FILTER_KEEP;
	for (i = 0; i < m->nrules; i++) {
		if ((r = apply(&m->rules[i], map, z)) < 0)
			return r;
		if (r == FILTER_MODIFIED)
			rc = r;
	}
	return rc;
}

/* ---- configuration ---- */

static int add_cond(struct modify *m, const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen)
{
	char buf[4096], why[256], *w[3];
	int n = filter_words(kv->val, buf, sizeof(buf), w, 3), rc = 0;
	struct cond *c, *grown;
	size_t i;

	for (i = 0; n > 0 && i < sizeof(cond_names) / sizeof(cond_names[0]); i++)
		if (strcasecmp(w[0], cond_names[i].name) == 0)
			break;
	if (n < 1 || i == sizeof(cond_names) / sizeof(cond_names[0]))
		return filter_bad(s, kv, err, errlen, "modify: unknown condition '%s'", kv->val);
	if (n - 1 != cond_names[i].words)
		return filter_bad(s, kv, err, errlen, "modify: condition %s takes %d parameter%s", cond_names[i].name,
				  cond_names[i].words, cond_names[i].words == 1 ? "" : "s");
	if (!(grown = realloc(m->conds, (m->nconds + 1) * sizeof(*grown))))
		return -ENOMEM;
	m->conds = grown;
	c = &grown[m->nconds];
	memset(c, 0, sizeof(*c));
	m->nconds++;
	c->type = cond_names[i].type;
	if (cond_names[i].key_re)
		rc = frx_new(w[1], &c->ka, why, sizeof(why));
	else
		rc = ra_new(w[1], true, &c->ra, why, sizeof(why));
	if (rc == 0 && n == 3 && cond_names[i].val_re)
		rc = frx_new(w[2], &c->vb, why, sizeof(why));
	if (rc == 0 && n == 3 && !(c->b = strdup(w[2])))
		rc = -ENOMEM;
	c->blen = c->b ? strlen(c->b) : 0;
	return rc == -EINVAL ? filter_bad(s, kv, err, errlen, "modify: condition %s: %s", cond_names[i].name, why) : rc;
}

static int add_rule(struct modify *m, const struct conf_section *s, const struct conf_kv *kv, size_t t,
		    char *err, size_t errlen)
{
	char buf[4096], why[256], *w[2];
	int n = filter_words(kv->val, buf, sizeof(buf), w, 2), rc = 0;
	struct rule *r, *grown;

	if (n != rule_names[t].words)
		return filter_bad(s, kv, err, errlen, "modify: %s takes %s (quote a value that holds spaces)", kv->key,
				  rule_names[t].words == 1 ? "KEY" : "KEY VALUE");
	if (strcasecmp(kv->key, "add_if_not_present") == 0)
		log_info("%s:%d: notice: modify: Add_if_not_present is Add (deprecated in Fluent Bit)", s->file, kv->line);
	if (!(grown = realloc(m->rules, (m->nrules + 1) * sizeof(*grown))))
		return -ENOMEM;
	m->rules = grown;
	r = &grown[m->nrules];
	memset(r, 0, sizeof(*r));
	m->nrules++;
	r->type = rule_names[t].type;
	if (!(r->a = strdup(w[0])) || (n == 2 && !(r->b = strdup(w[1]))))
		return -ENOMEM;
	r->alen = strlen(r->a);
	r->blen = r->b ? strlen(r->b) : 0;
	if (r->type == REMOVE_REGEX && (rc = frx_new(r->a, &r->re, why, sizeof(why))) == -EINVAL)
		return filter_bad(s, kv, err, errlen, "modify: %s: %s", kv->key, why);
	return rc;
}

static void modify_free(struct filter *f)
{
	struct modify *m = f->priv;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nrules; i++) {
		free(m->rules[i].a);
		free(m->rules[i].b);
		frx_free(m->rules[i].re);
	}
	for (i = 0; i < m->nconds; i++) {
		ra_free(m->conds[i].ra);
		frx_free(m->conds[i].ka);
		frx_free(m->conds[i].vb);
		free(m->conds[i].b);
	}
	free(m->rules);
	free(m->conds);
	free(m);
	f->priv = NULL;
}

static int modify_init(struct filter *f, const struct conf_section *s, char *err, size_t errlen)
{
	struct modify *m = calloc(1, sizeof(*m));
	size_t i, t;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	f->priv = m;
	for (i = 0; rc == 0 && i < s->n; i++) {
		const struct conf_kv *kv = &s->kv[i];

		if (strcasecmp(kv->key, "condition") == 0) {
			rc = add_cond(m, s, kv, err, errlen);
			continue;
		}
		for (t = 0; t < sizeof(rule_names) / sizeof(rule_names[0]); t++)
			if (strcasecmp(kv->key, rule_names[t].name) == 0)
				rc = add_rule(m, s, kv, t, err, errlen);
	}
	return rc;
}

#define RULE(name, help) { name, OPT_LIST, NULL, 0, 0, 0, help }
static const struct opt_def modify_opts[] = {
	RULE("set", "KEY VALUE: set KEY to the string VALUE (replaced, at the end)"),
	RULE("add", "KEY VALUE: add KEY = VALUE when KEY is absent"),
	RULE("add_if_not_present", "the deprecated name of add"),
	RULE("remove", "KEY: remove KEY"),
	RULE("remove_wildcard", "PREFIX: remove every key starting with PREFIX"),
	RULE("remove_regex", "REGEX: remove every key matching REGEX"),
	RULE("rename", "KEY NEW: rename KEY to NEW when NEW is absent"),
	RULE("hard_rename", "KEY NEW: rename KEY to NEW, replacing NEW"),
	RULE("copy", "KEY NEW: copy KEY to NEW when NEW is absent"),
	RULE("hard_copy", "KEY NEW: copy KEY to NEW, replacing NEW"),
	RULE("move_to_start", "PREFIX: move the keys starting with PREFIX to the start"),
	RULE("move_to_end", "PREFIX: move the keys starting with PREFIX to the end"),
	RULE("condition", "TYPE KEY [VALUE]: every condition must hold for the rules to run (Key_exists, "
	     "Key_does_not_exist, A_key_matches, No_key_matches, Key_value_equals, Key_value_does_not_equal, "
	     "Key_value_matches, Key_value_does_not_match, Matching_keys_have_matching_values, "
	     "Matching_keys_do_not_have_matching_values)"),
	OPT_END,
};

const struct filter_plugin filter_modify = {
	.name = "modify",
	.help = "Change records with rules, applied in order when every condition holds.",
	.opts = modify_opts,
	.init = modify_init,
	.run = modify_run,
	.free = modify_free,
};
