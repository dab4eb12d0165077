/* store.c: chunks in per-stream rings; one mutex per stream guards IDs, ring and bytes. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mpjson.h"

struct chunk {
	atomic_uint refs;
	uint64_t id;
	enum stream_kind kind;
	uint32_t records;
	size_t len;        /* bytes of legacy text: what the budget counts */
	uint32_t *marks;   /* logs: 2 per record (offset, length of the injected _tag) */
	char *tag;
	char *source_type;
	char *source_name;
	char *v1_extra;    /* JSON member for the v1 object, or NULL */
	char *source;      /* followed chunks: the upstream's source object; NULL = local */
	uint64_t local_seq; /* local chunks: how many local chunks the stream had before */
	char *text;
};

struct stream {
	pthread_mutex_t lock;
	enum stream_kind kind;
	struct chunk **ring;
	size_t cap;
	size_t head;       /* index of the oldest chunk */
	size_t count;
	uint64_t next_id;
	size_t used;
	size_t budget;
	uint64_t appended, records, evicted, dropped, reads;
	uint64_t local_appended; /* local chunks ever appended: the next local_seq */
	uint64_t local_last;     /* ID of the newest local chunk, valid when local_appended > 0 */
	stream_notify_fn notify;
	void *notify_arg;
};

static const char *const kind_names[STREAM_COUNT] = { "logs", "metrics", "traces" };

const char *stream_kind_name(enum stream_kind k)
{
	return k < STREAM_COUNT ? kind_names[k] : "?";
}

static void chunk_unref(struct chunk *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		free(c);
}

struct stream *stream_new(enum stream_kind kind, size_t budget)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->kind = kind;
	s->budget = budget;
	return s;
}

