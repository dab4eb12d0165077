#!/usr/bin/python3
# test_forward_hostile.py: the Forward input under hostile input (truncated frames, wrong types, a 2 GB length prefix, gzip bombs, 1,000 idle connections, a 1-byte-per-second client) while another client keeps flowing.
import socket
import struct
import threading
import time
import zlib

from agentlib import Agent, run
from fwdlib import closed_by_peer, connect, get, lines, metric, next_id, pack, recv_obj, wait_for

FWD = ("forward", "exporter", "ops")


def rss_kb(a):
    with open("/proc/%d/status" % a.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(a):
    """True when the agent runs with ASan (whose shadow memory is not the agent's)."""
    with open("/proc/%d/maps" % a.proc.pid) as f:
        return any("asan" in line for line in f)


class Flow(threading.Thread):
    """A well-behaved client sending acked frames all along; records the longest wait for an ack."""

    def __init__(self, a):
        super().__init__(daemon=True)
        self.a, self.sent, self.acked, self.worst, self.error = a, 0, 0, 0.0, None
        self.stop = threading.Event()

    def run(self):
        try:
            s = connect(self.a)
            while not self.stop.is_set():
                t0 = time.time()
                s.sendall(pack(["flow", self.sent, {"seq": self.sent}, {"chunk": "f%d" % self.sent}]))
                self.sent += 1
                if recv_obj(s, timeout=10) != {"ack": "f%d" % (self.sent - 1)}:
                    self.error = "no ack for frame %d" % (self.sent - 1)
                    return
                self.acked += 1
                self.worst = max(self.worst, time.time() - t0)
                time.sleep(0.005)
            s.close()
        except OSError as e:
            self.error = str(e)

    def check(self, t, what):
        n = self.acked
        ok = wait_for(lambda: self.acked > n + 5, timeout=10)
        t.ok(ok and self.error is None, "the other client keeps flowing (%s): %d acked, worst ack %.3f s" % (what, self.acked, self.worst),
             self.error)


def bomb(total, piece=1 << 24):
    """gzip of `total` zero bytes, compressed piecewise (the bomb never exists in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = bytes(piece)
    out = [z.compress(zero) for _ in range(total // piece)]
    out.append(z.flush())
    return b"".join(out)


def test_hostile(t):
    with Agent(expect=FWD) as a:
        flow = Flow(a)
        flow.start()
        t.ok(wait_for(lambda: flow.acked > 10), "flow started")
        rss0 = rss_kb(a)
        errors = 0

        # Truncated frames: the good frame before stays, the connection ends, nothing is acked.
        good = pack(["trunc", 1, {"kept": True}, {"chunk": "g"}])
        frame = pack(["trunc", [[i, {"i": i, "pad": "x" * 100}] for i in range(100)], {"chunk": "never"}])
        for cut in (1, 2, 7, len(frame) // 2, len(frame) - 1):
            s = connect(a)
            s.sendall(good)
            t.eq(recv_obj(s), {"ack": "g"}, "frame before the truncated one acked (cut at %d)" % cut)
            s.sendall(frame[:cut])
            s.shutdown(socket.SHUT_WR)
            t.ok(recv_obj(s, timeout=5) is None, "truncated at %d of %d: no ack, closed" % (cut, len(frame)))
            s.close()
            errors += 1
        t.ok(wait_for(lambda: metric(a, "errors_total") == errors), "truncated frames counted (%d)" % errors, metric(a, "errors_total"))
        t.ok("closed inside a frame" in a.log(), "logged as closed inside a frame")
        t.eq(sum(1 for c in lines(a, "/api/v1/logs") if c["tag"] == "trunc"), 5, "the 5 good frames before them stayed")

        # Wrong types at every position of a frame, each on its own connection.
        bad = [
            pack({"not": "an array"}), pack(["only-tag"]), pack([1, 2, {"a": 1}]), pack([None, 1, {"a": 1}]),
            pack(["t", "not-a-time", {"a": 1}]), pack(["t", None, {"a": 1}]), pack(["t", 1, [1, 2]]), pack(["t", 1, "str"]),
            pack(["t", 1, {"a": 1}, "opts"]), pack(["t", 1, {"a": 1}, {"chunk": 5}]), pack(["t", 1, {"a": 1}, {"metadata": 1}]),
            pack(["t", [1, 2]]), pack(["t", [[1]]]), pack(["t", [["x", {}]]]), pack(["t", [[1, 2]]]), pack(["t", [[[1], {}]]]),
            pack(["t", [[[1, "m"], {}]]]), pack(["t", b"\xc1\xc1"]), pack(["t", pack([1, {}])[:-1]]),
            pack(["t", b"junk", {"compressed": "gzip"}]), pack(["t", b"", {"compressed": "brotli"}]),
            pack(["t", b"", {"fluent_signal": 9}]), pack(["t", pack({"a": 1}), {"fluent_signal": 2}]),
            pack(["t", 1, {"a": 1}, {}, "extra"]), b"\xc1", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        refused = 0
        for b in bad:
            s = connect(a)
            s.sendall(b)
            if closed_by_peer(s):
                refused += 1
            s.close()
        errors += len(bad)
        t.eq(refused, len(bad), "every wrong-typed frame closes its connection")
        t.ok(wait_for(lambda: metric(a, "errors_total") == errors), "and is counted", metric(a, "errors_total"))
        flow.check(t, "after bad frames")

        # A 2 GB length prefix: refused from the header, without waiting for the bytes.
        for prefix in (b"\x93\xa1t\xc6\x80\x00\x00\x00", b"\x92\xa1t\xdd\x80\x00\x00\x00", b"\x92\xa1t\xdb\x7f\xff\xff\xff"):
            s = connect(a)
            t0 = time.time()
            s.sendall(prefix)
            t.ok(closed_by_peer(s, timeout=3) and time.time() - t0 < 2, "2 GB prefix %s refused at once" % prefix.hex())
            s.close()
            errors += 1
        t.ok("larger than buffer_max_size" in a.log(), "logged as over buffer_max_size")

        # A frame over buffer_max_size (6,144,000) in full, then one just under it.
        s = connect(a)
        try:
            s.sendall(pack(["big", 1, {"pad": "x" * 6200000}]))
        except OSError:
            pass
        t.ok(closed_by_peer(s), "a 6.2 MB frame closes the connection")
        s.close()
        errors += 1
        s = connect(a)
        s.sendall(pack(["big", 1, {"pad": "y" * 6000000}, {"chunk": "big"}]))
        t.eq(recv_obj(s, timeout=30), {"ack": "big"}, "a 6.0 MB frame is stored")
        s.close()

        # gzip bombs: 1 GB of zeros in ~1 MB, in one member and split over many.
        b1 = bomb(1 << 30)
        s = connect(a, src="127.0.0.2")  # its own address: its refusal has its own log line
        try:
            s.sendall(pack(["bomb", b1[:6000000], {"compressed": "gzip", "chunk": "no"}]))
        except OSError:
            pass
        t.ok(closed_by_peer(s, timeout=10), "gzip bomb (%d bytes -> 1 GB) closes the connection" % len(b1))
        s.close()
        errors += 1
        members = b"".join(bomb(1 << 24) for _ in range(8))
        s = connect(a)
        try:
            s.sendall(pack(["bomb", members, {"compressed": "gzip", "chunk": "no"}]))
        except OSError:
            pass
        t.ok(closed_by_peer(s, timeout=10), "8 concatenated 16 MB members: closed at the limit")
        s.close()
        errors += 1
        t.ok("inflates past buffer_max_size" in a.log(), "logged as inflating past the limit")
        t.ok(wait_for(lambda: metric(a, "errors_total") == errors), "all counted (%d)" % errors, metric(a, "errors_total"))
        flow.check(t, "after bombs")

        # 1,000 idle connections, then a client at one byte per second.
        idle = []
        try:
            for _ in range(1000):
                idle.append(connect(a))
            t.eq(len(idle), 1000, "1,000 idle connections open")
            flow.check(t, "with 1,000 idle connections")
            slow = connect(a)
            frame = pack(["slow", 7, {"slow": True}, {"chunk": "slow"}])
            head, tail = frame[:5], frame[5:]
            for i in range(len(head)):
                slow.sendall(head[i:i + 1])
                time.sleep(1.0)
            flow.check(t, "during a 1-byte-per-second client")
            slow.sendall(tail)
            t.eq(recv_obj(slow), {"ack": "slow"}, "the slow client's frame is stored when it completes")
            slow.close()
            st, _, _ = get(a, "/api/v1/health", listener="ops")
            t.eq(st, 200, "health is 200 with 1,000 idle connections")
        finally:
            for s in idle:
                s.close()
        flow.stop.set()
        flow.join(15)
        t.ok(flow.error is None and flow.acked > 50, "the flowing client never stalled: %d frames, worst ack %.3f s" % (flow.acked, flow.worst),
             flow.error)
        seqs = [r[1]["seq"] for c in lines(a, "/api/v1/logs") if c["tag"] == "flow" for r in c["records"]]
        t.eq(seqs, list(range(flow.acked)), "every acked flow frame is stored, in order")
        rss = rss_kb(a)
        if sanitized(a):
            t.ok(rss - rss0 < 200 * 1024, "RSS grew by %d KB through all of it (bounded; sanitizer build)" % (rss - rss0))
        else:
            # Spec 6: RSS under 3 x stream_queue_size (20M) + 32 MB under any input.
            t.ok(rss < 92000, "RSS is %d KB after all of it: under 3 x 20 MB + 32 MB" % rss)
        t.ok(a.proc.poll() is None, "the agent is up")
        t.eq(a.stop(), 0, "and exits cleanly")


if __name__ == "__main__":
    run([test_hostile])
