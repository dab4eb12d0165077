/* filters/filter.h: Fluent Bit's [FILTER] plugins Vivo runs on log records before they are stored (grep, modify, record_modifier, nest). */
#ifndef VIVO_FILTER_H
#define VIVO_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "mp.h"

struct filter_chain;

/* True when `name` is a filter Vivo implements (case-insensitive). */
bool filter_known(const char *name);
/* "grep, modify, record_modifier, nest". */
const char *filter_names(void);

/* Build the filter of one [FILTER] section (its `name` key picks the plugin; keys are
 * Fluent Bit's: Match, Match_Regex, Alias, Log_Level and the plugin's own) and append it
 * to *chain (created when NULL). Notices for keys with no effect are logged. 0, or
 * -EINVAL with "file:line: reason" in `err` (bad key, rule or regex); -ENOMEM. */
int filter_chain_add(struct filter_chain **chain, const struct conf_section *s, char *err, size_t errlen);
/* Filters in the chain. */
size_t filter_chain_len(const struct filter_chain *c);
void filter_chain_free(struct filter_chain *c);

/* Run the chain on one record body (`body`: a cursor over one msgpack map) of tag `tag`,
 * the filters whose Match/Match_Regex take the tag, in config order.
 * FILTER_KEEP: unchanged; FILTER_MODIFIED: the new body (one map) is in `out`;
 * FILTER_DROP: a grep excluded it. A body the filters cannot read is kept unchanged. */
enum { FILTER_KEEP = 0, FILTER_MODIFIED = 1, FILTER_DROP = 2 };
int filter_chain_run(const struct filter_chain *c, const char *tag, const struct mp_cur *body, struct buf *out);

/* Make `chain` (may be NULL: no filters) the one every input's log records go through
 * from now on; takes ownership and frees the previous one once no record is in it. */
void filters_activate(struct filter_chain *chain);

/* Tag matching as Fluent Bit's router does it: '*' matches any run of characters. */
bool filter_tag_match(const char *pattern, const char *tag);
/* Check that a regular expression compiles as Fluent Bit's do (Ruby syntax, /re/ and
 * /re/imx forms). 0, or -EINVAL with the compiler's reason in `err`. */
int filter_regex_check(const char *pattern, char *err, size_t errlen);
/* Append the [FILTER] part of the configuration reference (Markdown). */
int filter_reference(struct buf *out);

#endif
