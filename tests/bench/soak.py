#!/usr/bin/python3
# soak.py: a bounded mixed soak (issue 15; docs/benchmarks.md): an upstream agent takes acked Forward frames and HTTP posts, a follower agent follows it (its exporter consumes on read), 100 raw followers long-poll the upstream, full readers download its whole stream, both agents get SIGHUP every minute; every 30 s it prints acked vs seen and each agent's RSS, and at the end 0 lost and 0 duplicated or the numbers that say otherwise. SOAK_SECONDS (default 600) bounds it.
import http.client
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402
import msgpack  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
RATE = float(os.environ.get("SOAK_RATE", "200"))  # records per second, half Forward, half HTTP
POLLERS = int(os.environ.get("SOAK_POLLERS", "100"))
UPSTREAM_CONF = "pipeline:\n  inputs:\n    - name: forward\n      port: 0\n    - name: http\n      port: 0\n" \
                "  outputs:\n    - name: vivo_exporter\n      match: '*'\n      stream_queue_size: 20M\n"
FOLLOWER_CONF = "pipeline:\n  inputs:\n    - name: vivo\n      follow:\n        - %s\n" \
                "  outputs:\n    - name: vivo_exporter\n      match: '*'\n      empty_stream_on_read: on\n"

stop = threading.Event()
lock = threading.Lock()
acked, seen, dup, errors = set(), set(), [0], []


def writer(up):
    """Acked Forward frames and HTTP posts of 10 records each, every record with its own seq."""
    fwd = socket.create_connection(("127.0.0.1", up.ports["forward"]), timeout=30)
    unp = msgpack.Unpacker(raw=False)
    hc = http.client.HTTPConnection("127.0.0.1", up.ports["http"], timeout=30)
    seq, t0 = 0, time.time()
    while not stop.is_set():
        for via in ("fwd", "http"):
            batch = list(range(seq, seq + 10))
            seq += 10
            try:
                if via == "fwd":
                    fwd.sendall(msgpack.packb(["soak.fwd", [[int(time.time()), {"seq": s}] for s in batch], {"chunk": str(batch[0])}]))
                    while True:
                        o = next(unp, None)
                        if o is not None:
                            break
                        unp.feed(fwd.recv(4096))
                    ok = o == {"ack": str(batch[0])}
                else:
                    hc.request("POST", "/soak.http", body="\n".join(json.dumps({"seq": s}) for s in batch),
                                 headers={"Content-Type": "application/x-ndjson"})
                    r = hc.getresponse()
                    r.read()
                    ok = r.status == 201
            except OSError as e:  # a reload re-binds nothing here; note and reconnect
                errors.append("%s: %s" % (via, e))
                ok = False
                if via == "fwd":
                    fwd = socket.create_connection(("127.0.0.1", up.ports["forward"]), timeout=30)
                    unp = msgpack.Unpacker(raw=False)
                else:
                    hc = http.client.HTTPConnection("127.0.0.1", up.ports["http"], timeout=30)
            if ok:
                with lock:
                    acked.update(batch)
        # pace: RATE records per second in all
        time.sleep(max(0.0, seq / RATE - (time.time() - t0)))


def consumer(fo):
    """Reads the follower from Next-ID with long-polls; its exporter removes what it returns."""
    c = http.client.HTTPConnection("127.0.0.1", fo.ports["exporter"], timeout=60)
    nxt = 0
    while not stop.is_set() or time.time() < drain_until[0]:
        try:
            c.request("GET", "/logs?from=%d&wait=5" % nxt)
            r = c.getresponse()
            body = r.read()
            nxt = int(r.getheader("Vivo-Stream-Next-ID"))
        except (OSError, http.client.HTTPException, TypeError) as e:
            errors.append("consumer: %s" % e)
            c = http.client.HTTPConnection("127.0.0.1", fo.ports["exporter"], timeout=60)
            time.sleep(0.2)
            continue
        for line in body.decode().splitlines():
            s = json.loads(line)[1].get("seq")
            if s is None:
                continue
            with lock:
                if s in seen:
                    dup[0] += 1
                seen.add(s)


drain_until = [float("inf")]


def dechunk(b):
    """The body of a complete chunked transfer, or None while it is not complete."""
    out = b""
    while True:
        size, sep, rest = b.partition(b"\r\n")
        if not sep:
            return None
        n = int(size.split(b";")[0], 16)
        if n == 0:
            return out if rest.startswith(b"\r\n") else None
        if len(rest) < n + 2:
            return None
        out += rest[:n]
        b = rest[n + 2:]


