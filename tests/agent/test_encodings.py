#!/usr/bin/python3
# test_encodings.py: Content-Encoding zstd and snappy on the HTTP (9010) and OTLP/HTTP (4318) inputs: every Fluent Bit 5.1.1 zstd/snappy capture replayed byte for byte and served exactly as its uncompressed equivalent; bombs get 413 and cost nothing; bad data gets 400; the agent stays up.
import glob
import json
import os
import socket
import time

import promrw
import snappy
import zstandard
from agentlib import FIXTURES, Agent, curl, run


def raw_request(port, data, timeout=10):
    """Send bytes exactly as given and read one response (Content-Length framed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        head, sep, rest = out.partition(b"\r\n\r\n")
        if sep:
            n = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            if len(rest) >= n:
                break
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def replay(port, txt, body_path):
    """A captured request as Fluent Bit sent it; only the Host header's port is rewritten."""
    head = open(txt, "rb").read()
    lines = [b"Host: 127.0.0.1:%d" % port if l.startswith(b"Host:") else l for l in head.split(b"\r\n")]
    return raw_request(port, b"\r\n".join(lines) + open(body_path, "rb").read()), head


def read(a, stream, n):
    _, h, body = curl(a.url("exporter", "/%s?from=%d&to=%d" % (stream, n, n)))
    return [json.loads(l) for l in body.decode().splitlines()]


def test_http_fixtures(t):
    files = sorted(glob.glob(os.path.join(FIXTURES, "http-json-zstd-*.txt")) + glob.glob(os.path.join(FIXTURES, "http-json-snappy-*.txt")))
    t.ok(len(files) == 5, "found the 3 zstd and 2 snappy http captures (%d)" % len(files))
    conf = "pipeline:\n  inputs:\n    - name: http\n      port: 0\n      time_key: date\n"
    with Agent(config=conf, expect=("http", "exporter")) as a:
        n = 0
        for txt in files:
            base = txt[:-4]
            name = os.path.basename(base)
            out, head = replay(a.ports["http"], txt, base + ".body")
            t.ok(out.startswith(b"HTTP/1.1 201"), "%s replayed byte for byte: 201 (what Fluent Bit took as success)" % name, out[:200])
            enc = "zstd" if b"zstd" in head else "snappy"
            plain = zstandard.ZstdDecompressor().decompress(open(base + ".body", "rb").read()) if enc == "zstd" else \
                snappy.decompress(open(base + ".body", "rb").read())
            t.ok(plain == open(base + ".json", "rb").read(), "%s: python's %s decodes it to the .json sidecar" % (name, enc))
            st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", a.url("http", "/"), data=plain)
            got, same = read(a, "logs", n), read(a, "logs", n + 1)
            t.ok(st == 201 and got == same and len(got) == len(json.loads(plain)),
                 "%s: served exactly as the same body sent uncompressed (%d records)" % (name, len(got)), (got, same))
            n += 2


