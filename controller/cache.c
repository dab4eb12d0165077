/* cache.c: watched objects keyed by namespace/name, each one record in the cache's own mapping (key, resourceVersion, owner, and the compact JSON deflated against a dictionary learned from the cache's objects), found through an open-addressing index; compaction, re-encoding, mark-and-sweep for re-lists. */
#include "cache.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ctlutil.h"
#include "kobj.h"
#include "zdict.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* The dictionary is re-chosen when the objects deflated since it was adopted compress
 * clearly worse than the first CACHE_BASE_PUTS did: their ratio's moving average (weight
 * 1/16) above 3/2 of that baseline (plus 16/1024), after at least max(CACHE_MIN_PUTS,
 * entries) puts, so that the re-encoding of every entry that follows costs O(1) per put. */
#define CACHE_BASE_PUTS 32u
#define CACHE_MIN_PUTS 64u

/* The records live in one anonymous mapping per cache, not on the heap: thousands of small
 * long-lived allocations there, made between the large short-lived trees of list pages and
 * reconciles, were measured pinning ~2 MB of otherwise free pages with 1,000 Vivos. The
 * mapping grows by doubling (mremap), and is rewritten compactly once dead records are over
 * a third of it; untouched pages of it are never resident. */
#define LOG_MIN (64u << 10)
#define LOG_MAX ((size_t)1 << 32)
#define LOG_MIN_DEAD (16u << 10)
#define SLOT_TOMB UINT32_MAX

#define REC_MARK 1u    /* seen in the current re-list */
#define REC_DEAD 2u    /* replaced or deleted: its bytes wait for a compaction */
#define REC_ALONE 4u   /* malloc'd, in no log: cache_obj_free frees it */

/* One record: the header, then key, resourceVersion and owner (each NUL-terminated; no owner
 * when ownerlen is 0), then the deflate data. Records in a log are 8-byte aligned. */
struct cache_obj {
	struct zdict *dict;       /* a reference (none once dead), or NULL: deflated without one */
	uint32_t size;            /* bytes of the record, padding included */
	uint32_t len;             /* bytes of the JSON text */
	uint32_t zlen;            /* bytes of deflate data */
	uint32_t hash;            /* of the key */
	uint16_t keylen, rvlen, ownerlen;
	uint8_t flags;
	unsigned char data[];
};

struct cache {
	unsigned char *log;       /* cap bytes mapped, records in [0, used) */
	size_t cap, used, dead;   /* dead: bytes of dead records */
	uint32_t *slots;          /* nslots (a power of two): 0 empty, SLOT_TOMB, else offset / 8 + 1 */
	size_t nslots, n, tombs;
	struct zdict *dict;       /* what puts deflate against (a reference), NULL before the first */
	size_t text_bytes;
	unsigned long dict_changes;
	/* How well the objects deflate against the current dictionary, in 1/1024 of their text. */
	unsigned puts;            /* puts since it was adopted */
	unsigned long base_sum;   /* sum of the first CACHE_BASE_PUTS ratios */
	unsigned avg;             /* their mean, then the moving average, x16 */
};

/* A record to be written: its strings (borrowed) and deflate data (owned). */
struct draft {
	const char *key, *rv, *owner;
	size_t keylen, rvlen, ownerlen, len, zlen, size;
	uint32_t hash;
	unsigned char *z;
	struct zdict *dict;       /* borrowed */
};

static const char *rec_rv(const struct cache_obj *o)
{
	return (const char *)o->data + o->keylen + 1;
}

static const unsigned char *rec_z(const struct cache_obj *o)
{
	return o->data + o->keylen + 1 + o->rvlen + 1 + (o->ownerlen ? o->ownerlen + 1u : 0u);
}

const char *cache_obj_rv(const struct cache_obj *o)
{
	return rec_rv(o);
}

const char *cache_obj_owner(const struct cache_obj *o)
{
	return o->ownerlen ? rec_rv(o) + o->rvlen + 1 : NULL;
}

