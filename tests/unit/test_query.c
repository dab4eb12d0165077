/* test_query.c: unit tests for the exporter's query parser. */
#include "query.h"
#include "tap.h"

static int parse(const char *q, struct query *out, char *err)
{
	return query_parse(q, strlen(q), out, err, 160);
}

int main(void)
{
	struct query q;
	char err[160];

	ok(parse("", &q, err) == 0 && !q.has_from && !q.has_to, "empty query");
	ok(parse("from=3&to=0&limit=2&wait=60", &q, err) == 0 && q.from == 3 && q.has_to && q.to == 0 &&
	   q.limit == 2 && q.wait == 60, "all four keys");
	ok(parse("photo=1&to=5", &q, err) == 0 && q.to == 5 && !q.has_from, "photo= is not to=");
	ok(parse("xfrom=9", &q, err) == 0 && !q.has_from, "keys match exactly");
	ok(parse("from=1&from=2", &q, err) < 0 && strstr(err, "'from' is repeated"), "repeated key: %s", err);
	ok(parse("to=-1", &q, err) < 0 && strstr(err, "'to'"), "negative: %s", err);
	ok(parse("limit=", &q, err) < 0 && strstr(err, "'limit'"), "empty value: %s", err);
	ok(parse("from", &q, err) < 0 && strstr(err, "'from'"), "key without value: %s", err);
	ok(parse("from=1x", &q, err) < 0, "trailing junk");
	ok(parse("from=18446744073709551616", &q, err) < 0, "overflow");
	ok(parse("from=18446744073709551615", &q, err) == 0 && q.from == UINT64_MAX, "uint64 max");
	ok(parse("wait=61", &q, err) < 0 && strstr(err, "wait"), "wait above 60: %s", err);
	ok(parse("%66rom=4", &q, err) == 0 && q.from == 4, "percent-encoded key");
	ok(parse("from=%34", &q, err) == 0 && q.from == 4, "percent-encoded value");
	ok(parse("a=b&&c&from=1&", &q, err) == 0 && q.from == 1, "unknown and empty pairs are ignored");
	ok(parse("from= 1", &q, err) < 0, "spaces are not digits");
	return tap_done();
}
