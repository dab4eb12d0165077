#!/usr/bin/python3
# test_fleet.py: black-box tests of the vivo input: one follower over three agents, a replica mesh with origin=local, both API shapes, traces and metrics.
import contextlib
import json
import os
import signal

from agentlib import Agent, curl, post_json, run
from fleetlib import (exporter_url, follow_metric, followed_records, free_port, get, info, instance, legacy_lines,
                      records_part, sources, v1_chunks, wait_until)

FIXTURES_OTLP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")
PODS = [{"POD_NAME": "web-0", "POD_NAMESPACE": "shop", "NODE_NAME": "node-a"},
        {"POD_NAME": "web-1", "POD_NAMESPACE": "shop", "NODE_NAME": "node-b"},
        {}]  # the third knows no pod: its source is its instance only


def otlp_span(trace, span, parent, name, service, start):
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": [{
                                   "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": 2,
                                   "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5000000)}]}]}]}


def post_otlp(a, signal_, obj):
    st, _, body = curl("-XPOST", "-H", "Content-Type: application/json",
                       "http://127.0.0.1:%d/v1/%s" % (a.ports["otlp"], signal_), data=json.dumps(obj).encode())
    assert st == 200, (st, body)


def test_three_upstreams_one_follower(t):
    with contextlib.ExitStack() as stack:
        ups = [stack.enter_context(Agent(env=env, expect=("http", "exporter", "otlp", "ops"))) for env in PODS]
        args = []
        for u in ups:
            args += ["--follow", exporter_url(u)]
        f = stack.enter_context(Agent(args=args))
        # Interleaved sends: several chunks per upstream, some with several records.
        for i in range(12):
            for k, u in enumerate(ups):
                body = [{"up": k, "i": i, "j": j} for j in range(1 + i % 3)]
                st, _, _ = post_json(u, "/app.%d" % k, body if len(body) > 1 else body[0])
                assert st == 201
        post_json(f, "/own", {"own": True})
        want = sum(1 + i % 3 for i in range(12))
        for u in ups:
            wait_until(lambda u=u: len(followed_records(f, instance(u))) >= want, what="records of %s" % instance(u))
        chunks = v1_chunks(f)
        for k, u in enumerate(ups):
            uinfo = info(u)
            mine = [(l, c) for l, c in chunks if c.get("source", {}).get("instance") == instance(u)]
            recs = [r[1] for _, c in mine for r in c["records"]]
            t.eq(len(recs), want, "upstream %d: every record exactly once" % k)
            order = [(r["i"], r["j"]) for r in recs]
            t.eq(order, sorted(order), "upstream %d: in the upstream's order" % k)
            src = mine[0][1]["source"]
            expect = {"instance": instance(u), "boot_id": uinfo["boot_id"]}
            if PODS[k]:
                expect.update(pod=PODS[k]["POD_NAME"], namespace=PODS[k]["POD_NAMESPACE"], node=PODS[k]["NODE_NAME"])
            t.eq(src, expect, "upstream %d: source object (instance, boot_id, pod/namespace/node when known)" % k)
            t.ok(all(c["source"] == src for _, c in mine), "upstream %d: every chunk carries it" % k)
            theirs = [l for l, _ in v1_chunks(u)]
            t.eq([records_part(l) for l, _ in mine], [records_part(l) for l in theirs],
                 "upstream %d: records byte for byte (v1)" % k)
            t.eq([(c["source_type"], c["source_name"], c["tag"]) for _, c in mine],
                 [(c["source_type"], c["source_name"], c["tag"]) for _, c in v1_chunks(u)],
                 "upstream %d: source_type, source_name and tag kept" % k)
            legacy = [l for l in legacy_lines(f) if l[0][1].get("_source", {}).get("instance") == instance(u)]
            t.ok(len(legacy) == want and all(l[0][1]["_tag"] == "app.%d" % k and l[0][1]["_source"] == src for l in legacy),
                 "upstream %d: legacy /logs has _source beside _tag in each record's metadata" % k,
                 legacy[:2])
            s = sources(f)[instance(u)]
            t.ok(s["state"] == "following" and s["records"] == want and s["errors"] == 0 and s["lag_chunks"] == 0,
                 "upstream %d: listed in /api/v1/info sources, following, caught up" % k, s)
            t.eq(follow_metric(f, "vivo_follow_records_total", instance(u)), float(want),
                 "upstream %d: vivo_follow_records_total" % k)
        own = [c for _, c in chunks if "source" not in c]
        t.ok(len(own) == 1 and own[0]["records"][0][1] == {"own": True}, "the follower's own record has no source")
        local = [c for _, c in v1_chunks(f, query="?origin=local")]
        t.eq([c["records"][0][1] for c in local], [{"own": True}], "origin=local: only what the follower took in itself")
        env = [c for _, c in v1_chunks(f, query="?envelope=1&limit=3")]
        t.ok(all("id" in c and ("local_seq" in c) == ("source" not in c) for c in env),
             "envelope=1: ids; local_seq only on local chunks", env[:1])


