/* conf.c: classic ([SECTION] key value) and YAML (libyaml) config readers. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "buf.h"

#define CONF_MAX_DEPTH 16
#define CONF_MAX_LINE 4096

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

static struct conf_section *add_section(struct conf_doc *d, const char *kind, size_t kn, int line)
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
	free(d->s);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

/* ---- classic ------------------------------------------------------------------- */

static int parse_classic(const char *text, size_t n, struct conf_doc *d, struct vars *vs,
			 char *err, size_t errlen)
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
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", d->file, line, CONF_MAX_LINE - 1);
			return -EINVAL;
		}
		if (memchr(ls, '\0', len)) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", d->file, line);
			return -EINVAL;
		}
		memcpy(buf, ls, len);
		buf[len] = '\0';
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (!*p || *p == '#')
			continue;
		if (*p == '[') {
			char *close = strchr(p, ']');

			if (!close || close[1] != '\0' || close == p + 1) {
				snprintf(err, errlen, "%s:%d: bad section header '%s'", d->file, line, p);
				return -EINVAL;
			}
			if (!(cur = add_section(d, p + 1, (size_t)(close - p - 1), line)))
				return -ENOMEM;
			continue;
		}
		if (*p == '@') {
			if (strncasecmp(p, "@SET ", 5) == 0) {
				char *eq = strchr(p + 5, '=');
				char *k = p + 5;

				while (*k == ' ')
					k++;
				if (!eq || eq == k) {
					snprintf(err, errlen, "%s:%d: @SET needs KEY=VALUE", d->file, line);
					return -EINVAL;
				}
				if ((rc = vars_set(vs, k, (size_t)(eq - k), eq + 1)) < 0)
					return rc;
				continue;
			}
			snprintf(err, errlen, "%s:%d: unsupported command '%.40s' (supported: @SET)", d->file, line, p);
			return -EINVAL;
		}
		if (!cur) {
			snprintf(err, errlen, "%s:%d: '%s' is outside any [SECTION]", d->file, line, p);
			return -EINVAL;
		}
		{
			char *k = p, *v = p;

			while (*v && !isspace((unsigned char)*v))
				v++;
			e = v;
			while (*v && isspace((unsigned char)*v))
				v++;
			if (!*v) {
				snprintf(err, errlen, "%s:%d: key '%s' has no value", d->file, line, k);
				return -EINVAL;
			}
			if ((rc = add_kv(cur, vs, k, (size_t)(e - k), v, line)) < 0)
				return rc;
		}
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

static int yaml_section(struct conf_doc *d, const struct vars *vs, const char *kind,
			const struct ynode *map, char *err, size_t errlen)
{
	struct conf_section *s;
	size_t i, j;
	int rc;

	if (map->type != Y_MAP) {
		snprintf(err, errlen, "%s:%d: a %s entry must be a mapping of keys to values", d->file, map->line, kind);
		return -EINVAL;
	}
	if (!(s = add_section(d, kind, strlen(kind), map->line)))
		return -ENOMEM;
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->items[i], *v = map->items[i + 1];

		if (k->type != Y_SCALAR) {
			snprintf(err, errlen, "%s:%d: keys must be plain strings", d->file, k->line);
			return -EINVAL;
		}
		if (v->type == Y_SCALAR) {
			if ((rc = add_kv(s, vs, k->scalar, strlen(k->scalar), v->scalar, k->line)) < 0)
				return rc;
			continue;
		}
		if (v->type == Y_SEQ) {
			for (j = 0; j < v->n; j++) {
				if (v->items[j]->type != Y_SCALAR) {
					snprintf(err, errlen, "%s:%d: '%s' must be a value or a list of values",
						 d->file, v->items[j]->line, k->scalar);
					return -EINVAL;
				}
				if ((rc = add_kv(s, vs, k->scalar, strlen(k->scalar), v->items[j]->scalar, v->items[j]->line)) < 0)
					return rc;
			}
			continue;
		}
		snprintf(err, errlen, "%s:%d: '%s' must be a value or a list of values (nested settings such as "
			 "processors are not supported)", d->file, k->line, k->scalar);
		return -EINVAL;
	}
	return 0;
}

