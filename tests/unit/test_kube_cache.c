/* test_kube_cache.c: unit tests for the informer cache (exact round trips of deflated objects, versions and owners, stripping, marks and sweeps, compaction, dictionaries learned, kept and changed), its codec and the compact string set. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cache.h"
#include "kobj.h"
#include "render.h"
#include "strset.h"
#include "tap.h"
#include "zdict.h"

static const struct render_opts opts = { "vivo-agent:0.1.0", "fluent/fluent-bit:5.1.1", NULL };

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);

	if (!v)
		printf("# bad test JSON: %s: %s\n", s, e.text);
	return v;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A uid as the API server makes them (random hex). */
static void uid(char *out, size_t n)
{
	uint64_t a = next_rand(), b = next_rand();

	snprintf(out, n, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		 (unsigned)a & 0xffff, (unsigned)(b >> 48), (unsigned long long)(b & 0xffffffffffffull));
}

static json_t *vivo(int i, const char *spec)
{
	char name[32], u[64], text[8192];

	snprintf(name, sizeof(name), "v%04d", i);
	uid(u, sizeof(u));
	snprintf(text, sizeof(text), "{\"apiVersion\":\"vivo.dev/v1alpha1\",\"kind\":\"Vivo\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"bench\",\"uid\":\"%s\",\"generation\":1},\"spec\":%s}", name, u, spec);
	return J(text);
}

/* What the API server adds to an applied object: uid, version, time, managedFields. */
static json_t *live(json_t *rendered, int rv)
{
	json_t *o = json_deep_copy(rendered), *md = json_object_get(o, "metadata");
	char u[64], v[16];

	uid(u, sizeof(u));
	snprintf(v, sizeof(v), "%d", rv);
	json_object_set_new(md, "uid", json_string(u));
	json_object_set_new(md, "resourceVersion", json_string(v));
	json_object_set_new(md, "creationTimestamp", json_string("2026-12-01T19:23:46Z"));
	json_object_set_new(md, "managedFields", J("[{\"manager\":\"vivo-controller\",\"operation\":\"Apply\","
						   "\"fieldsV1\":{\"f:metadata\":{}}}]"));
	json_object_set_new(o, "status", json_object());
	return o;
}

enum what { CONFIGMAP, DEPLOYMENT, SERVICE };

/* The live object of kind `w` that Vivo number i with `spec` renders to. */
static json_t *rendered(int i, const char *spec, enum what w)
{
	struct render_out ro;
	char err[256];
	json_t *v = vivo(i, spec), *o = NULL;

	if (render_vivo(v, &opts, &ro, err, sizeof(err)) == 0) {
		o = live(w == CONFIGMAP ? ro.configmap : w == DEPLOYMENT ? ro.deployment : ro.service, 100 + i);
		render_out_free(&ro);
	} else {
		printf("# render: %s\n", err);
	}
	json_decref(v);
	return o;
}

