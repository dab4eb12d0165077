#!/usr/bin/python3
# test_forward.py: black-box tests of the Forward input (spec agent.md 4.1): every mode, time form and option, acks after storage, compression, metrics and traces, and a replay of a real Fluent Bit 5.1.1's frames.
import glob
import gzip
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time

import msgpack

from agentlib import FIXTURES, Agent, run
from fwdlib import (connect, event_time, expected_logs, get, gzip_members, lines, metric, next_id, pack,
                    recv_obj, signal_contexts, wait_for)

FWD = ("forward", "exporter", "ops")


def v1_chunks(a, frm=0):
    return lines(a, "/api/v1/logs?from=%d" % frm)


def wait_chunks(a, stream, n, timeout=10):
    return wait_for(lambda: next_id(a, stream) >= n, timeout)


def test_fixture_replay(t):
    """Every frame Fluent Bit 5.1.1 sent (but the secure-forward ones, see test_forward_secure.py),
    replayed byte for byte, lands in the right stream with the right records, in order."""
    files = sorted(f for f in glob.glob(os.path.join(FIXTURES, "forward-*.msgpack")) if "sharedkey" not in f)
    t.ok(len(files) >= 28, "found %d Forward fixtures" % len(files))
    with Agent(expect=FWD) as a:
        # Two keep-alive connections, like Fluent Bit's two output workers; each frame
        # waits for the previous one to be stored so the order is known.
        socks = [connect(a), connect(a)]
        want_logs, want_metrics, want_traces, acks_ok = [], [], [], True
        for i, path in enumerate(files):
            raw = open(path, "rb").read()
            s = socks[i % 2]
            s.sendall(raw)
            if "-logs-" in path:
                want_logs.append((os.path.basename(path),) + expected_logs(raw))
                stream, n = "logs", len(want_logs)
            elif "-metrics-" in path:
                want_metrics.extend(signal_contexts(raw)[1])
                stream, n = "metrics", len([p for p in files[:i + 1] if "-metrics-" in p])
            else:
                want_traces.extend(signal_contexts(raw)[1])
                stream, n = "traces", len([p for p in files[:i + 1] if "-traces-" in p])
            if "-ack-" in path:
                up = msgpack.Unpacker(raw=False)
                up.feed(raw)
                chunk = next(iter(up))[2]["chunk"]
                reply = recv_obj(s)
                acks_ok = acks_ok and reply == {"ack": chunk}
            t.ok(wait_chunks(a, stream, n), "%s stored in %s" % (os.path.basename(path), stream))
        t.ok(acks_ok, "every require_ack_response frame was acked with its chunk")
        chunks = v1_chunks(a)
        t.eq(len(chunks), len(want_logs), "one logs chunk per logs frame")
        for (name, tag, recs), c in zip(want_logs, chunks):
            t.ok(c["tag"] == tag and c["records"] == recs and c["source_type"] == "forward" and c["source_name"] == "forward.0",
                 "%s: v1 chunk has the frame's records" % name, "got:  %s\nwant: %s" % (json.dumps(c)[:900], json.dumps(recs)[:900]))
        legacy = lines(a, "/logs")
        want_legacy = [[[ts, dict({"_tag": tag}, **meta)], body] for _, tag, recs in want_logs for (ts, meta), body in recs]
        t.eq(legacy, want_legacy, "legacy /logs lines: [[ts, {_tag, meta...}], body] for every record")
        t.eq(lines(a, "/metrics"), want_metrics, "every cmetrics context, one /metrics line each (plain, gzip, fluentd_compat, OTLP-fed)")
        t.eq(lines(a, "/traces"), want_traces, "every ctraces context, one /traces line each (plain, gzip, fluentd_compat)")
        t.eq(metric(a, "errors_total"), 0.0, "no errors counted")
        t.eq(metric(a, "chunks_total"), float(len(files)), "one chunk per frame")
        for s in socks:
            s.close()


