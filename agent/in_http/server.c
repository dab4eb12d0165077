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
#include "log.h"
#include "refuse.h"

struct http_input {
	struct httpd *srv;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Tag from the path: without the leading '/', every byte outside [A-Za-z0-9_.] -> '_'. */
static void tag_from_path(const char *path, const char *def, char *out, size_t n)
{
	size_t i, o = 0;

	while (*path == '/')
		path++;
	if (!*path) {
		snprintf(out, n, "%s", def);
		return;
	}
	for (i = 0; path[i] && o + 1 < n; i++) {
		char c = path[i];

		out[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '_' || c == '.') ? c : '_';
	}
	out[o] = '\0';
}

static enum MHD_Result reply_ok(struct input_instance *in, struct httpd_req *r)
{
	struct httpd_resp *resp = httpd_resp_buffer("", 0, false);
	size_t i;

	if (!resp)
		return MHD_NO;
	for (i = 0; i < in->conf.success_header.n; i++) {
		char name[128];
		const char *h = in->conf.success_header.v[i], *sp = strchr(h, ' ');

		if (!sp || (size_t)(sp - h) >= sizeof(name))
			continue;
		memcpy(name, h, (size_t)(sp - h));
		name[sp - h] = '\0';
		while (*sp == ' ')
			sp++;
		httpd_resp_header(resp, name, sp);
	}
	return httpd_queue(r, (unsigned)in->conf.successful_response_code, resp);
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
	tag_from_path(r->path, in->conf.tag && *in->conf.tag ? in->conf.tag : in->name, tag, sizeof(tag));
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
			ret = reply_ok(in, r);
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
	struct http_input *h = calloc(1, sizeof(*h));
	struct httpd_opts o = {
		.name = in->name,
		.addr = in->conf.listen,
		.port = (uint16_t)in->conf.port,
		.body_max = in->conf.buffer_max_size,
		.threads = 2,
		.routes = http_routes,
		.nroutes = 1,
		.ctx = in,
	};
	long long code = in->conf.successful_response_code;
	int rc;

	if (!h)
		return -ENOMEM;
	if (code != 200 && code != 201 && code != 204) {
		snprintf(err, errlen, "%s: successful_response_code must be 200, 201 or 204", in->name);
		free(h);
		return -EINVAL;
	}
	if ((rc = httpd_start(&o, &h->srv, err, errlen)) < 0) {
		free(h);
		return rc;
	}
	in->bound_port = httpd_port(h->srv);
	in->priv = h;
	return 0;
}

static void http_drain(struct input_instance *in)
{
	struct http_input *h = in->priv;

	if (h)
		httpd_drain(h->srv);
}

static void http_stop(struct input_instance *in)
{
	struct http_input *h = in->priv;

	if (!h)
		return;
	httpd_stop(h->srv);
	free(h);
	in->priv = NULL;
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
	{ "threaded", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit threading switch; Vivo inputs always run on their own threads" },
	{ "mem_buf_limit", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit memory buffer limit; Vivo bounds each stream instead" },
	OPT_END,
};

const struct input_plugin input_http = {
	.name = "http",
	.help = "HTTP input: POST JSON, NDJSON, form or msgpack records; the URL path is the tag",
	.opts = http_opts,
	.listens = true,
	.listener = "http",
	.start = http_start,
	.stop = http_stop,
	.drain = http_drain,
};
