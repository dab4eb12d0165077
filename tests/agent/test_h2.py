#!/usr/bin/python3
# test_h2.py: HTTP/2 (h2c with prior knowledge or by Upgrade, and h2 over TLS) on every HTTP port: Fluent Bit's opentelemetry output with `http2 on` replayed byte for byte (its connection reuse too) stores what the HTTP/1.1 equivalents store; the exporter, UI and http input answer over h2 as over HTTP/1.1; long-polls hold one stream; curl is a second real client.
import glob
import json
import os
import subprocess
import time

import h2lib
from hostilelib import raw
from agentlib import FIXTURES, Agent, curl, run, tls_input
from test_otlp_fixtures import Reader, check

SIGNAL_PATH = {"logs": "/v1/logs", "metrics": "/v1/metrics", "traces": "/v1/traces"}


def h2c_fixtures(kind="h2c"):
    """(name, signal, captured connection bytes, body as sent, decoded sidecar) per request."""
    out = []
    for cap in sorted(glob.glob(os.path.join(FIXTURES, "otlp-*-%s-[0-9][0-9].h2" % kind))):
        base = cap[:-3]
        body_file = base + (".grpc" if kind.startswith("grpc") else ".pb")
        if not os.path.exists(body_file):
            body_file += ".zst"
        with open(cap, "rb") as f:
            capture = f.read()
        with open(body_file, "rb") as f:
            body = f.read()
        with open(base + ".json") as f:
            side = json.load(f)
        signal = os.path.basename(base).split("-")[1]
        out.append((os.path.basename(base), signal, capture, body, side["decoded"]))
    return out


def chunk_text(a, stream, n, v1=False):
    _, _, body = curl(a.url("exporter", "%s/%s?from=%d&to=%d" % ("/api/v1" if v1 else "", stream, n, n)))
    return body


def zstd_supported(a):
    """Whether this build takes Content-Encoding: zstd (415 when it does not; a broken frame
    gets 400 when it does, and stores nothing)."""
    st, _, _ = curl("-XPOST", "-H", "Content-Type: application/x-protobuf", "-H", "Content-Encoding: zstd",
                    a.url("otlp", "/v1/logs"), data=b"\x28\xb5\x2f\xfd")
    return st != 415


def same_as_http1(t, a, r, name, signal, body, headers):
    """The chunk the replay stored, then the same body over HTTP/1.1: identical on the exporter."""
    n = r.next[signal] - 1
    args = ["-XPOST", "-H", "Content-Type: application/x-protobuf", "-H", "Expect:"]
    for k, v in headers.items():
        args += ["-H", "%s: %s" % (k, v)]
    st, _, _ = curl(*args, a.url("otlp", SIGNAL_PATH[signal]), data=body)
    r.next[signal] += 1
    same = chunk_text(a, signal, n) == chunk_text(a, signal, n + 1) and st == 200
    if signal == "logs":
        same = same and chunk_text(a, signal, n, True) == chunk_text(a, signal, n + 1, True)
    t.ok(same, "%s: served exactly as the same body over HTTP/1.1" % name,
         (chunk_text(a, signal, n)[:300], chunk_text(a, signal, n + 1)[:300]))


def test_fixtures(t):
    fx = h2c_fixtures("h2c") + h2c_fixtures("h2c-zstd")
    t.ok(len(fx) >= 8, "found the otlp-*-h2c-* captures (%d)" % len(fx))
    with Agent(expect=("otlp", "exporter")) as a:
        r = Reader(a)
        zstd = zstd_supported(a)
        for name, signal, capture, body, decoded in fx:
            if name.endswith("zstd-01") and not zstd:
                t.skip("%s replayed" % name, "this build has no Content-Encoding zstd yet (issue 12 point 3)")
                continue
            res = h2lib.replay(a.ports["otlp"], capture)
            first = res[0]
            t.ok(first["settings"], "%s: the agent's SETTINGS came right after the client preface" % name)
            t.ok(first["headers"].get(":status") == "200" and first["data"] == b"" and not first["trailers"],
                 "%s: 200 with no body, what Fluent Bit took as success" % name, first["headers"])
            if len(res) > 1:
                t.ok(all(s["settings"] for s in res[1:]),
                     "%s: the second client preface on the connection got a new session's SETTINGS" % name)
            check(t, r, name, SIGNAL_PATH[signal], decoded, "h2c")
            same_as_http1(t, a, r, name, signal, body,
                          {"Content-Encoding": "zstd"} if name.endswith("zstd-01") else {})


