/* exporter.c: stream reads with paging headers, long-polls held in an index by `from` (an
 * append wakes only the polls it satisfies), per-address caps on held polls, CORS. */
#include "exporter_int.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addrmap.h"
#include "agent.h"
#include "log.h"
#include "mpjson.h"
#include "query.h"
#include "refuse.h"
#include "waiters.h"

/* Long-polls one client address may hold at once; past it: 429 (a follower holds three per
 * upstream it follows; an aggregator behind one address follows many upstreams, not many
 * times the same one). */
#define HELD_PER_ADDR 512
/* After this many answered polls, the next quiet second gives freed memory back to the
 * system (glibc keeps freed blocks of busy threads' arenas otherwise). */
#define TRIM_AFTER 256

struct exporter {
	struct stream **streams;
	pthread_mutex_t lock;       /* guards settings, the waiter index, held_by_addr */
	pthread_cond_t cond;        /* on CLOCK_MONOTONIC */
	pthread_t waker;
	bool waker_started;
	bool draining;              /* answer held polls now and hold no new ones */
	bool quit;                  /* the waker thread ends */
	bool empty_on_read;
	char cors[256];
	struct waitset ws;          /* held polls */
	struct addrmap held_by_addr;
	atomic_int nwaiters;        /* suspended requests not yet answered */
	/* The smallest `from` held per stream, [0] any chunk, [1] local ones only: an append
	 * below it wakes nobody (read without the lock by the store's notify hook). */
	_Atomic uint64_t min_from[STREAM_COUNT][2];
	struct append_hook { struct exporter *e; enum stream_kind kind; } hooks[STREAM_COUNT];
	atomic_bool appended;       /* set by the store's notify hook */
	unsigned answered;          /* polls answered since the last malloc_trim (waker only) */
	int64_t last_answer_ms;
	uint16_t ports[PORT_COUNT];
	char boot_id[33];           /* random per process: clients tell restarts apart */
	uint64_t start_time_ns;
	char *kube[3];              /* pod, namespace, node from the environment, or NULL */
	struct info_source *sources; /* contributors to /api/v1/info "sources" (guarded by lock) */
};

struct info_source {
	exporter_info_fn fn;
	void *arg;
	struct info_source *next;
};

static const char *const kube_env[3] = { "POD_NAME", "POD_NAMESPACE", "NODE_NAME" };
static const char *const kube_keys[3] = { "pod", "namespace", "node" };

/* Per-request state kept across a suspend. */
struct req_state {
	struct exporter *e;
	int64_t deadline_ms;
	struct waiter *w;           /* in the index while held (guarded by e->lock) */
	bool waited;                /* suspended and counted in nwaiters */
	char host[ADDRMAP_KEY_MAX]; /* the client's address, counted in held_by_addr while w is set */
};

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Store hook: returns at once unless the chunk answers a held poll (the smallest `from`
 * held), so idle followers far ahead cost an append two atomic loads. */
