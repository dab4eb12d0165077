/* watch.c: list+watch informers over libcurl: paged lists, streamed events, bookmarks, resume, 410 re-list, jittered backoff. */
#include "watch.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cmetrics.h"
#include "ctlutil.h"
#include "kobj.h"
#include "log.h"
#include "watchstream.h"

enum wstate { W_LIST, W_WATCH, W_STREAMING, W_STOPPED };

struct watch {
	struct kube *k;
	CURLM *multi;
	CURL *sync;
	CURL *stream;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *resource, *path, *selector;
	bool owned;
	void (*transform)(json_t *obj);
	int tmin, tmax;
	watch_change_fn on_change;
	void *ctx;
	struct cache *cache;

	enum wstate state;
	int64_t due;             /* when to list / watch */
	struct cu_backoff bo;
	bool synced;
	char rv[128];            /* resume point */
	struct wstream ws;
	struct buf errbody;      /* body of a non-200 watch answer */
	bool gone;               /* an ERROR event with 410 */
	bool broken;             /* a protocol error: events may be lost, re-list */
	long status;
	long retry_after;        /* seconds from a Retry-After header of the watch answer, or 0 */
	int64_t started;
	double t0;
	bool observed;           /* the latency of this watch was reported */
	unsigned long events;
	unsigned long dicts;     /* the cache's dictionaries adopted, as last reported */
};

static void set_rv(struct watch *w, const char *rv)
{
	if (rv && *rv)
		cu_strlcpy(w->rv, rv, sizeof(w->rv));
}

struct watch *watch_new(struct kube *k, CURLM *multi, CURL *sync, const struct watch_cfg *cfg)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->k = k;
	w->multi = multi;
	w->sync = sync;
	w->owned = cfg->owned;
	w->transform = cfg->transform;
	w->tmin = cfg->timeout_min_s > 0 ? cfg->timeout_min_s : 300;
	w->tmax = cfg->timeout_max_s >= w->tmin ? cfg->timeout_max_s : w->tmin;
	w->on_change = cfg->on_change;
	w->ctx = cfg->ctx;
	w->state = W_LIST;
	cu_backoff_init(&w->bo, WATCH_BACKOFF_MIN_MS, WATCH_BACKOFF_MAX_MS);
	wstream_init(&w->ws, WATCH_MAX_EVENT);
	buf_init(&w->errbody, 64 * 1024);
	if (!(w->resource = strdup(cfg->resource)) || !(w->path = strdup(cfg->path)) ||
	    (cfg->label_selector && !(w->selector = strdup(cfg->label_selector))) || !(w->cache = cache_new()) ||
	    !(w->stream = curl_easy_init())) {
		watch_free(w);
		return NULL;
	}
	curl_easy_setopt(w->stream, CURLOPT_PRIVATE, w);
	return w;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	if (w->state == W_STREAMING)
		curl_multi_remove_handle(w->multi, w->stream);
	w->state = W_STOPPED;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	watch_stop(w);
	if (w->stream)
		curl_easy_cleanup(w->stream);
	curl_slist_free_all(w->hdrs);
	wstream_free(&w->ws);
	buf_free(&w->errbody);
	cache_free(w->cache);
	free(w->resource);
	free(w->path);
	free(w->selector);
	free(w);
}

bool watch_owns(const struct watch *w, CURL *e)
{
	return w->stream == e;
}

bool watch_synced(const struct watch *w)
{
	return w->synced;
}

const char *watch_rv(const struct watch *w)
{
	return w->rv;
}

const char *watch_resource(const struct watch *w)
{
	return w->resource;
}

struct cache *watch_cache(struct watch *w)
{
	return w->cache;
}

int64_t watch_next_ms(const struct watch *w, int64_t now)
{
	if (w->state == W_STREAMING || w->state == W_STOPPED)
		return -1;
	return w->due <= now ? 0 : w->due - now;
}

/* Put an object into the cache and tell the owner of the watch, unless the cache already
 * holds this very version (the echo of a write whose answer was cached, an unchanged object
 * in a re-list): that one is only marked seen, not encoded again. */
static int upsert(struct watch *w, json_t *obj)
{
	char key[512], owner[512];
	struct cache_obj *old = NULL;
	const struct cache_obj *now;
	int rc;

	if (kobj_key(obj, key, sizeof(key)) < 0)
		return 0; /* nameless: ignore */
	if (cache_keep(w->cache, key, kobj_str(obj, "metadata.resourceVersion", "")))
		return 0;
	if (w->transform)
		w->transform(obj);
	if (w->owned && kobj_owner_key(obj, owner, sizeof(owner)) < 0)
		owner[0] = '\0';
	if ((rc = cache_put(w->cache, key, obj, w->owned && owner[0] ? owner : NULL, &old)) < 0)
		return rc;
	now = cache_get(w->cache, key);
	if (w->on_change && (!old || strcmp(cache_obj_rv(old), cache_obj_rv(now)) != 0))
		w->on_change(w->ctx, w, key, now, old);
	cache_obj_free(old);
	return 0;
}