def test_modes_and_times(t):
    with Agent(expect=FWD) as a:
        s = connect(a)
        ns = 1700000000123456789
        frames = [
            # Message mode: integer, float and EventTime times.
            pack(["m.int", 1700000000, {"a": 1}]),
            pack(["m.float", 1700000000.25, {"a": 2}]),
            pack(["m.event", event_time(ns), {"a": 3}]),
            # Message mode with options: metadata, size, an unknown key.
            pack(["m.opts", 1700000000, {"a": 4}, {"size": 1, "metadata": {"k8s": {"pod": "p"}}, "x-unknown": [1, {}]}]),
            # Forward mode: [time, record] and [[time, metadata], record].
            pack(["f", [[1700000000, {"b": 1}], [[event_time(ns), {"m": True}], {"b": 2}], [1700000000.5, {"b": 3}]]]),
            # PackedForward (bin and str payloads) and CompressedPackedForward (gzip, two members).
            pack(["p.bin", pack([event_time(ns), {"c": 1}]) + pack([[1, {"mm": 1}], {"c": 2}])]),
            msgpack.packb(["p.str", pack([2, {"c": 3}])], use_bin_type=False),
            pack(["p.gz", gzip_members(pack([3, {"d": 1}]), pack([4, {"d": 2}]) + pack([5, {"d": 3}])),
                  {"compressed": "gzip", "size": 3}]),
            pack(["p.text", pack([6, {"d": 4}]), {"compressed": "text"}]),
        ]
        s.sendall(b"".join(frames))
        t.ok(wait_chunks(a, "logs", len(frames)), "%d frames, %d chunks" % (len(frames), len(frames)))
        got = lines(a, "/logs")
        want = [
            [[1700000000 * 10**9, {"_tag": "m.int"}], {"a": 1}],
            [[1700000000250000000, {"_tag": "m.float"}], {"a": 2}],
            [[ns, {"_tag": "m.event"}], {"a": 3}],
            [[1700000000 * 10**9, {"_tag": "m.opts", "k8s": {"pod": "p"}}], {"a": 4}],
            [[1700000000 * 10**9, {"_tag": "f"}], {"b": 1}],
            [[ns, {"_tag": "f", "m": True}], {"b": 2}],
            [[1700000000500000000, {"_tag": "f"}], {"b": 3}],
            [[ns, {"_tag": "p.bin"}], {"c": 1}],
            [[10**9, {"_tag": "p.bin", "mm": 1}], {"c": 2}],
            [[2 * 10**9, {"_tag": "p.str"}], {"c": 3}],
            [[3 * 10**9, {"_tag": "p.gz"}], {"d": 1}],
            [[4 * 10**9, {"_tag": "p.gz"}], {"d": 2}],
            [[5 * 10**9, {"_tag": "p.gz"}], {"d": 3}],
            [[6 * 10**9, {"_tag": "p.text"}], {"d": 4}],
        ]
        t.eq(got, want, "every mode and time form decodes to the right records")
        body = get(a, "/logs?from=2&to=2")[2]
        t.eq(body, b'[[1700000000123456789,{"_tag":"m.event"}],{"a":3}]\n', "EventTime nanoseconds exact in the legacy line")
        chunks = v1_chunks(a)
        t.eq([c["tag"] for c in chunks], ["m.int", "m.float", "m.event", "m.opts", "f", "p.bin", "p.str", "p.gz", "p.text"],
             "one chunk per frame, tagged by the frame")
        t.eq(chunks[4]["records"][1], [[ns, {"m": True}], {"b": 2}], "v1: metadata without _tag")
        # Non-minimal headers: array32/map32/str32 everywhere, like Fluent Bit's options map32.
        raw = (b"\xdd\x00\x00\x00\x03" + b"\xdb\x00\x00\x00\x02nm" + b"\xdd\x00\x00\x00\x01"
               + b"\xdd\x00\x00\x00\x02" + b"\xce\x00\x00\x00\x07" + b"\xdf\x00\x00\x00\x01\xa1k\xa1v"
               + b"\xdf\x00\x00\x00\x01\xa5chunk\xa2id")
        s.sendall(raw)
        t.eq(recv_obj(s), {"ack": "id"}, "non-minimal msgpack headers are accepted (acked)")
        t.eq(lines(a, "/logs?from=9"), [[[7 * 10**9, {"_tag": "nm"}], {"k": "v"}]], "non-minimal frame stored")
        s.close()


def test_zstd(t):
    if not shutil.which("zstd"):
        t.skip("zstd CompressedPackedForward", "the zstd program is not installed")
        return
    payload = pack([1, {"z": 1}]) + pack([2, {"z": 2}])
    one = subprocess.run(["zstd", "-q", "-c"], input=payload, stdout=subprocess.PIPE, check=True, timeout=30).stdout
    with Agent(expect=FWD) as a:
        s = connect(a)
        s.sendall(pack(["z", one + one, {"compressed": "zstd", "chunk": "zz"}]))
        reply = recv_obj(s)
        if reply is None and "not supported by this build" in a.log():
            t.skip("zstd CompressedPackedForward", "this build has no libzstd")
            return
        t.eq(reply, {"ack": "zz"}, "zstd frame acked")
        t.eq([r[1] for r in lines(a, "/logs")], [{"z": 1}, {"z": 2}] * 2, "zstd: two concatenated frames decoded")


