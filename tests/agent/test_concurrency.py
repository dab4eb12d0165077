#!/usr/bin/python3
# test_concurrency.py: 8 HTTP writers and 8 long-polling readers against one agent, bounded in time and count.
import http.client
import json
import threading
import time

from agentlib import Agent, run

WRITERS, READERS, SECONDS, MAX_PER_WRITER = 8, 8, 3.0, 5000


def writer(port, w, stop, sent):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    seq = 0
    while not stop.is_set() and seq < MAX_PER_WRITER:
        body = json.dumps([{"w": w, "seq": seq, "pad": "x" * (seq % 300)}])
        c.request("POST", "/w%d" % w, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError("writer got %d" % r.status)
        seq += 1
    sent[w] = seq
    c.close()


def reader(port, stop, out, errors):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    nxt, got = 0, []
    while True:
        done = stop.is_set()
        c.request("GET", "/logs?from=%d&wait=1" % nxt)
        r = c.getresponse()
        body = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        if body:
            start, end = int(h["vivo-stream-start-id"]), int(h["vivo-stream-end-id"])
            lines = body.decode().splitlines()
            if len(lines) != end - start + 1:
                errors.append("one record per chunk expected, got %d lines for %d..%d" % (len(lines), start, end))
            if start < nxt:
                errors.append("got chunk %d again (asked from %d)" % (start, nxt))
            for i, line in enumerate(lines):
                rec = json.loads(line)[1]
                got.append((start + i, rec["w"], rec["seq"]))
            nxt = end + 1
        elif done:
            break
    out.append(got)
    c.close()


def test_writers_and_readers(t):
    budget = 200000
    with Agent(["--stream-queue-size", str(budget)]) as a:
        stop = threading.Event()
        sent, outs, errors = {}, [], []
        ws = [threading.Thread(target=writer, args=(a.ports["http"], w, stop, sent)) for w in range(WRITERS)]
        rs = [threading.Thread(target=reader, args=(a.ports["exporter"], stop, outs, errors)) for _ in range(READERS)]
        for th in rs + ws:
            th.start()
        time.sleep(SECONDS)
        stop.set()
        for th in ws + rs:
            th.join(60)
        total = sum(sent.values())
        info = json.loads(http_get(a.ports["exporter"], "/api/v1/info"))["streams"]["logs"]
        t.ok(not errors, "readers saw no repeated chunks", errors[:5])
        t.eq(info["next_id"], total, "every accepted request got exactly one ID (%d)" % total)
        t.ok(info["bytes_used"] <= budget, "bytes used %d within the budget %d" % (info["bytes_used"], budget))
        oldest = info["oldest_id"]
        for n, got in enumerate(outs):
            ids = [g[0] for g in got]
            t.ok(all(x < y for x, y in zip(ids, ids[1:])), "reader %d: IDs strictly increasing" % n)
            missing = sorted(set(range(ids[0] if ids else 0, total)) - set(ids))
            # Anything a reader missed must be gone now, i.e. evicted (older than the oldest held).
            t.ok(all(m < oldest for m in missing), "reader %d: every chunk still held was read (%d read, %d evicted before it came)"
                 % (n, len(ids), len(missing)), missing[:10])
            per_writer = {}
            ordered = True
            for _, w, seq in got:
                if per_writer.get(w, -1) >= seq:
                    ordered = False
                per_writer[w] = seq
            t.ok(ordered, "reader %d: each writer's records in order" % n)


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    return body


if __name__ == "__main__":
    run([test_writers_and_readers])
