#!/usr/bin/python3
# test_grpc.py: OTLP/gRPC on 4317 (otlp_grpc) and 4318 (otlp): Fluent Bit's `grpc on` captures replayed byte for byte (its connection reuse too) store what the HTTP/1.1 equivalents store; the status codes for undecodable, oversize, unknown, compressed and draining requests; keepalive PINGs; gRPC over TLS.
import re
import gzip
import os
import signal
import time

import snappy  # Debian python3-snappy
import zstandard  # Debian python3-zstandard

import h2lib
import otlp_ref
from agentlib import FIXTURES, Agent, curl, run, tls_input
from test_h2 import SIGNAL_PATH, h2c_fixtures, reuse_sidecars, same_as_http1
from test_otlp_fixtures import Reader, check

LOG_REQ = {"resource_logs": [{"resource": {"attributes": [{"key": "service.name", "value": {"string_value": "grpc-t"}}]},
                              "scope_logs": [{"log_records": [{"time_unix_nano": 1700000000000000000,
                                                               "body": {"string_value": "hello"}}]}]}]}


def log_request(text="hello"):
    req = {"resource_logs": [dict(LOG_REQ["resource_logs"][0])]}
    req["resource_logs"][0]["scope_logs"] = [{"log_records": [{"time_unix_nano": 1700000000000000000,
                                                               "body": {"string_value": text}}]}]
    return otlp_ref.to_protobuf(req, "LogsReq")


def next_id(a, stream="logs"):
    _, h, _ = curl(a.url("exporter", "/%s?from=999999999" % stream))
    return int(h["vivo-stream-next-id"])


def errors_total(a):
    """vivo_input_errors_total of the OTLP input, summed over its reasons."""
    _, _, body = curl(a.url("ops", "/api/v1/metrics/prometheus"))
    got = [float(line.split()[-1]) for line in body.decode().splitlines()
           if line.startswith('vivo_input_errors_total{name="opentelemetry')]
    return sum(got) if got else None


def ok_answer(r):
    """Fluent Bit's success: 200, application/grpc, one empty message, grpc-status 0."""
    return (r["headers"].get(":status") == "200" and r["headers"].get("content-type") == "application/grpc"
            and r["data"] == b"\x00\x00\x00\x00\x00" and r["trailers"].get("grpc-status") == "0")


def test_fixtures(t):
    fx = h2c_fixtures("grpc") + h2c_fixtures("grpc-zstd")
    t.ok(len(fx) >= 8, "found the otlp-*-grpc-* captures (%d)" % len(fx))
    with Agent(expect=("otlp", "otlp_grpc", "exporter")) as a:
        r = Reader(a)
        for i, (name, sig, capture, body, decoded) in enumerate(fx):
            for port in ("otlp_grpc", "otlp"):
                res = h2lib.replay(a.ports[port], capture)
                t.ok(res[0]["settings"], "%s on %s: SETTINGS right after the preface" % (name, port))
                t.ok(ok_answer(res[0]), "%s on %s: HEADERS, the empty Export*ServiceResponse, grpc-status 0" % (name, port),
                     res[0])
                check(t, r, "%s on %s" % (name, port), SIGNAL_PATH[sig], decoded, "gRPC")
                # The message without its 5-byte prefix is the same protobuf as over HTTP/1.1.
                same_as_http1(t, a, r, "%s on %s" % (name, port), sig, body[5:], {})


def test_reuse(t):
    with open(os.path.join(FIXTURES, "otlp-logs-dummy-grpc-reuse-conn.h2"), "rb") as f:
        capture = f.read()
    with Agent(expect=("otlp", "exporter")) as a:
        res = h2lib.replay(a.ports["otlp"], capture)
        t.eq([ok_answer(s) for s in res], [True, True, True], "grpc on, three sessions on one connection: all OK")
        r = Reader(a)
        for i, d in enumerate(reuse_sidecars("grpc")):
            check(t, r, "gRPC reuse session %d" % (i + 1), "/v1/logs", d, "gRPC")
        t.eq(len(curl(a.url("exporter", "/logs"))[2].splitlines()), 10, "all 10 records")