static void on_append(void *arg, uint64_t id, bool local)
{
	const struct append_hook *h = arg;
	struct exporter *e = h->e;

	if (id < atomic_load(&e->min_from[h->kind][0]) && !(local && id >= atomic_load(&e->min_from[h->kind][1])))
		return;
	pthread_mutex_lock(&e->lock);
	atomic_store(&e->appended, true);
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static bool has_from(struct exporter *e, enum stream_kind k, uint64_t from, bool local_only)
{
	return local_only ? stream_has_local_from(e->streams[k], from) : stream_has_from(e->streams[k], from);
}

/* Lock held: publish the smallest `from` of stream k. */
static void update_min(struct exporter *e, enum stream_kind k)
{
	atomic_store(&e->min_from[k][0], waitset_min_from(&e->ws, k, false));
	atomic_store(&e->min_from[k][1], waitset_min_from(&e->ws, k, true));
}

/* Lock held: `w` left the index (the caller took it out): its request is no longer held
 * by us; `w` goes on the `out` list (to resume) or is freed. */
static void release(struct exporter *e, struct waiter *w, struct waiter **out)
{
	struct req_state *st = ((struct httpd_req *)w->req)->state;

	st->w = NULL;
	addrmap_add(&e->held_by_addr, st->host, -1, NULL);
	if (out) {
		w->next = *out;
		*out = w;
	} else {
		free(w);
	}
}

/* Lock held: take every waiter that can be answered now onto *out. */
static void collect(struct exporter *e, struct waiter **out)
{
	uint64_t newest, local_newest;
	struct waiter *w;
	bool local_ok;
	int k, l;

	for (k = 0; k < STREAM_COUNT; k++) {
		if (e->draining) {
			for (l = 0; l < 2; l++)
				while ((w = waitset_pop_from(&e->ws, (enum stream_kind)k, l, UINT64_MAX)))
					release(e, w, out);
		} else if (atomic_load(&e->min_from[k][0]) != UINT64_MAX || atomic_load(&e->min_from[k][1]) != UINT64_MAX) {
			if (stream_newest(e->streams[k], &newest, &local_newest, &local_ok))
				while ((w = waitset_pop_from(&e->ws, (enum stream_kind)k, false, newest)))
					release(e, w, out);
			while (local_ok && (w = waitset_pop_from(&e->ws, (enum stream_kind)k, true, local_newest)))
				release(e, w, out);
		}
	}
	while ((w = waitset_pop_expired(&e->ws, now_ms())))
		release(e, w, out);
	for (k = 0; k < STREAM_COUNT; k++)
		update_min(e, (enum stream_kind)k);
}

/* After a burst of answers, a quiet moment returns the freed memory (glibc only). */
static void maybe_trim(struct exporter *e, unsigned answered)
{
	int64_t now = now_ms();

	if (answered) {
		e->answered += answered;
		e->last_answer_ms = now;
		return;
	}
#ifdef __GLIBC__
	if (e->answered >= TRIM_AFTER && now - e->last_answer_ms >= 1000) {
		malloc_trim(0);
		e->answered = 0;
	}
#endif
}

/* The waker: answers held polls as appends satisfy them, deadlines pass or a drain begins.
 * Requests are resumed with the lock released (a transport's client-gone path takes its
 * own lock, then ours). */
static void *waker_main(void *arg)
{
	struct exporter *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct waiter *list = NULL, *w;
		unsigned n = 0;
		int64_t until;
		struct timespec ts;

		atomic_store(&e->appended, false);
		collect(e, &list);
		pthread_mutex_unlock(&e->lock);
		while ((w = list)) {
			list = w->next;
			httpd_resume(w->req);
			free(w);
			n++;
		}
		maybe_trim(e, n);
		pthread_mutex_lock(&e->lock);
		if (e->quit && waitset_count(&e->ws) == 0)
			break;
		if (atomic_load(&e->appended) || (e->draining && waitset_count(&e->ws) > 0))
			continue;
		/* Sleep until the next deadline (at most a second, for maybe_trim); appends that
		 * answer someone and new polls wake us earlier. */
		until = waitset_next_deadline(&e->ws);
		if (until > now_ms() + 1000)
			until = now_ms() + 1000;
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* Lock held: take the request's poll out of the index if it is still there (nobody is
 * answering it). True when it was. */
static bool unindex(struct exporter *e, struct req_state *st)
{
	enum stream_kind k;

	if (!st->w)
		return false;
	k = st->w->kind;
	waitset_remove(&e->ws, st->w);
	release(e, st->w, NULL);
	update_min(e, k);
	return true;
}

/* httpd's client-gone hook for a held poll: let go of it unless it is being answered. */
static bool poll_gone(struct httpd_req *r)
{
	struct req_state *st = r->state;
	struct exporter *e = st->e;
	bool gone;

	pthread_mutex_lock(&e->lock);
	gone = unindex(e, st);
	pthread_mutex_unlock(&e->lock);
	return gone;
}

/* A random ID for this process's streams (IDs restart at 0 with a new process). */
static void boot_identity(struct exporter *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	struct timespec now;
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i, got = f ? fread(rnd, 1, sizeof(rnd), f) : 0;

	if (f)
		fclose(f);
	clock_gettime(CLOCK_REALTIME, &now);
	e->start_time_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	for (i = got; i < sizeof(rnd); i++) /* no urandom: time and pid still differ per boot */
		rnd[i] = (unsigned char)((e->start_time_ns >> (8 * (i % 8))) ^ (uint64_t)getpid() >> (i % 4));
	for (i = 0; i < sizeof(rnd); i++) {
		e->boot_id[2 * i] = hex[rnd[i] >> 4];
		e->boot_id[2 * i + 1] = hex[rnd[i] & 15];
	}
	e->boot_id[32] = '\0';
}

int exporter_new(struct stream **streams, const struct exporter_settings *s, struct exporter **out)
{
	struct exporter *e = calloc(1, sizeof(*e));
	int k;

	if (!e)
		return -ENOMEM;
	e->streams = streams;
	boot_identity(e);
	pthread_mutex_init(&e->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&e->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (k = 0; k < STREAM_COUNT; k++)
		update_min(e, (enum stream_kind)k);
	for (k = 0; k < 3; k++) {
		const char *v = getenv(kube_env[k]);

		if (v && *v && !(e->kube[k] = strdup(v))) {
			exporter_free(e);
			return -ENOMEM;
		}
	}
	exporter_configure(e, s);
	if (pthread_create(&e->waker, NULL, waker_main, e) != 0) {
		exporter_free(e);
		return -EAGAIN;
	}
	e->waker_started = true;
	for (k = 0; k < STREAM_COUNT; k++) {
		e->hooks[k].e = e;
		e->hooks[k].kind = (enum stream_kind)k;
		stream_set_notify(streams[k], on_append, &e->hooks[k]);
	}
	*out = e;
	return 0;
}

int exporter_configure(struct exporter *e, const struct exporter_settings *s)
{
	pthread_mutex_lock(&e->lock);
	e->empty_on_read = s->empty_stream_on_read;
	snprintf(e->cors, sizeof(e->cors), "%s", s->cors_origin ? s->cors_origin : "");
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void exporter_set_port(struct exporter *e, enum exporter_port p, uint16_t port)
{
	pthread_mutex_lock(&e->lock);
	e->ports[p] = port;
	pthread_mutex_unlock(&e->lock);
}

void exporter_drain(struct exporter *e)
{
	int i;

	pthread_mutex_lock(&e->lock);
	e->draining = true;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	/* Resumed requests answer on the servers' threads; wait for them (at most 5 s): a
	 * daemon must not be stopped while one is still suspended. */
	for (i = 0; i < 1000 && atomic_load(&e->nwaiters) > 0; i++)
		usleep(5000);
}

void exporter_undrain(struct exporter *e)
{
	pthread_mutex_lock(&e->lock);
	e->draining = false;
	pthread_mutex_unlock(&e->lock);
}

void exporter_free(struct exporter *e)
{
	int k;

	if (!e)
		return;
	for (k = 0; k < STREAM_COUNT; k++)
		stream_set_notify(e->streams[k], NULL, NULL);
	if (e->waker_started) {
		pthread_mutex_lock(&e->lock);
		e->draining = e->quit = true;
		pthread_cond_signal(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->waker, NULL);
	}
	while (e->sources) {
		struct info_source *n = e->sources->next;

		free(e->sources);
		e->sources = n;
	}
	for (k = 0; k < 3; k++)
		free(e->kube[k]);
	waitset_free(&e->ws);
	addrmap_free(&e->held_by_addr);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

size_t exporter_held(struct exporter *e)
{
	size_t n;

	pthread_mutex_lock(&e->lock);
	n = waitset_count(&e->ws);
	pthread_mutex_unlock(&e->lock);
	return n;
}

const char *exporter_boot_id(const struct exporter *e)
{
	return e->boot_id;
}

int exporter_add_info_source(struct exporter *e, exporter_info_fn fn, void *arg)
{
	struct info_source *n = calloc(1, sizeof(*n)), **pp;

	if (!n)
		return -ENOMEM;
	n->fn = fn;
	n->arg = arg;
	pthread_mutex_lock(&e->lock);
	for (pp = &e->sources; *pp; pp = &(*pp)->next)
		;
	*pp = n; /* in registration order: the list reads like the config */
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void exporter_remove_info_source(struct exporter *e, void *arg)
{
	struct info_source **pp, *n;

	pthread_mutex_lock(&e->lock);
	for (pp = &e->sources; (n = *pp);) {
		if (n->arg == arg) {
			*pp = n->next;
			free(n);
		} else {
			pp = &n->next;
		}
	}
	pthread_mutex_unlock(&e->lock);
}

static void add_common(struct exporter *e, struct httpd_resp *resp)
{
	char cors[256];

	pthread_mutex_lock(&e->lock);
	memcpy(cors, e->cors, sizeof(cors));
	pthread_mutex_unlock(&e->lock);
	httpd_add_cors(resp, cors);
}

static void state_free(void *p)
{
	struct req_state *st = p;
	struct exporter *e = st->e;

	/* A request freed while still indexed (a transport stopping with polls held) leaves the
	 * index first; one counted as held is no longer. */
	if (st->w) {
		pthread_mutex_lock(&e->lock);
		unindex(e, st);
		pthread_mutex_unlock(&e->lock);
	}
	if (st->waited)
		atomic_fetch_sub(&e->nwaiters, 1);
	free(st);
}

/* OPTIONS: answer a CORS preflight (other methods never get here: the routes list
 * GET, HEAD and OPTIONS, and the server answers 405 with Allow for the rest). */
static enum MHD_Result preflight(struct exporter *e, struct httpd_req *r)
{
	struct httpd_resp *resp = httpd_resp_buffer("", 0, false);

	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
	httpd_resp_header(resp, "Allow", "GET, HEAD, OPTIONS");
	add_common(e, resp);
	return httpd_queue(r, MHD_HTTP_NO_CONTENT, resp);
}

static bool is_read(const struct httpd_req *r)
{
	return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

/* Lock held: index `r` as a poll on (k, from, local_only) until st->deadline_ms. 1 when it is
 * held (suspended), 0 when it must be answered now (draining, past its deadline, out of
 * memory, or a chunk arrived meanwhile), -1 when its address holds too many (429 queued). */
static int hold(struct exporter *e, struct httpd_req *r, struct req_state *st, enum stream_kind k, uint64_t from,
		bool local_only, enum MHD_Result *ret)
{
	unsigned held = addrmap_get(&e->held_by_addr, st->host);
	struct waiter *w;

	if (e->draining || now_ms() >= st->deadline_ms)
		return 0;
	if (held >= HELD_PER_ADDR) {
		refuse_note(httpd_name(r->srv), r->peer, REFUSE_POLLS, "%u long-polls held for this address (at most %d)",
			    held, HELD_PER_ADDR);
		*ret = httpd_reply_error(r, 429, "too many long-polls held for this address (at most %d); retry later",
					 HELD_PER_ADDR);
		return -1;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return 0;
	w->req = r;
	w->kind = k;
	w->from = from;
	w->local_only = local_only;
	w->deadline_ms = st->deadline_ms;
	if (waitset_add(&e->ws, w) < 0) {
		free(w);
		return 0;
	}
	if (addrmap_add(&e->held_by_addr, st->host, 1, NULL) < 0) {
		waitset_remove(&e->ws, w);
		free(w);
		return 0;
	}
	st->w = w;
	update_min(e, k);
	/* An append between the caller's look and the index did not see this poll: look again
	 * now that the hook will (update_min came first). */
	if (has_from(e, k, from, local_only)) {
		unindex(e, st);
		return 0;
	}
	st->waited = true;
	atomic_fetch_add(&e->nwaiters, 1);
	r->on_gone = poll_gone;
	httpd_suspend(r);
	pthread_cond_signal(&e->cond); /* its deadline may be the next one */
	return 1;
}

static enum MHD_Result serve_stream(struct exporter *e, struct httpd_req *r, enum stream_kind k, bool v1)
{
	struct req_state *st = r->state;
	struct stream_view v;
	struct query q;
	enum MHD_Result ret = MHD_NO;
	char err[160], cors[256];
	bool empty_on_read;

	if (!is_read(r))
		return preflight(e, r);
	if (query_parse(r->query, strlen(r->query), &q, err, sizeof(err)) < 0) {
		refuse_note(httpd_name(r->srv), r->peer, REFUSE_BAD_REQUEST, "%s", err);
		return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	}
	if (st && st->waited) {
		st->waited = false;
		atomic_fetch_sub(&e->nwaiters, 1);
	}
	if (q.has_wait && q.wait > 0 && !has_from(e, k, q.has_from ? q.from : 0, q.local_only)) {
		int held;

		if (!st) {
			if (!(st = calloc(1, sizeof(*st))))
				return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
			st->e = e;
			st->deadline_ms = now_ms() + (int64_t)q.wait * 1000;
			addrmap_host(r->peer, st->host);
			r->state = st;
			r->state_free = state_free;
		}
		pthread_mutex_lock(&e->lock);
		held = hold(e, r, st, k, q.has_from ? q.from : 0, q.local_only, &ret);
		pthread_mutex_unlock(&e->lock);
		if (held > 0)
			return MHD_YES;
		if (held < 0)
			return ret;
	}
	if (stream_read_filtered(e->streams[k], q.has_from ? q.from : 0, q.has_to ? q.to : UINT64_MAX,
				 q.has_limit ? q.limit : 0, q.local_only, &v) < 0)
		return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	pthread_mutex_lock(&e->lock);
	empty_on_read = e->empty_on_read;
	memcpy(cors, e->cors, sizeof(cors));
	pthread_mutex_unlock(&e->lock);
	/* A filtered read did not get the chunks it skipped: it removes nothing. */
	if (empty_on_read && v.count > 0 && strcmp(r->method, "GET") == 0 && !q.local_only)
		stream_drop_through(e->streams[k], v.last_id);
	return exporter_reply_view(r, &v, q.envelope ? BODY_ENVELOPE : v1 ? BODY_V1 : BODY_LEGACY, e->boot_id, cors);
}

enum MHD_Result exporter_serve_legacy(struct exporter *e, struct httpd_req *r, enum stream_kind k)
{
	return serve_stream(e, r, k, false);
}

static enum MHD_Result h_logs(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_LOGS, false); }
static enum MHD_Result h_metrics(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_METRICS, false); }
static enum MHD_Result h_traces(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_TRACES, false); }
static enum MHD_Result h_v1_logs(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_LOGS, true); }
static enum MHD_Result h_v1_metrics(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_METRICS, true); }
static enum MHD_Result h_v1_traces(struct httpd_req *r, void *ctx) { return serve_stream(ctx, r, STREAM_TRACES, true); }

static enum MHD_Result h_banner(struct httpd_req *r, void *ctx)
{
	static const char banner[] = "vivo-agent " PACKAGE_VERSION ": Vivo exporter API. "
				     "Read /logs, /metrics, /traces or /api/v1/{logs,metrics,traces}.\n";
	struct httpd_resp *resp;

	if (!is_read(r))
		return preflight(ctx, r);
	resp = httpd_resp_buffer(banner, sizeof(banner) - 1, false);
	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Content-Type", "text/plain; charset=utf-8");
	add_common(ctx, resp);
	return httpd_queue(r, MHD_HTTP_OK, resp);
}

/* Answer 200 with the JSON in `b` (freed here), or 500 when rendering it failed (rc). */
static enum MHD_Result reply_json(struct exporter *e, struct httpd_req *r, struct buf *b, int rc)
{
	struct httpd_resp *resp;

	if (rc) {
		buf_free(b);
		return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the answer");
	}
	resp = httpd_resp_buffer(b->data, b->len, true);
	buf_free(b);
	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Content-Type", "application/json");
	httpd_resp_header(resp, "Cache-Control", "no-store");
	add_common(e, resp);
	return httpd_queue(r, MHD_HTTP_OK, resp);
}

/* "pod", "namespace", "node" (those known) and "sources" (what followers report). */
static int info_fleet(struct exporter *e, struct buf *b)
{
	struct info_source *n;
	size_t count = 0;
	int k, rc = 0;

	for (k = 0; k < 3; k++) {
		if (!e->kube[k])
			continue;
		rc |= buf_printf(b, ",\"%s\":", kube_keys[k]);
		rc |= mpjson_put_string(b, e->kube[k], strlen(e->kube[k]));
	}
	rc |= buf_puts(b, ",\"sources\":[");
	pthread_mutex_lock(&e->lock);
	for (n = e->sources; n && rc == 0; n = n->next)
		rc = n->fn(n->arg, b, &count);
	pthread_mutex_unlock(&e->lock);
	return rc | buf_putc(b, ']');
}

/* /api/v1/info: version, ports and buffer facts for the UI, the pod in Kubernetes, the followed sources. */
static enum MHD_Result h_info(struct httpd_req *r, void *ctx)
{
	static const char *const port_names[PORT_COUNT] = { "ui", "forward", "http", "exporter", "otlp", "ops", "otlp_grpc" };
	struct exporter *e = ctx;
	struct buf b;
	int k, rc = 0;

	if (!is_read(r))
		return preflight(e, r);
	buf_init(&b, 64 * 1024);
	rc |= buf_printf(&b, "{\"program\":\"vivo-agent\",\"version\":\"" PACKAGE_VERSION "\",\"boot_id\":\"%s\","
			 "\"start_time\":%llu,\"ports\":{", e->boot_id, (unsigned long long)e->start_time_ns);
	pthread_mutex_lock(&e->lock);
	for (k = 0; k < PORT_COUNT; k++)
		rc |= buf_printf(&b, "%s\"%s\":%u", k ? "," : "", port_names[k], e->ports[k]);
	pthread_mutex_unlock(&e->lock);
	rc |= buf_puts(&b, "},\"streams\":{");
	for (k = 0; k < STREAM_COUNT; k++) {
		struct stream_stats st;

		stream_get_stats(e->streams[k], &st);
		rc |= buf_printf(&b, "%s\"%s\":{\"chunks\":%llu,\"oldest_id\":%llu,\"next_id\":%llu,"
				 "\"bytes_used\":%llu,\"bytes_max\":%llu,\"evicted\":%llu,\"records\":%llu}",
				 k ? "," : "", stream_kind_name((enum stream_kind)k),
				 (unsigned long long)st.chunks, (unsigned long long)st.oldest_id,
				 (unsigned long long)st.next_id, (unsigned long long)st.bytes_used,
				 (unsigned long long)st.bytes_max, (unsigned long long)st.evicted,
				 (unsigned long long)st.records);
	}
	rc |= buf_putc(&b, '}');
	rc |= info_fleet(e, &b);
	rc |= buf_puts(&b, "}\n");
	return reply_json(e, r, &b, rc);
}

/* /api/v1/internal/metrics: the agent's figures in Fluent Bit's internal metric families,
 * as Fluent Bit 5.1.1's vivo_exporter serves them (one cmetrics JSON object). */
static enum MHD_Result h_internal_metrics(struct httpd_req *r, void *ctx)
{
	struct exporter *e = ctx;
	struct buf b;
	int rc;

	if (!is_read(r))
		return preflight(e, r);
	if (!agent_current)
		return httpd_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the agent is not running");
	buf_init(&b, 16 * 1024 * 1024);
	rc = agent_metrics_internal(agent_current, &b);
	return reply_json(e, r, &b, rc);
}

#define READ_ROUTES(path, fn) { "GET", path, fn }, { "HEAD", path, fn }, { "OPTIONS", path, fn }
#define API_ROUTES \
	READ_ROUTES("/api/v1/logs", h_v1_logs), \
	READ_ROUTES("/api/v1/metrics", h_v1_metrics), \
	READ_ROUTES("/api/v1/traces", h_v1_traces), \
	READ_ROUTES("/api/v1/info", h_info), \
	READ_ROUTES("/api/v1/internal/metrics", h_internal_metrics)

const struct httpd_route exporter_api_routes[] = { API_ROUTES };
const size_t exporter_api_nroutes = sizeof(exporter_api_routes) / sizeof(exporter_api_routes[0]);

const struct httpd_route exporter_routes[] = {
	READ_ROUTES("/", h_banner),
	READ_ROUTES("/logs", h_logs),
	READ_ROUTES("/metrics", h_metrics),
	READ_ROUTES("/traces", h_traces),
	API_ROUTES,
};
const size_t exporter_nroutes = sizeof(exporter_routes) / sizeof(exporter_routes[0]);
