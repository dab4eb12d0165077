#!/usr/bin/python3
# test_hostile_requests.py: hostile requests (issue 15, items 4-7, 9, 10): stalled uploads that must not take the body budget (408 after the minimum rate, good posts keep getting 201), queries of any number of parameters up to the target limit (414 past it), NUL bytes (400), malformed and duplicated Content-Length (one clean 400), refusals logged once per address and reason and counted by reason (415, remote write and HTTP/2 on the wrong port, Content-Type), and SIGTERM finishing uploads (HTTP, remote write) and Forward frames half sent, every HTTP input refusing new connections at once; a good client on the same agent is answered within 1 s throughout.
import json
import signal
import socket
import time

import fwdlib
import h2lib
import promrw
from agentlib import Agent, curl, run
from hostilelib import (GoodClient, agent_env, check_good, connect, count_answers, errors, good_client, raise_nofile, raw,
                        refusal_lines, status_lines)

RSS_SLACK_KB = 64 * 1024  # stated bound: RSS within 64 MB of before (ASan build, quarantine at 16 MB)
POST_HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


def test_stalled_uploads(t):
    """50 uploads send 900 KB of a 4 MB body and stall: good posts keep getting 201; after the
    stall limit each stalled one gets 408 and its share of the budget back."""
    raise_nofile()
    with Agent(env=agent_env()) as a:
        before = a.rss_kb()
        stalled = []
        for i in range(50):
            s = connect(a.ports["http"], ("127.0.20.%d" % (i + 1), 0))
            s.sendall(POST_HEAD % 4000000 + b" " * 900000)
            stalled.append(s)
        h2 = h2lib.Client(a.ports["http"])
        sid = h2.request("POST", "/h2stall", [("content-type", "application/json")], b"", end=False)
        h2.send_data(sid, b" " * 100000, end=False)
        h2.pump(0.2)
        g = GoodClient(a)
        g.start()
        time.sleep(12)  # past HTTPD_BODY_STALL (10 s)
        g.finish()
        got = count_answers(stalled, b"HTTP/1.1 408", 2)
        for s in stalled:
            s.close()
        t.eq(got, 50, "every stalled HTTP/1.1 upload got 408")
        st = h2.wait(sid, 3)
        t.eq(st.status, 408, "the stalled HTTP/2 upload got 408")
        h2.close()
        check_good(t, g, "50 stalled uploads")
        t.eq(errors(a, "http.1", "timeout"), 51.0, "counted: errors_total{name=http.1,reason=timeout}")
        lines = refusal_lines(a, "http.1", "timeout")
        t.ok(len(lines) == 51 and "127.0.20.7:" in " ".join(lines), "logged once per address (%d lines)" % len(lines), lines[:2])
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/big"),
                        data=json.dumps({"x": "y" * 3000000}).encode())
        t.eq(st, 201, "their budget is back: a 3 MB upload is taken")
        t.ok(a.rss_kb() - before < RSS_SLACK_KB, "RSS within 64 MB of before (%+d kB)" % (a.rss_kb() - before))


