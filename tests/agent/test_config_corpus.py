#!/usr/bin/python3
# test_config_corpus.py: real Fluent Bit configurations (tests/fixtures/configs, see its README) start, every notice is the one expected, and the four filters act on records through each input (issue 14, acceptance 3).
import json
import os
import re
import socket

from agentlib import AGENT, Agent, curl, post_json, run
from fwdlib import pack, wait_for

TOP = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CORPUS = os.path.join(TOP, "tests", "fixtures", "configs")
NOTICE_RE = re.compile(r"(\S+):(\d+): notice: (?:'([^']+)' has no effect|(?:multiline )?parser '([^']+)' is read)")

# Every notice each file gives: (file, line, key or parser name). Nothing more, nothing less.
EXPECT = {
    "calyptia-vivo-packages-service-fluent-bit.conf": [
        ("calyptia-vivo-packages-service-fluent-bit.conf", 2, "flush"),
        ("calyptia-vivo-packages-service-fluent-bit.conf", 3, "daemon")],
    "calyptia-vivo-service-fluent-bit.conf": [
        ("calyptia-vivo-service-fluent-bit.conf", 2, "flush"), ("calyptia-vivo-service-fluent-bit.conf", 3, "daemon")],
    "docs-vivo-exporter.conf": [],
    "docs-vivo-exporter.yaml": [],
    "main-classic.conf": [
        ("main-classic.conf", 5, "Flush"), ("main-classic.conf", 9, "storage.path"),
        ("main-classic.conf", 10, "storage.sync"), ("main-classic.conf", 11, "storage.backlog.mem_limit"),
        ("fluent-bit-parser_custom.conf", 1, "rabbitmq"), ("fluent-bit-parser_custom.conf", 6, "neo4j"),
        ("fluent-bit-parser_custom.conf", 11, "external-dns"),
        ("fluent-bit-parsers_multiline.conf", 1, "exception_test"),
        ("inputs/forward.conf", 7, "Mem_Buf_Limit"), ("inputs/forward.conf", 8, "storage.type"),
        ("inputs/http.conf", 5, "Buffer_Chunk_Size"), ("inputs/http.conf", 6, "Mem_Buf_Limit"),
        ("inputs/http.conf", 7, "threaded"), ("main-classic.conf", 23, "Retry_Limit"), ("main-classic.conf", 24, "Workers")],
    "main-include-parsers.conf": [
        ("fluent-bit-parser_custom.conf", 1, "rabbitmq"), ("fluent-bit-parser_custom.conf", 6, "neo4j"),
        ("fluent-bit-parser_custom.conf", 11, "external-dns")],
    "main.yaml": [
        ("inputs.yaml", 5, "http_server.workers"), ("inputs.yaml", 12, "threaded"), ("main.yaml", 8, "flush"),
        ("main.yaml", 11, "health_check"), ("main.yaml", 12, "hot_reload"), ("main.yaml", 15, "storage.path"),
        ("main.yaml", 16, "storage.sync"), ("main.yaml", 17, "storage.max_chunks_up"),
        ("fluent-bit-parsers_multiline.yaml", 2, "exception_test"), ("main.yaml", 37, "retry_limit"),
        ("main.yaml", 38, "workers"), ("main.yaml", 39, "storage.total_limit_size")],
}
WARN = {"calyptia-vivo-packages-service-fluent-bit.conf": ["unknown key 'healthcheck' in [SERVICE] ignored"]}


def notices(log):
    out = []
    for m in NOTICE_RE.finditer(log):
        path = os.path.normpath(m.group(1))
        out.append((os.path.relpath(path, CORPUS) if os.path.isabs(path) else path, int(m.group(2)),
                    m.group(3) or m.group(4)))
    return sorted(out)


def test_corpus_starts(t):
    os.environ["VIVO_CORPUS_TAG"] = "corpus.tag"
    names = sorted(f for f in os.listdir(CORPUS) if f in EXPECT)
    t.eq(names, sorted(EXPECT), "every corpus configuration is covered")
    for name in names:
        path = os.path.join(CORPUS, name)
        with Agent(["--config", path], expect=("exporter", "ui", "ops")) as a:
            st, _, _ = curl(a.url("ops", "/api/v1/health"))
            log = a.log()
        t.eq(st, 200, "%s starts (health 200)" % name)
        got = [(os.path.relpath(os.path.normpath(os.path.join(CORPUS, f)), CORPUS), l, k) for f, l, k in notices(log)]
        t.eq(sorted(got), sorted(EXPECT[name]), "%s: every notice, once, with file:line and key" % name)
        t.ok(all("has no effect in Vivo: " in l or "is read and checked" in l for l in log.splitlines() if "notice:" in l),
             "%s: every notice says why" % name)
        for w in WARN.get(name, []):
            t.ok(w in log, "%s: warns: %s" % (name, w))


FILTERS = """[INPUT]
    name forward
    port 0
[INPUT]
    name http
    port 0
[INPUT]
    name opentelemetry
    port 0
[INPUT]
    name dummy
    tag  app.dummy
    dummy {"log":"dummy line","level":"info","secret":"s","k8s_pod":"p1","k8s_ns":"n1"}
    rate 20
    samples 2
[FILTER]
    name  grep
    match app.*
    exclude log ^DEBUG
[FILTER]
    name  modify
    match app.*
    condition Key_exists level
    rename level severity
    set via vivo
[FILTER]
    name  record_modifier
    match app.*
    record agent vivo-agent
    remove_key secret
[FILTER]
    name  nest
    match app.*
    operation nest
    wildcard k8s_*
    nest_under kubernetes
    remove_prefix k8s_
[OUTPUT]
    name vivo_exporter
    match *
"""

