/* in_vivo/upstream.c: one followed agent: /api/v1/info, then a long-poll loop per stream on libcurl's multi handle, with backoff. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "follow.h"
#include "log.h"

#define BACKOFF_MIN 0.5
#define BACKOFF_MAX 30.0
#define INFO_MAX (1024 * 1024)
#define ERRBODY_MAX 512
#define SELF_RECHECK 60.0        /* an upstream that is this agent is asked again after this */
#define WARN_EVERY 30.0          /* at most one warning per upstream this often while it fails */
#define EMPTY_PAUSE 0.25         /* an empty answer that came at once: wait this long */
#define HELD 0.1                 /* a poll held this long: the upstream had nothing newer */

double follow_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char *up_state_name(enum up_state s)
{
	static const char *const names[UP_STATES] = { "connecting", "following", "backoff", "self" };

	return s < UP_STATES ? names[s] : "?";
}

/* 0.5 s doubling per failure to 30 s, then +-25% of jitter (kept within the bounds), so
 * the followers of one restarted agent do not come back in step. */
static double backoff(struct follower *f, unsigned attempt)
{
	double d = BACKOFF_MIN, r;
	unsigned i;

	for (i = 1; i < attempt && d < BACKOFF_MAX; i++)
		d *= 2;
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	r = (double)(f->rng >> 11) / 9007199254740992.0;
	d *= 0.75 + 0.5 * r;
	return d < BACKOFF_MIN ? BACKOFF_MIN : d > BACKOFF_MAX ? BACKOFF_MAX : d;
}

/* ---- transfers ---------------------------------------------------------------------- */

static size_t poll_write(char *data, size_t size, size_t nmemb, void *arg);
static size_t poll_header(char *data, size_t size, size_t nmemb, void *arg);
static size_t info_write(char *data, size_t size, size_t nmemb, void *arg);
static size_t info_header(char *data, size_t size, size_t nmemb, void *arg);

static CURL *easy_new(struct upstream *u, curl_write_callback wr, curl_write_callback hd, void *arg)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_PRIVATE, u);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vivo-agent/" PACKAGE_VERSION " (vivo input)");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wr);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, arg);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hd);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, arg);
	return h;
}

struct upstream *up_new(struct follower *f, const char *instance, const char *base, int target)
{
	struct upstream *u = calloc(1, sizeof(*u));
	size_t max = (size_t)f->in->conf.buffer_max_size;
	int k;

	if (!u)
		return NULL;
	u->f = f;
	u->target = target;
	snprintf(u->instance, sizeof(u->instance), "%s", instance);
	snprintf(u->base, sizeof(u->base), "%s", base);
	buf_init(&u->source, 4 * FOLLOW_MAX_NAME + 512);
	buf_init(&u->info_body, INFO_MAX);
	u->state = UP_CONNECTING;
	u->retry_at = follow_now();
	if (!(u->info_h = easy_new(u, info_write, info_header, u)))
		goto fail;
	for (k = 0; k < STREAM_COUNT; k++) {
		struct up_poll *p = &u->polls[k];

		p->up = u;
		p->kind = (enum stream_kind)k;
		p->caught_up_at = u->retry_at;
		buf_init(&p->line, max);
		buf_init(&p->errbody, ERRBODY_MAX);
		if (!(p->h = easy_new(u, poll_write, poll_header, p)))
			goto fail;
	}
	return u;
fail:
	up_free(u);
	return NULL;
}

/* Take a transfer out of the multi handle (its connection stays cached for reuse). */
static void poll_cancel(struct up_poll *p)
{
	struct follower *f = p->up->f;

	if (p->busy)
		curl_multi_remove_handle(f->multi, p->h);
	p->busy = false;
	p->caught_up = false;
	f->line_bytes -= p->line.len;
	buf_reset(&p->line);
}

static void cancel_all(struct upstream *u)
{
	int k;

	if (u->info_busy)
		curl_multi_remove_handle(u->f->multi, u->info_h);
	u->info_busy = false;
	for (k = 0; k < STREAM_COUNT; k++)
		poll_cancel(&u->polls[k]);
}

void up_free(struct upstream *u)
{
	int k;

	if (!u)
		return;
	cancel_all(u);
	if (u->info_h)
		curl_easy_cleanup(u->info_h);
	for (k = 0; k < STREAM_COUNT; k++) {
		if (u->polls[k].h)
			curl_easy_cleanup(u->polls[k].h);
		buf_free(&u->polls[k].line);
		buf_free(&u->polls[k].errbody);
	}
	buf_free(&u->source);
	buf_free(&u->info_body);
	free(u);
}