static void removed(struct watch *w, json_t *obj)
{
	char key[512], owner[512];
	struct cache_obj *old;

	if (kobj_key(obj, key, sizeof(key)) < 0)
		return;
	if (w->transform)
		w->transform(obj);
	old = cache_del(w->cache, key);
	if (!old) {
		/* Unknown here: describe it from the event so the owner still hears of it. */
		if (!w->owned || kobj_owner_key(obj, owner, sizeof(owner)) < 0)
			owner[0] = '\0';
		if (!(old = cache_obj_new(w->cache, obj, owner[0] ? owner : NULL)))
			return;
	}
	if (w->on_change)
		w->on_change(w->ctx, w, key, NULL, old);
	cache_obj_free(old);
}

static void sweep_cb(void *ctx, const char *key, const struct cache_obj *o)
{
	struct watch *w = ctx;

	log_debug("%s %s: gone after a re-list", w->resource, key);
	if (w->on_change)
		w->on_change(w->ctx, w, key, NULL, o);
}

/* One blocking list, page by page. 0, -EAGAIN (retry after backoff), -ESTALE (continue
 * token expired: start over). */
static int list_once(struct watch *w, int64_t *retry_after_ms)
{
	struct kube_resp r;
	struct buf path;
	char cont[4096] = "", msg[512];
	json_t *root = NULL;
	int rc = 0, pages = 0;

	kube_resp_init(&r, WATCH_MAX_LIST_PAGE);
	buf_init(&path, 16384);
	cache_clear_marks(w->cache);
	do {
		json_t *items, *it;
		size_t i;

		buf_reset(&path);
		buf_printf(&path, "%s?limit=%d", w->path, WATCH_LIST_PAGE);
		if (w->selector) {
			buf_puts(&path, "&labelSelector=");
			kube_query_escape(&path, w->selector);
		}
		if (cont[0]) {
			buf_puts(&path, "&continue=");
			kube_query_escape(&path, cont);
		}
		if (buf_putc(&path, '\0') < 0) {
			rc = -EAGAIN;
			break;
		}
		if (kube_request(w->k, w->sync, "GET", "LIST", path.data, NULL, NULL, 0, &r) < 0 || r.status != 200) {
			if (r.status == 410 && cont[0]) {
				rc = -ESTALE;
				break;
			}
			if (r.status == 401)
				kube_token_invalidate(w->k);
			if (r.retry_after > 0)
				*retry_after_ms = r.retry_after * 1000;
			log_warn("list %s: %s", w->resource, kube_resp_message(&r, msg, sizeof(msg)));
			rc = -EAGAIN;
			break;
		}
		json_decref(root);
		if (!(root = json_loadb(r.body.data, r.body.len, 0, NULL)) || !json_is_array(items = json_object_get(root, "items"))) {
			log_warn("list %s: the answer is not a list", w->resource);
			rc = -EAGAIN;
			break;
		}
		/* The answer is parsed: free its text before the objects are copied into the cache. */
		buf_free(&r.body);
		buf_init(&r.body, WATCH_MAX_LIST_PAGE);
		json_array_foreach(items, i, it) {
			if ((rc = upsert(w, it)) < 0)
				break;
		}
		if (rc < 0) {
			rc = -EAGAIN;
			break;
		}
		cu_strlcpy(cont, kobj_str(root, "metadata.continue", ""), sizeof(cont));
		if (!cont[0])
			set_rv(w, kobj_str(root, "metadata.resourceVersion", ""));
		pages++;
	} while (cont[0] && pages < 100000);
	if (rc == 0)
		cache_sweep(w->cache, sweep_cb, w);
	json_decref(root);
	kube_resp_free(&r);
	buf_free(&path);
	/* A list is the peak of this process's memory: give the freed pages back. */
	malloc_trim(0);
	return rc;
}

