#!/usr/bin/python3
# test_otlp_fixtures.py: every OTLP request a real Fluent Bit 5.1.1 sent (shared fixtures) replayed with its headers, and again as OTLP JSON; what the exporter serves must equal the mapping of its .json sidecar (otlp_ref), to the byte (key order and number forms included).
import glob
import json
import os

import otlp_ref
from agentlib import FIXTURES, Agent, curl, run

STREAM = {"/v1/logs": "logs", "/v1/metrics": "metrics", "/v1/traces": "traces"}


def fixtures():
    out = []
    for txt in sorted(glob.glob(os.path.join(FIXTURES, "otlp-*.txt"))):
        base = txt[:-4]
        body = next((base + ext for ext in (".pb.gz", ".pb.zst", ".pb") if os.path.exists(base + ext)), None)
        with open(txt, "rb") as f:
            lines = f.read().decode("latin-1").split("\r\n")
        if body is None or not lines[0].endswith(" HTTP/1.1"):
            continue  # HTTP/2 header lists: test_h2.py and test_grpc.py replay those
        method, path, _ = lines[0].split(" ")
        headers = {}
        for l in lines[1:]:
            if ":" in l:
                k, _, v = l.partition(":")
                headers[k.strip().lower()] = v.strip()
        with open(body, "rb") as f:
            data = f.read()
        with open(base + ".json") as f:
            side = json.load(f)
        out.append((os.path.basename(base), method, path, headers, data, side["decoded"]))
    return out


class Reader:
    """Reads chunk N of each stream in order (a fresh agent: IDs start at 0)."""

    def __init__(self, agent):
        self.a = agent
        self.next = {"logs": 0, "metrics": 0, "traces": 0}

    def chunk(self, stream, path=None):
        n = self.next[stream]
        self.next[stream] += 1
        _, h, body = curl(self.a.url("exporter", "%s?from=%d&to=%d" % (path or "/" + stream, n, n)))
        self.raw = body.decode().splitlines()
        return [json.loads(l) for l in self.raw], h


def compact(v):
    """The bytes Vivo writes for a JSON value: no whitespace, UTF-8, keys in their order."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def check(t, r, name, path, decoded, how):
    stream = STREAM[path]
    if stream == "traces":
        want = [otlp_ref.traces(decoded)]
        got, _ = r.chunk("traces")
        t.eq(got, want, "%s (%s): /traces line" % (name, how))
    elif stream == "metrics":
        want = otlp_ref.metrics(decoded)
        got, _ = r.chunk("metrics")
        t.eq(got, want, "%s (%s): /metrics lines" % (name, how))
    else:
        want, records, shared = otlp_ref.logs(decoded)
        n = r.next["logs"]
        got, _ = r.chunk("logs")
        t.eq(got, want, "%s (%s): /logs lines" % (name, how))
    t.eq(r.raw, [compact(w) for w in want], "%s (%s): the same bytes (key order, number forms)" % (name, how))
    if stream == "logs":
        _, _, body = curl(r.a.url("exporter", "/api/v1/logs?from=%d&to=%d" % (n, n)))
        v1 = json.loads(body)
        want = {"source_type": "opentelemetry", "source_name": "opentelemetry.2", "tag": "v1_logs",
                "records": records}
        if shared is not None:
            want["otlp"] = shared
        t.eq(v1, want, "%s (%s): /api/v1/logs object with the shared resource and scope" % (name, how))
        if shared is not None:
            t.ok(compact({"otlp": shared})[1:-1] in body.decode(), "%s (%s): the v1 otlp member, to the byte" % (name, how),
                 body)


def test_replay(t):
    fx = fixtures()
    t.ok(len(fx) >= 12, "found the otlp-* fixtures (%d)" % len(fx))
    with Agent(expect=("otlp", "exporter")) as a:
        r = Reader(a)
        for name, method, path, headers, data, decoded in fx:
            args = ["-X", method, "-H", "Content-Type: " + headers["content-type"], "-H", "Expect:"]
            if "content-encoding" in headers:
                args += ["-H", "Content-Encoding: " + headers["content-encoding"]]
            status, h, body = curl(*args, a.url("otlp", path), data=data)
            t.ok(status == 200 and body == b"" and h.get("content-type") == "application/x-protobuf",
                 "%s: 200, empty ExportServiceResponse in protobuf" % name, (status, h, body))
            check(t, r, name, path, decoded, "protobuf")
        # The same requests in OTLP JSON: 64-bit integers as strings, then as numbers.
        for i, (name, method, path, headers, data, decoded) in enumerate(fx):
            body = json.dumps(otlp_ref.to_otlp_json(decoded, ints_as_strings=i % 2 == 0)).encode()
            status, h, resp = curl("-X", "POST", "-H", "Content-Type: application/json", a.url("otlp", path), data=body)
            t.ok(status == 200 and resp == b"{}" and h.get("content-type") == "application/json",
                 "%s as JSON: 200 with {}" % name, (status, h, resp))
            check(t, r, name, path, decoded, "JSON")


if __name__ == "__main__":
    run([test_replay])