/* The text a cache must give back: compact, without managedFields and last-applied. */
static char *expected(json_t *o)
{
	json_t *c = json_deep_copy(o), *ann;
	char *s;

	json_object_del(json_object_get(c, "metadata"), "managedFields");
	if ((ann = kobj_get(c, "metadata.annotations")))
		json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

static bool same_text(const struct cache_obj *e, json_t *o)
{
	char *want = expected(o), *got;
	size_t len = 0;
	bool same;

	got = e ? cache_obj_text(e, &len) : NULL;
	same = got && want && len == strlen(want) && strcmp(got, want) == 0;
	if (!same)
		printf("# got  %.300s\n# want %.300s\n", got ? got : "(null)", want ? want : "(null)");
	free(got);
	free(want);
	return same;
}

static void test_basics(void)
{
	struct cache *c = cache_new();
	json_t *o = J("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"resourceVersion\":\"3\",\"managedFields\":"
		      "[{\"manager\":\"m\"}],\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
		      "\"{}\",\"keep\":\"me\"}},\"x\":1}");
	json_t *back;
	struct cache_obj *old = NULL;
	const struct cache_obj *e;
	char key[64], *text;
	int i;

	ok(cache_put(c, "n/a", o, "n/owner", NULL) == 0, "put");
	e = cache_get(c, "n/a");
	ok(e && strcmp(cache_obj_rv(e), "3") == 0 && strcmp(cache_obj_owner(e), "n/owner") == 0, "rv and owner kept");
	text = cache_obj_text(e, NULL);
	ok(text && !strstr(text, "managedFields") && !strstr(text, "last-applied") && strstr(text, "\"keep\":\"me\""),
	   "managedFields and last-applied not cached, other annotations are (%s)", text ? text : "NULL");
	free(text);
	ok(kobj_get(o, "metadata.managedFields") && kobj_get(o, "metadata.annotations.keep") &&
	   json_object_get(kobj_get(o, "metadata.annotations"), "kubectl.kubernetes.io/last-applied-configuration"),
	   "the caller's object is untouched");
	back = cache_load(c, "n/a");
	ok(json_integer_value(json_object_get(back, "x")) == 1, "load parses the text back");
	json_decref(back);
	ok(!cache_load(c, "n/none") && !cache_get(c, "n/none"), "absent keys: NULL");
	ok(cache_keep(c, "n/a", "3") && !cache_keep(c, "n/a", "4") && !cache_keep(c, "n/a", "") &&
	   !cache_keep(c, "n/b", "3"), "cache_keep only for the version held");
	cache_put(c, "n/a", o, NULL, &old);
	ok(old && strcmp(cache_obj_rv(old), "3") == 0 && strcmp(cache_obj_owner(old), "n/owner") == 0,
	   "replacing hands back the old entry");
	ok(cache_obj_owner(cache_get(c, "n/a")) == NULL, "no owner: NULL");
	cache_obj_free(old);
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "n/k%d", i);
		cache_put(c, key, o, NULL, NULL);
	}
	ok(cache_len(c) == 501, "501 entries");
	cache_clear_marks(c);
	for (i = 0; i < 500; i += 2) {
		snprintf(key, sizeof(key), "n/k%d", i);
		if (i % 4)
			cache_put(c, key, o, NULL, NULL);
		else
			cache_keep(c, key, "3");
	}
	cache_sweep(c, NULL, NULL);
	ok(cache_len(c) == 250 && cache_get(c, "n/k0") && cache_get(c, "n/k2") && !cache_get(c, "n/k1") &&
	   !cache_get(c, "n/a"), "sweep drops what the re-list did not see (put or kept)");
	json_decref(o);
	cache_free(c);
	cache_free(NULL);
}

/* Every kind of object comes back byte for byte: rendered ones of each mode, odd ones, big ones. */
static void test_round_trips(void)
{
	static const char *const specs[] = {
		"{}", "{\"replicas\":3}", "{\"mode\":\"Sidecar\"}", "{\"mode\":\"Sidecar\",\"replicas\":2}",
		"{\"fluentBit\":{\"enabled\":true,\"pipeline\":{\"inputs\":[{\"name\":\"tail\",\"path\":\"/var/log/*.log\"}],"
		"\"filters\":[{\"name\":\"grep\",\"match\":\"*\",\"regex\":\"log ERROR\"}]}}}",
		"{\"otlp\":{\"enabled\":false},\"resources\":{\"limits\":{\"memory\":\"256Mi\",\"cpu\":\"500m\"}}}",
		"{\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"},\"tolerations\":[{\"key\":\"k\",\"operator\":\"Equal\","
		"\"value\":\"v\",\"effect\":\"NoSchedule\"}],\"podAnnotations\":{\"\\u00e9t\\u00e9\":\"\\u65e5\\u672c\"}}",
	};
	struct cache *c = cache_new();
	bool all = true;
	size_t i, k, n = 0;
	char key[64];
	json_t *big, *o;
	size_t bn = 200000;
	char *bp;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		for (k = CONFIGMAP; k <= SERVICE; k++) {
			if (!(o = rendered((int)i, specs[i], (enum what)k))) {
				all = false;
				continue;
			}
			snprintf(key, sizeof(key), "bench/%zu-%zu", i, k);
			all &= cache_put(c, key, o, "bench/owner", NULL) == 0 && same_text(cache_get(c, key), o);
			json_decref(o);
			n++;
		}
	ok(all && cache_len(c) == n, "%zu rendered objects of every mode and kind come back byte for byte", n);

	/* Larger than the dictionary and the window, with text that compresses badly. */
	bp = malloc(bn + 1);
	for (i = 0; bp && i < bn; i++)
		bp[i] = (char)(' ' + next_rand() % 94);
	if (bp)
		bp[bn] = '\0';
	big = json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:s}}", "metadata", "name", "big", "namespace", "bench",
			"resourceVersion", "77", "data", "random", bp ? bp : "", "text", "\"quoted\"\n\ttab\\ \xc3\xa9");
	ok(big && cache_put(c, "bench/big", big, NULL, NULL) == 0 && same_text(cache_get(c, "bench/big"), big),
	   "a 200 KB object of random text comes back byte for byte");
	json_decref(big);
	free(bp);
	o = J("{}");
	ok(cache_put(c, "bench/empty", o, NULL, NULL) == 0 && same_text(cache_get(c, "bench/empty"), o) &&
	   strcmp(cache_obj_rv(cache_get(c, "bench/empty")), "") == 0, "{} (no metadata, no version) too");
	json_decref(o);
	cache_free(c);
}

