/* in_otlp/wire.h: one read-only view of OTLP messages over two encodings: protobuf wire bytes
 * and OTLP JSON (parsed to msgpack by jsonmp), driven by per-message field tables. */
#ifndef VIVO_OTLP_WIRE_H
#define VIVO_OTLP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest field number a message table may name; higher numbers are unknown fields. */
#define OW_MAXF 16
/* Deepest message nesting opened (AnyValue inside AnyValue ... counts every level). The deepest
 * OTLP path the renderers allow: an exemplar's filtered attribute (an AnyValue 8 messages down:
 * request, ResourceMetrics, ScopeMetrics, Metric, Histogram, data point, Exemplar, KeyValue)
 * holding 32 nested kvlists (3 messages each: KeyValueList, KeyValue, AnyValue), so the
 * AnyValue limit (32, in_otlp/common.h) is the one a request meets. */
#define OW_MAX_DEPTH (8 + 3 * 32)

enum ow_type {
	OW_UINT,     /* varint uint32/uint64 */
	OW_INT64,    /* varint int64 (JSON: number or decimal string) */
	OW_SINT32,   /* zigzag varint */
	OW_ENUM,     /* varint; JSON: integer or one of the value names */
	OW_BOOL,
	OW_FIXED64,
	OW_SFIXED64,
	OW_FIXED32,
	OW_DOUBLE,   /* JSON: number, or "NaN", "Infinity", "-Infinity", a decimal string */
	OW_STRING,
	OW_BYTES,    /* JSON: base64 */
	OW_ID16,     /* bytes of length 0 or 16; JSON: hex */
	OW_ID8,      /* bytes of length 0 or 8; JSON: hex */
	OW_MSG,
};

struct ow_enum {
	const char *name;
	int32_t value;
};

struct ow_desc;

struct ow_field {
	uint8_t num;                 /* protobuf field number, 1..OW_MAXF */
	uint8_t type;                /* enum ow_type */
	bool repeated;
	const char *json;            /* OTLP JSON name (lowerCamelCase) */
	const char *proto;           /* proto name (snake_case), also accepted in JSON */
	const struct ow_desc *sub;   /* OW_MSG: the message type */
	const struct ow_enum *enums; /* OW_ENUM: names, ended by {NULL, 0} */
};

struct ow_desc {
	const char *name;            /* message name for errors */
	const struct ow_field *fields;
	size_t nfields;
};

/* A validated message: opening checks every known field's encoding and value, so the
 * getters below cannot fail. Absent fields read as their defaults (0, "", false). */
struct ow_msg {
	const struct ow_desc *d;
	bool json;                       /* msgpack (from OTLP JSON) rather than protobuf */
	int depth;
	uint32_t seen;                   /* bit n: field n present */
	const char *at[OW_MAXF + 1];     /* value of the last occurrence; repeated: first tag (pb) or the array (json) */
	const struct ow_field *f[OW_MAXF + 1];
	const char *end;                 /* end of this message's bytes (pb) or of the document (json) */
};

/* Errors carry a one-line reason. */
struct ow_err {
	char msg[256];
};

/* Open a message over protobuf bytes p[0..n) or, with `json`, over the msgpack map at p
 * (n bytes to the end of the document). 0, or -EINVAL with the reason in `e`. */
int ow_open(struct ow_msg *m, const struct ow_desc *d, bool json, const char *p, size_t n, int depth,
	    struct ow_err *e);

static inline bool ow_has(const struct ow_msg *m, unsigned num)
{
	return (m->seen >> num) & 1u;
}

uint64_t ow_u64(const struct ow_msg *m, unsigned num);   /* UINT, FIXED64, FIXED32, BOOL, ENUM */
int64_t ow_i64(const struct ow_msg *m, unsigned num);    /* INT64, SFIXED64, SINT32, ENUM */
double ow_f64(const struct ow_msg *m, unsigned num);     /* DOUBLE */
bool ow_bool(const struct ow_msg *m, unsigned num);
/* STRING (or BYTES/ID in protobuf): a pointer into the input and a length; "" when absent. */
const char *ow_str(const struct ow_msg *m, unsigned num, size_t *len);
/* BYTES (base64 in JSON) decoded and appended to `out`. 0 or the buffer's error. */
struct buf;
int ow_bytes(const struct ow_msg *m, unsigned num, struct buf *out);
/* ID16/ID8 as lowercase hex into out (33 bytes); returns the hex length (0 when absent/empty). */
size_t ow_hex(const struct ow_msg *m, unsigned num, char out[33]);
/* Open a singular OW_MSG field; an absent one opens as an empty message. 0 or -EINVAL. */
int ow_sub(const struct ow_msg *m, unsigned num, struct ow_msg *sub, struct ow_err *e);
/* Which of the listed fields was set last (a protobuf oneof), or 0 for none. */
unsigned ow_oneof(const struct ow_msg *m, const unsigned *nums, size_t n);

/* Iterating a repeated field (messages or scalars). */
struct ow_iter {
	const struct ow_msg *m;
	unsigned num;
	const char *p;       /* pb: scan position; json: next element */
	const char *packed;  /* pb: inside a packed run */
	const char *packed_end;
	uint32_t left;       /* json: elements left */
};

void ow_iter_init(struct ow_iter *it, const struct ow_msg *m, unsigned num);
/* Next message of a repeated OW_MSG field: 1 (opened into *sub), 0 at the end, -EINVAL. */
int ow_next_msg(struct ow_iter *it, struct ow_msg *sub, struct ow_err *e);
/* Next value of a repeated scalar field (UINT/FIXED64 or DOUBLE): true, or false at the end. */
bool ow_next_u64(struct ow_iter *it, uint64_t *v);
bool ow_next_f64(struct ow_iter *it, double *v);
/* Count the elements of a repeated field. */
size_t ow_count(const struct ow_msg *m, unsigned num);

#endif