char *cache_obj_text(const struct cache_obj *o, size_t *len)
{
	char *text = malloc((size_t)o->len + 1);

	if (!text)
		return NULL;
	if (zdict_inflate(rec_z(o), o->zlen, o->dict, text, o->len) < 0) {
		/* Only memory can fail here: the data and its dictionary are ours. */
		free(text);
		return NULL;
	}
	text[o->len] = '\0';
	if (len)
		*len = o->len;
	return text;
}

json_t *cache_obj_load(const struct cache_obj *o)
{
	size_t len;
	char *text = cache_obj_text(o, &len);
	json_t *j;

	if (!text)
		return NULL;
	j = json_loadb(text, len, 0, NULL);
	free(text);
	return j;
}

/* A draft of `text` (deflated against d) for key, rv and owner. 0, -ENOMEM or -E2BIG. */
static int draft_text(struct draft *dr, const char *key, const char *text, size_t len, struct zdict *d,
		      const char *rv, const char *owner)
{
	size_t n;
	int rc;

	memset(dr, 0, sizeof(*dr));
	dr->key = key;
	dr->rv = rv;
	dr->owner = owner && *owner ? owner : NULL;
	dr->keylen = strlen(key);
	dr->rvlen = strlen(rv);
	dr->ownerlen = dr->owner ? strlen(dr->owner) : 0;
	if (dr->keylen > UINT16_MAX || dr->rvlen > UINT16_MAX || dr->ownerlen > UINT16_MAX || len > UINT32_MAX)
		return -E2BIG;
	dr->hash = cu_fnv1a32(key, dr->keylen);
	dr->len = len;
	dr->dict = d;
	if ((rc = zdict_deflate(text, len, d, &dr->z, &dr->zlen)) < 0)
		return rc;
	n = offsetof(struct cache_obj, data) + dr->keylen + 1 + dr->rvlen + 1 + (dr->owner ? dr->ownerlen + 1 : 0) + dr->zlen;
	dr->size = (n + 7) & ~(size_t)7;
	if (dr->size > UINT32_MAX) {
		free(dr->z);
		dr->z = NULL;
		return -E2BIG;
	}
	return 0;
}

/* Write the draft as a record at `o` (dr->size bytes), taking a dictionary reference. */
static struct cache_obj *rec_write(void *at, const struct draft *dr, uint8_t flags)
{
	struct cache_obj *o = at;
	unsigned char *p = o->data;

	memset(o, 0, offsetof(struct cache_obj, data));
	o->dict = zdict_ref(dr->dict);
	o->size = (uint32_t)dr->size;
	o->len = (uint32_t)dr->len;
	o->zlen = (uint32_t)dr->zlen;
	o->hash = dr->hash;
	o->keylen = (uint16_t)dr->keylen;
	o->rvlen = (uint16_t)dr->rvlen;
	o->ownerlen = (uint16_t)dr->ownerlen;
	o->flags = flags;
	memcpy(p, dr->key, dr->keylen + 1);
	p += dr->keylen + 1;
	memcpy(p, dr->rv, dr->rvlen + 1);
	p += dr->rvlen + 1;
	if (dr->owner) {
		memcpy(p, dr->owner, dr->ownerlen + 1);
		p += dr->ownerlen + 1;
	}
	memcpy(p, dr->z, dr->zlen);
	return o;
}

/* A malloc'd copy of a record, handed out: it takes over `o`'s dictionary reference when
 * `take` (the original dies), else takes one of its own. NULL when out of memory. */
static struct cache_obj *rec_copy(struct cache_obj *o, bool take)
{
	struct cache_obj *c = malloc(o->size);

	if (!c)
		return NULL;
	memcpy(c, o, o->size);
	c->flags = (uint8_t)((o->flags & REC_MARK) | REC_ALONE);
	if (take)
		o->dict = NULL;
	else
		zdict_ref(c->dict);
	return c;
}

/* ---- the log and its index -------------------------------------------------------------- */

static struct cache_obj *rec_at(const struct cache *c, uint32_t slot)
{
	return (struct cache_obj *)(void *)(c->log + (size_t)(slot - 1) * 8);
}

