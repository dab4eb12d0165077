/* offline.h: vivo-controller's commands that need no cluster: --render (a Vivo's objects) and --inject (workloads with the sidecar, as the webhook adds it). */
#ifndef VIVO_OFFLINE_H
#define VIVO_OFFLINE_H

#include "render.h"

/* Print the objects a Vivo (YAML or JSON file) renders to, as a JSON List. The exit code. */
int offline_render(const char *file, const struct render_opts *o);

/* Print `file` (a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or List;
 * YAML, several documents allowed, or JSON) with the sidecar of the Sidecar-mode Vivo in
 * `vivo_file` added to every pod template, through the webhook's own patch builder; in the
 * same format. Templates without the opt-in label get it. `server_version` ("1.28", ...)
 * picks the container type (NULL: a native sidecar). Warnings go to stderr. The exit code. */
int offline_inject(const char *file, const char *vivo_file, const struct render_opts *o, const char *server_version);

#endif
