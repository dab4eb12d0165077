/* h2.c: HTTP/2 server sessions on nghttp2: streams become httpd requests, responses and
 * trailers go out as HEADERS/DATA, held requests resume from any thread, floods end the
 * connection, and a new client preface at a frame boundary starts a fresh session. */
#include "h2.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <nghttp2/nghttp2.h>

#include "codec.h"
#include "h2_int.h"
#include "httpd_int.h"
#include "listener.h"
#include "log.h"
#include "refuse.h"

#define FLOOD_BURST 500.0      /* cheap frames (SETTINGS, PING, RST_STREAM, PRIORITY, empty DATA) */
#define FLOOD_RATE 100.0       /* ... allowed per second after the burst */
#define CARRY_MAX (1u << 20)   /* bytes of a finished session still to send at a restart */

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";


static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- streams ---------------------------------------------------------------------------- */

static struct h2_stream *stream_of(struct h2_session *s, int32_t id)
{
	return s->ng ? nghttp2_session_get_stream_user_data(s->ng, id) : NULL;
}

static void stream_free(struct h2_stream *st)
{
	struct h2_session *s = st->s;

	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (--s->nstreams == 0 && s->c && !s->dead)
		lsn_conn_busy(s->c, false);
	if (s->ng && !st->closed)
		nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
	httpd_resp_free(st->resp);
	buf_free(&st->hdrs.list);
	httpd_req_free(st->r);
	free(st);
}

static void rst(struct h2_stream *st, uint32_t code)
{
	if (st->s->ng && !st->closed)
		nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, code);
}

/* Log once and end the connection with GOAWAY(ENHANCE_YOUR_CALM). */
static int flood(struct h2_session *s, const char *what)
{
	if (!s->kill) {
		log_warn("%s: %s flood from %s: closing the connection", s->h->name, what, s->peer);
		nghttp2_session_terminate_session(s->ng, NGHTTP2_ENHANCE_YOUR_CALM);
		s->kill = true;
	}
	return 0;
}

static bool take_token(struct h2_session *s)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - s->tlast.tv_sec) + (double)(now.tv_nsec - s->tlast.tv_nsec) / 1e9;
	s->tlast = now;
	s->tokens += dt * FLOOD_RATE;
	if (s->tokens > FLOOD_BURST)
		s->tokens = FLOOD_BURST;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}

/* A stream nghttp2 is done with: free it unless its request is held; a held one whose
 * handler lets go of it (its client reset it or left) is freed now too, else when its
 * resume arrives (h2_session_wake). */
static void release_closed(struct h2_stream *st)
{
	struct httpd_req *r = st->r;

	if (!r->suspended || (r->on_gone && r->on_gone(r))) {
		r->suspended = false;
		stream_free(st);
	}
}

/* Run the handler of a complete (or refused) request. */
static void run(struct h2_stream *st)
{
	struct httpd_req *r = st->r;

	if (r->handled || st->closed || r->suspended)
		return;
	if (httpd_req_run(r) == MHD_NO && !r->handled && !r->suspended)
		rst(st, NGHTTP2_INTERNAL_ERROR);
}

/* The request headers are in: target, route, limits. */
static void begin(struct h2_stream *st)
{
	struct httpd_req *r = st->r;
	const char *method = h2_header(r, ":method"), *path = h2_header(r, ":path");

	if (!method || !path || httpd_req_target(r, method, path) < 0) {
		rst(st, method && path ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	if (httpd_req_begin(r) == MHD_NO && !r->handled)
		rst(st, NGHTTP2_INTERNAL_ERROR);
}

/* ---- nghttp2 callbacks ---------------------------------------------------------------------- */

static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2_session *s = ud;
	bool cheap = false;

	(void)ng;
	switch (hd->type) {
	case NGHTTP2_HEADERS:
		s->conts = 0;
		break;
	case NGHTTP2_CONTINUATION:
		if (++s->conts > H2_MAX_CONTINUATIONS)
			return flood(s, "CONTINUATION");
		break;
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PING:
	case NGHTTP2_RST_STREAM:
	case NGHTTP2_PRIORITY:
		cheap = true;
		break;
	case NGHTTP2_DATA:
		cheap = hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM);
		break;
	default:
		break;
	}
	if (cheap && !take_token(s))
		return flood(s, hd->type == NGHTTP2_SETTINGS ? "SETTINGS" : hd->type == NGHTTP2_PING ? "PING"
						    : hd->type == NGHTTP2_RST_STREAM ? "RST_STREAM" : "control frame");
	return 0;
}

