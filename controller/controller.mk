# controller/controller.mk: vivo-controller (sources, unit tests, fuzzers, benches); included by Makefile.am.
CONTROLLER_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/controller $(GNUTLS_CFLAGS)

# Everything but main, so unit tests, fuzzers and benches link the same code.
noinst_LIBRARIES += controller/libcontroller.a
controller_libcontroller_a_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
controller_libcontroller_a_SOURCES = \
	controller/ctlutil.c controller/ctlutil.h controller/strmap.c controller/strmap.h \
	controller/yamljson.c controller/yamljson.h controller/yamlout.c controller/yamlout.h \
	controller/kobj.c controller/kobj.h controller/render.c controller/render.h \
	controller/renderspec.c controller/renderspec.h \
	controller/kubeconfig.c controller/kubeconfig.h controller/kube.c controller/kube.h \
	controller/watchstream.c controller/watchstream.h controller/cache.c controller/cache.h \
	controller/watch.c controller/watch.h controller/queue.c controller/queue.h \
	controller/status.c controller/status.h controller/reconcile.c controller/reconcile.h \
	controller/lease.c controller/lease.h controller/cmetrics.c controller/cmetrics.h \
	controller/ctlhttp.c controller/ctlhttp.h controller/inject.c controller/inject.h \
	controller/admission.c controller/admission.h controller/profiles.c controller/profiles.h \
	controller/certs.c controller/certs.h controller/webhook.c controller/webhook.h \
	controller/whmgr.c controller/whmgr.h controller/offline.c controller/offline.h

bin_PROGRAMS += controller/vivo-controller
controller_vivo_controller_SOURCES = controller/main.c
controller_vivo_controller_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
controller_vivo_controller_LDADD = controller/libcontroller.a lib/libvivo.a $(DEPS_LIBS) $(GNUTLS_LIBS)

CONTROLLER_LIBS = controller/libcontroller.a $(TEST_LIBS) $(GNUTLS_LIBS)

# Unit tests (TAP).
CONTROLLER_UNIT_TESTS = tests/unit/test_kube_render tests/unit/test_kube_kubeconfig tests/unit/test_kube_watchstream \
	tests/unit/test_kube_queue tests/unit/test_kube_status tests/unit/test_kube_inject \
	tests/unit/test_kube_certs
check_PROGRAMS += $(CONTROLLER_UNIT_TESTS)
TESTS += $(CONTROLLER_UNIT_TESTS)
tests_unit_test_kube_render_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_render_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_kubeconfig_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_kubeconfig_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_watchstream_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_watchstream_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_queue_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_queue_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_status_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_status_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_inject_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_inject_LDADD = $(CONTROLLER_LIBS)
tests_unit_test_kube_certs_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_unit_test_kube_certs_LDADD = $(CONTROLLER_LIBS)

# libFuzzer targets (configure --enable-fuzzing CC=clang); seed corpora in tests/fuzz/corpus/watch, kubeconfig
# and admission (AdmissionReviews captured from the test API server, and edge cases).
CONTROLLER_FUZZ = tests/fuzz/fuzz_watch tests/fuzz/fuzz_kubeconfig tests/fuzz/fuzz_admission
FUZZ_TARGETS += $(CONTROLLER_FUZZ)
if FUZZING
noinst_PROGRAMS += $(CONTROLLER_FUZZ)
endif
tests_fuzz_fuzz_watch_SOURCES = tests/fuzz/fuzz_watch.c
tests_fuzz_fuzz_watch_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_fuzz_fuzz_watch_LDADD = controller/libcontroller.a $(FUZZ_LDADD) $(GNUTLS_LIBS)
tests_fuzz_fuzz_watch_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_kubeconfig_SOURCES = tests/fuzz/fuzz_kubeconfig.c
tests_fuzz_fuzz_kubeconfig_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_fuzz_fuzz_kubeconfig_LDADD = controller/libcontroller.a $(FUZZ_LDADD) $(GNUTLS_LIBS)
tests_fuzz_fuzz_kubeconfig_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_admission_SOURCES = tests/fuzz/fuzz_admission.c
tests_fuzz_fuzz_admission_CPPFLAGS = $(CONTROLLER_CPPFLAGS)
tests_fuzz_fuzz_admission_LDADD = controller/libcontroller.a $(FUZZ_LDADD) $(GNUTLS_LIBS)
tests_fuzz_fuzz_admission_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# Black-box: the rendered vivo-agent.yaml runs in the real vivo-agent (no cluster needed).
TESTS += tests/controller/test_render_agent.py
# Against a real API server: tests/controller/run.sh (the README's test command runs it).
EXTRA_DIST += manifests/crd.yaml manifests/rbac.yaml manifests/webhook.yaml manifests/examples/sidecar.yaml \
	tests/controller/run.sh tests/controller/ctllib.py \
	tests/controller/test_controller.py tests/controller/test_render_agent.py tests/bench/bench_controller.py \
	tests/controller/test_webhook.py tests/controller/test_fleet.py tests/bench/bench_webhook.py docs/sidecar.md \
	docs/controller.md

# make bench: RSS and create-to-Service latency with 100 Vivo objects, beside a bare libcurl client.
VIVO_BENCHES += tests/bench/bench_controller.py
# ... and the sidecar webhook under 500 pod creations (its histogram, the time added per pod, RSS).
VIVO_BENCHES += tests/bench/bench_webhook.py
VIVO_BENCH_BINS += tests/bench/bench_curl_floor
tests_bench_bench_curl_floor_SOURCES = tests/bench/bench_curl_floor.c
tests_bench_bench_curl_floor_LDADD = $(CURL_LIBS)
bench: controller/vivo-controller
