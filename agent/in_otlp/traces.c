/* in_otlp/traces.c: OTLP traces to the ctraces shape Fluent Bit serves (spec agent.md 3.5): one
 * line per request with every resource, scope and span. */
#include "common.h"

/* ---- opentelemetry-proto v1 trace.proto ------------------------------------------- */

static const struct ow_enum e_kind[] = {
	{ "SPAN_KIND_UNSPECIFIED", 0 }, { "SPAN_KIND_INTERNAL", 1 }, { "SPAN_KIND_SERVER", 2 },
	{ "SPAN_KIND_CLIENT", 3 }, { "SPAN_KIND_PRODUCER", 4 }, { "SPAN_KIND_CONSUMER", 5 },
	{ "UNSPECIFIED", 0 }, { "INTERNAL", 1 }, { "SERVER", 2 }, { "CLIENT", 3 }, { "PRODUCER", 4 },
	{ "CONSUMER", 5 }, { NULL, 0 },
};
static const struct ow_enum e_status[] = {
	{ "STATUS_CODE_UNSET", 0 }, { "STATUS_CODE_OK", 1 }, { "STATUS_CODE_ERROR", 2 },
	{ "UNSET", 0 }, { "OK", 1 }, { "ERROR", 2 }, { NULL, 0 },
};
static const struct ow_field f_status[] = {
	{ 2, OW_STRING, false, "message", NULL, NULL, NULL },
	{ 3, OW_ENUM, false, "code", NULL, NULL, e_status },
};
DESC(d_status, "Status", f_status);
static const struct ow_field f_event[] = {
	{ 1, OW_FIXED64, false, "timeUnixNano", "time_unix_nano", NULL, NULL },
	{ 2, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 3, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 4, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
};
DESC(d_event, "Span.Event", f_event);
static const struct ow_field f_link[] = {
	{ 1, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 2, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 3, OW_STRING, false, "traceState", "trace_state", NULL, NULL },
	{ 4, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 5, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 6, OW_FIXED32, false, "flags", NULL, NULL, NULL },
};
DESC(d_link, "Span.Link", f_link);
static const struct ow_field f_span[] = {
	{ 1, OW_ID16, false, "traceId", "trace_id", NULL, NULL },
	{ 2, OW_ID8, false, "spanId", "span_id", NULL, NULL },
	{ 3, OW_STRING, false, "traceState", "trace_state", NULL, NULL },
	{ 4, OW_ID8, false, "parentSpanId", "parent_span_id", NULL, NULL },
	{ 5, OW_STRING, false, "name", NULL, NULL, NULL },
	{ 6, OW_ENUM, false, "kind", NULL, NULL, e_kind },
	{ 7, OW_FIXED64, false, "startTimeUnixNano", "start_time_unix_nano", NULL, NULL },
	{ 8, OW_FIXED64, false, "endTimeUnixNano", "end_time_unix_nano", NULL, NULL },
	{ 9, OW_MSG, true, "attributes", NULL, &oc_kv, NULL },
	{ 10, OW_UINT, false, "droppedAttributesCount", "dropped_attributes_count", NULL, NULL },
	{ 11, OW_MSG, true, "events", NULL, &d_event, NULL },
	{ 12, OW_UINT, false, "droppedEventsCount", "dropped_events_count", NULL, NULL },
	{ 13, OW_MSG, true, "links", NULL, &d_link, NULL },
	{ 14, OW_UINT, false, "droppedLinksCount", "dropped_links_count", NULL, NULL },
	{ 15, OW_MSG, false, "status", NULL, &d_status, NULL },
	{ 16, OW_FIXED32, false, "flags", NULL, NULL, NULL },
};
DESC(d_span, "Span", f_span);
OC_WRAPPERS(traces, d_span, "spans", NULL, "scopeSpans", "scope_spans", "resourceSpans", "resource_spans",
	    "ScopeSpans", "ResourceSpans", "ExportTraceServiceRequest");

/* ---- rendering ---------------------------------------------------------------------- */

/* A span's 16 keys, as ctraces writes them. */
static const struct oc_member span_members[] = {
	OM("trace_id", OM_ID, 1), OM("span_id", OM_ID, 2), OM("parent_span_id", OM_ID, 4),
	OM("trace_state", OM_STRNULL, 3), OM("name", OM_STR, 5), OM("kind", OM_I64, 6),
	OM("start_time_unix_nano", OM_U64, 7), OM("end_time_unix_nano", OM_U64, 8), OM("attributes", OM_ATTRS, 9),
	OM("dropped_attributes_count", OM_U64, 10), OM("dropped_events_count", OM_U64, 12),
	OM("dropped_links_count", OM_U64, 14),
};
static const struct oc_member event_members[] = {
	OM("time_unix_nano", OM_U64, 1), OM("name", OM_STR, 2), OM("attributes", OM_ATTRS, 3),
	OM("dropped_attributes_count", OM_U64, 4),
};
static const struct oc_member link_members[] = {
	OM("trace_id", OM_ID, 1), OM("span_id", OM_ID, 2), OM("trace_state", OM_STRNULL, 3),
	OM("attributes", OM_ATTRS, 4), OM("dropped_attributes_count", OM_U64, 5),
};
static const struct oc_member status_members[] = { OM("code", OM_I64, 3), OM("message", OM_STRNULL, 2) };

static int trace_span(struct oc_ctx *x, struct buf *b, const struct ow_msg *sp)
{
	struct ow_msg st;
	bool first = true;

	jw_raw(x, b, "{");
	TRY(oc_members(x, b, &first, sp, span_members, COUNT(span_members)));
	jw_raw(x, b, ",\"events\":");
	TRY(oc_list(x, b, sp, 11, event_members, COUNT(event_members)));
	jw_raw(x, b, ",\"links\":");
	TRY(oc_list(x, b, sp, 13, link_members, COUNT(link_members)));
	TRY(ow_sub(sp, 15, &st, &x->e));
	jw_raw(x, b, ",\"schema_url\":null,\"status\":{");
	first = true;
	TRY(oc_members(x, b, &first, &st, status_members, COUNT(status_members)));
	jw_raw(x, b, "}}");
	return 0;
}

int otlp_traces_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb)
{
	struct buf *b = &x->line;
	struct ow_msg rs, res, ss, scope, sp;
	struct ow_iter i1, i2, i3;
	int r1, r2, r3, k1, k2, k3;

	jw_raw(x, b, "{\"resourceSpans\":[");
	ow_iter_init(&i1, req, 1);
	for (k1 = 0; (r1 = ow_next_msg(&i1, &rs, &x->e)) > 0; k1++) {
		TRY(ow_sub(&rs, F_RESOURCE, &res, &x->e));
		jw_raw(x, b, k1 ? ",{\"resource\":{\"attributes\":" : "{\"resource\":{\"attributes\":");
		TRY(oc_attrs(x, b, &res, 1, false));
		jw_raw(x, b, ",\"dropped_attributes_count\":");
		jw_u64(x, b, ow_u64(&res, 2));
		jw_raw(x, b, "},\"schema_url\":");
		jw_field_str(x, b, &rs, F_SCHEMA, true);
		jw_raw(x, b, ",\"scope_spans\":[");
		ow_iter_init(&i2, &rs, F_SCOPES);
		for (k2 = 0; (r2 = ow_next_msg(&i2, &ss, &x->e)) > 0; k2++) {
			TRY(ow_sub(&ss, F_SCOPE, &scope, &x->e));
			jw_raw(x, b, k2 ? ",{\"scope\":" : "{\"scope\":");
			if (ow_has(&ss, F_SCOPE)) {
				jw_raw(x, b, "{\"name\":");
				jw_field_str(x, b, &scope, 1, false);
				jw_raw(x, b, ",\"version\":");
				jw_field_str(x, b, &scope, 2, false);
				jw_raw(x, b, ",\"attributes\":");
				TRY(oc_attrs(x, b, &scope, 3, true));
				jw_raw(x, b, ",\"dropped_attributes_count\":");
				jw_u64(x, b, ow_u64(&scope, 4));
				jw_raw(x, b, "}");
			} else {
				jw_raw(x, b, "{\"name\":null,\"version\":null,\"attributes\":null,\"dropped_attributes_count\":0}");
			}
			jw_raw(x, b, ",\"spans\":[");
			ow_iter_init(&i3, &ss, F_ITEMS);
			for (k3 = 0; (r3 = ow_next_msg(&i3, &sp, &x->e)) > 0; k3++) {
				if (k3)
					jw_raw(x, b, ",");
				TRY(trace_span(x, b, &sp));
				x->records++;
			}
			if (r3 < 0)
				return r3;
			jw_raw(x, b, "],\"schema_url\":");
			jw_field_str(x, b, &ss, F_SCHEMA, true);
			jw_raw(x, b, "}");
		}
		if (r2 < 0)
			return r2;
		jw_raw(x, b, "]}");
	}
	if (r1 < 0)
		return r1;
	jw_raw(x, b, "]}");
	if (x->rc)
		return x->rc;
	if (x->records == 0)
		return 0; /* an empty export stores nothing */
	return chunk_add_line(cb, b->data, b->len);
}