def test_ack_after_storage(t):
    """The ack is sent only once the records are readable: check it, frame after frame."""
    with Agent(expect=FWD) as a:
        s = connect(a)
        bad = []
        for i in range(300):
            chunk = "chunk-%04d" % i
            mode = i % 3
            if mode == 0:
                frame = pack(["ack", i, {"i": i}, {"chunk": chunk}])
            elif mode == 1:
                frame = pack(["ack", [[i, {"i": i}]], {"chunk": chunk, "size": 1}])
            else:
                frame = pack(["ack", gzip.compress(pack([i, {"i": i}])), {"chunk": chunk, "compressed": "gzip"}])
            s.sendall(frame)
            reply = recv_obj(s)
            if reply != {"ack": chunk}:
                bad.append((i, "reply", reply))
                break
            # No waiting: the ack says the chunk is in the stream.
            got = lines(a, "/logs?from=%d&to=%d" % (i, i))
            if got != [[[i * 10**9, {"_tag": "ack"}], {"i": i}]]:
                bad.append((i, "read", got))
        t.ok(not bad, "300 acks (message, forward, gzip), each after its record was readable", bad[:5])
        # A frame that cannot be stored gets no ack: the connection closes instead.
        s.sendall(pack(["ack", 1, "not a map", {"chunk": "never"}]))
        t.ok(recv_obj(s, timeout=5) is None, "a bad frame is not acked")
        t.ok(wait_for(lambda: metric(a, "errors_total") == 1.0), "and counted as an error")
        s.close()


def test_batches_10k(t):
    n = 10000
    with Agent(expect=FWD) as a:
        s = connect(a)
        recs = [{"seq": i, "msg": "record number %d" % i} for i in range(n)]
        fw = pack(["batch.forward", [[event_time(1700000000 * 10**9 + i), r] for i, r in enumerate(recs)], {"chunk": "f"}])
        payload = b"".join(pack([[event_time(1700000000 * 10**9 + i), {}], r]) for i, r in enumerate(recs))
        pk = pack(["batch.packed", payload, {"chunk": "p", "size": n}])
        gz = pack(["batch.gzip", gzip.compress(payload), {"chunk": "g", "compressed": "gzip", "size": n}])
        for frame, ack in ((fw, "f"), (pk, "p"), (gz, "g")):
            s.sendall(frame)
            t.eq(recv_obj(s, timeout=30), {"ack": ack}, "batch %s acked" % ack)
        chunks = v1_chunks(a)
        for c, tag in zip(chunks, ("batch.forward", "batch.packed", "batch.gzip")):
            seqs = [r[1]["seq"] for r in c["records"]]
            times = [r[0][0] for r in c["records"]]
            t.ok(c["tag"] == tag and seqs == list(range(n)) and times == [1700000000 * 10**9 + i for i in range(n)],
                 "%s: %d records complete and in order in one chunk" % (tag, n), (c["tag"], len(seqs)))
        t.eq(metric(a, "records_total"), 3.0 * n, "records counted")
        s.close()


def cmetrics_ctx(name, summary=None):
    """A cmetrics context as Fluent Bit encodes it; summary quantile values and sum are the raw bits of doubles."""
    meta = {"ver": 2, "type": 0 if summary is None else 3, "opts": {"ns": "", "ss": "", "name": name, "desc": "d", "unit": ""},
            "labels": ["method"], "aggregation_type": 2}
    value = {"ts": 1700000000000000000, "value": 3.0, "labels": ["GET"], "hash": 18446744073709551557}
    if summary is not None:
        bits = lambda d: struct.unpack("<Q", struct.pack("<d", d))[0]  # noqa: E731
        meta["quantiles"] = [0.5, 0.9]
        value = {"ts": 1700000000000000000, "labels": ["GET"], "hash": 1,
                 "summary": {"quantiles_set": 1, "quantiles": [bits(q) for q in summary], "count": 4, "sum": bits(10.5)}}
    return {"meta": {"cmetrics": {}, "external": {}, "processing": {"static_labels": []}},
            "metrics": [{"meta": meta, "values": [value]}]}


