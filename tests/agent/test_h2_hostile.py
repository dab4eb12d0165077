#!/usr/bin/python3
# test_h2_hostile.py: hostile HTTP/2 and gRPC peers (raw frames): rapid reset (CVE-2023-44487), CONTINUATION and SETTINGS floods, a 4 GB gRPC length prefix, streams past the limits, oversize header lists, bodies past the process-wide budget: each costs its own connection at most, the agent stays up, serves another client meanwhile and its memory stays bounded.
import os
import struct
import threading
import time

import h2lib
import otlp_ref
from agentlib import Agent, curl, run
from hostilelib import agent_env

ENHANCE_YOUR_CALM, PROTOCOL_ERROR, INTERNAL_ERROR, CANCEL, NO_ERROR = 0xB, 0x1, 0x2, 0x8, 0x0
GOOD = otlp_ref.to_protobuf({"resource_logs": [{"scope_logs": [{"log_records": [
    {"time_unix_nano": 1700000000000000000, "body": {"string_value": "fine"}}]}]}]}, "LogsReq")


class Bystander(threading.Thread):
    """Another client exporting over gRPC all along: it must never be refused."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.ok, self.bad, self.stop = port, 0, [], threading.Event()

    def run(self):
        c = h2lib.Client(self.port)
        while not self.stop.is_set():
            r = c.grpc("logs", GOOD)
            if r.grpc_status() == (0, None):
                self.ok += 1
            else:
                self.bad.append(r)
            time.sleep(0.02)
        c.close()

    def finish(self):
        self.stop.set()
        self.join(30)
        return self.ok, self.bad


def goaway_code(frames):
    g = [f for f in frames if f["type"] == h2lib.GOAWAY]
    return int.from_bytes(g[-1]["payload"][4:8], "big") if g else None


def attack(t, a, name, payload_fn, want_codes, port="otlp_grpc"):
    """Run one attack on its own connection while a bystander exports; the attacker must get
    a GOAWAY (one of want_codes) and be closed; the bystander and the agent carry on."""
    b = Bystander(a.ports[port])
    b.start()
    time.sleep(0.2)
    w = h2lib.Raw(a.ports[port])
    t0 = time.time()
    try:
        payload_fn(w)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the agent closed the connection while the attacker was still writing
    frames = w.read(lambda f: f["type"] == h2lib.GOAWAY, timeout=10)
    code = goaway_code(frames)
    t.ok(code in want_codes, "%s: GOAWAY %s (%.2f s)" % (name, code, time.time() - t0), frames[-3:])
    t.ok(w.closed(5), "%s: the attacker's connection is closed" % name)
    w.close()
    ok, bad = b.finish()
    t.ok(ok > 0 and not bad, "%s: another client exported %d times meanwhile, never refused" % (name, ok), bad[:2])
    st, _, _ = curl(a.url("ops", "/api/v1/health"))
    t.eq(st, 200, "%s: the agent is up" % name)


def test_rapid_reset(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        def flood(w):
            for batch in range(40):
                out = []
                for i in range(100):
                    sid = 1 + 2 * (batch * 100 + i)
                    out.append(h2lib.frame(h2lib.HEADERS, h2lib.END_HEADERS, sid, w.block(
                        "POST", h2lib.GRPC_PATHS["logs"], [("content-type", "application/grpc")])))
                    out.append(h2lib.frame(h2lib.RST_STREAM, 0, sid, struct.pack(">I", CANCEL)))
                w.send(b"".join(out))
        # Vivo's own frame budget, or nghttp2's reset rate limit (INTERNAL_ERROR), whichever first.
        attack(t, a, "rapid reset (4000 HEADERS + RST_STREAM)", flood, (ENHANCE_YOUR_CALM, INTERNAL_ERROR))
        t.ok("GOAWAY(" in a.log() and "to 127.0.0.1:" in a.log(), "the GOAWAY is logged with the peer address",
             a.log()[-600:])


def test_continuation_flood(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        def flood(w):
            first = w.block("POST", h2lib.GRPC_PATHS["logs"], [("content-type", "application/grpc")])
            w.send(h2lib.frame(h2lib.HEADERS, 0, 1, first))
            one = h2lib.frame(h2lib.CONTINUATION, 0, 1, b"\x40\x03x-a\x04aaaa")  # literal, new name
            for _ in range(50):
                w.send(one * 200)
        attack(t, a, "CONTINUATION flood (10000 frames, no END_HEADERS)", flood, (ENHANCE_YOUR_CALM,))


def test_settings_flood(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        def flood(w):
            one = h2lib.frame(h2lib.SETTINGS, 0, 0, struct.pack(">HI", 4, 65535))
            for _ in range(40):
                w.send(one * 500)
        attack(t, a, "SETTINGS flood (20000 frames)", flood, (ENHANCE_YOUR_CALM,))

        def pings(w):
            for _ in range(40):
                w.send(h2lib.frame(h2lib.PING, 0, 0, b"12345678") * 500)
        attack(t, a, "PING flood (20000 frames)", pings, (ENHANCE_YOUR_CALM,))


def test_length_prefix_4gb(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        w = h2lib.Raw(a.ports["otlp_grpc"])
        before = a.rss_kb()
        w.grpc_headers(1, "logs")
        w.data(1, b"\x00\xff\xff\xff\xff" + b"x" * 1000)
        frames = w.until_end(1)
        code, msg = h2lib.grpc_status_of(frames)
        t.ok(code == 8 and "limit" in (msg or ""), "a 4 GB length prefix: RESOURCE_EXHAUSTED before the rest is sent",
             frames)
        t.ok(any(f["type"] == h2lib.RST_STREAM and f["sid"] == 1 for f in w.read(timeout=1) + frames),
             "and the stream is reset, so the client stops sending")
        w.grpc_headers(3, "logs")
        w.data(3, h2lib.grpc_frame(GOOD), end=True)
        t.eq(h2lib.grpc_status_of(w.until_end(3)), (0, None), "the same connection then exports fine")
        t.ok(a.rss_kb() - before < 20000, "no memory was set aside for the announced 4 GB (%d kB)" % (a.rss_kb() - before))
        w.close()


def test_stream_limits(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        # MAX_CONCURRENT_STREAMS (100) is in the SETTINGS the client acknowledged: one more
        # open stream is a protocol error of that connection (nghttp2's verdict).
        def past(w):
            for i in range(150):
                w.grpc_headers(1 + 2 * i, "logs")
        attack(t, a, "150 open streams, over MAX_CONCURRENT_STREAMS 100", past, (PROTOCOL_ERROR,))
        w = h2lib.Raw(a.ports["otlp_grpc"])
        for i in range(100):
            w.grpc_headers(1 + 2 * i, "logs")
        for i in range(100):
            w.data(1 + 2 * i, h2lib.grpc_frame(GOOD), end=True)
        frames = w.read(lambda f: False, timeout=5)
        done = sum(1 for f in frames if f["type"] == h2lib.HEADERS and f["headers"].get("grpc-status") == "0")
        t.eq(done, 100, "100 streams open at once (the limit): all complete")
        w.close()
        _, h, _ = curl(a.url("exporter", "/logs?from=999999"))
        t.ok(int(h["vivo-stream-next-id"]) >= 100, "their chunks are stored")
        # A cap on streams per connection: after 10000, GOAWAY(NO_ERROR); the client reconnects.
        w = h2lib.Raw(a.ports["ops"])
        t0 = time.time()
        sid, last = 1, None
        while sid < 2 * 10050 and time.time() - t0 < 120:
            batch = b"".join(h2lib.frame(h2lib.HEADERS, h2lib.END_HEADERS | h2lib.END_STREAM, sid + 2 * i,
                                         w.block("GET", "/api/v1/uptime")) for i in range(90))
            try:
                w.send(batch)
            except (BrokenPipeError, ConnectionResetError):
                break
            frames = w.read(lambda f: f["type"] == h2lib.GOAWAY or (f["sid"] == sid + 178 and f["flags"] & h2lib.END_STREAM),
                            timeout=10)
            g = [f for f in frames if f["type"] == h2lib.GOAWAY]
            if g:
                last = (int.from_bytes(g[0]["payload"][:4], "big"), goaway_code(g))
                break
            sid += 180
        t.eq(last, (19999, NO_ERROR), "stream 10000 is the last of a connection: GOAWAY(NO_ERROR, last 19999) "
             "(%.1f s)" % (time.time() - t0))
        w.close()
        st, _, _ = curl(a.url("ops", "/api/v1/health"))
        t.eq(st, 200, "a new connection is served")


def test_header_list(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        w = h2lib.Raw(a.ports["otlp_grpc"])
        # Five fields of 18 kB (one field over 64 kB is nghttp2's COMPRESSION_ERROR for the
        # whole connection; the list limit is Vivo's, per stream).
        block = w.block("POST", h2lib.GRPC_PATHS["logs"],
                        [("content-type", "application/grpc")] + [("x-big-%d" % i, "v" * 18000) for i in range(5)])
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        out = h2lib.frame(h2lib.HEADERS, 0, 1, chunks[0])
        for i, c in enumerate(chunks[1:]):
            out += h2lib.frame(h2lib.CONTINUATION, h2lib.END_HEADERS if i == len(chunks) - 2 else 0, 1, c)
        w.send(out)
        frames = w.until_end(1)
        t.ok(any(f["type"] == h2lib.RST_STREAM and f["sid"] == 1 for f in frames),
             "a 90 kB header list (limit 64 kB): that stream is reset", frames)
        w.grpc_headers(3, "logs")
        w.data(3, h2lib.grpc_frame(GOOD), end=True)
        t.eq(h2lib.grpc_status_of(w.until_end(3)), (0, None), "the connection carries on")
        w.close()
        t.ok("header list from 127.0.0.1:" in a.log(), "logged with the peer address")


def test_garbage(t):
    with Agent(expect=("otlp_grpc", "exporter", "ops")) as a:
        w = h2lib.Wire(a.ports["otlp"])
        w.send(h2lib.PREFACE + os.urandom(4000))
        frames = w.read(lambda f: f["type"] == h2lib.GOAWAY, timeout=5)
        t.ok(goaway_code(frames) is not None and w.closed(), "random bytes after the preface: GOAWAY and closed",
             frames[-2:])
        w.close()
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/x-protobuf", a.url("otlp", "/v1/logs"), data=GOOD)
        t.eq(st, 200, "HTTP/1.1 on the same port still works")


def test_body_budget(t):
    """Uploads past the process-wide 32 MB budget get 503 (gRPC UNAVAILABLE) at once on h2."""
    # A refused body is freed at once (its budget given back): under ASan that memory sits in
    # the quarantine, so the agent runs with a small one and RSS measures the agent.
    with Agent(expect=("otlp", "otlp_grpc", "exporter", "ops"), env=agent_env()) as a:
        before = a.rss_kb()
        clients, sids, answers = [], [], []
        body = b"\x00" + struct.pack(">I", 3900000) + b"\x0a" * 3500000
        for i in range(3):
            c = h2lib.Client(a.ports["otlp_grpc"])
            for _ in range(5):
                sid = c.request("POST", h2lib.GRPC_PATHS["logs"], [("content-type", "application/grpc")], b"", end=False)
                c.send_data(sid, body, end=False)
                sids.append((c, sid))
            clients.append(c)
        for c in clients:
            c.pump(0.5)
        for c, sid in sids:
            answers.append(c.streams[sid].grpc_status()[0])
        refused = answers.count(14)
        t.ok(refused >= 5 and answers.count(None) + refused == 15,
             "15 uploads of 3.5 MB held open: %d refused UNAVAILABLE at once, the rest still open" % refused, answers)
        t.ok("request bodies in flight" in a.log(), "the refusals are logged", a.log()[-400:])
        grown = a.rss_kb() - before
        t.ok(grown < 120000, "memory grew by %d kB: within the 32 MB body budget plus allocator slack" % grown)
        for c in clients:
            c.close()
        time.sleep(0.5)
        c = h2lib.Client(a.ports["otlp_grpc"])
        t.eq(c.grpc("logs", GOOD).grpc_status(), (0, None), "once they are gone, exports are accepted again")
        c.close()


if __name__ == "__main__":
    run([test_rapid_reset, test_continuation_flood, test_settings_flood, test_length_prefix_4gb, test_stream_limits,
         test_header_list, test_garbage, test_body_budget])