/* A new stream `id` of `s`, as an httpd request; NULL when out of memory. */
static struct h2_stream *stream_open(struct h2_session *s, int32_t id)
{
	struct h2_stream *st;

	if (!(st = calloc(1, sizeof(*st))) || !(st->r = httpd_req_new(s->h, HTTPD_HTTP2, s->peer))) {
		free(st);
		return NULL;
	}
	st->s = s;
	st->id = id;
	st->r->h2 = st;
	buf_init(&st->hdrs.list, 2 * H2_MAX_HEADER_LIST);
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	if (s->nstreams++ == 0 && s->c)
		lsn_conn_busy(s->c, true);
	nghttp2_session_set_stream_user_data(s->ng, id, st);
	return st;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_session *s = ud;
	int32_t id = frame->hd.stream_id;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST || s->kill)
		return 0;
	if (s->opened >= H2_MAX_STREAMS_PER_CONN || s->nstreams >= 2 * H2_MAX_CONCURRENT_STREAMS) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	if (!stream_open(s, id))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (++s->opened == H2_MAX_STREAMS_PER_CONN) {
		/* Enough for one connection: this stream is the last; the client reconnects. */
		log_debug("%s: %d streams from %s on one connection: GOAWAY", s->h->name, H2_MAX_STREAMS_PER_CONN, s->peer);
		nghttp2_submit_goaway(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, NULL, 0);
		s->final_sent = true;
	}
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);

	(void)flags;
	if (!st)
		return 0;
	st->hdr_bytes += namelen + valuelen + 32; /* RFC 9113 6.5.2's accounting */
	if (st->hdr_bytes > H2_MAX_HEADER_LIST) {
		log_warn("%s: header list from %s is over %d bytes: stream reset", s->h->name, s->peer, H2_MAX_HEADER_LIST);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers: counted, not kept */
	if (httpd_fields_addn(&st->hdrs, (const char *)name, namelen, (const char *)value, valuelen) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st = stream_of(s, frame->hd.stream_id);

	(void)ng;
	if (!st || (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA))
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		begin(st);
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		run(st);
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
	struct h2_stream *st = stream_of(ud, id);
	struct httpd_req *r;

	(void)ng;
	(void)flags;
	if (!st || st->r->handled || !st->r->route)
		return 0;
	r = st->r;
	if (httpd_req_data(r, (const char *)data, len) < 0) {
		rst(st, NGHTTP2_CANCEL);
		return 0;
	}
	if (r->too_large || r->busy) {
		/* HTTP/2 can answer in the middle of a body: say 413/503 now, then reset. */
		st->early = true;
		run(st);
	}
	return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_stream *st = stream_of(ud, frame->hd.stream_id);
	struct h2_session *s = ud;

	if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
		log_warn("%s: GOAWAY(%s) to %s after stream %d", s->h->name,
			 nghttp2_http2_strerror(frame->goaway.error_code), s->peer, frame->goaway.last_stream_id);

	if (st && st->early && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA))
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
	struct h2_stream *st = stream_of(ud, id);

	(void)code;
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	st->closed = true;
	release_closed(st);
	return 0;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int code, void *ud)
{
	struct h2_session *s = ud;

	(void)ng;
	log_warn("%s: invalid HTTP/2 frame (type %u) from %s: %s", s->h->name, frame->hd.type, s->peer,
		 nghttp2_strerror(code));
	return 0;
}

static int on_error(nghttp2_session *ng, int code, const char *msg, size_t len, void *ud)
{
	struct h2_session *s = ud;

	(void)ng;
	(void)code;
	log_debug("%s: HTTP/2 from %s: %.*s", s->h->name, s->peer, (int)len, msg);
	return 0;
}

static void setup_once(void)
{
	nghttp2_session_callbacks_new(&callbacks);
	nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_invalid_frame);
	nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
	nghttp2_option_new(&options);
	nghttp2_option_set_max_outbound_ack(options, 1000);
	nghttp2_option_set_max_settings(options, 32);
#if HAVE_DECL_NGHTTP2_OPTION_SET_STREAM_RESET_RATE_LIMIT
	nghttp2_option_set_stream_reset_rate_limit(options, 1000, 33);
#endif
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_CONTINUATIONS
	nghttp2_option_set_max_continuations(options, H2_MAX_CONTINUATIONS);
#endif
}

