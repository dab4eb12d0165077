/* in_otlp/server.c: the OTLP input (spec agent.md 4.3): POST /v1/{logs,metrics,traces} in
 * protobuf or JSON over HTTP/1.1 or HTTP/2, and OTLP/gRPC (grpc.c) on the same routes and on
 * grpc_port; one export request = one chunk per signal, all or nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "decompress.h"
#include "httpd.h"
#include "input.h"
#include "input_httpd.h"
#include "log.h"
#include "refuse.h"
#include "mpjson.h"
#include "decode.h"
#include "ingest.h"

/* google.rpc.Code values used in error replies. */
enum { RPC_INVALID_ARGUMENT = 3, RPC_RESOURCE_EXHAUSTED = 8, RPC_INTERNAL = 13 };

const char *const otlp_signal_names[] = { "logs", "metrics", "traces" };
#define signal_names otlp_signal_names
static const char *const signal_tags[] = { "v1_logs", "v1_metrics", "v1_traces" };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The media type of a Content-Type value (parameters and case ignored). 0 or -1. */
static int parse_ctype(const char *ct, enum otlp_format *fmt)
{
	size_t n;

	if (!ct)
		return -1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if ((n == 22 && strncasecmp(ct, "application/x-protobuf", n) == 0) ||
	    (n == 20 && strncasecmp(ct, "application/protobuf", n) == 0)) {
		*fmt = OTLP_PROTOBUF;
		return 0;
	}
	if (n == 16 && strncasecmp(ct, "application/json", n) == 0) {
		*fmt = OTLP_JSON;
		return 0;
	}
	return -1;
}

