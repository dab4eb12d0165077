/* test_filters.c: unit tests of the [FILTER] plugins (grep, modify, record_modifier, nest) on records, with Fluent Bit's semantics. */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "filters/filter.h"
#include "jsonmp.h"
#include "mpjson.h"
#include "tap.h"

static char result[4096];
static char cerr[512];

/* Build a chain from classic [FILTER] text. NULL when it does not load (reason in cerr). */
static struct filter_chain *chain(const char *text)
{
	struct filter_chain *c = NULL;
	struct conf_doc d;
	size_t i;

	cerr[0] = '\0';
	if (conf_parse(text, strlen(text), "f.conf", NULL, &d, cerr, sizeof(cerr)) == 0) {
		for (i = 0; i < d.n; i++) {
			if (filter_chain_add(&c, &d.s[i], cerr, sizeof(cerr)) < 0) {
				filter_chain_free(c);
				c = NULL;
				break;
			}
		}
	}
	conf_doc_free(&d);
	return c;
}

/* Run `c` on the JSON record under `tag`: "DROP", the unchanged JSON, or the new JSON. */
static const char *run(const struct filter_chain *c, const char *tag, const char *json)
{
	struct buf mp, out, text;
	struct mp_cur cur;
	size_t off = 0;
	int rc;

	buf_init(&mp, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_init(&text, 1 << 20);
	if (jsonmp_next(json, strlen(json), &off, &mp, cerr, sizeof(cerr)) != 0) {
		snprintf(result, sizeof(result), "BAD JSON");
		goto done;
	}
	mp_cur_init(&cur, mp.data, mp.len);
	rc = filter_chain_run(c, tag, &cur, &out);
	if (rc == FILTER_DROP) {
		snprintf(result, sizeof(result), "DROP");
		goto done;
	}
	if (rc == FILTER_MODIFIED)
		mp_cur_init(&cur, out.data, out.len);
	if (mpjson_write(&text, &cur) == 0)
		snprintf(result, sizeof(result), "%.*s", (int)text.len, text.data);
	else
		snprintf(result, sizeof(result), "RENDER ERROR");
done:
	buf_free(&mp);
	buf_free(&out);
	buf_free(&text);
	return result;
}

static void test_grep(void)
{
	struct filter_chain *c;

	c = chain("[FILTER]\n    Name grep\n    Match app.*\n    Regex log ^(error|warn)\n");
	ok(c != NULL, "grep loads (%s)", cerr);
	is_str(run(c, "app.web", "{\"log\":\"error: disk\"}"), "{\"log\":\"error: disk\"}", "grep Regex keeps a match");
	is_str(run(c, "app.web", "{\"log\":\"info: ok\"}"), "DROP", "grep Regex drops a miss");
	is_str(run(c, "app.web", "{\"other\":1}"), "DROP", "grep Regex drops a record without the key");
	is_str(run(c, "app.web", "{\"log\":7}"), "DROP", "grep Regex matches string values only");
	is_str(run(c, "sys", "{\"log\":\"info\"}"), "{\"log\":\"info\"}", "Match app.* leaves other tags alone");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name grep\n    Match *\n    Exclude $kubernetes['labels']['app'] ^noisy$\n");
	ok(c != NULL, "grep Exclude with a record accessor loads (%s)", cerr);
	is_str(run(c, "t", "{\"kubernetes\":{\"labels\":{\"app\":\"noisy\"}}}"), "DROP", "Exclude on a nested key drops");
	is_str(run(c, "t", "{\"kubernetes\":{\"labels\":{\"app\":\"quiet\"}}}"),
	       "{\"kubernetes\":{\"labels\":{\"app\":\"quiet\"}}}", "Exclude keeps the rest");
	is_str(run(c, "t", "{\"x\":1}"), "{\"x\":1}", "Exclude keeps a record without the key");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name grep\n    Match *\n    Logical_Op or\n    Regex a ^1$\n    Regex b ^2$\n");
	ok(c != NULL, "grep Logical_Op or loads (%s)", cerr);
	is_str(run(c, "t", "{\"a\":\"0\",\"b\":\"2\"}"), "{\"a\":\"0\",\"b\":\"2\"}", "OR: one rule is enough");
	is_str(run(c, "t", "{\"a\":\"0\",\"b\":\"0\"}"), "DROP", "OR: no rule drops");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name grep\n    Match *\n    Logical_Op AND\n    Regex a ^1$\n    Regex b ^2$\n");
	is_str(run(c, "t", "{\"a\":\"1\",\"b\":\"0\"}"), "DROP", "AND: every rule must match");
	is_str(run(c, "t", "{\"a\":\"1\",\"b\":\"2\"}"), "{\"a\":\"1\",\"b\":\"2\"}", "AND: all match, kept");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name grep\n    Match *\n    Logical_Op AND\n    Exclude a ^1$\n    Exclude b ^2$\n");
	is_str(run(c, "t", "{\"a\":\"1\",\"b\":\"0\"}"), "{\"a\":\"1\",\"b\":\"0\"}", "AND excludes: one match keeps");
	is_str(run(c, "t", "{\"a\":\"1\",\"b\":\"2\"}"), "DROP", "AND excludes: all match drops");
	filter_chain_free(c);
	/* Legacy: the first Regex that matches keeps the record (Fluent Bit's order rule). */
	c = chain("[FILTER]\n    Name grep\n    Match *\n    Regex a x\n    Exclude b y\n");
	is_str(run(c, "t", "{\"a\":\"x\",\"b\":\"y\"}"), "{\"a\":\"x\",\"b\":\"y\"}", "legacy: a matching Regex first keeps");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name grep\n    Match *\n    Regex a /^ERR/i\n");
	is_str(run(c, "t", "{\"a\":\"err 1\"}"), "{\"a\":\"err 1\"}", "/re/i is case-insensitive (Ruby syntax)");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name grep\n    Match_Regex ^web\\.\\d+$\n    Regex a \\d{3}\n");
	is_str(run(c, "web.12", "{\"a\":\"x\"}"), "DROP", "Match_Regex selects the tag");
	is_str(run(c, "web.x", "{\"a\":\"x\"}"), "{\"a\":\"x\"}", "Match_Regex leaves other tags alone");
	filter_chain_free(c);

	ok(!chain("[FILTER]\n    Name grep\n    Match *\n    Logical_Op and\n    Regex a 1\n    Exclude b 2\n") &&
	   strstr(cerr, "f.conf:6:") && strstr(cerr, "cannot be mixed"), "AND with Regex and Exclude is an error: %s", cerr);
	ok(!chain("[FILTER]\n    Name grep\n    Match *\n    Regex a ([\n") && strstr(cerr, "f.conf:4:") &&
	   strstr(cerr, "cannot compile regex"), "a bad regex is an error with file:line: %s", cerr);
	ok(!chain("[FILTER]\n    Name grep\n    Match *\n    Regex justkey\n") && strstr(cerr, "KEY REGEX"),
	   "Regex without a pattern: %s", cerr);
	ok(!chain("[FILTER]\n    Name grep\n    Match *\n    Colour red\n") && strstr(cerr, "unknown key 'Colour'") &&
	   strstr(cerr, "regex"), "unknown key lists the supported ones: %s", cerr);
}

static void test_modify(void)
{
	struct filter_chain *c;

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Rename Key2 RenamedKey\n    Add OtherKey Value3\n");
	ok(c != NULL, "modify loads (%s)", cerr);
	is_str(run(c, "t", "{\"Key1\":\"Value1\",\"Key2\":\"Value2\"}"),
	       "{\"Key1\":\"Value1\",\"RenamedKey\":\"Value2\",\"OtherKey\":\"Value3\"}", "the documentation's example");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Set a 1\n    Set b \"two words\"\n    Remove c\n"
		  "    Copy d e\n    Hard_copy d f\n    Remove_wildcard tmp\n    Remove_regex ^x[0-9]$\n");
	ok(c != NULL, "modify rules load (%s)", cerr);
	is_str(run(c, "t", "{\"a\":0,\"c\":1,\"d\":2,\"f\":9,\"tmp1\":1,\"tmpz\":2,\"x1\":3,\"x12\":4}"),
	       "{\"d\":2,\"f\":2,\"e\":2,\"x12\":4,\"a\":\"1\",\"b\":\"two words\"}",
	       "Set replaces at the end, quoted values, Remove, Copy and Hard_copy right after the original, wildcard, regex");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Rename a b\n    Hard_rename c d\n");
	is_str(run(c, "t", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}"), "{\"a\":1,\"b\":2,\"d\":3}",
	       "Rename keeps a conflict, Hard_rename replaces it in place");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Condition Key_Does_Not_Exist cpustats\n"
		  "    Condition Key_Exists Mem.used\n    Set cpustats UNKNOWN\n");
	is_str(run(c, "t", "{\"Mem.used\":5}"), "{\"Mem.used\":5,\"cpustats\":\"UNKNOWN\"}", "conditions met: rules run");
	is_str(run(c, "t", "{\"Mem.used\":5,\"cpustats\":\"X\"}"), "{\"Mem.used\":5,\"cpustats\":\"X\"}",
	       "a condition fails: the record is untouched");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Condition Key_value_equals $k['v'] on\n"
		  "    Condition Key_value_matches level ^(warn|error)$\n    Condition A_key_matches ^lvl\n"
		  "    Condition Matching_keys_have_matching_values ^lvl .+\n    Add hit yes\n");
	is_str(run(c, "t", "{\"k\":{\"v\":\"on\"},\"level\":\"warn\",\"lvl1\":\"a\"}"),
	       "{\"k\":{\"v\":\"on\"},\"level\":\"warn\",\"lvl1\":\"a\",\"hit\":\"yes\"}", "value and key conditions");
	is_str(run(c, "t", "{\"k\":{\"v\":\"on\"},\"level\":\"info\",\"lvl1\":\"a\"}"),
	       "{\"k\":{\"v\":\"on\"},\"level\":\"info\",\"lvl1\":\"a\"}", "Key_value_matches fails");
	filter_chain_free(c);

	c = chain("[FILTER]\n    Name modify\n    Match *\n    Move_to_start z\n    Move_to_end a\n");
	is_str(run(c, "t", "{\"a1\":1,\"b\":2,\"z\":3}"), "{\"z\":3,\"b\":2,\"a1\":1}", "Move_to_start and Move_to_end");
	filter_chain_free(c);

	ok(!chain("[FILTER]\n    Name modify\n    Match *\n    Condition Key_is_blue a\n") &&
	   strstr(cerr, "unknown condition"), "unknown condition is an error: %s", cerr);
	ok(!chain("[FILTER]\n    Name modify\n    Match *\n    Rename onlyone\n") && strstr(cerr, "KEY VALUE"),
	   "Rename without a new name is an error: %s", cerr);
}

