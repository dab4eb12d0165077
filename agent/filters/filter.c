/* filters/filter.c: the [FILTER] chain: plugin registry, Match/Match_Regex, regexes, record accessors, and running the chain on each log record. */
#include "filter_int.h"

#include <errno.h>
#include <oniguruma.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_config.h"
#include "log.h"
#include "mpk.h"
#include "mpu.h"
#include "store.h"

/* Objects (maps, arrays, scalars) a record may hold for the filters to unpack it: msgpack-c
 * reserves 24 bytes per declared element, so this bounds that memory at 24 MB. */
#define FILTER_MAX_OBJECTS (1u << 20)

static const struct filter_plugin *const plugins[] = {
	&filter_grep, &filter_modify, &filter_record_modifier, &filter_nest, NULL,
};

struct filter_chain {
	struct filter *f;
	size_t n;
};

bool filter_known(const char *name)
{
	size_t i;

	for (i = 0; plugins[i]; i++)
		if (strcasecmp(plugins[i]->name, name) == 0)
			return true;
	return false;
}

const char *filter_names(void)
{
	return "grep, modify, record_modifier, nest";
}

/* ---- regular expressions ----------------------------------------------------------- */

struct frx {
	OnigRegex re;
	pthread_mutex_t lock; /* one search at a time per compiled regex */
};

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void onig_setup(void)
{
	OnigEncoding enc[] = { ONIG_ENCODING_UTF8 };

	onig_initialize(enc, 1);
}

/* Fluent Bit's flb_regex: "/re/" drops the slashes; "/re/imx" also sets the options. */
static OnigOptionType frx_options(const char *p, size_t n, size_t *start, size_t *end)
{
	OnigOptionType opt = ONIG_OPTION_NONE;
	const char *last = n > 1 && p[0] == '/' ? strrchr(p, '/') : NULL;
	const char *c;

	*start = 0;
	*end = n;
	if (!last || last == p)
		return ONIG_OPTION_DEFAULT;
	for (c = last + 1; *c; c++) {
		if (*c == 'i')
			opt |= ONIG_OPTION_IGNORECASE;
		else if (*c == 'm')
			opt |= ONIG_OPTION_MULTILINE;
		else if (*c == 'x')
			opt |= ONIG_OPTION_EXTEND;
		else if (*c != 'o')
			return ONIG_OPTION_DEFAULT; /* not options: the pattern is taken whole */
	}
	*start = 1;
	*end = (size_t)(last - p);
	return opt == ONIG_OPTION_NONE ? ONIG_OPTION_DEFAULT : opt;
}

int frx_new(const char *pattern, struct frx **out, char *err, size_t errlen)
{
	struct frx *x = calloc(1, sizeof(*x));
	OnigErrorInfo info;
	OnigOptionType opt;
	size_t start, end, n = strlen(pattern);
	int rc;

	if (!x)
		return -ENOMEM;
	pthread_once(&onig_once, onig_setup);
	opt = frx_options(pattern, n, &start, &end);
	rc = onig_new(&x->re, (const OnigUChar *)pattern + start, (const OnigUChar *)pattern + end, opt,
		      ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &info);
	if (rc != ONIG_NORMAL) {
		OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];

		onig_error_code_to_str(msg, rc, &info);
		snprintf(err, errlen, "cannot compile regex '%s': %s", pattern, (const char *)msg);
		free(x);
		return -EINVAL;
	}
	pthread_mutex_init(&x->lock, NULL);
	*out = x;
	return 0;
}

bool frx_search(struct frx *x, const char *s, size_t n)
{
	/* msgpack-c gives an empty string no pointer. */
	const OnigUChar *start = (const OnigUChar *)(s ? s : ""), *end = start + n;
	int rc;

	pthread_mutex_lock(&x->lock);
	rc = onig_search(x->re, start, end, start, end, NULL, ONIG_OPTION_NONE);
	pthread_mutex_unlock(&x->lock);
	return rc >= 0;
}

