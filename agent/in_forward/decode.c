/* in_forward/decode.c: Forward frames to chunks: the mode table, options, entries, gzip/zstd payloads; group markers through loggroup.c, metrics/traces contexts (contexts.c) apart. */
#include "decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decompress.h"
#include "frame.h"
#include "loggroup.h"
#include "mp.h"

/* Builders that grew past this for one big frame give the memory back afterwards. */
#define SHRINK_ABOVE (4u << 20)
#define GROUP_END_NS (-2 * 1000000000LL) /* loggroup.h: the end marker's time */
/* An ack echoes options.chunk: a longer one is not a chunk ID but an attempt to make
 * the server buffer output. */
#define ACK_MAX 1024

int fwd_bad(struct frame_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, x->errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
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


int fwd_take_obj(struct mp_cur *c, struct mp_cur *obj)
{
	const char *s = c->p;

	if (mp_skip(c) < 0)
		return -1;
	mp_cur_init(obj, s, (size_t)(c->p - s));
	return 0;
}

/* The metadata of Fluent Bit's group start marker: a map with "schema":"otlp". */
static bool otlp_schema(const struct mp_cur *meta)
{
	struct mp_cur v;
	struct mp_obj o;
	const char *p;
	size_t n;

	if (!meta || !mp_map_find(*meta, "schema", &p, &n))
		return false;
	mp_cur_init(&v, p, n);
	return mp_read(&v, &o) == 0 && o.type == MP_STR && mp_str_eq(&o, "otlp");
}

int fwd_add_log(struct frame_ctx *x, size_t idx, int64_t ts, struct mp_cur *meta, struct mp_cur *body)
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
		return mp_skip(body) < 0 ? fwd_bad(x, "entry %zu is truncated", idx) : 0;
	}
	if ((rc = log_group_meta(&x->d->group, meta, &merged, &meta)) == -ENOSPC)
		return -EMSGSIZE;
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fwd_bad(x, "entry %zu: metadata is not a map", idx);
	rc = chunk_add_log(&x->d->cb, ts, meta, body);
	if (rc == -ENOSPC) {
		snprintf(x->err, x->errlen, "records render over the chunk limit of %zu bytes at entry %zu",
			 x->d->chunk_max, idx);
		return -EMSGSIZE;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fwd_bad(x, "entry %zu: record is not a map (or its metadata is not)", idx);
	return 0;
}

/* --- options ---------------------------------------------------------------------- */

static int option_compressed(struct frame_ctx *x, const struct mp_obj *v)
{
	if (v->type != MP_STR)
		return fwd_bad(x, "option compressed is not a string");
	if (mp_str_eq(v, "gzip")) {
		x->comp = COMP_GZIP;
	} else if (mp_str_eq(v, "zstd")) {
#ifdef HAVE_ZSTD
		x->comp = COMP_ZSTD;
#else
		return fwd_bad(x, "compressed \"zstd\" is not supported by this build");
#endif
	} else if (mp_str_eq(v, "text") || v->len == 0) {
		x->comp = COMP_NONE;
	} else {
		return fwd_bad(x, "unsupported compression \"%.*s\" (gzip, zstd or text)",
			       (int)(v->len > 32 ? 32 : v->len), v->ptr);
	}
	return 0;
}

/* One option: key `k`, value header `v` (vc: the cursor on the value). size and unknown
 * keys are ignored. */