/* The dictionary is a copy of the first object: it outlives that object, and a cache of one
 * kind holds a small fraction of the text. */
static void test_dictionary(void)
{
	struct cache *c = cache_new();
	struct cache_stats st;
	struct cache_obj *gone;
	json_t *o, *first = NULL;
	char key[64];
	bool all = true;
	int i;

	for (i = 0; i < 1000; i++) {
		if (!(o = rendered(i, i % 2 ? "{\"streamQueueSize\":\"50M\"}" : "{}", DEPLOYMENT)))
			break;
		snprintf(key, sizeof(key), "bench/v%04d", i);
		all &= cache_put(c, key, o, NULL, NULL) == 0;
		if (i == 0)
			first = o;
		else
			json_decref(o);
	}
	cache_stats(c, &st);
	ok(all && st.objects == 1000 && st.dict_changes == 1, "1,000 Deployments, one dictionary");
	ok(st.stored_bytes * 5 < st.text_bytes, "they hold %zu bytes for %zu of text (%.1f%%; dictionary %zu bytes)",
	   st.stored_bytes, st.text_bytes, 100.0 * (double)st.stored_bytes / (double)st.text_bytes, st.dict_bytes);
	ok(cache_bytes(c) == st.stored_bytes + st.dict_bytes, "cache_bytes is entries + dictionary");
	gone = cache_del(c, "bench/v0000");
	ok(gone && same_text(gone, first), "the object the dictionary came from, deleted, still reads");
	cache_obj_free(gone);
	o = rendered(5, "{}", DEPLOYMENT);
	ok(o && cache_put(c, "bench/v0005", o, NULL, NULL) == 0 && same_text(cache_get(c, "bench/v0005"), o),
	   "after that deletion, puts and reads go on");
	json_decref(o);
	json_decref(first);
	cache_free(c);
}

struct check {
	json_t **objs;
	long n;
	bool all;
};

static void check_one(void *ctx, const char *key, const struct cache_obj *e)
{
	struct check *ck = ctx;
	char *end;
	long i = strtol(strrchr(key, '/') + 1, &end, 10);

	ck->all &= *end == '\0' && i >= 0 && i < ck->n && same_text(e, ck->objs[i]);
}

/* Objects that drift away from the dictionary (here: Services, then Deployments of another
 * rendering) make the cache adopt a new one and re-encode everything; entries handed out
 * before keep the old one; a stable mix never changes it. */
