/* in_vivo/follow.h: the vivo input's shared state: the follower, its upstreams and their per-stream polls. */
#ifndef VIVO_IN_VIVO_FOLLOW_H
#define VIVO_IN_VIVO_FOLLOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "discover.h"
#include "input.h"
#include "parse.h"

enum up_state { UP_CONNECTING, UP_FOLLOWING, UP_BACKOFF, UP_SELF, UP_STATES };

/* One long-poll loop: one upstream, one stream. */
struct up_poll {
	struct upstream *up;
	enum stream_kind kind;
	CURL *h;
	bool busy;                   /* in the multi handle */
	bool have_next;              /* false: ask from the oldest held chunk */
	uint64_t next;               /* the next upstream chunk ID wanted */
	bool have_seq;
	uint64_t seq;                /* the next local_seq expected (gaps = missed chunks) */
	uint64_t upstream_next;      /* Vivo-Stream-Next-ID of the last answer */
	double due;                  /* monotonic seconds: when the next poll may start */
	double asked_at;             /* when the poll in flight was sent */
	double caught_up_at;         /* last time everything the upstream held was read */
	bool caught_up;              /* the last answer was complete (not cut by limit) */
	/* per response */
	struct follow_headers hd;
	bool checked;                /* status and boot ID verified (at the first body byte) */
	bool boot_changed;           /* the upstream answered from a new run: start over */
	bool skipping;               /* discarding a line over buffer_max_size */
	uint64_t got;                /* chunk lines in this answer */
	struct buf line;             /* the partial chunk line */
	struct buf errbody;          /* a non-200 answer's body, for the log */
	char url[512];
};

struct upstream {
	struct follower *f;
	char instance[96];           /* host:port as dialled ("[::1]:2025" for IPv6) */
	char base[192];              /* scheme://host:port[/prefix], no trailing slash */
	int target;                  /* index of the dns: target it came from, -1 = static */
	double gone_since;           /* dns: no longer resolved since (0 = present) */
	enum up_state state;
	bool known_boot;             /* info.boot_id is valid */
	struct follow_info info;
	struct buf source;           /* the source object of its chunks */
	CURL *info_h;
	bool info_busy;
	struct follow_headers info_hd;
	struct buf info_body;
	unsigned attempt;            /* consecutive failures (backoff) */
	double retry_at;
	double last_warn;
	struct up_poll polls[STREAM_COUNT];
	/* counters (guarded by the follower's lock, read by metrics and /api/v1/info) */
	uint64_t chunks, records, bytes, errors, missed;
	char last_error[256];
	struct upstream *next;
};

struct follower {
	struct input_instance *in;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;        /* guards the upstream list, states and counters */
	CURLM *multi;                /* driven through socket_action by the thread's epoll set */
	int epfd;                    /* the sockets libcurl asks to watch, and wakefd */
	int wakefd;                  /* eventfd: discovery news, stop */
	double curl_due;             /* libcurl's timer (monotonic seconds), -1 = none */
	struct upstream *ups;
	struct discover *disc;       /* dns: targets, or NULL */
	char **dns_names;            /* "NAME:PORT" of each dns: target */
	uint16_t *dns_ports;
	size_t ndns;
	uint64_t *dns_gen;           /* discovery generation seen, per target */
	char self_boot[FOLLOW_MAX_BOOT + 1];
	size_t line_bytes;           /* partial-line bytes held by all polls */
	struct follow_chunk chunk;   /* scratch for the parser (follow thread only) */
	uint64_t rng;                /* xorshift state for the backoff jitter */
	struct follower *next;       /* in the list of running followers */
};

/* Monotonic seconds. */
double follow_now(void);

/* upstream.c: the per-upstream state machine on the follower's multi handle. */
/* A new upstream (state CONNECTING, nothing held); NULL on ENOMEM. `base` has no
 * trailing slash. */
struct upstream *up_new(struct follower *f, const char *instance, const char *base, int target);
/* Remove its transfers from the multi handle and free it (the follower's lock is not
 * needed: call after unlinking it). NULL-safe. */
void up_free(struct upstream *u);
/* Start what is due (info request, polls after their linger, a retry after backoff). */
void up_drive(struct upstream *u, double now);
/* A transfer of this upstream finished with `res`. */
void up_done(struct upstream *u, CURL *h, CURLcode res, double now);
/* Seconds until up_drive has something to start (>= 0), capped at `cap`. */
double up_next_due(const struct upstream *u, double now, double cap);
/* Lag of the upstream: chunks known but not read, and seconds since it was last caught up. */
void up_lag(const struct upstream *u, double now, uint64_t *chunks, double *seconds);
/* The state's name in metrics and /api/v1/info. */
const char *up_state_name(enum up_state s);

/* Positions of upstreams whose follower stopped (a SIGHUP that changed the input), so a
 * new follower of the same upstream run goes on from there instead of the oldest chunk:
 * exactly once across reloads. */
void follow_cursor_save(const struct upstream *u);
/* Take a saved position for this upstream run, if any. */
bool follow_cursor_take(struct upstream *u);
/* Free what is saved (the last follower stopped). */
void follow_cursor_clear(void);

#endif