def pollers(up):
    """POLLERS raw HTTP/1.1 long-polls on the upstream (origin=local, envelope=1, as followers
    poll), each checking that the chunk IDs it gets only go up."""
    sel = selectors.DefaultSelector()
    state = {}

    def ask(i):
        s = state[i]
        s["sock"].sendall(b"GET /api/v1/logs?from=%d&wait=30&origin=local&envelope=1 HTTP/1.1\r\nHost: soak\r\n\r\n" % s["next"])
        s["buf"] = b""

    for i in range(POLLERS):
        sock = socket.socket()
        sock.bind(("127.0.%d.%d" % (70 + i // 200, 1 + i % 200), 0))
        sock.connect(("127.0.0.1", up.ports["exporter"]))
        state[i] = {"sock": sock, "next": 0, "last": -1, "chunks": 0}
        sel.register(sock, selectors.EVENT_READ, i)
        ask(i)
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.5):
            s = state[key.data]
            d = s["sock"].recv(1 << 20)
            if not d:
                errors.append("poller %d: closed by the agent" % key.data)
                sel.unregister(s["sock"])
                continue
            s["buf"] += d
            head, sep, body = s["buf"].partition(b"\r\n\r\n")
            if not sep:
                continue
            hdrs = dict(l.split(b": ", 1) for l in head.split(b"\r\n")[1:] if b": " in l)
            if hdrs.get(b"Transfer-Encoding") == b"chunked":
                body = dechunk(body)
                if body is None:
                    continue
            elif len(body) < int(hdrs.get(b"Content-Length", b"0")):
                continue
            for line in body.decode().splitlines():
                cid = json.loads(line)["id"]
                if cid <= s["last"]:
                    errors.append("poller %d: chunk %d after %d" % (key.data, cid, s["last"]))
                s["last"], s["chunks"] = cid, s["chunks"] + 1
            s["next"] = int(hdrs[b"Vivo-Stream-Next-ID"])
            ask(key.data)
    for s in state.values():
        s["sock"].close()
    return state


def full_reader(up):
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", up.ports["exporter"], timeout=30)
            c.request("GET", "/logs")
            body = c.getresponse().read()
            for line in body.decode().splitlines():
                json.loads(line)
            c.close()
        except (OSError, ValueError, http.client.HTTPException) as e:
            errors.append("full reader: %s" % e)
        time.sleep(1)


def main():
    with open("/proc/loadavg") as f:
        print("soak for %.0f s at %.0f records/s, %d raw followers; load average before: %s" % (
            SECONDS, RATE, POLLERS, " ".join(f.read().split()[:3])))
    with Agent(config=UPSTREAM_CONF, expect=("forward", "http", "exporter")) as up:
        with Agent(config=FOLLOWER_CONF % up.url("exporter", "").rstrip("/"), expect=("exporter",)) as fo:
            threads = [threading.Thread(target=writer, args=(up,)), threading.Thread(target=consumer, args=(fo,)),
                       threading.Thread(target=full_reader, args=(up,)), threading.Thread(target=full_reader, args=(up,))]
            poll_state = {}
            threads.append(threading.Thread(target=lambda: poll_state.update(pollers(up))))
            for t in threads:
                t.daemon = True
                t.start()
            t0 = time.time()
            next_print, next_hup = t0 + 30, t0 + 60
            while time.time() - t0 < SECONDS:
                time.sleep(0.5)
                now = time.time()
                if now >= next_hup:
                    up.signal(signal.SIGHUP)
                    fo.signal(signal.SIGHUP)
                    next_hup += 60
                if now >= next_print:
                    with lock:
                        a, s, d = len(acked), len(seen), dup[0]
                    print("%4.0f s: acked %d, seen %d (behind %d), duplicated %d, RSS upstream %.1f MB, follower %.1f MB" % (
                        now - t0, a, s, a - len(acked & seen), d, up.rss_kb() / 1024, fo.rss_kb() / 1024))
                    sys.stdout.flush()
                    next_print += 30
            drain_until[0] = time.time() + 30
            stop.set()
            threads[0].join(30)
            while time.time() < drain_until[0]:
                with lock:
                    if acked <= seen:
                        break
                time.sleep(0.5)
            drain_until[0] = 0
            for t in threads:
                t.join(60)
            with lock:
                lost = sorted(acked - seen)
                extra = sorted(seen - acked)
            chunks = sorted(p["chunks"] for p in poll_state.values()) if poll_state else []
            print("end: acked %d, seen %d, lost %d, duplicated %d, seen but not acked %d (sent at the stop); raw followers got "
                  "%s chunks each (min-max); errors %d%s" % (
                      len(acked), len(seen), len(lost), dup[0], len(extra),
                      "%d-%d" % (chunks[0], chunks[-1]) if chunks else "no", len(errors),
                      (": " + "; ".join(errors[:5])) if errors else ""))
            print("RSS at the end: upstream %.1f MB, follower %.1f MB" % (up.rss_kb() / 1024, fo.rss_kb() / 1024))
            return 0 if not lost and dup[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
