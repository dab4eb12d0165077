/* yamlout.h: a jansson value written as block-style YAML, byte-for-byte deterministic. */
#ifndef VIVO_YAMLOUT_H
#define VIVO_YAMLOUT_H

#include <jansson.h>

#include "buf.h"

/* Append `v` (an object or an array) as block YAML at indentation 0. Keys are ordered
 * service, pipeline, inputs, filters, outputs, name, then bytewise, so the same value always
 * gives the same bytes; strings are double-quoted with escapes. 0, -ENOSPC, -ENOMEM, or
 * -EINVAL for a scalar at the top or nesting deeper than 64. */
int yout_emit(struct buf *out, const json_t *v);
/* Append one string as a double-quoted YAML scalar. */
int yout_quote(struct buf *out, const char *s, size_t n);

#endif
