#!/usr/bin/python3
# test_exporter.py: black-box tests of the exporter API (spec agent.md 2) against the built vivo-agent.
import gzip
import json
import socket
import threading
import time

from agentlib import Agent, curl, post_json, run


def ids(h):
    return (h.get("vivo-stream-start-id"), h.get("vivo-stream-end-id"), h.get("vivo-stream-next-id"))


def test_calyptia_example(t):
    with Agent() as a:
        st, _, _ = post_json(a, "/", {"hello": "Calyptia!"})
        t.eq(st, 201, "POST / answers 201")
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq(st, 200, "GET /logs 200")
        line = body.decode()
        t.ok(line.startswith("[[") and line.endswith(',{"_tag":"http.1"}],{"hello":"Calyptia!"}]\n'),
             "the README line", line)
        ts = line[2:line.index(",")]
        t.ok(ts.isdigit() and abs(int(ts) / 1e9 - time.time()) < 60, "timestamp is integer ns of now", ts)
        t.eq(ids(h), ("0", "0", "1"), "Start/End/Next IDs 0/0/1")
        t.eq(h.get("content-type"), "application/json", "content type")


def test_empty_and_headers(t):
    with Agent() as a:
        for path in ("/logs", "/metrics", "/traces", "/api/v1/logs", "/api/v1/metrics", "/api/v1/traces"):
            st, h, body = curl(a.url("exporter", path))
            t.ok(st == 200 and body == b"" and "vivo-stream-start-id" not in h and "vivo-stream-end-id" not in h
                 and h.get("vivo-stream-next-id") == "0", "empty %s: 200, no Start/End, Next 0" % path, (st, h, body))
        st, h, body = curl(a.url("exporter", "/"))
        t.ok(st == 200 and b"vivo-agent" in body, "/ is a banner naming the program", body)
        st, h, body = curl(a.url("exporter", "/nope"))
        t.ok(st == 404 and json.loads(body).get("error"), "unknown path: 404 with a JSON error", (st, body))


def fill(a, n, path="/app"):
    for i in range(n):
        st, _, _ = post_json(a, path, {"i": i})
        assert st == 201


def body_ids(body):
    return [json.loads(l)[1]["i"] for l in body.decode().splitlines()]


def test_queries(t):
    with Agent() as a:
        fill(a, 6)
        st, h, body = curl(a.url("exporter", "/logs?from=2&to=4"))
        t.eq((body_ids(body), ids(h)), ([2, 3, 4], ("2", "4", "6")), "from=2&to=4 inclusive")
        st, h, body = curl(a.url("exporter", "/logs?to=0"))
        t.eq(body_ids(body), [0], "to=0 means chunk 0 (deviation from Fluent Bit)")
        st, h, body = curl(a.url("exporter", "/logs?from=1&limit=2"))
        t.eq((body_ids(body), ids(h)), ([1, 2], ("1", "2", "6")), "limit counts chunks")
        st, h, body = curl(a.url("exporter", "/logs?limit=0"))
        t.eq(len(body_ids(body)), 6, "limit=0 is no limit")
        st, h, body = curl(a.url("exporter", "/logs?from=5&to=3"))
        t.ok(st == 200 and body == b"" and ids(h) == (None, None, "6"), "from > to: empty 200", (st, h))
        st, h, body = curl(a.url("exporter", "/logs?from=6"))
        t.ok(st == 200 and body == b"" and ids(h) == (None, None, "6"), "from=Next-ID: empty, Next 6")
        st, h, body = curl(a.url("exporter", "/logs?photo=1&to=1"))
        t.eq(body_ids(body), [0, 1], "photo= does not count as to=")
        st, h, body = curl(a.url("exporter", "/logs?colour=red&from=4"))
        t.eq(body_ids(body), [4, 5], "unknown keys are ignored")
        for q, name in (("from=x", "from"), ("to=-1", "to"), ("limit=1.5", "limit"), ("wait=abc", "wait"),
                        ("from=1&from=2", "from"), ("to=", "to"), ("wait=61", "wait"),
                        ("from=99999999999999999999", "from")):
            st, h, body = curl(a.url("exporter", "/logs?" + q))
            err = json.loads(body).get("error", "") if st == 400 else ""
            t.ok(st == 400 and "'%s'" % name in err, "?%s: 400 naming %s" % (q, name), (st, body))
        st, h, body = curl(a.url("exporter", "/api/v1/logs?from=4&limit=1"))
        obj = json.loads(body)
        t.ok(obj["source_type"] == "http" and obj["source_name"] == "http.1" and obj["tag"] == "app"
             and obj["records"][0][0][1] == {} and obj["records"][0][1] == {"i": 4} and ids(h) == ("4", "4", "6"),
             "v1 logs: one object per chunk, no _tag injected", body)


