/* conf.c: classic ([SECTION] key value, @SET, @INCLUDE) and YAML (libyaml; env, includes, nested keys) config readers. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "buf.h"

#define CONF_MAX_DEPTH 16
#define CONF_MAX_LINE 4096
#define CONF_MAX_KEY 512

/* One parse: the document being filled, the variables, the include depth. */
struct reader {
	struct conf_doc *d;
	struct vars *vs;
	int depth;
	char *err;
	size_t errlen;
};

struct vars {
	char **k, **v;
	size_t n;
};

static void vars_free(struct vars *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++) {
		free(vs->k[i]);
		free(vs->v[i]);
	}
	free(vs->k);
	free(vs->v);
}

static int vars_set(struct vars *vs, const char *k, size_t kn, const char *v)
{
	char **nk = realloc(vs->k, (vs->n + 1) * sizeof(*nk)), **nv;

	if (!nk)
		return -ENOMEM;
	vs->k = nk;
	if (!(nv = realloc(vs->v, (vs->n + 1) * sizeof(*nv))))
		return -ENOMEM;
	vs->v = nv;
	if (!(vs->k[vs->n] = strndup(k, kn)) || !(vs->v[vs->n] = strdup(v))) {
		free(vs->k[vs->n]);
		return -ENOMEM;
	}
	vs->n++;
	return 0;
}

static const char *vars_get(const struct vars *vs, const char *k)
{
	size_t i;

	for (i = vs->n; i-- > 0;)
		if (strcmp(vs->k[i], k) == 0)
			return vs->v[i];
	return getenv(k);
}

/* Expand ${NAME}; an unknown name expands to "" as in Fluent Bit. NULL on ENOMEM. */
static char *expand(const struct vars *vs, const char *s)
{
	struct buf b;
	const char *p = s;

	buf_init(&b, 1 << 20);
	while (*p) {
		const char *end;

		if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}'))) {
			char name[256];
			const char *v;
			size_t n = (size_t)(end - p - 2);

			if (n < sizeof(name)) {
				memcpy(name, p + 2, n);
				name[n] = '\0';
				v = vars_get(vs, name);
				if (v && buf_puts(&b, v) < 0)
					goto fail;
				p = end + 1;
				continue;
			}
		}
		if (buf_putc(&b, *p++) < 0)
			goto fail;
	}
	return buf_steal(&b, NULL);
fail:
	buf_free(&b);
	return NULL;
}

static struct conf_section *add_section(struct conf_doc *d, const char *file, const char *kind, size_t kn, int line)
{
	struct conf_section *s = realloc(d->s, (d->n + 1) * sizeof(*s));
	size_t i;

	if (!s)
		return NULL;
	d->s = s;
	s = &d->s[d->n];
	memset(s, 0, sizeof(*s));
	if (!(s->kind = strndup(kind, kn)))
		return NULL;
	for (i = 0; s->kind[i]; i++)
		s->kind[i] = (char)tolower((unsigned char)s->kind[i]);
	s->file = file;
	s->line = line;
	d->n++;
	return s;
}