const char *h2_header(struct httpd_req *r, const char *name)
{
	const struct httpd_fields *f = &r->h2->hdrs;
	const char *n, *v;
	size_t off = 0;

	while ((n = httpd_fields_next(f, &off, &v)))
		if (strcasecmp(n, name) == 0)
			return v;
	return NULL;
}

void h2_suspend(struct httpd_req *r)
{
	(void)r; /* the stream simply has no response yet; nghttp2 keeps it open */
}

void h2_resume(struct httpd_req *r)
{
	struct h2_stream *st = r->h2;
	struct h2_session *s = st->s;

	/* Under the session lock: the loop cannot free the session before the wake is queued. */
	pthread_mutex_lock(&s->mu);
	if (!st->resume_queued) {
		st->resume_queued = true;
		st->rnext = s->resumed;
		s->resumed = st;
	}
	lsn_conn_wake(s->c);
	pthread_mutex_unlock(&s->mu);
}

/* ---- sessions --------------------------------------------------------------------------------- */

static int ng_new(struct h2_session *s)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_CONCURRENT_STREAMS },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_INITIAL_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, H2_MAX_FRAME_SIZE },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST },
	};

	if (nghttp2_session_server_new2(&s->ng, callbacks, s, options) != 0)
		return -ENOMEM;
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)H2_CONNECTION_WINDOW) != 0) {
		nghttp2_session_del(s->ng);
		s->ng = NULL;
		return -ENOMEM;
	}
	s->magic_left = PREFACE_LEN;
	s->fh_have = 0;
	s->skip = 0;
	s->draining = s->final_sent = false;
	return 0;
}