/* The cache's gauges: objects, their text, what it holds for them. */
static void report_cache(struct watch *w)
{
	struct cache_stats st;

	cache_stats(w->cache, &st);
	if (st.dict_changes != w->dicts) {
		log_debug("%s: cache dictionary %lu adopted (%zu objects: %zu bytes of JSON held in %zu)", w->resource,
			  st.dict_changes, st.objects, st.text_bytes, st.stored_bytes + st.dict_bytes);
		w->dicts = st.dict_changes;
	}
	cmet_set(CMET_CACHE_OBJECTS, w->resource, NULL, (double)st.objects);
	cmet_set(CMET_CACHE_BYTES, w->resource, "json", (double)st.text_bytes);
	cmet_set(CMET_CACHE_BYTES, w->resource, "stored", (double)(st.stored_bytes + st.dict_bytes));
}

static void do_list(struct watch *w, int64_t now)
{
	int64_t retry_after = 0, d;
	int rc = list_once(w, &retry_after);

	if (rc == -ESTALE)
		rc = list_once(w, &retry_after);
	if (rc < 0) {
		d = cu_backoff_next(&w->bo);
		if (retry_after > 0) /* the server said when: believe it (bounded) */
			d = retry_after < WATCH_BACKOFF_MAX_MS ? retry_after : WATCH_BACKOFF_MAX_MS;
		w->due = now + d;
		log_info("list %s failed; retrying in %lld ms", w->resource, (long long)d);
		return;
	}
	if (!w->synced)
		log_info("%s: listed %zu objects at resourceVersion %s", w->resource, cache_len(w->cache), w->rv);
	else
		log_info("%s: re-listed %zu objects at resourceVersion %s", w->resource, cache_len(w->cache), w->rv);
	w->synced = true;
	report_cache(w);
	w->state = W_WATCH;
	w->due = now;
}

static int on_event(void *ctx, const char *json, size_t len)
{
	struct watch *w = ctx;
	struct wevent ev;
	char err[256];
	int rc = 0;

	if (wevent_decode(json, len, &ev, err, sizeof(err)) < 0) {
		log_warn("watch %s: %s; re-listing", w->resource, err);
		w->broken = true;
		return -EPROTO;
	}
	w->events++;
	cmet_add(CMET_WATCH_EVENTS, w->resource, wevent_type_name(ev.type), 1);
	switch (ev.type) {
	case WEV_ADDED:
	case WEV_MODIFIED:
		/* The echo of our own write (already cached from its response) changes nothing. */
		rc = upsert(w, ev.object);
		set_rv(w, ev.rv);
		break;
	case WEV_DELETED:
		removed(w, ev.object);
		set_rv(w, ev.rv);
		break;
	case WEV_BOOKMARK:
		set_rv(w, ev.rv);
		break;
	case WEV_ERROR:
		if (ev.code == 410) {
			log_info("watch %s: resourceVersion %s is gone (410 %s); re-listing", w->resource, w->rv, ev.reason);
			w->gone = true;
		} else {
			log_warn("watch %s: ERROR event %ld %s", w->resource, ev.code, ev.reason);
		}
		rc = -ECANCELED; /* the server ends the watch after an ERROR; so do we */
		break;
	}
	if (ev.type != WEV_BOOKMARK && ev.type != WEV_ERROR)
		report_cache(w);
	wevent_free(&ev);
	return rc;
}

static size_t stream_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct watch *w = ctx;
	size_t n = size * nmemb;
	int rc;

	if (!w->observed) {
		curl_easy_getinfo(w->stream, CURLINFO_RESPONSE_CODE, &w->status);
		kube_observe(w->k, "WATCH", w->status, cu_now_s() - w->t0);
		w->observed = true;
	}
	if (w->status != 200) {
		buf_append(&w->errbody, p, n); /* bounded; the rest is dropped */
		return n;
	}
	rc = wstream_feed(&w->ws, p, n, on_event, w);
	if (rc == -EPROTO || rc == -E2BIG) {
		if (!w->broken)
			log_warn("watch %s: %s; re-listing", w->resource,
				 rc == -E2BIG ? "an event larger than the limit" : "not a stream of JSON objects");
		w->broken = true;
	}
	return rc == 0 ? n : 0; /* 0 aborts the transfer */
}

static size_t stream_header_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct watch *w = ctx;
	size_t n = size * nmemb, i = 12;
	long v = 0;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < n && p[i] >= '0' && p[i] <= '9' && v < 100000)
			v = v * 10 + (p[i++] - '0');
		w->retry_after = v;
	}
	return n;
}