static int add_kv(struct conf_section *s, const struct vars *vs, const char *k, size_t kn, const char *v, int line)
{
	struct conf_kv *kv = realloc(s->kv, (s->n + 1) * sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	s->kv = kv;
	kv = &s->kv[s->n];
	kv->line = line;
	kv->key = strndup(k, kn);
	kv->val = expand(vs, v);
	if (!kv->key || !kv->val) {
		free(kv->key);
		free(kv->val);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

void conf_doc_free(struct conf_doc *d)
{
	size_t i, j;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		for (j = 0; j < d->s[i].n; j++) {
			free(d->s[i].kv[j].key);
			free(d->s[i].kv[j].val);
		}
		free(d->s[i].kv);
		free(d->s[i].kind);
	}
	for (i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	free(d->s);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

/* Keep a copy of a file name for the sections read from it. NULL on ENOMEM. */
static const char *add_file(struct conf_doc *d, const char *path)
{
	char **f = realloc(d->files, (d->nfiles + 1) * sizeof(*f));

	if (!f)
		return NULL;
	d->files = f;
	if (!(f[d->nfiles] = strdup(path)))
		return NULL;
	return f[d->nfiles++];
}

int conf_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct buf b;
	char tmp[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -EINVAL;
	}
	buf_init(&b, CONF_MAX_FILE);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if ((rc = buf_append(&b, tmp, n)) < 0)
			break;
	if (ferror(f) && rc == 0)
		rc = -EIO;
	fclose(f);
	if (rc == 0 && !(*out = buf_steal(&b, len)))
		rc = -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, rc == -ENOSPC ? "larger than 16 MB" : strerror(-rc));
		buf_free(&b);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	return 0;
}

static int parse_text(struct reader *r, const char *text, size_t n, const char *file, const char *dir);

/* Read one included file and parse it in place (its includes are relative to its folder). */
static int include_file(struct reader *r, const char *path)
{
	char *text = NULL, *copy = NULL;
	const char *file;
	size_t n;
	int rc;

	if ((rc = conf_read_file(path, &text, &n, r->err, r->errlen)) < 0)
		return rc;
	if (!(file = add_file(r->d, path)) || !(copy = strdup(path))) {
		free(text);
		return -ENOMEM;
	}
	r->depth++;
	rc = parse_text(r, text, n, file, dirname(copy));
	r->depth--;
	free(copy);
	free(text);
	return rc;
}

/* @INCLUDE / includes: a path (relative to `dir`) or a glob pattern; every match, sorted. */
static int include(struct reader *r, const char *dir, const char *pattern, const char *file, int line)
{
	char path[4096];
	glob_t g;
	size_t i;
	int rc = 0, k;

	if (!dir) {
		snprintf(r->err, r->errlen, "%s:%d: includes are not read from this source", file, line);
		return -EINVAL;
	}
	if (r->depth >= CONF_MAX_INCLUDE_DEPTH) {
		snprintf(r->err, r->errlen, "%s:%d: includes nested deeper than %d files", file, line, CONF_MAX_INCLUDE_DEPTH);
		return -EINVAL;
	}
	k = snprintf(path, sizeof(path), "%s%s%s", pattern[0] == '/' ? "" : dir, pattern[0] == '/' ? "" : "/", pattern);
	if (k < 0 || (size_t)k >= sizeof(path)) {
		snprintf(r->err, r->errlen, "%s:%d: include path too long", file, line);
		return -EINVAL;
	}
	k = glob(path, GLOB_ERR, NULL, &g);
	if (k == GLOB_NOMATCH && !strpbrk(pattern, "*?[")) {
		snprintf(r->err, r->errlen, "%s:%d: cannot include '%s': no such file", file, line, path);
		return -EINVAL;
	}
	for (i = 0; k == 0 && rc == 0 && i < g.gl_pathc; i++)
		rc = include_file(r, g.gl_pathv[i]);
	if (k == 0 || k == GLOB_NOMATCH)
		globfree(&g);
	return rc;
}

/* ---- classic ------------------------------------------------------------------- */

/* "@SET KEY=VALUE" or "@INCLUDE PATH". */
static int classic_command(struct reader *r, char *p, const char *file, const char *dir, int line)
{
	if (strncasecmp(p, "@SET", 4) == 0 && (p[4] == ' ' || p[4] == '\t')) {
		char *k = p + 5, *eq;

		while (*k == ' ' || *k == '\t')
			k++;
		if (!(eq = strchr(k, '=')) || eq == k) {
			snprintf(r->err, r->errlen, "%s:%d: @SET needs KEY=VALUE", file, line);
			return -EINVAL;
		}
		return vars_set(r->vs, k, (size_t)(eq - k), eq + 1);
	}
	if (strncasecmp(p, "@INCLUDE", 8) == 0 && (p[8] == ' ' || p[8] == '\t')) {
		char *path = p + 9;

		while (*path == ' ' || *path == '\t')
			path++;
		if (!*path) {
			snprintf(r->err, r->errlen, "%s:%d: @INCLUDE needs a file", file, line);
			return -EINVAL;
		}
		return include(r, dir, path, file, line);
	}
	snprintf(r->err, r->errlen, "%s:%d: unsupported command '%.40s' (supported: @SET, @INCLUDE)", file, line, p);
	return -EINVAL;
}

/* One trimmed, non-empty, non-comment line. */
static int classic_line(struct reader *r, struct conf_section **cur, char *p, const char *file, const char *dir, int line)
{
	char *k = p, *v = p, *e;

	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close || close[1] != '\0' || close == p + 1) {
			snprintf(r->err, r->errlen, "%s:%d: bad section header '%s'", file, line, p);
			return -EINVAL;
		}
		return (*cur = add_section(r->d, file, p + 1, (size_t)(close - p - 1), line)) ? 0 : -ENOMEM;
	}
	if (*p == '@')
		return classic_command(r, p, file, dir, line);
	if (!*cur) {
		snprintf(r->err, r->errlen, "%s:%d: '%s' is outside any [SECTION]", file, line, p);
		return -EINVAL;
	}
	while (*v && !isspace((unsigned char)*v))
		v++;
	e = v;
	while (*v && isspace((unsigned char)*v))
		v++;
	if (!*v) {
		snprintf(r->err, r->errlen, "%s:%d: key '%s' has no value", file, line, k);
		return -EINVAL;
	}
	return add_kv(*cur, r->vs, k, (size_t)(e - k), v, line);
}

