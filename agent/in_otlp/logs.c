/* in_otlp/logs.c: OTLP logs to Vivo log records (spec agent.md 3.3, 4.3): metadata {"otlp":{...}},
 * the body as the record, and the resource and scope as the v1 "otlp" member when all share one. */
#include "common.h"

#include "mp.h"
#include "mpk.h"

/* ---- opentelemetry-proto v1 logs.proto -------------------------------------------- */

#define SEV(n, v) { "SEVERITY_NUMBER_" n, v }
static const struct ow_enum e_severity[] = {
	SEV("UNSPECIFIED", 0), SEV("TRACE", 1), SEV("TRACE2", 2), SEV("TRACE3", 3), SEV("TRACE4", 4),
	SEV("DEBUG", 5), SEV("DEBUG2", 6), SEV("DEBUG3", 7), SEV("DEBUG4", 8),
	SEV("INFO", 9), SEV("INFO2", 10), SEV("INFO3", 11), SEV("INFO4", 12),
	SEV("WARN", 13), SEV("WARN2", 14), SEV("WARN3", 15), SEV("WARN4", 16),
	SEV("ERROR", 17), SEV("ERROR2", 18), SEV("ERROR3", 19), SEV("ERROR4", 20),
	SEV("FATAL", 21), SEV("FATAL2", 22), SEV("FATAL3", 23), SEV("FATAL4", 24), { NULL, 0 },
};
static const struct ow_field f_log[] = {
	{ 1, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 2, OW_ENUM, false, "severityNumber", "severity_number", NULL, e_severity },
	{ 3, OW_STRING, false, "severityText", "severity_text", NULL, NULL },
	{ 5, OW_MSG, false, "body", NULL, &oc_any, NULL },
	{ 6, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 7, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 8, OW_FIXED32, false, "flags", NULL, NULL, NULL },
	{ 9, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 10, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 11, OW_FIXED64, false, "observedTimeUnixNano", "observed_time_unix_nano", NULL, NULL },
	{ 12, OW_STRING, false, "eventName", "event_name", NULL, NULL },
};
DESC(d_log, "LogRecord", f_log);
OC_WRAPPERS(logs, d_log, "logRecords", "log_records", "scopeLogs", "scope_logs", "resourceLogs", "resource_logs",
	    "ScopeLogs", "ResourceLogs", "ExportLogsServiceRequest");

/* ---- rendering ---------------------------------------------------------------------- */

/* The v1 "otlp" member: {"resource":{...},"scope":{...}} with the keys that are present. */
static const struct oc_member res_members[] = {
	OM("attributes", OM_ATTRS, 1), OM("dropped_attributes_count", OM_U64 | OM_OPT, 2),
};
static const struct oc_member scope_members[] = {
	OM("name", OM_STR | OM_OPT, 1), OM("version", OM_STR | OM_OPT, 2), OM("attributes", OM_ATTRS | OM_OPT, 3),
	OM("dropped_attributes_count", OM_U64 | OM_OPT, 4),
};
static const struct oc_member schema_member[] = { OM("schema_url", OM_STR | OM_OPT, F_SCHEMA) };

static int log_context(struct oc_ctx *x, struct buf *b, const struct ow_msg *rl, const struct ow_msg *sl)
{
	struct ow_msg res, scope;
	bool first = true;

	TRY(oc_context(x, rl, sl, &res, &scope));
	jw_raw(x, b, "{\"resource\":{");
	TRY(oc_members(x, b, &first, &res, res_members, COUNT(res_members)));
	TRY(oc_members(x, b, &first, rl, schema_member, 1));
	jw_raw(x, b, "},\"scope\":{");
	first = true;
	TRY(oc_members(x, b, &first, &scope, scope_members, COUNT(scope_members)));
	TRY(oc_members(x, b, &first, sl, schema_member, 1));
	jw_raw(x, b, "}}");
	return x->rc;
}