static int option(struct frame_ctx *x, const struct mp_obj *k, const struct mp_obj *v, struct mp_cur vc)
{
	if (mp_key_is(k, "chunk")) {
		if (v->type != MP_STR && v->type != MP_BIN)
			return fwd_bad(x, "option chunk is not a string");
		if (v->len > ACK_MAX)
			return fwd_bad(x, "option chunk is %u bytes (at most %d)", v->len, ACK_MAX);
		x->f->ack = v->ptr;
		x->f->ack_len = v->len;
	} else if (mp_key_is(k, "compressed")) {
		return option_compressed(x, v);
	} else if (mp_key_is(k, "fluent_signal")) {
		if (v->type != MP_UINT || v->v.u > 2)
			return fwd_bad(x, "fluent_signal must be 0 (logs), 1 (metrics) or 2 (traces)");
		x->signal = (int)v->v.u;
	} else if (mp_key_is(k, "metadata")) {
		if (v->type == MP_MAP) {
			/* Bound the metadata cursor to its own object. */
			if (fwd_take_obj(&vc, &x->meta) < 0)
				return fwd_bad(x, "option metadata is truncated");
			x->has_meta = true;
		} else if (v->type != MP_NIL) {
			return fwd_bad(x, "option metadata is not a map");
		}
	}
	return 0;
}

static int parse_options(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_obj o, k, v;
	uint32_t i;
	int rc;

	if (mp_read(c, &o) < 0)
		return fwd_bad(x, "options are not msgpack");
	if (o.type == MP_NIL)
		return 0;
	if (o.type != MP_MAP)
		return fwd_bad(x, "options are not a map");
	for (i = 0; i < o.len; i++) {
		struct mp_cur kc = *c, vc, hc;

		/* Each header is read from a copy; the cursor steps over the whole key and
		 * value, either of which may be a container. */
		if (mp_read(&kc, &k) < 0 || mp_skip(c) < 0)
			return fwd_bad(x, "options are truncated");
		vc = hc = *c;
		if (mp_read(&hc, &v) < 0 || mp_skip(c) < 0)
			return fwd_bad(x, "options are truncated");
		if ((rc = option(x, &k, &v, vc)) < 0)
			return rc;
	}
	return 0;
}

/* --- entries ---------------------------------------------------------------------- */

/* The time slot of an entry: time, or [time, metadata]. */
static int entry_time(struct frame_ctx *x, struct mp_cur *c, size_t idx, int64_t *ts,
		      struct mp_cur *meta, bool *has_meta)
{
	struct mp_obj t, m;

	*has_meta = false;
	if (mp_read(c, &t) < 0)
		return fwd_bad(x, "entry %zu is truncated", idx);
	if (t.type == MP_ARRAY) {
		struct mp_cur mc;

		if (t.len != 2)
			return fwd_bad(x, "entry %zu: [time, metadata] has %u elements", idx, t.len);
		if (mp_read(c, &t) < 0)
			return fwd_bad(x, "entry %zu is truncated", idx);
		mc = *c;
		if (mp_read(&mc, &m) < 0)
			return fwd_bad(x, "entry %zu is truncated", idx);
		if (m.type == MP_MAP) {
			if (fwd_take_obj(c, meta) < 0)
				return fwd_bad(x, "entry %zu is truncated", idx);
			*has_meta = true;
		} else if (m.type == MP_NIL) {
			*c = mc;
		} else {
			return fwd_bad(x, "entry %zu: metadata is not a map", idx);
		}
	}
	if (mp_time_ns(&t, ts) < 0)
		return fwd_bad(x, "entry %zu: time is not an integer, a float or an EventTime", idx);
	return 0;
}

/* One entry [time, record] or [[time, metadata], record]. */
static int entry(struct frame_ctx *x, struct mp_cur *c, size_t idx)
{
	struct mp_cur meta, body;
	struct mp_obj o;
	bool has_meta;
	int64_t ts;
	int rc;

	if (mp_read(c, &o) < 0)
		return fwd_bad(x, "entry %zu is truncated", idx);
	if (o.type != MP_ARRAY || o.len != 2)
		return fwd_bad(x, "entry %zu is not a [time, record] array", idx);
	if ((rc = entry_time(x, c, idx, &ts, &meta, &has_meta)) < 0)
		return rc;
	if (x->signal != 0) {
		if (fwd_take_obj(c, &body) < 0)
			return fwd_bad(x, "entry %zu is truncated", idx);
		return fwd_render_contexts(x, &body, idx);
	}
	/* The record is rendered straight from the frame: the renderer reads exactly one
	 * object and leaves the cursor after it (no separate walk to find its end). */
	return fwd_add_log(x, idx, ts, has_meta ? &meta : NULL, c);
}

