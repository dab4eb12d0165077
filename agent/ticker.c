/* ticker.c: fixed-rate ticks on a monotonic clock, stoppable at once through a condvar. */
#include "ticker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct ticker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	long long interval_ns;
	void (*tick)(void *arg);
	void *arg;
};

static void *ticker_main(void *p)
{
	struct ticker *t = p;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		/* Deadlines advance by the interval, so ticks do not drift with tick time. */
		next.tv_sec += (time_t)(t->interval_ns / 1000000000);
		next.tv_nsec += (long)(t->interval_ns % 1000000000);
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &next) != ETIMEDOUT)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		t->tick(t->arg);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int ticker_start(double interval, void (*tick)(void *arg), void *arg, struct ticker **out)
{
	pthread_condattr_t ca;
	struct ticker *t;

	if (!(interval > 0 && interval < 1e9))
		return -EINVAL;
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	t->interval_ns = (long long)(interval * 1e9);
	if (t->interval_ns < 1000)
		t->interval_ns = 1000;
	t->tick = tick;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return -EAGAIN;
	}
	*out = t;
	return 0;
}

void ticker_stop(struct ticker *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