/* The upstream failed: drop its transfers, count, log (bounded), and retry later. */
static void up_fail(struct upstream *u, double now, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void up_fail(struct upstream *u, double now, const char *fmt, ...)
{
	struct follower *f = u->f;
	va_list ap;
	double wait;

	cancel_all(u);
	va_start(ap, fmt);
	vsnprintf(u->last_error, sizeof(u->last_error), fmt, ap);
	va_end(ap);
	u->errors++;
	atomic_fetch_add(&f->in->stats.errors, 1);
	wait = backoff(f, ++u->attempt);
	if (u->attempt == 1 || now - u->last_warn >= WARN_EVERY) {
		log_warn("%s: upstream %s: %s; retrying in %.1f s", f->in->name, u->instance, u->last_error, wait);
		u->last_warn = now;
	}
	u->state = UP_BACKOFF;
	u->retry_at = now + wait;
}

static void start_info(struct upstream *u)
{
	char url[sizeof(u->base) + 16];

	snprintf(url, sizeof(url), "%s/api/v1/info", u->base);
	buf_reset(&u->info_body);
	follow_headers_reset(&u->info_hd);
	curl_easy_setopt(u->info_h, CURLOPT_URL, url);
	curl_easy_setopt(u->info_h, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_multi_add_handle(u->f->multi, u->info_h) == CURLM_OK)
		u->info_busy = true;
	u->state = UP_CONNECTING;
}

static void start_poll(struct up_poll *p)
{
	struct upstream *u = p->up;
	const struct input_conf *c = &u->f->in->conf;

	snprintf(p->url, sizeof(p->url), "%s/api/v1/%s?from=%llu&wait=%lld&limit=%lld&origin=local&envelope=1",
		 u->base, stream_kind_name(p->kind), (unsigned long long)(p->have_next ? p->next : 0),
		 c->wait, c->limit);
	follow_headers_reset(&p->hd);
	p->checked = p->boot_changed = p->skipping = false;
	p->got = 0;
	p->asked_at = follow_now();
	buf_reset(&p->errbody);
	curl_easy_setopt(p->h, CURLOPT_URL, p->url);
	curl_easy_setopt(p->h, CURLOPT_TIMEOUT_MS, (long)(c->wait + 15) * 1000L);
	if (curl_multi_add_handle(u->f->multi, p->h) == CURLM_OK)
		p->busy = true;
}

void up_drive(struct upstream *u, double now)
{
	int k;

	switch (u->state) {
	case UP_CONNECTING:
	case UP_BACKOFF:
	case UP_SELF:
		if (!u->info_busy && now >= u->retry_at)
			start_info(u);
		break;
	case UP_FOLLOWING:
		for (k = 0; k < STREAM_COUNT; k++)
			if (!u->polls[k].busy && now >= u->polls[k].due)
				start_poll(&u->polls[k]);
		break;
	default:
		break;
	}
}

double up_next_due(const struct upstream *u, double now, double cap)
{
	double t = cap;
	int k;

	if (u->state != UP_FOLLOWING) {
		if (!u->info_busy)
			t = u->retry_at - now;
	} else {
		for (k = 0; k < STREAM_COUNT; k++)
			if (!u->polls[k].busy && u->polls[k].due - now < t)
				t = u->polls[k].due - now;
	}
	return t < 0 ? 0 : t > cap ? cap : t;
}

void up_lag(const struct upstream *u, double now, uint64_t *chunks, double *seconds)
{
	int k;

	*chunks = 0;
	*seconds = 0;
	if (u->state == UP_SELF)
		return;
	for (k = 0; k < STREAM_COUNT; k++) {
		const struct up_poll *p = &u->polls[k];
		/* Caught up: the last answer was complete and the next poll is out, or the
		 * upstream is holding the poll (it answers at once when it has something). */
		bool held = p->busy && !p->checked && now - p->asked_at >= HELD;
		double s = u->state == UP_FOLLOWING && p->busy && (p->caught_up || held) ? 0 : now - p->caught_up_at;

		if (s > *seconds)
			*seconds = s;
		if (p->upstream_next > p->next)
			*chunks += p->upstream_next - p->next;
	}
}

/* ---- /api/v1/info ------------------------------------------------------------------- */

static size_t info_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upstream *u = arg;

	follow_header_line(&u->info_hd, data, size * nmemb);
	return size * nmemb;
}

