/* in_forward/decode.c: Forward frames to chunks: a mode table, options, gzip/zstd, OTLP group markers, cmetrics/ctraces contexts. */
#include "decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decompress.h"
#include "loggroup.h"
#include "mp.h"
#include "mpjson.h"
#include "mpw.h"

#define NS_PER_S 1000000000LL
#define GROUP_END_NS (-2 * NS_PER_S) /* loggroup.h: the end marker's time */
/* Builders that grew past this for one big frame give the memory back afterwards. */
#define SHRINK_ABOVE (4u << 20)
/* An ack echoes options.chunk: a longer one is not a chunk ID but an attempt to make
 * the server buffer output. */
#define ACK_MAX 1024

enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct fwd_decoder {
	size_t max_bytes;
	size_t chunk_max;
	char *tag_override;
	char *tag_prefix;
	struct chunk_builder cb;
	struct buf tag;     /* the frame's effective tag, NUL-terminated */
	struct buf plain;   /* decompressed payload, at most max_bytes */
	struct log_group group; /* OTLP group markers of the frame (loggroup.h) */
	struct buf scratch; /* one metrics/traces context, rewritten */
	struct buf line;    /* one metrics/traces context, rendered */
};

/* State of one frame being decoded. */
struct frame_ctx {
	struct fwd_decoder *d;
	struct fwd_frame *f;
	char *err;
	size_t errlen;
	int signal;
	enum compression comp;
	struct mp_cur meta;     /* options.metadata (Message mode) */
	bool has_meta;
	bool entries;           /* Forward or PackedForward: Fluent Bit's OTLP group markers may occur */
};