def reuse_sidecars(kind):
    out = []
    for i in (1, 2, 3):
        base = os.path.join(FIXTURES, "otlp-logs-dummy-%s-reuse-%02d" % (kind, i))
        with open(base + ".json") as f:
            out.append(json.load(f)["decoded"])
    return out


def test_reuse(t):
    """Fluent Bit keeps its first HTTP/2 connection and starts a new session on it per flush."""
    with open(os.path.join(FIXTURES, "otlp-logs-dummy-h2c-reuse-conn.h2"), "rb") as f:
        capture = f.read()
    decoded = reuse_sidecars("h2c")
    with Agent(expect=("otlp", "exporter")) as a:
        res = h2lib.replay(a.ports["otlp"], capture)
        t.eq([s["headers"].get(":status") for s in res], ["200", "200", "200"],
             "three sessions on one connection: each flush answered 200")
        t.ok(all(s["settings"] for s in res), "each new preface got the agent's SETTINGS at once")
        r = Reader(a)
        for i, d in enumerate(decoded):
            check(t, r, "reuse session %d" % (i + 1), "/v1/logs", d, "h2c")
        _, h, _ = curl(a.url("exporter", "/logs"))
        t.eq(h.get("vivo-stream-next-id"), "3", "three chunks")
        n = len(curl(a.url("exporter", "/logs"))[2].splitlines())
        t.eq(n, 10, "every one of the 10 dummy records arrived")
    # The same bytes in one write (no waiting for answers): still three sessions, nothing lost.
    with Agent(expect=("otlp", "exporter")) as a:
        w = h2lib.Wire(a.ports["otlp"])
        w.send(capture)
        frames = w.read(timeout=2)
        got = [f for f in frames if f["type"] == h2lib.HEADERS]
        w.close()
        t.eq(len(got), 3, "the whole connection sent at once: three answers")
        n = len(curl(a.url("exporter", "/logs"))[2].splitlines())
        t.eq(n, 10, "and the 10 records")
    # A preface while a request is still open cannot start a new session: GOAWAY, close;
    # the client retries on a new connection and the record is stored once.
    sessions = h2lib.sessions_of(capture)
    with Agent(expect=("otlp", "exporter")) as a:
        w = h2lib.Wire(a.ports["otlp"])
        # SETTINGS, its ACK and the HEADERS (no END_STREAM: the DATA frame that ends it is held back).
        w.send(h2lib.PREFACE + b"".join(sessions[0][:3]) + h2lib.PREFACE + sessions[1][0])
        frames = w.read(lambda f: f["type"] == h2lib.GOAWAY)
        goaway = [f for f in frames if f["type"] == h2lib.GOAWAY]
        t.ok(goaway and int.from_bytes(goaway[0]["payload"][4:8], "big") == 1,
             "a preface with a stream open: GOAWAY(PROTOCOL_ERROR)", frames[-3:])
        t.ok(w.closed(), "and the connection is closed")
        w.close()
        res = h2lib.replay(a.ports["otlp"], h2lib.PREFACE + b"".join(sessions[0]))
        t.eq(res[0]["headers"].get(":status"), "200", "the retry on a new connection: 200")
        n = len(curl(a.url("exporter", "/logs"))[2].splitlines())
        t.eq(n, 2, "its 2 records stored once")
        t.ok("new HTTP/2 preface from 127.0.0.1:" in a.log(), "the refusal is logged with the peer address", a.log()[-800:])