void frx_free(struct frx *x)
{
	if (!x)
		return;
	onig_free(x->re);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

int filter_regex_check(const char *pattern, char *err, size_t errlen)
{
	struct frx *x;
	int rc = frx_new(pattern, &x, err, errlen);

	frx_free(rc == 0 ? x : NULL);
	return rc;
}

/* ---- record accessors ---------------------------------------------------------------- */

#define RA_MAX_PARTS 16

struct ra_part {
	char *key;   /* a map key, or NULL for an array index */
	size_t len;
	long index;
};

struct ra {
	struct ra_part part[RA_MAX_PARTS];
	size_t n;
};

void ra_free(struct ra *ra)
{
	size_t i;

	if (!ra)
		return;
	for (i = 0; i < ra->n; i++)
		free(ra->part[i].key);
	free(ra);
}

static int ra_add(struct ra *ra, const char *k, size_t n, long index)
{
	if (ra->n == RA_MAX_PARTS)
		return -EINVAL;
	ra->part[ra->n].index = index;
	ra->part[ra->n].len = n;
	if (k && !(ra->part[ra->n].key = strndup(k, n)))
		return -ENOMEM;
	ra->n++;
	return 0;
}

/* "['key']", "[\"key\"]" or "[3]" at p; advances p. */
static int ra_subscript(struct ra *ra, const char **pp)
{
	const char *p = *pp + 1, *close;
	char *end;
	long idx;

	if (*p == '\'' || *p == '"') {
		if (!(close = strchr(p + 1, *p)) || close[1] != ']')
			return -EINVAL;
		*pp = close + 2;
		return ra_add(ra, p + 1, (size_t)(close - p - 1), 0);
	}
	idx = strtol(p, &end, 10);
	if (end == p || *end != ']' || idx < 0)
		return -EINVAL;
	*pp = end + 1;
	return ra_add(ra, NULL, 0, idx);
}

int ra_new(const char *pattern, bool plain_is_key, struct ra **out, char *err, size_t errlen)
{
	struct ra *ra = calloc(1, sizeof(*ra));
	const char *p = pattern;
	int rc = 0;

	if (!ra)
		return -ENOMEM;
	if (*p != '$') {
		rc = plain_is_key && *p ? ra_add(ra, p, strlen(p), 0) : -EINVAL;
	} else {
		size_t k = strcspn(++p, "[");

		rc = k ? ra_add(ra, p, k, 0) : -EINVAL;
		p += k;
		while (rc == 0 && *p == '[')
			rc = ra_subscript(ra, &p);
		if (rc == 0 && *p)
			rc = -EINVAL;
	}
	if (rc < 0) {
		if (rc == -EINVAL)
			snprintf(err, errlen, "'%s' is not a record accessor ($key, $key['sub'][0])", pattern);
		ra_free(ra);
		return rc;
	}
	*out = ra;
	return 0;
}

static const msgpack_object *map_last(const msgpack_object *map, const char *k, size_t n)
{
	uint32_t i;

	if (map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = map->via.map.size; i-- > 0;)
		if (fobj_str_eq(&map->via.map.ptr[i].key, k, n))
			return &map->via.map.ptr[i].val;
	return NULL;
}

const msgpack_object *ra_get(const struct ra *ra, const msgpack_object *map)
{
	const msgpack_object *o = map;
	size_t i;

	for (i = 0; o && i < ra->n; i++) {
		const struct ra_part *pt = &ra->part[i];

		if (pt->key)
			o = map_last(o, pt->key, pt->len);
		else if (o->type == MSGPACK_OBJECT_ARRAY && (uint64_t)pt->index < o->via.array.size)
			o = &o->via.array.ptr[pt->index];
		else
			o = NULL;
	}
	return o;
}

/* ---- msgpack objects ------------------------------------------------------------------- */

bool fobj_is_str(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}

const char *fobj_bytes(const msgpack_object *o, size_t *n)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		*n = o->via.str.size;
		return o->via.str.ptr;
	}
	if (o->type == MSGPACK_OBJECT_BIN) {
		*n = o->via.bin.size;
		return o->via.bin.ptr;
	}
	*n = 0;
	return NULL;
}

bool fobj_str_eq(const msgpack_object *o, const char *s, size_t n)
{
	size_t len;
	const char *b = fobj_bytes(o, &len);

	return b && len == n && memcmp(b, s, n) == 0;
}

bool fobj_str(msgpack_zone *z, const char *s, size_t n, msgpack_object *out)
{
	char *copy = n ? msgpack_zone_malloc_no_align(z, n) : NULL;

	if (n && !copy)
		return false;
	if (n)
		memcpy(copy, s, n);
	out->type = MSGPACK_OBJECT_STR;
	out->via.str.ptr = copy ? copy : "";
	out->via.str.size = (uint32_t)n;
	return true;
}

msgpack_object_kv *fobj_pairs(msgpack_zone *z, size_t n)
{
	return msgpack_zone_malloc(z, (n ? n : 1) * sizeof(msgpack_object_kv));
}

/* ---- configuration --------------------------------------------------------------------- */

