/* in_http/server.c: the HTTP input (spec agent.md 4.2): POST records, one request = one chunk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "body.h"
#include "decompress.h"
#include "httpd.h"
#include "input.h"
#include "input_httpd.h"
#include "log.h"
#include "refuse.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static enum MHD_Result h_post(struct httpd_req *r, void *ctx)
{
	struct input_instance *in = ctx;
	const char *enc = httpd_header(r, "Content-Encoding");
	const char *body = r->body.data ? r->body.data : "";
	size_t n = r->body.len;
	struct chunk_builder cb;
	enum dc_codec codec;
	struct buf plain;
	char tag[256], err[256];
	enum MHD_Result ret;
	int rc;

	buf_init(&plain, in->conf.buffer_max_size);
	atomic_fetch_add(&in->stats.bytes, n);
	if (httpd_header(r, "X-Prometheus-Remote-Write-Version")) {
		refuse_note(in->name, r->peer, REFUSE_PROTOCOL, "a Prometheus remote-write request on the http input");
		return httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "this is the http input; send Prometheus remote write to a "
					 "prometheus_remote_write input's port");
	}
	if (dc_codec_parse(enc, &codec) < 0) {
		refuse_note(in->name, r->peer, REFUSE_ENCODING, "unsupported Content-Encoding '%.40s'", enc);
		return httpd_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
					 "unsupported Content-Encoding '%.40s': use %s", enc, dc_supported());
	}
	if (codec != DC_IDENTITY) {
		rc = dc_decode(codec, body, n, in->conf.buffer_max_size, &plain, err, sizeof(err));
		if (rc < 0) {
			buf_free(&plain);
			refuse_note(in->name, r->peer, rc == -ENOSPC ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST, "%s body: %s",
				    dc_codec_name(codec), err);
			return httpd_reply_error(r, rc == -ENOSPC ? MHD_HTTP_CONTENT_TOO_LARGE
					       : rc == -ENOMEM ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST,
						 "%s", rc == -ENOMEM ? "out of memory" : err);
		}
		body = plain.data ? plain.data : "";
		n = plain.len;
	}
	input_httpd_tag_from_path(r->path, in->conf.tag && *in->conf.tag ? in->conf.tag : in->name, tag, sizeof(tag));
	/* Rendered JSON can be larger than its msgpack or form source: allow for it. */
	if (chunk_builder_init(&cb, STREAM_LOGS, tag, in->plugin->name, in->name,
			       4 * (size_t)in->conf.buffer_max_size + 65536) < 0) {
		buf_free(&plain);
		return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	rc = http_body_decode(httpd_header(r, "Content-Type"), body, n, now_ns(),
			      in->conf.time_key, &cb, err, sizeof(err));
	if (rc == 0) {
		uint32_t records = cb.records;

		if ((rc = input_emit(in, &cb)) == 0) {
			atomic_fetch_add(&in->stats.records, records);
			ret = input_httpd_reply_ok(in, r);
			goto out;
		}
		snprintf(err, sizeof(err), "cannot store the records");
	}
	if (rc == -ENOSPC) {
		refuse_note(in->name, r->peer, REFUSE_TOO_LARGE, "records are over the chunk limit");
		ret = httpd_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "records are over the limit");
	} else if (rc == -ENOMEM) {
		atomic_fetch_add(&in->stats.errors, 1);
		ret = httpd_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	} else {
		refuse_note(in->name, r->peer, rc == -EPROTO ? REFUSE_CTYPE : REFUSE_BAD_REQUEST, "%s", err);
		ret = httpd_reply_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	}
out:
	chunk_builder_free(&cb);
	buf_free(&plain);
	return ret;
}

static const struct httpd_route http_routes[] = {
	{ "POST", "*", h_post },
};

static int http_start(struct input_instance *in, char *err, size_t errlen)
{
	struct httpd_opts o = input_httpd_opts(in, http_routes, sizeof(http_routes) / sizeof(http_routes[0]));
	int rc;

	if ((rc = input_httpd_check_code(in, err, errlen)) < 0)
		return rc;
	return input_httpd_start(in, &o, NULL, NULL, err, errlen);
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def http_opts[] = {
	{ "name", OPT_STRING, "http", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag for requests to / (default: the instance name, http.1 in the default pipeline); other paths are their own tag" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name in metrics and the v1 source_name" },
	{ "listen", OPT_STRING, NULL, 0, 0, OFF(listen), "address to bind (default: the agent's --listen)" },
	{ "port", OPT_INT, "9010", 0, 65535, OFF(port), "TCP port (0 = ephemeral)" },
	{ "buffer_max_size", OPT_SIZE, "4M", 1, 1000000000, OFF(buffer_max_size), "largest request body, also after gzip, zstd or snappy (413 above)" },
	{ "buffer_chunk_size", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit read size; Vivo sizes reads itself" },
	{ "successful_response_code", OPT_INT, "201", 200, 204, OFF(successful_response_code), "status on success: 200, 201 or 204" },
	{ "success_header", OPT_LIST, NULL, 0, 0, OFF(success_header), "'Name value' header added to successful responses (repeatable)" },
	{ "time_key", OPT_STRING, NULL, 0, 0, OFF(time_key), "record field holding the time (seconds or RFC 3339)" },
	OPT_END,
};

const struct input_plugin input_http = {
	.name = "http",
	.help = "HTTP input: POST JSON, NDJSON, form or msgpack records; the URL path is the tag",
	.opts = http_opts,
	.listens = true,
	.listener = "http",
	.start = http_start,
	.stop = input_httpd_stop,
	.drain = input_httpd_drain,
};
