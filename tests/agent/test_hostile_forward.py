#!/usr/bin/python3
# test_hostile_forward.py: Forward frames that used to be acknowledged and lost, or refused for the wrong reason (issue 15, item 8): times -1 and -2 outside a group are stored, Fluent Bit's group markers still are not; a record nested deeper than the rendering limit is stored with the deep part as a string; a zstd payload whose window is over the limit is refused naming the window; every refusal logged once per address and reason, a good client served throughout.
import json
import time

import msgpack

from agentlib import Agent, run
from fwdlib import closed_by_peer, connect, get, pack, recv_obj
from hostilelib import agent_env, errors, good_client, refusal_lines


def send_acked(a, frame, ack):
    s = connect(a)
    s.sendall(pack(frame))
    got = recv_obj(s, timeout=10)
    s.close()
    return got == {"ack": ack}


def records(a):
    return [json.loads(l) for l in get(a, "/logs")[2].decode().splitlines()]


def test_marker_times(t):
    with Agent(env=agent_env(), expect=("forward", "exporter", "ops")) as a, good_client(t, a, "marker times", post=False):
        t.ok(send_acked(a, ["m.neg1", -1, {"m": "message -1"}, {"chunk": "m1"}], "m1"), "Message mode, time -1: acknowledged")
        t.ok(send_acked(a, ["m.neg2", -2, {"m": "message -2"}, {"chunk": "m2"}], "m2"),
             "Message mode, time -2: acknowledged")
        t.ok(send_acked(a, ["f.neg", [[-1, {"m": "entry -1"}], [-2, {"m": "entry -2"}], [1700000000, {"m": "ok"}]],
                            {"chunk": "f1"}], "f1"), "Forward mode, times -1 and -2 without a group: acknowledged")
        got = [r[1].get("m") for r in records(a)]
        t.eq(got, ["message -1", "message -2", "entry -1", "entry -2", "ok"], "and every one of them stored")
        start = [[msgpack.ExtType(0, b"\xff\xff\xff\xff\x00\x00\x00\x00"), {"schema": "otlp", "resource_id": 0, "scope_id": 0}],
                 {"resource": {"attributes": {"service.name": "svc"}}, "scope": {"name": "lib"}}]
        end = [[msgpack.ExtType(0, b"\xff\xff\xff\xfe\x00\x00\x00\x00"), {}], {}]
        t.ok(send_acked(a, ["v1_logs", [start, [1700000001, {"m": "in group"}], end], {"chunk": "g1"}], "g1"),
             "Fluent Bit's group (start with schema otlp, end): acknowledged")
        last = records(a)[-1]
        t.ok(len(records(a)) == 6 and last[1] == {"m": "in group"} and "resource" in json.dumps(last[0]),
             "its markers are not records; the record carries the group's resource", last)


def test_deep_record(t):
    with Agent(env=agent_env(), expect=("forward", "exporter", "ops")) as a:
        deep = "leaf"
        for _ in range(100):
            deep = {"d": deep}
        t.ok(send_acked(a, ["deep", 1700000000, deep, {"chunk": "d1"}], "d1"), "a record nested 100 levels: acknowledged")
        rec = records(a)[0][1]
        depth, v = 0, rec
        while isinstance(v, dict):
            v, depth = v["d"], depth + 1
        t.ok(isinstance(v, str) and v.startswith("msgpack:81a164") and depth == 64,
             "stored: 64 levels as JSON, the rest as a string of its msgpack bytes (depth %d, %r)" % (depth, str(v)[:30]))


def zstd_frame(window_exp, content):
    """A valid zstd frame holding `content` as one raw block, whose header asks for a window
    of 2^(10 + window_exp) bytes (no content size, so the decoder cannot size it by that)."""
    assert len(content) < 2 ** 21
    n = len(content)
    return (b"\x28\xb5\x2f\xfd" + b"\x00" + bytes([window_exp << 3]) +
            bytes([(1 | (n << 3)) & 0xFF, (n >> 5) & 0xFF, (n >> 13) & 0xFF]) + content)


def test_zstd_window(t):
    with Agent(env=agent_env(), expect=("forward", "exporter", "ops")) as a, good_client(t, a, "zstd window", post=False):
        entries = pack([1700000000, {"z": "big window"}])
        t.ok(send_acked(a, ["z", zstd_frame(18, entries), {"compressed": "zstd", "chunk": "z0"}], "z0"),
             "zstd with a 256 MB window: decoded into the buffer_max_size-bounded output and acknowledged")
        t.eq([r[1] for r in records(a)], [{"z": "big window"}], "and stored")
        for i in range(3):
            s = connect(a)
            s.sendall(pack(["z", zstd_frame(31, entries), {"compressed": "zstd", "chunk": "z%d" % (i + 1)}]))
            t.ok(closed_by_peer(s, timeout=10), "a window over zstd's own maximum (2 TB): closed, not acknowledged")
            s.close()
        time.sleep(0.2)
        lines = refusal_lines(a, "forward.0", "too_large")
        t.ok(len(lines) == 1 and "window of 2199023255552 bytes is over the limit of 2147483648 bytes" in lines[0],
             "logged once, naming the window and the limit (not 'invalid zstd')", lines or a.log()[-600:])
        t.eq(errors(a, "forward.0", "too_large"), 3.0, "each counted: errors_total{name=forward.0,reason=too_large}")


if __name__ == "__main__":
    run([test_marker_times, test_deep_record, test_zstd_window])