def test_traces_and_metrics_join(t):
    trace = "5b8efff798038103d269b633813fc60c"
    with Agent(env=PODS[0], expect=("otlp", "exporter", "ops")) as a, \
         Agent(env=PODS[1], expect=("otlp", "exporter", "ops")) as b:
        with Agent(args=["--follow", exporter_url(a), "--follow", exporter_url(b)]) as f:
            post_otlp(a, "traces", otlp_span(trace, "eee19b7ec3c1b174", "", "GET /cart", "frontend", 1700000000000000000))
            post_otlp(b, "traces", otlp_span(trace, "a1b2c3d4e5f60718", "eee19b7ec3c1b174", "SELECT cart", "cart", 1700000000001000000))
            with open(os.path.join(FIXTURES_OTLP, "otlp_metrics_json", sorted(os.listdir(os.path.join(FIXTURES_OTLP, "otlp_metrics_json")))[-1])) as fh:
                metrics_body = fh.read()
            st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json",
                            "http://127.0.0.1:%d/v1/metrics" % a.ports["otlp"], data=metrics_body.encode())
            lines = wait_until(lambda: [json.loads(l) for l in get(f.url("exporter", "/api/v1/traces"))[1].decode().splitlines()]
                               if len(get(f.url("exporter", "/api/v1/traces"))[1].decode().splitlines()) >= 2 else None,
                               what="both spans on the follower")
            by = {l["source"]["pod"]: l for l in lines}
            t.ok(set(by) == {"web-0", "web-1"} and
                 by["web-0"]["resourceSpans"][0]["scope_spans"][0]["spans"][0]["trace_id"] == trace and
                 by["web-1"]["resourceSpans"][0]["scope_spans"][0]["spans"][0]["parent_span_id"] == "eee19b7ec3c1b174",
                 "spans of one trace from two upstreams, each line with its source", lines)
            _, legacy = get(f.url("exporter", "/traces"))
            _, ua = get(a.url("exporter", "/traces"))
            t.ok(ua.decode() in legacy.decode(), "legacy /traces: the upstream's line unchanged")
            if st == 200:
                m = wait_until(lambda: v1_chunks(f, "metrics"), what="metrics on the follower")
                _, um = get(a.url("exporter", "/metrics"))
                _, fm = get(f.url("exporter", "/metrics"))
                t.ok(m[0][1]["source"]["pod"] == "web-0" and fm == um,
                     "metrics: v1 lines carry the source, legacy /metrics is the upstream's bytes", m[0][0][:200])
            else:
                t.ok(False, "the OTLP metrics fixture was accepted", st)


def test_follower_self(t):
    port = free_port()
    with Agent(args=["--exporter-port", str(port), "--follow", "http://127.0.0.1:%d" % port]) as a:
        s = wait_until(lambda: sources(a).get("127.0.0.1:%d" % port, {}).get("state") == "self" and sources(a),
                       what="state self")
        post_json(a, "/x", {"once": 1})
        wait_until(lambda: len(v1_chunks(a)) >= 1)
        t.ok(len(v1_chunks(a)) == 1 and "is this agent" in a.log(), "an agent never follows itself (same boot_id)",
             s)


MESH = """pipeline:
  inputs:
    - name: http
      port: 0
%s  outputs:
    - name: vivo_exporter
      port: 0
"""

MESH_CLASSIC = """[INPUT]
    name http
    port 0
%s
[OUTPUT]
    name vivo_exporter
    port 0
"""


def mesh_follow(others, linger, classic):
    if classic:
        return "[INPUT]\n    name vivo\n%s    linger %s\n    refresh 1\n" % (
            "".join("    follow %s\n" % exporter_url(o) for o in others), linger)
    return "    - name: vivo\n      follow: [%s]\n      linger: %s\n" % (", ".join(exporter_url(o) for o in others), linger)


def test_replica_mesh(t):
    with contextlib.ExitStack() as stack:
        peers = [stack.enter_context(Agent(config=(MESH_CLASSIC if k == 2 else MESH) % "", expect=("http", "exporter", "ops")))
                 for k in range(3)]

        def reconfigure(linger):
            for k, p in enumerate(peers):
                others = [o for o in peers if o is not p]
                with open(p.config_path, "w") as fh:
                    fh.write((MESH_CLASSIC if k == 2 else MESH) % mesh_follow(others, linger, k == 2))
                p.signal(signal.SIGHUP)
            for p in peers:
                wait_until(lambda p=p: len([s for s in sources(p).values() if s["state"] == "following"]) == 2,
                           what="two peers followed")

        reconfigure("0.02")
        for i in range(5):
            for k, p in enumerate(peers):
                post_json(p, "/peer%d" % k, {"peer": k, "i": i})
        total = 15

        def all_seen(p):
            return sorted((r[1]["peer"], r[1]["i"]) for _, c in v1_chunks(p) for r in c["records"])

        want = sorted((k, i) for k in range(3) for i in range(5))
        for k, p in enumerate(peers):
            wait_until(lambda p=p: len(all_seen(p)) >= total, what="peer %d sees all" % k)
        # A reload that changes the follow settings must not fetch anything twice.
        reconfigure("0.05")
        for k, p in enumerate(peers):
            post_json(p, "/peer%d" % k, {"peer": k, "i": 5})
        want += [(k, 5) for k in range(3)]
        for k, p in enumerate(peers):
            wait_until(lambda p=p: len(all_seen(p)) >= 18, what="peer %d sees the late records" % k)
        for k, p in enumerate(peers):
            got = all_seen(p)
            t.eq(got, sorted(want), "peer %d shows every record of the three exactly once" % k)
            own = [c for _, c in v1_chunks(p, query="?origin=local")]
            t.ok(all(c["records"][0][1]["peer"] == k for c in own) and len(own) == 6,
                 "peer %d: origin=local serves only its own records" % k)
            t.ok(all(c["source"]["instance"] != instance(p) for _, c in v1_chunks(p) if "source" in c),
                 "peer %d: nothing of its own came back through the others" % k)


if __name__ == "__main__":
    run([test_three_upstreams_one_follower, test_traces_and_metrics_join, test_follower_self, test_replica_mesh])