static int yaml_walk(const struct ynode *root, struct conf_doc *d, struct vars *vs, char *err, size_t errlen)
{
	size_t i, j, k;
	int rc;

	if (root->type != Y_MAP) {
		snprintf(err, errlen, "%s:%d: the top level must be a mapping (service:, pipeline:)", d->file, root->line);
		return -EINVAL;
	}
	/* env: first, so that ${NAME} anywhere can use it. */
	for (i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *key = root->items[i], *val = root->items[i + 1];

		if (key->type != Y_SCALAR || strcmp(key->scalar, "env") != 0)
			continue;
		if (val->type != Y_MAP) {
			snprintf(err, errlen, "%s:%d: env must be a mapping", d->file, val->line);
			return -EINVAL;
		}
		for (j = 0; j + 1 < val->n; j += 2) {
			if (val->items[j]->type != Y_SCALAR || val->items[j + 1]->type != Y_SCALAR) {
				snprintf(err, errlen, "%s:%d: env values must be plain values", d->file, val->items[j]->line);
				return -EINVAL;
			}
			if ((rc = vars_set(vs, val->items[j]->scalar, strlen(val->items[j]->scalar),
					   val->items[j + 1]->scalar)) < 0)
				return rc;
		}
	}
	for (i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *key = root->items[i], *val = root->items[i + 1];

		if (key->type != Y_SCALAR) {
			snprintf(err, errlen, "%s:%d: top-level keys must be plain strings", d->file, key->line);
			return -EINVAL;
		}
		if (strcmp(key->scalar, "env") == 0)
			continue;
		if (strcmp(key->scalar, "service") == 0) {
			if ((rc = yaml_section(d, vs, "service", val, err, errlen)) < 0)
				return rc;
			continue;
		}
		if (strcmp(key->scalar, "pipeline") != 0) {
			snprintf(err, errlen, "%s:%d: unknown section '%s' (supported: env, service, pipeline)",
				 d->file, key->line, key->scalar);
			return -EINVAL;
		}
		if (val->type != Y_MAP) {
			snprintf(err, errlen, "%s:%d: pipeline must be a mapping (inputs:, outputs:)", d->file, val->line);
			return -EINVAL;
		}
		for (j = 0; j + 1 < val->n; j += 2) {
			const struct ynode *pk = val->items[j], *pv = val->items[j + 1];
			const char *kind;

			if (pk->type != Y_SCALAR) {
				snprintf(err, errlen, "%s:%d: pipeline keys must be plain strings", d->file, pk->line);
				return -EINVAL;
			}
			if (strcmp(pk->scalar, "inputs") == 0)
				kind = "input";
			else if (strcmp(pk->scalar, "outputs") == 0)
				kind = "output";
			else if (strcmp(pk->scalar, "filters") == 0)
				kind = "filter";
			else {
				snprintf(err, errlen, "%s:%d: unknown pipeline section '%s' (supported: inputs, outputs, filters)",
					 d->file, pk->line, pk->scalar);
				return -EINVAL;
			}
			if (pv->type != Y_SEQ) {
				if (pv->type == Y_SCALAR && pv->scalar[0] == '\0')
					continue; /* "inputs:" with nothing under it */
				snprintf(err, errlen, "%s:%d: pipeline %s must be a list", d->file, pv->line, pk->scalar);
				return -EINVAL;
			}
			for (k = 0; k < pv->n; k++)
				if ((rc = yaml_section(d, vs, kind, pv->items[k], err, errlen)) < 0)
					return rc;
		}
	}
	return 0;
}

static int parse_yaml(const char *text, size_t n, struct conf_doc *d, struct vars *vs, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *root = NULL;
	int rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errlen, "%s:%zu: %s", d->file, p.problem_mark.line + 1,
				 p.problem ? p.problem : "YAML syntax error");
			rc = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (root) {
				snprintf(err, errlen, "%s:%zu: only one YAML document is supported", d->file,
					 ev.start_mark.line + 1);
				rc = -EINVAL;
			} else {
				rc = yaml_build(&p, &ev, &root, 0, d->file, err, errlen);
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	if (rc == 0 && root && !(root->type == Y_SCALAR && root->scalar[0] == '\0'))
		rc = yaml_walk(root, d, vs, err, errlen);
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

int conf_parse(const char *text, size_t n, const char *file, struct conf_doc *doc, char *err, size_t errlen)
{
	struct vars vs = { 0 };
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (!(doc->file = strdup(file ? file : "<config>")))
		return -ENOMEM;
	if (looks_classic(text, n))
		rc = parse_classic(text, n, doc, &vs, err, errlen);
	else
		rc = parse_yaml(text, n, doc, &vs, err, errlen);
	vars_free(&vs);
	if (rc < 0)
		conf_doc_free(doc);
	return rc;
}
