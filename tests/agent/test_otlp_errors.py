#!/usr/bin/python3
# test_otlp_errors.py: every OTLP/HTTP error with curl (404, 405, 415, 400 for broken protobuf, invalid JSON and bad gzip, 413) and that nothing of a rejected request is stored.
import re
import gzip
import json
import os

import otlp_ref
from agentlib import FIXTURES, Agent, curl, run


varint = otlp_ref._varint
fld = otlp_ref.field


def kv(k, v):
    return fld(1, 2, k.encode()) + fld(2, 2, fld(1, 2, v.encode()))


def span(name, trace_id=bytes(range(16)), span_id=bytes(range(8))):
    return fld(1, 2, trace_id) + fld(2, 2, span_id) + fld(5, 2, name.encode()) + fld(9, 2, kv("a", "b"))


def traces_req(*spans):
    return fld(1, 2, fld(2, 2, b"".join(fld(2, 2, s) for s in spans)))


def log_rec(body, trace_id=None):
    r = fld(1, 1, 1700000000000000000) + fld(5, 2, fld(1, 2, body.encode()))
    if trace_id is not None:
        r += fld(9, 2, trace_id)
    return r


def logs_req(*recs):
    return fld(1, 2, fld(2, 2, b"".join(fld(2, 2, r) for r in recs)))


def status_pb(body):
    """Decode a google.rpc.Status: (code, message)."""
    code, msg, i = None, None, 0
    while i < len(body):
        tag = body[i]
        i += 1
        if tag == 0x08:
            code = body[i]
            i += 1
        elif tag == 0x12:
            n, s = 0, 0
            while True:
                b = body[i]
                i += 1
                n |= (b & 0x7f) << s
                s += 7
                if b < 0x80:
                    break
            msg = body[i:i + n].decode()
            i += n
        else:
            return None
    return code, msg


def next_ids(a):
    out = {}
    for s in ("logs", "metrics", "traces"):
        _, h, _ = curl(a.url("exporter", "/" + s))
        out[s] = int(h["vivo-stream-next-id"])
    return out


def post(a, path, data, ctype="application/x-protobuf", *extra):
    args = ["-X", "POST", "-H", "Expect:"]
    if ctype is not None:
        args += ["-H", "Content-Type: " + ctype]
    for e in extra:
        args += ["-H", e]
    return curl(*args, a.url("otlp", path), data=data)


def test_paths_methods_types(t):
    with Agent(expect=("otlp", "exporter")) as a:
        good = traces_req(span("ok"))
        for p in ("/v1/trace", "/", "/v1/traces/x", "/v2/traces"):
            st, h, body = post(a, p, good)
            t.eq(st, 404, "POST %s: 404" % p)
        st, h, _ = curl(a.url("otlp", "/v1/traces"))
        t.ok(st == 405 and "POST" in h.get("allow", ""), "GET /v1/traces: 405 with Allow: POST", (st, h))
        for ct in ("text/plain", "application/msgpack", "application/x-www-form-urlencoded", None):
            st, h, body = post(a, "/v1/traces", good, ct)
            ok = st == 415 and h.get("content-type") == "application/json" and json.loads(body).get("code") == 3
            t.ok(ok, "Content-Type %s: 415 with a JSON Status" % ct, (st, h, body))
        st, h, body = post(a, "/v1/traces", good, "application/x-protobuf", "Content-Encoding: br")
        t.eq(st, 415, "Content-Encoding br: 415")
        st, h, body = post(a, "/v1/traces", good, "Application/X-Protobuf; charset=binary")
        t.eq((st, body), (200, b""), "media type parameters and case are accepted")
        st, h, body = post(a, "/v1/traces", b"", "application/x-protobuf")
        t.eq((st, body), (200, b""), "an empty protobuf body is an empty request: 200")
        t.eq(next_ids(a), {"logs": 0, "metrics": 0, "traces": 1}, "only the one good request was stored")


