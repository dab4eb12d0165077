/* renderspec.h: a Vivo's spec read for rendering: types, defaults, and the checks the CRD schema cannot make. */
#ifndef VIVO_RENDERSPEC_H
#define VIVO_RENDERSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "render.h"

/* The agent's interfaces, in the order of spec.service.ports (and of the Service's ports). */
enum rspec_port { RSPEC_UI, RSPEC_FORWARD, RSPEC_HTTP, RSPEC_EXPORTER, RSPEC_OTLP, RSPEC_OTLP_GRPC, RSPEC_NPORTS };
/* Keys of spec.service.ports (and status.endpoints): otlpGrpc. */
extern const char *const rspec_port_keys[RSPEC_NPORTS];
/* Names of the ports in the pod and on the Service (IANA service names, lower case: otlp-grpc). */
extern const char *const rspec_port_names[RSPEC_NPORTS];

/* Kubernetes limits a Service's name (a DNS label) to this many characters. */
#define RSPEC_MAX_SERVICE_NAME 63

struct rspec {
	const char *name, *ns, *uid;
	const char *image;
	long long replicas;
	const char *queue_size;
	bool empty_on_read;
	const char *cors;
	bool otlp;
	const char *svc_type;
	json_t *svc_annotations;
	long long ports[RSPEC_NPORTS];
	bool fb;
	const char *fb_image;
	json_t *fb_inputs, *fb_filters;
	json_t *resources, *node_selector, *tolerations, *affinity, *pod_annotations;
	bool paused;
	bool sidecar;                /* spec.mode Sidecar */
	/* Sidecar mode's aggregator: spec.aggregator.streamQueueSize and .resources, else the
	 * spec's own (which are the sidecar's). */
	const char *agg_queue_size;
	json_t *agg_resources;
	/* replicas > 1: the Service <name>-peers, and every replica follows the others. */
	bool peers;
	const char *cluster_domain;  /* render_opts.cluster_domain, or RENDER_CLUSTER_DOMAIN */
};

/* Read `vivo`'s metadata and spec into `s` (strings and objects borrowed from `vivo`, which
 * must outlive `s`). -EINVAL with a sentence for the status in `err` when a field has the
 * wrong type or a value the agent or Kubernetes would refuse (a port on 2020 or 24224, two
 * equal ports, a name too long for a rendered Service, ...). */
/* True when port `i` is rendered: the OTLP ports exist only with spec.otlp.enabled. */
bool rspec_port_used(const struct rspec *s, int i);

int rspec_parse(const json_t *vivo, const struct render_opts *o, struct rspec *s, char *err, size_t errlen);

#endif
