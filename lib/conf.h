/* conf.h: Fluent Bit config files (YAML and classic) read into one neutral document. */
#ifndef VIVO_CONF_H
#define VIVO_CONF_H

#include <stddef.h>

struct conf_kv {
	char *key;
	char *val;
	int line;
};

/* One [SECTION] or one YAML service/input/output/filter entry. */
struct conf_section {
	char *kind;          /* lower case: "service", "input", "output", "filter", ... */
	int line;
	struct conf_kv *kv;
	size_t n;
};

struct conf_doc {
	char *file;
	struct conf_section *s;
	size_t n;
};

/* Parse config text (YAML when its first meaningful line is not a [SECTION] or @command).
 * ${NAME} in values expands from @SET / env: entries, then the environment.
 * 0, or -EINVAL with "file:line: reason" in `err`; -ENOMEM. The caller frees `doc`. */
int conf_parse(const char *text, size_t n, const char *file, struct conf_doc *doc, char *err, size_t errlen);
void conf_doc_free(struct conf_doc *doc);

#endif
