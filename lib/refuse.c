/* refuse.c: refusal counters per (where, reason) and a bounded table of when each
 * (address, where, reason) was last logged, both under one mutex. */
#include "refuse.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addrmap.h"
#include "log.h"

#define MAX_COUNTERS 256       /* (where, reason) pairs: a handful per listener */
#define MAX_SEEN 4096          /* (address, where, reason) remembered for the rate limit */

struct counter {
	char where[32];
	const char *reason;
	uint64_t count;
};

struct seen {
	char host[ADDRMAP_KEY_MAX];
	const struct counter *key;
	time_t last;               /* 0: free slot */
	uint64_t since;            /* refusals since the last line, this one included */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct counter counters[MAX_COUNTERS];
static size_t ncounters;
static struct seen seen[MAX_SEEN];
static uint64_t unlogged;      /* refusals not logged because the table was full of recent entries */

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0 */
}

static struct counter *counter_for(const char *where, const char *reason)
{
	size_t i;

	for (i = 0; i < ncounters; i++)
		if (strcmp(counters[i].reason, reason) == 0 && strcmp(counters[i].where, where) == 0)
			return &counters[i];
	if (ncounters == MAX_COUNTERS)
		return &counters[MAX_COUNTERS - 1]; /* cannot happen with the listeners Vivo has */
	snprintf(counters[ncounters].where, sizeof(counters[ncounters].where), "%s", where);
	counters[ncounters].reason = reason;
	return &counters[ncounters++];
}

/* The slot of (host, key): found, or a free or stale one (open addressing, bounded probe). */
static struct seen *seen_for(const char *host, const struct counter *key, time_t now)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)key;
	struct seen *spare = NULL;
	const char *p;
	size_t i, k;

	for (p = host; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (i = 0; i < 64; i++) {
		struct seen *s = &seen[(h + i) % MAX_SEEN];

		if (s->last && s->key == key && strcmp(s->host, host) == 0)
			return s;
		if (!spare && (!s->last || now - s->last >= REFUSE_LOG_INTERVAL))
			spare = s;
	}
	if (!spare)
		return NULL;
	k = strnlen(host, sizeof(spare->host) - 1);
	memcpy(spare->host, host, k);
	spare->host[k] = '\0';
	spare->key = key;
	spare->last = 0;
	spare->since = 0;
	return spare;
}

void refuse_note(const char *where, const char *peer, const char *reason, const char *fmt, ...)
{
	char host[ADDRMAP_KEY_MAX], msg[512];
	struct counter *c;
	struct seen *s;
	uint64_t since = 1, lost;
	time_t now = now_s();
	bool say = true;
	va_list ap;

	addrmap_host(peer, host);
	pthread_mutex_lock(&mu);
	c = counter_for(where, reason);
	c->count++;
	s = seen_for(host, c, now);
	if (!s) {
		unlogged++;
		say = false;
	} else {
		s->since++;
		if (s->last && now - s->last < REFUSE_LOG_INTERVAL) {
			say = false;
		} else {
			since = s->since;
			s->since = 0;
			s->last = now;
		}
	}
	lost = say ? unlogged : 0;
	if (say)
		unlogged = 0;
	pthread_mutex_unlock(&mu);
	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: refused %s: %s (reason %s; %llu from this address since the last line%s)", where,
		 peer ? peer : "?", msg, reason, (unsigned long long)since,
		 lost ? ", and refusals of other addresses not logged" : "");
}

int refuse_each(refuse_each_fn fn, void *arg)
{
	struct counter copy[MAX_COUNTERS];
	size_t i, n;
	int rc = 0;

	pthread_mutex_lock(&mu);
	n = ncounters;
	memcpy(copy, counters, n * sizeof(copy[0]));
	pthread_mutex_unlock(&mu);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(copy[i].where, copy[i].reason, copy[i].count, arg);
	return rc;
}

uint64_t refuse_total(const char *where)
{
	uint64_t sum = 0;
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < ncounters; i++)
		if (strcmp(counters[i].where, where) == 0)
			sum += counters[i].count;
	pthread_mutex_unlock(&mu);
	return sum;
}

bool refuse_emfile(int lfd, int *spare_fd, const char *where)
{
	int fd;

	if (*spare_fd < 0)
		return false;
	close(*spare_fd);
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	*spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	refuse_note(where, "?", REFUSE_CONNS, "out of file descriptors (RLIMIT_NOFILE)");
	return true;
}