def test_broken_protobuf(t):
    with Agent(expect=("otlp", "exporter")) as a:
        with open(os.path.join(FIXTURES, "otlp-traces-otlpjson-01.pb"), "rb") as f:
            fixture = f.read()
        cases = {
            "truncated": fixture[:-7],
            "length past the end": fld(1, 2, b"") [:-1] + varint(50) + b"x",
            "varint of 11 bytes": b"\x08" + b"\xff" * 10 + b"\x01",
            "field number 0": b"\x02\x00",
            "wire type 3 (group)": b"\x0b",
            "wrong wire type for resource_spans": fld(1, 0, 5),
            "trace_id of 5 bytes": traces_req(span("x", trace_id=b"12345")),
            "span_id of 16 bytes": traces_req(span("x", span_id=bytes(16))),
            "broken span after a good one": traces_req(span("good"), b"\x0a\x05ab"),
        }
        for name, data in cases.items():
            st, h, body = post(a, "/v1/traces", data)
            dec = status_pb(body) if h.get("content-type") == "application/x-protobuf" else None
            t.ok(st == 400 and dec is not None and dec[0] == 3 and dec[1],
                 "%s: 400 with a protobuf google.rpc.Status (code 3, a reason)" % name, (st, h, body))
        st, h, body = post(a, "/v1/logs", logs_req(log_rec("first"), log_rec("second", trace_id=b"\x01\x02")))
        t.eq(st, 400, "logs with a bad second record: 400")
        t.ok("trace_id" in status_pb(body)[1], "the reason names the field", body)
        t.eq(next_ids(a), {"logs": 0, "metrics": 0, "traces": 0}, "nothing of a rejected request is stored")
        t.ok(re.search(r"refused 127\.0\.0\.1:\d+: traces request: ", a.log()), "the rejection is logged with the peer address")


def test_invalid_json(t):
    with Agent(expect=("otlp", "exporter")) as a:
        cases = {
            "/v1/logs": [b"", b"{", b"{\"resourceLogs\":[]} {}", b"[1,2]", b"{\"resourceLogs\":5}",
                         b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"12x\"}]}]}]}",
                         b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":\"LOUD\"}]}]}]}"],
            "/v1/traces": [b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}",
                           b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"0102\"}]}]}]}",
                           b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\"},{\"kind\":true}]}]}]}"],
            "/v1/metrics": [b"{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1.5\"}]}}]}]}]}",
                            b"{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"sum\":{\"dataPoints\":[{\"asDouble\":1}],\"isMonotonic\":\"yes\"}}]}]}]}"],
        }
        for path, bodies in cases.items():
            for b in bodies:
                st, h, body = post(a, path, b, "application/json")
                try:
                    j = json.loads(body)
                except ValueError:
                    j = {}
                t.ok(st == 400 and h.get("content-type") == "application/json" and j.get("code") == 3 and j.get("message"),
                     "%s %r: 400 with a JSON Status" % (path, b[:60]), (st, h, body))
        t.eq(next_ids(a), {"logs": 0, "metrics": 0, "traces": 0}, "nothing of a rejected request is stored")


def test_gzip_and_limits(t):
    cfg = ("pipeline:\n  inputs:\n    - name: opentelemetry\n      port: 0\n      buffer_max_size: 20000\n"
           "  outputs:\n    - name: vivo_exporter\n      port: 0\n")
    with Agent(config=cfg, expect=("otlp", "exporter")) as a:
        good = traces_req(span("zipped"))
        st, h, body = post(a, "/v1/traces", gzip.compress(good), "application/x-protobuf", "Content-Encoding: gzip")
        t.eq((st, body), (200, b""), "a gzip body: 200")
        for name, data in (("not gzip", good), ("truncated gzip", gzip.compress(good)[:-6]),
                           ("gzip with garbage after it", gzip.compress(good) + b"junk")):
            st, h, body = post(a, "/v1/traces", data, "application/x-protobuf", "Content-Encoding: gzip")
            t.ok(st == 400 and status_pb(body)[0] == 3, "%s: 400" % name, (st, body))
        st, h, body = post(a, "/v1/traces", gzip.compress(b"{}"), "application/json", "Content-Encoding: gzip")
        t.eq((st, body), (200, b"{}"), "gzip JSON: 200 {}")
        st, h, body = post(a, "/v1/traces", b"\x00" * 30000)
        t.eq(st, 413, "a body over buffer_max_size: 413")
        bomb = gzip.compress(traces_req(*(span("s%05d" % i) for i in range(800))))
        t.ok(len(bomb) < 20000, "the bomb is small on the wire (%d bytes)" % len(bomb))
        st, h, body = post(a, "/v1/traces", bomb, "application/x-protobuf", "Content-Encoding: gzip")
        t.ok(st == 413 and status_pb(body) is not None, "gzip that inflates past buffer_max_size: 413 (Status)", (st, body))
        st, h, body = post(a, "/v1/traces", b" " * 25000, "application/json", "Transfer-Encoding: chunked")
        t.eq(st, 413, "a chunked body over the limit: 413")
        t.eq(next_ids(a)["traces"], 1, "only the good request was stored")


if __name__ == "__main__":
    run([test_paths_methods_types, test_broken_protobuf, test_invalid_json, test_gzip_and_limits])