def test_methods_and_cors(t):
    with Agent() as a:
        st, h, _ = curl("-XPOST", a.url("exporter", "/logs"), data=b"{}")
        t.ok(st == 405 and "GET" in h.get("allow", ""), "POST: 405 with Allow", (st, h))
        st, h, _ = curl("-XDELETE", a.url("exporter", "/api/v1/traces"))
        t.eq(st, 405, "DELETE: 405")
        st, h, _ = curl("-I", a.url("exporter", "/logs"))
        t.ok(st == 200 and h.get("vivo-stream-next-id") == "0", "HEAD reads headers", h)
        t.ok("access-control-allow-origin" not in h, "no CORS headers unless configured")
    with Agent(["--cors-allow-origin", "https://ui.example"]) as a:
        fill(a, 1)
        st, h, _ = curl(a.url("exporter", "/logs"))
        t.eq((h.get("access-control-allow-origin"), h.get("access-control-allow-headers"),
              h.get("access-control-expose-headers")),
             ("https://ui.example", "Origin, X-Requested-With, Content-Type, Accept",
              "vivo-stream-start-id, vivo-stream-end-id, vivo-stream-next-id"), "CORS trio on reads")
        st, h, body = curl("-XOPTIONS", "-H", "Origin: https://ui.example", "-H", "Access-Control-Request-Method: GET",
                           a.url("exporter", "/api/v1/logs"))
        t.ok(st == 204 and h.get("access-control-allow-methods") == "GET, HEAD, OPTIONS"
             and h.get("access-control-allow-origin") == "https://ui.example", "preflight: 204", (st, h))
        st, h, _ = curl(a.url("exporter", "/missing"))
        t.ok(st == 404 and h.get("access-control-allow-origin") == "https://ui.example", "404 carries CORS too")


def test_eviction_and_accounting(t):
    # Each chunk here is one line of known length; a budget of 3 lines keeps 3 chunks.
    with Agent(["--stream-queue-size", "1000"]) as a:
        fill(a, 1)
        _, _, body = curl(a.url("exporter", "/logs"))
        one = len(body)
        info = json.loads(curl(a.url("exporter", "/api/v1/info"))[2])
        t.eq(info["streams"]["logs"]["bytes_used"], one, "bytes used = bytes served in the legacy format")
        t.eq(info["streams"]["logs"]["bytes_max"], 1000, "stream_queue_size 1000 = 1000 bytes")
    budget = 3 * one
    with Agent(["--stream-queue-size", str(budget)]) as a:
        fill(a, 5)
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq((body_ids(body), ids(h)), ([2, 3, 4], ("2", "4", "5")), "fifth chunk: the two oldest were evicted")
        info = json.loads(curl(a.url("exporter", "/api/v1/info"))[2])["streams"]["logs"]
        t.ok(info["bytes_used"] == budget and info["evicted"] == 2 and info["oldest_id"] == 2,
             "accounting: used = budget, 2 evicted", info)
        st, h, body = curl(a.url("exporter", "/logs?from=0"))
        t.eq(ids(h)[0], "2", "from an evicted ID starts at the oldest")
        big = {"i": 99, "pad": "x" * (2 * budget)}
        post_json(a, "/app", big)
        st, h, body = curl(a.url("exporter", "/logs"))
        t.ok(ids(h) == ("5", "5", "6") and json.loads(body)[1]["i"] == 99, "oversize chunk stored alone", ids(h))
        post_json(a, "/app", {"i": 7})
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq(body_ids(body), [7], "it is evicted by the next")


def test_empty_stream_on_read(t):
    with Agent(["--empty-stream-on-read"]) as a:
        fill(a, 4)
        st, h, body = curl(a.url("exporter", "/logs?limit=2"))
        t.eq(body_ids(body), [0, 1], "first read returns 0-1")
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq(body_ids(body), [2, 3], "chunks not returned stay (deviation from Fluent Bit)")
        st, h, body = curl(a.url("exporter", "/logs"))
        t.ok(body == b"" and ids(h) == (None, None, "4"), "then the stream is empty, Next stays 4", ids(h))
        fill(a, 1)
        curl("-I", a.url("exporter", "/logs"))
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq(body_ids(body), [0], "HEAD does not remove")
        fill(a, 1)
        curl(a.url("exporter", "/logs?from=99"))
        st, h, body = curl(a.url("exporter", "/logs"))
        t.eq(body_ids(body), [0], "an empty read removes nothing")


