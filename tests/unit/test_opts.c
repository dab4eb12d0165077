/* test_opts.c: unit tests for option parsing: decimal sizes, bools, bounds. */
#include "opts.h"
#include "tap.h"

int main(void)
{
	uint64_t v;
	bool b;

	ok(opts_parse_size("20M", &v) == 0 && v == 20000000, "20M = 20,000,000 (decimal)");
	ok(opts_parse_size("20MB", &v) == 0 && v == 20000000, "20MB");
	ok(opts_parse_size("5k", &v) == 0 && v == 5000, "5k");
	ok(opts_parse_size("1G", &v) == 0 && v == 1000000000, "1G");
	ok(opts_parse_size("123", &v) == 0 && v == 123, "bare bytes");
	ok(opts_parse_size("100B", &v) == 0 && v == 100, "100B");
	ok(opts_parse_size("", &v) < 0, "empty is bad");
	ok(opts_parse_size("M", &v) < 0, "unit alone is bad");
	ok(opts_parse_size("-1M", &v) < 0, "negative is bad");
	ok(opts_parse_size("1.5M", &v) < 0, "fractions are bad");
	ok(opts_parse_size("20X", &v) < 0, "unknown unit is bad");
	ok(opts_parse_size("99999999999999999999G", &v) < 0, "overflow is bad");
	ok(opts_parse_bool("On", &b) == 0 && b, "On");
	ok(opts_parse_bool("off", &b) == 0 && !b, "off");
	ok(opts_parse_bool("maybe", &b) < 0, "maybe is not a bool");
	return tap_done();
}