/* Room for `need` more bytes in the log. 0, -ENOMEM or -E2BIG. */
static int log_reserve(struct cache *c, size_t need)
{
	size_t cap = c->cap ? c->cap : LOG_MIN;
	void *p;

	if (c->used + need <= c->cap)
		return 0;
	while (cap < c->used + need && cap <= LOG_MAX / 2)
		cap *= 2;
	if (cap < c->used + need)
		return -E2BIG;
	p = c->log ? mremap(c->log, c->cap, cap, MREMAP_MAYMOVE)
		   : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	c->log = p;
	c->cap = cap;
	return 0;
}

/* Append the draft (room reserved); its slot value. */
static uint32_t log_append(struct cache *c, const struct draft *dr, uint8_t flags)
{
	size_t off = c->used;

	rec_write(c->log + off, dr, flags);
	c->used += dr->size;
	c->n++;
	c->text_bytes += dr->len;
	return (uint32_t)(off / 8 + 1);
}

/* The slot holding key, or the first free one of its probe sequence (*found false). */
static size_t probe(const struct cache *c, const char *key, size_t keylen, uint32_t hash, bool *found)
{
	size_t mask = c->nslots - 1, i = hash & mask, avail = SIZE_MAX;

	*found = false;
	for (;; i = (i + 1) & mask) {
		uint32_t s = c->slots[i];
		const struct cache_obj *o;

		if (s == 0)
			return avail != SIZE_MAX ? avail : i;
		if (s == SLOT_TOMB) {
			if (avail == SIZE_MAX)
				avail = i;
			continue;
		}
		o = rec_at(c, s);
		if (o->hash == hash && o->keylen == keylen && memcmp(o->data, key, keylen) == 0) {
			*found = true;
			return i;
		}
	}
}

/* Put a slot value into a fresh index of its hash (no tombstones, room guaranteed). */
static void slots_insert(uint32_t *slots, size_t nslots, uint32_t hash, uint32_t v)
{
	size_t i = hash & (nslots - 1);

	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = v;
}

/* Slots for an index of n keys: at most half of them used. */
static size_t index_size(size_t n)
{
	size_t s = 16;

	while (s < (n + 1) * 2)
		s *= 2;
	return s;
}

/* Room in the index for one more key: at most two thirds of its slots used or dead. */
static int index_room(struct cache *c)
{
	size_t n, i;
	uint32_t *slots;

	if (c->nslots && (c->n + c->tombs + 1) * 3 <= c->nslots * 2)
		return 0;
	n = index_size(c->n);
	if (!(slots = calloc(n, sizeof(*slots))))
		return -ENOMEM;
	for (i = 0; i < c->nslots; i++)
		if (c->slots[i] && c->slots[i] != SLOT_TOMB)
			slots_insert(slots, n, rec_at(c, c->slots[i])->hash, c->slots[i]);
	free(c->slots);
	c->slots = slots;
	c->nslots = n;
	c->tombs = 0;
	return 0;
}

static size_t find(const struct cache *c, const char *key)
{
	size_t keylen = strlen(key), i;
	bool found;

	if (!c->n)
		return SIZE_MAX;
	i = probe(c, key, keylen, cu_fnv1a32(key, keylen), &found);
	return found ? i : SIZE_MAX;
}

/* A record leaves the cache (its slot is the caller's business); its dictionary reference
 * is dropped unless a copy took it. */
static void kill_rec(struct cache *c, struct cache_obj *o)
{
	o->flags |= REC_DEAD;
	c->dead += o->size;
	c->text_bytes -= o->len;
	c->n--;
	zdict_unref(o->dict);
	o->dict = NULL;
}

static void log_release(unsigned char *log, size_t used, size_t cap)
{
	size_t off;

	for (off = 0; off < used;) {
		struct cache_obj *o = (struct cache_obj *)(void *)(log + off);

		if (!(o->flags & REC_DEAD))
			zdict_unref(o->dict);
		off += o->size;
	}
	if (log)
		munmap(log, cap);
}

