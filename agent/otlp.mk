# agent/otlp.mk: the OTLP/HTTP input (sources, tests, fuzzers, benches); included by Makefile.am.
agent_libagent_a_SOURCES += agent/otlp_wire.c agent/otlp_wire.h agent/otlp_decode.c agent/otlp_decode.h \
	agent/in_otlp.c agent/in_demo_traces.c

# Unit tests of the wire view and the mappings (C), black-box tests against the binary.
check_PROGRAMS += tests/unit/test_otlp
tests_unit_test_otlp_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_otlp tests/agent/test_otlp_fixtures.py tests/agent/test_otlp_errors.py \
	tests/agent/test_otlp_json.py tests/agent/test_otlp_interop.py tests/agent/test_otlp_demo.py
EXTRA_DIST += tests/agent/test_otlp_fixtures.py tests/agent/test_otlp_errors.py tests/agent/test_otlp_json.py \
	tests/agent/test_otlp_interop.py tests/agent/test_otlp_demo.py tests/agent/otlp_ref.py \
	tests/agent/otel/package.json tests/agent/otel/package-lock.json tests/agent/otel/app.js tests/agent/otel/.gitignore \
	tests/fuzz/otlp_seeds.py

# libFuzzer targets: the protobuf and the JSON decoders of each signal (one source, six builds).
OTLP_FUZZ = tests/fuzz/fuzz_otlp_logs_pb tests/fuzz/fuzz_otlp_logs_json tests/fuzz/fuzz_otlp_metrics_pb \
	tests/fuzz/fuzz_otlp_metrics_json tests/fuzz/fuzz_otlp_traces_pb tests/fuzz/fuzz_otlp_traces_json
FUZZ_TARGETS += $(OTLP_FUZZ)
tests_fuzz_fuzz_otlp_logs_pb_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_logs_pb_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_LOGS -DFUZZ_FORMAT=OTLP_PROTOBUF
tests_fuzz_fuzz_otlp_logs_pb_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_logs_pb_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_otlp_logs_json_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_logs_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_LOGS -DFUZZ_FORMAT=OTLP_JSON
tests_fuzz_fuzz_otlp_logs_json_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_logs_json_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_otlp_metrics_pb_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_metrics_pb_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_METRICS -DFUZZ_FORMAT=OTLP_PROTOBUF
tests_fuzz_fuzz_otlp_metrics_pb_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_metrics_pb_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_otlp_metrics_json_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_metrics_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_METRICS -DFUZZ_FORMAT=OTLP_JSON
tests_fuzz_fuzz_otlp_metrics_json_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_metrics_json_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_otlp_traces_pb_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_traces_pb_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_TRACES -DFUZZ_FORMAT=OTLP_PROTOBUF
tests_fuzz_fuzz_otlp_traces_pb_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_traces_pb_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_otlp_traces_json_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_traces_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SIGNAL=OTLP_TRACES -DFUZZ_FORMAT=OTLP_JSON
tests_fuzz_fuzz_otlp_traces_json_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_otlp_traces_json_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# make bench: spans/s of OTLP protobuf ingest beside a discard endpoint, same bytes, same run.
VIVO_BENCHES += tests/bench/bench_otlp.py
VIVO_BENCH_BINS += tests/bench/bench_otlp
tests_bench_bench_otlp_SOURCES = tests/bench/bench_otlp.c
tests_bench_bench_otlp_LDADD = $(TEST_LIBS)
