/* in_otlp/grpc.c: OTLP/gRPC: the unary Export methods of the collector's logs, metrics and
 * trace services over lib/httpd's HTTP/2, through the same decoder and limits as OTLP/HTTP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "grpc.h"
#include "ingest.h"
#include "log.h"
#include "refuse.h"

/* "application/grpc" or "application/grpc+proto" (parameters ignored): protobuf messages. */
static bool proto_subtype(const char *ct)
{
	const char *p = ct ? ct + 16 : "";

	if (*p == '+')
		return strncasecmp(p, "+proto", 6) == 0 && (p[6] == '\0' || p[6] == ';');
	return true;
}

static enum MHD_Result refuse(struct input_instance *in, struct httpd_req *r, enum otlp_signal sig, int code,
			      const char *msg)
{
	refuse_note(in->name, r->peer, code == GRPC_RESOURCE_EXHAUSTED ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST,
		    "OTLP/gRPC %s export: %s", otlp_signal_names[sig], msg);
	return grpc_reply_status(r, code, msg);
}

static enum MHD_Result export(struct httpd_req *r, struct input_instance *in, enum otlp_signal sig)
{
	const char *msg = NULL;
	size_t len = 0;
	uint64_t records = 0;
	struct buf plain;
	char err[300], why[400];
	enum MHD_Result ret;
	int rc;

	if (!r->grpc)
		return httpd_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
					 "OTLP/gRPC needs HTTP/2 and Content-Type application/grpc");
	atomic_fetch_add(&in->stats.bytes, r->body.len);
	if (!proto_subtype(httpd_header(r, "content-type")))
		return refuse(in, r, sig, GRPC_INVALID_ARGUMENT, "only the protobuf codec (application/grpc+proto)");
	buf_init(&plain, in->conf.buffer_max_size);
	err[0] = '\0';
	rc = grpc_unframe(r->body.data ? r->body.data : "", r->body.len, httpd_header(r, "grpc-encoding"), &plain,
			  &msg, &len, err, sizeof(err));
	if (rc < 0) {
		ret = refuse(in, r, sig, grpc_code_for_errno(rc), *err ? err : "cannot read the message");
		goto out;
	}
	rc = otlp_ingest(in, sig, OTLP_PROTOBUF, msg, len, &records, err, sizeof(err));
	if (rc == 0) {
		/* An empty Export*ServiceResponse: everything was accepted (a request is stored
		 * whole or not at all, so there is never a partial_success to report). */
		ret = grpc_reply(r, "", 0);
	} else if (rc == -EINVAL) {
		snprintf(why, sizeof(why), "invalid protobuf request: %s", err);
		ret = refuse(in, r, sig, GRPC_INVALID_ARGUMENT, why);
	} else if (rc == -ENOSPC) {
		ret = refuse(in, r, sig, GRPC_RESOURCE_EXHAUSTED, "the decoded request is over the limit");
	} else {
		ret = refuse(in, r, sig, GRPC_UNAVAILABLE, *err ? err : "out of memory");
	}
out:
	buf_free(&plain);
	return ret;
}

enum MHD_Result otlp_grpc_logs(struct httpd_req *r, void *ctx)
{
	return export(r, ctx, OTLP_LOGS);
}

enum MHD_Result otlp_grpc_metrics(struct httpd_req *r, void *ctx)
{
	return export(r, ctx, OTLP_METRICS);
}

enum MHD_Result otlp_grpc_traces(struct httpd_req *r, void *ctx)
{
	return export(r, ctx, OTLP_TRACES);
}