def test_status_codes(t):
    conf = "pipeline:\n  inputs:\n    - name: opentelemetry\n      buffer_max_size: 100K\n"
    with Agent(config=conf, expect=("otlp", "otlp_grpc", "exporter", "ops")) as a:
        c = h2lib.Client(a.ports["otlp_grpc"])
        good = log_request()
        r = c.grpc("logs", good)
        t.ok(r.status == 200 and r.grpc_status() == (0, None) and r.data == b"\0\0\0\0\0", "a log export: OK", r)
        t.ok("grpc-accept-encoding" in r.headers, "the answer says which encodings it takes", r.headers)
        r = c.grpc("logs", gzip.compress(log_request("zipped")), compressed=True, encoding="gzip")
        t.eq(r.grpc_status(), (0, None), "a gzip-compressed message (grpc-encoding gzip): OK")
        r = c.grpc("logs", zstandard.ZstdCompressor().compress(log_request("zstd")), compressed=True, encoding="zstd")
        t.eq(r.grpc_status(), (0, None), "a zstd-compressed message (grpc-encoding zstd): OK")
        r = c.grpc("logs", snappy.compress(log_request("snappy")), compressed=True, encoding="snappy")
        t.eq(r.grpc_status(), (0, None), "a snappy-compressed message (grpc-encoding snappy): OK")
        stored = next_id(a)
        cases = [
            ("garbage protobuf", dict(msg=b"\x0a\x05abc"), 3, "invalid protobuf request"),
            ("a truncated message", dict(msg=b"", raw=b"\x00\x00\x00\x00\x64" + good[:10]), 3, "truncated"),
            ("two messages in a unary call", dict(msg=b"", raw=h2lib.grpc_frame(good) * 2), 3, "followed by"),
            ("no message at all", dict(msg=b"", raw=b""), 3, "no message"),
            ("compressed flag, no grpc-encoding", dict(msg=good, compressed=True), 3, "grpc-encoding"),
            ("bad gzip", dict(msg=b"nope", compressed=True, encoding="gzip"), 3, "gzip"),
            ("grpc-encoding x%y", dict(msg=good, compressed=True, encoding="x%y"), 12, "x%25y is not supported"),
            ("a gzip bomb", dict(msg=gzip.compress(b"\x0a" + b"\x00" * 5000000), compressed=True, encoding="gzip"), 8,
             "inflates past"),
            ("a zstd bomb", dict(msg=zstandard.ZstdCompressor().compress(b"\x0a" + b"\x00" * 5000000), compressed=True,
                                 encoding="zstd"), 8, "limit"),
            ("bad zstd", dict(msg=b"\x28\xb5\x2f\xfdnope", compressed=True, encoding="zstd"), 3, "zstd"),
            ("a message over buffer_max_size", dict(msg=good + b"\x00" * 0 + otlp_ref.to_protobuf(
                {"resource_logs": [{"scope_logs": [{"log_records": [{"body": {"string_value": "x" * 150000}}]}]}]},
                "LogsReq")), 8, "limit"),
            ("a 4 GB length prefix", dict(msg=b"", raw=b"\x00\xff\xff\xff\xff" + good), 8, "limit"),
            ("the JSON codec", dict(msg=good, ctype="application/grpc+json"), 3, "protobuf"),
            ("an unknown method", dict(signal_or_path="/opentelemetry.proto.collector.logs.v1.LogsService/Nope",
                                       msg=good), 12, "unknown method"),
            ("an unknown service", dict(signal_or_path="/foo.Bar/Baz", msg=good), 12, "unknown method"),
        ]
        for name, kw, code, words in cases:
            kw.setdefault("signal_or_path", "logs")
            r = c.grpc(**kw)
            got, msg = r.grpc_status()
            t.ok(r.status == 200 and got == code and words in (msg or ""),
                 "%s: grpc-status %d with a reason" % (name, code), r)
        t.eq(next_id(a), stored, "nothing of a refused request was stored")
        r = c.grpc("logs", log_request("after"))
        t.eq(r.grpc_status(), (0, None), "the connection still serves exports after every refusal")
        t.ok(c.ping(b"keep-ali"), "a keepalive PING is answered with its payload")
        c.close()
        # 11 refusals reach the input; the server itself answers the unknown methods and the
        # oversize bodies (4), and the refusal logger counts those under the input's name too.
        t.eq(errors_total(a), 15.0, "every refusal is counted in the input's errors_total (by reason)")
        t.ok(re.search(r"refused 127\.0\.0\.1:\d+: OTLP/gRPC logs export: ", a.log()), "and logged with the peer address")
        st, _, body = curl("-XPOST", "-H", "Content-Type: application/grpc", a.url("otlp", h2lib.GRPC_PATHS["logs"]),
                           data=h2lib.grpc_frame(good))
        t.ok(st == 415 and b"HTTP/2" in body, "gRPC over HTTP/1.1: 415 naming HTTP/2", (st, body))
        c = h2lib.Client(a.ports["otlp_grpc"])
        for sig, msg in (("metrics", otlp_ref.to_protobuf({"resource_metrics": []}, "MetricsReq")),
                         ("traces", otlp_ref.to_protobuf({"resource_spans": []}, "TracesReq"))):
            t.eq(c.grpc(sig, msg).grpc_status(), (0, None), "an empty %s export: OK" % sig)
        c.close()


def test_draining(t):
    """SIGTERM: GOAWAY, new streams get UNAVAILABLE, the one in flight finishes and is stored."""
    a = Agent(expect=("otlp_grpc", "exporter"))
    try:
        w = h2lib.Raw(a.ports["otlp_grpc"])
        body = h2lib.grpc_frame(log_request("in flight"))
        w.grpc_headers(1, "logs")
        w.data(1, body[:10])
        time.sleep(0.3)
        a.signal(signal.SIGTERM)
        frames = w.read(lambda f: f["type"] == h2lib.GOAWAY, timeout=5)
        t.ok(any(f["type"] == h2lib.GOAWAY for f in frames), "SIGTERM: the client gets a GOAWAY")
        w.grpc_headers(3, "logs")
        w.data(3, h2lib.grpc_frame(log_request("late")), end=True)
        got = h2lib.grpc_status_of(w.until_end(3))
        t.ok(got[0] == 14 and "shutting down" in (got[1] or ""), "a new stream while draining: UNAVAILABLE", got)
        w.data(1, body[10:], end=True)
        got = h2lib.grpc_status_of(w.until_end(1))
        t.eq(got, (0, None), "the export in flight completes: OK")
        t.ok(w.closed(5), "then the connection is closed")
        w.close()
        t.eq(a.proc.wait(30), 0, "the agent exits 0")
        t.ok("shutting down" in a.log(), "after its shutdown log line")
    finally:
        a.stop()


def test_tls(t):
    with tls_input("opentelemetry") as (crt, key, conf):
        with Agent(config=conf, expect=("otlp", "otlp_grpc", "exporter")) as a:
            for port in ("otlp_grpc", "otlp"):
                c = h2lib.Client(a.ports[port], tls=True)
                t.eq(c.grpc("logs", log_request("tls")).grpc_status(), (0, None), "gRPC over TLS (ALPN h2) on %s: OK" % port)
                c.close()
            t.eq(next_id(a), 2, "both stored")


if __name__ == "__main__":
    run([test_fixtures, test_reuse, test_status_codes, test_draining, test_tls])