static int parse_classic(struct reader *r, const char *text, size_t n, const char *file, const char *dir)
{
	struct conf_section *cur = NULL;
	size_t i = 0;
	int line = 0, rc;

	while (i < n) {
		const char *ls = text + i, *nl = memchr(ls, '\n', n - i);
		size_t len = nl ? (size_t)(nl - ls) : n - i;
		char buf[CONF_MAX_LINE];
		char *p, *e;

		i += len + 1;
		line++;
		if (len >= sizeof(buf)) {
			snprintf(r->err, r->errlen, "%s:%d: line longer than %d bytes", file, line, CONF_MAX_LINE - 1);
			return -EINVAL;
		}
		if (memchr(ls, '\0', len)) {
			snprintf(r->err, r->errlen, "%s:%d: NUL byte in line", file, line);
			return -EINVAL;
		}
		memcpy(buf, ls, len);
		buf[len] = '\0';
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (*p && *p != '#' && (rc = classic_line(r, &cur, p, file, dir, line)) < 0)
			return rc;
	}
	return 0;
}

/* ---- YAML ---------------------------------------------------------------------- */

enum ynode_type { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ynode_type type;
	int line;
	char *scalar;
	struct ynode **items; /* SEQ: values; MAP: key, value, key, value... */
	size_t n;
};

static void ynode_free(struct ynode *y)
{
	size_t i;

	if (!y)
		return;
	for (i = 0; i < y->n; i++)
		ynode_free(y->items[i]);
	free(y->items);
	free(y->scalar);
	free(y);
}

static int ynode_add(struct ynode *parent, struct ynode *child)
{
	struct ynode **it = realloc(parent->items, (parent->n + 1) * sizeof(*it));

	if (!it)
		return -ENOMEM;
	parent->items = it;
	parent->items[parent->n++] = child;
	return 0;
}

