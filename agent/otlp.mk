# agent/otlp.mk: the OTLP/HTTP input (sources, tests, fuzzers, benches); included by Makefile.am.
