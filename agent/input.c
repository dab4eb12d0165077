/* input.c: the input plugin registry and the one path by which inputs store chunks. */
#include "input.h"

#include <stdio.h>
#include <strings.h>

extern const struct input_plugin input_http, input_dummy, input_self_metrics;
extern const struct input_plugin input_forward;
extern const struct input_plugin input_opentelemetry, input_demo_traces;
extern const struct input_plugin input_prometheus_remote_write;
extern const struct input_plugin input_vivo;

/* Listening inputs in the order of the default pipeline (forward.0, http.1,
 * opentelemetry.2, as Fluent Bit numbers them), then the internal sources. */
const struct input_plugin *const input_plugins[] = {
	&input_forward,
	&input_http,
	&input_opentelemetry,
	&input_prometheus_remote_write,
	&input_dummy,
	&input_self_metrics,
	&input_demo_traces,
	&input_vivo,
	NULL,
};

const struct input_plugin *input_plugin_find(const char *name)
{
	size_t i;

	for (i = 0; input_plugins[i]; i++)
		if (strcasecmp(input_plugins[i]->name, name) == 0 ||
		    (input_plugins[i]->alias && strcasecmp(input_plugins[i]->alias, name) == 0))
			return input_plugins[i];
	return NULL;
}

const char *input_config_name(const struct input_plugin *p, const char *written)
{
	if (p->alias && written && strcasecmp(written, p->alias) == 0)
		return p->alias;
	return p->name;
}

void input_name_instances(struct input_instance **ins, size_t n)
{
	size_t i;

	/* Fluent Bit numbers instances across all inputs in config order (its instance ID),
	 * whether or not an alias names them. */
	for (i = 0; i < n; i++) {
		if (ins[i]->conf.alias && *ins[i]->conf.alias)
			snprintf(ins[i]->name, sizeof(ins[i]->name), "%s", ins[i]->conf.alias);
		else
			snprintf(ins[i]->name, sizeof(ins[i]->name), "%s.%zu",
				 input_config_name(ins[i]->plugin, ins[i]->conf.name), i);
	}
}

int input_emit(struct input_instance *in, struct chunk_builder *cb)
{
	int rc;

	/* Nothing left to store (a request of group markers only, or every record filtered
	 * out): the request succeeded and no chunk is appended. */
	if (cb->records == 0)
		return 0;
	rc = stream_append(in->streams[cb->kind], cb, NULL);

	if (rc == 0)
		atomic_fetch_add(&in->stats.chunks, 1);
	return rc;
}