static void test_dictionary_change(void)
{
	enum { NA = 200, NB = 400 };
	struct cache *c = cache_new();
	json_t *objs[NA + NB];
	struct cache_obj *old = NULL;
	struct cache_stats st, before;
	struct check ck = { objs, NA + NB, true };
	char key[64];
	size_t mid_stored = 0;
	int i;

	for (i = 0; i < NA + NB; i++) {
		objs[i] = i < NA ? rendered(i, "{}", SERVICE)
				 : rendered(i, "{\"fluentBit\":{\"enabled\":true},\"resources\":{\"limits\":{\"cpu\":\"1\"}}}",
					    DEPLOYMENT);
		if (!objs[i]) {
			ok(0, "render %d", i);
			return;
		}
	}
	for (i = 0; i < NA; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		cache_put(c, key, objs[i], NULL, NULL);
	}
	cache_stats(c, &before);
	ok(before.dict_changes == 1, "%d Services: one dictionary, %.1f%% of the text", NA,
	   100.0 * (double)before.stored_bytes / (double)before.text_bytes);
	/* Replace Service 0 by itself, keeping the old entry: it was deflated against the first
	 * dictionary, which must outlive the change. */
	cache_put(c, "bench/0", objs[0], NULL, &old);
	for (i = NA; i < NA + NB; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		cache_put(c, key, objs[i], NULL, NULL);
		if (i == NA + 40) {
			cache_stats(c, &st);
			mid_stored = st.stored_bytes - before.stored_bytes;
		}
	}
	cache_stats(c, &st);
	ok(st.dict_changes == 2, "Deployments after Services: a new dictionary (%lu adopted)", st.dict_changes);
	printf("# the first 41 Deployments against the Services' dictionary: %zu bytes; all %d after the change: "
	       "%zu bytes for the Deployments and Services\n", mid_stored, NB, st.stored_bytes);
	ok(st.stored_bytes - before.stored_bytes < mid_stored * NB / 41,
	   "the Deployments hold less than they would against the old dictionary");
	cache_foreach(c, check_one, &ck);
	ok(ck.all && cache_len(c) == NA + NB, "every entry reads back after the re-encoding");
	ok(old && same_text(old, objs[0]), "an entry handed out before the change still reads");
	cache_obj_free(old);
	cache_free(c);

	/* Services of both shapes (normal and headless, alternating) and a cache of them: the
	 * mix is the baseline, no change. */
	c = cache_new();
	for (i = 0; i < 2000; i++) {
		json_t *o = rendered(i, i % 2 ? "{\"replicas\":2}" : "{}", SERVICE);

		snprintf(key, sizeof(key), "bench/s%d", i);
		cache_put(c, key, o, NULL, NULL);
		json_decref(o);
	}
	cache_stats(c, &st);
	ok(st.dict_changes == 1, "2,000 puts of a stable mix keep one dictionary (%lu)", st.dict_changes);
	cache_free(c);
	for (i = 0; i < NA + NB; i++)
		json_decref(objs[i]);
}

/* Entries for deletions of objects never cached, and caches freed before their entries. */
static void test_orphans(void)
{
	struct cache *c = cache_new(), *c2;
	json_t *o = rendered(1, "{}", CONFIGMAP);
	struct cache_obj *e, *e2;

	cache_put(c, "bench/a", o, NULL, NULL);
	e = cache_obj_new(c, o, "bench/v0001");
	ok(e && same_text(e, o) && strcmp(cache_obj_owner(e), "bench/v0001") == 0 && strcmp(cache_obj_rv(e), "101") == 0,
	   "cache_obj_new: an entry in no cache");
	cache_put(c, "bench/b", o, NULL, NULL);
	e2 = cache_del(c, "bench/b");
	cache_free(c);
	ok(same_text(e, o) && same_text(e2, o), "entries outlive their cache");
	cache_obj_free(e);
	cache_obj_free(e2);
	c2 = cache_new();
	ok(cache_put(c2, "bench/a", o, NULL, NULL) == 0 && same_text(cache_get(c2, "bench/a"), o),
	   "a cache made after the last one was freed works");
	cache_free(c2);
	json_decref(o);
}

/* Replacing and deleting most entries many times over: the log is compacted, what stays
 * reads back, and the stored bytes follow the live entries. */
static void test_compaction(void)
{
	struct cache *c = cache_new();
	struct cache_stats st, full;
	json_t *objs[64];
	char key[64];
	bool all = true;
	int i, round;

	for (i = 0; i < 64; i++)
		objs[i] = rendered(i, "{}", i % 2 ? CONFIGMAP : SERVICE);
	for (round = 0; round < 50; round++)
		for (i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "bench/%d", i);
			all &= cache_put(c, key, objs[(i + round) % 64], NULL, NULL) == 0;
		}
	cache_stats(c, &full);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		all &= same_text(cache_get(c, key), objs[(i + 49) % 64]);
	}
	ok(all && full.objects == 1000, "50 rounds of 1,000 replacements: every entry reads its last version");
	for (i = 0; i < 990; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		cache_obj_free(cache_del(c, key));
	}
	cache_stats(c, &st);
	ok(st.objects == 10 && st.stored_bytes * 20 < full.stored_bytes, "990 deleted: %zu bytes stored (from %zu)",
	   st.stored_bytes, full.stored_bytes);
	all = true;
	for (i = 990; i < 1000; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		all &= same_text(cache_get(c, key), objs[(i + 49) % 64]);
	}
	ok(all && !cache_get(c, "bench/0"), "the 10 left read back, the others are gone");
	cache_free(c);
	for (i = 0; i < 64; i++)
		json_decref(objs[i]);
}