/* Copy the live records into a new log, re-encoded against the current dictionary when
 * `reencode` (one that cannot be, for memory, keeps its own), and index them anew: what
 * cache_get handed out moves. On failure (memory) the cache is left as it was. */
static int rebuild(struct cache *c, bool reencode)
{
	struct cache nc;
	size_t off, live = c->used - c->dead;
	int rc = 0;

	memset(&nc, 0, sizeof(nc));
	nc.cap = live * 2 > LOG_MIN ? (live * 2 + 4095) & ~(size_t)4095 : LOG_MIN;
	nc.nslots = index_size(c->n);
	nc.log = mmap(NULL, nc.cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nc.log == MAP_FAILED || !(nc.slots = calloc(nc.nslots, sizeof(*nc.slots)))) {
		if (nc.log != MAP_FAILED)
			munmap(nc.log, nc.cap);
		return -ENOMEM;
	}
	for (off = 0; off < c->used && rc == 0; off += ((struct cache_obj *)(void *)(c->log + off))->size) {
		struct cache_obj *o = (struct cache_obj *)(void *)(c->log + off), *n;
		struct draft dr;

		memset(&dr, 0, sizeof(dr));
		char *text = NULL;
		size_t len;

		if (o->flags & REC_DEAD)
			continue;
		if (reencode && o->dict != c->dict && (text = cache_obj_text(o, &len)) &&
		    draft_text(&dr, (const char *)o->data, text, len, c->dict, rec_rv(o), cache_obj_owner(o)) == 0) {
			if ((rc = log_reserve(&nc, dr.size)) == 0) {
				uint32_t v = log_append(&nc, &dr, o->flags & REC_MARK);

				slots_insert(nc.slots, nc.nslots, dr.hash, v);
			}
			free(dr.z);
		} else if ((rc = log_reserve(&nc, o->size)) == 0) {
			n = (struct cache_obj *)(void *)(nc.log + nc.used);
			memcpy(n, o, o->size);
			zdict_ref(n->dict);
			slots_insert(nc.slots, nc.nslots, n->hash, (uint32_t)(nc.used / 8 + 1));
			nc.used += o->size;
			nc.n++;
			nc.text_bytes += o->len;
		}
		free(text);
	}
	if (rc < 0) {
		log_release(nc.log, nc.used, nc.cap);
		free(nc.slots);
		return rc;
	}
	log_release(c->log, c->used, c->cap);
	free(c->slots);
	c->log = nc.log;
	c->cap = nc.cap;
	c->used = nc.used;
	c->dead = 0;
	c->slots = nc.slots;
	c->nslots = nc.nslots;
	c->tombs = 0; /* n and text_bytes are the same by construction */
	return 0;
}

/* Compact when dead records are over a third of the log. */
static void maybe_compact(struct cache *c)
{
	if (c->dead >= LOG_MIN_DEAD && c->dead * 3 > c->used)
		rebuild(c, false); /* on failure, the next chance will do */
}

/* ---- the cache -------------------------------------------------------------------------- */

struct cache *cache_new(void)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	zdict_use();
	return c;
}

void cache_obj_free(struct cache_obj *o)
{
	if (!o || !(o->flags & REC_ALONE))
		return; /* records in a log belong to it */
	zdict_unref(o->dict);
	free(o);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	log_release(c->log, c->used, c->cap);
	free(c->slots);
	zdict_unref(c->dict);
	free(c);
	zdict_unuse();
}

/* The compact text of `obj` without managedFields and kubectl's last-applied copy of the
 * whole object (nothing reads them, and together they are most of a small object); `obj`
 * gets them back. Caller frees; NULL when out of memory. */
static char *dump_stripped(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata"), *mf = NULL, *ann, *la = NULL;
	char *text;

	if (json_is_object(md) && (mf = json_object_get(md, "managedFields"))) {
		json_incref(mf);
		json_object_del(md, "managedFields");
	}
	ann = json_object_get(md, "annotations");
	if (json_is_object(ann) && (la = json_object_get(ann, LAST_APPLIED))) {
		json_incref(la);
		json_object_del(ann, LAST_APPLIED);
	}
	text = json_dumps(obj, JSON_COMPACT);
	if (mf)
		json_object_set_new(md, "managedFields", mf);
	if (la)
		json_object_set_new(ann, LAST_APPLIED, la);
	return text;
}

