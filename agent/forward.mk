# agent/forward.mk: the Forward input (sources, tests, fuzzers, benches); included by Makefile.am.
