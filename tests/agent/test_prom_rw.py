#!/usr/bin/python3
# test_prom_rw.py: the prometheus_remote_write input against the built agent: remote write 1.0 requests (raw and framed snappy) rendered as metrics contexts, Fluent Bit's keys, every bad request refused with its reason and nothing stored, snappy bombs.
import re
import json
import os
import random
import shutil
import subprocess
import tempfile

import promrw
import snappy
from agentlib import AGENT, FIXTURES, PORT_FLAGS, WRAPPER, Agent, curl, run

CONF = """pipeline:
  inputs:
    - name: prometheus_remote_write
      listen: 127.0.0.1
      port: 0
      uri: /api/prom/push
%s"""


def metrics(a, frm=0):
    _, h, body = curl(a.url("exporter", "/metrics?from=%d" % frm))
    return [json.loads(l) for l in body.decode().splitlines()], h


def push(a, body, path="/api/prom/push", headers=None):
    return curl("-XPOST", *(headers if headers is not None else promrw.HEADERS), a.url("prom_rw", path), data=body)


def sample_request():
    rnd = random.Random(7)
    series = []
    for i in range(30):
        labels = [("__name__", "http_requests_total"), ("method", ["GET", "POST"][i % 2]), ("instance", "web-%d" % i)]
        if i % 3 == 0:
            labels.append(("code", "500"))
        series.append({"labels": labels, "samples": [(rnd.randint(0, 10**6), 1700000000000 + k * 15000) for k in range(3)]})
    series.append({"labels": [("__name__", "process_resident_memory_bytes")], "samples": [(73400320.5, 1700000000000)]})
    series.append({"labels": [("__name__", "rpc_duration_seconds_bucket"), ("le", "0.1")], "samples": [(4, 1700000000000)],
                   "exemplars": [({"trace_id": "5b8efff798038103d269b633813fc60c"}, 0.07, 1700000000123)]})
    series.append({"labels": [("__name__", "odd \"name\"\n"), ("k", "v\u00e9\u0001")], "samples": [(float("nan"), 1)]})
    meta = [("counter", "http_requests", "Requests served", ""), ("gauge", "process_resident_memory_bytes", "RSS", "bytes"),
            ("histogram", "rpc_duration_seconds", "RPC latency", "seconds")]
    return series, meta


def test_samples(t):
    series, meta = sample_request()
    pb = promrw.write_request(series, meta)
    with Agent(config=CONF % "", expect=("prom_rw", "exporter")) as a:
        st, h, body = push(a, promrw.compress(pb))
        t.ok(st == 201 and body == b"", "remote write 1.0 request (raw snappy): 201, empty body", (st, h, body))
        got, h = metrics(a)
        want = promrw.expected(series, meta)
        want["metrics"][-1]["values"][0]["value"] = None  # NaN is null in JSON (spec 3.1)
        t.eq(got, [want], "one metrics context: families by name, types and help from metadata, exemplar in meta.external")
        t.eq(h.get("vivo-stream-end-id"), "0", "one chunk per request")
        # The same request in the framing format (what Fluent Bit's own inputs also accept).
        st, _, _ = push(a, promrw.framed(pb))
        got2, _ = metrics(a, 1)
        t.ok(st == 201 and got2 == got, "framed snappy: the same context", (st, got2[:1]))
        # No Content-Encoding: a plain protobuf body (as Fluent Bit takes it).
        st, _, _ = push(a, pb, headers=["-H", "Content-Type: application/x-protobuf"])
        got3, _ = metrics(a, 2)
        t.ok(st == 201 and got3 == got, "uncompressed protobuf: the same context", st)
        st, _, body = curl(a.url("ops", "/api/v1/metrics/prometheus"))
        line = [l for l in body.decode().splitlines() if "prometheus_remote_write" in l and "records" in l]
        n = sum(len(s["samples"]) for s in series)
        t.ok(any(l.endswith(" %d" % (3 * n)) for l in line), "self-metrics count the %d samples of each request" % n, line)