def test_exporter_ui(t):
    with Agent(args=["--cors-allow-origin", "*"]) as a:
        curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/app.one"), data=b'{"n":1}')
        c = h2lib.Client(a.ports["exporter"])
        st, h1, b1 = curl(a.url("exporter", "/logs"))
        r = c.get("/logs")
        t.ok(r.status == 200 and r.data == b1, "GET /logs over h2: the same body as HTTP/1.1", r)
        t.eq([r.headers.get(k) for k in ("vivo-stream-start-id", "vivo-stream-end-id", "vivo-stream-next-id",
                                          "content-type", "access-control-allow-origin")],
             [h1.get(k) for k in ("vivo-stream-start-id", "vivo-stream-end-id", "vivo-stream-next-id",
                                  "content-type", "access-control-allow-origin")],
             "the Vivo-Stream-* and CORS headers too")
        r = c.wait(c.request("HEAD", "/logs"))
        t.ok(r.status == 200 and r.data == b"" and r.headers.get("vivo-stream-next-id") == "1", "HEAD: headers only", r)
        r = c.get("/api/v1/logs", [("accept-encoding", "gzip")])
        import gzip
        t.ok(r.headers.get("content-encoding") == "gzip" and json.loads(gzip.decompress(r.data))["tag"] == "app.one",
             "gzip on request", r)
        r = c.get("/nope")
        t.ok(r.status == 404 and json.loads(r.data).get("error"), "unknown path: 404 with a JSON error", r)
        r = c.wait(c.request("POST", "/logs"))
        t.ok(r.status == 405 and r.headers.get("allow") == "GET, HEAD, OPTIONS", "POST: 405 with Allow", r)
        r = c.get("/api/v1/info")
        t.ok(r.status == 200 and json.loads(r.data)["ports"]["otlp_grpc"] == a.ports["otlp_grpc"],
             "/api/v1/info names the otlp_grpc port", r.data[:200])
        t.ok(c.ping(), "a PING is answered")
        c.close()
        u = h2lib.Client(a.ports["ui"])
        r = u.get("/", [("accept-encoding", "gzip")])
        t.ok(r.status == 200 and r.headers.get("content-type", "").startswith("text/html") and r.data[:2] == b"\x1f\x8b",
             "the UI page over h2 on the UI port", r.headers)
        r = u.get("/api/v1/logs")
        t.ok(r.status == 200 and b"app.one" in r.data, "and the UI port's API mirror", r)
        u.close()
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                            a.url("ops", "/api/v1/health")], stdout=subprocess.PIPE, timeout=30)
        t.eq(p.stdout, b"2 200", "curl --http2-prior-knowledge on the ops port: HTTP/2 200")


def test_http_input(t):
    with Agent(config="pipeline:\n  inputs:\n    - name: http\n      buffer_max_size: 100K\n") as a:
        c = h2lib.Client(a.ports["http"])
        r = c.post("/web.access", b'[{"a":1},{"b":2}]', "application/json")
        t.eq(r.status, 201, "POST over h2: 201")
        body = curl(a.url("exporter", "/logs"))[2].decode()
        t.ok(body.count('"_tag":"web.access"') == 2, "two records tagged by the path", body)
        # Over the limit in the middle of a body: HTTP/2 answers 413 at once and resets the
        # stream (NO_ERROR); the connection carries on.
        sid = c.request("POST", "/big", [("content-type", "application/json")], b"", end=False)
        c.send_data(sid, b"[" + b" " * 150000, end=False)
        r = c.wait(sid)
        t.ok(r.status == 413 and b"limit" in r.data, "a body past buffer_max_size: 413 before its end", r)
        r = c.post("/after", b'{"c":3}', "application/json")
        t.eq(r.status, 201, "the same connection still serves requests")
        r = c.post("/x", b'{"c":', "application/json")
        t.ok(r.status == 400 and b"invalid JSON" in r.data, "invalid JSON: 400 with the reason", r)
        c.close()
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-H", "Content-Type: application/json",
                            "--data-binary", '{"via":"curl"}', "-w", "%{http_version} %{http_code}",
                            a.url("http", "/curl.h2")], stdout=subprocess.PIPE, timeout=30)
        t.eq(p.stdout, b"2 201", "curl --http2-prior-knowledge POST: HTTP/2 201")
        body = curl(a.url("exporter", "/logs"))[2].decode()
        t.ok('"via":"curl"' in body and body.count("\n") == 4, "every accepted request stored once", body)


