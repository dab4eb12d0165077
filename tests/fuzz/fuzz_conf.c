/* fuzz_conf.c: libFuzzer target for the config loaders (YAML, or classic with FUZZ_CONF_CLASSIC). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char err[1024];
	char *text = malloc(size + 2);

	if (!text)
		return 0;
#ifdef FUZZ_CONF_CLASSIC
	/* A leading section header makes the loader take the classic path. */
	text[0] = '[';
	memcpy(text + 1, data, size);
	size++;
#else
	memcpy(text, data, size);
	/* A leading '[' or '@' would pick the classic reader; keep this target on YAML. */
	if (size && (text[0] == '[' || text[0] == '@'))
		text[0] = ' ';
#endif
	if (config_init(&cfg) == 0)
		config_load_text(text, size, FUZZ_CONF_NAME, &cfg, err, sizeof(err));
	config_free(&cfg);
	free(text);
	return 0;
}
