#!/usr/bin/python3
# test_http_input.py: black-box tests of the HTTP input (spec agent.md 4.2), including replays of a real Fluent Bit's http output.
import glob
import gzip
import json
import os
import socket
import time

from agentlib import FIXTURES, Agent, curl, post_json, run


def logs(a, path="/logs"):
    _, h, body = curl(a.url("exporter", path))
    return [json.loads(l) for l in body.decode().splitlines()], h


def raw_request(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
    except socket.timeout:
        pass
    s.close()
    return out


def test_bodies_and_tags(t):
    with Agent() as a:
        st, h, body = post_json(a, "/app.web", [{"a": 1}, {"b": 2}])
        t.ok(st == 201 and body == b"", "201 with an empty body", (st, body))
        recs, h = logs(a)
        t.ok(len(recs) == 2 and recs[0][0][1] == {"_tag": "app.web"} and recs[1][1] == {"b": 2} and h["vivo-stream-end-id"] == "0",
             "array of two records is one chunk tagged by the path", recs)
        post_json(a, "/my%20app/v1!x", {"c": 3})
        recs, _ = logs(a, "/logs?from=1")
        t.eq(recs[0][0][1]["_tag"], "my_app_v1_x", "path is URL-decoded, other characters become _")
        post_json(a, "/", b'{"a":1}\n{"a":2}\n', ctype="application/x-ndjson")
        recs, _ = logs(a, "/logs?from=2")
        t.ok(len(recs) == 2 and recs[0][0][1]["_tag"] == "http.1", "NDJSON; / uses the default tag http.1", recs)
        curl("-XPOST", "-H", "Content-Type: application/x-www-form-urlencoded", a.url("http", "/form"),
             data=b"user=ada&msg=hello+there")
        recs, _ = logs(a, "/logs?from=3")
        t.eq(recs[0][1], {"user": "ada", "msg": "hello there"}, "form body is one flat string map")
        post_json(a, "/u", {"s": "h\u00e9 \U0001f600", "big": 18446744073709551615, "f": 1.5, "n": None, "deep": [[[{"x": []}]]]})
        _, _, body = curl(a.url("exporter", "/logs?from=4"))
        t.ok(body.decode().endswith('{"s":"h\u00e9 \U0001f600","big":18446744073709551615,"f":1.5,"n":null,"deep":[[[{"x":[]}]]]}]\n'),
             "unicode, uint64 and nesting survive exactly", body)


def test_errors(t):
    with Agent() as a:
        cases = [
            ("application/json", b'{"a":', "invalid JSON"),
            ("application/json", b'[{"a":1}, 7]', "array element 1"),
            ("application/json", b'"text"', "not an object"),
            ("application/json", b"", "empty"),
            ("application/x-ndjson", b'{"a":1}\nnope\n', "line 2"),
            ("text/plain", b'{"a":1}', "unsupported Content-Type"),
            (None, b'{"a":1}', "Content-Type"),
            ("application/msgpack", b"\x81\xa1a", "truncated"),
        ]
        for ctype, body, want in cases:
            args = ["-XPOST", a.url("http", "/bad")]
            if ctype:
                args += ["-H", "Content-Type: " + ctype]
            else:
                args += ["-H", "Content-Type:"]
            st, h, resp = curl(*args, data=body)
            err = json.loads(resp).get("error", "") if resp else ""
            t.ok(st == 400 and want in err, "%s %r: 400 '%s'" % (ctype, body[:20], want), (st, resp))
        recs, h = logs(a)
        t.ok(recs == [] and h["vivo-stream-next-id"] == "0", "nothing was stored by bad requests (atomic)", recs)
        st, h, _ = curl(a.url("http", "/x"))
        t.ok(st == 405 and h.get("allow") == "POST", "GET: 405 with Allow: POST", (st, h))
        st, _, _ = curl("-XPUT", "-H", "Content-Type: application/json", a.url("http", "/x"), data=b"{}")
        t.eq(st, 405, "PUT: 405")
        st, h, resp = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip",
                           a.url("http", "/x"), data=b"not gzip")
        t.ok(st == 400 and b"gzip" in resp, "bad gzip: 400", (st, resp))
        out = raw_request(a.ports["http"], b"POST /x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        t.ok(out.startswith(b"HTTP/1.1 400"), "HTTP/1.1 without Host: 400", out[:60])
        recs, _ = logs(a)
        t.eq(recs, [], "still nothing stored")
        # Half of a good request then a bad one: the good one stays, the bad one is not half-stored.
        post_json(a, "/ok", {"i": 1})
        post_json(a, "/ok", b'[{"i":2},{"i":3},"x"]')
        recs, _ = logs(a)
        t.eq([r[1]["i"] for r in recs], [1], "a request with a bad element stores none of its records")


def test_limits(t):
    conf = "pipeline:\n  inputs:\n    - name: http\n      buffer_max_size: 1000\n"
    with Agent(config=conf) as a:
        st, _, resp = post_json(a, "/big", {"x": "y" * 2000})
        t.ok(st == 413 and b"limit" in resp, "body over buffer_max_size: 413", (st, resp))
        st, _, resp = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked",
                           a.url("http", "/big"), data=json.dumps({"x": "y" * 2000}).encode())
        t.eq(st, 413, "chunked body over the limit: 413")
        bomb = gzip.compress(json.dumps({"x": "y" * 100000}).encode())
        st, _, resp = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip",
                           a.url("http", "/bomb"), data=bomb)
        t.ok(len(bomb) < 1000 and st == 413 and b"inflates" in resp, "gzip that inflates past the limit: 413", (len(bomb), st, resp))
        st, _, _ = post_json(a, "/small", {"x": "y" * 100})
        t.eq(st, 201, "a request under the limit still works")
        recs, _ = logs(a)
        t.eq(len(recs), 1, "only the good request was stored")