int filter_words(const char *value, char *buf, size_t cap, char **words, int max)
{
	size_t o = 0;
	const char *p = value;
	int n = 0;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == max || o + 1 >= cap)
			return -1;
		words[n++] = buf + o;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				if (o + 1 < cap)
					buf[o++] = *p;
			}
			if (*p != '"')
				return -1;
			p++;
		} else {
			while (*p && *p != ' ' && *p != '\t' && o + 1 < cap)
				buf[o++] = *p++;
		}
		buf[o++] = '\0';
	}
	return n;
}

int filter_bad(const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", s->file, kv ? kv->line : s->line, what);
	return -EINVAL;
}

#define NOEFFECT(key, why) { key, OPT_COMPAT, NULL, 0, 0, 0, why }
/* Keys every filter takes (Fluent Bit's flb_filter.c). */
static const struct opt_def common_opts[] = {
	{ "name", OPT_STRING, NULL, 0, 0, 0, "plugin name: grep, modify, record_modifier or nest" },
	{ "match", OPT_STRING, NULL, 0, 0, 0, "tag pattern ('*' matches any characters) of the records to filter" },
	{ "match_regex", OPT_STRING, NULL, 0, 0, 0, "regular expression the tag must match (instead of match)" },
	NOEFFECT("alias", "Vivo reports no per-filter metrics"),
	NOEFFECT("log_level", "Vivo has one log level, [SERVICE] log_level"),
	NOEFFECT("log_suppress_interval", "Vivo does not repeat log lines"),
	OPT_END,
};

static int common_key(struct filter *f, const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen)
{
	char why[256];
	int rc;

	if (strcasecmp(kv->key, "match") == 0) {
		free(f->match);
		return (f->match = strdup(kv->val)) ? 0 : -ENOMEM;
	}
	if (strcasecmp(kv->key, "match_regex") == 0) {
		frx_free(f->match_regex);
		f->match_regex = NULL;
		if ((rc = frx_new(kv->val, &f->match_regex, why, sizeof(why))) == -EINVAL)
			return filter_bad(s, kv, err, errlen, "%s: Match_Regex: %s", f->p->name, why);
		return rc;
	}
	if (strcasecmp(kv->key, "name") != 0)
		log_info("%s:%d: notice: '%s' has no effect in Vivo: %s", s->file, kv->line, kv->key,
			 opts_find(common_opts, kv->key)->help);
	return 0;
}

static const struct filter_plugin *plugin_of(const struct conf_section *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->kv[i].key, "name") == 0)
			for (j = 0; plugins[j]; j++)
				if (strcasecmp(plugins[j]->name, s->kv[i].val) == 0)
					return plugins[j];
	return NULL;
}

/* Check every key of the section: common keys are taken here, the plugin's by its init. */
static int check_keys(struct filter *f, const struct conf_section *s, char *err, size_t errlen)
{
	char names[1024];
	size_t i, len;
	int rc;

	for (i = 0; i < s->n; i++) {
		const struct conf_kv *kv = &s->kv[i];

		if (opts_find(common_opts, kv->key)) {
			if ((rc = common_key(f, s, kv, err, errlen)) < 0)
				return rc;
			continue;
		}
		if (!opts_find(f->p->opts, kv->key)) {
			opts_names(common_opts, names, sizeof(names));
			len = strlen(names);
			if (len + 2 < sizeof(names)) {
				strcat(names, ", ");
				opts_names(f->p->opts, names + len + 2, sizeof(names) - len - 2);
			}
			return filter_bad(s, kv, err, errlen, "unknown key '%s' for filter %s (supported: %s)", kv->key,
					  f->p->name, names);
		}
	}
	return 0;
}

static void filter_clear(struct filter *f)
{
	if (f->p && f->p->free)
		f->p->free(f);
	free(f->match);
	frx_free(f->match_regex);
	memset(f, 0, sizeof(*f));
}

int filter_chain_add(struct filter_chain **chain, const struct conf_section *s, char *err, size_t errlen)
{
	struct filter f = { .p = plugin_of(s), .file = s->file, .line = s->line };
	struct filter *grown;
	int rc;

	if (!f.p)
		return filter_bad(s, NULL, err, errlen, "not a filter Vivo runs (%s)", filter_names());
	if (!*chain && !(*chain = calloc(1, sizeof(**chain))))
		return -ENOMEM;
	if ((rc = check_keys(&f, s, err, errlen)) < 0 || (rc = f.p->init(&f, s, err, errlen)) < 0) {
		filter_clear(&f);
		return rc;
	}
	if (!f.match && !f.match_regex)
		log_warn("%s:%d: filter %s has no Match or Match_Regex: it filters nothing (as in Fluent Bit)", s->file,
			 s->line, f.p->name);
	if (!(grown = realloc((*chain)->f, ((*chain)->n + 1) * sizeof(*grown)))) {
		filter_clear(&f);
		return -ENOMEM;
	}
	(*chain)->f = grown;
	grown[(*chain)->n++] = f;
	return 0;
}