/* Build a node tree from libyaml events (the event after the node's start is read here). */
static int yaml_build(yaml_parser_t *p, yaml_event_t *start, struct ynode **out, int depth,
		      const char *file, char *err, size_t errlen)
{
	struct ynode *y = calloc(1, sizeof(*y));
	yaml_event_t ev;
	int rc = 0;

	if (!y)
		return -ENOMEM;
	y->line = (int)start->start_mark.line + 1;
	switch (start->type) {
	case YAML_SCALAR_EVENT:
		y->type = Y_SCALAR;
		if (!(y->scalar = strndup((const char *)start->data.scalar.value, start->data.scalar.length)))
			rc = -ENOMEM;
		break;
	case YAML_ALIAS_EVENT:
		snprintf(err, errlen, "%s:%d: YAML aliases are not supported", file, y->line);
		rc = -EINVAL;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		y->type = start->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
		if (depth >= CONF_MAX_DEPTH) {
			snprintf(err, errlen, "%s:%d: nesting deeper than %d levels", file, y->line, CONF_MAX_DEPTH);
			rc = -EINVAL;
			break;
		}
		for (;;) {
			struct ynode *child = NULL;

			if (!yaml_parser_parse(p, &ev)) {
				snprintf(err, errlen, "%s:%zu: %s", file, p->problem_mark.line + 1,
					 p->problem ? p->problem : "YAML syntax error");
				rc = -EINVAL;
				break;
			}
			if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&ev);
				break;
			}
			rc = yaml_build(p, &ev, &child, depth + 1, file, err, errlen);
			yaml_event_delete(&ev);
			if (rc == 0 && (rc = ynode_add(y, child)) < 0)
				ynode_free(child);
			if (rc < 0)
				break;
		}
		break;
	default:
		snprintf(err, errlen, "%s:%d: unexpected YAML event", file, y->line);
		rc = -EINVAL;
	}
	if (rc < 0) {
		ynode_free(y);
		return rc;
	}
	*out = y;
	return 0;
}

/* Add `node` under key `key` to the section: a value; a list of values (the key repeats);
 * a mapping (its keys become key.sub, as Fluent Bit reads storage: {path: ...}); a list
 * of mappings (each flattened the same way, e.g. a multiline parser's rules). */
static int yaml_put(struct reader *r, struct conf_section *s, const char *file, const char *key,
		    const struct ynode *v, int line, int depth)
{
	char sub[CONF_MAX_KEY];
	size_t i;
	int rc = 0;

	if (depth > CONF_MAX_DEPTH) {
		snprintf(r->err, r->errlen, "%s:%d: '%s' nests deeper than %d levels", file, line, key, CONF_MAX_DEPTH);
		return -EINVAL;
	}
	/* An empty list or mapping still names its key (processors: {} is refused by name). */
	if (v->type == Y_SCALAR || v->n == 0)
		return add_kv(s, r->vs, key, strlen(key), v->type == Y_SCALAR ? v->scalar : "", line);
	if (v->type == Y_SEQ) {
		for (i = 0; rc == 0 && i < v->n; i++)
			rc = yaml_put(r, s, file, key, v->items[i], v->items[i]->line, depth + 1);
		return rc;
	}
	for (i = 0; rc == 0 && i + 1 < v->n; i += 2) {
		const struct ynode *k = v->items[i];
		int len;

		if (k->type != Y_SCALAR) {
			snprintf(r->err, r->errlen, "%s:%d: keys must be plain strings", file, k->line);
			return -EINVAL;
		}
		len = snprintf(sub, sizeof(sub), "%s.%s", key, k->scalar);
		if (len < 0 || (size_t)len >= sizeof(sub)) {
			snprintf(r->err, r->errlen, "%s:%d: key '%.60s...' is too long", file, k->line, key);
			return -EINVAL;
		}
		rc = yaml_put(r, s, file, sub, v->items[i + 1], k->line, depth + 1);
	}
	return rc;
}

static int yaml_section(struct reader *r, const char *file, const char *kind, const struct ynode *map)
{
	struct conf_section *s;
	size_t i;
	int rc = 0;

	if (map->type != Y_MAP) {
		snprintf(r->err, r->errlen, "%s:%d: a %s entry must be a mapping of keys to values", file, map->line, kind);
		return -EINVAL;
	}
	if (!(s = add_section(r->d, file, kind, strlen(kind), map->line)))
		return -ENOMEM;
	for (i = 0; rc == 0 && i + 1 < map->n; i += 2) {
		const struct ynode *k = map->items[i];

		if (k->type != Y_SCALAR) {
			snprintf(r->err, r->errlen, "%s:%d: keys must be plain strings", file, k->line);
			return -EINVAL;
		}
		rc = yaml_put(r, s, file, k->scalar, map->items[i + 1], k->line, 1);
	}
	return rc;
}