void stream_free(struct stream *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->count; i++)
		chunk_unref(s->ring[(s->head + i) % s->cap]);
	free(s->ring);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void stream_set_notify(struct stream *s, stream_notify_fn fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->notify = fn;
	s->notify_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

/* Pop the oldest chunk (lock held); the caller unrefs it after unlocking. */
static struct chunk *pop_oldest(struct stream *s)
{
	struct chunk *c = s->ring[s->head];

	s->ring[s->head] = NULL;
	s->head = (s->head + 1) % s->cap;
	s->count--;
	s->used -= c->len;
	return c;
}

/* Chunks popped under the lock, released after it: freeing never holds up writers. */
struct popped {
	struct chunk *stack[64];
	struct chunk **list;
	size_t n, cap;
};

static void popped_add(struct popped *p, struct chunk *c)
{
	if (p->n < 64) {
		p->stack[p->n++] = c;
		return;
	}
	if (p->n - 64 == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct chunk **l = realloc(p->list, cap * sizeof(*l));

		if (!l) { /* cannot defer: release now (only costs lock time) */
			chunk_unref(c);
			return;
		}
		p->list = l;
		p->cap = cap;
	}
	p->list[p->n++ - 64] = c;
}

static void popped_release(struct popped *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		chunk_unref(i < 64 ? p->stack[i] : p->list[i - 64]);
	free(p->list);
}

static void evict_for(struct stream *s, size_t n, struct popped *p)
{
	while (s->count && (s->used + n > s->budget || n > s->budget)) {
		popped_add(p, pop_oldest(s));
		s->evicted++;
	}
}

void stream_set_budget(struct stream *s, size_t budget)
{
	struct popped p = { .n = 0 };

	pthread_mutex_lock(&s->lock);
	s->budget = budget;
	/* Keep the newest chunk even when it alone exceeds the new budget. */
	while (s->count > 1 && s->used > s->budget) {
		popped_add(&p, pop_oldest(s));
		s->evicted++;
	}
	pthread_mutex_unlock(&s->lock);
	popped_release(&p);
}

int chunk_builder_init(struct chunk_builder *cb, enum stream_kind kind, const char *tag,
		       const char *source_type, const char *source_name, size_t limit)
{
	memset(cb, 0, sizeof(*cb));
	buf_init(&cb->text, limit);
	buf_init(&cb->marks, SIZE_MAX);
	buf_init(&cb->filtered, limit);
	cb->kind = kind;
	cb->tag = strdup(tag ? tag : "");
	cb->source_type = strdup(source_type ? source_type : "");
	cb->source_name = strdup(source_name ? source_name : "");
	if (!cb->tag || !cb->source_type || !cb->source_name) {
		chunk_builder_free(cb);
		return -ENOMEM;
	}
	return 0;
}

void chunk_builder_free(struct chunk_builder *cb)
{
	if (!cb)
		return;
	buf_free(&cb->text);
	buf_free(&cb->marks);
	buf_free(&cb->filtered);
	free(cb->tag);
	free(cb->source_type);
	free(cb->source_name);
	free(cb->v1_extra);
	free(cb->source);
	cb->tag = cb->source_type = cb->source_name = cb->v1_extra = cb->source = NULL;
	cb->v1_extra_len = cb->source_len = 0;
	cb->records = 0;
}

/* Replace an owned copy of n bytes (n = 0: none). */
static int set_copy(char **dst, size_t *dlen, const char *src, size_t n)
{
	char *m = NULL;

	if (n && !(m = malloc(n + 1)))
		return -ENOMEM;
	if (n) {
		memcpy(m, src, n);
		m[n] = '\0';
	}
	free(*dst);
	*dst = m;
	*dlen = n;
	return 0;
}

int chunk_builder_set_source(struct chunk_builder *cb, const char *json, size_t n)
{
	return set_copy(&cb->source, &cb->source_len, json, n);
}

int chunk_builder_set_v1_extra(struct chunk_builder *cb, const char *member, size_t n)
{
	return set_copy(&cb->v1_extra, &cb->v1_extra_len, member, n);
}

static _Atomic(chunk_filter_fn) log_filter;

void chunk_set_filter(chunk_filter_fn fn)
{
	atomic_store(&log_filter, fn);
}

int chunk_add_log(struct chunk_builder *cb, int64_t ts_ns, struct mp_cur *meta, struct mp_cur *body)
{
	size_t mark = cb->text.len, off = 0, len = 0;
	chunk_filter_fn filter = atomic_load(&log_filter);
	struct mp_cur filtered;
	uint32_t m[2];
	int rc;

	if (filter && cb->kind == STREAM_LOGS) {
		buf_reset(&cb->filtered);
		rc = filter(cb->tag, body, &cb->filtered);
		/* A dropped record's bytes are consumed as a stored one's would be. */
		if (rc == 2)
			return (meta && mp_skip(meta) < 0) || mp_skip(body) < 0 ? MP_EBAD : 0;
		if (rc == 1) {
			if (mp_skip(body) < 0)
				return MP_EBAD;
			mp_cur_init(&filtered, cb->filtered.data, cb->filtered.len);
			body = &filtered;
		}
	}
	rc = mpjson_write_record(&cb->text, ts_ns, cb->tag, meta, body, &off, &len);
	if (rc == 0) {
		m[0] = (uint32_t)(off - mark);
		m[1] = (uint32_t)len;
		rc = buf_append(&cb->marks, m, sizeof(m));
	}
	if (rc < 0) {
		cb->text.len = mark;
		return rc;
	}
	cb->records++;
	return 0;
}

int chunk_add_log_line(struct chunk_builder *cb, const char *line, size_t n, size_t mark_off, size_t mark_len)
{
	size_t mark = cb->text.len;
	uint32_t m[2];
	int rc;

	if (mark_off > n || mark_len > n - mark_off || n > UINT32_MAX)
		return -EINVAL;
	m[0] = (uint32_t)mark_off;
	m[1] = (uint32_t)mark_len;
	if ((rc = buf_append(&cb->text, line, n)) < 0 || (rc = buf_putc(&cb->text, '\n')) < 0 ||
	    (rc = buf_append(&cb->marks, m, sizeof(m))) < 0) {
		cb->text.len = mark;
		return rc;
	}
	cb->records++;
	return 0;
}

int chunk_add_line(struct chunk_builder *cb, const char *json, size_t n)
{
	size_t mark = cb->text.len;
	int rc;

	if ((rc = buf_append(&cb->text, json, n)) < 0 || (rc = buf_putc(&cb->text, '\n')) < 0) {
		cb->text.len = mark;
		return rc;
	}
	cb->records++;
	return 0;
}

/* Turn a builder into one allocation: header, text, marks and names. */
static struct chunk *chunk_from_builder(struct chunk_builder *cb)
{
	size_t tl = strlen(cb->tag) + 1, sl = strlen(cb->source_type) + 1;
	size_t nl = strlen(cb->source_name) + 1, ml = cb->marks.len;
	size_t xl = cb->v1_extra ? cb->v1_extra_len + 1 : 0;
	size_t ol = cb->source ? cb->source_len + 1 : 0;
	size_t total = sizeof(struct chunk) + ml + cb->text.len + 1 + tl + sl + nl + xl + ol;
	struct chunk *c = malloc(total);
	char *p;

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->kind = cb->kind;
	c->records = cb->records;
	c->len = cb->text.len;
	p = (char *)(c + 1);
	c->marks = ml ? (uint32_t *)p : NULL;
	if (ml)
		memcpy(p, cb->marks.data, ml);
	p += ml;
	c->text = p;
	memcpy(p, cb->text.data, cb->text.len);
	p[cb->text.len] = '\0';
	p += cb->text.len + 1;
	c->tag = memcpy(p, cb->tag, tl);
	p += tl;
	c->source_type = memcpy(p, cb->source_type, sl);
	p += sl;
	c->source_name = memcpy(p, cb->source_name, nl);
	p += nl;
	c->v1_extra = xl ? memcpy(p, cb->v1_extra, xl) : NULL;
	p += xl;
	c->source = ol ? memcpy(p, cb->source, ol) : NULL;
	c->local_seq = 0;
	return c;
}

static int ring_grow(struct stream *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, i;
	struct chunk **r = malloc(cap * sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (i = 0; i < s->count; i++)
		r[i] = s->ring[(s->head + i) % s->cap];
	free(s->ring);
	s->ring = r;
	s->cap = cap;
	s->head = 0;
	return 0;
}

int stream_append(struct stream *s, struct chunk_builder *cb, uint64_t *id)
{
	struct popped p = { .n = 0 };
	stream_notify_fn notify;
	void *arg;
	struct chunk *c;
	uint64_t cid;
	bool local;
	int rc = 0;

	if (cb->records == 0 || cb->text.len == 0)
		return -EINVAL;
	if (!(c = chunk_from_builder(cb)))
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	evict_for(s, c->len, &p);
	if (s->count == s->cap && (rc = ring_grow(s)) < 0) {
		pthread_mutex_unlock(&s->lock);
		popped_release(&p);
		free(c);
		return rc;
	}
	c->id = s->next_id++;
	if (!c->source) {
		c->local_seq = s->local_appended++;
		s->local_last = c->id;
	}
	s->ring[(s->head + s->count) % s->cap] = c;
	s->count++;
	s->used += c->len;
	s->appended++;
	s->records += c->records;
	notify = s->notify;
	arg = s->notify_arg;
	cid = c->id;
	local = c->source == NULL;
	if (id)
		*id = cid;
	pthread_mutex_unlock(&s->lock);
	popped_release(&p);
	buf_reset(&cb->text);
	buf_reset(&cb->marks);
	cb->records = 0;
	chunk_builder_set_v1_extra(cb, NULL, 0);
	chunk_builder_set_source(cb, NULL, 0);
	if (notify)
		notify(arg, cid, local);
	return 0;
}

int stream_read(struct stream *s, uint64_t from, uint64_t to, uint64_t limit, struct stream_view *v)
{
	return stream_read_filtered(s, from, to, limit, false, v);
}

int stream_read_filtered(struct stream *s, uint64_t from, uint64_t to, uint64_t limit, bool local_only,
			 struct stream_view *v)
{
	uint64_t oldest, first, last, n, i, got = 0;

	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&s->lock);
	s->reads++;
	v->next_id = s->next_id;
	oldest = s->next_id - s->count;
	first = from > oldest ? from : oldest;
	last = s->next_id ? s->next_id - 1 : 0;
	if (to < last)
		last = to;
	if (local_only && (s->local_appended == 0 || s->local_last < first))
		first = last + 1; /* no local chunk in the range: skip the scan */
	if (s->count == 0 || first > last || first >= s->next_id) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	n = last - first + 1;
	if (limit && n > limit)
		n = limit;
	if (!(v->chunks = malloc(n * sizeof(*v->chunks)))) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	/* IDs are contiguous in the ring: position = id - oldest. */
	for (i = first - oldest; i <= last - oldest && got < n; i++) {
		struct chunk *c = s->ring[(s->head + i) % s->cap];

		if (local_only && c->source)
			continue;
		atomic_fetch_add(&c->refs, 1);
		v->chunks[got++] = c;
	}
	pthread_mutex_unlock(&s->lock);
	if (got == 0) {
		free(v->chunks);
		v->chunks = NULL;
		return 0;
	}
	v->count = got;
	v->first_id = v->chunks[0]->id;
	v->last_id = v->chunks[got - 1]->id;
	return 0;
}

void stream_view_release(struct stream_view *v)
{
	size_t i;

	for (i = 0; i < v->count; i++)
		chunk_unref(v->chunks[i]);
	free(v->chunks);
	v->chunks = NULL;
	v->count = 0;
}

void stream_drop_through(struct stream *s, uint64_t last_id)
{
	struct popped p = { .n = 0 };

	pthread_mutex_lock(&s->lock);
	while (s->count && s->ring[s->head]->id <= last_id) {
		popped_add(&p, pop_oldest(s));
		s->dropped++;
	}
	pthread_mutex_unlock(&s->lock);
	popped_release(&p);
}

bool stream_has_local_from(struct stream *s, uint64_t from)
{
	bool yes;

	pthread_mutex_lock(&s->lock);
	/* The newest local chunk is held when its ID is not older than the oldest held. */
	yes = s->count > 0 && s->local_appended > 0 && s->local_last >= from &&
	      s->local_last >= s->next_id - s->count;
	pthread_mutex_unlock(&s->lock);
	return yes;
}

bool stream_newest(struct stream *s, uint64_t *newest, uint64_t *local_newest, bool *local_ok)
{
	bool any;

	pthread_mutex_lock(&s->lock);
	any = s->count > 0;
	*newest = any ? s->next_id - 1 : 0;
	*local_ok = any && s->local_appended > 0 && s->local_last >= s->next_id - s->count;
	*local_newest = *local_ok ? s->local_last : 0;
	pthread_mutex_unlock(&s->lock);
	return any;
}

bool stream_has_from(struct stream *s, uint64_t from)
{
	bool yes;

	pthread_mutex_lock(&s->lock);
	yes = s->count > 0 && s->next_id > from;
	pthread_mutex_unlock(&s->lock);
	return yes;
}

uint64_t chunk_id(const struct chunk *c)
{
	return c->id;
}

uint32_t chunk_records(const struct chunk *c)
{
	return c->records;
}

const char *chunk_text(const struct chunk *c, size_t *len)
{
	*len = c->len;
	return c->text;
}

bool chunk_is_local(const struct chunk *c)
{
	return c->source == NULL;
}

/* "source_type","source_name","tag" members, then "source" and the extra member if any. */
static int write_members(const struct chunk *c, struct buf *out)
{
	int rc;

	if ((rc = buf_puts(out, "\"source_type\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->source_type, strlen(c->source_type))) < 0 ||
	    (rc = buf_puts(out, ",\"source_name\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->source_name, strlen(c->source_name))) < 0 ||
	    (rc = buf_puts(out, ",\"tag\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->tag, strlen(c->tag))) < 0 ||
	    (c->source && ((rc = buf_puts(out, ",\"source\":")) < 0 || (rc = buf_puts(out, c->source)) < 0)) ||
	    (c->v1_extra && ((rc = buf_putc(out, ',')) < 0 || (rc = buf_puts(out, c->v1_extra)) < 0)))
		return rc;
	return 0;
}

/* The records as a comma-separated list: log lines without their marked span, other
 * lines as they are; with `source`, "source" is added first in each line (metrics, traces). */
static int write_records(const struct chunk *c, struct buf *out, const char *source)
{
	const char *p = c->text, *end = c->text + c->len;
	uint32_t r = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
		uint32_t off = c->marks ? c->marks[2 * r] : 0, len = c->marks ? c->marks[2 * r + 1] : 0;

		if (r && (rc = buf_putc(out, c->kind == STREAM_LOGS ? ',' : '\n')) < 0)
			return rc;
		if (len && off + len <= line) {
			if ((rc = buf_append(out, p, off)) < 0 ||
			    (rc = buf_append(out, p + off + len, line - off - len)) < 0)
				return rc;
		} else if (source && line >= 2 && p[0] == '{') {
			if ((rc = buf_puts(out, "{\"source\":")) < 0 || (rc = buf_puts(out, source)) < 0 ||
			    (p[1] != '}' && (rc = buf_putc(out, ',')) < 0) || (rc = buf_append(out, p + 1, line - 1)) < 0)
				return rc;
		} else if ((rc = buf_append(out, p, line)) < 0) {
			return rc;
		}
		p += line + 1;
		r++;
	}
	return 0;
}

int chunk_write_v1(const struct chunk *c, struct buf *out)
{
	int rc;

	if (c->kind != STREAM_LOGS) {
		if (!c->source)
			return buf_append(out, c->text, c->len);
		if ((rc = write_records(c, out, c->source)) < 0)
			return rc;
		return buf_putc(out, '\n');
	}
	if ((rc = buf_putc(out, '{')) < 0 || (rc = write_members(c, out)) < 0 ||
	    (rc = buf_puts(out, ",\"records\":[")) < 0 || (rc = write_records(c, out, NULL)) < 0)
		return rc;
	return buf_append(out, "]}\n", 3);
}

int chunk_write_envelope(const struct chunk *c, struct buf *out)
{
	const char *p = c->text, *end = c->text + c->len;
	int rc;

	if ((rc = buf_printf(out, "{\"id\":%llu", (unsigned long long)c->id)) < 0 ||
	    (!c->source && (rc = buf_printf(out, ",\"local_seq\":%llu", (unsigned long long)c->local_seq)) < 0) ||
	    (rc = buf_putc(out, ',')) < 0 || (rc = write_members(c, out)) < 0 ||
	    (rc = buf_puts(out, ",\"records\":[")) < 0)
		return rc;
	if (c->kind == STREAM_LOGS) {
		if ((rc = write_records(c, out, NULL)) < 0)
			return rc;
	} else {
		/* Every line is one JSON value without a newline inside: join them with commas. */
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if ((p != c->text && (rc = buf_putc(out, ',')) < 0) || (rc = buf_append(out, p, line)) < 0)
				return rc;
			p += line + 1;
		}
	}
	return buf_append(out, "]}\n", 3);
}

void stream_get_stats(struct stream *s, struct stream_stats *st)
{
	pthread_mutex_lock(&s->lock);
	st->chunks = s->count;
	st->next_id = s->next_id;
	st->oldest_id = s->next_id - s->count;
	st->bytes_used = s->used;
	st->bytes_max = s->budget;
	st->appended = s->appended;
	st->records = s->records;
	st->evicted = s->evicted;
	st->dropped = s->dropped;
	st->reads = s->reads;
	st->local = s->local_appended;
	pthread_mutex_unlock(&s->lock);
}
