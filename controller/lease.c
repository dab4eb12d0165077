/* lease.c: acquire, renew and release a coordination.k8s.io/v1 Lease; a leader that misses its renew deadline gives up. */
#include "lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmetrics.h"
#include "ctlutil.h"
#include "kobj.h"
#include "log.h"

struct lease {
	struct kube *k;
	CURL *e;
	char *ns, *name, *id;
	int lease_s, renew_s, retry_s;
	int fd;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	atomic_bool leader, lost;
	atomic_llong renew_ok_ms;   /* monotonic time of the last successful acquire/renew */
	/* What we last saw of the record, and when (monotonic). */
	char obs_key[512];
	int64_t obs_ms;
	int obs_duration_s;
	char obs_holder[256];
	json_t *cur;                /* the Lease as last read or written */
};

static void notify(struct lease *l)
{
	if (l->fd >= 0 && write(l->fd, "l", 1) < 0)
		log_debug("lease: cannot notify the main loop");
}

static void path(const struct lease *l, char *out, size_t n, bool item)
{
	if (item)
		snprintf(out, n, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->ns, l->name);
	else
		snprintf(out, n, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
}

static json_t *record(const struct lease *l, const char *holder, int duration, const char *acquire, const char *renew,
		      long long transitions, const char *rv)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:I}}", "apiVersion",
			      "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns,
			      "spec", "holderIdentity", holder, "leaseDurationSeconds", (json_int_t)duration, "acquireTime",
			      acquire, "renewTime", renew, "leaseTransitions", (json_int_t)transitions);

	if (o && rv)
		json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv));
	return o;
}

/* Send a Lease (POST when `create`, else PUT); on success l->cur is the server's copy. */
static int send_lease(struct lease *l, json_t *obj, bool create, long timeout_ms, long *status)
{
	char p[512], msg[256];
	struct kube_resp r;
	char *body = json_dumps(obj, JSON_COMPACT);
	int rc = -EAGAIN;

	if (!body)
		return -ENOMEM;
	path(l, p, sizeof(p), !create);
	kube_resp_init(&r, 1 << 20);
	r.timeout_ms = timeout_ms;
	kube_request(l->k, l->e, create ? "POST" : "PUT", NULL, p, "application/json", body, strlen(body), &r);
	free(body);
	*status = r.status;
	if (r.status == 200 || r.status == 201) {
		json_t *fresh = json_loadb(r.body.data, r.body.len, 0, NULL);

		if (fresh) {
			json_decref(l->cur);
			l->cur = fresh;
		}
		rc = 0;
	} else if (r.status != 409) {
		log_warn("lease %s/%s: %s", l->ns, l->name, kube_resp_message(&r, msg, sizeof(msg)));
	}
	kube_resp_free(&r);
	return rc;
}

/* One round of client-go's tryAcquireOrRenew. true when we hold the Lease now. */
static bool try_acquire_or_renew(struct lease *l, long timeout_ms)
{
	char p[512], now_s[40], key[512], msg[256], holder_buf[256];
	struct kube_resp r;
	json_t *cur = NULL, *nw = NULL;
	const char *holder, *renew, *acquire;
	int64_t now_us = cu_wall_us(), now_ms = cu_now_ms();
	long long transitions;
	int duration;
	long status;
	bool ok = false, mine;

	cu_rfc3339_micro(now_us, now_s, sizeof(now_s));
	path(l, p, sizeof(p), true);
	kube_resp_init(&r, 1 << 20);
	r.timeout_ms = timeout_ms;
	kube_request(l->k, l->e, "GET", NULL, p, NULL, NULL, 0, &r);
	if (r.status == 404) {
		kube_resp_free(&r);
		if (!(nw = record(l, l->id, l->lease_s, now_s, now_s, 0, NULL)))
			return false;
		ok = send_lease(l, nw, true, timeout_ms, &status) == 0;
		json_decref(nw);
		return ok;
	}
	if (r.status != 200 || !(cur = json_loadb(r.body.data, r.body.len, 0, NULL))) {
		log_warn("lease %s/%s: %s", l->ns, l->name, kube_resp_message(&r, msg, sizeof(msg)));
		kube_resp_free(&r);
		return false;
	}
	kube_resp_free(&r);
	json_decref(l->cur);
	l->cur = cur;
	cu_strlcpy(holder_buf, kobj_str(cur, "spec.holderIdentity", ""), sizeof(holder_buf));
	holder = holder_buf; /* cur may be replaced below */
	renew = kobj_str(cur, "spec.renewTime", "");
	acquire = kobj_str(cur, "spec.acquireTime", "");
	duration = json_is_integer(kobj_get(cur, "spec.leaseDurationSeconds")) ?
		   (int)json_integer_value(kobj_get(cur, "spec.leaseDurationSeconds")) : l->lease_s;
	transitions = json_integer_value(kobj_get(cur, "spec.leaseTransitions"));
	mine = strcmp(holder, l->id) == 0;

	/* A new record starts the expiry clock. The holder's renewTime is trusted when it is
	 * plausible (not in the future, at most a retry period old), so a dead leader's Lease is
	 * taken over one lease duration after its last renewal rather than after we noticed it;
	 * the renew deadline (shorter than the lease) absorbs small clock differences. */
	snprintf(key, sizeof(key), "%s|%s|%d", holder, renew, duration);
	if (strcmp(key, l->obs_key) != 0) {
		int64_t renew_us, age_ms;

		cu_strlcpy(l->obs_key, key, sizeof(l->obs_key));
		cu_strlcpy(l->obs_holder, holder, sizeof(l->obs_holder));
		l->obs_duration_s = duration;
		l->obs_ms = now_ms;
		if (cu_parse_rfc3339(renew, &renew_us) == 0) {
			age_ms = (now_us - renew_us) / 1000;
			if (age_ms >= 0 && age_ms <= (int64_t)l->retry_s * 1000 + 500)
				l->obs_ms = now_ms - age_ms;
		}
	}
	if (*holder && !mine && now_ms < l->obs_ms + (int64_t)duration * 1000)
		return false; /* someone else holds it */
	nw = record(l, l->id, l->lease_s, mine && *acquire ? acquire : now_s, now_s, mine ? transitions : transitions + 1,
		    kobj_str(cur, "metadata.resourceVersion", NULL));
	if (!nw)
		return false;
	ok = send_lease(l, nw, false, timeout_ms, &status) == 0;
	json_decref(nw);
	if (ok && !mine)
		log_info("lease %s/%s taken over from '%s'", l->ns, l->name, holder);
	return ok;
}