def test_metrics_traces(t):
    with Agent(expect=FWD) as a:
        s = connect(a)
        c1, c2 = cmetrics_ctx("http_requests_total"), cmetrics_ctx("latency", summary=[1.25, 7.5])
        # Two contexts in one payload: both are kept (Fluent Bit keeps only the first).
        s.sendall(pack(["fm", pack(c1) + pack(c2), {"fluent_signal": 1, "chunk": "m"}]))
        t.eq(recv_obj(s), {"ack": "m"}, "metrics frame acked")
        got = lines(a, "/metrics")
        t.eq(len(got), 2, "every context of the payload is one /metrics line")
        t.eq(got[0], c1, "counter context unchanged")
        summ = got[1]["metrics"][0]["values"][0]["summary"]
        t.eq(summ, {"quantiles_set": 1, "quantiles": [1.25, 7.5], "count": 4, "sum": 10.5}, "summary quantiles and sum are real numbers")
        body = get(a, "/metrics")[2]
        t.ok(b'"hash":18446744073709551557' in body, "uint64 hash printed exactly")
        # Traces, Forward mode as fluentd_compat sends them, with IDs in upper case and as bin.
        span = {"trace_id": "5B8EFFF798038103D269B633813FC60C", "span_id": bytes.fromhex("eee19b7ec3c1b174"),
                "parent_span_id": None, "name": "GET /"}
        ctx = {"resourceSpans": [{"resource": {"attributes": {"service.name": "x"}}, "scope_spans": [{"spans": [span]}]}]}
        s.sendall(pack(["ft", [[event_time(10**18), [ctx]]], {"fluent_signal": 2, "chunk": "t"}]))
        t.eq(recv_obj(s), {"ack": "t"}, "traces frame acked")
        tr = lines(a, "/traces")
        sp = tr[0]["resourceSpans"][0]["scope_spans"][0]["spans"][0]
        t.eq((sp["trace_id"], sp["span_id"], sp["parent_span_id"]), ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", None),
             "trace IDs as lowercase hex, null parent")
        # A payload that is not a cmetrics context is a bad frame.
        s.sendall(pack(["fm", pack({"hello": 1}), {"fluent_signal": 1, "chunk": "x"}]))
        t.ok(recv_obj(s, timeout=5) is None, "a non-cmetrics payload is refused (no ack, closed)")
        t.ok("not a cmetrics context" in a.log() and "127.0.0.1:" in a.log(), "logged with the reason and the peer")
        s.close()


def test_tags_and_unix_socket(t):
    d = tempfile.mkdtemp(prefix="vivo-fwd-")
    path = os.path.join(d, "fwd.sock")
    conf = ("pipeline:\n  inputs:\n"
            # The TCP instance comes last: its "listening forward" line is the one the test reads.
            "    - name: forward\n      alias: fixed\n      tag: fixed.tag\n      unix_path: %s\n      unix_perm: '0600'\n"
            "    - name: forward\n      tag_prefix: pre.\n" % path)
    try:
        with Agent(config=conf, expect=FWD) as a:
            s = connect(a)
            s.sendall(pack(["app", 1, {"a": 1}, {"chunk": "1"}]))
            t.eq(recv_obj(s), {"ack": "1"}, "acked")
            t.ok(wait_for(lambda: os.path.exists(path)), "unix socket created")
            t.eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "unix_perm applied")
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.settimeout(10)
            u.connect(path)
            u.sendall(pack(["orig", 2, {"b": 2}, {"chunk": "2"}]))
            t.eq(recv_obj(u), {"ack": "2"}, "unix socket: acked")
            chunks = v1_chunks(a)
            t.eq([(c["tag"], c["source_name"]) for c in chunks], [("pre.app", "forward.1"), ("fixed.tag", "fixed")],
                 "tag_prefix and tag override; alias is the source_name")
            u.close()
            s.close()
        t.ok(not os.path.exists(path), "unix socket removed at exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_errors(t):
    for conf, want in (
        ("pipeline:\n  inputs:\n    - name: forward\n      tls: on\n", "tls.crt_file"),
        ("pipeline:\n  inputs:\n    - name: forward\n      security.users: bob pw\n", "shared_key"),
        ("pipeline:\n  inputs:\n    - name: forward\n      shared_key: k\n      security.users: bob\n", "no password"),
        ("pipeline:\n  inputs:\n    - name: forward\n      unix_path: /tmp/x.sock\n      unix_perm: rwx\n", "octal"),
    ):
        try:
            with Agent(config=conf, expect=FWD, timeout=5) as a:
                a.stop()
                t.ok(False, "refused: %s" % want)
        except RuntimeError as e:
            t.ok(want in str(e), "config error names the problem (%s)" % want, str(e)[-400:])
        t.ok(not os.path.exists(Agent.last_tmp), "the refused agent's folder is removed (%s)" % want, Agent.last_tmp)


if __name__ == "__main__":
    run([test_fixture_replay, test_modes_and_times, test_zstd, test_ack_after_storage, test_batches_10k,
         test_metrics_traces, test_tags_and_unix_socket, test_config_errors])
