/* h2_resp.c: HTTP/2 responses: HEADERS, DATA from a buffer or a reader (deferred while the
 * reader has nothing yet), trailers (gRPC status). */
#include "h2_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "listener.h"

static int submit_trailers(struct h2_stream *st)
{
	const struct httpd_fields *f = &st->resp->trailers;
	nghttp2_nv *nva = calloc(f->n ? f->n : 1, sizeof(*nva));
	const char *name, *value;
	size_t off = 0, n = 0;
	int rv;

	if (!nva)
		return -ENOMEM;
	while ((name = httpd_fields_next(f, &off, &value))) {
		nva[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
					 NGHTTP2_NV_FLAG_NONE };
	}
	rv = nghttp2_submit_trailer(st->s->ng, st->id, nva, n);
	free(nva);
	return rv == 0 ? 0 : -EIO;
}

static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	struct httpd_resp *resp = st->resp;
	ssize_t n;
	bool eof = false;

	(void)ng;
	(void)id;
	(void)ud;
	if (!resp->fn) {
		n = (ssize_t)(resp->len - st->pos < len ? resp->len - st->pos : len);
		memcpy(buf, resp->data + st->pos, (size_t)n);
		eof = st->pos + (size_t)n == resp->len;
	} else if (resp->total != HTTPD_SIZE_UNKNOWN && st->pos >= resp->total) {
		n = 0;
		eof = true;
	} else {
		if (resp->total != HTTPD_SIZE_UNKNOWN && resp->total - st->pos < len)
			len = (size_t)(resp->total - st->pos);
		n = resp->fn(resp->cls, st->pos, (char *)buf, len);
		if (n == HTTPD_READER_END) {
			n = 0;
			eof = true;
		} else if (n < 0) {
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		} else if (n == 0) {
			st->deferred = st->s->any_deferred = true;
			lsn_conn_wake(st->s->c);
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	st->pos += (uint64_t)n;
	if (eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (resp->trailers.n) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (submit_trailers(st) < 0)
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
	}
	return n;
}

static bool hop_by_hop(const char *name)
{
	return strcasecmp(name, "connection") == 0 || strcasecmp(name, "keep-alive") == 0 ||
	       strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "upgrade") == 0 ||
	       strcasecmp(name, "proxy-connection") == 0;
}

enum MHD_Result h2_queue(struct httpd_req *r, unsigned status, struct httpd_resp *resp)
{
	struct h2_stream *st = r->h2;
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = data_read };
	nghttp2_nv *nva;
	const char *name, *value;
	char code[8], clen[24];
	size_t off = 0, n = 0;
	bool body, has_len = false;
	int rv;

	if (st->closed || !st->s->ng || st->resp) {
		httpd_resp_free(resp); /* nobody to answer, or answered already */
		return st->resp ? MHD_NO : MHD_YES;
	}
	if (!(nva = calloc(resp->headers.n + 2, sizeof(*nva)))) {
		httpd_resp_free(resp);
		return MHD_NO;
	}
	snprintf(code, sizeof(code), "%03u", status % 1000);
	nva[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, strlen(code), NGHTTP2_NV_FLAG_NONE };
	while ((name = httpd_fields_next(&resp->headers, &off, &value))) {
		if (hop_by_hop(name))
			continue;
		has_len |= strcasecmp(name, "content-length") == 0;
		nva[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
					 NGHTTP2_NV_FLAG_NONE };
	}
	if (!has_len && !resp->fn && !resp->trailers.n && status != 204 && status != 304) {
		snprintf(clen, sizeof(clen), "%zu", resp->len);
		nva[n++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen),
					 NGHTTP2_NV_FLAG_NONE };
	}
	body = strcmp(r->method, "HEAD") != 0 && status != 204 && status != 304 &&
	       (resp->fn || resp->len > 0 || resp->trailers.n > 0);
	st->resp = resp;
	st->pos = 0;
	rv = nghttp2_submit_response(st->s->ng, st->id, nva, n, body ? &prd : NULL);
	free(nva);
	if (rv != 0) {
		st->resp = NULL;
		httpd_resp_free(resp);
		return MHD_NO;
	}
	return MHD_YES;
}

