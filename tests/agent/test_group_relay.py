#!/usr/bin/python3
# test_group_relay.py: OTLP logs relayed by Fluent Bit 5.1.1 over HTTP (format msgpack) and over Forward give the same records (issue 14, acceptance 1).
import json
import os
import socket

from agentlib import FIXTURES, Agent, curl, run
from fwdlib import wait_for

CONF = """pipeline:
  inputs:
    - name: forward
      port: 0
    - name: http
      port: 0
"""


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def chunks(agent):
    _, _, body = curl(agent.url("exporter", "/api/v1/logs"))
    return [json.loads(l) for l in body.decode().splitlines()]


def legacy(agent):
    _, _, body = curl(agent.url("exporter", "/logs"))
    return body.decode().splitlines()


def test_http_relay_equals_forward_relay(t):
    http_body = fixture("http-msgpack-otlp-01.body")
    frame = fixture("forward-logs-otlp-01.msgpack")
    # The README says the HTTP body is the Forward frame's entries: check it, so the
    # comparison below compares two encodings of the same data.
    t.ok(frame.endswith(http_body), "the http msgpack body is the Forward frame's entries (README-part2)")
    with Agent(config=CONF, expect=("http", "forward", "exporter")) as a:
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/msgpack", a.url("http", "/v1_logs"), data=http_body)
        t.eq(st, 201, "http input accepts Fluent Bit's msgpack relay")
        with socket.create_connection(("127.0.0.1", a.ports["forward"]), timeout=10) as s:
            s.sendall(frame)
            got = wait_for(lambda: len(chunks(a)) == 2, 10)
        t.ok(got, "both relays stored one chunk each", chunks(a))
        by_type = {c["source_type"]: c for c in chunks(a)}
        h, f = by_type.get("http"), by_type.get("forward")
        t.ok(h and f, "one chunk per input", by_type)
        if not (h and f):
            return
        t.eq(h["records"], f["records"], "http relay gives exactly the Forward relay's records (with resource/scope)")
        t.eq(len(h["records"]), 2, "the two group markers are not stored as records")
        times = [r[0][0] for r in h["records"]]
        t.ok(all(ts > 0 for ts in times), "no record carries a marker time (-1 s / -2 s)", times)
        metas = [r[0][1]["otlp"] for r in h["records"]]
        t.ok(all(m.get("resource") == {"attributes": {"service.name": "checkout"}} and
                 m.get("scope") == {"name": "checkout-logger", "version": "0.9.0"} for m in metas),
             "every record carries the group's resource and scope under otlp", metas)
        t.ok(all("severity_number" in m and "trace_id" in m for m in metas),
             "the records' own OTLP metadata stays beside resource and scope", metas)
        t.eq((h["tag"], f["tag"]), ("v1_logs", "v1_logs"), "same tag both ways")
        lines = legacy(a)
        t.eq(len(lines), 4, "legacy /logs: two records per relay")
        strip = [json.loads(l) for l in lines]
        for r in strip:
            r[0][1].pop("_tag", None)
        t.eq(strip[:2], strip[2:], "legacy /logs lines are identical for both relays")


def test_markers_without_records(t):
    """A request holding only a start and an end marker stores nothing and is answered 201."""
    body = fixture("http-msgpack-otlp-01.body")
    import msgpack
    u = msgpack.Unpacker(raw=False, strict_map_key=False)
    u.feed(body)
    objs = list(u)
    only = msgpack.packb(objs[0], use_bin_type=True) + msgpack.packb(objs[-1], use_bin_type=True)
    with Agent(config=CONF, expect=("http", "forward", "exporter")) as a:
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/msgpack", a.url("http", "/"), data=only)
        t.eq(st, 201, "markers only: 201")
        t.eq(chunks(a), [], "markers only: no chunk stored")


if __name__ == "__main__":
    run([test_http_relay_equals_forward_relay, test_markers_without_records])