static size_t info_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upstream *u = arg;

	return buf_append(&u->info_body, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* Start over with a new run of the upstream: from its oldest chunk (or from where a
 * stopped follower of this same run was, after a reload). */
static void new_run(struct upstream *u, const struct follow_info *info)
{
	int k;

	if (u->known_boot)
		log_info("%s: upstream %s restarted (run %s, was %s): following the new run from its oldest chunk",
			 u->f->in->name, u->instance, info->boot_id, u->info.boot_id);
	for (k = 0; k < STREAM_COUNT; k++) {
		struct up_poll *p = &u->polls[k];

		p->have_next = p->have_seq = false;
		p->next = p->seq = p->upstream_next = 0;
	}
	u->info = *info;
	u->known_boot = true;
	if (follow_cursor_take(u))
		log_info("%s: upstream %s: going on from where the previous follower stopped", u->f->in->name, u->instance);
}

static void info_done(struct upstream *u, CURLcode res, double now)
{
	struct follow_info info;
	char err[256];
	int k;

	u->info_busy = false;
	if (res != CURLE_OK) {
		up_fail(u, now, "%s", curl_easy_strerror(res));
		return;
	}
	if (u->info_hd.status != 200) {
		up_fail(u, now, "/api/v1/info answered HTTP %d", u->info_hd.status);
		return;
	}
	if (follow_parse_info(u->info_body.data ? u->info_body.data : "", u->info_body.len, &info, err, sizeof(err)) < 0) {
		up_fail(u, now, "%s", err);
		return;
	}
	if (strcmp(info.boot_id, u->f->self_boot) == 0) {
		if (u->state != UP_SELF)
			log_info("%s: upstream %s is this agent (same boot_id): not following it", u->f->in->name, u->instance);
		u->state = UP_SELF;
		u->retry_at = now + SELF_RECHECK;
		return;
	}
	if (!u->known_boot || strcmp(info.boot_id, u->info.boot_id) != 0)
		new_run(u, &info);
	else
		u->info = info;
	buf_reset(&u->source);
	if (follow_source_json(u->instance, &u->info, &u->source) < 0) {
		up_fail(u, now, "cannot render the source object");
		return;
	}
	if (u->state != UP_FOLLOWING)
		log_info("%s: following %s (run %s%s%s)", u->f->in->name, u->instance, u->info.boot_id,
			 *u->info.pod ? ", pod " : "", u->info.pod);
	u->state = UP_FOLLOWING;
	for (k = 0; k < STREAM_COUNT; k++)
		u->polls[k].due = now;
}

/* ---- the long-poll answers ---------------------------------------------------------- */

static size_t poll_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct up_poll *p = arg;

	/* A malformed Vivo header: the answer is not trusted (the transfer is aborted). */
	return follow_header_line(&p->hd, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* Status, type and run of an answer, once its headers are in. false aborts it. The
 * follower's lock is held. */
static bool check_answer(struct up_poll *p)
{
	struct upstream *u = p->up;

	p->checked = true;
	if (p->hd.status != 200)
		return true; /* the body is an error message, kept for the log */
	if (!p->hd.json || !p->hd.has_next || !*p->hd.boot_id || p->hd.encoded) {
		snprintf(u->last_error, sizeof(u->last_error), "the answer is not a Vivo stream (%s)",
			 !p->hd.json ? "not application/json" : p->hd.encoded ? "encoded" : "no Vivo-Stream-Next-ID/Vivo-Boot-ID");
		return false;
	}
	if (strcmp(p->hd.boot_id, u->info.boot_id) != 0) {
		p->boot_changed = true;
		return false;
	}
	return true;
}

/* One chunk line: parse, check it is new, append it locally. */
static void take_line(struct up_poll *p, const char *line, size_t n)
{
	struct upstream *u = p->up;
	struct follower *f = u->f;
	struct follow_chunk *c = &f->chunk;
	struct chunk_builder cb;
	char err[256];
	uint64_t missed = 0;
	int rc;

	if (n == 0)
		return;
	p->got++;
	if (follow_parse_chunk(line, n, p->kind, c, err, sizeof(err)) < 0 || c->nrecords == 0) {
		pthread_mutex_lock(&f->lock);
		u->errors++;
		snprintf(u->last_error, sizeof(u->last_error), "%s chunk: %.200s", stream_kind_name(p->kind),
			 c->nrecords == 0 ? "no records" : err);
		pthread_mutex_unlock(&f->lock);
		atomic_fetch_add(&f->in->stats.errors, 1);
		return;
	}
	if (p->have_next && c->id < p->next)
		return; /* already taken: exactly once */
	if (c->has_seq) {
		if (p->have_seq && c->local_seq > p->seq)
			missed = c->local_seq - p->seq;
		p->seq = c->local_seq + 1;
		p->have_seq = true;
	}
	rc = 0;
	/* A followed chunk means the upstream ignored origin=local: never store it twice. */
	if (!c->followed) {
		rc = follow_build_chunk(line, c, p->kind, u->source.data, u->source.len, (size_t)f->in->conf.buffer_max_size * 2, &cb,
					err, sizeof(err));
		if (rc == 0)
			rc = input_emit(f->in, &cb);
		chunk_builder_free(&cb);
	}
	pthread_mutex_lock(&f->lock);
	p->next = c->id + 1;
	p->have_next = true;
	u->missed += missed;
	if (rc == 0 && !c->followed) {
		u->chunks++;
		u->records += c->nrecords;
	} else if (rc < 0) {
		u->errors++;
		snprintf(u->last_error, sizeof(u->last_error), "%s chunk %llu: %.200s", stream_kind_name(p->kind),
			 (unsigned long long)c->id, rc == -ENOMEM ? "out of memory" : err);
	}
	pthread_mutex_unlock(&f->lock);
	if (rc == 0 && !c->followed)
		atomic_fetch_add(&f->in->stats.records, c->nrecords);
	else if (rc < 0)
		atomic_fetch_add(&f->in->stats.errors, 1);
}

/* Body bytes: complete lines are taken as they come; a partial one is kept (bounded per
 * line by buffer_max_size and across all polls by the same amount). */
static bool take_bytes(struct up_poll *p, const char *data, size_t n)
{
	struct follower *f = p->up->f;
	size_t max = (size_t)f->in->conf.buffer_max_size;

	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (p->skipping) {
			p->skipping = !nl;
		} else if (p->line.len == 0 && nl) {
			take_line(p, data, take); /* the whole line is here: no copy */
		} else if (p->line.len + take > max) {
			f->line_bytes -= p->line.len;
			buf_reset(&p->line);
			p->skipping = !nl;
			pthread_mutex_lock(&f->lock);
			p->up->errors++;
			snprintf(p->up->last_error, sizeof(p->up->last_error), "%s chunk larger than buffer_max_size (%zu bytes): skipped",
				 stream_kind_name(p->kind), max);
			pthread_mutex_unlock(&f->lock);
			atomic_fetch_add(&f->in->stats.errors, 1);
		} else if (f->line_bytes + take > max) {
			pthread_mutex_lock(&f->lock);
			snprintf(p->up->last_error, sizeof(p->up->last_error),
				 "partial chunks of all upstreams above buffer_max_size (%zu bytes)", max);
			pthread_mutex_unlock(&f->lock);
			return false;
		} else {
			if (buf_append(&p->line, data, take) < 0)
				return false;
			f->line_bytes += take;
			if (nl) {
				take_line(p, p->line.data, p->line.len);
				f->line_bytes -= p->line.len;
				buf_reset(&p->line);
			}
		}
		if (!nl)
			break;
		n -= take + 1;
		data += take + 1;
	}
	return true;
}

static size_t poll_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct up_poll *p = arg;
	size_t n = size * nmemb;

	if (!p->checked) {
		bool ok;

		pthread_mutex_lock(&p->up->f->lock);
		ok = check_answer(p);
		pthread_mutex_unlock(&p->up->f->lock);
		if (!ok)
			return 0;
	}
	if (p->hd.status != 200) {
		buf_append(&p->errbody, data, n < ERRBODY_MAX - p->errbody.len ? n : ERRBODY_MAX - p->errbody.len);
		return n;
	}
	pthread_mutex_lock(&p->up->f->lock);
	p->up->bytes += n;
	pthread_mutex_unlock(&p->up->f->lock);
	atomic_fetch_add(&p->up->f->in->stats.bytes, n);
	return take_bytes(p, data, n) ? n : 0;
}

