/* inject.c: the sidecar JSON Patch for a pod (every container and volume layout, idempotent), its RFC 6902 applier, and the version check for native sidecars. */
#include "inject.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kobj.h"
#include "render.h"

/* vivo-config, vivo-config-2, ... up to this many before giving up. */
#define INJ_MAX_VOLUME_NAMES 100
/* Label values are at most 63 characters. */
#define INJ_MAX_LABEL_VALUE 63
#define INJ_PATH_MAX 512

/* ---- building ----------------------------------------------------------------------- */

/* One JSON pointer token: '~' becomes "~0" and '/' becomes "~1". */
static void ptr_escape(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; *in && o + 3 < n; in++) {
		if (*in == '~' || *in == '/') {
			out[o++] = '~';
			out[o++] = *in == '~' ? '0' : '1';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* Append {"op", "path", "value"} to the patch; takes `value` (NULL only for remove). */
static int op(json_t *patch, const char *name, const char *path, json_t *value)
{
	json_t *o;

	if (!value && strcmp(name, "remove") != 0)
		return -ENOMEM;
	if (!(o = json_pack("{s:s, s:s}", "op", name, "path", path))) {
		json_decref(value);
		return -ENOMEM;
	}
	if (value && json_object_set_new(o, "value", value) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_array_append_new(patch, o) < 0 ? -ENOMEM : 0;
}

__attribute__((format(printf, 2, 3)))
static int warn(json_t *warnings, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_array_append_new(warnings, json_string(msg)) < 0 ? -ENOMEM : 0;
}

const json_t *inj_find_sidecar(const json_t *podspec, bool *native)
{
	static const char *const lists[2] = { "initContainers", "containers" };
	const json_t *c;
	size_t i;
	int l;

	for (l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(podspec, lists[l]), i, c) {
			if (strcmp(kobj_str(c, "name", ""), RENDER_SIDECAR_NAME) == 0) {
				if (native)
					*native = l == 0;
				return c;
			}
		}
	}
	return NULL;
}

/* The last entry named `name` in an env list (the one that wins), and its index. */
static const json_t *env_find(const json_t *env, const char *name, size_t *idx)
{
	const json_t *e, *found = NULL;
	size_t i;

	json_array_foreach(env, i, e) {
		if (strcmp(kobj_str(e, "name", ""), name) == 0) {
			found = e;
			if (idx)
				*idx = i;
		}
	}
	return found;
}

/* True when OTEL_RESOURCE_ATTRIBUTES text `v` ("k1=v1,k2=v2") has key `key`. */
static bool attrs_have(const char *v, const char *key)
{
	size_t kl = strlen(key);

	while (*v) {
		size_t n = strcspn(v, ","), k;
		const char *eq = memchr(v, '=', n), *s = v;

		k = eq ? (size_t)(eq - v) : n;
		while (k && (*s == ' ' || *s == '\t')) {
			s++;
			k--;
		}
		while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k == kl && memcmp(s, key, kl) == 0)
			return true;
		v += n + (v[n] == ',');
	}
	return false;
}

static json_t *env_field(const char *name, const char *field)
{
	return json_pack("{s:s, s:{s:{s:s}}}", "name", name, "valueFrom", "fieldRef", "fieldPath", field);
}

static json_t *env_value(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* What one app container needs: which variables to add, and the attributes to append. */
struct env_plan {
	bool endpoint;           /* add OTEL_EXPORTER_OTLP_ENDPOINT and _PROTOCOL */
	bool name_var, ns_var;   /* add VIVO_POD_NAME / VIVO_POD_NAMESPACE */
	char attrs[160];         /* to append to OTEL_RESOURCE_ATTRIBUTES ("" = nothing) */
	const json_t *ra;        /* the existing OTEL_RESOURCE_ATTRIBUTES entry, or NULL */
	size_t ra_idx;
};

static int env_plan(const json_t *c, const json_t *env, struct env_plan *pl, json_t *warnings)
{
	const char *cname = kobj_str(c, "name", "?"), *old = "";
	bool need_pod, need_ns;
	int n;

	memset(pl, 0, sizeof(*pl));
	pl->endpoint = !env_find(env, "OTEL_EXPORTER_OTLP_ENDPOINT", NULL) &&
		       !env_find(env, "OTEL_EXPORTER_OTLP_PROTOCOL", NULL);
	pl->ra = env_find(env, "OTEL_RESOURCE_ATTRIBUTES", &pl->ra_idx);
	if (pl->ra && json_object_get(pl->ra, "valueFrom")) {
		/* A value from a Secret or ConfigMap cannot be appended to without replacing it. */
		return warn(warnings, "container %s takes OTEL_RESOURCE_ATTRIBUTES from valueFrom: "
			    "k8s.pod.name and k8s.namespace.name were not appended", cname);
	}
	if (pl->ra)
		old = kobj_str(pl->ra, "value", "");
	need_pod = !attrs_have(old, "k8s.pod.name");
	need_ns = !attrs_have(old, "k8s.namespace.name");
	pl->name_var = need_pod && !env_find(env, INJ_ENV_POD_NAME, NULL);
	pl->ns_var = need_ns && !env_find(env, INJ_ENV_POD_NAMESPACE, NULL);
	n = snprintf(pl->attrs, sizeof(pl->attrs), "%s%s%s", need_pod ? "k8s.pod.name=$(" INJ_ENV_POD_NAME ")" : "",
		     need_pod && need_ns ? "," : "", need_ns ? "k8s.namespace.name=$(" INJ_ENV_POD_NAMESPACE ")" : "");
	return n < 0 ? -EINVAL : 0;
}

/* The patch for container `ci`'s env. Variables that OTEL_RESOURCE_ATTRIBUTES refers to
 * must come before it in the list, so they are inserted at the front when it exists. */
static int container_env(json_t *patch, json_t *warnings, const json_t *c, size_t ci, const struct inj_profile *p)
{
	const json_t *env = json_object_get(c, "env");
	char base[96], path[INJ_PATH_MAX], endpoint[64];
	struct env_plan pl;
	size_t shift = 0;
	int rc;

	if (env && !json_is_array(env) && !json_is_null(env))
		return warn(warnings, "container %s: env is not a list; left alone", kobj_str(c, "name", "?"));
	if ((rc = env_plan(c, env, &pl, warnings)) < 0)
		return rc;
	snprintf(endpoint, sizeof(endpoint), "http://localhost:%lld", p->otlp_port);
	snprintf(base, sizeof(base), "/spec/containers/%zu/env", ci);
	if (!json_is_array(env)) {
		json_t *list = json_array();

		if (!list)
			return -ENOMEM;
		if ((pl.name_var && json_array_append_new(list, env_field(INJ_ENV_POD_NAME, "metadata.name")) < 0) ||
		    (pl.ns_var && json_array_append_new(list, env_field(INJ_ENV_POD_NAMESPACE, "metadata.namespace")) < 0) ||
		    json_array_append_new(list, env_value("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)) < 0 ||
		    json_array_append_new(list, env_value("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")) < 0 ||
		    json_array_append_new(list, env_value("OTEL_RESOURCE_ATTRIBUTES", pl.attrs)) < 0) {
			json_decref(list);
			return -ENOMEM;
		}
		return op(patch, "add", base, list);
	}
	if (pl.ra && pl.attrs[0]) {
		const char *old = kobj_str(pl.ra, "value", "");
		size_t ol = strlen(old);
		struct buf v;

		if (pl.name_var) {
			snprintf(path, sizeof(path), "%s/%zu", base, shift++);
			if ((rc = op(patch, "add", path, env_field(INJ_ENV_POD_NAME, "metadata.name"))) < 0)
				return rc;
		}
		if (pl.ns_var) {
			snprintf(path, sizeof(path), "%s/%zu", base, shift++);
			if ((rc = op(patch, "add", path, env_field(INJ_ENV_POD_NAMESPACE, "metadata.namespace"))) < 0)
				return rc;
		}
		while (ol && (old[ol - 1] == ' ' || old[ol - 1] == ','))
			ol--;
		buf_init(&v, 64 * 1024);
		rc = buf_append(&v, old, ol);
		if (rc == 0 && ol)
			rc = buf_putc(&v, ',');
		if (rc == 0)
			rc = buf_puts(&v, pl.attrs);
		snprintf(path, sizeof(path), "%s/%zu/value", base, pl.ra_idx + shift);
		if (rc == 0)
			rc = op(patch, "add", path, json_stringn(v.data, v.len));
		buf_free(&v);
		if (rc < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/-", base);
	if (pl.endpoint && ((rc = op(patch, "add", path, env_value("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint))) < 0 ||
			    (rc = op(patch, "add", path, env_value("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"))) < 0))
		return rc;
	if (!pl.ra && pl.attrs[0] &&
	    ((pl.name_var && (rc = op(patch, "add", path, env_field(INJ_ENV_POD_NAME, "metadata.name"))) < 0) ||
	     (pl.ns_var && (rc = op(patch, "add", path, env_field(INJ_ENV_POD_NAMESPACE, "metadata.namespace"))) < 0) ||
	     (rc = op(patch, "add", path, env_value("OTEL_RESOURCE_ATTRIBUTES", pl.attrs))) < 0))
		return rc;
	return 0;
}

/* Warn about app container ports the agent listens on too (one network namespace). */
static int port_clashes(json_t *warnings, const json_t *c, const struct inj_profile *p)
{
	const json_t *port;
	size_t i;
	int k, rc = 0;

	json_array_foreach(json_object_get(c, "ports"), i, port) {
		json_int_t n = json_integer_value(json_object_get(port, "containerPort"));

		for (k = 0; k < p->nports && rc == 0; k++)
			if (n == p->ports[k])
				rc = warn(warnings, "container %s declares port %d, where the Vivo agent listens too: "
					  "choose other ports in Vivo %s's spec.service.ports", kobj_str(c, "name", "?"),
					  p->ports[k], p->vivo);
	}
	return rc;
}

static bool volume_taken(const json_t *vols, const char *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vols, i, v)
		if (strcmp(kobj_str(v, "name", ""), name) == 0)
			return true;
	return false;
}

/* The annotation and label (metadata first, so a pod template without one gets it). */
static int metadata_ops(json_t *patch, json_t *warnings, const json_t *pod, const struct inj_profile *p)
{
	const json_t *md = json_object_get(pod, "metadata");
	char key[128], path[INJ_PATH_MAX], value[512];
	bool label = strlen(p->vivo) <= INJ_MAX_LABEL_VALUE;
	int rc;

	snprintf(value, sizeof(value), "%s@%s", p->vivo, p->hash);
	if (!json_is_object(md))
		return op(patch, "add", "/metadata",
			  label ? json_pack("{s:{s:s}, s:{s:s}}", "annotations", RENDER_INJECTED_ANNOTATION, value,
					    "labels", INJ_SIDECAR_LABEL, p->vivo)
				: json_pack("{s:{s:s}}", "annotations", RENDER_INJECTED_ANNOTATION, value));
	if (!json_is_object(json_object_get(md, "annotations"))) {
		rc = op(patch, "add", "/metadata/annotations", json_pack("{s:s}", RENDER_INJECTED_ANNOTATION, value));
	} else {
		ptr_escape(RENDER_INJECTED_ANNOTATION, key, sizeof(key));
		snprintf(path, sizeof(path), "/metadata/annotations/%s", key);
		rc = op(patch, "add", path, json_string(value));
	}
	if (rc < 0)
		return rc;
	if (!label)
		return warn(warnings, "the Vivo's name is longer than a label value: label %s not set", INJ_SIDECAR_LABEL);
	if (!json_is_object(json_object_get(md, "labels")))
		return op(patch, "add", "/metadata/labels", json_pack("{s:s}", INJ_SIDECAR_LABEL, p->vivo));
	ptr_escape(INJ_SIDECAR_LABEL, key, sizeof(key));
	snprintf(path, sizeof(path), "/metadata/labels/%s", key);
	return op(patch, "add", path, json_string(p->vivo));
}

/* The config volume (first free name) and the sidecar container mounting it. */
static int sidecar_ops(json_t *patch, const json_t *spec, const struct inj_profile *p, char *err, size_t errlen)
{
	const json_t *vols = json_object_get(spec, "volumes"), *list;
	char vname[64];
	json_t *c, *mount;
	int i, rc;

	for (i = 1; i <= INJ_MAX_VOLUME_NAMES; i++) {
		if (i == 1)
			snprintf(vname, sizeof(vname), "%s", RENDER_SIDECAR_VOLUME);
		else
			snprintf(vname, sizeof(vname), "%s-%d", RENDER_SIDECAR_VOLUME, i);
		if (!volume_taken(vols, vname))
			break;
	}
	if (i > INJ_MAX_VOLUME_NAMES) {
		snprintf(err, errlen, "volumes %s to %s-%d are all taken", RENDER_SIDECAR_VOLUME, RENDER_SIDECAR_VOLUME,
			 INJ_MAX_VOLUME_NAMES);
		return -EINVAL;
	}
	rc = json_array_size(vols)
		     ? op(patch, "add", "/spec/volumes/-", json_pack("{s:s, s:{s:s}}", "name", vname, "configMap", "name", p->configmap))
		     : op(patch, "add", "/spec/volumes", json_pack("[{s:s, s:{s:s}}]", "name", vname, "configMap", "name", p->configmap));
	if (rc < 0)
		return rc;
	if (!(c = json_deep_copy(p->container)))
		return -ENOMEM;
	mount = json_array_get(json_object_get(c, "volumeMounts"), 0);
	if (!mount || json_object_set_new(mount, "name", json_string(vname)) < 0 ||
	    (p->native && json_object_set_new(c, "restartPolicy", json_string("Always")) < 0)) {
		json_decref(c);
		return -ENOMEM;
	}
	/* Native: first of the init containers, so it runs before (and telemetry of) the
	 * others. Otherwise last of the containers: the first stays kubectl's default. */
	list = json_object_get(spec, p->native ? "initContainers" : "containers");
	if (json_array_size(list))
		return op(patch, "add", p->native ? "/spec/initContainers/0" : "/spec/containers/-", c);
	if (p->native)
		return op(patch, "add", "/spec/initContainers", json_pack("[o]", c));
	return op(patch, "add", "/spec/containers", json_pack("[o]", c));
}

int inj_build(const json_t *pod, const struct inj_profile *p, struct inj_result *out, char *err, size_t errlen)
{
	const json_t *spec = json_object_get(pod, "spec"), *c;
	const char *env_ann = json_string_value(json_object_get(kobj_get(pod, "metadata.annotations"), INJ_ENV_ANNOTATION));
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(pod) || !json_is_object(spec)) {
		snprintf(err, errlen, "no pod spec to patch");
		return -EINVAL;
	}
	if (json_object_get(spec, "containers") && !json_is_array(json_object_get(spec, "containers"))) {
		snprintf(err, errlen, "spec.containers is not a list");
		return -EINVAL;
	}
	if (!(out->patch = json_array()) || !(out->warnings = json_array())) {
		inj_result_free(out);
		return -ENOMEM;
	}
	if (inj_find_sidecar(spec, NULL)) {
		out->present = true; /* injected already (a reinvocation, or --inject output) */
		return 0;
	}
	if (json_is_true(json_object_get(spec, "hostNetwork"))) {
		rc = warn(out->warnings, "pod uses the host network: the Vivo sidecar was not added "
			  "(its ports would be the node's)");
		goto out;
	}
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		if (!json_is_object(c))
			continue; /* not a container: validation refuses the pod after us */
		if (rc == 0 && p->nports)
			rc = port_clashes(out->warnings, c, p);
		if (rc == 0 && p->otlp_port > 0 && !(env_ann && strcmp(env_ann, "false") == 0))
			rc = container_env(out->patch, out->warnings, c, i, p);
	}
	if (rc == 0)
		rc = metadata_ops(out->patch, out->warnings, pod, p);
	if (rc == 0)
		rc = sidecar_ops(out->patch, spec, p, err, errlen);
out:
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		inj_result_free(out);
	}
	return rc;
}

void inj_result_free(struct inj_result *r)
{
	if (!r)
		return;
	json_decref(r->patch);
	json_decref(r->warnings);
	r->patch = r->warnings = NULL;
}

/* ---- applying ----------------------------------------------------------------------- */

/* An array index token: "0" or digits without a leading zero, below 2^31. */
static int parse_index(const char *t, size_t *out)
{
	size_t v = 0;
	const char *p = t;

	if (!*p || (p[0] == '0' && p[1]))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > 214748364)
			return -EINVAL;
		v = v * 10 + (size_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* The next token of pointer *pp (after its '/'), unescaped into tok. */
static int next_token(const char **pp, char *tok, size_t n)
{
	const char *p = *pp;
	size_t o = 0;

	if (*p != '/')
		return -EINVAL;
	for (p++; *p && *p != '/'; p++) {
		char ch = *p;

		if (ch == '~') {
			if (p[1] != '0' && p[1] != '1')
				return -EINVAL;
			ch = p[1] == '0' ? '~' : '/';
			p++;
		}
		if (o + 1 >= n)
			return -ENAMETOOLONG;
		tok[o++] = ch;
	}
	tok[o] = '\0';
	*pp = p;
	return 0;
}

/* The container holding the target of `path`, and the target's last token. */
static int resolve(json_t *doc, const char *path, json_t **parent, char *last, size_t n)
{
	const char *p = path;
	json_t *cur = doc;
	int rc;

	if (!*path)
		return -EINVAL; /* the whole document: never produced here */
	for (;;) {
		if ((rc = next_token(&p, last, n)) < 0)
			return rc;
		if (!*p)
			break;
		if (json_is_object(cur)) {
			cur = json_object_get(cur, last);
		} else if (json_is_array(cur)) {
			size_t i;

			if (parse_index(last, &i) < 0)
				return -EINVAL;
			cur = json_array_get(cur, i);
		} else {
			return -ENOENT;
		}
		if (!cur)
			return -ENOENT;
	}
	*parent = cur;
	return 0;
}

static int apply_one(json_t *doc, const char *name, const char *path, json_t *value)
{
	char last[1024];
	json_t *parent, *target;
	size_t i = 0, size;
	bool add = strcmp(name, "add") == 0;
	int rc;

	if ((rc = resolve(doc, path, &parent, last, sizeof(last))) < 0)
		return rc;
	if (json_is_object(parent)) {
		target = json_object_get(parent, last);
		if (add)
			return json_object_set(parent, last, value) < 0 ? -ENOMEM : 0;
		if (!target)
			return -ENOENT;
		if (strcmp(name, "remove") == 0)
			return json_object_del(parent, last) < 0 ? -ENOENT : 0;
		if (strcmp(name, "replace") == 0)
			return json_object_set(parent, last, value) < 0 ? -ENOMEM : 0;
		return json_equal(target, value) ? 0 : -ESRCH; /* test */
	}
	if (!json_is_array(parent))
		return -ENOENT;
	size = json_array_size(parent);
	if (add && strcmp(last, "-") == 0)
		return json_array_append(parent, value) < 0 ? -ENOMEM : 0;
	if (parse_index(last, &i) < 0 || i > size || (!add && i == size))
		return -ENOENT;
	if (add)
		return json_array_insert(parent, i, value) < 0 ? -ENOMEM : 0;
	if (strcmp(name, "remove") == 0)
		return json_array_remove(parent, i) < 0 ? -ENOENT : 0;
	if (strcmp(name, "replace") == 0)
		return json_array_set(parent, i, value) < 0 ? -ENOMEM : 0;
	return json_equal(json_array_get(parent, i), value) ? 0 : -ESRCH;
}

int inj_apply(json_t *doc, const json_t *patch, char *err, size_t errlen)
{
	static const char *const known[] = { "add", "remove", "replace", "test" };
	const json_t *o;
	size_t i, k;
	int rc;

	if (!json_is_array(patch)) {
		snprintf(err, errlen, "a JSON Patch is a list of operations");
		return -EINVAL;
	}
	json_array_foreach(patch, i, o) {
		const char *name = kobj_str(o, "op", ""), *path = kobj_str(o, "path", NULL);
		json_t *value = json_object_get(o, "value");

		for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcmp(name, known[k]) != 0; k++)
			;
		if (k == sizeof(known) / sizeof(known[0]) || !path || (!value && strcmp(name, "remove") != 0)) {
			snprintf(err, errlen, "operation %zu: needs op add, remove, replace or test, a path, and a value", i);
			return -EINVAL;
		}
		if ((rc = apply_one(doc, name, path, value)) < 0) {
			snprintf(err, errlen, "operation %zu (%s %.200s): %s", i, name, path,
				 rc == -ENOMEM ? "out of memory" : rc == -ESRCH ? "test failed"
				 : rc == -ENOENT ? "no such location" : "bad path");
			return rc == -ENOMEM ? -ENOMEM : -EINVAL;
		}
	}
	return 0;
}

/* ---- versions ----------------------------------------------------------------------- */

/* The decimal digits at the start of s (at least one, at most 6). */
static int leading_int(const char *s, const char **end, int *out)
{
	int v = 0, n = 0;

	while (*s >= '0' && *s <= '9' && n < 6) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (!n)
		return -EINVAL;
	if (end)
		*end = s;
	*out = v;
	return 0;
}

int inj_parse_version(const json_t *version, int *major, int *minor)
{
	const char *gv = kobj_str(version, "gitVersion", ""), *p;

	if (leading_int(kobj_str(version, "major", ""), NULL, major) == 0 &&
	    leading_int(kobj_str(version, "minor", ""), NULL, minor) == 0)
		return 0;
	if (*gv == 'v')
		gv++;
	if (leading_int(gv, &p, major) < 0 || *p != '.' || leading_int(p + 1, NULL, minor) < 0)
		return -EINVAL;
	return 0;
}

bool inj_native_supported(int major, int minor)
{
	return major > INJ_NATIVE_MAJOR || (major == INJ_NATIVE_MAJOR && minor >= INJ_NATIVE_MINOR);
}

/* ---- what status needs of a pod ------------------------------------------------------ */

static int keep_key(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	return v ? json_object_set(dst, key, v) : 0;
}

void inj_pod_summary(json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec"), *c;
	json_t *nmd = json_object(), *labels = json_object(), *ann = json_object(), *vivo;
	bool ready = false;
	size_t i;

	json_array_foreach(kobj_get(pod, "status.conditions"), i, c)
		if (strcmp(kobj_str(c, "type", ""), "Ready") == 0 && strcmp(kobj_str(c, "status", ""), "True") == 0)
			ready = true;
	vivo = json_pack("{s:b, s:b, s:s, s:b}", "sidecar", inj_find_sidecar(spec, NULL) != NULL, "hostNetwork",
			 json_is_true(json_object_get(spec, "hostNetwork")), "phase", kobj_str(pod, "status.phase", ""),
			 "ready", ready);
	if (!nmd || !labels || !ann || !vivo || keep_key(nmd, md, "name") < 0 || keep_key(nmd, md, "namespace") < 0 ||
	    keep_key(nmd, md, "resourceVersion") < 0 || keep_key(nmd, md, "deletionTimestamp") < 0 ||
	    keep_key(labels, json_object_get(md, "labels"), RENDER_INJECT_LABEL) < 0 ||
	    keep_key(ann, json_object_get(md, "annotations"), RENDER_INJECTED_ANNOTATION) < 0 ||
	    json_object_set(nmd, "labels", labels) < 0 || json_object_set(nmd, "annotations", ann) < 0) {
		/* Out of memory: cache the pod whole rather than wrong. */
		json_decref(nmd);
		json_decref(labels);
		json_decref(ann);
		json_decref(vivo);
		return;
	}
	json_decref(labels);
	json_decref(ann);
	json_object_clear(pod);
	json_object_set_new(pod, "metadata", nmd);
	json_object_set_new(pod, "vivo", vivo);
}