static int64_t wait_ms(struct lease *l, int64_t ms)
{
	struct timespec ts;
	int64_t deadline;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000;
	pthread_mutex_lock(&l->mu);
	while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static bool stopping(struct lease *l)
{
	bool s;

	pthread_mutex_lock(&l->mu);
	s = l->stop;
	pthread_mutex_unlock(&l->mu);
	return s;
}

static void *run(void *arg)
{
	struct lease *l = arg;

	log_info("leader election: campaigning for lease %s/%s as %s", l->ns, l->name, l->id);
	while (!stopping(l)) {
		int64_t t0 = cu_now_ms(), next;

		if (atomic_load(&l->leader)) {
			int64_t left = atomic_load(&l->renew_ok_ms) + (int64_t)l->renew_s * 1000 - t0;

			if (left > 0 && try_acquire_or_renew(l, (long)(left < 5000 ? left : 5000))) {
				atomic_store(&l->renew_ok_ms, t0);
			} else if (cu_now_ms() >= atomic_load(&l->renew_ok_ms) + (int64_t)l->renew_s * 1000) {
				atomic_store(&l->leader, false);
				atomic_store(&l->lost, true);
				cmet_set(CMET_LEADER, NULL, NULL, 0);
				log_error("leader election lost: could not renew lease %s/%s within %d s", l->ns, l->name,
					  l->renew_s);
				notify(l);
				break;
			}
			next = (int64_t)l->retry_s * 1000;
		} else {
			if (try_acquire_or_renew(l, 5000)) {
				atomic_store(&l->renew_ok_ms, t0);
				atomic_store(&l->leader, true);
				cmet_set(CMET_LEADER, NULL, NULL, 1);
				log_info("leader election: became the leader (lease %s/%s)", l->ns, l->name);
				notify(l);
				next = (int64_t)l->retry_s * 1000;
			} else {
				/* Retry with jitter, but be there when the holder's lease runs out. */
				int64_t expiry = l->obs_ms + (int64_t)l->obs_duration_s * 1000 - cu_now_ms() + 20;

				next = (int64_t)((double)l->retry_s * 1000 * (1.0 + 0.2 * cu_rand01()));
				if (*l->obs_holder && expiry > 0 && expiry < next)
					next = expiry;
				if (next < 20)
					next = 20;
			}
		}
		wait_ms(l, next);
	}
	return NULL;
}

int lease_start(struct kube *k, const struct lease_opts *o, int notify_fd, struct lease **out)
{
	struct lease *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->k = k;
	l->fd = notify_fd;
	l->lease_s = o->lease_s;
	l->renew_s = o->renew_s;
	l->retry_s = o->retry_s;
	pthread_mutex_init(&l->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (!(l->ns = strdup(o->ns)) || !(l->name = strdup(o->name)) || !(l->id = strdup(o->identity)) ||
	    !(l->e = curl_easy_init()) || pthread_create(&l->th, NULL, run, l) != 0) {
		if (l->e)
			curl_easy_cleanup(l->e);
		free(l->ns);
		free(l->name);
		free(l->id);
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

bool lease_is_leader(struct lease *l)
{
	return atomic_load(&l->leader) &&
	       cu_now_ms() < atomic_load(&l->renew_ok_ms) + (int64_t)l->renew_s * 1000;
}

bool lease_lost(struct lease *l)
{
	return atomic_load(&l->lost);
}

void lease_stop(struct lease *l, bool release)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->th, NULL);
	if (release && atomic_load(&l->leader) && l->cur) {
		char now_s[40];
		long status = 0;
		json_t *nw;

		/* As client-go's ReleaseOnCancel: no holder, a one-second lease. */
		cu_rfc3339_micro(cu_wall_us(), now_s, sizeof(now_s));
		nw = record(l, "", 1, now_s, now_s, json_integer_value(kobj_get(l->cur, "spec.leaseTransitions")),
			    kobj_str(l->cur, "metadata.resourceVersion", NULL));
		if (nw && send_lease(l, nw, false, 5000, &status) == 0)
			log_info("leader election: released lease %s/%s", l->ns, l->name);
		else
			log_warn("leader election: could not release lease %s/%s (HTTP %ld)", l->ns, l->name, status);
		json_decref(nw);
		atomic_store(&l->leader, false);
		cmet_set(CMET_LEADER, NULL, NULL, 0);
	}
	curl_easy_cleanup(l->e);
	json_decref(l->cur);
	free(l->ns);
	free(l->name);
	free(l->id);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