/* The answer is complete: move the cursor, and when to ask again. */
static void poll_ok(struct up_poll *p, double now, double started)
{
	const struct input_conf *c = &p->up->f->in->conf;
	bool cut = p->got >= (uint64_t)c->limit;

	/* Lines that did not parse still had IDs up to End-ID; without a cut by `limit`,
	 * everything below Next-ID that was local has been read. */
	if (p->hd.has_end && (!p->have_next || p->hd.end + 1 > p->next)) {
		p->next = p->hd.end + 1;
		p->have_next = true;
	}
	if (!cut && (!p->have_next || p->hd.next > p->next)) {
		p->next = p->hd.next;
		p->have_next = true;
	}
	p->upstream_next = p->hd.next;
	p->caught_up = !cut;
	if (p->caught_up)
		p->caught_up_at = now;
	p->up->attempt = 0;
	if (cut)
		p->due = now;
	else if (p->got)
		p->due = now + c->linger;
	else
		p->due = now - started < 1.0 && c->wait > 0 ? now + EMPTY_PAUSE : now;
}

static void poll_done(struct up_poll *p, CURLcode res, double now)
{
	struct upstream *u = p->up;
	double started = now, total = 0;
	char body[ERRBODY_MAX + 1];

	p->busy = false;
	curl_easy_getinfo(p->h, CURLINFO_TOTAL_TIME, &total);
	started = now - total;
	if (res == CURLE_OK && !p->checked && !check_answer(p))
		res = CURLE_WRITE_ERROR;
	if (p->boot_changed) {
		/* The upstream restarted between two polls: learn its new run first. */
		cancel_all(u);
		u->state = UP_CONNECTING;
		u->retry_at = now;
		return;
	}
	if (res != CURLE_OK) {
		up_fail(u, now, "%s: %s", stream_kind_name(p->kind),
			res == CURLE_WRITE_ERROR && *u->last_error ? u->last_error : curl_easy_strerror(res));
		return;
	}
	if (p->hd.status != 200) {
		snprintf(body, sizeof(body), "%.*s", (int)p->errbody.len, p->errbody.data ? p->errbody.data : "");
		body[strcspn(body, "\r\n")] = '\0';
		up_fail(u, now, "%s: HTTP %d %s", stream_kind_name(p->kind), p->hd.status, body);
		return;
	}
	if (p->line.len || p->skipping) {
		up_fail(u, now, "%s: the answer ended inside a chunk line", stream_kind_name(p->kind));
		return;
	}
	poll_ok(p, now, started);
}

