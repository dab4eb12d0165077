/* ui.c: serves the embedded, pre-compressed UI page with an ETag. */
#include "ui.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
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

static enum MHD_Result h_page(struct httpd_req *r, void *ctx)
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
	httpd_resp_header(resp, "Vary", "Accept-Encoding");
	httpd_resp_header(resp, "Cache-Control", "no-cache");
	httpd_resp_header(resp, "X-Content-Type-Options", "nosniff");
	return httpd_queue(r, status, resp);
}

const struct httpd_route ui_routes[] = {
	{ "GET", "/", h_page }, { "HEAD", "/", h_page },
	{ "GET", "/index.html", h_page }, { "HEAD", "/index.html", h_page },
	{ "GET", "/vivo", h_page }, { "GET", "/vivo/", h_page },
	{ "GET", "/vivo/logs", h_page }, { "GET", "/vivo/metrics", h_page }, { "GET", "/vivo/traces", h_page },
};
const size_t ui_nroutes = sizeof(ui_routes) / sizeof(ui_routes[0]);