int h2_session_new(struct httpd *h, struct lsn_conn *c, const char *peer, struct h2_session **out)
{
	struct h2_session *s;

	pthread_once(&once, setup_once);
	if (!callbacks || !options || !(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->h = h;
	s->c = c;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->carry, CARRY_MAX);
	s->tokens = FLOOD_BURST;
	clock_gettime(CLOCK_MONOTONIC, &s->tlast);
	if (ng_new(s) < 0) {
		h2_session_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

/* Header fields of an HTTP/1.1 request that have no place in HTTP/2 (RFC 9113 8.2.2). */
static bool connection_specific(const char *name, size_t n)
{
	static const char *const names[] = { "connection", "upgrade", "http2-settings", "keep-alive",
					     "proxy-connection", "transfer-encoding", "te", "host" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0)
			return true;
	return false;
}

/* The HTTP/1.1 head's request line and fields as the stream's HTTP/2 header list. */
static int upgrade_fields(struct h2_stream *st, const char *head, size_t n)
{
	const char *end = head + n, *eol = memmem(head, n, "\r\n", 2), *sp1, *sp2, *line;
	char name[128];
	size_t i;

	if (!eol || !(sp1 = memchr(head, ' ', (size_t)(eol - head))) ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))))
		return -EINVAL;
	if (httpd_fields_addn(&st->hdrs, ":method", 7, head, (size_t)(sp1 - head)) < 0 ||
	    httpd_fields_addn(&st->hdrs, ":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1)) < 0 ||
	    httpd_fields_add(&st->hdrs, ":scheme", "http") < 0)
		return -ENOMEM;
	for (line = eol + 2; line < end && (eol = memmem(line, (size_t)(end - line), "\r\n", 2)) && eol > line;
	     line = eol + 2) {
		const char *colon = memchr(line, ':', (size_t)(eol - line)), *v;
		size_t nl, vl;

		if (!colon || (nl = (size_t)(colon - line)) == 0 || nl >= sizeof(name))
			return -EINVAL;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (vl = (size_t)(eol - v); vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'); vl--)
			;
		if (nl == 4 && strncasecmp(line, "host", 4) == 0) {
			if (httpd_fields_addn(&st->hdrs, ":authority", 10, v, vl) < 0)
				return -ENOMEM;
			continue;
		}
		if (connection_specific(line, nl))
			continue;
		for (i = 0; i < nl; i++)
			name[i] = (char)(line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 : line[i]);
		if (httpd_fields_addn(&st->hdrs, name, nl, v, vl) < 0)
			return -ENOMEM;
	}
	return 0;
}

int h2_session_upgrade(struct h2_session *s, const char *head, size_t n, const char *settings, size_t sl)
{
	struct buf payload;
	struct h2_stream *st;
	int rc;

	/* HTTP2-Settings is a SETTINGS payload in base64url (RFC 7540 3.2.1). */
	buf_init(&payload, H2C_SETTINGS_MAX);
	rc = codec_base64_decode(settings, sl, &payload) < 0 || payload.len % 6 != 0 ||
	     nghttp2_session_upgrade2(s->ng, (const uint8_t *)payload.data, payload.len,
				      n > 5 && memcmp(head, "HEAD ", 5) == 0, NULL) != 0;
	buf_free(&payload);
	if (rc)
		return -EINVAL;
	if (!(st = stream_open(s, 1)))
		return -ENOMEM;
	s->opened++;
	if ((rc = upgrade_fields(st, head, n)) < 0)
		return rc;
	begin(st);
	run(st);
	return 0;
}

/* nghttp2's own flood verdicts (too many queued ACKs, too many CONTINUATION frames). */
static bool flood_error(ssize_t k)
{
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_CONTINUATIONS
	if (k == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
		return true;
#endif
	return k == NGHTTP2_ERR_FLOODED;
}

static int feed(struct h2_session *s, const uint8_t *p, size_t n)
{
	ssize_t k = nghttp2_session_mem_recv(s->ng, p, n);

	if (k < 0) {
		log_warn("%s: HTTP/2 error from %s: %s", s->h->name, s->peer, nghttp2_strerror((int)k));
		/* Say why before closing, when the session can still send. */
		nghttp2_session_terminate_session(s->ng, flood_error(k) ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
		s->kill = true;
		return -1;
	}
	return s->kill ? -1 : 0;
}

/* A client preface at a frame boundary: the old session is over, a new one begins (its
 * SETTINGS go out at once). Refused with GOAWAY while the old one has open streams. */
static int restart(struct h2_session *s)
{
	const uint8_t *p;
	ssize_t k;

	/* Answers already queued finish first (a client that sent everything at once). */
	while ((k = nghttp2_session_mem_send(s->ng, &p)) > 0)
		if (buf_append(&s->carry, p, (size_t)k) < 0)
			return -1;
	s->carry_out = s->carry.len > 0;
	if (s->nstreams > 0) {
		log_warn("%s: new HTTP/2 preface from %s while %u streams are open: GOAWAY", s->h->name, s->peer,
			 s->nstreams);
		nghttp2_session_terminate_session(s->ng, NGHTTP2_PROTOCOL_ERROR);
		s->kill = true;
		return -1;
	}
	nghttp2_session_del(s->ng);
	s->ng = NULL;
	if (ng_new(s) < 0)
		return -1;
	log_debug("%s: new HTTP/2 session on the connection from %s", s->h->name, s->peer);
	s->magic_left = 0;
	return feed(s, preface, PREFACE_LEN);
}

/* Bytes at a frame boundary that start with 'P': a new preface, or garbage for nghttp2. */
static size_t collect_preface(struct h2_session *s, const uint8_t *data, size_t n, int *rc)
{
	size_t k = PREFACE_LEN - s->pri_have < n ? PREFACE_LEN - s->pri_have : n;

	memcpy(s->pri + s->pri_have, data, k);
	s->pri_have += k;
	*rc = 0;
	if (memcmp(s->pri, preface, s->pri_have) != 0) {
		s->pri_collecting = false;
		s->skip = UINT64_MAX; /* lost the framing: nghttp2 refuses these bytes anyway */
		*rc = feed(s, s->pri, s->pri_have);
	} else if (s->pri_have == PREFACE_LEN) {
		s->pri_collecting = false;
		*rc = restart(s);
	}
	return k;
}

int h2_session_recv(struct h2_session *s, const uint8_t *data, size_t n)
{
	size_t k;
	int rc = 0;

	while (n > 0 && rc == 0 && s->ng) {
		if (s->pri_collecting) {
			k = collect_preface(s, data, n, &rc);
		} else if (s->magic_left || s->skip) {
			uint64_t left = s->magic_left ? s->magic_left : s->skip;

			k = left < n ? (size_t)left : n;
			if (s->magic_left)
				s->magic_left -= k;
			else if (s->skip != UINT64_MAX)
				s->skip -= k;
			rc = feed(s, data, k);
		} else if (s->fh_have == 0 && data[0] == 'P') {
			s->pri_collecting = true;
			s->pri_have = 0;
			continue;
		} else {
			k = 9 - s->fh_have < n ? 9 - s->fh_have : n;
			memcpy(s->fh + s->fh_have, data, k);
			s->fh_have += k;
			if (s->fh_have == 9) {
				s->skip = (uint64_t)s->fh[0] << 16 | (uint64_t)s->fh[1] << 8 | s->fh[2];
				s->fh_have = 0;
			}
			rc = feed(s, data, k);
		}
		data += k;
		n -= k;
	}
	return rc;
}

ssize_t h2_session_send(struct h2_session *s, const uint8_t **out)
{
	ssize_t n;

	if (s->carry_out) {
		s->carry_out = false;
		*out = (const uint8_t *)s->carry.data;
		return (ssize_t)s->carry.len;
	}
	buf_reset(&s->carry);
	if (!s->ng)
		return 0;
	if ((n = nghttp2_session_mem_send(s->ng, out)) < 0) {
		log_warn("%s: HTTP/2 error towards %s: %s", s->h->name, s->peer, nghttp2_strerror((int)n));
		return -1;
	}
	return n;
}

bool h2_session_want_read(const struct h2_session *s)
{
	return s->ng && !s->kill && nghttp2_session_want_read(s->ng);
}

bool h2_session_active(const struct h2_session *s)
{
	return s->carry_out || (s->ng && (nghttp2_session_want_read(s->ng) || nghttp2_session_want_write(s->ng)));
}

bool h2_session_idle(const struct h2_session *s)
{
	return s->nstreams == 0;
}

void h2_session_wake(struct h2_session *s)
{
	struct h2_stream *list, *st, *next;

	pthread_mutex_lock(&s->mu);
	list = s->resumed;
	s->resumed = NULL;
	for (st = list; st; st = st->rnext)
		st->resume_queued = false;
	pthread_mutex_unlock(&s->mu);
	for (st = list; st; st = next) {
		next = st->rnext;
		st->r->suspended = false;
		if (st->closed)
			stream_free(st); /* its client is gone: nothing to answer */
		else
			run(st);
	}
	if (s->any_deferred && s->ng) {
		s->any_deferred = false;
		for (st = s->streams; st; st = st->next) {
			if (st->deferred) {
				st->deferred = false;
				nghttp2_session_resume_data(s->ng, st->id);
			}
		}
	}
}

void h2_session_timers(struct h2_session *s)
{
	int64_t now = httpd_now_ms();
	struct h2_stream *st, *next;

	for (st = s->streams; st; st = next) {
		next = st->next;
		if (!st->closed && st->r->route && httpd_req_too_slow(st->r, now)) {
			refuse_note(s->h->name, s->peer, REFUSE_TIMEOUT, "%llu bytes of the request body in %.1f s (at least %d bytes/s after %d s, "
				    "and a byte every %d s)", (unsigned long long)atomic_load(&st->r->body_got),
				    (double)(now - st->r->body_start_ms) / 1000, HTTPD_BODY_MIN_RATE, HTTPD_BODY_GRACE, HTTPD_BODY_STALL);
			atomic_store(&st->r->timed_out, true);
			httpd_req_release_budget(st->r);
			buf_free(&st->r->body);
			st->early = true; /* answer 408 now, then reset: the client stops sending */
			run(st);
		}
	}
}

void h2_session_drain(struct h2_session *s, bool final)
{
	if (!s->ng)
		return;
	if (!s->draining) {
		nghttp2_submit_shutdown_notice(s->ng);
		s->draining = true;
	}
	if (final && !s->final_sent) {
		nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->ng),
				      NGHTTP2_NO_ERROR, NULL, 0);
		s->final_sent = true;
	}
}

void h2_session_goaway(struct h2_session *s)
{
	if (s->ng && !s->final_sent) {
		log_debug("%s: HTTP/2 connection from %s idle: GOAWAY", s->h->name, s->peer);
		s->draining = true;
		h2_session_drain(s, true);
	}
}

bool h2_session_close(struct h2_session *s)
{
	struct h2_stream *st, *next;

	s->dead = true;
	if (s->ng) {
		nghttp2_session_del(s->ng);
		s->ng = NULL;
	}
	for (st = s->streams; st; st = next) {
		next = st->next;
		st->closed = true;
		release_closed(st);
	}
	return s->nstreams == 0;
}

void h2_session_free(struct h2_session *s)
{
	if (!s)
		return;
	h2_session_close(s);
	while (s->streams)
		stream_free(s->streams);
	pthread_mutex_lock(&s->mu); /* a last h2_resume may still hold it */
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_destroy(&s->mu);
	buf_free(&s->carry);
	free(s);
}
