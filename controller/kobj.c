/* kobj.c: paths, keys, owners, stripping and the "covers" comparison over Kubernetes objects. */
#include "kobj.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

json_t *kobj_get(const json_t *o, const char *path)
{
	char seg[256];
	const char *p = path;

	while (o && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n >= sizeof(seg) || !json_is_object(o))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		o = json_object_get(o, seg);
		p += n + (dot ? 1 : 0);
	}
	return (json_t *)o;
}

const char *kobj_str(const json_t *o, const char *path, const char *def)
{
	const json_t *v = kobj_get(o, path);

	return json_is_string(v) ? json_string_value(v) : def;
}

int kobj_key(const json_t *o, char *out, size_t n)
{
	const char *name = kobj_str(o, "metadata.name", NULL), *ns = kobj_str(o, "metadata.namespace", NULL);
	int k;

	if (!name || !*name)
		return -EINVAL;
	k = ns && *ns ? snprintf(out, n, "%s/%s", ns, name) : snprintf(out, n, "%s", name);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

void kobj_strip(json_t *o)
{
	json_t *md = json_object_get(o, "metadata");

	if (json_is_object(md))
		json_object_del(md, "managedFields");
}

int kobj_owner_key(const json_t *o, char *out, size_t n)
{
	const json_t *refs = kobj_get(o, "metadata.ownerReferences"), *r;
	const char *ns = kobj_str(o, "metadata.namespace", ""), *inst;
	size_t i;
	int k;

	json_array_foreach(refs, i, r) {
		const char *api = kobj_str(r, "apiVersion", ""), *kind = kobj_str(r, "kind", ""),
			   *name = kobj_str(r, "name", NULL);

		if (!json_is_true(json_object_get(r, "controller")) || strcmp(kind, RENDER_KIND) != 0 ||
		    strncmp(api, RENDER_GROUP "/", strlen(RENDER_GROUP) + 1) != 0 || !name)
			continue;
		k = snprintf(out, n, "%s/%s", ns, name);
		return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
	}
	/* The label key contains dots: not a path. */
	inst = json_string_value(json_object_get(kobj_get(o, "metadata.labels"), RENDER_LABEL_INSTANCE));
	if (!inst || !*inst)
		return -ENOENT;
	k = snprintf(out, n, "%s/%s", ns, inst);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

int kobj_quantity(const char *s, long double *out)
{
	static const struct {
		const char *suf;
		long double mult;
	} sufs[] = {
		{ "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
		{ "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L },
		{ "n", 1e-9L }, { "u", 1e-6L }, { "m", 1e-3L }, { "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L },
		{ "T", 1e12L }, { "P", 1e15L }, { "E", 1e18L },
	};
	char num[64];
	const char *p = s;
	size_t n, i;
	long double v, mult = 1.0L;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	if (*p == 'e' || *p == 'E') {
		/* Decimal exponent ("1e3"); "E" alone is the exa suffix. */
		const char *q = p + 1;

		if (*q == '+' || *q == '-')
			q++;
		if (isdigit((unsigned char)*q)) {
			long ex;

			errno = 0;
			ex = strtol(p + 1, &end, 10);
			if (errno || *end || ex > 30 || ex < -30)
				return -EINVAL;
			mult = powl(10.0L, (long double)ex);
			p = end;
		}
	}
	if (*p) {
		for (i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
			if (strcmp(p, sufs[i].suf) == 0)
				break;
		if (i == sizeof(sufs) / sizeof(sufs[0]))
			return -EINVAL;
		mult = sufs[i].mult;
	}
	errno = 0;
	v = strtold(num, &end);
	if (errno || *end)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static bool is_zero(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0.0;
	case JSON_FALSE:
	case JSON_NULL:
		return true;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	default:
		return false;
	}
}

static bool covers(const json_t *want, const json_t *have, bool quantities, int depth)
{
	if (depth > 100)
		return false;
	if (json_is_object(want)) {
		const char *k;
		json_t *v;

		if (!json_is_object(have))
			return false;
		json_object_foreach((json_t *)want, k, v) {
			json_t *h = json_object_get(have, k);

			if (!h) {
				if (!is_zero(v))
					return false;
				continue;
			}
			if (!covers(v, h, quantities || strcmp(k, "resources") == 0, depth + 1))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		size_t i;

		if (!json_is_array(have) || json_array_size(have) != json_array_size(want))
			return false;
		for (i = 0; i < json_array_size(want); i++)
			if (!covers(json_array_get(want, i), json_array_get(have, i), quantities, depth + 1))
				return false;
		return true;
	}
	if (quantities && json_is_string(want) && json_is_string(have)) {
		long double a, b;

		if (strcmp(json_string_value(want), json_string_value(have)) == 0)
			return true;
		if (kobj_quantity(json_string_value(want), &a) < 0 || kobj_quantity(json_string_value(have), &b) < 0)
			return false;
		return fabsl(a - b) <= fabsl(a) * 1e-15L;
	}
	if (quantities && json_is_number(want) && json_is_string(have)) {
		long double b;

		return kobj_quantity(json_string_value(have), &b) == 0 &&
		       fabsl((long double)json_number_value(want) - b) <= fabsl(b) * 1e-15L;
	}
	if (json_is_number(want) && json_is_number(have))
		return json_number_value(want) == json_number_value(have);
	return json_equal((json_t *)want, (json_t *)have);
}

bool kobj_covers(const json_t *want, const json_t *have)
{
	return covers(want, have, false, 0);
}
