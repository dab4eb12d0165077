# agent/forward.mk: the Forward input (sources, tests, fuzzers, benches); included by Makefile.am.
agent_libagent_a_SOURCES += agent/in_forward.c agent/fwd_decode.c agent/fwd_decode.h agent/fwd_auth.c agent/fwd_auth.h

check_PROGRAMS += tests/unit/test_fwd
tests_unit_test_fwd_LDADD = $(TEST_LIBS)
FORWARD_AGENT_TESTS = tests/agent/test_forward.py tests/agent/test_forward_interop.py \
	tests/agent/test_forward_secure.py tests/agent/test_forward_hostile.py
TESTS += tests/unit/test_fwd $(FORWARD_AGENT_TESTS)
EXTRA_DIST += $(FORWARD_AGENT_TESTS) tests/agent/fwdlib.py \
	tests/agent/node/package.json tests/agent/node/package-lock.json tests/agent/node/send.js

FUZZ_TARGETS += tests/fuzz/fuzz_forward
tests_fuzz_fuzz_forward_SOURCES = tests/fuzz/fuzz_forward.c
tests_fuzz_fuzz_forward_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_forward_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

VIVO_BENCHES += tests/bench/bench_forward.py
VIVO_BENCH_BINS += tests/bench/bench_fwd_blast
tests_bench_bench_fwd_blast_SOURCES = tests/bench/bench_fwd_blast.c
tests_bench_bench_fwd_blast_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/bench/bench_forward.py