__attribute__((format(printf, 2, 3)))
static int bad(struct frame_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, x->errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* --- frame boundaries ------------------------------------------------------------- */

/* Total bytes of the str/bin/ext object whose header is at p, when the header is there. */
static bool declared_size(const unsigned char *p, size_t left, uint64_t *need)
{
	unsigned char b = p[0];
	size_t h, extra = 0;
	uint64_t n;

	if ((b & 0xe0) == 0xa0) {
		*need = 1 + (uint64_t)(b & 0x1f);
		return true;
	}
	switch (b) {
	case 0xc4: case 0xd9: h = 1; break;
	case 0xc5: case 0xda: h = 2; break;
	case 0xc6: case 0xdb: h = 4; break;
	case 0xc7: h = 1; extra = 1; break;
	case 0xc8: h = 2; extra = 1; break;
	case 0xc9: h = 4; extra = 1; break;
	default: return false;
	}
	if (left < 1 + h)
		return false;
	n = h == 1 ? p[1] : h == 2 ? ((uint64_t)p[1] << 8 | p[2]) :
	    ((uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4]);
	*need = 1 + h + extra + n;
	return true;
}

int fwd_scan(struct fwd_scan *s, const char *p, size_t n, size_t max, size_t *len)
{
	size_t lim = n < max ? n : max;
	struct mp_cur c;
	struct mp_obj o;
	uint64_t need;
	int rc;

	if (s->off > lim)
		return -EMSGSIZE;
	mp_cur_init(&c, p + s->off, lim - s->off);
	if (s->off == 0 && s->remaining == 0) {
		if (lim == 0)
			return 0;
		if ((rc = mp_read(&c, &o)) == MP_EBAD)
			return -EBADMSG;
		if (rc == MP_ETRUNC)
			goto trunc;
		/* Every frame (and every handshake message) is an array: anything else,
		 * such as an HTTP request sent to the wrong port, is refused at once. */
		if (o.type != MP_ARRAY)
			return -EBADMSG;
		s->remaining = o.len;
		s->off = (size_t)(c.p - p);
		if (s->remaining > max - s->off)
			return -EMSGSIZE;
	}
	while (s->remaining) {
		if ((rc = mp_read(&c, &o)) == MP_EBAD)
			return -EBADMSG;
		if (rc == MP_ETRUNC)
			goto trunc;
		s->remaining--;
		if (o.type == MP_ARRAY)
			s->remaining += o.len;
		else if (o.type == MP_MAP)
			s->remaining += 2 * (uint64_t)o.len;
		s->off = (size_t)(c.p - p);
		/* Each element takes at least one byte. */
		if (s->remaining > max - s->off)
			return -EMSGSIZE;
	}
	*len = s->off;
	return 1;
trunc:
	/* At least: the object being read, then one byte per object still to come. */
	if (lim > s->off && declared_size((const unsigned char *)c.p, lim - s->off, &need)) {
		if (need > max - s->off)
			return -EMSGSIZE;
	} else {
		need = (uint64_t)(lim - s->off) + 1;
	}
	s->need = s->off + need + (s->remaining ? s->remaining - 1 : 0);
	return n >= max ? -EMSGSIZE : 0;
}

/* --- decoder ---------------------------------------------------------------------- */

int fwd_decoder_new(const struct fwd_decoder_opts *o, struct fwd_decoder **out)
{
	struct fwd_decoder *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->max_bytes = o->max_bytes;
	d->chunk_max = o->chunk_max;
	buf_init(&d->tag, 65536 + 1024);
	buf_init(&d->plain, o->max_bytes);
	log_group_init(&d->group, o->max_bytes + 65536);
	buf_init(&d->scratch, 2 * o->max_bytes + 65536);
	buf_init(&d->line, o->chunk_max);
	if ((o->tag && !(d->tag_override = strdup(o->tag))) ||
	    (o->tag_prefix && !(d->tag_prefix = strdup(o->tag_prefix))) ||
	    chunk_builder_init(&d->cb, STREAM_LOGS, "", o->source_type, o->source_name, o->chunk_max) < 0) {
		fwd_decoder_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void fwd_decoder_free(struct fwd_decoder *d)
{
	if (!d)
		return;
	chunk_builder_free(&d->cb);
	buf_free(&d->tag);
	buf_free(&d->plain);
	log_group_free(&d->group);
	buf_free(&d->scratch);
	buf_free(&d->line);
	free(d->tag_override);
	free(d->tag_prefix);
	free(d);
}

static void shrink(struct buf *b)
{
	if (b->cap > SHRINK_ABOVE)
		buf_free(b);
	else
		buf_reset(b);
}

/* Point the reused builder at this frame's stream and tag, empty. */
static int builder_reset(struct fwd_decoder *d, enum stream_kind kind)
{
	const char *tag = d->tag.data;

	if (strcmp(d->cb.tag, tag) != 0) {
		char *t = strdup(tag);

		if (!t)
			return -ENOMEM;
		free(d->cb.tag);
		d->cb.tag = t;
	}
	d->cb.kind = kind;
	d->cb.records = 0;
	shrink(&d->cb.text);
	shrink(&d->cb.marks);
	return 0;
}

static bool key_is(const struct mp_obj *k, const char *s)
{
	return k->type == MP_STR && mp_str_eq(k, s);
}

/* --- options ---------------------------------------------------------------------- */

static int parse_options(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_obj o, k, v;
	uint32_t i;

	if (mp_read(c, &o) < 0)
		return bad(x, "options are not msgpack");
	if (o.type == MP_NIL)
		return 0;
	if (o.type != MP_MAP)
		return bad(x, "options are not a map");
	for (i = 0; i < o.len; i++) {
		struct mp_cur vc;

		vc = *c;
		if (mp_read(&vc, &k) < 0 || mp_skip(c) < 0)
			return bad(x, "options are truncated");
		vc = *c;
		if (mp_read(c, &v) < 0)
			return bad(x, "options are truncated");
		if (key_is(&k, "chunk")) {
			if (v.type != MP_STR && v.type != MP_BIN)
				return bad(x, "option chunk is not a string");
			if (v.len > ACK_MAX)
				return bad(x, "option chunk is %u bytes (at most %d)", v.len, ACK_MAX);
			x->f->ack = v.ptr;
			x->f->ack_len = v.len;
		} else if (key_is(&k, "compressed")) {
			if (v.type != MP_STR)
				return bad(x, "option compressed is not a string");
			if (mp_str_eq(&v, "gzip")) {
				x->comp = COMP_GZIP;
			} else if (mp_str_eq(&v, "zstd")) {
#ifdef HAVE_ZSTD
				x->comp = COMP_ZSTD;
#else
				return bad(x, "compressed \"zstd\" is not supported by this build");
#endif
			} else if (mp_str_eq(&v, "text") || v.len == 0) {
				x->comp = COMP_NONE;
			} else {
				return bad(x, "unsupported compression \"%.*s\" (gzip, zstd or text)",
					   (int)(v.len > 32 ? 32 : v.len), v.ptr);
			}
		} else if (key_is(&k, "fluent_signal")) {
			if (v.type != MP_UINT || v.v.u > 2)
				return bad(x, "fluent_signal must be 0 (logs), 1 (metrics) or 2 (traces)");
			x->signal = (int)v.v.u;
		} else if (key_is(&k, "metadata")) {
			if (v.type == MP_MAP) {
				x->meta = vc;
				x->has_meta = true;
			} else if (v.type != MP_NIL) {
				return bad(x, "option metadata is not a map");
			}
		}
		/* size and unknown keys are ignored; step over a container value. */
		if (v.type == MP_ARRAY || v.type == MP_MAP) {
			*c = vc;
			if (mp_skip(c) < 0)
				return bad(x, "options are truncated");
		}
	}
	if (x->has_meta) {
		/* Bound the metadata cursor to its own object. */
		struct mp_cur m = x->meta;
		const char *start = m.p;

		if (mp_skip(&m) < 0)
			return bad(x, "option metadata is truncated");
		mp_cur_init(&x->meta, start, (size_t)(m.p - start));
	}
	return 0;
}

/* --- logs ------------------------------------------------------------------------- */

/* Span of the value of `key` in the map at c (a cursor over exactly one map). */
static bool map_find(struct mp_cur c, const char *key, const char **p, size_t *n)
{
	struct mp_obj o, k;
	uint32_t i;

	if (mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return false;
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = c;
		const char *v;

		/* Read the key's header from a copy, step over the whole key (it may be a
		 * container) on the cursor. */
		if (mp_read(&kc, &k) < 0 || mp_skip(&c) < 0)
			return false;
		v = c.p;
		if (mp_skip(&c) < 0)
			return false;
		if (key_is(&k, key)) {
			*p = v;
			*n = (size_t)(c.p - v);
			return true;
		}
	}
	return false;
}

/* Copy the raw bytes of one object at c to out. */
static int copy_obj(struct buf *out, struct mp_cur *c)
{
	const char *s = c->p;
	int rc;

	if ((rc = mp_skip(c)) < 0)
		return rc;
	return buf_append(out, s, (size_t)(c->p - s));
}

/* The metadata of Fluent Bit's group start marker: a map with "schema":"otlp". */
static bool otlp_schema(const struct mp_cur *meta)
{
	struct mp_cur v;
	struct mp_obj o;
	const char *p;
	size_t n;

	if (!meta || !map_find(*meta, "schema", &p, &n))
		return false;
	mp_cur_init(&v, p, n);
	return mp_read(&v, &o) == 0 && o.type == MP_STR && mp_str_eq(&o, "otlp");
}

static int add_log(struct frame_ctx *x, size_t idx, int64_t ts, struct mp_cur *meta, struct mp_cur *body)
{
	struct mp_cur merged;
	int rc;

	/* A group marker is what Fluent Bit writes among a frame's entries: a start (time -1 s)
	 * whose metadata says "schema":"otlp", an end (time -2 s) of an open group. Anywhere
	 * else, and in Message mode, times -1 and -2 are records' own times: stored like any
	 * other, never acknowledged and dropped. */
	if (x->entries && log_group_is_marker(ts) && (ts == GROUP_END_NS ? x->d->group.open : otlp_schema(meta)) &&
	    log_group_take(&x->d->group, ts, *body)) {
		x->f->markers = x->d->group.markers;
		return mp_skip(body) < 0 ? bad(x, "entry %zu is truncated", idx) : 0;
	}
	if ((rc = log_group_meta(&x->d->group, meta, &merged, &meta)) == -ENOSPC)
		return -EMSGSIZE;
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return bad(x, "entry %zu: metadata is not a map", idx);
	rc = chunk_add_log(&x->d->cb, ts, meta, body);
	if (rc == -ENOSPC) {
		snprintf(x->err, x->errlen, "records render over the chunk limit of %zu bytes at entry %zu",
			 x->d->chunk_max, idx);
		return -EMSGSIZE;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return bad(x, "entry %zu: record is not a map (or its metadata is not)", idx);
	return 0;
}

/* Cursor over exactly the next object at c (c advances past it). */
static int take_obj(struct mp_cur *c, struct mp_cur *obj)
{
	const char *s = c->p;

	if (mp_skip(c) < 0)
		return -1;
	mp_cur_init(obj, s, (size_t)(c->p - s));
	return 0;
}

/* The time slot of an entry: time, or [time, metadata]. */
static int entry_time(struct frame_ctx *x, struct mp_cur *c, size_t idx, int64_t *ts,
		      struct mp_cur *meta, bool *has_meta)
{
	struct mp_obj t, m;

	*has_meta = false;
	if (mp_read(c, &t) < 0)
		return bad(x, "entry %zu is truncated", idx);
	if (t.type == MP_ARRAY) {
		struct mp_cur mc;

		if (t.len != 2)
			return bad(x, "entry %zu: [time, metadata] has %u elements", idx, t.len);
		if (mp_read(c, &t) < 0)
			return bad(x, "entry %zu is truncated", idx);
		mc = *c;
		if (mp_read(&mc, &m) < 0)
			return bad(x, "entry %zu is truncated", idx);
		if (m.type == MP_MAP) {
			if (take_obj(c, meta) < 0)
				return bad(x, "entry %zu is truncated", idx);
			*has_meta = true;
		} else if (m.type == MP_NIL) {
			*c = mc;
		} else {
			return bad(x, "entry %zu: metadata is not a map", idx);
		}
	}
	if (mp_time_ns(&t, ts) < 0)
		return bad(x, "entry %zu: time is not an integer, a float or an EventTime", idx);
	return 0;
}

static int render_contexts(struct frame_ctx *x, struct mp_cur *rec, size_t idx);

/* One entry [time, record] or [[time, metadata], record]. */
static int entry(struct frame_ctx *x, struct mp_cur *c, size_t idx)
{
	struct mp_cur meta, body;
	struct mp_obj o;
	bool has_meta;
	int64_t ts;
	int rc;

	if (mp_read(c, &o) < 0)
		return bad(x, "entry %zu is truncated", idx);
	if (o.type != MP_ARRAY || o.len != 2)
		return bad(x, "entry %zu is not a [time, record] array", idx);
	if ((rc = entry_time(x, c, idx, &ts, &meta, &has_meta)) < 0)
		return rc;
	if (x->signal != 0) {
		if (take_obj(c, &body) < 0)
			return bad(x, "entry %zu is truncated", idx);
		return render_contexts(x, &body, idx);
	}
	/* The record is rendered straight from the frame: the renderer reads exactly one
	 * object and leaves the cursor after it (no separate walk to find its end). */
	return add_log(x, idx, ts, has_meta ? &meta : NULL, c);
}

/* --- metrics and traces ----------------------------------------------------------- */

struct key {
	const char *p;
	size_t n;
};

static bool kis(struct key k, const char *s)
{
	size_t n = strlen(s);

	return k.n == n && memcmp(k.p, s, n) == 0;
}

static bool is_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

/* A span ID as lowercase hex (or nil): hex text is lowercased, other bytes are hexed. */
static int put_id(struct buf *out, const struct mp_obj *o)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, at;
	int rc;

	if (o->type == MP_NIL || o->len == 0)
		return mpw_nil(out);
	if ((rc = mpw_str32(out, &at)) < 0)
		return rc;
	if (o->type == MP_STR && o->len % 2 == 0 && is_hex(o->ptr, o->len)) {
		if ((rc = buf_reserve(out, o->len)) < 0)
			return rc;
		for (i = 0; i < o->len; i++) {
			char ch = o->ptr[i];

			out->data[out->len++] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : ch;
		}
		mpw_patch32(out, at, o->len);
		return 0;
	}
	if ((rc = buf_reserve(out, 2 * (size_t)o->len)) < 0)
		return rc;
	for (i = 0; i < o->len; i++) {
		unsigned char ch = (unsigned char)o->ptr[i];

		out->data[out->len++] = hex[ch >> 4];
		out->data[out->len++] = hex[ch & 15];
	}
	mpw_patch32(out, at, 2 * o->len);
	return 0;
}

static double bits_to_double(uint64_t u)
{
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/* Copy one object, rewriting what Vivo shows differently from Fluent Bit: cmetrics
 * summaries carry their quantile values and sum as the raw bits of doubles in uint64
 * (written here as doubles); ctraces IDs become lowercase hex. `key` is the map key
 * this value sits under, `parent` the key of the map holding it. */
static int rewrite(struct buf *out, struct mp_cur *c, int signal, int depth, struct key key, struct key parent)
{
	static const struct key none = { "", 0 };
	const char *start = c->p;
	struct mp_obj o;
	uint32_t i;
	int rc;

	if (depth > MPJSON_MAX_DEPTH)
		return MP_EBAD;
	if ((rc = mp_read(c, &o)) < 0)
		return rc;
	if (signal == 2 && (kis(key, "trace_id") || kis(key, "span_id") || kis(key, "parent_span_id")) &&
	    (o.type == MP_STR || o.type == MP_BIN || o.type == MP_NIL))
		return put_id(out, &o);
	if (signal == 1 && kis(parent, "summary")) {
		if (kis(key, "sum") && o.type == MP_UINT)
			return mpw_double(out, bits_to_double(o.v.u));
		if (kis(key, "quantiles") && o.type == MP_ARRAY) {
			if ((rc = mpw_array(out, o.len)) < 0)
				return rc;
			for (i = 0; i < o.len; i++) {
				struct mp_cur ec = *c;
				struct mp_obj e;

				if ((rc = mp_read(&ec, &e)) < 0)
					return rc;
				if (e.type == MP_UINT) {
					*c = ec;
					rc = mpw_double(out, bits_to_double(e.v.u));
				} else {
					rc = rewrite(out, c, signal, depth + 1, none, key);
				}
				if (rc < 0)
					return rc;
			}
			return 0;
		}
	}
	switch (o.type) {
	case MP_ARRAY:
		if ((rc = mpw_array(out, o.len)) < 0)
			return rc;
		for (i = 0; i < o.len; i++)
			if ((rc = rewrite(out, c, signal, depth + 1, none, key)) < 0)
				return rc;
		return 0;
	case MP_MAP:
		if ((rc = mpw_map(out, o.len)) < 0)
			return rc;
		for (i = 0; i < o.len; i++) {
			struct mp_cur kc = *c;
			struct mp_obj k;
			struct key kk = none;

			if ((rc = mp_read(&kc, &k)) < 0)
				return rc;
			if (k.type == MP_STR) {
				kk.p = k.ptr;
				kk.n = k.len;
			}
			if ((rc = copy_obj(out, c)) < 0 ||
			    (rc = rewrite(out, c, signal, depth + 1, kk, key)) < 0)
				return rc;
		}
		return 0;
	default:
		return buf_append(out, start, (size_t)(c->p - start));
	}
}

/* A context is a map holding "metrics" (cmetrics) or "resourceSpans" (ctraces) as an array. */
static bool is_context(int signal, struct mp_cur c)
{
	const char *p;
	size_t n;
	struct mp_cur v;
	struct mp_obj o;

	if (!map_find(c, signal == 1 ? "metrics" : "resourceSpans", &p, &n))
		return false;
	mp_cur_init(&v, p, n);
	return mp_read(&v, &o) == 0 && o.type == MP_ARRAY;
}

int fwd_render_context(int signal, struct mp_cur *c, struct buf *scratch, struct buf *out)
{
	static const struct key none = { "", 0 };
	struct mp_cur obj, v;
	int rc;

	if (take_obj(c, &obj) < 0)
		return -EBADMSG;
	if ((signal != 1 && signal != 2) || !is_context(signal, obj))
		return -EBADMSG;
	buf_reset(scratch);
	if ((rc = rewrite(scratch, &obj, signal, 0, none, none)) < 0)
		return rc == MP_EBAD || rc == MP_ETRUNC ? -EBADMSG : rc;
	mp_cur_init(&v, scratch->data, scratch->len);
	if ((rc = mpjson_write(out, &v)) < 0)
		return rc == MP_EBAD || rc == MP_ETRUNC ? -EBADMSG : rc;
	return 0;
}

/* One context map, or an array of them (fluentd_compat wraps the context in an array). */
static int render_contexts(struct frame_ctx *x, struct mp_cur *rec, size_t idx)
{
	struct fwd_decoder *d = x->d;
	const char *what = x->signal == 1 ? "cmetrics" : "ctraces";
	struct mp_cur c = *rec;
	struct mp_obj o;
	uint32_t i, n = 1;
	int rc;

	if (mp_read(&c, &o) < 0)
		return bad(x, "entry %zu is truncated", idx);
	if (o.type == MP_ARRAY)
		n = o.len;
	else
		c = *rec;
	for (i = 0; i < n; i++) {
		buf_reset(&d->line);
		rc = fwd_render_context(x->signal, &c, &d->scratch, &d->line);
		if (rc == -EBADMSG)
			return bad(x, "entry %zu: object %u is not a %s context", idx, i, what);
		if (rc == 0)
			rc = chunk_add_line(&d->cb, d->line.data, d->line.len);
		if (rc == -ENOSPC) {
			snprintf(x->err, x->errlen, "%s context %u of entry %zu is over the limit", what, i, idx);
			return -EMSGSIZE;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- modes ------------------------------------------------------------------------ */

/* Message: [tag, time, record, options?]; the cursor is on time. */
static int decode_message(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_cur body;
	struct mp_obj t;
	int64_t ts;

	if (mp_read(c, &t) < 0 || mp_time_ns(&t, &ts) < 0)
		return bad(x, "time is not an integer, a float or an EventTime");
	if (take_obj(c, &body) < 0)
		return bad(x, "record is truncated");
	if (x->signal != 0)
		return render_contexts(x, &body, 0);
	return add_log(x, 0, ts, x->has_meta ? &x->meta : NULL, &body);
}

/* Forward: [tag, [entry...], options?]; the cursor is on the entries array. */
static int decode_forward(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_obj o;
	uint32_t i;
	int rc;

	if (mp_read(c, &o) < 0 || o.type != MP_ARRAY)
		return bad(x, "entries are not an array");
	x->entries = true;
	for (i = 0; i < o.len; i++)
		if ((rc = entry(x, c, i)) < 0)
			return rc;
	return 0;
}

/* PackedForward and CompressedPackedForward: [tag, str|bin(entries...), options?]. */
static int decode_packed(struct frame_ctx *x, struct mp_cur *c)
{
	struct fwd_decoder *d = x->d;
	struct mp_obj o;
	struct mp_cur e;
	size_t idx;
	int rc = 0;

	if (mp_read(c, &o) < 0 || (o.type != MP_STR && o.type != MP_BIN))
		return bad(x, "entries are not a str or bin");
	x->entries = true;
	if (x->comp == COMP_NONE) {
		mp_cur_init(&e, o.ptr, o.len);
	} else {
		char why[256];

		/* The same bounded decoders as every HTTP input (lib/decompress), whose reasons
		 * name the limit (a zstd window over it is not "invalid zstd"). */
		buf_reset(&d->plain);
		rc = dc_decode(x->comp == COMP_GZIP ? DC_GZIP : DC_ZSTD, o.ptr, o.len, d->max_bytes, &d->plain, why, sizeof(why));
		if (rc == -ENOSPC) {
			snprintf(x->err, x->errlen, "%s payload inflates past buffer_max_size (%zu bytes): %s",
				 x->comp == COMP_GZIP ? "gzip" : "zstd", d->max_bytes, why);
			return -EMSGSIZE;
		}
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return bad(x, "payload: %s", why);
		mp_cur_init(&e, d->plain.data, d->plain.len);
	}
	for (idx = 0; mp_cur_left(&e) > 0; idx++) {
		if (x->signal != 0) {
			struct mp_cur p = e;

			/* Bare contexts, as Fluent Bit sends them, or [time, context] entries. */
			if (mp_read(&p, &o) == 0 && o.type == MP_MAP) {
				struct mp_cur obj;

				if (take_obj(&e, &obj) < 0)
					return bad(x, "object %zu of the payload is truncated", idx);
				if ((rc = render_contexts(x, &obj, idx)) < 0)
					return rc;
				continue;
			}
		}
		if ((rc = entry(x, &e, idx)) < 0)
			return rc;
	}
	return 0;
}

enum mode_id { MODE_MESSAGE, MODE_FORWARD, MODE_PACKED, MODE_COMPRESSED };

/* The modes: the type of the second element picks one; its element counts bound the
 * frame; `decode` starts on the second element. */
static const struct fwd_mode {
	const char *name;
	uint32_t min_len, max_len;
	int (*decode)(struct frame_ctx *x, struct mp_cur *c);
} modes[] = {
	[MODE_MESSAGE] = { "message", 3, 4, decode_message },
	[MODE_FORWARD] = { "forward", 2, 3, decode_forward },
	[MODE_PACKED] = { "packed", 2, 3, decode_packed },
	[MODE_COMPRESSED] = { "compressed", 2, 3, decode_packed },
};

static int set_tag(struct frame_ctx *x, const struct mp_obj *tag)
{
	struct fwd_decoder *d = x->d;
	int rc;

	buf_reset(&d->tag);
	if (memchr(tag->ptr, '\0', tag->len))
		return bad(x, "tag contains a NUL byte");
	if (d->tag_override)
		rc = buf_puts(&d->tag, d->tag_override);
	else if ((rc = buf_puts(&d->tag, d->tag_prefix ? d->tag_prefix : "")) == 0)
		rc = buf_append(&d->tag, tag->ptr, tag->len);
	if (rc == 0)
		rc = buf_putc(&d->tag, '\0');
	if (rc == -ENOSPC)
		return bad(x, "tag is %u bytes long", tag->len);
	return rc;
}

int fwd_decode_frame(struct fwd_decoder *d, const char *p, size_t n, struct fwd_frame *f,
		     char *err, size_t errlen)
{
	static const enum stream_kind kinds[] = { STREAM_LOGS, STREAM_METRICS, STREAM_TRACES };
	struct frame_ctx x = { .d = d, .f = f, .err = err, .errlen = errlen };
	struct mp_cur c, second, opt;
	struct mp_obj o, tag, s;
	const struct fwd_mode *m;
	enum mode_id id;
	uint32_t i, skip;
	int rc;

	memset(f, 0, sizeof(*f));
	f->cb = &d->cb;
	if (errlen)
		err[0] = '\0';
	d->cb.records = 0;
	log_group_reset(&d->group);
	buf_reset(&d->cb.text);
	buf_reset(&d->cb.marks);
	mp_cur_init(&c, p, n);
	if (mp_read(&c, &o) < 0 || o.type != MP_ARRAY)
		return bad(&x, "frame is not an array");
	if (o.len < 2 || o.len > 4)
		return bad(&x, "frame has %u elements (a Forward frame has 2 to 4)", o.len);
	if (mp_read(&c, &tag) < 0 || tag.type != MP_STR)
		return bad(&x, "tag is not a string");
	second = c;
	if (mp_read(&second, &s) < 0)
		return bad(&x, "frame is truncated");
	id = s.type == MP_ARRAY ? MODE_FORWARD : s.type == MP_STR || s.type == MP_BIN ? MODE_PACKED : MODE_MESSAGE;
	m = &modes[id];
	if (o.len < m->min_len || o.len > m->max_len)
		return bad(&x, "%s mode frame has %u elements (%u or %u)", m->name, o.len, m->min_len, m->max_len);
	/* The options come last but decide how the rest reads: find them first. */
	opt = c;
	skip = m->min_len - 1;
	for (i = 0; i < skip; i++)
		if (mp_skip(&opt) < 0)
			return bad(&x, "frame is truncated");
	if (o.len == m->max_len && (rc = parse_options(&x, &opt)) < 0)
		return rc;
	if (id == MODE_PACKED && x.comp != COMP_NONE)
		m = &modes[id = MODE_COMPRESSED];
	f->mode = m->name;
	f->signal = x.signal;
	if ((rc = set_tag(&x, &tag)) < 0 || (rc = builder_reset(d, kinds[x.signal])) < 0)
		return rc;
	rc = m->decode(&x, &c);
	if (rc < 0) {
		d->cb.records = 0;
		buf_reset(&d->cb.text);
		buf_reset(&d->cb.marks);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}
