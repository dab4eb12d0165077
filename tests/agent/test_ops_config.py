#!/usr/bin/python3
# test_ops_config.py: black-box tests of configuration files, flags, signals, health and self-metrics.
import json
import os
import re
import signal
import subprocess
import tempfile
import time

from agentlib import AGENT, Agent, curl, post_json, run

DOC_YAML = """pipeline:
  inputs:
    - name: dummy
      tag: events
      rate: 2

  outputs:
    - name: vivo_exporter
      match: '*'
      host: 0.0.0.0
      port: 2025
      empty_stream_on_read: off
      stream_queue_size: 20M
      http_cors_allow_origin: '*'
"""

DOC_CLASSIC = """[INPUT]
    name  dummy
    tag   events
    rate  2

[OUTPUT]
    name                   vivo_exporter
    match                  *
    empty_stream_on_read   off
    stream_queue_size      20M
    http_cors_allow_origin *
"""


def wait_for(fn, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def test_fluent_bit_doc_configs(t):
    """The vivo_exporter examples of Fluent Bit's documentation run unchanged (ports moved by flags)."""
    for name, conf in (("yaml", DOC_YAML), ("classic", DOC_CLASSIC)):
        # Unchanged file; the flags move its fixed port and 0.0.0.0 to an ephemeral loopback port.
        with Agent(["--exporter-listen", "127.0.0.1"], config=conf, expect=("exporter", "ui", "ops")) as a:
            def got():
                _, h, body = curl(a.url("exporter", "/logs"))
                return body if body else None
            body = wait_for(got, 5)
            rec = json.loads(body.splitlines()[0]) if body else None
            t.ok(rec and rec[0][1] == {"_tag": "events"} and rec[1] == {"message": "dummy"},
                 "%s doc example: dummy records tagged events" % name, body)
            _, h, _ = curl(a.url("exporter", "/logs"))
            t.eq(h.get("access-control-allow-origin"), "*", "%s doc example: CORS origin *" % name)


def agent_fails(args, config=None):
    path = None
    if config is not None:
        path = os.path.join(tempfile.gettempdir(), "vivo-bad-%d.conf" % os.getpid())
        with open(path, "w") as f:
            f.write(config)
        args = ["--config", path] + args
    try:
        p = subprocess.run([AGENT] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    finally:
        if path:
            os.unlink(path)
    return p.returncode, p.stderr.decode(), path


def test_config_errors(t):
    rc, err, path = agent_fails([], "[INPUT]\n    name  tail\n")
    t.ok(rc == 2 and ("%s:2: unknown input plugin 'tail'" % path) in err and "supported:" in err,
         "unknown plugin: exit 2, file:line, what is supported", err)
    rc, err, path = agent_fails([], "pipeline:\n  outputs:\n    - name: vivo_exporter\n      stream_queue_size: 20 MB\n")
    t.ok(rc == 2 and ":4:" in err and "stream_queue_size" in err and "20 MB" in err, "bad size names key and value", err)
    rc, err, _ = agent_fails(["--stream-queue-size", "lots"])
    t.ok(rc == 2 and "--stream-queue-size" in err and "lots" in err, "bad flag value", err)
    rc, err, _ = agent_fails(["--frobnicate"])
    t.ok(rc == 2 and "--frobnicate" in err, "unknown flag", err)
    rc, err, _ = agent_fails(["--config", "/nonexistent/vivo.yaml"])
    t.ok(rc == 2 and "/nonexistent/vivo.yaml" in err, "missing file", err)
    p = subprocess.run([AGENT, "--help"], stdout=subprocess.PIPE, timeout=10)
    t.ok(p.returncode == 0 and b"--stream-queue-size" in p.stdout and b"--config" in p.stdout, "--help lists flags")
    p = subprocess.run([AGENT, "--version"], stdout=subprocess.PIPE, timeout=10)
    t.ok(p.returncode == 0 and p.stdout.startswith(b"vivo-agent "), "--version")


def test_reference_is_current(t):
    ref = os.path.join(os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                       "docs", "configuration.md")
    p = subprocess.run([AGENT, "--print-config-reference"], stdout=subprocess.PIPE, timeout=10)
    t.ok(p.returncode == 0 and os.path.exists(ref) and open(ref, "rb").read() == p.stdout,
         "docs/configuration.md matches --print-config-reference (regenerate it with that flag)")


def test_ops(t):
    with Agent() as a:
        st, _, body = curl(a.url("ops", "/api/v1/health"))
        t.ok(st == 200 and body == b"ok\n", "health: 200 ok", (st, body))
        post_json(a, "/x", [{"a": 1}, {"a": 2}])
        curl(a.url("exporter", "/logs"))
        st, h, body = curl(a.url("ops", "/api/v1/metrics/prometheus"))
        text = body.decode()
        t.ok(st == 200 and 'vivo_input_records_total{name="http.1"} 2' in text
             and 'vivo_stream_chunks{stream="logs"} 1' in text and 'vivo_stream_reads_total{stream="logs"} 1' in text
             and "vivo_process_resident_memory_bytes" in text and "# TYPE vivo_stream_evictions_total counter" in text,
             "prometheus text has per-input and per-stream figures", text[:1500])
        st, _, body = curl(a.url("ops", "/api/v1/uptime"))
        t.ok(st == 200 and "uptime_sec" in json.loads(body), "uptime")
        st, _, _ = curl(a.url("ops", "/api/v1/nothing"))
        t.eq(st, 404, "unknown ops path 404")


def test_self_metrics_and_demo(t):
    with Agent(["--demo"]) as a:
        def lines(path):
            _, _, body = curl(a.url("exporter", path))
            return body.decode().splitlines()
        logs = wait_for(lambda: lines("/logs"), 5)
        t.ok(logs and json.loads(logs[0])[0][1]["_tag"].startswith("demo."), "--demo fills logs", logs[:1])
        mets = wait_for(lambda: lines("/metrics"), 6)
        m = json.loads(mets[0]) if mets else {}
        names = [x["meta"]["opts"]["name"] for x in m.get("metrics", [])]
        t.ok("records_total" in names and m["meta"]["processing"] == {"static_labels": []}
             and all(v["hash"] >= 0 for x in m["metrics"] for v in x["values"]),
             "--demo fills metrics with the cmetrics shape", mets[:1])
        counter = [x for x in m["metrics"] if x["meta"]["type"] == 0][0]
        t.ok(counter["meta"]["aggregation_type"] == 2 and isinstance(counter["values"][0]["value"], float),
             "counters are cumulative with float values", counter)


def test_signals(t):
    conf = "pipeline:\n  inputs:\n    - name: http\n      port: 0\n  outputs:\n    - name: vivo_exporter\n      port: 0\n      stream_queue_size: 20M\n"
    a = Agent(config=conf)
    try:
        post_json(a, "/keep", {"i": 1})
        http_port = a.ports["http"]
        with open(a.config_path, "w") as f:
            f.write("pipeline:\n  inputs:\n    - name: http\n      port: 0\n    - name: dummy\n      tag: added\n      rate: 20\n"
                    "  outputs:\n    - name: vivo_exporter\n      port: 0\n      stream_queue_size: 10M\n")
        a.signal(signal.SIGHUP)
        t.ok(wait_for(lambda: "reload done" in a.log(), 5), "SIGHUP reloads", a.log()[-500:])
        exporter = a._scan()["exporter"]
        _, h, body = curl("http://127.0.0.1:%d/logs" % exporter)
        recs = [json.loads(l) for l in body.decode().splitlines()]
        t.ok(recs and recs[0][1] == {"i": 1}, "stream contents survive the reload", recs[:2])
        t.ok(wait_for(lambda: any(json.loads(l)[0][1]["_tag"] == "added" for l in
                                  curl("http://127.0.0.1:%d/logs" % exporter)[2].decode().splitlines()), 3),
             "an input added to the file starts")
        info = json.loads(curl("http://127.0.0.1:%d/api/v1/info" % exporter)[2])
        t.eq(info["streams"]["logs"]["bytes_max"], 10000000, "the new stream_queue_size applies")
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "http://127.0.0.1:%d/keep" % http_port, data=b"{}")
        t.eq(st, 201, "an unchanged input keeps its port (not re-bound)")
        with open(a.config_path, "w") as f:
            f.write("[INPUT]\n    name nope\n")
        a.signal(signal.SIGHUP)
        t.ok(wait_for(lambda: "reload failed, keeping" in a.log(), 5), "a broken file keeps the running config")
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "http://127.0.0.1:%d/keep" % http_port, data=b"{}")
        t.eq(st, 201, "and the agent keeps serving")
    finally:
        rc = a.stop()
    t.eq(rc, 0, "SIGTERM: exit 0")