/* The codec alone: with and without a dictionary; data inflated against another dictionary
 * is refused or wrong, which is why entries hold a reference to theirs. */
static void test_zdict(void)
{
	const char *a = "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":{\"ports\":[8000,9000,9010]}}";
	const char *b = "{\"metadata\":{\"name\":\"b\",\"namespace\":\"n\"},\"spec\":{\"ports\":[8000,9000,9010]}}";
	struct zdict *d, *other;
	unsigned char *z = NULL, *z0 = NULL;
	size_t zlen = 0, z0len = 0;
	char out[256];

	zdict_use();
	d = zdict_new(a, strlen(a));
	other = zdict_new("something else entirely", 23);
	ok(d && other && zdict_deflate(b, strlen(b), d, &z, &zlen) == 0 && zdict_deflate(b, strlen(b), NULL, &z0, &z0len) == 0,
	   "deflate with and without a dictionary");
	ok(zlen < z0len && zlen < strlen(b) / 3, "the dictionary helps: %zu bytes against %zu (text %zu)", zlen, z0len,
	   strlen(b));
	memset(out, 0, sizeof(out));
	ok(zdict_inflate(z, zlen, d, out, strlen(b)) == 0 && memcmp(out, b, strlen(b)) == 0, "inflate with it");
	ok(zdict_inflate(z0, z0len, NULL, out, strlen(b)) == 0 && memcmp(out, b, strlen(b)) == 0, "and without");
	ok(zdict_inflate(z, zlen, d, out, strlen(b) - 1) == -EBADMSG && zdict_inflate(z, zlen, d, out, strlen(b) + 1) == -EBADMSG,
	   "a wrong length is refused");
	memset(out, 0, sizeof(out));
	ok(zdict_inflate(z, zlen, other, out, strlen(b)) < 0 || memcmp(out, b, strlen(b)) != 0,
	   "another dictionary does not give the text back");
	ok(zdict_inflate((const unsigned char *)"\xff\xff\xff", 3, NULL, out, 10) == -EBADMSG, "garbage is refused");
	free(z);
	free(z0);
	zdict_unref(d);
	zdict_unref(other);
	zdict_unuse();
}

static void test_strset(void)
{
	struct strset s;
	char key[64];
	bool all = true;
	int i;

	sset_init(&s);
	ok(!sset_has(&s, "a") && sset_add(&s, "") == -EINVAL, "empty set; no empty members");
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns%d/vivo-%d", i % 7, i);
		all &= sset_add(&s, key) == 0 && sset_add(&s, key) == 0;
	}
	ok(all && s.n == 5000, "5,000 members, each added twice");
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns%d/vivo-%d", i % 7, i);
		if (i % 4)
			sset_del(&s, key);
	}
	all = true;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns%d/vivo-%d", i % 7, i);
		all &= sset_has(&s, key) == (i % 4 == 0);
	}
	ok(all && s.n == 1250, "three quarters removed: the rest are there");
	ok(s.dead * 2 <= s.used && s.used - s.dead < 1250 * 15, "the pool was compacted: %zu bytes used, %zu of them removed",
	   s.used, s.dead);
	ok(!sset_has(&s, "ns1/vivo-") && !sset_has(&s, "ns1/vivo-8x") && !sset_has(&s, "s1/vivo-8"),
	   "prefixes and longer strings are not members");
	sset_del(&s, "not there");
	ok(sset_add(&s, "ns1/vivo-1") == 0 && sset_has(&s, "ns1/vivo-1") && s.n == 1251, "re-added");
	ok(sset_bytes(&s) < 1251 * 100, "%zu bytes for 1,251 keys of ~13 characters, pool and index", sset_bytes(&s));
	sset_free(&s);
	sset_free(&s);
}

int main(void)
{
	test_basics();
	test_round_trips();
	test_dictionary();
	test_dictionary_change();
	test_orphans();
	test_compaction();
	test_zdict();
	test_strset();
	return tap_done();
}
