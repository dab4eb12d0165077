/* in_vivo/follow.c: the vivo input: follows other agents' exporters (URLs and dns: targets) on one libcurl multi thread. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent.h"
#include "follow.h"
#include "log.h"
#include "mpjson.h"

/* Followers running now: what the metrics hook walks (the lock guards their lifetime). */
static pthread_mutex_t followers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct follower *followers;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_at_exit(void)
{
	follow_cursor_clear();
	curl_global_cleanup();
}

static void curl_init_once(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (curl_ready)
		atexit(curl_at_exit);
}

/* ---- targets ------------------------------------------------------------------------ */

/* A static upstream: "http[s]://host[:port][/prefix]" or "host:port". */
static int parse_url(const char *s, char *instance, size_t ilen, char *base, size_t blen, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = -EINVAL;
	size_t pl;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, s, CURLU_DEFAULT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a URL (http://host:port)", s);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "'%s': only http and https URLs can be followed", s);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		snprintf(err, errlen, "'%s': the URL must not have a query", s);
		goto out;
	}
	pl = strlen(path);
	while (pl && path[pl - 1] == '/')
		path[--pl] = '\0';
	if ((size_t)snprintf(instance, ilen, "%s:%s", host, port) >= ilen ||
	    (size_t)snprintf(base, blen, "%s://%s:%s%s", scheme, host, port, path) >= blen) {
		snprintf(err, errlen, "'%s': the URL is too long", s);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

/* "dns:NAME:PORT" into name (allocated) and port. */
static int parse_dns(const char *s, char **name, uint16_t *port, char *err, size_t errlen)
{
	const char *colon = strrchr(s + 4, ':');
	uint64_t p;

	if (!colon || colon == s + 4 || opts_parse_u64(colon + 1, 65535, &p) < 0 || p == 0) {
		snprintf(err, errlen, "'%s' must be dns:NAME:PORT", s);
		return -EINVAL;
	}
	if (!(*name = strndup(s + 4, (size_t)(colon - s - 4))))
		return -ENOMEM;
	*port = (uint16_t)p;
	return 0;
}

static bool have_instance(const struct follower *f, const char *instance)
{
	const struct upstream *u;

	for (u = f->ups; u; u = u->next)
		if (strcmp(u->instance, instance) == 0)
			return true;
	return false;
}

static void append_up(struct follower *f, struct upstream *u)
{
	struct upstream **pp;

	for (pp = &f->ups; *pp; pp = &(*pp)->next)
		;
	*pp = u;
}

static int add_targets(struct follower *f, char *err, size_t errlen)
{
	const struct opt_list *l = &f->in->conf.follow;
	char instance[96], base[192];
	size_t i;
	int rc;

	if (!(f->dns_names = calloc(l->n + 1, sizeof(*f->dns_names))) ||
	    !(f->dns_ports = calloc(l->n + 1, sizeof(*f->dns_ports))) || !(f->dns_gen = calloc(l->n + 1, sizeof(*f->dns_gen))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const char *s = l->v[i];
		char why[256];
		struct upstream *u;

		if (strncmp(s, "dns:", 4) == 0) {
			if ((rc = parse_dns(s, &f->dns_names[f->ndns], &f->dns_ports[f->ndns], why, sizeof(why))) < 0)
				goto bad;
			f->ndns++;
			continue;
		}
		if ((rc = parse_url(s, instance, sizeof(instance), base, sizeof(base), why, sizeof(why))) < 0)
			goto bad;
		if (have_instance(f, instance))
			continue;
		if (!(u = up_new(f, instance, base, -1)))
			return -ENOMEM;
		append_up(f, u);
		continue;
bad:
		if (rc == -ENOMEM)
			return rc;
		snprintf(err, errlen, "%s: follow: %s", f->in->name, why);
		return -EINVAL;
	}
	return 0;
}

/* ---- discovery ---------------------------------------------------------------------- */

static bool in_list(char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* New answers of dns: targets: follow new addresses, start the grace of missing ones. */
static void apply_answer(struct follower *f, size_t t, char **list, size_t n, double now)
{
	struct upstream *u;
	char base[192];
	size_t i;

	for (u = f->ups; u; u = u->next) {
		if (u->target != (int)t)
			continue;
		if (in_list(list, n, u->instance)) {
			u->gone_since = 0;
		} else if (u->gone_since == 0) {
			u->gone_since = now;
			log_info("%s: %s no longer in dns:%s:%u; dropped in %.0f s unless it comes back", f->in->name,
				 u->instance, f->dns_names[t], f->dns_ports[t], f->in->conf.grace);
		}
	}
	for (i = 0; i < n; i++) {
		if (have_instance(f, list[i]))
			continue;
		snprintf(base, sizeof(base), "http://%s", list[i]);
		if (!(u = up_new(f, list[i], base, (int)t))) {
			log_error("%s: out of memory adding upstream %s", f->in->name, list[i]);
			continue;
		}
		log_info("%s: new upstream %s from dns:%s:%u: following it from its oldest chunk", f->in->name, list[i],
			 f->dns_names[t], f->dns_ports[t]);
		append_up(f, u);
	}
}

/* Take discovery news and drop upstreams whose grace is over (their chunks stay). */
static void apply_discovery(struct follower *f, double now)
{
	struct upstream **pp, *u;
	char **list;
	size_t t, n;

	for (t = 0; f->disc && t < f->ndns; t++) {
		if (!discover_take(f->disc, t, &f->dns_gen[t], &list, &n))
			continue;
		apply_answer(f, t, list, n, now);
		discover_list_free(list, n);
	}
	for (pp = &f->ups; (u = *pp);) {
		if (u->gone_since > 0 && now - u->gone_since >= f->in->conf.grace) {
			log_info("%s: dropped upstream %s (gone from DNS for %.0f s)", f->in->name, u->instance,
				 now - u->gone_since);
			*pp = u->next;
			follow_cursor_save(u);
			up_free(u);
		} else {
			pp = &u->next;
		}
	}
}

/* ---- the thread --------------------------------------------------------------------- */

static double next_wait(struct follower *f, double now)
{
	const struct upstream *u;
	double w = 1.0, t;

	for (u = f->ups; u; u = u->next) {
		if ((t = up_next_due(u, now, w)) < w)
			w = t;
		if (u->gone_since > 0 && (t = u->gone_since + f->in->conf.grace - now) < w)
			w = t < 0 ? 0 : t;
	}
	return w;
}

/* libcurl says which sockets to watch (socket_action interface: each wakeup costs the
 * transfers that have something to do, not all of them, as curl_multi_perform would). */
static int on_socket(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct follower *f = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)h;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(f->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct follower *f = userp;

	(void)m;
	f->curl_due = ms < 0 ? -1 : follow_now() + (double)ms / 1000;
	return 0;
}

/* Wait up to `wait` seconds for sockets, the wake eventfd or libcurl's timer, and let
 * libcurl run the transfers concerned (their callbacks run here, without the lock). */
static void run_transfers(struct follower *f, double wait)
{
	struct epoll_event ev[64];
	double now = follow_now();
	int i, n, running;

	if (f->curl_due >= 0 && f->curl_due - now < wait)
		wait = f->curl_due > now ? f->curl_due - now : 0;
	n = epoll_wait(f->epfd, ev, 64, (int)ceil(wait * 1000));
	for (i = 0; i < n; i++) {
		int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		if (ev[i].data.fd == f->wakefd) {
			uint64_t x;

			if (read(f->wakefd, &x, sizeof(x)) < 0)
				continue;
			continue;
		}
		curl_multi_socket_action(f->multi, ev[i].data.fd, flags, &running);
	}
	if (f->curl_due >= 0 && follow_now() >= f->curl_due) {
		f->curl_due = -1;
		curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

static void *follow_main(void *arg)
{
	struct follower *f = arg;
	struct upstream *u;
	CURLMsg *m;
	double now, wait;
	int left;

	while (!atomic_load(&f->stop)) {
		now = follow_now();
		pthread_mutex_lock(&f->lock);
		apply_discovery(f, now);
		for (u = f->ups; u; u = u->next)
			up_drive(u, now);
		wait = next_wait(f, now);
		pthread_mutex_unlock(&f->lock);
		run_transfers(f, wait);
		pthread_mutex_lock(&f->lock);
		now = follow_now();
		while ((m = curl_multi_info_read(f->multi, &left))) {
			CURL *h = m->easy_handle;
			CURLcode res = m->data.result;
			char *priv = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
			if (priv)
				up_done((struct upstream *)(void *)priv, h, res, now);
		}
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

static void wake(void *arg)
{
	struct follower *f = arg;
	uint64_t one = 1;

	if (write(f->wakefd, &one, sizeof(one)) < 0)
		return; /* the counter is full: a wakeup is pending anyway */
}

/* ---- /api/v1/info and self-metrics --------------------------------------------------- */

static int put_str(struct buf *b, const char *key, const char *v)
{
	int rc = buf_printf(b, ",\"%s\":", key);

	return rc < 0 ? rc : v && *v ? mpjson_put_string(b, v, strlen(v)) : buf_puts(b, "null");
}

static int info_upstream(const struct follower *f, const struct upstream *u, double now, struct buf *b)
{
	uint64_t lag_chunks;
	double lag_s;
	char disc[300] = "";
	int rc = 0;

	up_lag(u, now, &lag_chunks, &lag_s);
	if (u->target >= 0)
		snprintf(disc, sizeof(disc), "dns:%s:%u", f->dns_names[u->target], f->dns_ports[u->target]);
	rc |= buf_puts(b, "{\"input\":");
	rc |= mpjson_put_string(b, f->in->name, strlen(f->in->name));
	rc |= put_str(b, "upstream", u->instance);
	rc |= put_str(b, "url", u->base);
	rc |= put_str(b, "discovered_by", disc);
	rc |= put_str(b, "state", up_state_name(u->state));
	rc |= buf_printf(b, ",\"gone\":%s", u->gone_since > 0 ? "true" : "false");
	rc |= put_str(b, "boot_id", u->known_boot ? u->info.boot_id : NULL);
	rc |= put_str(b, "pod", u->info.pod);
	rc |= put_str(b, "namespace", u->info.ns);
	rc |= put_str(b, "node", u->info.node);
	rc |= buf_printf(b, ",\"lag_chunks\":%llu,\"lag_seconds\":", (unsigned long long)lag_chunks);
	rc |= mpjson_put_double(b, lag_s);
	rc |= buf_printf(b, ",\"chunks\":%llu,\"records\":%llu,\"bytes\":%llu,\"errors\":%llu,\"missed\":%llu",
			 (unsigned long long)u->chunks, (unsigned long long)u->records, (unsigned long long)u->bytes,
			 (unsigned long long)u->errors, (unsigned long long)u->missed);
	rc |= put_str(b, "last_error", u->last_error);
	rc |= buf_putc(b, '}');
	return rc ? -ENOSPC : 0;
}

static int info_source(void *arg, struct buf *out, size_t *count)
{
	struct follower *f = arg;
	const struct upstream *u;
	double now = follow_now();
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	for (u = f->ups; u && rc == 0; u = u->next) {
		if (*count && (rc = buf_putc(out, ',')) < 0)
			break;
		if ((rc = info_upstream(f, u, now, out)) == 0)
			(*count)++;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

enum fam { FAM_STATE, FAM_LAG_CHUNKS, FAM_LAG_SECONDS, FAM_CHUNKS, FAM_RECORDS, FAM_BYTES, FAM_ERRORS, FAM_MISSED, FAMS };

static double fam_value(const struct upstream *u, enum fam fam, double now)
{
	uint64_t lc;
	double ls;

	switch (fam) {
	case FAM_LAG_CHUNKS: up_lag(u, now, &lc, &ls); return (double)lc;
	case FAM_LAG_SECONDS: up_lag(u, now, &lc, &ls); return ls;
	case FAM_CHUNKS: return (double)u->chunks;
	case FAM_RECORDS: return (double)u->records;
	case FAM_BYTES: return (double)u->bytes;
	case FAM_ERRORS: return (double)u->errors;
	case FAM_MISSED: return (double)u->missed;
	default: return 1;
	}
}

static int vivo_metrics(metric_emit_fn emit, void *arg)
{
	static const struct { const char *name, *desc; enum metric_type type; } fams[FAMS] = {
		{ "state", "1 for the state each followed upstream is in (connecting, following, backoff, self)", METRIC_GAUGE },
		{ "lag_chunks", "Chunks the upstream had announced that were not read yet", METRIC_GAUGE },
		{ "lag_seconds", "Seconds since everything the upstream held was read (0 while caught up)", METRIC_GAUGE },
		{ "chunks_total", "Chunks followed from the upstream and appended here", METRIC_COUNTER },
		{ "records_total", "Records followed from the upstream", METRIC_COUNTER },
		{ "bytes_total", "Bytes of stream answers received from the upstream", METRIC_COUNTER },
		{ "errors_total", "Failed requests and refused chunks of the upstream", METRIC_COUNTER },
		{ "missed_chunks_total", "Chunks the upstream evicted before this agent fetched them", METRIC_COUNTER },
	};
	double now = follow_now();
	struct follower *f;
	int fam, rc = 0;

	pthread_mutex_lock(&followers_lock);
	for (fam = 0; fam < FAMS && rc == 0; fam++) {
		for (f = followers; f && rc == 0; f = f->next) {
			const struct upstream *u;

			pthread_mutex_lock(&f->lock);
			for (u = f->ups; u && rc == 0; u = u->next) {
				struct metric_sample s = { "follow", fams[fam].name, fams[fam].desc, fams[fam].type,
							   "upstream", u->instance, fam_value(u, (enum fam)fam, now),
							   fam == FAM_STATE ? "state" : NULL, up_state_name(u->state) };

				rc = emit(&s, arg);
			}
			pthread_mutex_unlock(&f->lock);
		}
	}
	pthread_mutex_unlock(&followers_lock);
	return rc;
}

/* ---- start and stop ----------------------------------------------------------------- */

static void follower_free(struct follower *f)
{
	struct upstream *u;
	size_t i;

	while ((u = f->ups)) {
		f->ups = u->next;
		follow_cursor_save(u);
		up_free(u);
	}
	if (f->multi)
		curl_multi_cleanup(f->multi);
	if (f->epfd >= 0)
		close(f->epfd);
	if (f->wakefd >= 0)
		close(f->wakefd);
	for (i = 0; f->dns_names && i < f->ndns; i++)
		free(f->dns_names[i]);
	free(f->dns_names);
	free(f->dns_ports);
	free(f->dns_gen);
	follow_chunk_free(&f->chunk);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void vivo_stop(struct input_instance *in)
{
	struct follower *f = in->priv, **pp;

	if (!f)
		return;
	pthread_mutex_lock(&followers_lock);
	for (pp = &followers; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&followers_lock);
	if (agent_current && agent_current->exporter)
		exporter_remove_info_source(agent_current->exporter, f);
	if (f->started) {
		atomic_store(&f->stop, true);
		wake(f);
		pthread_join(f->thread, NULL);
	}
	discover_stop(f->disc);
	follower_free(f);
	in->priv = NULL;
}

static int epoll_ctl_add_wake(struct follower *f)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = f->wakefd };

	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->wakefd, &ev);
}

static int check_conf(const struct input_instance *in, char *err, size_t errlen)
{
	const struct input_conf *c = &in->conf;

	if (c->follow.n == 0)
		snprintf(err, errlen, "%s: nothing to follow: set follow (a URL such as http://host:2025, or dns:NAME:PORT)",
			 in->name);
	else if (!(c->refresh > 0))
		snprintf(err, errlen, "%s: refresh must be above 0 seconds", in->name);
	else
		return 0;
	return -EINVAL;
}

static int start_threads(struct follower *f, char *err, size_t errlen)
{
	int rc;

	if (f->ndns && (rc = discover_start(f->dns_names, f->dns_ports, f->ndns, f->in->conf.refresh, f->in->name, wake,
					    f, &f->disc)) < 0) {
		snprintf(err, errlen, "%s: cannot start the DNS discovery thread", f->in->name);
		return rc;
	}
	if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
		snprintf(err, errlen, "%s: cannot start a thread", f->in->name);
		return -EAGAIN;
	}
	f->started = true;
	return 0;
}

static int vivo_start(struct input_instance *in, char *err, size_t errlen)
{
	struct follower *f;
	int rc;

	if ((rc = check_conf(in, err, errlen)) < 0)
		return rc;
	pthread_once(&curl_once, curl_init_once);
	if (!curl_ready) {
		snprintf(err, errlen, "%s: libcurl did not initialise", in->name);
		return -EIO;
	}
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	f->in = in;
	pthread_mutex_init(&f->lock, NULL);
	follow_chunk_init(&f->chunk, (size_t)in->conf.buffer_max_size);
	f->rng = (uint64_t)follow_now() * 1000003u ^ (uint64_t)getpid() << 20 ^ (uint64_t)(uintptr_t)f;
	f->rng |= 1;
	if (agent_current && agent_current->exporter)
		snprintf(f->self_boot, sizeof(f->self_boot), "%s", exporter_boot_id(agent_current->exporter));
	in->priv = f;
	f->epfd = f->wakefd = -1;
	f->curl_due = -1;
	if (!(f->multi = curl_multi_init()) || (f->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (f->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 || epoll_ctl_add_wake(f) < 0) {
		rc = f->multi ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: cannot set up the event loop: %s", in->name, strerror(-rc));
		goto fail;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	if ((rc = add_targets(f, err, errlen)) < 0 || (rc = start_threads(f, err, errlen)) < 0)
		goto fail;
	if (agent_current && agent_current->exporter && (rc = exporter_add_info_source(agent_current->exporter, info_source, f)) < 0)
		goto fail;
	pthread_mutex_lock(&followers_lock);
	f->next = followers;
	followers = f;
	pthread_mutex_unlock(&followers_lock);
	log_info("%s: following %zu upstream%s and %zu dns: target%s", in->name, in->conf.follow.n - f->ndns,
		 in->conf.follow.n - f->ndns == 1 ? "" : "s", f->ndns, f->ndns == 1 ? "" : "s");
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", in->name);
	vivo_stop(in);
	return rc;
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def vivo_opts[] = {
	{ "name", OPT_STRING, "vivo", 0, 0, OFF(name), "plugin name" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name" },
	{ "follow", OPT_LIST, NULL, 0, 0, OFF(follow),
	  "an upstream exporter: a URL (http://host:2025) or dns:NAME:PORT (every A and AAAA record, e.g. a headless Service)" },
	{ "refresh", OPT_DOUBLE, "10", 0, 86400, OFF(refresh), "seconds between DNS lookups of dns: targets" },
	{ "grace", OPT_DOUBLE, "60", 0, 86400, OFF(grace),
	  "seconds an upstream gone from DNS is still followed before it is dropped (its chunks stay)" },
	{ "wait", OPT_INT, "30", 1, 60, OFF(wait), "long-poll wait asked of upstreams, seconds" },
	{ "limit", OPT_INT, "1000", 1, 100000, OFF(limit), "at most this many chunks per answer" },
	{ "linger", OPT_DOUBLE, "0.02", 0, 5, OFF(linger),
	  "seconds to wait after an answer with chunks before asking again (fewer requests from busy upstreams)" },
	{ "buffer_max_size", OPT_SIZE, "20M", 1024, 0, OFF(buffer_max_size),
	  "largest upstream chunk taken (JSON bytes), and the most partial chunk bytes held at once" },
	OPT_END,
};

const struct input_plugin input_vivo = {
	.name = "vivo",
	.help = "Follows other agents' exporter APIs (origin=local long-polls) and appends their chunks with their source",
	.opts = vivo_opts,
	.start = vivo_start,
	.stop = vivo_stop,
	.metrics = vivo_metrics,
};