static void test_record_modifier(void)
{
	struct filter_chain *c;

	c = chain("[FILTER]\n    Name record_modifier\n    Match *\n    Record hostname vm1\n    Record env prod east\n"
		  "    Remove_key Secret\n    Remove_key tmp_*\n");
	ok(c != NULL, "record_modifier loads (%s)", cerr);
	is_str(run(c, "t", "{\"msg\":\"x\",\"secret\":1,\"TMP_a\":2}"),
	       "{\"msg\":\"x\",\"hostname\":\"vm1\",\"env\":\"prod east\"}",
	       "Record appends, Remove_key (case-insensitive, prefix*)");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name record_modifier\n    Match *\n    Allowlist_key msg\n    Whitelist_key lev*\n");
	is_str(run(c, "t", "{\"msg\":\"x\",\"level\":1,\"other\":2}"), "{\"msg\":\"x\",\"level\":1}", "Allowlist_key keeps only these");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name record_modifier\n    Match *\n    Uuid_key id\n");
	ok(strlen(run(c, "t", "{}")) == strlen("{\"id\":\"\"}") + 36 && result[15] == '-' && result[21] == '4', "Uuid_key adds a UUID: %s", result);
	filter_chain_free(c);
	ok(!chain("[FILTER]\n    Name record_modifier\n    Match *\n    Remove_key a\n    Allowlist_key b\n") &&
	   strstr(cerr, "exclude each other"), "Remove_key with Allowlist_key is an error: %s", cerr);
}

