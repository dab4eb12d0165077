/* ui.c: serves the embedded, pre-compressed UI page with an ETag; /vivo/{logs,metrics,traces} negotiate page or stream on Accept. */
#include "ui.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "buf.h"
#include "exporter.h"
#include "gz.h"

extern const unsigned char ui_page_gz[];
extern const size_t ui_page_gz_len;
extern const char ui_page_gz_etag[];

/* For the rare client without gzip: inflated once, on first use. */
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;
static struct buf plain;

static void inflate_page(void)
{
	buf_init(&plain, 64 * 1024 * 1024);
	if (gz_inflate(ui_page_gz, ui_page_gz_len, &plain) < 0)
		buf_free(&plain);
}

static enum MHD_Result page(struct httpd_req *r, const char *vary)
{
	const char *ae = httpd_header(r, "Accept-Encoding");
	const char *inm = httpd_header(r, "If-None-Match");
	struct httpd_resp *resp;
	unsigned status = MHD_HTTP_OK;
	bool gzip = ae && strstr(ae, "gzip");

	if (inm && strcmp(inm, ui_page_gz_etag) == 0) {
		resp = httpd_resp_buffer("", 0, false);
		status = MHD_HTTP_NOT_MODIFIED;
	} else if (gzip) {
		resp = httpd_resp_buffer(ui_page_gz, ui_page_gz_len, false);
		if (resp)
			httpd_resp_header(resp, "Content-Encoding", "gzip");
	} else {
		pthread_once(&plain_once, inflate_page);
		if (!plain.data)
			return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "embedded UI is damaged");
		resp = httpd_resp_buffer(plain.data, plain.len, false);
	}
	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
	httpd_resp_header(resp, "ETag", ui_page_gz_etag);
	httpd_resp_header(resp, "Vary", vary);
	httpd_resp_header(resp, "Cache-Control", "no-cache");
	httpd_resp_header(resp, "X-Content-Type-Options", "nosniff");
	return httpd_queue(r, status, resp);
}

static enum MHD_Result h_page(struct httpd_req *r, void *ctx)
{
	return page(r, "Accept-Encoding");
}

/* True when Accept lists text/html (or text/ *) without refusing it with q=0: a browser
 * navigating to the page. fetch() and curl send * / * and get the stream. */
bool ui_accepts_html(const char *accept)
{
	while (accept && *accept) {
		size_t n = strcspn(accept, ",");
		const char *tok = accept, *semi = memchr(accept, ';', n);
		size_t tl = semi ? (size_t)(semi - tok) : n;

		while (tl && (*tok == ' ' || *tok == '\t'))
			tok++, tl--;
		while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
			tl--;
		if ((tl == 9 && strncasecmp(tok, "text/html", 9) == 0) || (tl == 6 && strncasecmp(tok, "text/*", 6) == 0)) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			if (!q || q > accept + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		accept += n;
		if (*accept == ',')
			accept++;
	}
	return false;
}

/* /vivo/logs, /vivo/metrics, /vivo/traces: the UI's page routes for a browser, and what
 * the original Vivo frontend fetches (GET /vivo/logs?from=N on the UI's origin) for
 * everyone else: the exporter's legacy answer, headers included. */
static enum MHD_Result negotiate(struct httpd_req *r, void *ctx, enum stream_kind k)
{
	if (strcmp(r->method, "OPTIONS") != 0 && ui_accepts_html(httpd_header(r, "Accept")))
		return page(r, "Accept, Accept-Encoding");
	return exporter_serve_legacy(ctx, r, k);
}

static enum MHD_Result h_vivo_logs(struct httpd_req *r, void *ctx) { return negotiate(r, ctx, STREAM_LOGS); }
static enum MHD_Result h_vivo_metrics(struct httpd_req *r, void *ctx) { return negotiate(r, ctx, STREAM_METRICS); }
static enum MHD_Result h_vivo_traces(struct httpd_req *r, void *ctx) { return negotiate(r, ctx, STREAM_TRACES); }

#define NEGOTIATED(path, fn) { "GET", path, fn }, { "HEAD", path, fn }, { "OPTIONS", path, fn }

const struct httpd_route ui_routes[] = {
	{ "GET", "/", h_page }, { "HEAD", "/", h_page },
	{ "GET", "/index.html", h_page }, { "HEAD", "/index.html", h_page },
	{ "GET", "/vivo", h_page }, { "GET", "/vivo/", h_page },
	NEGOTIATED("/vivo/logs", h_vivo_logs),
	NEGOTIATED("/vivo/metrics", h_vivo_metrics),
	NEGOTIATED("/vivo/traces", h_vivo_traces),
};
const size_t ui_nroutes = sizeof(ui_routes) / sizeof(ui_routes[0]);
