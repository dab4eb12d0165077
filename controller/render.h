/* render.h: a Vivo object to its ConfigMap, Deployment and Service (spec controller.md 2), deterministically. */
#ifndef VIVO_RENDER_H
#define VIVO_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define RENDER_GROUP "vivo.dev"
#define RENDER_API_VERSION "vivo.dev/v1alpha1"
#define RENDER_KIND "Vivo"
#define RENDER_MANAGER "vivo-controller"
#define RENDER_LABEL_NAME "app.kubernetes.io/name"
#define RENDER_LABEL_INSTANCE "app.kubernetes.io/instance"
#define RENDER_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define RENDER_HASH_ANNOTATION "vivo.dev/config-hash"
#define RENDER_HEALTH_PORT 2020
/* Where the agent takes Fluent Bit's forward output when Fluent Bit runs in the pod. */
#define RENDER_AGENT_FB_PORT 24224
#define RENDER_CONFIG_DIR "/etc/vivo"

struct render_opts {
	const char *agent_image;      /* when spec.image is empty */
	const char *fluent_bit_image; /* when spec.fluentBit.image is empty */
};

struct render_out {
	json_t *configmap;   /* apply configurations (apiVersion, kind, metadata, ...) */
	json_t *deployment;
	json_t *service;
	json_t *endpoints;   /* status.endpoints */
	char hash[80];       /* "sha256:<hex>" of the ConfigMap data */
	bool paused;         /* spec.paused */
	long long replicas;  /* spec.replicas */
};

/* Render `vivo` (a Vivo object as the API returns it). On success the caller owns `out`
 * (render_out_free). -EINVAL when the spec is invalid in a way the schema cannot catch
 * (a port on 2020 or 24224, a pipeline entry without a name, ...) with a sentence for
 * status in `err`; -ENOMEM. Same object, same options: same bytes. */
int render_vivo(const json_t *vivo, const struct render_opts *o, struct render_out *out, char *err, size_t errlen);
void render_out_free(struct render_out *out);

/* The ConfigMap's name for a Vivo: "<name>-config". `out` has >= 260 bytes. */
void render_configmap_name(const char *name, char *out, size_t n);

#endif
