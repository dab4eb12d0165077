#!/usr/bin/python3
# test_forward_interop.py: the Forward input against real Fluentd clients: Debian's python3-fluent-logger and npm fluent-logger (Message, PackedForward, CompressedPackedForward, acks, secure forward, TLS), read back byte-exact.
import json
import os
import subprocess

from agentlib import Agent, npm_ci, run, tls_input
from fwdlib import connect, event_time, get, lines, metric, next_id, pack, recv_obj, wait_for

FWD = ("forward", "exporter", "ops")
TOP = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NODE_DIR = os.path.join(TOP, "tests", "agent", "node")

# Values whose JSON form is fixed by spec 3.1 and equal to Python's compact json.dumps.
RECORD = {"message": "h\u00e9llo \U0001f600 \u4e16\u754c", "int": -42, "big": 18446744073709551615, "f": 1.5,
          "neg": -0.25, "t": True, "no": False, "n": None, "list": [1, "a", {"x": []}],
          "nested": {"k": {"k2": "v"}}, "esc": "quote\" back\\ nl\n tab\t ctl\x01 del\x7f"}


def jdump(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def legacy_line(ts, tag, rec):
    return ('[[%d,{"_tag":%s}],%s]\n' % (ts, jdump(tag), jdump(rec))).encode()


def v1_object(tag, recs):
    return ('{"source_type":"forward","source_name":"forward.0","tag":%s,"records":[%s]}\n'
            % (jdump(tag), ",".join("[[%d,{}],%s]" % (ts, jdump(r)) for ts, r in recs))).encode()


def test_python_fluent_logger(t):
    from fluent import sender

    with Agent(expect=FWD) as a:
        port = a.ports["forward"]
        s1 = sender.FluentSender("py", host="127.0.0.1", port=port, timeout=5)
        s2 = sender.FluentSender("pyns", host="127.0.0.1", port=port, timeout=5, nanosecond_precision=True)
        # Two senders are two connections, read by the agent in whatever order they arrive: the
        # second sends only once the first one's record is stored, so the order below is fixed.
        t.ok(s1.emit_with_time("app", 1700000000, RECORD), "python sender: integer time sent", s1.last_error)
        t.ok(wait_for(lambda: next_id(a, "logs") >= 1), "the first sender's frame stored")
        t.ok(s2.emit_with_time("app", 1700000000.125, RECORD), "python sender (nanosecond_precision): EventTime sent", s2.last_error)
        t.ok(s2.emit_with_time(None, 1700000001.5, {"second": 2}), "python sender: tag without label")
        t.ok(wait_for(lambda: next_id(a, "logs") >= 3), "three Message frames stored")
        want = (legacy_line(1700000000 * 10**9, "py.app", RECORD) + legacy_line(1700000000125000000, "pyns.app", RECORD)
                + legacy_line(1700000001500000000, "pyns", {"second": 2}))
        t.eq(get(a, "/logs")[2], want, "/logs reads back byte-exact (unicode, uint64, floats, escapes; int and EventTime times)")
        want_v1 = (v1_object("py.app", [(1700000000 * 10**9, RECORD)]) + v1_object("pyns.app", [(1700000000125000000, RECORD)])
                   + v1_object("pyns", [(1700000001500000000, {"second": 2})]))
        t.eq(get(a, "/api/v1/logs")[2], want_v1, "/api/v1/logs reads back byte-exact")
        # 10,000 Message-mode records from the real client, in order.
        n = 10000
        for i in range(n):
            if not s1.emit_with_time("bulk", 1700000000 + i, {"seq": i}):
                break
        t.ok(wait_for(lambda: next_id(a, "logs") >= 3 + n, timeout=60), "10,000 Message-mode records stored")
        seqs = [r[1]["seq"] for r in lines(a, "/logs?from=3")]
        t.eq(seqs, list(range(n)), "10,000 Message-mode records complete and in order")
        s1.close()
        s2.close()
        t.eq(metric(a, "errors_total"), 0.0, "no errors")


def node_ready():
    """(True, "") when npm fluent-logger can run; installs it from package-lock.json if needed."""
    why = npm_ci(NODE_DIR, timeout=300)
    return why is None, why or ""


def node_send(job, timeout=90):
    p = subprocess.run(["node", os.path.join(NODE_DIR, "send.js")], input=json.dumps(job).encode(), cwd=NODE_DIR,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    try:
        return p.returncode, json.loads(p.stdout.decode().strip().splitlines()[-1])["errors"]
    except (ValueError, IndexError):
        return p.returncode, [p.stdout.decode()[-500:], p.stderr.decode()[-500:]]


NODE_REC = {"message": "h\u00e9llo from node \U0001f680", "int": 42, "neg": -7, "f": 0.5, "t": True, "n": None,
            "arr": [1, "two", {"three": 3}], "o": {"k": "v"}}


def test_node_fluent_logger(t):
    ready, why = node_ready()
    if not ready:
        t.skip("npm fluent-logger interop", why)
        return
    with Agent(expect=FWD) as a:
        port = a.ports["forward"]
        # Message mode with acks: EventTime and integer times.
        rc, errs = node_send({"port": port, "mode": "Message", "ack": True, "records": [
            {"tag": "node.msg", "time": [1700000000, 123456789], "record": NODE_REC},
            {"tag": "node.msg", "time": 1700000001, "record": NODE_REC}]})
        t.ok(rc == 0 and not errs, "node Message mode with requireAckResponse: acked", errs)
        t.eq(get(a, "/logs")[2], legacy_line(1700000000123456789, "node.msg", NODE_REC) + legacy_line(1700000001 * 10**9, "node.msg", NODE_REC),
             "node Message records read back byte-exact")
        # PackedForward: a batch of 10,000 in one frame, acked.
        n = 10000
        recs = [{"tag": "node.packed", "time": [1700000000 + i // 1000, (i % 1000) * 1000], "record": {"seq": i, "pad": "x" * 40}}
                for i in range(n)]
        rc, errs = node_send({"port": port, "mode": "PackedForward", "ack": True, "records": recs})
        t.ok(rc == 0 and not errs, "node PackedForward of 10,000 records acked", errs)
        base = 2
        chunks = lines(a, "/api/v1/logs?from=%d" % base)
        got = [(r[0][0], r[1]["seq"]) for c in chunks if c["tag"] == "node.packed" for r in c["records"]]
        t.eq(got, [((1700000000 + i // 1000) * 10**9 + (i % 1000) * 1000, i) for i in range(n)],
             "PackedForward: 10,000 records complete, in order, with their EventTimes")
        # CompressedPackedForward (gzip).
        before = next_id(a, "logs")
        rc, errs = node_send({"port": port, "mode": "CompressedPackedForward", "ack": True, "records": [
            {"tag": "node.gz", "time": [1700000002, 5], "record": dict(NODE_REC, i=i)} for i in range(100)]})
        t.ok(rc == 0 and not errs, "node CompressedPackedForward acked", errs)
        got = b"".join(get(a, "/logs?from=%d" % before)[2].splitlines(keepends=True))
        t.eq(got, b"".join(legacy_line(1700000002 * 10**9 + 5, "node.gz", dict(NODE_REC, i=i)) for i in range(100)),
             "CompressedPackedForward records byte-exact")
        t.eq(metric(a, "errors_total"), 0.0, "no errors")


def test_node_secure_forward_and_tls(t):
    ready, why = node_ready()
    if not ready:
        t.skip("npm fluent-logger secure forward", why)
        return
    with tls_input("forward", "      shared_key: s3cr3t\n      self_hostname: vivo-test\n"
                   "      security.users:\n        - alice wonderland\n        - bob builder\n") as (crt, key, conf):
        with Agent(config=conf, expect=FWD) as a:
            port = a.ports["forward"]
            sec = {"clientHostname": "node-client", "sharedKey": "s3cr3t", "username": "bob", "password": "builder"}
            rc, errs = node_send({"port": port, "tls": {"ca": crt}, "security": sec, "mode": "Message", "ack": True,
                                  "records": [{"tag": "sec", "time": 1700000000, "record": {"ok": i}} for i in range(3)]})
            t.ok(rc == 0 and not errs, "node over TLS with shared key and user/password: acked", errs)
            t.eq([r[1] for r in lines(a, "/logs")], [{"ok": 0}, {"ok": 1}, {"ok": 2}], "records stored")
            rc, errs = node_send({"port": port, "tls": {"ca": crt}, "mode": "PackedForward", "ack": True, "expectError": True,
                                  "security": dict(sec, password="wrong"), "timeoutMs": 15000,
                                  "records": [{"tag": "sec", "time": 1700000000, "record": {"bad": 1}}]})
            t.ok(any("username/password mismatch" in e for e in errs), "wrong password: the client is told why", errs)
            rc, errs = node_send({"port": port, "tls": {"ca": crt}, "mode": "Message", "ack": True, "expectError": True,
                                  "security": dict(sec, sharedKey="nope"), "timeoutMs": 15000,
                                  "records": [{"tag": "sec", "time": 1700000000, "record": {"bad": 2}}]})
            t.ok(any("shared_key mismatch" in e for e in errs), "wrong shared key: the client is told why", errs)
            t.ok(wait_for(lambda: metric(a, "errors_total") == 2.0), "two failed handshakes counted", metric(a, "errors_total"))
            # The refusal logger writes one line per address and reason a minute (the second
            # failure, from the same address, is in the count of the next line).
            t.ok("username/password mismatch" in a.log() and "refused 127.0.0.1:" in a.log() and "(reason auth_failed;" in a.log(),
                 "the first failed handshake logged with the peer address and its reason")
            t.eq([r[1] for r in lines(a, "/logs")], [{"ok": 0}, {"ok": 1}, {"ok": 2}], "nothing stored from refused clients")


if __name__ == "__main__":
    run([test_python_fluent_logger, test_node_fluent_logger, test_node_secure_forward_and_tls])
