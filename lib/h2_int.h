/* h2_int.h: the HTTP/2 session and stream structures lib/h2.c (sessions, callbacks) shares
 * with lib/h2_resp.c (responses). */
#ifndef VIVO_H2_INT_H
#define VIVO_H2_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <nghttp2/nghttp2.h>

#include "h2.h"
#include "httpd_int.h"

#define PREFACE_LEN 24

struct h2_stream {
	struct h2_session *s;
	int32_t id;
	struct httpd_req *r;
	struct httpd_fields hdrs;   /* request headers as received (pseudo-headers too) */
	size_t hdr_bytes;
	struct httpd_resp *resp;    /* being sent */
	uint64_t pos;
	bool closed;                /* nghttp2 is done with it (or the connection is gone) */
	bool early;                 /* answered before its request ended: reset once sent */
	bool deferred;              /* its body reader had nothing yet */
	bool resume_queued;
	struct h2_stream *prev, *next, *rnext;
};

struct h2_session {
	struct httpd *h;
	struct lsn_conn *c;
	nghttp2_session *ng;
	char peer[64];
	pthread_mutex_t mu;         /* guards `resumed` and resume_queued */
	struct h2_stream *streams;  /* every stream with a request, open or held */
	struct h2_stream *resumed;
	unsigned nstreams;
	uint64_t opened;            /* streams this connection opened, all sessions */
	bool dead, kill, draining, final_sent, any_deferred;
	/* Frame boundaries of the input, to see a new client preface (Fluent Bit reuses a
	 * connection for a new session: README-part2 of the fixtures). */
	size_t magic_left;
	uint8_t fh[9];
	size_t fh_have;
	uint64_t skip;
	uint8_t pri[PREFACE_LEN];
	size_t pri_have;
	bool pri_collecting;
	struct buf carry;           /* the previous session's last bytes */
	bool carry_out;
	double tokens;
	struct timespec tlast;
	unsigned conts;
};

#endif
