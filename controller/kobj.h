/* kobj.h: helpers over Kubernetes objects as jansson values: paths, keys, owners, stripping, "covers" comparison. */
#ifndef VIVO_KOBJ_H
#define VIVO_KOBJ_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The value at a dotted path ("metadata.name"), or NULL. Borrowed reference. */
json_t *kobj_get(const json_t *o, const char *path);
/* The string at a path, or `def` when absent or not a string. */
const char *kobj_str(const json_t *o, const char *path, const char *def);
/* "namespace/name" (or "name" for cluster-scoped objects) into out. -EINVAL if no name. */
int kobj_key(const json_t *o, char *out, size_t n);
/* Remove fields a cache never needs (metadata.managedFields). */
void kobj_strip(json_t *o);
/* The key ("ns/name") of the Vivo that controls `o`: its controller ownerReference of kind
 * Vivo, else its app.kubernetes.io/instance label. -ENOENT when neither is there. */
int kobj_owner_key(const json_t *o, char *out, size_t n);

/* True when every field of `want` is in `have` with an equal value: objects are compared
 * key by key (extra keys in `have` are fine, a zero value in `want` - "", 0, false, null,
 * {}, [] - matches a missing key), arrays element by element with equal lengths, and
 * strings under a "resources" key as Kubernetes quantities ("1000m" == "1"). This is how the
 * controller decides that a live object already holds what it would apply. */
bool kobj_covers(const json_t *want, const json_t *have);

/* Parse a Kubernetes quantity ("128Mi", "0.5", "1e3", "250m") to a value. 0 or -EINVAL. */
int kobj_quantity(const char *s, long double *out);

#endif
