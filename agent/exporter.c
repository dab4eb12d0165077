/* exporter.c: stream reads with paging headers, long-poll waits, gzip, CORS. */
#include "exporter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "agent.h"
#include "log.h"
#include "mpjson.h"
#include "query.h"

#define BODY_BLOCK (256 * 1024)

struct waiter {
	struct httpd_req *req;
	enum stream_kind kind;
	uint64_t from;
	bool local_only;            /* origin=local: only a local chunk answers it */
	struct timespec deadline;
	struct waiter *next;
};

struct exporter {
	struct stream **streams;
	pthread_mutex_t lock;       /* guards settings, waiters */
	pthread_cond_t cond;
	pthread_t waker;
	bool waker_started;
	bool draining;              /* answer held polls now and hold no new ones */
	bool quit;                  /* the waker thread ends */
	bool empty_on_read;
	char cors[256];
	struct waiter *waiters;
	atomic_int nwaiters;        /* suspended requests not yet answered */
	atomic_int listed[STREAM_COUNT]; /* waiters in the list, per stream: appends elsewhere wake nobody */
	struct append_hook { struct exporter *e; enum stream_kind kind; } hooks[STREAM_COUNT];
	atomic_bool appended;       /* set by the store's notify hook */
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
	struct timespec deadline;
	bool waited;                /* suspended and counted in nwaiters */
};

static void ts_add(struct timespec *t, uint64_t sec)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += (time_t)sec;
}

static bool ts_passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Store hook: cheap when nobody waits on this stream (a follower holds polls on every
 * stream; an append to a busy one must not wake the waker for the quiet ones). */
