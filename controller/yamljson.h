/* yamljson.h: YAML text (the first document) to a jansson tree, with bounded depth and size. */
#ifndef VIVO_YAMLJSON_H
#define VIVO_YAMLJSON_H

#include <stddef.h>

#include <jansson.h>

#define YJ_MAX_DEPTH 64
#define YJ_MAX_NODES 200000

/* Parse YAML (JSON is YAML) into *out (caller json_decref()s). Plain scalars resolve as in
 * YAML 1.2's core schema (null, true/false, integers, floats); quoted and block scalars are
 * strings. Aliases, non-scalar keys and duplicate keys are refused. An empty document is
 * JSON null. 0, or -EINVAL with "line N: reason" in `err`, or -ENOMEM. */
int yj_parse(const char *text, size_t n, json_t **out, char *err, size_t errlen);

/* Every document of a YAML stream ("---" separated), as a JSON array (empty documents
 * left out); the same rules and limits as yj_parse. 0, -EINVAL with "line N: reason",
 * -ENOMEM. */
int yj_parse_all(const char *text, size_t n, json_t **out, char *err, size_t errlen);

#endif