def test_gzip_and_keepalive(t):
    with Agent() as a:
        fill(a, 50)
        _, _, plain = curl(a.url("exporter", "/logs"))
        st, h, body = curl("-H", "Accept-Encoding: gzip", a.url("exporter", "/logs"))
        t.ok(h.get("content-encoding") == "gzip" and gzip.decompress(body) == plain, "gzip body matches the plain one")
        st, h, body = curl("-H", "Accept-Encoding: gzip", a.url("exporter", "/api/v1/logs"))
        t.eq(len(gzip.decompress(body).splitlines()), 50, "gzip on v1 too")
        st, h, body = curl("-H", "Accept-Encoding: br, gzip;q=0", a.url("exporter", "/logs"))
        t.ok("content-encoding" not in h and body == plain, "gzip;q=0 is refused: plain body")
        st, h, body = curl("-H", "Accept-Encoding: deflate, GZIP ; q=0.5", a.url("exporter", "/logs"))
        t.eq(h.get("content-encoding"), "gzip", "gzip with q=0.5 and odd spacing is accepted")
        # Two requests on one connection.
        s = socket.create_connection(("127.0.0.1", a.ports["exporter"]))
        req = b"GET /logs?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(req + req)
        data = b""
        deadline = time.time() + 5
        while data.count(b"HTTP/1.1 200") < 2 and time.time() < deadline:
            data += s.recv(65536)
        s.close()
        t.eq(data.count(b"HTTP/1.1 200"), 2, "keep-alive: two responses on one connection")


def test_long_poll(t):
    with Agent() as a:
        t0 = time.time()
        st, h, body = curl(a.url("exporter", "/logs?from=0&wait=1"))
        dt = time.time() - t0
        t.ok(st == 200 and body == b"" and 0.9 <= dt < 3, "wait=1 on an empty stream answers empty after ~1 s (%.2f s)" % dt)
        result = {}

        def poll():
            t1 = time.time()
            result["r"] = curl(a.url("exporter", "/logs?from=0&wait=30"))
            result["dt"] = time.time() - t1

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        fill(a, 1)
        th.join(35)
        st, h, body = result["r"]
        t.ok(body_ids(body) == [0] and result["dt"] < 5, "a held poll answers when a chunk arrives (%.2f s)" % result["dt"])
        t0 = time.time()
        st, h, body = curl(a.url("exporter", "/logs?from=0&wait=30"))
        t.ok(body_ids(body) == [0] and time.time() - t0 < 2, "wait does not hold when data is there")
        # Shutdown answers held polls instead of hanging.
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        rc = a.stop()
        th.join(10)
        t.ok(rc == 0 and "r" in result, "SIGTERM with a held poll exits 0")


def test_ui_mirror(t):
    with Agent() as a:
        fill(a, 2)
        _, h1, b1 = curl(a.url("exporter", "/api/v1/logs"))
        _, h2, b2 = curl(a.url("ui", "/api/v1/logs"))
        t.ok(b1 == b2 and ids(h1) == ids(h2), "8000 mirrors /api/v1/logs of 2025")
        st, h, body = curl(a.url("ui", "/api/v1/info"))
        info = json.loads(body)
        t.ok(info["ports"]["exporter"] == a.ports["exporter"] and info["ports"]["http"] == a.ports["http"]
             and info["streams"]["logs"]["chunks"] == 2 and len(info["boot_id"]) == 32 and info["start_time"] > 0,
             "info has ports, stream facts and a boot ID", info)
        for p in ("/", "/vivo/", "/vivo/logs", "/vivo/metrics", "/vivo/traces"):
            # A browser's Accept: /vivo/logs... negotiate page or stream (test_vivo_paths.py).
            st, h, body = curl("--compressed", "-H", "Accept: text/html,*/*;q=0.8", a.url("ui", p))
            t.ok(st == 200 and h.get("content-type", "").startswith("text/html") and b"<html" in body.lower()
                 and h.get("etag"), "UI page at %s" % p, (st, h))
        st, h, body = curl("-H", "Accept-Encoding: gzip", a.url("ui", "/"))
        t.ok(h.get("content-encoding") == "gzip" and b"<html" in gzip.decompress(body).lower(), "page is served pre-gzipped")
        st, h2, _ = curl("-H", "If-None-Match: " + h["etag"], a.url("ui", "/"))
        t.eq(st, 304, "ETag revalidation gives 304")


def test_slow_reader(t):
    with Agent(["--stream-queue-size", "2M"]) as a:
        for _ in range(20):
            post_json(a, "/big", [{"pad": "x" * 1000}] * 90)
        slow = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", a.ports["exporter"]))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /logs HTTP/1.1\r\nHost: x\r\n\r\n")
            slow.append(s)
        time.sleep(0.3)
        t0 = time.time()
        codes = [post_json(a, "/after", [{"pad": "y" * 1000}] * 90)[0] for _ in range(40)]
        dt = time.time() - t0
        t.ok(codes == [201] * 40 and dt < 10, "4 readers that never read do not stall ingestion (40 requests in %.2f s)" % dt)
        _, h, _ = curl(a.url("exporter", "/logs?limit=1"))
        t.ok(int(h["vivo-stream-next-id"]) == 60, "all appended while the slow readers hold old chunks", h)
        for s in slow:
            s.close()


if __name__ == "__main__":
    run([test_calyptia_example, test_empty_and_headers, test_queries, test_methods_and_cors,
         test_eviction_and_accounting, test_empty_stream_on_read, test_gzip_and_keepalive, test_long_poll,
         test_ui_mirror, test_slow_reader])