/* Make `text` the dictionary (the first put, or the objects drifted away from the last one). */
static void adopt(struct cache *c, const char *text, size_t len)
{
	struct zdict *d = zdict_new(text, len);

	if (!d)
		return;
	zdict_unref(c->dict);
	c->dict = d;
	c->dict_changes++;
	c->puts = 0;
	c->base_sum = 0;
	c->avg = 0;
}

/* Learn from one record deflated against the current dictionary; true when it is time to
 * adopt a new one. */
static bool drifted(struct cache *c, size_t len, size_t zlen)
{
	unsigned r = len ? (unsigned)(((uint64_t)zlen * 1024) / len) : 0, min;

	if (c->puts < UINT32_MAX)
		c->puts++;
	if (c->puts <= CACHE_BASE_PUTS) {
		c->base_sum += r;
		if (c->puts == CACHE_BASE_PUTS)
			c->avg = (unsigned)(c->base_sum * 16 / CACHE_BASE_PUTS);
		return false;
	}
	c->avg = c->avg - c->avg / 16 + r;
	min = c->n > CACHE_MIN_PUTS ? (unsigned)c->n : CACHE_MIN_PUTS;
	/* 3/2 of the baseline, and at least 16/1024 more (tiny ratios are noise). */
	return c->puts >= min && c->avg > (unsigned)(c->base_sum * 16 / CACHE_BASE_PUTS) * 3 / 2 + 16 * 16;
}

/* A draft of a stripped copy of obj against the cache's dictionary, adopting it as the
 * dictionary when there is none yet; *text gets its text (caller frees). */