/* --- modes ------------------------------------------------------------------------ */

/* Message: [tag, time, record, options?]; the cursor is on time. */
static int decode_message(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_cur body;
	struct mp_obj t;
	int64_t ts;

	if (mp_read(c, &t) < 0 || mp_time_ns(&t, &ts) < 0)
		return fwd_bad(x, "time is not an integer, a float or an EventTime");
	if (fwd_take_obj(c, &body) < 0)
		return fwd_bad(x, "record is truncated");
	if (x->signal != 0)
		return fwd_render_contexts(x, &body, 0);
	return fwd_add_log(x, 0, ts, x->has_meta ? &x->meta : NULL, &body);
}

/* Forward: [tag, [entry...], options?]; the cursor is on the entries array. */
static int decode_forward(struct frame_ctx *x, struct mp_cur *c)
{
	struct mp_obj o;
	uint32_t i;
	int rc;

	if (mp_read(c, &o) < 0 || o.type != MP_ARRAY)
		return fwd_bad(x, "entries are not an array");
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
		return fwd_bad(x, "entries are not a str or bin");
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
			return fwd_bad(x, "payload: %s", why);
		mp_cur_init(&e, d->plain.data, d->plain.len);
	}
	for (idx = 0; mp_cur_left(&e) > 0; idx++) {
		if (x->signal != 0) {
			struct mp_cur p = e;

			/* Bare contexts, as Fluent Bit sends them, or [time, context] entries. */
			if (mp_read(&p, &o) == 0 && o.type == MP_MAP) {
				struct mp_cur obj;

				if (fwd_take_obj(&e, &obj) < 0)
					return fwd_bad(x, "object %zu of the payload is truncated", idx);
				if ((rc = fwd_render_contexts(x, &obj, idx)) < 0)
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
		return fwd_bad(x, "tag contains a NUL byte");
	if (d->tag_override)
		rc = buf_puts(&d->tag, d->tag_override);
	else if ((rc = buf_puts(&d->tag, d->tag_prefix ? d->tag_prefix : "")) == 0)
		rc = buf_append(&d->tag, tag->ptr, tag->len);
	if (rc == 0)
		rc = buf_putc(&d->tag, '\0');
	if (rc == -ENOSPC)
		return fwd_bad(x, "tag is %u bytes long", tag->len);
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
	buf_reset(&d->cb.text);
	buf_reset(&d->cb.marks);
	log_group_reset(&d->group);
	mp_cur_init(&c, p, n);
	if (mp_read(&c, &o) < 0 || o.type != MP_ARRAY)
		return fwd_bad(&x, "frame is not an array");
	if (o.len < 2 || o.len > 4)
		return fwd_bad(&x, "frame has %u elements (a Forward frame has 2 to 4)", o.len);
	if (mp_read(&c, &tag) < 0 || tag.type != MP_STR)
		return fwd_bad(&x, "tag is not a string");
	second = c;
	if (mp_read(&second, &s) < 0)
		return fwd_bad(&x, "frame is truncated");
	id = s.type == MP_ARRAY ? MODE_FORWARD : s.type == MP_STR || s.type == MP_BIN ? MODE_PACKED : MODE_MESSAGE;
	m = &modes[id];
	if (o.len < m->min_len || o.len > m->max_len)
		return fwd_bad(&x, "%s mode frame has %u elements (%u or %u)", m->name, o.len, m->min_len, m->max_len);
	/* The options come last but decide how the rest reads: find them first. */
	opt = c;
	skip = m->min_len - 1;
	for (i = 0; i < skip; i++)
		if (mp_skip(&opt) < 0)
			return fwd_bad(&x, "frame is truncated");
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
