/* in_otlp/common.h: what the OTLP signal renderers share (internal to in_otlp/): the per-request
 * context, the sticky JSON writers, the one AnyValue/attribute renderer and the common tables. */
#ifndef VIVO_OTLP_COMMON_H
#define VIVO_OTLP_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "store.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DESC(var, name, fields) static const struct ow_desc var = { name, fields, COUNT(fields) }

/* AnyValue, KeyValue, InstrumentationScope and Resource (common.c). */
extern const struct ow_desc oc_any, oc_kv, oc_scope, oc_resource;

/* Field numbers shared by ResourceX (resource, scopeX, schema_url) and ScopeX (scope, items, schema_url). */
enum { F_RESOURCE = 1, F_SCOPES = 2, F_SCHEMA = 3, F_SCOPE = 1, F_ITEMS = 2 };

/* The three wrappers of a signal's items, alike in every signal: `sig`_scope_desc (ScopeX:
 * scope, the items, schema_url), `sig`_resource_desc (ResourceX: resource, the scopes,
 * schema_url) and the public otlp_`sig`_request (Export*ServiceRequest: the resources). */
#define OC_WRAPPERS(sig, item, ijson, iproto, sjson, sproto, rjson, rproto, sname, rname, qname) \
	static const struct ow_field sig##_scope_fields[] = { \
		{ F_SCOPE, OW_MSG, false, "scope", NULL, &oc_scope, NULL }, \
		{ F_ITEMS, OW_MSG, true, ijson, iproto, &item, NULL }, \
		{ F_SCHEMA, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL }, \
	}; \
	DESC(sig##_scope_desc, sname, sig##_scope_fields); \
	static const struct ow_field sig##_resource_fields[] = { \
		{ F_RESOURCE, OW_MSG, false, "resource", NULL, &oc_resource, NULL }, \
		{ F_SCOPES, OW_MSG, true, sjson, sproto, &sig##_scope_desc, NULL }, \
		{ F_SCHEMA, OW_STRING, false, "schemaUrl", "schema_url", NULL, NULL }, \
	}; \
	DESC(sig##_resource_desc, rname, sig##_resource_fields); \
	static const struct ow_field sig##_request_fields[] = { \
		{ 1, OW_MSG, true, rjson, rproto, &sig##_resource_desc, NULL }, \
	}; \
	const struct ow_desc otlp_##sig##_request = { qname, sig##_request_fields, COUNT(sig##_request_fields) }

/* Most arrays and kvlists nested in one AnyValue (an attribute value, a body): a value inside
 * 32 of them is kept, a 33rd is refused (docs/otlp.md, Limits). The rendered msgpack stays well
 * inside MPJSON_MAX_DEPTH, and the message nesting it takes inside OW_MAX_DEPTH. */
#define ANY_MAX_DEPTH 32
/* Most distinct attribute keys (labels) in one metric. */
#define MAX_LABELS 128

/* cmetrics metric types, in the order of their numbers (spec 3.4; 5 is the exponential histogram). */
enum { T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY, T_UNTYPED, T_EXP_HISTOGRAM, T_NTYPES };

struct cmhash;

/* One request's rendering state; each thread keeps one between requests (decode.c). */
struct oc_ctx {
	bool json;
	int rc;               /* sticky output error of the jw_* writers */
	struct ow_err e;
	struct buf doc;       /* JSON input as msgpack */
	struct buf line;      /* the metrics/traces line, or the log resource+scope object */
	struct buf shared;    /* logs: the resource+scope object of the first scope with records */
	struct buf mp;        /* msgpack scratch: attributes, log metadata */
	struct buf mp2;       /* msgpack scratch: log body */
	struct buf tmp;       /* label value text */
	struct buf metrics;   /* metrics: the "metrics" array of the line being built */
	struct buf ot[T_NTYPES]; /* metrics: external.otlp.metrics.<type> pairs (msgpack) */
	uint32_t ot_count[T_NTYPES];
	int ot_order[T_NTYPES];
	int ot_n;
	uint64_t records;
	int64_t now_ns;
	/* metric labels */
	struct cmhash *hash;  /* metrics: the series hash state (lib/cmhash), made on first use */
	const char *mname;    /* metrics: the name of the metric being rendered, for its hash */
	size_t mlen;
	size_t nkeys;
	const char *key[MAX_LABELS];
	size_t klen[MAX_LABELS];
	size_t voff[MAX_LABELS], vlen[MAX_LABELS];
};

/* Put the reason in x->e; returns -EINVAL. */
__attribute__((format(printf, 2, 3)))
int oc_fail(struct oc_ctx *x, const char *fmt, ...);

#define TRY(expr) do { int rc_ = (expr); if (rc_ < 0) return rc_; } while (0)

/* Sticky JSON writers: after the first error they do nothing; x->rc keeps it. */
static inline void jw_mem(struct oc_ctx *x, struct buf *b, const char *p, size_t n)
{
	if (x->rc)
		return;
	if (b->cap - b->len >= n) { /* the common case, without a call */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return;
	}
	x->rc = buf_append(b, p, n);
}

/* A macro, so that the length of a literal is known at compile time. */
#define jw_raw(x, b, s) jw_mem((x), (b), (s), strlen(s))

void jw_str(struct oc_ctx *x, struct buf *b, const char *p, size_t n); /* a JSON string (spec 3.1) */
void jw_u64(struct oc_ctx *x, struct buf *b, uint64_t v);
void jw_i64(struct oc_ctx *x, struct buf *b, int64_t v);
void jw_f64(struct oc_ctx *x, struct buf *b, double v); /* NaN and infinities as null */
/* A string field of m as a JSON string (null when empty and null_if_empty). */
void jw_field_str(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty);

/* Members of a JSON object drawn from the fields of one message, by table: the key as its
 * literal `,"key":`, what to write, the field number. */
enum oc_kind {
	OM_U64, OM_I64, OM_F64,
	OM_STR,      /* a string field */
	OM_STRNULL,  /* a string field, null when empty */
	OM_ID,       /* a hex ID, null when empty */
	OM_ATTRS,    /* a KeyValue list as an object */
	OM_ATTRSNULL, /* the same, null when there are none */
	OM_OPT = 0x80, /* flag: the member only when the value is not 0 or empty (attributes: any) */
};
struct oc_member {
	char key[32]; /* whole, so that it is copied in one fixed-size move, not byte by byte */
	uint8_t len, kind, num;
};
#define OM(name, kind, num) { ",\"" name "\":", sizeof(",\"" name "\":") - 1, kind, num }

/* Write the members of table t (n rows) with the fields of m. *first: no member came before in
 * this object (the first one written drops its comma and clears it). 0 or negative. */
int oc_members(struct oc_ctx *x, struct buf *b, bool *first, const struct ow_msg *m, const struct oc_member *t, size_t n);
/* The repeated message field num of m as a JSON array of objects, each the members t of one. */
int oc_list(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, const struct oc_member *t, size_t n);

/* Which value an AnyValue holds: the number of its field set last (1 string ... 7 bytes), 0 none. */
unsigned oc_any_case(const struct ow_msg *av);
/* An AnyValue as msgpack into out (bytes as bin); depth: how many arrays and kvlists hold it
 * (0 for an attribute value or a body). 0 or negative (-EINVAL past ANY_MAX_DEPTH). */
int oc_any_mp(struct oc_ctx *x, const struct ow_msg *av, struct buf *out, int depth);
/* The repeated KeyValue field num of m as a msgpack map (duplicate keys kept: the renderer
 * resolves them by spec 3.1), its values at depth. 0 or negative. */
int oc_kvs_mp(struct oc_ctx *x, const struct ow_msg *m, unsigned num, struct buf *out, int depth);
/* An ID field of m as a lower-case hex msgpack string ("" when empty). 0 or the buffer's error. */
int oc_hex_mp(struct buf *out, const struct ow_msg *m, unsigned num);
/* The repeated KeyValue field num of m as a JSON object (null when there are none and
 * null_if_empty; last duplicate key wins). 0 or negative. */
int oc_attrs(struct oc_ctx *x, struct buf *b, const struct ow_msg *m, unsigned num, bool null_if_empty);

/* Open the Resource of rx and the InstrumentationScope of sx (empty when absent). 0 or -EINVAL. */
int oc_context(struct oc_ctx *x, const struct ow_msg *rx, const struct ow_msg *sx, struct ow_msg *res,
	       struct ow_msg *scope);
/* Call fn for every (ResourceX, ScopeX) pair of an export request, in order; the first error
 * stops the walk and is returned. */
typedef int (*oc_scope_fn)(struct oc_ctx *x, const struct ow_msg *rx, const struct ow_msg *sx, void *arg);
int oc_each_scope(struct oc_ctx *x, const struct ow_msg *req, oc_scope_fn fn, void *arg);

/* The signals (logs.c, metrics.c, traces.c): the request message and its renderer, which adds
 * what the request holds to cb (contract of otlp_decode). */
extern const struct ow_desc otlp_logs_request, otlp_metrics_request, otlp_traces_request;
int otlp_logs_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb);
int otlp_metrics_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb);
int otlp_traces_render(struct oc_ctx *x, const struct ow_msg *req, struct chunk_builder *cb);

#endif
