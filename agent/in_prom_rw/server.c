/* in_prom_rw/server.c: the prometheus_remote_write input (Fluent Bit's plugin name and keys): POST remote write 1.0 requests, one request = one metrics chunk, all or nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "decompress.h"
#include "httpd.h"
#include "input.h"
#include "input_httpd.h"
#include "log.h"
#include "refuse.h"
#include "meta.h"

/* Metric families whose metadata is remembered across requests. */
#define PRW_META_CACHE_MAX 10000

/* Remote write 2.0 names its message in the Content-Type (proto=io.prometheus.write.v2.Request). */
static bool is_v2(const char *ctype)
{
	return ctype && strstr(ctype, "io.prometheus.write.v2") != NULL;
}

static enum MHD_Result refuse(struct input_instance *in, struct httpd_req *r, int rc, const char *err)
{
	unsigned status = rc == -ENOSPC ? MHD_HTTP_CONTENT_TOO_LARGE
			  : rc == -ENOMEM ? MHD_HTTP_SERVICE_UNAVAILABLE
			  : rc == -ENOTSUP ? MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
			  : MHD_HTTP_BAD_REQUEST;

	if (rc == -ENOMEM)
		atomic_fetch_add(&in->stats.errors, 1);
	else
		refuse_note(in->name, r->peer, rc == -ENOSPC ? REFUSE_TOO_LARGE : rc == -ENOTSUP ? REFUSE_ENCODING : REFUSE_BAD_REQUEST,
			    "remote write request: %s", err);
	return httpd_reply_error(r, status, "%s", rc == -ENOMEM ? "out of memory" : err);
}

static enum MHD_Result h_push(struct httpd_req *r, void *ctx)
{
	struct input_instance *in = ctx;
	struct prw_meta_cache *meta = input_httpd_state(in);
	const char *body = r->body.data ? r->body.data : "";
	size_t n = r->body.len;
	struct chunk_builder cb;
	enum dc_codec codec;
	struct buf plain;
	uint64_t samples = 0;
	char tag[256], err[320];
	enum MHD_Result ret;
	int rc;

	atomic_fetch_add(&in->stats.bytes, n);
	if (in->conf.uri && *in->conf.uri && strcmp(r->path, in->conf.uri) != 0) {
		refuse_note(in->name, r->peer, REFUSE_NOT_FOUND, "POST %.100s: the remote write endpoint is %.100s", r->path,
			    in->conf.uri);
		return httpd_reply_error(r, MHD_HTTP_NOT_FOUND, "no remote write endpoint here: POST to %.100s",
					 in->conf.uri);
	}
	if (is_v2(httpd_header(r, "Content-Type")))
		return refuse(in, r, -ENOTSUP, "remote write 2.0 (io.prometheus.write.v2.Request) is not supported: send 1.0");
	if (dc_codec_parse(httpd_header(r, "Content-Encoding"), &codec) < 0) {
		snprintf(err, sizeof(err), "unsupported Content-Encoding '%.40s': use snappy (or %s)",
			 httpd_header(r, "Content-Encoding"), dc_supported());
		return refuse(in, r, -ENOTSUP, err);
	}
	if (n == 0)
		return refuse(in, r, -EINVAL, "empty body: a remote write request is a snappy-compressed WriteRequest");
	buf_init(&plain, in->conf.buffer_max_size);
	if (codec != DC_IDENTITY) {
		if ((rc = dc_decode(codec, body, n, in->conf.buffer_max_size, &plain, err, sizeof(err))) < 0) {
			buf_free(&plain);
			return refuse(in, r, rc, err);
		}
		body = plain.data ? plain.data : "";
		n = plain.len;
	}
	if (in->conf.tag_from_uri)
		input_httpd_tag_from_path(r->path, in->name, tag, sizeof(tag));
	else
		snprintf(tag, sizeof(tag), "%s", in->conf.tag && *in->conf.tag ? in->conf.tag : in->name);
	/* Rendered JSON repeats label values per sample: allow for it. */
	if (chunk_builder_init(&cb, STREAM_METRICS, tag, in->plugin->name, in->name,
			       8 * (size_t)in->conf.buffer_max_size + 65536) < 0) {
		buf_free(&plain);
		return refuse(in, r, -ENOMEM, "out of memory");
	}
	rc = prw_decode(body, n, meta, &cb, &samples, err, sizeof(err));
	if (rc == 0 && cb.records > 0 && (rc = input_emit(in, &cb)) < 0)
		snprintf(err, sizeof(err), "cannot store the metrics");
	if (rc == 0) {
		atomic_fetch_add(&in->stats.records, samples);
		ret = input_httpd_reply_ok(in, r);
	} else {
		ret = refuse(in, r, rc, err);
	}
	chunk_builder_free(&cb);
	buf_free(&plain);
	return ret;
}

static const struct httpd_route prw_routes[] = {
	{ "POST", "*", h_push },
};

static void meta_free(void *meta)
{
	prw_meta_cache_free(meta);
}

static int prw_start(struct input_instance *in, char *err, size_t errlen)
{
	struct httpd_opts o = input_httpd_opts(in, prw_routes, sizeof(prw_routes) / sizeof(prw_routes[0]));
	struct prw_meta_cache *meta;
	int rc;

	if ((rc = input_httpd_check_code(in, err, errlen)) < 0)
		return rc;
	if (in->conf.uri && *in->conf.uri && in->conf.uri[0] != '/') {
		snprintf(err, errlen, "%s: uri must start with '/' (got '%s')", in->name, in->conf.uri);
		return -EINVAL;
	}
	if (!(meta = prw_meta_cache_new(PRW_META_CACHE_MAX)))
		return -ENOMEM;
	return input_httpd_start(in, &o, meta, meta_free, err, errlen);
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def prw_opts[] = {
	{ "name", OPT_STRING, "prometheus_remote_write", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag when tag_from_uri is off (default: the instance name)" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name in metrics and the v1 source_name" },
	{ "listen", OPT_STRING, NULL, 0, 0, OFF(listen), "address to bind (default: the agent's --listen)" },
	{ "port", OPT_INT, "8080", 0, 65535, OFF(port), "TCP port (0 = ephemeral)" },
	{ "uri", OPT_STRING, NULL, 0, 0, OFF(uri), "the one path that takes requests, e.g. /api/prom/push (404 elsewhere; default: any)" },
	{ "tag_from_uri", OPT_BOOL, "on", 0, 0, OFF(tag_from_uri), "tag from the path (/api/prom/push -> api_prom_push) instead of `tag`" },
	{ "buffer_max_size", OPT_SIZE, "4M", 1, 1000000000, OFF(buffer_max_size), "largest request body, also after snappy, gzip or zstd (413 above)" },
	{ "successful_response_code", OPT_INT, "201", 200, 204, OFF(successful_response_code), "status on success: 200, 201 or 204" },
	{ "buffer_chunk_size", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit read size; Vivo sizes reads itself" },
	{ "http2", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect (HTTP/1.1)" },
	OPT_END,
};

const struct input_plugin input_prometheus_remote_write = {
	.name = "prometheus_remote_write",
	.help = "Prometheus remote write 1.0 input: POST snappy-compressed WriteRequests (samples, exemplars, native histograms)",
	.opts = prw_opts,
	.listens = true,
	.listener = "prom_rw",
	.opt_in = true,
	.start = prw_start,
	.stop = input_httpd_stop,
	.drain = input_httpd_drain,
};