def test_longpoll(t):
    """A held poll holds only its stream; the connection's other streams go on."""
    with Agent() as a:
        c = h2lib.Client(a.ports["exporter"])
        held = c.request("GET", "/logs?from=0&wait=10")
        t0 = time.time()
        r = c.get("/metrics")
        t.ok(r.status == 200 and time.time() - t0 < 2, "another stream answers while a poll is held")
        c.pump(0.3)
        t.ok(not c.streams[held].ended, "the poll is held")
        curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/poll"), data=b'{"x":1}')
        r = c.wait(held, 5)
        t.ok(r.status == 200 and b'"_tag":"poll"' in r.data and time.time() - t0 < 5,
             "the held poll answers when a chunk arrives (%.2f s)" % (time.time() - t0), r)
        # A poll whose stream is reset, and one whose connection goes away, while held.
        gone = c.request("GET", "/logs?from=5&wait=2")
        c.pump(0.2)
        c.c.reset_stream(gone)
        c.flush()
        d = h2lib.Client(a.ports["exporter"])
        d.request("GET", "/traces?from=0&wait=2")
        d.pump(0.2)
        d.s.close()
        time.sleep(2.5)
        r = c.get("/api/v1/info")
        t.ok(r.status == 200, "after they expire the agent serves on", r)
        c.request("GET", "/logs?from=9&wait=30")
        c.pump(0.3)
        t0 = time.time()
        log = a.log()
        rc = a.stop()
        t.ok(rc == 0 and time.time() - t0 < 8, "SIGTERM with a poll held on h2: exit 0 in %.1f s" % (time.time() - t0),
             log[-500:])
        c.close()


def curl_h2(*args):
    p = subprocess.run(["curl", "-s", "--http2", "-w", "\n%{http_version} %{http_code}"] + list(args),
                       stdout=subprocess.PIPE, timeout=30)
    body, _, tail = p.stdout.rpartition(b"\n")
    return tail.decode(), body


