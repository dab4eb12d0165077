/* render.h: a Vivo object to its ConfigMap, Deployment, Service and headless Services (spec controller.md 2, docs/fleet.md), deterministically. */
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
/* The agent image's user and group (non-root), set on the container. */
#define RENDER_AGENT_UID 65532

/* Sidecar mode (docs/sidecar.md): the pod label that opts a pod in (value: a Vivo's name
 * or "true"), the annotation the webhook writes ("<vivo-name>@<hash>"), and the names of
 * what it adds to the pod. */
#define RENDER_INJECT_LABEL "vivo.dev/inject"
#define RENDER_INJECTED_ANNOTATION "vivo.dev/injected"
#define RENDER_SIDECAR_NAME "vivo-agent"
#define RENDER_SIDECAR_VOLUME "vivo-config"
#define RENDER_MAX_PORTS 8
/* The label the webhook puts on every injected pod (value: the Vivo's name). */
#define RENDER_SIDECAR_LABEL "vivo.dev/sidecar"

/* One view over many agents (docs/fleet.md): the headless Services <name>-pods (Sidecar
 * mode: the injected pods) and <name>-peers (replicas > 1: the Vivo's own pods), whose DNS
 * names the agents' vivo input follows; the aggregator's config, beside the sidecar's in
 * the ConfigMap. */
#define RENDER_PODS_SUFFIX "-pods"
#define RENDER_PEERS_SUFFIX "-peers"
#define RENDER_AGENT_CONFIG "vivo-agent.yaml"
#define RENDER_AGGREGATOR_CONFIG "vivo-aggregator.yaml"
#define RENDER_CLUSTER_DOMAIN "cluster.local"

enum render_mode { RENDER_MODE_DEPLOYMENT, RENDER_MODE_SIDECAR };

struct render_opts {
	const char *agent_image;      /* when spec.image is empty */
	const char *fluent_bit_image; /* when spec.fluentBit.image is empty */
	const char *cluster_domain;   /* of the followed DNS names; NULL: RENDER_CLUSTER_DOMAIN */
};

struct render_out {
	enum render_mode mode; /* spec.mode */
	json_t *configmap;   /* apply configurations (apiVersion, kind, metadata, ...) */
	json_t *deployment;  /* the agent's Deployment; in Sidecar mode the aggregator */
	json_t *service;     /* Service <name>, every port, in front of it */
	json_t *pods_service;  /* Sidecar mode: headless Service <name>-pods (the injected pods), else NULL */
	json_t *peers_service; /* replicas > 1: headless Service <name>-peers (the Deployment's pods), else NULL */
	json_t *endpoints;   /* status.endpoints: the Service's URLs */
	/* "sha256:<hex>": of the ConfigMap data in Deployment mode; in Sidecar mode of the
	 * sidecar's config and the sidecar container together (what the webhook injects). */
	char hash[80];
	bool paused;         /* spec.paused */
	long long replicas;  /* spec.replicas */
	/* Sidecar mode: the agent container to inject (the Deployment's agent container with
	 * "vivo-" port names, the config mounted from volume RENDER_SIDECAR_VOLUME), the OTLP
	 * port apps are pointed at (0 when spec.otlp.enabled is false) and every port the agent
	 * listens on inside the pod. */
	json_t *sidecar;
	long long otlp_port;
	int ports[RENDER_MAX_PORTS];
	int nports;
};

/* Render `vivo` (a Vivo object as the API returns it): the ConfigMap, the Deployment and
 * the Service; in Sidecar mode also the sidecar container and the headless Service of the
 * injected pods (the Deployment is then the aggregator that follows them); with replicas > 1
 * the headless Service of the peers. On success the caller owns `out` (render_out_free). -EINVAL when the spec is invalid in a way the schema cannot catch
 * (a port on 2020 or 24224, a pipeline entry without a name, ...) with a sentence for
 * status in `err`; -ENOMEM. Same object, same options: same bytes. */
int render_vivo(const json_t *vivo, const struct render_opts *o, struct render_out *out, char *err, size_t errlen);
void render_out_free(struct render_out *out);

/* The ConfigMap's name for a Vivo: "<name>-config". `out` has >= 260 bytes. */
void render_configmap_name(const char *name, char *out, size_t n);

#endif