/* A list of entries of one kind ("inputs:" with nothing under it is an empty list). */
static int yaml_list(struct reader *r, const char *file, const char *kind, const char *what, const struct ynode *v)
{
	size_t k;
	int rc = 0;

	if (v->type != Y_SEQ) {
		if (v->type == Y_SCALAR && v->scalar[0] == '\0')
			return 0;
		snprintf(r->err, r->errlen, "%s:%d: %s must be a list", file, v->line, what);
		return -EINVAL;
	}
	for (k = 0; rc == 0 && k < v->n; k++)
		rc = yaml_section(r, file, kind, v->items[k]);
	return rc;
}

static int yaml_pipeline(struct reader *r, const char *file, const struct ynode *val)
{
	static const char *const keys[][2] = { { "inputs", "input" }, { "outputs", "output" }, { "filters", "filter" } };
	size_t j, k;
	int rc = 0;

	if (val->type != Y_MAP) {
		snprintf(r->err, r->errlen, "%s:%d: pipeline must be a mapping (inputs:, outputs:)", file, val->line);
		return -EINVAL;
	}
	for (j = 0; rc == 0 && j + 1 < val->n; j += 2) {
		const struct ynode *pk = val->items[j];

		for (k = 0; k < 3 && !(pk->type == Y_SCALAR && strcmp(pk->scalar, keys[k][0]) == 0); k++)
			;
		if (k == 3) {
			snprintf(r->err, r->errlen, "%s:%d: unknown pipeline section '%s' (supported: inputs, outputs, filters)",
				 file, pk->line, pk->type == Y_SCALAR ? pk->scalar : "?");
			return -EINVAL;
		}
		rc = yaml_list(r, file, keys[k][1], pk->scalar, val->items[j + 1]);
	}
	return rc;
}

/* env: first, so that ${NAME} anywhere can use it. */
static int yaml_env(struct reader *r, const char *file, const struct ynode *val)
{
	size_t j;
	int rc = 0;

	if (val->type != Y_MAP) {
		snprintf(r->err, r->errlen, "%s:%d: env must be a mapping", file, val->line);
		return -EINVAL;
	}
	for (j = 0; rc == 0 && j + 1 < val->n; j += 2) {
		if (val->items[j]->type != Y_SCALAR || val->items[j + 1]->type != Y_SCALAR) {
			snprintf(r->err, r->errlen, "%s:%d: env values must be plain values", file, val->items[j]->line);
			return -EINVAL;
		}
		rc = vars_set(r->vs, val->items[j]->scalar, strlen(val->items[j]->scalar), val->items[j + 1]->scalar);
	}
	return rc;
}

static int yaml_includes(struct reader *r, const char *file, const char *dir, const struct ynode *val)
{
	size_t j;
	int rc = 0;

	if (val->type == Y_SCALAR)
		return val->scalar[0] ? include(r, dir, val->scalar, file, val->line) : 0;
	if (val->type != Y_SEQ) {
		snprintf(r->err, r->errlen, "%s:%d: includes must be a list of files", file, val->line);
		return -EINVAL;
	}
	for (j = 0; rc == 0 && j < val->n; j++) {
		if (val->items[j]->type != Y_SCALAR) {
			snprintf(r->err, r->errlen, "%s:%d: includes must be a list of files", file, val->items[j]->line);
			return -EINVAL;
		}
		rc = include(r, dir, val->items[j]->scalar, file, val->items[j]->line);
	}
	return rc;
}