static int put_varint(char *p, uint64_t v)
{
	int n = 0;

	while (v >= 0x80) {
		p[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (char)v;
	return n;
}

/* An error as google.rpc.Status: protobuf {code=1, message=2} or JSON {"code","message"}. */
static enum MHD_Result reply_status(struct httpd_req *r, unsigned http, int code, enum otlp_format fmt,
				    const char *msg)
{
	size_t len = strlen(msg);
	enum MHD_Result ret;
	struct buf b;

	buf_init(&b, 4096);
	if (fmt == OTLP_PROTOBUF) {
		char hdr[16];
		int n = 0;

		if (len > 1024)
			len = 1024;
		hdr[n++] = 0x08;
		n += put_varint(hdr + n, (uint64_t)code);
		hdr[n++] = 0x12;
		n += put_varint(hdr + n, len);
		if (buf_append(&b, hdr, (size_t)n) < 0 || buf_append(&b, msg, len) < 0) {
			buf_free(&b);
			return MHD_NO;
		}
	} else if (buf_printf(&b, "{\"code\":%d,\"message\":", code) < 0 || mpjson_put_string(&b, msg, len) < 0 ||
		   buf_putc(&b, '}') < 0) {
		buf_free(&b);
		return MHD_NO;
	}
	ret = httpd_reply(r, http, fmt == OTLP_PROTOBUF ? "application/x-protobuf" : "application/json",
			  b.data ? b.data : "", b.len);
	buf_free(&b);
	return ret;
}

/* The body the decoder reads: r's, or decoded into `plain` (bounded by buffer_max_size) when
 * it has a Content-Encoding. 0 with *body and *n set, or -1 with the refusal already answered
 * in *ret. */
static int plain_body(struct httpd_req *r, struct input_instance *in, enum otlp_format fmt, struct buf *plain,
		      const char **body, size_t *n, enum MHD_Result *ret)
{
	enum dc_codec codec;
	char msg[400];
	int rc;

	if (dc_codec_parse(httpd_header(r, "Content-Encoding"), &codec) < 0) {
		refuse_note(in->name, r->peer, REFUSE_ENCODING, "unsupported Content-Encoding '%.40s'",
			    httpd_header(r, "Content-Encoding"));
		snprintf(msg, sizeof(msg), "unsupported Content-Encoding: use %s", dc_supported());
		*ret = reply_status(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, RPC_INVALID_ARGUMENT, fmt, msg);
		return -1;
	}
	if (codec == DC_IDENTITY)
		return 0;
	rc = dc_decode(codec, *body, *n, in->conf.buffer_max_size, plain, msg, sizeof(msg));
	if (rc == 0) {
		*body = plain->data ? plain->data : "";
		*n = plain->len;
		return 0;
	}
	if (rc != -ENOMEM)
		refuse_note(in->name, r->peer, rc == -ENOSPC ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST, "%s body: %s",
			    dc_codec_name(codec), msg);
	else
		atomic_fetch_add(&in->stats.errors, 1);
	if (rc == -ENOSPC)
		*ret = reply_status(r, MHD_HTTP_CONTENT_TOO_LARGE, RPC_RESOURCE_EXHAUSTED, fmt, msg);
	else if (rc == -ENOMEM)
		*ret = reply_status(r, MHD_HTTP_SERVICE_UNAVAILABLE, RPC_INTERNAL, fmt, "out of memory");
	else
		*ret = reply_status(r, MHD_HTTP_BAD_REQUEST, RPC_INVALID_ARGUMENT, fmt, msg);
	return -1;
}

/* The answer to a request that otlp_decode or the store refused (rc), logged with the peer. */
static enum MHD_Result reply_refused(struct httpd_req *r, struct input_instance *in, enum otlp_signal sig,
				     enum otlp_format fmt, int rc, const char *err)
{
	char msg[400];

	if (rc == -ENOSPC) {
		refuse_note(in->name, r->peer, REFUSE_TOO_LARGE, "%s are over the chunk limit", signal_names[sig]);
		return reply_status(r, MHD_HTTP_CONTENT_TOO_LARGE, RPC_RESOURCE_EXHAUSTED, fmt,
				    "the decoded request is over the limit");
	}
	if (rc == -ENOMEM) {
		atomic_fetch_add(&in->stats.errors, 1);
		return reply_status(r, MHD_HTTP_SERVICE_UNAVAILABLE, RPC_INTERNAL, fmt, "out of memory");
	}
	refuse_note(in->name, r->peer, REFUSE_BAD_REQUEST, "%s request: %s", signal_names[sig], err);
	snprintf(msg, sizeof(msg), "invalid %s request: %s", fmt == OTLP_JSON ? "JSON" : "protobuf", err);
	return reply_status(r, MHD_HTTP_BAD_REQUEST, RPC_INVALID_ARGUMENT, fmt, msg);
}

int otlp_ingest(struct input_instance *in, enum otlp_signal sig, enum otlp_format fmt, const char *body,
		size_t n, uint64_t *records, char *err, size_t errlen)
{
	struct chunk_builder cb;
	const char *tag;
	int rc;

	*records = 0;
	if (in->conf.tag_from_uri)
		tag = signal_tags[sig];
	else
		tag = in->conf.tag && *in->conf.tag ? in->conf.tag : in->name;
	/* Rendered JSON is larger than protobuf (hex IDs, key names): allow for it. */
	if (chunk_builder_init(&cb, otlp_stream(sig), tag, in->plugin->name, in->name,
			       8 * (size_t)in->conf.buffer_max_size + 65536) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	err[0] = '\0';
	rc = otlp_decode(sig, fmt, body, n, now_ns(), &cb, records, err, errlen);
	if (rc == 0 && cb.records > 0 && (rc = input_emit(in, &cb)) < 0)
		snprintf(err, errlen, "cannot store the records");
	if (rc == 0)
		atomic_fetch_add(&in->stats.records, *records);
	chunk_builder_free(&cb);
	return rc;
}

static enum MHD_Result handle(struct httpd_req *r, struct input_instance *in, enum otlp_signal sig)
{
	const char *ctype = httpd_header(r, "Content-Type");
	const char *body = r->body.data ? r->body.data : "";
	size_t n = r->body.len;
	enum otlp_format fmt = OTLP_JSON;
	struct buf plain;
	uint64_t records = 0;
	char err[300];
	enum MHD_Result ret;
	int rc;

	atomic_fetch_add(&in->stats.bytes, n);
	if (parse_ctype(ctype, &fmt) < 0) {
		refuse_note(in->name, r->peer, REFUSE_CTYPE, "%s request with unsupported Content-Type '%.60s'",
			    signal_names[sig], ctype ? ctype : "");
		return reply_status(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, RPC_INVALID_ARGUMENT, OTLP_JSON,
				    "unsupported Content-Type: use application/x-protobuf or application/json");
	}
	buf_init(&plain, in->conf.buffer_max_size);
	if (plain_body(r, in, fmt, &plain, &body, &n, &ret) < 0) {
		buf_free(&plain);
		return ret;
	}
	rc = otlp_ingest(in, sig, fmt, body, n, &records, err, sizeof(err));
	buf_free(&plain);
	if (rc == 0)
		return fmt == OTLP_PROTOBUF ? httpd_reply(r, MHD_HTTP_OK, "application/x-protobuf", "", 0)
					    : httpd_reply(r, MHD_HTTP_OK, "application/json", "{}", 2);
	return reply_refused(r, in, sig, fmt, rc, err);
}

static enum MHD_Result h_logs(struct httpd_req *r, void *ctx)
{
	return handle(r, ctx, OTLP_LOGS);
}

static enum MHD_Result h_metrics(struct httpd_req *r, void *ctx)
{
	return handle(r, ctx, OTLP_METRICS);
}

static enum MHD_Result h_traces(struct httpd_req *r, void *ctx)
{
	return handle(r, ctx, OTLP_TRACES);
}

static const struct httpd_route otlp_routes[] = {
	{ "POST", "/v1/logs", h_logs },
	{ "POST", "/v1/metrics", h_metrics },
	{ "POST", "/v1/traces", h_traces },
	{ "POST", OTLP_GRPC_LOGS, otlp_grpc_logs },
	{ "POST", OTLP_GRPC_METRICS, otlp_grpc_metrics },
	{ "POST", OTLP_GRPC_TRACES, otlp_grpc_traces },
};

static int otlp_start(struct input_instance *in, char *err, size_t errlen)
{
	struct httpd_opts ho = input_httpd_opts(in, otlp_routes, sizeof(otlp_routes) / sizeof(otlp_routes[0]));
	int rc;

	if (in->conf.tls) {
		ho.tls_crt_file = in->conf.tls_crt_file ? in->conf.tls_crt_file : "";
		ho.tls_key_file = in->conf.tls_key_file ? in->conf.tls_key_file : "";
	}
	if ((rc = input_httpd_start(in, &ho, NULL, NULL, err, errlen)) < 0)
		return rc;
	/* The gRPC port is the same server again on its own port (OTLP/gRPC clients use 4317);
	 * the same number as `port` means the one listener serves both. */
	if (in->conf.grpc_port >= 0 && (in->conf.grpc_port != in->conf.port || in->conf.port == 0)) {
		ho.port = (uint16_t)in->conf.grpc_port;
		if ((rc = input_httpd_start2(in, &ho, err, errlen)) < 0) {
			input_httpd_stop(in);
			return rc;
		}
	}
	return 0;
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def otlp_opts[] = {
	{ "name", OPT_STRING, "opentelemetry", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "tag when tag_from_uri is off (default: the instance name)" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name in metrics and the v1 source_name" },
	{ "listen", OPT_STRING, NULL, 0, 0, OFF(listen), "address to bind (default: the agent's --listen)" },
	{ "port", OPT_INT, "4318", 0, 65535, OFF(port), "TCP port: OTLP/HTTP, h2c and gRPC (0 = ephemeral)" },
	{ "grpc_port", OPT_INT, "4317", -1, 65535, OFF(grpc_port), "OTLP/gRPC port (Vivo; also serves OTLP/HTTP; -1 = none, 0 = ephemeral)" },
	{ "buffer_max_size", OPT_SIZE, "4M", 1, 1000000000, OFF(buffer_max_size), "largest request body, also after gzip, zstd or snappy (413 above)" },
	{ "tag_from_uri", OPT_BOOL, "on", 0, 0, OFF(tag_from_uri), "tag records v1_logs, v1_metrics, v1_traces after the URI" },
	{ "buffer_chunk_size", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit read size; Vivo sizes reads itself" },
	{ "successful_response_code", OPT_COMPAT, NULL, 0, 0, 0, "OTLP answers 200 with an empty Export*ServiceResponse" },
	{ "raw_traces", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "tag_key", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "logs_metadata_key", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect (metadata is under \"otlp\")" },
	{ "logs_body_key", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect" },
	{ "http2", OPT_COMPAT, NULL, 0, 0, 0, "accepted, no effect (HTTP/1.1 and HTTP/2 are always served)" },
	{ "tls", OPT_BOOL, "off", 0, 0, OFF(tls), "accept TLS connections only (h2 by ALPN, else HTTP/1.1), on both ports" },
	{ "tls.crt_file", OPT_STRING, NULL, 0, 0, OFF(tls_crt_file), "TLS certificate (chain), PEM" },
	{ "tls.key_file", OPT_STRING, NULL, 0, 0, OFF(tls_key_file), "TLS private key, PEM" },
	{ "tls.verify", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit client-side switch; this server asks no client certificate" },
	OPT_END,
};

const struct input_plugin input_opentelemetry = {
	.name = "opentelemetry",
	.help = "OTLP input: POST /v1/logs, /v1/metrics, /v1/traces as protobuf or JSON over HTTP/1.1 or h2c, and OTLP/gRPC (the collector services' Export) on grpc_port and port",
	.opts = otlp_opts,
	.listens = true,
	.listener = "otlp",
	.listener2 = "otlp_grpc",
	.start = otlp_start,
	.stop = input_httpd_stop,
	.drain = input_httpd_drain,
};