static void on_append(void *arg)
{
	const struct append_hook *h = arg;
	struct exporter *e = h->e;

	if (atomic_load(&e->listed[h->kind]) == 0)
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

static bool waiter_ready(struct exporter *e, const struct waiter *w)
{
	return e->draining || has_from(e, w->kind, w->from, w->local_only) || ts_passed(&w->deadline);
}

static void *waker_main(void *arg)
{
	struct exporter *e = arg;

	pthread_mutex_lock(&e->lock);
	while (!e->quit || e->waiters) {
		struct waiter **pp = &e->waiters, *w;
		struct timespec until;

		atomic_store(&e->appended, false);
		while ((w = *pp)) {
			if (waiter_ready(e, w)) {
				*pp = w->next;
				atomic_fetch_sub(&e->listed[w->kind], 1);
				httpd_resume(w->req);
				free(w);
			} else {
				pp = &w->next;
			}
		}
		if (e->quit && !e->waiters)
			break;
		/* Deadlines are checked every 100 ms; arrivals wake us at once. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (!atomic_load(&e->appended))
			pthread_cond_timedwait(&e->cond, &e->lock, &until);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
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
	pthread_cond_init(&e->cond, NULL);
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
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
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

/* ---- response bodies ------------------------------------------------------------- */

/* Streams the chunks of a view: legacy text as is, or v1 rendered chunk by chunk,
 * optionally through gzip. Holds chunk references, never the stream lock. */
enum body_mode { BODY_LEGACY, BODY_V1, BODY_ENVELOPE };

struct body {
	struct stream_view view;
	size_t ci;            /* next chunk */
	size_t off;           /* offset in the current piece */
	enum body_mode mode;
	struct buf piece;     /* v1 rendering of the current chunk */
	bool have_piece;
	bool gzip;
	z_stream z;
	bool z_init;
	bool z_done;
	char *zin;            /* gzip input staging, BODY_BLOCK bytes */
};

static void body_free(void *cls)
{
	struct body *b = cls;

	stream_view_release(&b->view);
	buf_free(&b->piece);
	if (b->z_init)
		deflateEnd(&b->z);
	free(b->zin);
	free(b);
}

/* Copy up to `max` plain bytes. Returns bytes copied (0 at the end) or -1. */
static ssize_t body_plain(struct body *b, char *out, size_t max)
{
	size_t done = 0;

	while (done < max && b->ci < b->view.count) {
		const char *src;
		size_t len, n;

		if (b->mode != BODY_LEGACY) {
			if (!b->have_piece) {
				const struct chunk *c = b->view.chunks[b->ci];

				buf_reset(&b->piece);
				if ((b->mode == BODY_V1 ? chunk_write_v1(c, &b->piece) : chunk_write_envelope(c, &b->piece)) < 0)
					return -1;
				b->have_piece = true;
				b->off = 0;
			}
			src = b->piece.data;
			len = b->piece.len;
		} else {
			src = chunk_text(b->view.chunks[b->ci], &len);
		}
		n = len - b->off < max - done ? len - b->off : max - done;
		memcpy(out + done, src + b->off, n);
		done += n;
		b->off += n;
		if (b->off == len) {
			b->ci++;
			b->off = 0;
			b->have_piece = false;
		}
	}
	return (ssize_t)done;
}

static ssize_t body_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct body *b = cls;
	ssize_t n;

	if (!b->gzip) {
		n = body_plain(b, out, max);
		if (n < 0)
			return HTTPD_READER_ERROR;
		return n == 0 ? HTTPD_READER_END : n;
	}
	if (b->z_done)
		return HTTPD_READER_END;
	b->z.next_out = (Bytef *)out;
	b->z.avail_out = (uInt)max;
	while (b->z.avail_out > 0 && !b->z_done) {
		int flush = Z_NO_FLUSH, rc;

		if (b->z.avail_in == 0) {
			n = body_plain(b, b->zin, BODY_BLOCK);
			if (n < 0)
				return HTTPD_READER_ERROR;
			b->z.next_in = (Bytef *)b->zin;
			b->z.avail_in = (uInt)n;
			if (n == 0)
				flush = Z_FINISH;
		}
		if (b->ci >= b->view.count && b->z.avail_in == 0)
			flush = Z_FINISH;
		rc = deflate(&b->z, flush);
		if (rc == Z_STREAM_END)
			b->z_done = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return HTTPD_READER_ERROR;
		if (flush != Z_FINISH && b->z.avail_in == 0 && b->z.avail_out > 0 && (size_t)b->z.avail_out < max)
			break; /* send what we have rather than wait for more input */
	}
	n = (ssize_t)(max - b->z.avail_out);
	if (n == 0 && b->z_done)
		return HTTPD_READER_END;
	return n;
}

/* True when Accept-Encoding lists gzip (or x-gzip) without refusing it with q=0. */
static bool accepts_gzip(struct httpd_req *r)
{
	const char *ae = httpd_header(r, "Accept-Encoding");

	while (ae && *ae) {
		size_t n = strcspn(ae, ",");
		const char *tok = ae, *semi = memchr(ae, ';', n);
		size_t tl = semi ? (size_t)(semi - tok) : n;

		while (tl && (*tok == ' ' || *tok == '\t'))
			tok++, tl--;
		while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
			tl--;
		if ((tl == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tl == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			/* q=0, q=0.0, q=0.000: refused; anything else: accepted. */
			if (!q || q > ae + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		ae += n;
		if (*ae == ',')
			ae++;
	}
	return false;
}

static void add_common(struct exporter *e, struct httpd_resp *resp)
{
	char cors[256];

	pthread_mutex_lock(&e->lock);
	memcpy(cors, e->cors, sizeof(cors));
	pthread_mutex_unlock(&e->lock);
	httpd_add_cors(resp, cors);
}

static enum MHD_Result reply_view(struct exporter *e, struct httpd_req *r, struct stream_view *v, enum body_mode mode)
{
	struct httpd_resp *resp;
	char id[24];
	bool gzip = v->count > 0 && accepts_gzip(r);
	uint64_t next = v->next_id, first = v->first_id, last = v->last_id;
	size_t count = v->count;

	if (count == 0) {
		resp = httpd_resp_buffer("", 0, false);
		stream_view_release(v);
	} else {
		struct body *b = calloc(1, sizeof(*b));
		uint64_t total = HTTPD_SIZE_UNKNOWN;
		size_t i, len;

		if (!b) {
			stream_view_release(v);
			return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		}
		b->view = *v;
		memset(v, 0, sizeof(*v));
		b->mode = mode;
		b->gzip = gzip;
		buf_init(&b->piece, SIZE_MAX);
		if (gzip) {
			/* windowBits 15 + 16: a gzip wrapper, not zlib's. */
			if (!(b->zin = malloc(BODY_BLOCK)) ||
			    deflateInit2(&b->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
				body_free(b);
				return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "gzip init failed");
			}
			b->z_init = true;
		} else if (mode == BODY_LEGACY) {
			for (total = 0, i = 0; i < b->view.count; i++) {
				chunk_text(b->view.chunks[i], &len);
				total += len;
			}
		}
		resp = httpd_resp_reader(total, BODY_BLOCK, body_read, b, body_free);
		if (!resp)
			return MHD_NO;
	}
	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Content-Type", "application/json");
	if (count > 0) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)first);
		httpd_resp_header(resp, "Vivo-Stream-Start-ID", id);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)last);
		httpd_resp_header(resp, "Vivo-Stream-End-ID", id);
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)next);
	httpd_resp_header(resp, "Vivo-Stream-Next-ID", id);
	/* IDs count from 0 again in a new process: a follower tells them apart by this. */
	httpd_resp_header(resp, "Vivo-Boot-ID", e->boot_id);
	if (gzip)
		httpd_resp_header(resp, "Content-Encoding", "gzip");
	/* /vivo/... on the UI port is negotiated on Accept (page or stream): say so to caches. */
	httpd_resp_header(resp, "Vary", strncmp(r->path, "/vivo/", 6) == 0 ? "Accept, Accept-Encoding" : "Accept-Encoding");
	httpd_resp_header(resp, "Cache-Control", "no-store");
	add_common(e, resp);
	return httpd_queue(r, MHD_HTTP_OK, resp);
}

