/* yamljson.c: libyaml events to jansson values (used for kubeconfigs and Vivo files). */
#include "yamljson.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yj {
	yaml_parser_t p;
	size_t nodes;
	char *err;
	size_t errlen;
};

static int fail(struct yj *y, size_t line, const char *what)
{
	snprintf(y->err, y->errlen, "line %zu: %s", line + 1, what);
	return -EINVAL;
}

static bool is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool is_float(const char *s)
{
	bool dig = false;

	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s)) {
		s++;
		dig = true;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			dig = true;
		}
	}
	if (!dig)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* A plain scalar resolved by the core schema; anything else is a string. */
static json_t *plain_scalar(const char *s, size_t n)
{
	if (strlen(s) != n) /* a NUL inside: keep the bytes as a string */
		return json_stringn_nocheck(s, n);
	if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if (is_int(s) && n < 20) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
	}
	if (is_float(s) && n < 64) {
		char *end;
		double v;

		errno = 0;
		v = strtod(s, &end);
		if (!errno && !*end && isfinite(v))
			return json_real(v);
	}
	return json_stringn_nocheck(s, n);
}

static int build(struct yj *y, yaml_event_t *start, json_t **out, int depth);

static int build_children(struct yj *y, json_t *parent, bool map, int depth)
{
	yaml_event_t ev;
	int rc;

	for (;;) {
		json_t *key = NULL, *val = NULL;

		if (!yaml_parser_parse(&y->p, &ev))
			return fail(y, y->p.problem_mark.line, y->p.problem ? y->p.problem : "YAML syntax error");
		if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (map) {
			size_t line = ev.start_mark.line;

			if (ev.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&ev);
				return fail(y, line, "mapping keys must be scalars");
			}
			key = json_stringn_nocheck((const char *)ev.data.scalar.value, ev.data.scalar.length);
			yaml_event_delete(&ev);
			if (!key)
				return -ENOMEM;
			if (!json_is_string(key) || strlen(json_string_value(key)) != json_string_length(key)) {
				json_decref(key);
				return fail(y, line, "NUL byte in a mapping key");
			}
			if (json_object_get(parent, json_string_value(key))) {
				char msg[160];

				snprintf(msg, sizeof(msg), "duplicate key '%.100s'", json_string_value(key));
				json_decref(key);
				return fail(y, line, msg);
			}
			if (!yaml_parser_parse(&y->p, &ev)) {
				json_decref(key);
				return fail(y, y->p.problem_mark.line, y->p.problem ? y->p.problem : "YAML syntax error");
			}
		}
		rc = build(y, &ev, &val, depth + 1);
		yaml_event_delete(&ev);
		if (rc < 0) {
			json_decref(key);
			return rc;
		}
		if (map) {
			rc = json_object_set_new(parent, json_string_value(key), val);
			json_decref(key);
		} else {
			rc = json_array_append_new(parent, val);
		}
		if (rc < 0)
			return -ENOMEM;
	}
}

static int build(struct yj *y, yaml_event_t *ev, json_t **out, int depth)
{
	json_t *v = NULL;
	int rc;

	if (++y->nodes > YJ_MAX_NODES)
		return fail(y, ev->start_mark.line, "too many nodes");
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;
		const char *tag = (const char *)ev->data.scalar.tag;

		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
			v = plain_scalar(s, n);
		else
			v = json_stringn_nocheck(s, n);
		if (!v)
			return -ENOMEM;
		*out = v;
		return 0;
	}
	case YAML_ALIAS_EVENT:
		return fail(y, ev->start_mark.line, "YAML aliases are not supported");
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (depth >= YJ_MAX_DEPTH)
			return fail(y, ev->start_mark.line, "nesting too deep");
		v = ev->type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
		if (!v)
			return -ENOMEM;
		if ((rc = build_children(y, v, ev->type == YAML_MAPPING_START_EVENT, depth)) < 0) {
			json_decref(v);
			return rc;
		}
		*out = v;
		return 0;
	default:
		return fail(y, ev->start_mark.line, "unexpected YAML event");
	}
}

int yj_parse(const char *text, size_t n, json_t **out, char *err, size_t errlen)
{
	struct yj y;
	yaml_event_t ev;
	json_t *root = NULL;
	int rc = 0;

	memset(&y, 0, sizeof(y));
	y.err = err;
	y.errlen = errlen;
	if (!yaml_parser_initialize(&y.p))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, n);
	/* Skip to the first node: STREAM-START, DOCUMENT-START. */
	for (;;) {
		if (!yaml_parser_parse(&y.p, &ev)) {
			rc = fail(&y, y.p.problem_mark.line, y.p.problem ? y.p.problem : "YAML syntax error");
			goto out;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			root = json_null();
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		rc = build(&y, &ev, &root, 0);
		yaml_event_delete(&ev);
		break;
	}
	if (rc == 0)
		*out = root;
out:
	yaml_parser_delete(&y.p);
	return rc;
}

int yj_parse_all(const char *text, size_t n, json_t **out, char *err, size_t errlen)
{
	struct yj y;
	yaml_event_t ev;
	json_t *docs = json_array(), *doc;
	int rc = 0;

	if (!docs)
		return -ENOMEM;
	memset(&y, 0, sizeof(y));
	y.err = err;
	y.errlen = errlen;
	if (!yaml_parser_initialize(&y.p)) {
		json_decref(docs);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, n);
	for (;;) {
		if (!yaml_parser_parse(&y.p, &ev)) {
			rc = fail(&y, y.p.problem_mark.line, y.p.problem ? y.p.problem : "YAML syntax error");
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		doc = NULL;
		rc = build(&y, &ev, &doc, 0);
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
		/* Empty documents (a stray "---") are skipped. */
		if (!json_is_null(doc) && json_array_append(docs, doc) < 0)
			rc = -ENOMEM;
		json_decref(doc);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&y.p);
	if (rc < 0) {
		json_decref(docs);
		return rc;
	}
	*out = docs;
	return 0;
}