static int draft_obj(struct cache *c, struct draft *dr, const char *key, json_t *obj, const char *owner, char **text)
{
	const char *rv = kobj_str(obj, "metadata.resourceVersion", "");
	size_t len;
	int rc;

	memset(dr, 0, sizeof(*dr));
	if (!(*text = dump_stripped(obj)))
		return -ENOMEM;
	len = strlen(*text);
	if (!c->dict)
		adopt(c, *text, len);
	if ((rc = draft_text(dr, key, *text, len, c->dict, rv, owner)) < 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

struct cache_obj *cache_obj_new(struct cache *c, json_t *obj, const char *owner)
{
	struct draft dr;
	struct cache_obj *o = NULL;
	char *text;

	if (draft_obj(c, &dr, "", obj, owner, &text) < 0)
		return NULL;
	if ((o = malloc(dr.size)))
		rec_write(o, &dr, REC_ALONE | REC_MARK);
	free(dr.z);
	free(text);
	return o;
}

int cache_put(struct cache *c, const char *key, json_t *obj, const char *owner, struct cache_obj **old)
{
	struct draft dr;
	bool first = !c->dict, found; /* the first object becomes the dictionary: it says nothing of its fit */
	char *text = NULL;
	size_t i;
	int rc;

	if (old)
		*old = NULL;
	if ((rc = draft_obj(c, &dr, key, obj, owner, &text)) < 0)
		return rc;
	if ((rc = log_reserve(c, dr.size)) < 0 || (rc = index_room(c)) < 0)
		goto out;
	i = probe(c, key, dr.keylen, dr.hash, &found);
	if (found) {
		struct cache_obj *prev = rec_at(c, c->slots[i]);

		if (old && !(*old = rec_copy(prev, true))) {
			rc = -ENOMEM;
			goto out;
		}
		kill_rec(c, prev);
	} else if (c->slots[i] == SLOT_TOMB) {
		c->tombs--;
	}
	c->slots[i] = log_append(c, &dr, REC_MARK);
	if (!first && dr.dict && dr.dict == c->dict && drifted(c, dr.len, dr.zlen)) {
		adopt(c, text, dr.len);
		rebuild(c, true); /* on failure, entries keep the dictionary they hold */
	} else if (found) {
		maybe_compact(c);
	}
out:
	free(dr.z);
	free(text);
	return rc;
}

bool cache_keep(struct cache *c, const char *key, const char *rv)
{
	size_t i = find(c, key);
	struct cache_obj *o;

	if (i == SIZE_MAX || !rv || !*rv || strcmp(rec_rv(o = rec_at(c, c->slots[i])), rv) != 0)
		return false;
	o->flags |= REC_MARK;
	return true;
}

const struct cache_obj *cache_get(const struct cache *c, const char *key)
{
	size_t i = find(c, key);

	return i == SIZE_MAX ? NULL : rec_at(c, c->slots[i]);
}

json_t *cache_load(const struct cache *c, const char *key)
{
	const struct cache_obj *o = cache_get(c, key);

	return o ? cache_obj_load(o) : NULL;
}

struct cache_obj *cache_del(struct cache *c, const char *key)
{
	size_t i = find(c, key);
	struct cache_obj *o, *copy;

	if (i == SIZE_MAX)
		return NULL;
	o = rec_at(c, c->slots[i]);
	if (!(copy = rec_copy(o, true)))
		return NULL; /* out of memory: the entry stays */
	kill_rec(c, o);
	c->slots[i] = SLOT_TOMB;
	c->tombs++;
	maybe_compact(c);
	return copy;
}

size_t cache_len(const struct cache *c)
{
	return c->n;
}

void cache_stats(const struct cache *c, struct cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->objects = c->n;
	st->text_bytes = c->text_bytes;
	st->stored_bytes = c->used - c->dead + c->nslots * sizeof(*c->slots);
	st->dict_bytes = c->dict ? sizeof(*c->dict) + c->dict->len : 0;
	st->dict_changes = c->dict_changes;
}

size_t cache_bytes(const struct cache *c)
{
	struct cache_stats st;

	cache_stats(c, &st);
	return st.stored_bytes + st.dict_bytes;
}

/* Call fn for every live record, in the log's order (no puts or deletes from fn). */
static void each(const struct cache *c, void (*fn)(void *ctx, struct cache_obj *o), void *ctx)
{
	size_t off;

	for (off = 0; off < c->used;) {
		struct cache_obj *o = (struct cache_obj *)(void *)(c->log + off);

		off += o->size;
		if (!(o->flags & REC_DEAD))
			fn(ctx, o);
	}
}

static void unmark(void *ctx, struct cache_obj *o)
{
	(void)ctx;
	o->flags &= (uint8_t)~REC_MARK;
}

void cache_clear_marks(struct cache *c)
{
	each(c, unmark, NULL);
}

struct sweep {
	struct cache *c;
	void (*fn)(void *ctx, const char *key, const struct cache_obj *o);
	void *ctx;
};

static void sweep_one(void *ctx, struct cache_obj *o)
{
	struct sweep *s = ctx;
	bool found;
	size_t i;

	if (o->flags & REC_MARK)
		return;
	if (s->fn)
		s->fn(s->ctx, (const char *)o->data, o);
	i = probe(s->c, (const char *)o->data, o->keylen, o->hash, &found);
	if (found) {
		s->c->slots[i] = SLOT_TOMB;
		s->c->tombs++;
	}
	kill_rec(s->c, o);
}

int cache_sweep(struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx)
{
	struct sweep s = { c, fn, ctx };

	/* Records only die here; the log is compacted once at the end. */
	each(c, sweep_one, &s);
	maybe_compact(c);
	return 0;
}

struct foreach {
	void (*fn)(void *ctx, const char *key, const struct cache_obj *o);
	void *ctx;
};

static void foreach_one(void *ctx, struct cache_obj *o)
{
	struct foreach *f = ctx;

	f->fn(f->ctx, (const char *)o->data, o);
}

void cache_foreach(const struct cache *c, void (*fn)(void *ctx, const char *key, const struct cache_obj *o), void *ctx)
{
	struct foreach f = { fn, ctx };

	each(c, foreach_one, &f);
}