static void state_free(void *p)
{
	struct req_state *st = p;

	/* A request that ends while counted as held (its connection closed before it was
	 * answered) no longer is. */
	if (st->waited)
		atomic_fetch_sub(&st->e->nwaiters, 1);
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

static enum MHD_Result serve_stream(struct exporter *e, struct httpd_req *r, enum stream_kind k, bool v1)
{
	struct req_state *st = r->state;
	struct stream_view v;
	struct query q;
	char err[160];
	bool empty_on_read, draining;

	if (!is_read(r))
		return preflight(e, r);
	if (query_parse(r->query, strlen(r->query), &q, err, sizeof(err)) < 0)
		return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	if (st && st->waited) {
		st->waited = false;
		atomic_fetch_sub(&e->nwaiters, 1);
	}
	if (q.has_wait && q.wait > 0 && !has_from(e, k, q.has_from ? q.from : 0, q.local_only)) {
		struct waiter *w;

		if (!st) {
			if (!(st = calloc(1, sizeof(*st))))
				return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
			st->e = e;
			ts_add(&st->deadline, q.wait);
			r->state = st;
			r->state_free = state_free;
		}
		pthread_mutex_lock(&e->lock);
		draining = e->draining;
		if (!draining && !ts_passed(&st->deadline) && (w = calloc(1, sizeof(*w)))) {
			w->req = r;
			w->kind = k;
			w->from = q.has_from ? q.from : 0;
			w->local_only = q.local_only;
			w->deadline = st->deadline;
			w->next = e->waiters;
			e->waiters = w;
			atomic_fetch_add(&e->listed[k], 1);
			st->waited = true;
			atomic_fetch_add(&e->nwaiters, 1);
			httpd_suspend(r);
			pthread_cond_signal(&e->cond);
			pthread_mutex_unlock(&e->lock);
			return MHD_YES;
		}
		pthread_mutex_unlock(&e->lock);
	}
	if (stream_read_filtered(e->streams[k], q.has_from ? q.from : 0, q.has_to ? q.to : UINT64_MAX,
				 q.has_limit ? q.limit : 0, q.local_only, &v) < 0)
		return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	pthread_mutex_lock(&e->lock);
	empty_on_read = e->empty_on_read;
	pthread_mutex_unlock(&e->lock);
	/* A filtered read did not get the chunks it skipped: it removes nothing. */
	if (empty_on_read && v.count > 0 && strcmp(r->method, "GET") == 0 && !q.local_only)
		stream_drop_through(e->streams[k], v.last_id);
	return reply_view(e, r, &v, q.envelope ? BODY_ENVELOPE : v1 ? BODY_V1 : BODY_LEGACY);
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