def test_h2c_upgrade(t):
    """HTTP/1.1 `Upgrade: h2c` (curl --http2 against http://): a request without a body is taken
    up as stream 1 of an HTTP/2 session; one with a body, or with settings that do not decode,
    is answered over HTTP/1.1 with the upgrade ignored."""
    with Agent() as a:
        curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/up.one"), data=b'{"n":1}')
        v, body = curl_h2(a.url("exporter", "/api/v1/info"))
        t.ok(v == "2 200" and json.loads(body)["ports"]["exporter"] == a.ports["exporter"],
             "curl --http2 GET: upgraded, HTTP/2 200 with the same answer", (v, body[:200]))
        v, body = curl_h2(a.url("exporter", "/logs"))
        t.eq((v, body), ("2 200", curl(a.url("exporter", "/logs"))[2]), "GET /logs upgraded: the HTTP/1.1 body")
        p = subprocess.run(["curl", "-s", "--http2", "-I", a.url("exporter", "/logs")], stdout=subprocess.PIPE, timeout=30)
        t.ok(p.stdout.startswith(b"HTTP/1.1 101") and b"HTTP/2 200" in p.stdout and b"vivo-stream-next-id: 1" in p.stdout,
             "HEAD upgraded: headers only", p.stdout)
        # A long-poll taken up: held on stream 1, answered when a chunk arrives.
        poll = subprocess.Popen(["curl", "-s", "--http2", "-w", "\n%{http_version} %{http_code}",
                                 a.url("exporter", "/logs?from=1&wait=10")], stdout=subprocess.PIPE)
        time.sleep(0.5)
        t0 = time.time()
        curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/up.two"), data=b'{"n":2}')
        out, _ = poll.communicate(timeout=15)
        t.ok(out.endswith(b"2 200") and b'"_tag":"up.two"' in out and time.time() - t0 < 5,
             "a long-poll taken up is held on stream 1 and answered when a chunk arrives", out)
        v, _ = curl_h2("-H", "Content-Type: application/json", "--data-binary", '{"n":3}', a.url("http", "/up.three"))
        t.eq(v, "1.1 201", "a POST with a body is answered over HTTP/1.1 (the upgrade ignored)")
        t.ok(b'"_tag":"up.three"' in curl(a.url("exporter", "/logs"))[2], "and stored")
        head = b"GET /api/v1/info HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        out = raw(a.ports["exporter"], head + b"HTTP2-Settings: !!!\r\nConnection: close\r\n\r\n")
        t.ok(out.startswith(b"HTTP/1.1 200"), "HTTP2-Settings that do not decode: served over HTTP/1.1", out[:120])
        out = raw(a.ports["exporter"], head + b"Connection: close\r\n\r\n")
        t.ok(out.startswith(b"HTTP/1.1 200"), "no HTTP2-Settings header: served over HTTP/1.1", out[:120])
        out = raw(a.ports["exporter"], head + b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
                           b"this is not the HTTP/2 client preface", timeout=3)
        t.ok(out.startswith(b"HTTP/1.1 101") and b"\x00\x00" in out[60:],
             "after the 101, a client that sends no preface gets the server's SETTINGS and is closed", out[:120])
        v, _ = curl_h2(a.url("exporter", "/api/v1/info"))
        t.eq(v, "2 200", "the agent serves on")


def test_tls(t):
    with open(os.path.join(FIXTURES, "otlp-logs-otlpjson-01.pb"), "rb") as f:
        pb = f.read()
    with tls_input("opentelemetry") as (crt, key, conf):
        with Agent(config=conf, expect=("otlp", "otlp_grpc", "exporter")) as a:
            c = h2lib.Client(a.ports["otlp"], tls=True)
            r = c.post("/v1/logs", pb, "application/x-protobuf")
            t.ok(r.status == 200, "h2 over TLS (ALPN h2): OTLP/HTTP protobuf 200", r)
            c.close()
            for flag, want in (("--http1.1", b"1.1 200"), ("--http2", b"2 200")):
                p = subprocess.run(["curl", "-s", flag, "--cacert", crt, "-H", "Content-Type: application/x-protobuf",
                                    "--data-binary", "@" + os.path.join(FIXTURES, "otlp-logs-otlpjson-01.pb"),
                                    "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                                    "https://localhost:%d/v1/logs" % a.ports["otlp"]], stdout=subprocess.PIPE, timeout=30)
                t.eq(p.stdout, want, "curl %s over TLS: %s" % (flag, want.decode()))
            plain = h2lib.Wire(a.ports["otlp"])
            plain.send(h2lib.PREFACE)
            t.ok(plain.closed(), "plain h2c on the TLS port: closed")
            plain.close()
            t.ok(any(w in a.log() for w in ("TLS handshake with 127.0.0.1:", "TLS handshake")),
                 "logged as a TLS handshake failure with the peer")
            n = len(curl(a.url("exporter", "/logs"))[2].splitlines())
            t.eq(n, 6, "the three TLS requests stored (2 records each)")


if __name__ == "__main__":
    run([test_fixtures, test_reuse, test_exporter_ui, test_http_input, test_longpoll, test_h2c_upgrade, test_tls])
