/* offline.c: --render and --inject: Vivo and workload files in, objects out, with the same renderer and patch builder as the running controller. */
#include "offline.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "ctlutil.h"
#include "inject.h"
#include "kobj.h"
#include "yamljson.h"
#include "yamlout.h"

#define OFFLINE_MAX_FILE (8u << 20)

/* A Vivo from a file (namespace "default" when it has none), rendered. */
static int load_vivo(const char *file, const struct render_opts *o, json_t **vivo, struct render_out *out)
{
	char *text = NULL, err[512];
	size_t len;
	int rc;

	if ((rc = cu_read_file(file, 4u << 20, &text, &len)) < 0) {
		fprintf(stderr, "vivo-controller: %s: %s\n", file, strerror(-rc));
		return rc;
	}
	rc = yj_parse(text, len, vivo, err, sizeof(err));
	free(text);
	if (rc < 0) {
		fprintf(stderr, "vivo-controller: %s: %s\n", file, err);
		return rc;
	}
	if (!kobj_get(*vivo, "metadata.namespace") && json_is_object(json_object_get(*vivo, "metadata")))
		json_object_set_new(json_object_get(*vivo, "metadata"), "namespace", json_string("default"));
	if ((rc = render_vivo(*vivo, o, out, err, sizeof(err))) < 0) {
		fprintf(stderr, "vivo-controller: %s: %s\n", file, err);
		json_decref(*vivo);
		*vivo = NULL;
	}
	return rc;
}

int offline_render(const char *file, const struct render_opts *o)
{
	struct render_out out;
	json_t *vivo = NULL, *list, *items;
	int rc = -ENOMEM;

	if (load_vivo(file, o, &vivo, &out) < 0)
		return 1;
	/* In apply order's kinds: the ConfigMap, the Deployment, the Service, then the headless
	 * Services (Sidecar mode's <name>-pods, replicas > 1's <name>-peers); Sidecar mode's
	 * injected container beside them. */
	list = json_pack("{s:s, s:s, s:[O, O, O], s:{s:s, s:O}}", "apiVersion", "v1", "kind", "List", "items",
			 out.configmap, out.deployment, out.service, "status", "configHash", out.hash, "endpoints",
			 out.endpoints);
	items = json_object_get(list, "items");
	if (list && (!out.pods_service || json_array_append(items, out.pods_service) == 0) &&
	    (!out.peers_service || json_array_append(items, out.peers_service) == 0) &&
	    (!out.sidecar || json_object_set(list, "sidecar", out.sidecar) == 0))
		rc = json_dumpf(list, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(list);
	render_out_free(&out);
	json_decref(vivo);
	return rc == 0 ? 0 : 1;
}

struct inject_ctx {
	const struct inj_profile *p;
	const char *vivo_ns;
	const char *file;
	int injected, present, skipped;
};

/* One pod template (a Pod, or a workload's spec.template), patched in place. */
static int inject_template(struct inject_ctx *x, json_t *tmpl, const char *where, const char *obj_ns)
{
	struct inj_result r;
	json_t *md, *labels, *w;
	const char *value;
	char err[256];
	size_t i;
	int rc;

	if (!json_is_object(tmpl)) {
		fprintf(stderr, "vivo-controller: %s: %s: no pod template\n", x->file, where);
		return -EINVAL;
	}
	if (!json_is_object(md = json_object_get(tmpl, "metadata")) &&
	    (json_object_set_new(tmpl, "metadata", json_object()) < 0 || !(md = json_object_get(tmpl, "metadata"))))
		return -ENOMEM;
	if (!json_is_object(labels = json_object_get(md, "labels")) &&
	    (json_object_set_new(md, "labels", json_object()) < 0 || !(labels = json_object_get(md, "labels"))))
		return -ENOMEM;
	value = json_string_value(json_object_get(labels, RENDER_INJECT_LABEL));
	if (value && (strcmp(value, "false") == 0 || (strcmp(value, x->p->vivo) != 0 && strcmp(value, "true") != 0))) {
		fprintf(stderr, "vivo-controller: %s: %s: label %s=%s%s; left unchanged\n", x->file, where,
			RENDER_INJECT_LABEL, value, strcmp(value, "false") == 0 ? " opts out" : " names another Vivo");
		x->skipped++;
		return 0;
	}
	/* Opted in with the label, so that the webhook (which then finds the sidecar there)
	 * and the Vivo's status count the pods. */
	if (!value && json_object_set_new(labels, RENDER_INJECT_LABEL, json_string(x->p->vivo)) < 0)
		return -ENOMEM;
	if (obj_ns && *obj_ns && strcmp(obj_ns, x->vivo_ns) != 0)
		fprintf(stderr, "vivo-controller: %s: %s: warning: it runs in namespace %s but Vivo %s/%s (and its ConfigMap) "
			"is in %s: apply the Vivo in %s too\n", x->file, where, obj_ns, x->vivo_ns, x->p->vivo, x->vivo_ns,
			obj_ns);
	if ((rc = inj_build(tmpl, x->p, &r, err, sizeof(err))) < 0) {
		fprintf(stderr, "vivo-controller: %s: %s: %s\n", x->file, where, err);
		return rc;
	}
	json_array_foreach(r.warnings, i, w)
		fprintf(stderr, "vivo-controller: %s: %s: warning: %s\n", x->file, where, json_string_value(w));
	if ((rc = inj_apply(tmpl, r.patch, err, sizeof(err))) < 0)
		fprintf(stderr, "vivo-controller: %s: %s: %s\n", x->file, where, err);
	else if (r.present)
		x->present++;
	else
		x->injected++;
	inj_result_free(&r);
	return rc;
}

static int walk(struct inject_ctx *x, json_t *obj, int depth)
{
	static const char *const workloads[] = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
						 "ReplicationController" };
	const char *kind = kobj_str(obj, "kind", ""), *ns = kobj_str(obj, "metadata.namespace", NULL);
	char where[600];
	json_t *it;
	size_t i;
	int rc = 0;

	snprintf(where, sizeof(where), "%s %s", *kind ? kind : "(no kind)", kobj_str(obj, "metadata.name", "(no name)"));
	if (strcmp(kind, "List") == 0 || (strlen(kind) > 4 && strcmp(kind + strlen(kind) - 4, "List") == 0)) {
		if (depth > 4)
			return -EINVAL;
		json_array_foreach(json_object_get(obj, "items"), i, it)
			if ((rc = walk(x, it, depth + 1)) < 0)
				return rc;
		return 0;
	}
	if (strcmp(kind, "Pod") == 0)
		return inject_template(x, obj, where, ns);
	if (strcmp(kind, "CronJob") == 0)
		return inject_template(x, kobj_get(obj, "spec.jobTemplate.spec.template"), where, ns);
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(kind, workloads[i]) == 0)
			return inject_template(x, kobj_get(obj, "spec.template"), where, ns);
	fprintf(stderr, "vivo-controller: %s: %s has no pod template: printed unchanged\n", x->file, where);
	return 0;
}

