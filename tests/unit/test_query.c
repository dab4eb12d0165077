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
	ok(parse("origin=local&envelope=1", &q, err) == 0 && q.local_only && q.envelope && q.has_origin &&
	   q.has_envelope, "origin=local and envelope=1");
	ok(parse("origin=all&envelope=0", &q, err) == 0 && !q.local_only && !q.envelope, "origin=all, envelope=0");
	ok(parse("", &q, err) == 0 && !q.local_only && !q.envelope, "by default every chunk, no envelope");
	ok(parse("origin=remote", &q, err) < 0 && strstr(err, "'origin'") && strstr(err, "local"),
	   "origin other than local/all: %s", err);
	ok(parse("origin=local&origin=local", &q, err) < 0 && strstr(err, "repeated"), "origin repeated: %s", err);
	ok(parse("envelope=2", &q, err) < 0 && strstr(err, "'envelope'"), "envelope other than 0/1: %s", err);
	ok(parse("origin=%6cocal", &q, err) == 0 && q.local_only, "percent-encoded origin value");
	ok(parse("from=1%00junk", &q, err) < 0 && strstr(err, "'from' holds a NUL"), "NUL in a value: %s", err);
	ok(parse("fr%00om=1", &q, err) < 0 && strstr(err, "NUL"), "NUL in a key: %s", err);
	ok(parse("other=a%00b&from=2", &q, err) == 0 && q.from == 2, "NUL in an unknown key's value is ignored with it");
	{
		char big[20000];
		size_t n = 0;
		int i;

		for (i = 0; i < 2000 && n + 16 < sizeof(big); i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "a%d=1&", i);
		n += (size_t)snprintf(big + n, sizeof(big) - n, "from=7");
		ok(query_parse(big, n, &q, err, sizeof(err)) == 0 && q.from == 7, "2,000 parameters parse (the server bounds the length)");
	}
	return tap_done();
}