def test_query_and_target(t):
    with Agent(env=agent_env()) as a, good_client(t, a, "query limits"):
        ex = a.ports["exporter"]
        for n in (450, 500, 1000):
            q = "&".join("a%d=1" % i for i in range(n))
            r = raw(ex, b"GET /logs?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % q.encode())
            t.ok(r.startswith(b"HTTP/1.1 200"), "%d parameters (%d bytes): 200" % (n, len(q)), r[:100])
        q = "&".join("a%d=1" % i for i in range(2000))
        r = raw(ex, b"GET /logs?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q.encode())
        t.ok(r.startswith(b"HTTP/1.1 414") and b"8192 bytes" in r and status_lines(r) == 1,
             "2000 parameters (%d bytes, over the 8,192-byte target): 414 with the reason" % len(q), r[:300])
        r = raw(ex, b"GET /logs?from=1%00junk HTTP/1.1\r\nHost: x\r\n\r\n")
        t.ok(r.startswith(b"HTTP/1.1 400") and b"'from' holds a NUL byte" in r, "%00 in a value: 400 naming the parameter", r[:300])
        r = raw(ex, b"GET /logs%00junk HTTP/1.1\r\nHost: x\r\n\r\n")
        t.ok(r.startswith(b"HTTP/1.1 400") and b"NUL" in r, "%00 in the path: 400", r[:300])
        c = h2lib.Client(ex)
        st = c.get("/logs?from=1%00x")
        t.ok(st.status == 400 and b"NUL" in st.data, "over HTTP/2 too", st)
        c.close()
        t.ok(refusal_lines(a, "exporter", "bad_request"), "the refusals are logged")


def test_content_length(t):
    with Agent(env=agent_env()) as a, good_client(t, a, "Content-Length"):
        hp = a.ports["http"]
        for cl, want in (("18446744073709551616", b"413"), ("-1", b"400"), ("+7", b"400"), ("1e3", b"400"), (" 7 ", b"400")):
            r = raw(hp, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n{\"a\":1}" % cl.encode())
            t.ok(r.startswith(b"HTTP/1.1 " + want) and status_lines(r) == 1 and b'{"error":"Content-Length' in r,
                 "Content-Length %r: one clean %s with the reason" % (cl, want.decode()), r[:300])
        r = raw(hp, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n{\"a\":1}")
        t.ok(r.startswith(b"HTTP/1.1 400") and status_lines(r) == 1 and b"two different Content-Length" in r,
             "two different Content-Length headers: 400", r[:300])
        r = raw(hp, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n")
        t.ok(r.startswith(b"HTTP/1.1 400") and status_lines(r) == 1, "Transfer-Encoding with Content-Length: 400", r[:300])
        _, _, stored = curl(a.url("exporter", "/logs"))
        t.ok(b'{"a":1}' not in stored, "nothing of them stored")
        t.ok(len(refusal_lines(a, "http.1", "bad_request")) == 1 and errors(a, "http.1", "bad_request") >= 6,
             "logged once for the address, each counted")


def test_refusals_logged(t):
    with Agent(env=agent_env(), expect=("http", "otlp", "forward", "exporter", "ops")) as a, good_client(t, a, "refusals"):
        for _ in range(20):
            st, _, body = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: br",
                               a.url("http", "/"), data=b"{}")
        t.ok(st == 415 and b"gzip" in body, "Content-Encoding br: 415 naming the encodings taken")
        lines = refusal_lines(a, "http.1", "unsupported_encoding")
        t.ok(len(lines) == 1 and "127.0.0.1:" in lines[0] and "'br'" in lines[0], "20 refusals: one line, with the peer", lines)
        t.eq(errors(a, "http.1", "unsupported_encoding"), 20.0, "all 20 counted by reason")
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: br",
                        a.url("otlp", "/v1/logs"), data=b"{}")
        t.ok(st == 415 and refusal_lines(a, "opentelemetry.2", "unsupported_encoding"), "OTLP: 415, logged")
        rw = ["-XPOST", "-H", "Content-Type: application/x-protobuf", "-H", "Content-Encoding: snappy",
              "-H", "X-Prometheus-Remote-Write-Version: 0.1.0"]
        st, _, body = curl(*(rw + [a.url("http", "/api/v1/write")]), data=b"\x00")
        t.ok(st == 400 and b"prometheus_remote_write" in body and refusal_lines(a, "http.1", "wrong_protocol"),
             "remote write on the http input: 400 saying where it goes, logged", body)
        st, _, body = curl(*(rw + [a.url("otlp", "/api/v1/write")]), data=b"\x00")
        t.ok(st == 404 and refusal_lines(a, "opentelemetry.2", "wrong_protocol"), "remote write on the OTLP port: 404, logged", body)
        s = socket.create_connection(("127.0.0.1", a.ports["forward"]))
        s.sendall(h2lib.PREFACE)
        t.ok(fwdlib.closed_by_peer(s), "an HTTP/2 preface on the Forward port: closed")
        s.close()
        time.sleep(0.2)
        lines = refusal_lines(a, "forward.0", "wrong_protocol")
        t.ok(lines and "HTTP/2 client preface" in lines[0], "logged as an HTTP/2 preface on the Forward port", lines)
        st, _, _ = curl("-XPOST", "-H", "Content-Type: text/plain", a.url("http", "/"), data=b"x")
        t.ok(st == 400 and refusal_lines(a, "http.1", "unsupported_content_type"), "unsupported Content-Type: 400, logged by reason")


def test_sigterm(t):
    """SIGTERM: new connections refused, uploads (HTTP/1.1, HTTP/2) and a Forward frame half
    sent finish and are answered, then exit 0."""
    a = Agent(env=agent_env(), expect=("http", "forward", "exporter"))
    try:
        body = json.dumps({"half": "x" * 2000}).encode()
        h1 = connect(a.ports["http"])
        h1.sendall(POST_HEAD % len(body) + body[:1000])
        h2 = h2lib.Raw(a.ports["http"])  # raw frames: the reply follows the drain's GOAWAY notice
        h2.headers(1, "POST", "/h2half", [("content-type", "application/json")])
        h2.data(1, body[:1000])
        h2.read(timeout=0.3)
        frame = fwdlib.pack(["fwd.half", [[1700000000, {"m": "y" * 500}]], {"chunk": "half-1"}])
        fw = fwdlib.connect(a)
        fw.sendall(frame[:100])
        time.sleep(0.3)
        t0 = time.time()
        a.signal(signal.SIGTERM)
        time.sleep(1)
        refused = False
        try:
            socket.create_connection(("127.0.0.1", a.ports["http"]), timeout=1).close()
        except OSError:
            refused = True
        t.ok(refused, "after SIGTERM new connections are refused")
        h1.sendall(body[1000:])
        h2.data(1, body[1000:], end=True)
        fw.sendall(frame[100:])
        h1.settimeout(5)
        t.ok(h1.recv(100).startswith(b"HTTP/1.1 201"), "the HTTP/1.1 upload half sent at SIGTERM: 201")
        heads = [f["headers"].get(":status") for f in h2.until_end(1) if f["type"] == h2lib.HEADERS and f["sid"] == 1]
        t.eq(heads, ["201"], "the HTTP/2 upload half sent at SIGTERM: 201 (after the GOAWAY notice)")
        t.eq(fwdlib.recv_obj(fw, timeout=5), {"ack": "half-1"}, "the Forward frame half sent at SIGTERM: acknowledged")
        rc = a.proc.wait(10)
        t.ok(rc == 0 and time.time() - t0 < 6, "exit 0 within the 5 s grace (%.1f s)" % (time.time() - t0))
        for s in (h1, fw):
            s.close()
        h2.close()
    finally:
        a.stop()


SIGTERM_PRW_CONF = """pipeline:
  inputs:
    - name: http
      listen: 127.0.0.1
      port: 0
    - name: prometheus_remote_write
      listen: 127.0.0.1
      port: 0
"""


def test_sigterm_remote_write(t):
    """SIGTERM with prometheus_remote_write after an input that is still finishing an upload:
    remote write stops accepting at once too, and its own upload half sent is answered."""
    a = Agent(config=SIGTERM_PRW_CONF, env=agent_env(), expect=("http", "prom_rw", "exporter"))
    try:
        body = json.dumps({"half": "x" * 2000}).encode()
        h1 = connect(a.ports["http"])  # http is stopped first and waits for this upload
        h1.sendall(POST_HEAD % len(body) + body[:1000])
        pb = promrw.compress(promrw.write_request([{"labels": [("__name__", "up")], "samples": [(1, 1700000000000)]}]))
        hdrs = b"".join(promrw.HEADERS[i + 1].encode() + b"\r\n" for i in range(0, len(promrw.HEADERS), 2)
                        if promrw.HEADERS[i + 1] != "Expect:")
        rw = connect(a.ports["prom_rw"])
        rw.sendall(b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\n" + hdrs + b"Content-Length: %d\r\n\r\n" % len(pb) + pb[:5])
        time.sleep(0.3)
        t0 = time.time()
        a.signal(signal.SIGTERM)
        time.sleep(1)
        try:
            socket.create_connection(("127.0.0.1", a.ports["prom_rw"]), timeout=1).close()
            refused = False
        except OSError:
            refused = True
        t.ok(refused, "after SIGTERM the remote write port refuses new connections while http finishes an upload")
        rw.sendall(pb[5:])
        rw.settimeout(5)
        t.ok(rw.recv(100).startswith(b"HTTP/1.1 201"), "the remote write request half sent at SIGTERM: 201")
        h1.sendall(body[1000:])
        h1.settimeout(5)
        t.ok(h1.recv(100).startswith(b"HTTP/1.1 201"), "the HTTP/1.1 upload half sent at SIGTERM: 201")
        rc = a.proc.wait(10)
        t.ok(rc == 0 and time.time() - t0 < 6, "exit 0 within the 5 s grace (%.1f s)" % (time.time() - t0))
        for s in (h1, rw):
            s.close()
    finally:
        a.stop()


if __name__ == "__main__":
    run([test_stalled_uploads, test_query_and_target, test_content_length, test_refusals_logged, test_sigterm,
         test_sigterm_remote_write])
