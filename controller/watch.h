/* watch.h: an informer: list, then watch with bookmarks from the list's resourceVersion into a cache; resume, 410 re-list, backoff. */
#ifndef VIVO_WATCH_H
#define VIVO_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cache.h"
#include "kube.h"

#define WATCH_BACKOFF_MIN_MS 800
#define WATCH_BACKOFF_MAX_MS 30000
#define WATCH_LIST_PAGE 100
#define WATCH_MAX_EVENT (16u << 20)
#define WATCH_MAX_LIST_PAGE (64u << 20)

struct watch;

/* A change seen in the cache: `now` is the new entry (NULL when deleted), `old` the
 * previous one (NULL when new). Both are valid only during the call. */
typedef void (*watch_change_fn)(void *ctx, struct watch *w, const char *key, const struct cache_obj *now,
				const struct cache_obj *old);

struct watch_cfg {
	const char *resource;        /* "vivos", "configmaps", ... (logs and metrics) */
	const char *path;            /* collection path, e.g. /api/v1/namespaces/x/configmaps */
	const char *label_selector;  /* or NULL */
	bool owned;                  /* record each object's controlling Vivo */
	/* Shrink each object in place before it is cached (keep metadata.name, .namespace and
	 * .resourceVersion), or NULL: pods are cached as the few fields status needs. */
	void (*transform)(json_t *obj);
	int timeout_min_s;           /* watch timeoutSeconds is picked in [min, max] */
	int timeout_max_s;
	watch_change_fn on_change;
	void *ctx;
};

/* A watch that will list at the first watch_tick. `sync` is the caller's handle for the
 * blocking list requests; `multi` carries the streaming watch. Strings in cfg are copied. */
struct watch *watch_new(struct kube *k, CURLM *multi, CURL *sync, const struct watch_cfg *cfg);
/* Stop streaming and free. NULL-safe. */
void watch_free(struct watch *w);
/* Do what is due: list, or (re)start the stream. */
void watch_tick(struct watch *w, int64_t now);
/* The multi handle finished this watch's transfer with `cc`. */
void watch_done(struct watch *w, CURLcode cc, int64_t now);
/* True when `e` is this watch's streaming handle. */
bool watch_owns(const struct watch *w, CURL *e);
/* Milliseconds until watch_tick has something to do (0 = now, -1 = nothing: streaming). */
int64_t watch_next_ms(const struct watch *w, int64_t now);
/* True once the first list completed. */
bool watch_synced(const struct watch *w);
/* The last resourceVersion seen (list, event or bookmark), or "". */
const char *watch_rv(const struct watch *w);
const char *watch_resource(const struct watch *w);
struct cache *watch_cache(struct watch *w);
/* Stop the stream for good (shutdown). */
void watch_stop(struct watch *w);

#endif