static void test_nest(void)
{
	struct filter_chain *c;

	c = chain("[FILTER]\n    Name nest\n    Match *\n    Operation nest\n    Wildcard Mem.*\n    Nest_under Memstats\n"
		  "    Remove_prefix Mem.\n");
	ok(c != NULL, "nest loads (%s)", cerr);
	is_str(run(c, "t", "{\"Mem.total\":1,\"Swap\":2,\"Mem.free\":3}"), "{\"Swap\":2,\"Memstats\":{\"total\":1,\"free\":3}}",
	       "nest moves matching keys under one map, Remove_prefix");
	is_str(run(c, "t", "{\"x\":1}"), "{\"x\":1}", "nest without a match leaves the record");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name nest\n    Match *\n    Operation lift\n    Nested_under kubernetes\n    Add_prefix k8s_\n");
	is_str(run(c, "t", "{\"kubernetes\":{\"pod\":\"p\",\"ns\":\"n\"},\"log\":\"l\"}"),
	       "{\"log\":\"l\",\"k8s_pod\":\"p\",\"k8s_ns\":\"n\"}", "lift moves the map's keys up, Add_prefix");
	is_str(run(c, "t", "{\"kubernetes\":\"flat\"}"), "{\"kubernetes\":\"flat\"}", "lift leaves a non-map value");
	filter_chain_free(c);
	ok(!chain("[FILTER]\n    Name nest\n    Match *\n    Operation nest\n    Nest_under x\n") && strstr(cerr, "Wildcard"),
	   "nest without Wildcard is an error: %s", cerr);
	ok(!chain("[FILTER]\n    Name nest\n    Match *\n    Operation fold\n") && strstr(cerr, "nest or lift"),
	   "an unknown Operation is an error: %s", cerr);
}