/* Metadata: {"otlp":{...present keys only...}}, in Fluent Bit's order. */
static int log_meta(struct oc_ctx *x, const struct ow_msg *lr, struct buf *meta)
{
	uint32_t keys = 0;
	size_t at, n;
	uint64_t v;
	const char *s;
	char hex[33];

	buf_reset(meta);
	TRY(msgpack_pack_map(MPK(meta), 1));
	TRY(mpk_cstr(MPK(meta), "otlp"));
	TRY(mpk_map32(MPK(meta), &at));
	if ((v = ow_u64(lr, 11))) {
		TRY(mpk_cstr(MPK(meta), "observed_timestamp"));
		TRY(msgpack_pack_uint64(MPK(meta), v));
		keys++;
	}
	if (ow_has(lr, 2) && ow_i64(lr, 2)) {
		TRY(mpk_cstr(MPK(meta), "severity_number"));
		TRY(msgpack_pack_int64(MPK(meta), ow_i64(lr, 2)));
		keys++;
	}
	s = ow_str(lr, 3, &n);
	if (n) {
		TRY(mpk_cstr(MPK(meta), "severity_text"));
		TRY(msgpack_pack_str_with_body(MPK(meta), s, n));
		keys++;
	}
	if (ow_count(lr, 6)) {
		TRY(mpk_cstr(MPK(meta), "attributes"));
		TRY(oc_kvs_mp(x, lr, 6, meta, 0));
		keys++;
	}
	if (ow_hex(lr, 9, hex)) {
		TRY(mpk_cstr(MPK(meta), "trace_id"));
		TRY(oc_hex_mp(meta, lr, 9));
		keys++;
	}
	if (ow_hex(lr, 10, hex)) {
		TRY(mpk_cstr(MPK(meta), "span_id"));
		TRY(oc_hex_mp(meta, lr, 10));
		keys++;
	}
	if ((v = ow_u64(lr, 8) & 0xff)) {
		TRY(mpk_cstr(MPK(meta), "trace_flags"));
		TRY(msgpack_pack_uint64(MPK(meta), v));
		keys++;
	}
	mpk_patch32(MPK(meta), at, keys);
	return 0;
}

/* Body: a kvlist stays a map (its values one kvlist deep), anything else goes under "log"; no
 * body, or an empty AnyValue (what the Collector's otlphttp exporter sends for none), is {}. */
static int log_body(struct oc_ctx *x, const struct ow_msg *lr, struct buf *body)
{
	struct ow_msg bv, kl;

	buf_reset(body);
	TRY(ow_sub(lr, 5, &bv, &x->e));
	if (oc_any_case(&bv) == 0) {
		TRY(msgpack_pack_map(MPK(body), 0));
	} else if (oc_any_case(&bv) == 6) {
		TRY(ow_sub(&bv, 6, &kl, &x->e));
		TRY(oc_kvs_mp(x, &kl, 1, body, 1));
	} else {
		TRY(msgpack_pack_map(MPK(body), 1));
		TRY(mpk_cstr(MPK(body), "log"));
		TRY(oc_any_mp(x, &bv, body, 0));
	}
	return 0;
}

static int log_record(struct oc_ctx *x, const struct ow_msg *lr, struct chunk_builder *cb)
{
	struct mp_cur mc, bc;
	int64_t ts;

	TRY(log_meta(x, lr, &x->mp));
	TRY(log_body(x, lr, &x->mp2));
	ts = (int64_t)ow_u64(lr, 1);
	if (ts <= 0)
		ts = (int64_t)ow_u64(lr, 11);
	if (ts <= 0)
		ts = x->now_ns;
	mp_cur_init(&mc, x->mp.data, x->mp.len);
	mp_cur_init(&bc, x->mp2.data, x->mp2.len);
	TRY(chunk_add_log(cb, ts, &mc, &bc));
	x->records++;
	return 0;
}

struct logs_walk {
	struct chunk_builder *cb;
	bool mixed, any;
};

/* One ScopeLogs: its records, then whether it shares the resource and scope of the ones before. */
static int logs_scope(struct oc_ctx *x, const struct ow_msg *rl, const struct ow_msg *sl, void *arg)
{
	struct logs_walk *w = arg;
	uint32_t before = w->cb->records;
	struct ow_msg lr;
	struct ow_iter it;
	int rc;

	ow_iter_init(&it, sl, F_ITEMS);
	while ((rc = ow_next_msg(&it, &lr, &x->e)) > 0)
		TRY(log_record(x, &lr, w->cb));
	if (rc < 0)
		return rc;
	if (w->cb->records == before || w->mixed)
		return 0;
	buf_reset(&x->line);
	TRY(log_context(x, &x->line, rl, sl));
	if (!w->any) {
		TRY(buf_append(&x->shared, "\"otlp\":", 7));
		TRY(buf_append(&x->shared, x->line.data, x->line.len));
		w->any = true;
	} else if (x->shared.len != x->line.len + 7 || memcmp(x->shared.data + 7, x->line.data, x->line.len) != 0) {
		w->mixed = true;
	}
	return 0;
}

int otlp_logs_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	struct logs_walk w = { cb, false, false };

	TRY(oc_each_scope(x, req, logs_scope, &w));
	if (w.any && !w.mixed)
		TRY(chunk_builder_set_v1_extra(cb, x->shared.data, x->shared.len));
	return 0;
}