static int yaml_walk(struct reader *r, const struct ynode *root, const char *file, const char *dir)
{
	size_t i;
	int rc = 0;

	if (root->type != Y_MAP) {
		snprintf(r->err, r->errlen, "%s:%d: the top level must be a mapping (service:, pipeline:)", file, root->line);
		return -EINVAL;
	}
	for (i = 0; rc == 0 && i + 1 < root->n; i += 2)
		if (root->items[i]->type == Y_SCALAR && strcmp(root->items[i]->scalar, "env") == 0)
			rc = yaml_env(r, file, root->items[i + 1]);
	for (i = 0; rc == 0 && i + 1 < root->n; i += 2) {
		const struct ynode *key = root->items[i], *val = root->items[i + 1];
		const char *k = key->type == Y_SCALAR ? key->scalar : NULL;

		if (!k) {
			snprintf(r->err, r->errlen, "%s:%d: top-level keys must be plain strings", file, key->line);
			return -EINVAL;
		}
		if (strcmp(k, "env") == 0)
			continue;
		if (strcmp(k, "service") == 0)
			rc = yaml_section(r, file, "service", val);
		else if (strcmp(k, "includes") == 0)
			rc = yaml_includes(r, file, dir, val);
		else if (strcmp(k, "pipeline") == 0)
			rc = yaml_pipeline(r, file, val);
		else if (strcmp(k, "parsers") == 0)
			rc = yaml_list(r, file, "parser", k, val);
		else if (strcmp(k, "multiline_parsers") == 0)
			rc = yaml_list(r, file, "multiline_parser", k, val);
		else {
			snprintf(r->err, r->errlen, "%s:%d: unknown section '%s' (supported: env, includes, service, "
				 "pipeline, parsers, multiline_parsers)", file, key->line, k);
			return -EINVAL;
		}
	}
	return rc;
}

static int parse_yaml(struct reader *r, const char *text, size_t n, const char *file, const char *dir)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *root = NULL;
	int rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(r->err, r->errlen, "%s:%zu: %s", file, p.problem_mark.line + 1,
				 p.problem ? p.problem : "YAML syntax error");
			rc = -EINVAL;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			done = true;
		} else if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
			   ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) {
			if (root) {
				snprintf(r->err, r->errlen, "%s:%zu: only one YAML document is supported", file,
					 ev.start_mark.line + 1);
				rc = -EINVAL;
			} else {
				rc = yaml_build(&p, &ev, &root, 0, file, r->err, r->errlen);
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc == 0 && root && !(root->type == Y_SCALAR && root->scalar[0] == '\0'))
		rc = yaml_walk(r, root, file, dir);
	ynode_free(root);
	return rc;
}

static bool looks_classic(const char *text, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *ls = text + i, *nl = memchr(ls, '\n', n - i);
		size_t len = nl ? (size_t)(nl - ls) : n - i, k = 0;

		i += len + 1;
		while (k < len && (ls[k] == ' ' || ls[k] == '\t' || ls[k] == '\r'))
			k++;
		if (k == len || ls[k] == '#')
			continue;
		return ls[k] == '[' || ls[k] == '@';
	}
	return false;
}

static int parse_text(struct reader *r, const char *text, size_t n, const char *file, const char *dir)
{
	return looks_classic(text, n) ? parse_classic(r, text, n, file, dir) : parse_yaml(r, text, n, file, dir);
}

int conf_parse(const char *text, size_t n, const char *file, const char *dir, struct conf_doc *doc,
	       char *err, size_t errlen)
{
	struct vars vs = { 0 };
	struct reader r = { .d = doc, .vs = &vs, .err = err, .errlen = errlen };
	const char *name;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (!(doc->file = strdup(file ? file : "<config>")) || !(name = add_file(doc, doc->file)))
		return -ENOMEM;
	rc = parse_text(&r, text, n, name, dir);
	vars_free(&vs);
	return rc;
}

int conf_parse_file(const char *path, struct conf_doc *doc, char *err, size_t errlen)
{
	char *text = NULL, *copy;
	size_t n;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if ((rc = conf_read_file(path, &text, &n, err, errlen)) < 0)
		return rc;
	if (!(copy = strdup(path))) {
		free(text);
		return -ENOMEM;
	}
	rc = conf_parse(text, n, path, dirname(copy), doc, err, errlen);
	free(copy);
	free(text);
	return rc;
}
