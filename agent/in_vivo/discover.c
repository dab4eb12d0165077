/* in_vivo/discover.c: resolves dns: targets (getaddrinfo, or a hosts file for tests) on a timer thread. */
#include "discover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

/* Far more than a headless Service answers (one record per ready pod). */
#define DISCOVER_MAX_ADDRS 1024

struct target {
	char *name;
	uint16_t port;
	char **list;
	size_t n;
	uint64_t gen;       /* bumped when the answer changes */
	bool failing;       /* the last round failed (logged once) */
};

struct discover {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	double refresh;
	char log_name[64];
	struct target *t;
	size_t n;
	void (*wake)(void *);
	void *arg;
};

void discover_list_free(char **list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the instance for a numeric address (sorted and de-duplicated later). */
static int add_addr(char ***list, size_t *n, const char *addr, bool v6, uint16_t port)
{
	char inst[INET6_ADDRSTRLEN + 16], **l;

	if (*n >= DISCOVER_MAX_ADDRS)
		return 0;
	snprintf(inst, sizeof(inst), v6 ? "[%s]:%u" : "%s:%u", addr, port);
	if (!(l = realloc(*list, (*n + 1) * sizeof(*l))) || !(l[*n] = strdup(inst))) {
		if (l)
			*list = l;
		return -ENOMEM;
	}
	*list = l;
	(*n)++;
	return 0;
}

static void sort_unique(char **list, size_t *n)
{
	size_t i, j = 0;

	if (*n < 2)
		return;
	qsort(list, *n, sizeof(*list), cmp_str);
	for (i = 1; i < *n; i++) {
		if (strcmp(list[i], list[j]) == 0)
			free(list[i]);
		else
			list[++j] = list[i];
	}
	*n = j + 1;
}

static int resolve_system(const char *name, uint16_t port, char ***out, size_t *n, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char host[INET6_ADDRSTRLEN];
	int rc = getaddrinfo(name, NULL, &hints, &res);

	if (rc == EAI_NONAME || rc == EAI_NODATA)
		return 0; /* no such name (a headless Service without ready pods): no upstream */
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", name, gai_strerror(rc));
		return -EAGAIN;
	}
	for (ai = res, rc = 0; ai && rc == 0; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		rc = add_addr(out, n, host, ai->ai_family == AF_INET6, port);
	}
	freeaddrinfo(res);
	return rc;
}

/* One line of a hosts file: the address (NUL-ended in place) when `name` is among its
 * names, else NULL. */
static const char *hosts_match(char *line, const char *name)
{
	char *p = line, *addr = NULL;
	size_t nl = strlen(name);

	line[strcspn(line, "#\r\n")] = '\0';
	while (*p) {
		char *tok;
		size_t len;

		p += strspn(p, " \t");
		tok = p;
		len = strcspn(p, " \t");
		if (!len)
			break;
		p += len;
		if (*p)
			*p++ = '\0';
		if (!addr)
			addr = tok;
		else if (len == nl && strncasecmp(tok, name, nl) == 0)
			return addr;
	}
	return NULL;
}

static int resolve_hosts(const char *name, uint16_t port, const char *path, char ***out, size_t *n, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned char bin[16];
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "cannot read hosts file %s: %s", path, strerror(errno));
		return -EAGAIN;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		const char *addr = hosts_match(line, name);

		if (!addr)
			continue;
		if (inet_pton(AF_INET, addr, bin) == 1)
			rc = add_addr(out, n, addr, false, port);
		else if (inet_pton(AF_INET6, addr, bin) == 1)
			rc = add_addr(out, n, addr, true, port);
	}
	fclose(f);
	return rc;
}

int discover_resolve(const char *name, uint16_t port, const char *hosts_file, char ***out, size_t *n,
		     char *err, size_t errlen)
{
	int rc;

	*out = NULL;
	*n = 0;
	rc = hosts_file && *hosts_file ? resolve_hosts(name, port, hosts_file, out, n, err, errlen)
				       : resolve_system(name, port, out, n, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		discover_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc == -ENOMEM ? -EAGAIN : rc;
	}
	sort_unique(*out, n);
	return 0;
}

static bool same_list(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Resolve every target once; true when some answer changed. */
static bool round_once(struct discover *d)
{
	const char *hosts = getenv(DISCOVER_HOSTS_ENV);
	bool changed = false;
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct target *t = &d->t[i];
		char err[256], **list;
		size_t n;

		if (discover_resolve(t->name, t->port, hosts, &list, &n, err, sizeof(err)) < 0) {
			if (!t->failing)
				log_warn("%s: dns:%s:%u: %s (keeping the last answer)", d->log_name, t->name, t->port, err);
			t->failing = true;
			continue;
		}
		t->failing = false;
		pthread_mutex_lock(&d->lock);
		if (same_list(list, n, t->list, t->n)) {
			pthread_mutex_unlock(&d->lock);
			discover_list_free(list, n);
			continue;
		}
		discover_list_free(t->list, t->n);
		t->list = list;
		t->n = n;
		t->gen++;
		pthread_mutex_unlock(&d->lock);
		log_info("%s: dns:%s:%u resolves to %zu address%s", d->log_name, t->name, t->port, n, n == 1 ? "" : "es");
		changed = true;
	}
	return changed;
}

static void *discover_main(void *arg)
{
	struct discover *d = arg;
	struct timespec until;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		pthread_mutex_unlock(&d->lock);
		if (round_once(d))
			d->wake(d->arg);
		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)d->refresh;
		until.tv_nsec += (long)((d->refresh - (double)(time_t)d->refresh) * 1e9);
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!d->stop && pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static void free_targets(struct discover *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->t[i].name);
		discover_list_free(d->t[i].list, d->t[i].n);
	}
	free(d->t);
}

int discover_start(char *const *names, const uint16_t *ports, size_t n, double refresh, const char *log_name,
		   void (*wake)(void *arg), void *arg, struct discover **out)
{
	pthread_condattr_t ca;
	struct discover *d;
	size_t i;

	if (!(refresh > 0 && refresh < 1e6))
		return -EINVAL;
	if (!(d = calloc(1, sizeof(*d))) || !(d->t = calloc(n ? n : 1, sizeof(*d->t)))) {
		free(d);
		return -ENOMEM;
	}
	d->n = n;
	for (i = 0; i < n; i++) {
		d->t[i].port = ports[i];
		if (!(d->t[i].name = strdup(names[i]))) {
			free_targets(d);
			free(d);
			return -ENOMEM;
		}
	}
	d->refresh = refresh;
	d->wake = wake;
	d->arg = arg;
	snprintf(d->log_name, sizeof(d->log_name), "%s", log_name);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->thread, NULL, discover_main, d) != 0) {
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		free_targets(d);
		free(d);
		return -EAGAIN;
	}
	*out = d;
	return 0;
}

bool discover_take(struct discover *d, size_t i, uint64_t *gen, char ***list, size_t *n)
{
	struct target *t = &d->t[i];
	size_t k;
	bool ok = true;

	pthread_mutex_lock(&d->lock);
	if (t->gen == *gen) {
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	*n = 0;
	if (!(*list = calloc(t->n ? t->n : 1, sizeof(**list))))
		ok = false;
	for (k = 0; ok && k < t->n; k++, (*n)++)
		if (!((*list)[k] = strdup(t->list[k])))
			ok = false;
	if (ok)
		*gen = t->gen;
	pthread_mutex_unlock(&d->lock);
	if (!ok) {
		discover_list_free(*list, *n);
		return false; /* out of memory: try again next time */
	}
	return true;
}

void discover_stop(struct discover *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free_targets(d);
	free(d);
}