WANT = {"log": "L", "severity": "info", "via": "vivo", "agent": "vivo-agent", "kubernetes": {"pod": "p1", "ns": "n1"}}


def expected(line):
    w = dict(WANT)
    w["log"] = line
    return w


def test_filters_every_input(t):
    with Agent(config=FILTERS, expect=("http", "forward", "otlp", "exporter")) as a:
        rec = {"log": "http line", "level": "info", "secret": "s", "k8s_pod": "p1", "k8s_ns": "n1"}
        post_json(a, "/app.http", [rec, dict(rec, log="DEBUG http")])
        with socket.create_connection(("127.0.0.1", a.ports["forward"]), timeout=10) as s:
            s.sendall(pack(["app.fwd", [[1700000000, dict(rec, log="fwd line")], [1700000001, dict(rec, log="DEBUG fwd")]]]))
        kv = [{"key": k, "value": {"stringValue": v}} for k, v in
              (("log", "otlp line"), ("level", "info"), ("secret", "s"), ("k8s_pod", "p1"), ("k8s_ns", "n1"))]
        body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"timeUnixNano": "1700000000000000000", "body": {"kvlistValue": {"values": kv}}},
            {"timeUnixNano": "1700000000000000001", "body": {"kvlistValue": {"values": [
                {"key": "log", "value": {"stringValue": "DEBUG otlp"}}]}}}]}]}]}
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", a.url("otlp", "/v1/logs"),
                        data=json.dumps(body).encode())
        t.eq(st, 200, "OTLP logs accepted")
        post_json(a, "/other", rec)

        def chunks():
            _, _, b = curl(a.url("exporter", "/api/v1/logs"))
            return [json.loads(l) for l in b.decode().splitlines()]
        # Every input's records are in once all four inputs have a chunk and the dummy
        # source has made both its samples (it ticks on its own clock).
        wait_for(lambda: len({c["source_type"] for c in chunks()}) == 4 and
                 sum(len(c["records"]) for c in chunks() if c["source_type"] == "dummy") >= 2, 10)
        by = {}
        for c in chunks():
            by.setdefault((c["source_type"], c["tag"]), []).extend(r[1] for r in c["records"])
        t.eq(by.get(("http", "app.http")), [expected("http line")], "http: grep drops DEBUG, modify, record_modifier, nest")
        t.eq(by.get(("forward", "app.fwd")), [expected("fwd line")], "forward: the same four filters")
        t.eq(by.get(("dummy", "app.dummy")), [expected("dummy line")] * 2, "dummy: the same four filters")
        t.eq(by.get(("http", "other")), [rec], "a tag no filter matches is stored unchanged")
        otlp = [r[1] for c in chunks() if c["source_type"] == "opentelemetry" for r in c["records"]]
        t.eq(otlp, [{"log": "otlp line", "level": "info", "secret": "s", "k8s_pod": "p1", "k8s_ns": "n1"},
                    {"log": "DEBUG otlp"}], "OTLP records are tagged v1_logs, which app.* does not match: unfiltered")
    conf = FILTERS.replace("match app.*", "match *")
    with Agent(config=conf, expect=("http", "forward", "otlp", "exporter")) as a:
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", a.url("otlp", "/v1/logs"),
                        data=json.dumps(body).encode())

        def otlp_records():
            _, _, b = curl(a.url("exporter", "/api/v1/logs"))
            return [r[1] for l in b.decode().splitlines() for r in json.loads(l)["records"]
                    if json.loads(l)["source_type"] == "opentelemetry"]
        got = wait_for(otlp_records, 10)
        t.eq(got, [expected("otlp line")], "opentelemetry: the four filters on OTLP log bodies (Match *)")
        t.eq(st, 200, "OTLP logs accepted")


def test_reload_swaps_filters(t):
    conf = "[INPUT]\n    name http\n    port 0\n[FILTER]\n    name grep\n    match *\n    regex keep yes\n"
    a = Agent(config=conf)
    try:
        post_json(a, "/t", [{"keep": "yes"}, {"keep": "no"}])
        with open(a.config_path, "w") as f:
            f.write("[INPUT]\n    name http\n    port 0\n[FILTER]\n    name record_modifier\n    match *\n    record r 1\n")
        import signal
        a.signal(signal.SIGHUP)
        wait_for(lambda: "reload done" in a.log(), 10)
        post_json(a, "/t", {"keep": "no"})
        _, _, b = curl(a.url("exporter", "/logs"))
        bodies = [json.loads(l)[1] for l in b.decode().splitlines()]
        t.eq(bodies, [{"keep": "yes"}, {"keep": "no", "r": "1"}], "SIGHUP swaps the filter chain for the next records")
    finally:
        t.eq(a.stop(), 0, "clean exit after the reload")


if __name__ == "__main__":
    run([test_corpus_starts, test_filters_every_input, test_reload_swaps_filters])
