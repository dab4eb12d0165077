/* input.c: the input plugin registry and the one path by which inputs store chunks. */
#include "input.h"

#include <strings.h>

extern const struct input_plugin input_http, input_dummy, input_self_metrics;
extern const struct input_plugin input_forward;
extern const struct input_plugin input_opentelemetry, input_demo_traces;
extern const struct input_plugin input_vivo;

const struct input_plugin *const input_plugins[] = {
	&input_http,
	&input_forward,
	&input_opentelemetry,
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

int input_emit(struct input_instance *in, struct chunk_builder *cb)
{
	int rc = stream_append(in->streams[cb->kind], cb, NULL);

	if (rc == 0)
		atomic_fetch_add(&in->stats.chunks, 1);
	return rc;
}