static void start_stream(struct watch *w, int64_t now)
{
	struct buf path;
	int timeout = w->tmin + (int)(cu_rand01() * (w->tmax - w->tmin + 1));

	if (timeout > w->tmax)
		timeout = w->tmax;
	buf_init(&path, 16384);
	buf_printf(&path, "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=", w->path, timeout);
	kube_query_escape(&path, w->rv);
	if (w->selector) {
		buf_puts(&path, "&labelSelector=");
		kube_query_escape(&path, w->selector);
	}
	curl_slist_free_all(w->hdrs);
	w->hdrs = NULL;
	wstream_reset(&w->ws);
	buf_reset(&w->errbody);
	w->gone = w->broken = w->observed = false;
	w->status = 0;
	w->retry_after = 0;
	w->events = 0;
	w->errbuf[0] = '\0';
	if (buf_putc(&path, '\0') < 0 ||
	    kube_setup_stream(w->k, w->stream, path.data, (long)(timeout + 60) * 1000, stream_cb, w, w->errbuf, &w->hdrs) < 0)
		goto fail;
	curl_easy_setopt(w->stream, CURLOPT_PRIVATE, w);
	curl_easy_setopt(w->stream, CURLOPT_HEADERFUNCTION, stream_header_cb);
	curl_easy_setopt(w->stream, CURLOPT_HEADERDATA, w);
	if (curl_multi_add_handle(w->multi, w->stream) != CURLM_OK)
		goto fail;
	log_debug("watch %s from resourceVersion %s (timeout %d s)", w->resource, w->rv, timeout);
	w->state = W_STREAMING;
	w->started = now;
	w->t0 = cu_now_s();
	buf_free(&path);
	return;
fail:
	log_warn("watch %s: cannot start the request", w->resource);
	w->due = now + cu_backoff_next(&w->bo);
	buf_free(&path);
}

void watch_tick(struct watch *w, int64_t now)
{
	if (w->state == W_STREAMING || w->state == W_STOPPED || now < w->due)
		return;
	if (w->state == W_LIST)
		do_list(w, now);
	if (w->state == W_WATCH && now >= w->due)
		start_stream(w, now);
}

static void restart(struct watch *w, const char *reason, bool relist, int64_t delay, int64_t now)
{
	cmet_add(CMET_WATCH_RESTARTS, w->resource, reason, 1);
	w->state = relist ? W_LIST : W_WATCH;
	w->due = now + delay;
}

void watch_done(struct watch *w, CURLcode cc, int64_t now)
{
	long status = 0;
	char msg[512];
	int64_t lasted = now - w->started, d;

	if (w->state != W_STREAMING)
		return;
	curl_multi_remove_handle(w->multi, w->stream);
	curl_easy_getinfo(w->stream, CURLINFO_RESPONSE_CODE, &status);
	if (!w->observed)
		kube_observe(w->k, "WATCH", status, cu_now_s() - w->t0);
	w->state = W_WATCH;
	if (status == 200 && lasted >= 1000)
		cu_backoff_reset(&w->bo);
	if (status == 410 || w->gone) {
		/* Our resourceVersion was compacted away: list again, now. */
		if (status == 410)
			log_info("watch %s: 410 Gone for resourceVersion %s; re-listing", w->resource, w->rv);
		restart(w, "gone", true, 0, now);
		return;
	}
	if (w->broken) {
		restart(w, "protocol", true, cu_backoff_next(&w->bo), now);
		return;
	}
	if (status == 200 && (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)) {
		/* A clean end (timeoutSeconds, or the server closing): resume where we were. A
		 * server that closes at once gets backoff instead of a hot loop. */
		log_debug("watch %s closed after %lld ms, %lu events; resuming at %s", w->resource, (long long)lasted,
			  w->events, w->rv);
		restart(w, "closed", false, lasted >= 1000 ? 0 : cu_backoff_next(&w->bo), now);
		return;
	}
	d = cu_backoff_next(&w->bo);
	if (status) {
		json_t *st = json_loadb(w->errbody.data ? w->errbody.data : "", w->errbody.len, 0, NULL);
		const char *m = kobj_str(st, "message", "");

		if (status == 401)
			kube_token_invalidate(w->k);
		/* 429s (a restarting server's "storage is (re)initializing", say) tell us when to come
		 * back: that, rather than a backoff grown while the server was away. */
		if (w->retry_after > 0)
			d = w->retry_after * 1000 < WATCH_BACKOFF_MAX_MS ? w->retry_after * 1000 : WATCH_BACKOFF_MAX_MS;
		log_warn("watch %s: HTTP %ld %s; retrying in %lld ms", w->resource, status, m, (long long)d);
		json_decref(st);
		restart(w, status == 429 || status >= 500 ? "throttled" : "rejected", false, d, now);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", w->errbuf[0] ? w->errbuf : curl_easy_strerror(cc));
	log_warn("watch %s: %s after %lld ms; retrying in %lld ms", w->resource, msg, (long long)lasted, (long long)d);
	restart(w, "error", false, d, now);
}