int offline_inject(const char *file, const char *vivo_file, const struct render_opts *o, const char *server_version)
{
	struct render_out ro;
	struct inj_profile p;
	struct inject_ctx x;
	json_t *vivo = NULL, *docs = NULL, *doc, *ver;
	char *text = NULL, err[512], cm[320];
	int major = 1, minor = INJ_NATIVE_MINOR, rc, status = 1;
	size_t len, i, k;
	bool json_in;

	if (load_vivo(vivo_file, o, &vivo, &ro) < 0)
		return 1;
	if (ro.mode != RENDER_MODE_SIDECAR) {
		fprintf(stderr, "vivo-controller: %s: Vivo %s is not in Sidecar mode (set spec.mode: Sidecar)\n", vivo_file,
			kobj_str(vivo, "metadata.name", "?"));
		goto out;
	}
	if (server_version) {
		ver = json_pack("{s:s}", "gitVersion", server_version);
		rc = ver ? inj_parse_version(ver, &major, &minor) : -ENOMEM;
		json_decref(ver);
		if (rc < 0) {
			fprintf(stderr, "vivo-controller: --server-version '%s' is not MAJOR.MINOR\n", server_version);
			goto out;
		}
	}
	if ((rc = cu_read_file(file, OFFLINE_MAX_FILE, &text, &len)) < 0) {
		fprintf(stderr, "vivo-controller: %s: %s\n", file, rc == -EFBIG ? "larger than 8 MiB" : strerror(-rc));
		goto out;
	}
	for (k = 0; k < len && isspace((unsigned char)text[k]); k++)
		;
	json_in = k < len && (text[k] == '{' || text[k] == '[');
	if (yj_parse_all(text, len, &docs, err, sizeof(err)) < 0) {
		fprintf(stderr, "vivo-controller: %s: %s\n", file, err);
		goto out;
	}
	render_configmap_name(kobj_str(vivo, "metadata.name", ""), cm, sizeof(cm));
	memset(&p, 0, sizeof(p));
	p.vivo = kobj_str(vivo, "metadata.name", "");
	p.hash = ro.hash;
	p.configmap = cm;
	p.container = ro.sidecar;
	p.otlp_port = ro.otlp_port;
	p.ports = ro.ports;
	p.nports = ro.nports;
	p.native = inj_native_supported(major, minor);
	memset(&x, 0, sizeof(x));
	x.p = &p;
	x.vivo_ns = kobj_str(vivo, "metadata.namespace", "default");
	x.file = file;
	json_array_foreach(docs, i, doc)
		if (walk(&x, doc, 0) < 0)
			goto out;
	json_array_foreach(docs, i, doc) {
		if (json_in) {
			json_dumpf(doc, stdout, JSON_INDENT(2));
			printf("\n");
		} else {
			struct buf b;

			buf_init(&b, 64u << 20);
			if (yout_emit(&b, doc) < 0) {
				buf_free(&b);
				fprintf(stderr, "vivo-controller: cannot write YAML\n");
				goto out;
			}
			printf("%s%.*s", i ? "---\n" : "", (int)b.len, b.data);
			buf_free(&b);
		}
	}
	fprintf(stderr, "vivo-controller: %s: %d pod template%s injected (%s), %d had the sidecar, %d left alone\n", file,
		x.injected, x.injected == 1 ? "" : "s", p.native ? "native sidecar" : "ordinary container", x.present,
		x.skipped);
	status = 0;
out:
	free(text);
	json_decref(docs);
	json_decref(vivo);
	render_out_free(&ro);
	return status;
}