void up_done(struct upstream *u, CURL *h, CURLcode res, double now)
{
	int k;

	if (h == u->info_h) {
		if (u->info_busy)
			curl_multi_remove_handle(u->f->multi, h);
		info_done(u, res, now);
		return;
	}
	for (k = 0; k < STREAM_COUNT; k++)
		if (u->polls[k].h == h && u->polls[k].busy) {
			curl_multi_remove_handle(u->f->multi, h);
			poll_done(&u->polls[k], res, now);
			return;
		}
}

/* ---- positions kept across a reload -------------------------------------------------- */

#define CURSORS_MAX 4096

struct cursor {
	char instance[96];
	char boot_id[FOLLOW_MAX_BOOT + 1];
	bool have_next[STREAM_COUNT], have_seq[STREAM_COUNT];
	uint64_t next[STREAM_COUNT], seq[STREAM_COUNT];
	struct cursor *older;
};

static pthread_mutex_t cursor_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cursor *cursors;
static size_t ncursors;

void follow_cursor_save(const struct upstream *u)
{
	struct cursor *c, **pp;
	int k;

	if (!u->known_boot || !(c = calloc(1, sizeof(*c))))
		return;
	snprintf(c->instance, sizeof(c->instance), "%s", u->instance);
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", u->info.boot_id);
	for (k = 0; k < STREAM_COUNT; k++) {
		c->have_next[k] = u->polls[k].have_next;
		c->next[k] = u->polls[k].next;
		c->have_seq[k] = u->polls[k].have_seq;
		c->seq[k] = u->polls[k].seq;
	}
	pthread_mutex_lock(&cursor_lock);
	c->older = cursors;
	cursors = c;
	if (++ncursors > CURSORS_MAX) { /* forget the oldest */
		for (pp = &cursors; (*pp)->older; pp = &(*pp)->older)
			;
		free(*pp);
		*pp = NULL;
		ncursors--;
	}
	pthread_mutex_unlock(&cursor_lock);
}

bool follow_cursor_take(struct upstream *u)
{
	struct cursor **pp, *c;
	int k;

	pthread_mutex_lock(&cursor_lock);
	for (pp = &cursors; (c = *pp); pp = &c->older)
		if (strcmp(c->instance, u->instance) == 0 && strcmp(c->boot_id, u->info.boot_id) == 0)
			break;
	if (c) {
		*pp = c->older;
		ncursors--;
	}
	pthread_mutex_unlock(&cursor_lock);
	if (!c)
		return false;
	for (k = 0; k < STREAM_COUNT; k++) {
		u->polls[k].have_next = c->have_next[k];
		u->polls[k].next = c->next[k];
		u->polls[k].have_seq = c->have_seq[k];
		u->polls[k].seq = c->seq[k];
	}
	free(c);
	return true;
}

void follow_cursor_clear(void)
{
	pthread_mutex_lock(&cursor_lock);
	while (cursors) {
		struct cursor *o = cursors->older;

		free(cursors);
		cursors = o;
	}
	ncursors = 0;
	pthread_mutex_unlock(&cursor_lock);
}