def test_options(t):
    extra = "      successful_response_code: 204\n      tag_from_uri: off\n      tag: prom\n"
    with Agent(config=CONF % extra, expect=("prom_rw", "exporter")) as a:
        pb = promrw.write_request([{"labels": [("__name__", "up"), ("job", "node")], "samples": [(1, 1700000000000)]}])
        st, _, _ = push(a, promrw.compress(pb))
        t.eq(st, 204, "successful_response_code 204")
        st, _, body = push(a, promrw.compress(pb), path="/other")
        t.ok(st == 404 and b"/api/prom/push" in body, "another path than uri: 404 naming the uri", (st, body))
        st, _, _ = curl(a.url("prom_rw", "/api/prom/push"))
        t.eq(st, 405, "GET: 405")
        got, _ = metrics(a)
        t.eq(len(got), 1, "only the good request was stored")
    # An agent that must not start: run it directly, so its folder is ours to remove.
    d = tempfile.mkdtemp(prefix="vivo-test-")
    try:
        path = os.path.join(d, "vivo.yaml")
        with open(path, "w") as f:
            f.write("pipeline:\n  inputs:\n    - name: prometheus_remote_write\n      port: 0\n"
                    "      successful_response_code: 202\n")
        p = subprocess.run(WRAPPER + [AGENT, "--listen", "127.0.0.1", "--config", path] + PORT_FLAGS,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode()
        t.ok(p.returncode != 0 and "successful_response_code" in err, "successful_response_code 202 refused at start",
             (p.returncode, err[-300:]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_bad_requests(t):
    extra = "      buffer_max_size: 100000\n"
    with Agent(config=CONF % extra, expect=("prom_rw", "exporter")) as a:
        good = promrw.write_request([{"labels": [("__name__", "up")], "samples": [(1, 1700000000000)]}])
        cases = [
            ("not snappy", b"\xff\xff\xff\xff\x0f garbage", promrw.HEADERS, 413, "declares"),
            ("corrupt snappy", snappy.compress(good)[:-2], promrw.HEADERS, 400, "snappy"),
            ("bad protobuf", snappy.compress(b"\x0a\x7f\x01"), promrw.HEADERS, 400, "malformed"),
            ("series without __name__", snappy.compress(promrw.write_request([{"labels": [("job", "x")], "samples": [(1, 1)]}])),
             promrw.HEADERS, 400, "__name__"),
            ("empty body", b"", promrw.HEADERS, 400, "empty"),
            ("remote write 2.0", snappy.compress(good),
             ["-H", "Content-Encoding: snappy", "-H", "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request"],
             415, "2.0"),
            ("unknown encoding", good, ["-H", "Content-Encoding: br", "-H", "Content-Type: application/x-protobuf"], 415, "snappy"),
            # A snappy bomb: 6 KB that decodes to 120 KB, over the 100 KB limit.
            ("snappy bomb", snappy.compress(b"\0" * 120000), promrw.HEADERS, 413, "limit of 100000"),
        ]
        for name, body, headers, want, word in cases:
            st, _, resp = push(a, body, headers=headers)
            err = json.loads(resp).get("error", "") if resp else ""
            t.ok(st == want and word in err, "%s: %d '%s'" % (name, want, err), (st, resp[:300]))
        got, h = metrics(a)
        t.ok(got == [] and h["vivo-stream-next-id"] == "0", "nothing stored by bad requests", got)
        st, _, _ = push(a, promrw.compress(good))
        got, _ = metrics(a)
        t.ok(st == 201 and len(got) == 1, "the agent still takes a good request", st)
        t.ok(re.search(r"refused 127\.0\.0\.1:\d+: remote write request: ", a.log()), "refusals are logged with the peer address")


def test_fluent_bit_hashes(t):
    """Fluent Bit's own metrics (exporter-internal-metrics-01, hashed by cmetrics inside Fluent Bit
    5.1.1) pushed as remote write series named by their full names: each value gets the hash
    Fluent Bit gave the same series."""
    with open(os.path.join(FIXTURES, "exporter-internal-metrics-01.txt")) as fh:
        raw = fh.read()
    doc = json.loads(raw[raw.index("\n\n") + 2:])
    series, want = [], {}
    for m in doc["metrics"]:
        o = m["meta"]["opts"]
        name = "".join(p + "_" for p in (o["ns"], o["ss"]) if p) + o["name"]
        for v in m["values"]:
            if "labels" in v and name not in want:  # one series per family: keys as Fluent Bit has them
                series.append({"labels": [("__name__", name)] + list(zip(m["meta"]["labels"], v["labels"])),
                               "samples": [(1, 1700000000000)]})
                want[name] = (v["labels"], v["hash"])
    with Agent(config=CONF % "", expect=("prom_rw", "exporter")) as a:
        st, _, _ = push(a, promrw.compress(promrw.write_request(series)))
        got, _ = metrics(a)
    have = {m["meta"]["opts"]["name"]: (m["values"][0].get("labels"), m["values"][0]["hash"])
            for line in got for m in line["metrics"]}
    wrong = ["%s: Vivo %r, Fluent Bit %r" % (n, have.get(n), w) for n, w in want.items() if have.get(n) != w]
    t.ok(st == 201 and len(want) >= 30 and not wrong,
         "%d of Fluent Bit's own series, each with the hash cmetrics gave it" % len(want), wrong[:10])


if __name__ == "__main__":
    run([test_samples, test_options, test_bad_requests, test_fluent_bit_hashes])
