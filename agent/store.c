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
	void (*notify)(void *);
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

void stream_set_notify(struct stream *s, void (*fn)(void *arg), void *arg)
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
	cb->tag = cb->source_type = cb->source_name = cb->v1_extra = NULL;
	cb->v1_extra_len = 0;
	cb->records = 0;
}

int chunk_builder_set_v1_extra(struct chunk_builder *cb, const char *member, size_t n)
{
	char *m = NULL;

	if (n && !(m = malloc(n + 1)))
		return -ENOMEM;
	if (n) {
		memcpy(m, member, n);
		m[n] = '\0';
	}
	free(cb->v1_extra);
	cb->v1_extra = m;
	cb->v1_extra_len = n;
	return 0;
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
	size_t total = sizeof(struct chunk) + ml + cb->text.len + 1 + tl + sl + nl + xl;
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
	void (*notify)(void *);
	void *arg;
	struct chunk *c;
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
	s->ring[(s->head + s->count) % s->cap] = c;
	s->count++;
	s->used += c->len;
	s->appended++;
	s->records += c->records;
	notify = s->notify;
	arg = s->notify_arg;
	if (id)
		*id = c->id;
	pthread_mutex_unlock(&s->lock);
	popped_release(&p);
	buf_reset(&cb->text);
	buf_reset(&cb->marks);
	cb->records = 0;
	chunk_builder_set_v1_extra(cb, NULL, 0);
	if (notify)
		notify(arg);
	return 0;
}

int stream_read(struct stream *s, uint64_t from, uint64_t to, uint64_t limit, struct stream_view *v)
{
	uint64_t oldest, first, last, n, i;

	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&s->lock);
	s->reads++;
	v->next_id = s->next_id;
	oldest = s->next_id - s->count;
	first = from > oldest ? from : oldest;
	last = s->next_id ? s->next_id - 1 : 0;
	if (to < last)
		last = to;
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
	for (i = 0; i < n; i++) {
		struct chunk *c = s->ring[(s->head + (first - oldest) + i) % s->cap];

		atomic_fetch_add(&c->refs, 1);
		v->chunks[i] = c;
	}
	pthread_mutex_unlock(&s->lock);
	v->count = n;
	v->first_id = first;
	v->last_id = first + n - 1;
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

int chunk_write_v1(const struct chunk *c, struct buf *out)
{
	const char *p = c->text, *end = c->text + c->len;
	uint32_t r = 0;
	int rc;

	if (c->kind != STREAM_LOGS)
		return buf_append(out, c->text, c->len);
	if ((rc = buf_puts(out, "{\"source_type\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->source_type, strlen(c->source_type))) < 0 ||
	    (rc = buf_puts(out, ",\"source_name\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->source_name, strlen(c->source_name))) < 0 ||
	    (rc = buf_puts(out, ",\"tag\":")) < 0 ||
	    (rc = mpjson_put_string(out, c->tag, strlen(c->tag))) < 0 ||
	    (c->v1_extra && ((rc = buf_putc(out, ',')) < 0 || (rc = buf_puts(out, c->v1_extra)) < 0)) ||
	    (rc = buf_puts(out, ",\"records\":[")) < 0)
		return rc;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
		uint32_t off = c->marks ? c->marks[2 * r] : 0, len = c->marks ? c->marks[2 * r + 1] : 0;

		if (r && (rc = buf_putc(out, ',')) < 0)
			return rc;
		if (len && off + len <= line) {
			if ((rc = buf_append(out, p, off)) < 0 ||
			    (rc = buf_append(out, p + off + len, line - off - len)) < 0)
				return rc;
		} else if ((rc = buf_append(out, p, line)) < 0) {
			return rc;
		}
		p += line + 1;
		r++;
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
	pthread_mutex_unlock(&s->lock);
}
