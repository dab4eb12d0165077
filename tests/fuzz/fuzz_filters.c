/* fuzz_filters.c: libFuzzer target for the [FILTER] chain on untrusted record bodies: every plugin, on arbitrary msgpack. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "filters/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One chain using every rule type, built once. */
static const char chain_text[] =
	"[FILTER]\n    Name modify\n    Match *\n    Condition Key_exists $a['b']\n    Rename a A\n    Hard_rename c C\n"
	"    Copy A A2\n    Hard_copy C A\n    Set s v\n    Remove_wildcard x\n    Remove_regex ^y\n    Move_to_start z\n"
	"[FILTER]\n    Name nest\n    Match *\n    Operation nest\n    Wildcard A*\n    Nest_under n\n    Add_prefix p_\n"
	"[FILTER]\n    Name nest\n    Match *\n    Operation lift\n    Nested_under n\n    Remove_prefix p_\n"
	"[FILTER]\n    Name record_modifier\n    Match *\n    Record r 1\n    Remove_key k*\n"
	"[FILTER]\n    Name grep\n    Match *\n    Exclude $n['p_A'][0] ^drop\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct filter_chain *c;
	struct mp_cur cur;
	struct buf out;

	if (!c) {
		struct conf_doc d;
		char err[256];
		size_t i;

		if (conf_parse(chain_text, sizeof(chain_text) - 1, "fuzz.conf", NULL, &d, err, sizeof(err)) < 0)
			__builtin_trap();
		for (i = 0; i < d.n; i++)
			if (filter_chain_add(&c, &d.s[i], err, sizeof(err)) < 0)
				__builtin_trap();
		conf_doc_free(&d);
	}
	buf_init(&out, 1 << 22);
	mp_cur_init(&cur, data, size);
	filter_chain_run(c, "fuzz.tag", &cur, &out);
	buf_free(&out);
	return 0;
}
