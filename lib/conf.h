/* conf.h: Fluent Bit config files (YAML and classic) read into one neutral document. */
#ifndef VIVO_CONF_H
#define VIVO_CONF_H

#include <stddef.h>

struct conf_kv {
	char *key;
	char *val;
	int line;
};

/* One [SECTION] or one YAML service/input/output/filter/parser entry. */
struct conf_section {
	char *kind;          /* lower case: "service", "input", "output", "filter", "parser",
			      * "multiline_parser", ... */
	const char *file;    /* the file it was read from (one of doc->files) */
	int line;
	struct conf_kv *kv;  /* in order; YAML nested maps become dotted keys (storage.path) */
	size_t n;
};

struct conf_doc {
	char *file;          /* the file named to conf_parse */
	char **files;        /* every file read: the first and each @INCLUDE / includes: */
	size_t nfiles;
	struct conf_section *s;
	size_t n;
};

/* Largest config file read, and how deep @INCLUDE / includes: may nest. */
#define CONF_MAX_FILE (16u * 1024 * 1024)
#define CONF_MAX_INCLUDE_DEPTH 8

/* Parse config text (YAML when its first meaningful line is not a [SECTION] or @command).
 * ${NAME} in values expands from @SET / env: entries, then the environment. `dir` is
 * where @INCLUDE and includes: paths are relative to (glob patterns allowed); NULL refuses
 * includes. 0, or -EINVAL with "file:line: reason" in `err`; -ENOMEM. The caller frees
 * `doc` (also after an error). */
int conf_parse(const char *text, size_t n, const char *file, const char *dir, struct conf_doc *doc,
	       char *err, size_t errlen);
/* Read and parse a file (includes relative to its folder). As conf_parse. */
int conf_parse_file(const char *path, struct conf_doc *doc, char *err, size_t errlen);
/* Read a whole file of at most CONF_MAX_FILE bytes into `out` (NUL-terminated, caller
 * frees). 0, or -EINVAL with "path: reason" in `err`. */
int conf_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);
void conf_doc_free(struct conf_doc *doc);

#endif
