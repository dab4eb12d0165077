#!/usr/bin/python3
# test_otlp_demo.py: --demo fills the traces stream with realistic multi-service traces (the demo_traces input), in the OTLP shape of spec 3.5.
import json
import time

from agentlib import Agent, curl, run


def test_demo_traces(t):
    with Agent(args=["--demo"], expect=("otlp", "exporter")) as a:
        deadline = time.time() + 15
        lines = []
        while time.time() < deadline and len(lines) < 2:
            _, _, body = curl(a.url("exporter", "/traces?wait=5"))
            lines = [json.loads(l) for l in body.decode().splitlines()]
        t.ok(len(lines) >= 2, "the demo produced traces within 15 s (%d)" % len(lines))
        if not lines:
            return
        _, _, body = curl(a.url("exporter", "/api/v1/traces?from=0&to=0"))
        t.eq([json.loads(l) for l in body.decode().splitlines()], lines[:1], "/api/v1/traces serves the same lines")
        for n, tr in enumerate(lines[:2]):
            rs = tr["resourceSpans"]
            services = [r["resource"]["attributes"].get("service.name") for r in rs]
            t.eq(sorted(services), ["checkout", "frontend", "inventory", "payments"], "trace %d: four services" % n)
            spans = [s for r in rs for ss in r["scope_spans"] for s in ss["spans"]]
            ids = {s["span_id"]: s for s in spans}
            t.eq(len(spans), 7, "trace %d: seven spans" % n)
            t.eq(len({s["trace_id"] for s in spans}), 1, "trace %d: one trace id" % n)
            roots = [s for s in spans if s["parent_span_id"] is None]
            t.ok(len(roots) == 1 and roots[0]["kind"] == 2, "trace %d: one server root span" % n)
            t.ok(all(s["parent_span_id"] is None or s["parent_span_id"] in ids for s in spans),
                 "trace %d: every parent is in the trace" % n)
            t.ok(all(s["parent_span_id"] is None or
                     (ids[s["parent_span_id"]]["start_time_unix_nano"] <= s["start_time_unix_nano"] and
                      s["end_time_unix_nano"] <= ids[s["parent_span_id"]]["end_time_unix_nano"]) for s in spans),
                 "trace %d: children run inside their parents" % n)
            t.ok(all(len(s["trace_id"]) == 32 and len(s["span_id"]) == 16 and s["status"]["code"] in (1, 2) and s["attributes"]
                     for s in spans), "trace %d: hex IDs, status, attributes" % n)
            errs = [s for s in spans if s["status"]["code"] == 2]
            t.ok(not errs or any(e["name"] == "exception" for s in errs for e in s["events"]),
                 "trace %d: failed spans carry an exception event" % n)
        _, h, _ = curl(a.url("exporter", "/logs"))
        t.ok(int(h["vivo-stream-next-id"]) > 0, "demo logs arrive too")


if __name__ == "__main__":
    run([test_demo_traces])