static void test_chain(void)
{
	struct filter_chain *c;

	/* Filters run in order, each on the record the previous one made. */
	c = chain("[FILTER]\n    Name modify\n    Match *\n    Rename level lvl\n"
		  "[FILTER]\n    Name grep\n    Match *\n    Regex lvl error\n"
		  "[FILTER]\n    Name nest\n    Match *\n    Operation nest\n    Wildcard lvl\n    Nest_under meta\n");
	ok(c && filter_chain_len(c) == 3, "three filters chain (%s)", cerr);
	is_str(run(c, "t", "{\"level\":\"error\",\"m\":1}"), "{\"m\":1,\"meta\":{\"lvl\":\"error\"}}", "rename, grep, nest in order");
	is_str(run(c, "t", "{\"level\":\"info\"}"), "DROP", "grep sees the renamed key");
	filter_chain_free(c);
	c = chain("[FILTER]\n    Name grep\n    Regex a b\n");
	is_str(run(c, "t", "{\"a\":\"c\"}"), "{\"a\":\"c\"}", "a filter without Match filters nothing (as Fluent Bit)");
	filter_chain_free(c);
	ok(filter_tag_match("kube.*.web", "kube.ns.web") && filter_tag_match("*", "") && !filter_tag_match("a*", "ba") &&
	   filter_tag_match("a*b*c", "aXbYc") && !filter_tag_match("app", "app.x"), "tag wildcards");
	ok(filter_known("GREP") && !filter_known("lua"), "known filters");
}

int main(void)
{
	test_grep();
	test_modify();
	test_record_modifier();
	test_nest();
	test_chain();
	return tap_done();
}