def test_inflight_limit(t):
    """Many large uploads at once: past the process-wide body budget they get 503, not memory."""
    import threading
    with Agent() as a:
        socks = []
        for _ in range(12):
            s = socket.create_connection(("127.0.0.1", a.ports["http"]))
            # 3.9 MB announced, 3.5 MB sent: each upload stays open, holding its bytes.
            s.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 3900000\r\n\r\n" + b"[" + b" " * 3500000)
            socks.append(s)
        time.sleep(1)
        t.ok("request bodies in flight" in a.log(), "the agent refuses uploads past its in-flight budget", a.log()[-600:])
        for s in socks:
            s.close()
        st, _, _ = post_json(a, "/after", {"ok": 1})
        t.eq(st, 201, "once they are gone, requests are accepted again")


def test_success_options(t):
    conf = ("[INPUT]\n    name http\n    successful_response_code 200\n"
            "    success_header X-Vivo yes\n    success_header X-Other 2\n")
    with Agent(config=conf) as a:
        st, h, _ = post_json(a, "/", {"a": 1})
        t.ok(st == 200 and h.get("x-vivo") == "yes" and h.get("x-other") == "2", "successful_response_code and success_header", (st, h))


def test_fluent_bit_replays(t):
    """Every request a real Fluent Bit 5.1.1 http output sent: replayed byte for byte with its headers."""
    files = sorted(glob.glob(os.path.join(FIXTURES, "http-*.txt")))
    if not files:
        t.skip("fluent bit http fixtures", "no fixtures found in " + FIXTURES)
        return
    with Agent() as a:
        next_id = 0
        for txt in files:
            base = txt[:-4]
            head = open(txt, "rb").read()
            body = open(base + ".body", "rb").read()
            # Rewrite only the Host header's port; everything else is sent exactly as captured.
            lines = head.split(b"\r\n")
            lines = [b"Host: 127.0.0.1:%d" % a.ports["http"] if l.startswith(b"Host:") else l for l in lines]
            out = raw_request(a.ports["http"], b"\r\n".join(lines) + body)
            name = os.path.basename(base)
            t.ok(out.startswith(b"HTTP/1.1 201"), "%s: 201" % name, out[:200])
            recs, h = logs(a, "/logs?from=%d" % next_id)
            # zstd and snappy captures come with their decompressed body as the .json sidecar.
            plain = gzip.decompress(body) if b"gzip" in head else body
            if b"Content-Encoding: zstd" in head or b"Content-Encoding: snappy" in head:
                plain = open(base + ".json", "rb").read()
            if "msgpack" in name:
                want = json.load(open(base + ".json"))["objects"]
                ok = len(recs) == len(want) and all(
                    r[0][0] == w[0][0]["event_time"][0] * 10**9 + w[0][0]["event_time"][1] and r[1] == w[1]
                    for r, w in zip(recs, want))
            elif "json_lines" in name:
                want = [json.loads(l) for l in plain.decode().splitlines()]
                ok = [r[1] for r in recs] == want
            else:
                want = json.loads(plain)
                ok = [r[1] for r in recs] == want
            t.ok(ok and all(r[0][1] == {"_tag": "http.1"} for r in recs) and h.get("vivo-stream-start-id") == str(next_id)
                 and h.get("vivo-stream-end-id") == str(next_id),
                 "%s: %d records stored as one chunk, exactly" % (name, len(want)), (recs, want))
            next_id += 1


def test_keepalive_ingest(t):
    with Agent() as a:
        s = socket.create_connection(("127.0.0.1", a.ports["http"]))
        req = b"POST /k HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        s.sendall(req * 20)
        data = b""
        deadline = time.time() + 5
        while data.count(b"HTTP/1.1 201") < 20 and time.time() < deadline:
            data += s.recv(65536)
        s.close()
        t.eq(data.count(b"HTTP/1.1 201"), 20, "20 pipelined requests on one keep-alive connection")
        recs, h = logs(a)
        t.eq((len(recs), h["vivo-stream-next-id"]), (20, "20"), "20 chunks stored")


if __name__ == "__main__":
    run([test_bodies_and_tags, test_errors, test_limits, test_inflight_limit, test_success_options, test_fluent_bit_replays,
         test_keepalive_ingest])
