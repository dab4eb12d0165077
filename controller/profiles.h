/* profiles.h: what every Vivo injects, kept by the main loop and read by the webhook's threads (one mutex). */
#ifndef VIVO_PROFILES_H
#define VIVO_PROFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "inject.h"
#include "render.h"

struct prof_reg;

struct prof_reg *prof_new(void);
void prof_free(struct prof_reg *r);

/* Record Vivo `key` ("ns/name"): its rendering `ro`, or (ro NULL) the reason its spec is
 * invalid. Replaces what was there. 0 or -ENOMEM. */
int prof_set(struct prof_reg *r, const char *key, const struct render_out *ro, const char *invalid);
/* Forget Vivo `key` (deleted). */
void prof_del(struct prof_reg *r, const char *key);
/* Until set ready, lookups answer -EAGAIN (the caches have not listed yet). */
void prof_set_ready(struct prof_reg *r, bool ready);

/* The key of the Vivo that label value `value` names in namespace `ns`: the Vivo of that
 * name, or for "true" the only Sidecar-mode Vivo there. 0, -ENOENT (none), -EEXIST
 * ("true" with several). Any mode; *sidecar (may be NULL) tells whether it is Sidecar mode. */
int prof_resolve(struct prof_reg *r, const char *ns, const char *value, char *key, size_t n, bool *sidecar);

/* adm_lookup_fn: on 0 the registry stays locked, and `p` points into it, until
 * prof_release; on an error it is unlocked. `p->native` is left to the caller. */
int prof_lookup(void *reg, const char *ns, const char *value, struct inj_profile *p, char *why, size_t whylen);
void prof_release(void *reg);

#endif