size_t filter_chain_len(const struct filter_chain *c)
{
	return c ? c->n : 0;
}

void filter_chain_free(struct filter_chain *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		filter_clear(&c->f[i]);
	free(c->f);
	free(c);
}

/* ---- running --------------------------------------------------------------------------- */

bool filter_tag_match(const char *pat, const char *tag)
{
	const char *star = NULL, *resume = NULL;

	while (*tag) {
		if (*pat == '*') {
			star = pat++;
			resume = tag;
		} else if (*pat == *tag) {
			pat++;
			tag++;
		} else if (star) {
			pat = star + 1;
			tag = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static bool takes(const struct filter *f, const char *tag)
{
	if (f->match_regex)
		return frx_search(f->match_regex, tag, strlen(tag));
	return f->match && filter_tag_match(f->match, tag);
}

int filter_chain_run(const struct filter_chain *c, const char *tag, const struct mp_cur *body, struct buf *out)
{
	struct mp_cur cur = *body;
	msgpack_unpacked up;
	msgpack_packer pk;
	size_t i;
	int rc = FILTER_KEEP, r;

	if (!c || c->n == 0)
		return FILTER_KEEP;
	msgpack_unpacked_init(&up);
	/* A body msgpack-c cannot unpack (nested deeper than its 32 levels, or more objects
	 * than FILTER_MAX_OBJECTS) passes unchanged. The cursor may go on past the body (the
	 * rest of a Forward frame): mpu_unpack takes exactly one object. */
	if (mpu_unpack(&cur, FILTER_MAX_OBJECTS, &up) < 0 || up.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (i = 0; i < c->n && rc != FILTER_DROP; i++) {
		if (!takes(&c->f[i], tag))
			continue;
		if ((r = c->f[i].p->run(&c->f[i], &up.data, up.zone)) < 0) {
			rc = FILTER_KEEP;
			goto out;
		}
		if (r == FILTER_DROP || (r == FILTER_MODIFIED && rc == FILTER_KEEP))
			rc = r;
	}
	if (rc == FILTER_MODIFIED) {
		mpk_init(&pk, out);
		if (msgpack_pack_object(&pk, up.data) < 0)
			rc = FILTER_KEEP;
	}
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

/* The chain every input's records go through; swapped under the write lock. */
static pthread_rwlock_t active_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct filter_chain *active;

static int active_run(const char *tag, const struct mp_cur *body, struct buf *out)
{
	int rc;

	pthread_rwlock_rdlock(&active_lock);
	rc = filter_chain_run(active, tag, body, out);
	pthread_rwlock_unlock(&active_lock);
	return rc;
}

void filters_activate(struct filter_chain *chain)
{
	struct filter_chain *old;

	if (chain && chain->n == 0) {
		filter_chain_free(chain);
		chain = NULL;
	}
	/* No chain: the store skips the hook altogether. */
	if (chain)
		chunk_set_filter(active_run);
	pthread_rwlock_wrlock(&active_lock);
	old = active;
	active = chain;
	pthread_rwlock_unlock(&active_lock);
	if (!chain)
		chunk_set_filter(NULL);
	filter_chain_free(old);
}

int filter_reference(struct buf *out)
{
	char title[64];
	size_t i;
	int rc;

	rc = buf_puts(out, "\n## filters\n\n`[FILTER]` (classic) or `pipeline: filters:` (YAML). Vivo runs `grep`, `modify`,\n"
		      "`record_modifier` and `nest` with Fluent Bit's semantics on the log records of every\n"
		      "input, in config order, before they are stored; any other filter stops the agent with a\n"
		      "message that points to the Vivo CR's `fluentBit` pipeline, where real Fluent Bit runs it.\n"
		      "Regular expressions use Ruby syntax (Oniguruma, as Fluent Bit's Onigmo).\n");
	if (rc == 0)
		rc = config_reference_table(out, "every filter", "Keys every filter takes.", common_opts);
	for (i = 0; rc == 0 && plugins[i]; i++) {
		snprintf(title, sizeof(title), "filter %s", plugins[i]->name);
		rc = config_reference_table(out, title, plugins[i]->help, plugins[i]->opts);
	}
	return rc;
}