def test_otlp_fixtures(t):
    # HTTP/1.1 captures only: the h2c ones (HTTP/2 header lists) are replayed by test_h2.py.
    files = sorted(f for f in glob.glob(os.path.join(FIXTURES, "otlp-*-zstd-*.txt"))
                   if os.path.exists(f[:-4] + ".pb.zst") and open(f, "rb").readline().rstrip().endswith(b" HTTP/1.1"))
    t.ok(len(files) == 10, "found the 10 OTLP/HTTP zstd captures (%d)" % len(files))
    with Agent(expect=("otlp", "exporter")) as a:
        n = {"logs": 0, "metrics": 0, "traces": 0}
        for txt in files:
            base = txt[:-4]
            name = os.path.basename(base)
            stream = name.split("-")[1]
            out, head = replay(a.ports["otlp"], txt, base + ".pb.zst")
            t.ok(out.startswith(b"HTTP/1.1 200") and out.endswith(b"\r\n\r\n") and b"Content-Length: 0" in out,
                 "%s replayed byte for byte: 200, empty protobuf response" % name, out[:300])
            plain = zstandard.ZstdDecompressor().decompress(open(base + ".pb.zst", "rb").read())
            st, _, _ = curl("-XPOST", "-H", "Content-Type: application/x-protobuf", a.url("otlp", "/v1/" + stream), data=plain)
            got, same = read(a, stream, n[stream]), read(a, stream, n[stream] + 1)
            t.ok(st == 200 and got == same and got, "%s: /%s serves exactly what the uncompressed body gives" % (name, stream),
                 (got[:1], same[:1]))
            n[stream] += 2


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_bombs(t):
    """Small compressed, huge decompressed: 413 at the limit, nothing stored, memory flat."""
    zbomb = zstandard.ZstdCompressor(level=19).compress(b"\0" * 200_000_000)   # frame declares 200 MB
    zstream = zstandard.ZstdCompressor(level=19, write_content_size=False).compress(b"{" * 50_000_000)
    sbomb = snappy.compress(b"\0" * 50_000_000)                                   # 2.3 MB raw snappy
    sfake = b"\xff\xff\xff\xff\x0f" + b"\x00" * 100                              # claims 4 GB
    sframed = promrw.framed(b"\0" * 20_000_000)                                  # 0.9 MB of framed chunks
    cases = [
        ("zstd frame declaring 200 MB (%d bytes)" % len(zbomb), "zstd", zbomb, "declares"),
        ("zstd stream without a content size, 50 MB (%d bytes)" % len(zstream), "zstd", zstream, "inflates past the limit"),
        ("raw snappy of 50 MB (%d bytes)" % len(sbomb), "snappy", sbomb, "declares"),
        ("raw snappy header claiming 4 GB", "snappy", sfake, "declares"),
        ("framed snappy of 20 MB (%d bytes)" % len(sframed), "snappy", sframed, "inflates past the limit of 4000000"),
    ]
    # ASan keeps freed blocks in quarantine, which would count every refused request's
    # memory as still held; without it the peak shows what the agent really holds at once.
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (saved + ":" if saved else "") + "quarantine_size_mb=0"
    try:
        agent = Agent(expect=("http", "otlp", "exporter"))
    finally:
        if saved is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = saved
    with agent as a:
        before = rss_kb(a.proc.pid)
        for listener, path, ctype in (("http", "/bomb", "application/json"), ("otlp", "/v1/logs", "application/x-protobuf")):
            for name, enc, body, word in cases:
                st, _, resp = curl("-XPOST", "-H", "Content-Type: " + ctype, "-H", "Content-Encoding: " + enc,
                                   "-H", "Expect:", a.url(listener, path), data=body)
                t.ok(st == 413 and word.encode() in resp, "%s %s: 413 '%s'" % (listener, name, resp.decode()[:120]), (st, resp[:200]))
        grown = rss_kb(a.proc.pid) - before
        # One request at a time here: its body (up to 2.3 MB) and at most the 4 MB limit decoded.
        t.ok(grown < 16_000, "peak RSS grew by %d kB over 10 bombs of up to 200 MB each (limit 4 MB)" % grown)
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: zstd",
                        a.url("http", "/ok"), data=zstandard.ZstdCompressor().compress(b'{"after":"bombs"}'))
        _, h, body = curl(a.url("exporter", "/logs"))
        t.ok(st == 201 and body.count(b"\n") == 1 and b"bombs" in body, "the agent is up and stored only the good request", body[:300])


def test_bad_data(t):
    with Agent(expect=("http", "otlp", "exporter")) as a:
        for listener, path, ctype in (("http", "/x", "application/json"), ("otlp", "/v1/traces", "application/json")):
            for enc, body, word in (("zstd", b"\x28\xb5\x2f\xfd garbage", "zstd"), ("snappy", b"\x05\x10ab", "snappy"),
                                    ("zstd", zstandard.ZstdCompressor().compress(b"{}" * 100)[:-3], "zstd"),
                                    ("snappy", promrw.framed(b"{}")[:-1] + b"X", "checksum")):
                st, _, resp = curl("-XPOST", "-H", "Content-Type: " + ctype, "-H", "Content-Encoding: " + enc,
                                   a.url(listener, path), data=body)
                t.ok(st == 400 and word.encode() in resp, "%s: bad %s body: 400 '%s'" % (listener, enc, resp.decode()[:100]), (st, resp))
            st, _, resp = curl("-XPOST", "-H", "Content-Type: " + ctype, "-H", "Content-Encoding: br", a.url(listener, path), data=b"{}")
            t.ok(st == 415 and b"zstd" in resp and b"snappy" in resp, "%s: br: 415 naming the encodings it takes" % listener, (st, resp))
        _, h, _ = curl(a.url("exporter", "/logs"))
        t.eq(h.get("vivo-stream-next-id"), "0", "nothing stored")
        log = a.log()
        t.ok("refused 127.0.0.1:" in log and "body:" in log, "refusals logged with the peer address (the shared refusal logger)")
        # Framed snappy and zstd with two frames, accepted.
        st, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: snappy",
                        a.url("http", "/f"), data=promrw.framed(b'{"framed":1}'))
        z = zstandard.ZstdCompressor()
        st2, _, _ = curl("-XPOST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: zstd",
                         a.url("http", "/z"), data=z.compress(b'[{"a":1},') + z.compress(b'{"a":2}]'))
        _, _, body = curl(a.url("exporter", "/logs"))
        recs = [json.loads(l)[1] for l in body.decode().splitlines()]
        t.ok(st == 201 and st2 == 201 and recs == [{"framed": 1}, {"a": 1}, {"a": 2}], "framed snappy; two zstd frames", recs)


if __name__ == "__main__":
    run([test_http_fixtures, test_otlp_fixtures, test_bombs, test_bad_data])