def test_reload_rebind_with_held_polls(t):
    """Re-binding the servers on SIGHUP while the UI and a client long-poll: the polls are
    answered, the agent stays up and serves on the new address."""
    import threading
    conf = "pipeline:\n  outputs:\n    - name: vivo_exporter\n      port: 0\n"
    a = Agent(config=conf, expect=("exporter", "ui", "ops"))
    try:
        results = []

        def poll(listener, path):
            try:
                results.append(curl(a.url(listener, path), timeout=20)[0])
            except RuntimeError as e:
                results.append(str(e))

        ths = [threading.Thread(target=poll, args=("exporter", "/logs?from=0&wait=15")),
               threading.Thread(target=poll, args=("ui", "/api/v1/traces?from=0&wait=15"))]
        for th in ths:
            th.start()
        time.sleep(0.5)
        # Turning the UI off re-binds the servers (flags keep every port ephemeral).
        with open(a.config_path, "w") as f:
            f.write("service:\n  ui: off\n" + conf)
        a.signal(signal.SIGHUP)
        for th in ths:
            th.join(20)
        t.ok(wait_for(lambda: "reload done" in a.log(), 5) and a.proc.poll() is None,
             "SIGHUP re-binds with polls held and the agent stays up", a.log()[-800:])
        t.eq(sorted(results), [200, 200], "both held polls were answered")
        ports = [int(p) for p in re.findall(r"listening exporter on 127\.0\.0\.1:(\d+)", a.log())]
        t.ok(len(ports) == 2, "the exporter was re-bound", ports)
        st, h, _ = curl("http://127.0.0.1:%d/logs" % ports[-1])
        t.eq(st, 200, "and serves after the reload")
        t.ok("listening ui" not in a.log().split("reloading configuration")[-1], "the UI is off now")
    finally:
        rc = a.stop()
    t.eq(rc, 0, "and exits cleanly")


if __name__ == "__main__":
    run([test_fluent_bit_doc_configs, test_config_errors, test_reference_is_current, test_ops, test_self_metrics_and_demo,
         test_signals, test_reload_rebind_with_held_polls])
