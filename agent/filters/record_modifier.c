/* filters/record_modifier.c: the record_modifier filter: append Record pairs, remove keys (Remove_key) or keep only some (Allowlist_key), add a UUID (Uuid_key). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_int.h"

struct pattern {
	char *key;
	size_t len;
	bool prefix;   /* "key*": every key starting with key */
};

struct rmod {
	struct pattern *remove, *allow;
	size_t nremove, nallow;
	char **rk, **rv;  /* Record KEY VALUE pairs */
	size_t nrecords;
	char *uuid_key;
};

/* Fluent Bit compares these keys without case, over the pattern's length. */
static bool pattern_hit(const struct pattern *p, size_t n, const msgpack_object *key)
{
	size_t i, len;
	const char *k = fobj_bytes(key, &len);

	for (i = 0; k && i < n; i++)
		if ((p[i].prefix ? len >= p[i].len : len == p[i].len) && strncasecmp(k, p[i].key, p[i].len) == 0)
			return true;
	return false;
}

static int uuid4(char out[37])
{
	unsigned char b[16];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t got = f ? fread(b, 1, sizeof(b), f) : 0;

	if (f)
		fclose(f);
	if (got != sizeof(b))
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static int rmod_run(const struct filter *f, msgpack_object *map, msgpack_zone *z)
{
	const struct rmod *m = f->priv;
	size_t extra = m->nrecords + (m->uuid_key != NULL);
	msgpack_object_kv *out = fobj_pairs(z, map->via.map.size + extra);
	uint32_t i, n = 0;
	char uuid[37];

	if (!out)
		return -ENOMEM;
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;

		if (m->nremove && pattern_hit(m->remove, m->nremove, k))
			continue;
		if (m->nallow && !pattern_hit(m->allow, m->nallow, k))
			continue;
		out[n++] = map->via.map.ptr[i];
	}
	if (n == map->via.map.size && extra == 0)
		return FILTER_KEEP;
	for (i = 0; i < m->nrecords; i++, n++)
		if (!fobj_str(z, m->rk[i], strlen(m->rk[i]), &out[n].key) || !fobj_str(z, m->rv[i], strlen(m->rv[i]), &out[n].val))
			return -ENOMEM;
	if (m->uuid_key) {
		if (uuid4(uuid) < 0)
			return -EIO;
		if (!fobj_str(z, m->uuid_key, strlen(m->uuid_key), &out[n].key) || !fobj_str(z, uuid, 36, &out[n].val))
			return -ENOMEM;
		n++;
	}
	map->via.map.ptr = out;
	map->via.map.size = n;
	return FILTER_MODIFIED;
}

static int add_pattern(struct pattern **list, size_t *n, const char *v)
{
	struct pattern *grown = realloc(*list, (*n + 1) * sizeof(*grown));
	size_t len = strlen(v);

	if (!grown)
		return -ENOMEM;
	*list = grown;
	grown[*n].prefix = len && v[len - 1] == '*';
	grown[*n].len = len - grown[*n].prefix;
	if (!(grown[*n].key = strndup(v, grown[*n].len)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int add_record(struct rmod *m, const struct conf_section *s, const struct conf_kv *kv, char *err, size_t errlen)
{
	const char *sp = strpbrk(kv->val, " \t"), *v;
	char **rk, **rv;

	if (!sp || sp == kv->val)
		return filter_bad(s, kv, err, errlen, "record_modifier: Record needs 'KEY VALUE'");
	for (v = sp; *v == ' ' || *v == '\t'; v++)
		;
	if (!(rk = realloc(m->rk, (m->nrecords + 1) * sizeof(*rk))))
		return -ENOMEM;
	m->rk = rk;
	if (!(rv = realloc(m->rv, (m->nrecords + 1) * sizeof(*rv))))
		return -ENOMEM;
	m->rv = rv;
	rk[m->nrecords] = strndup(kv->val, (size_t)(sp - kv->val));
	rv[m->nrecords] = strdup(v);
	if (!rk[m->nrecords] || !rv[m->nrecords]) {
		free(rk[m->nrecords]);
		free(rv[m->nrecords]);
		return -ENOMEM;
	}
	m->nrecords++;
	return 0;
}

static void rmod_free(struct filter *f)
{
	struct rmod *m = f->priv;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nremove; i++)
		free(m->remove[i].key);
	for (i = 0; i < m->nallow; i++)
		free(m->allow[i].key);
	for (i = 0; i < m->nrecords; i++) {
		free(m->rk[i]);
		free(m->rv[i]);
	}
	free(m->remove);
	free(m->allow);
	free(m->rk);
	free(m->rv);
	free(m->uuid_key);
	free(m);
	f->priv = NULL;
}

static int rmod_init(struct filter *f, const struct conf_section *s, char *err, size_t errlen)
{
	struct rmod *m = calloc(1, sizeof(*m));
	size_t i;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	f->priv = m;
	for (i = 0; rc == 0 && i < s->n; i++) {
		const struct conf_kv *kv = &s->kv[i];

		if (strcasecmp(kv->key, "record") == 0)
			rc = add_record(m, s, kv, err, errlen);
		else if (strcasecmp(kv->key, "remove_key") == 0)
			rc = add_pattern(&m->remove, &m->nremove, kv->val);
		else if (strcasecmp(kv->key, "allowlist_key") == 0 || strcasecmp(kv->key, "whitelist_key") == 0)
			rc = add_pattern(&m->allow, &m->nallow, kv->val);
		else if (strcasecmp(kv->key, "uuid_key") == 0) {
			free(m->uuid_key);
			rc = (m->uuid_key = strdup(kv->val)) ? 0 : -ENOMEM;
		}
	}
	if (rc == 0 && m->nremove && m->nallow)
		return filter_bad(s, NULL, err, errlen, "record_modifier: Remove_key and Allowlist_key exclude each other");
	return rc;
}

#define KEY(name, help) { name, OPT_LIST, NULL, 0, 0, 0, help }
static const struct opt_def rmod_opts[] = {
	KEY("record", "KEY VALUE: append KEY with the string VALUE (repeatable)"),
	KEY("remove_key", "KEY or PREFIX*: remove matching keys (case-insensitive, repeatable)"),
	KEY("allowlist_key", "KEY or PREFIX*: keep only matching keys (case-insensitive, repeatable)"),
	KEY("whitelist_key", "the former name of allowlist_key"),
	{ "uuid_key", OPT_STRING, NULL, 0, 0, 0, "add a random UUID (v4) under this key" },
	OPT_END,
};

const struct filter_plugin filter_record_modifier = {
	.name = "record_modifier",
	.help = "Append fixed pairs, remove keys or keep only some.",
	.opts = rmod_opts,
	.init = rmod_init,
	.run = rmod_run,
	.free = rmod_free,
};
