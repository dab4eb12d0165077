/* zdict.c: raw deflate and inflate of small texts against preset dictionaries, through one deflate and one inflate stream reused (reset) for every text. */
#include "zdict.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* An 8 KB window: a dictionary and an object of a few KB each fit in it, and measured on the
 * controller benchmark's 4,000 objects a larger window or memLevel saved nothing. A stream
 * made per text would cost ~70 KB of allocations each time: these two are reset instead. */
#define ZDICT_WBITS 13
#define ZDICT_MEMLEVEL 6
#define ZDICT_LEVEL 6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static bool def_ok, inf_ok;
static z_stream def, inf;

struct zdict *zdict_new(const char *text, size_t len)
{
	struct zdict *d;

	if (len > ZDICT_MAX)
		len = ZDICT_MAX;
	if (!(d = malloc(sizeof(*d) + len)))
		return NULL;
	d->refs = 1;
	d->len = (uint32_t)len;
	memcpy(d->bytes, text, len);
	return d;
}

struct zdict *zdict_ref(struct zdict *d)
{
	if (d)
		d->refs++;
	return d;
}

void zdict_unref(struct zdict *d)
{
	if (d && --d->refs == 0)
		free(d);
}

void zdict_use(void)
{
	pthread_mutex_lock(&mu);
	users++;
	pthread_mutex_unlock(&mu);
}

void zdict_unuse(void)
{
	pthread_mutex_lock(&mu);
	if (users && --users == 0) {
		if (def_ok)
			deflateEnd(&def);
		if (inf_ok)
			inflateEnd(&inf);
		def_ok = inf_ok = false;
	}
	pthread_mutex_unlock(&mu);
}

int zdict_deflate(const char *text, size_t len, const struct zdict *d, unsigned char **z, size_t *zlen)
{
	size_t bound;
	int zrc = Z_STREAM_ERROR;

	*z = NULL;
	*zlen = 0;
	if (len > UINT32_MAX)
		return -ENOMEM;
	pthread_mutex_lock(&mu);
	if (!def_ok && deflateInit2(&def, ZDICT_LEVEL, Z_DEFLATED, -ZDICT_WBITS, ZDICT_MEMLEVEL, Z_DEFAULT_STRATEGY) == Z_OK)
		def_ok = true;
	if (!def_ok || deflateReset(&def) != Z_OK || (d && deflateSetDictionary(&def, d->bytes, d->len) != Z_OK))
		goto out;
	bound = deflateBound(&def, (uLong)len);
	if (!(*z = malloc(bound)))
		goto out;
	def.next_in = (Bytef *)(uintptr_t)text;
	def.avail_in = (uInt)len;
	def.next_out = *z;
	def.avail_out = (uInt)bound;
	zrc = deflate(&def, Z_FINISH);
	*zlen = bound - def.avail_out;
out:
	pthread_mutex_unlock(&mu);
	if (zrc == Z_STREAM_END)
		return 0;
	free(*z);
	*z = NULL;
	*zlen = 0;
	return -ENOMEM;
}

int zdict_inflate(const unsigned char *z, size_t zlen, const struct zdict *d, char *out, size_t len)
{
	int zrc = Z_MEM_ERROR;

	if (zlen > UINT32_MAX || len > UINT32_MAX)
		return -EBADMSG;
	pthread_mutex_lock(&mu);
	if (!inf_ok && inflateInit2(&inf, -ZDICT_WBITS) == Z_OK)
		inf_ok = true;
	if (inf_ok && inflateReset(&inf) == Z_OK) {
		zrc = d ? inflateSetDictionary(&inf, d->bytes, d->len) : Z_OK;
		if (zrc == Z_OK) {
			inf.next_in = (Bytef *)(uintptr_t)z;
			inf.avail_in = (uInt)zlen;
			inf.next_out = (Bytef *)out;
			inf.avail_out = (uInt)len;
			zrc = inflate(&inf, Z_FINISH);
			if (zrc == Z_STREAM_END && (inf.avail_out != 0 || inf.avail_in != 0))
				zrc = Z_DATA_ERROR;
		}
	}
	pthread_mutex_unlock(&mu);
	if (zrc == Z_STREAM_END)
		return 0;
	return zrc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
}
