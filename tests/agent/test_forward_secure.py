#!/usr/bin/python3
# test_forward_secure.py: secure forward (HELO/PING/PONG, SHA-512) replaying Fluent Bit 5.1.1's shared-key frames, refusals, and TLS.
import hashlib
import os
import socket
import ssl

import msgpack

from agentlib import FIXTURES, Agent, run, tls_input
from fwdlib import closed_by_peer, connect, expected_logs, lines, metric, next_id, pack, recv_obj, wait_for

FWD = ("forward", "exporter", "ops")
KEY = b"secret123"  # what the capture's Fluent Bit was configured with


def fixture(n):
    return open(os.path.join(FIXTURES, "forward-logs-sharedkey-%02d.msgpack" % n), "rb").read()


def sha512_hex(*parts):
    h = hashlib.sha512()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def read_helo(s):
    up = msgpack.Unpacker(raw=True)
    helo = recv_obj(s, up)
    return helo


def fluent_bit_ping(captured, nonce, key=KEY):
    """The PING Fluent Bit sends, rebuilt for this server's nonce: the captured message's hostname and
    shared_key_salt (a fixstr of 16 non-UTF-8 bytes), its empty user, the digests recomputed."""
    up = msgpack.Unpacker(raw=True)
    up.feed(captured)
    ping, host, salt, _, user, _ = next(iter(up))
    assert ping == b"PING" and len(salt) == 16
    msg = [b"PING", host, salt, sha512_hex(salt, host, nonce, key).encode(), user, sha512_hex(b"", user, b"").encode()]
    return msgpack.packb(msg, use_bin_type=False), host, salt


def test_fluent_bit_shared_key_replay(t):
    conf = ("pipeline:\n  inputs:\n    - name: forward\n      shared_key: secret123\n      self_hostname: vivo-server\n")
    with Agent(config=conf, expect=FWD) as a:
        # Fluent Bit's two connections: PING -01 then frame -02; PING -03 then frames -04, -05.
        want = []
        for ping_no, frames in ((1, (2,)), (3, (4, 5))):
            s = connect(a)
            helo = read_helo(s)
            t.ok(isinstance(helo, list) and helo[0] == b"HELO" and len(helo[1][b"nonce"]) == 16 and helo[1][b"auth"] == b""
                 and helo[1][b"keepalive"] is True, "server speaks first: HELO with a 16-byte nonce, empty auth, keepalive", helo)
            nonce = helo[1][b"nonce"]
            ping, host, salt = fluent_bit_ping(fixture(ping_no), nonce)
            s.sendall(ping)
            pong = recv_obj(s, msgpack.Unpacker(raw=True))
            t.eq(pong, [b"PONG", True, b"", b"vivo-server", sha512_hex(salt, b"vivo-server", nonce, KEY).encode()],
                 "PONG true with sha512(salt + self_hostname + nonce + key) for PING -%02d" % ping_no)
            for n in frames:
                raw = fixture(n)
                s.sendall(raw)
                want.append(expected_logs(raw))
            t.ok(wait_for(lambda: next_id(a, "logs") >= len(want)), "frames after the handshake stored")
            s.close()
        chunks = lines(a, "/api/v1/logs")
        t.eq([(c["tag"], c["records"]) for c in chunks], [(tag, recs) for tag, recs in want],
             "sharedkey-02, -04, -05: the right records in the logs stream")
        t.eq(sum(len(r) for _, r in want), 10, "10 dummy records in all")

        # The captured PING as is answers another nonce: refused, told, closed, counted.
        s = connect(a)
        read_helo(s)
        s.sendall(fixture(1))
        pong = recv_obj(s, msgpack.Unpacker(raw=True))
        t.eq(pong, [b"PONG", False, b"shared_key mismatch", b"", b""], "a replayed PING is refused: PONG false with the reason")
        t.ok(closed_by_peer(s), "and the connection is closed")
        s.close()
        # A frame instead of a PING.
        s = connect(a)
        read_helo(s)
        s.sendall(fixture(2))
        pong = recv_obj(s, msgpack.Unpacker(raw=True))
        t.ok(pong and pong[0] == b"PONG" and pong[1] is False, "records before the handshake: PONG false", pong)
        t.ok(closed_by_peer(s), "and closed")
        s.close()
        t.ok(wait_for(lambda: metric(a, "errors_total") == 2.0), "two failed handshakes counted")
        t.ok("secure forward handshake failed" in a.log() and "127.0.0.1:" in a.log(), "logged with the peer address")
        t.eq(next_id(a, "logs"), 3, "nothing stored from them")


def test_users(t):
    conf = ("pipeline:\n  inputs:\n    - name: forward\n      shared_key: k\n      security.users: alice pw1\n")
    with Agent(config=conf, expect=FWD) as a:
        def attempt(user, password, key=b"k"):
            s = connect(a)
            helo = read_helo(s)
            nonce, salt = helo[1][b"nonce"], helo[1][b"auth"]
            ping = [b"PING", b"client", b"salty", sha512_hex(b"salty", b"client", nonce, key).encode(),
                    user, sha512_hex(salt, user, password).encode()]
            s.sendall(msgpack.packb(ping, use_bin_type=False))
            pong = recv_obj(s, msgpack.Unpacker(raw=True))
            return s, helo, pong

        s, helo, pong = attempt(b"alice", b"pw1")
        t.eq(len(helo[1][b"auth"]), 16, "users configured: HELO carries a 16-byte auth salt")
        t.ok(pong and pong[1] is True, "right user and password: PONG true", pong)
        s.sendall(pack(["u", 1, {"a": 1}, {"chunk": "c"}]))
        t.eq(recv_obj(s), {"ack": "c"}, "then frames are acked")
        s.close()
        for user, pw, key, why in ((b"alice", b"pw2", b"k", b"username/password mismatch"),
                                   (b"eve", b"pw1", b"k", b"username/password mismatch"),
                                   (b"alice", b"pw1", b"K", b"shared_key mismatch")):
            s, _, pong = attempt(user, pw, key)
            t.eq(pong, [b"PONG", False, why, b"", b""], "%s/%s/%s refused: %s" % (user, pw, key, why.decode()))
            t.ok(closed_by_peer(s), "closed")
            s.close()
        t.eq(metric(a, "errors_total"), 3.0, "three refusals counted")


def test_tls(t):
    with tls_input("forward") as (crt, key, conf):
        with Agent(config=conf, expect=FWD) as a:
            ctx = ssl.create_default_context(cafile=crt)

            def tls_conn():
                raw = socket.create_connection(("127.0.0.1", a.ports["forward"]), timeout=10)
                return ctx.wrap_socket(raw, server_hostname="localhost")

            s = tls_conn()
            big = [[1700000000 + i, {"i": i, "pad": "p" * 200}] for i in range(2000)]
            s.sendall(pack(["tls", big, {"chunk": "t1"}]))
            t.eq(recv_obj(s), {"ack": "t1"}, "TLS: a 450 KB Forward frame acked")
            for i in range(50):
                s.sendall(pack(["tls.m", i, {"m": i}, {"chunk": "m%d" % i}]))
            acks = [recv_obj(s) for _ in range(50)]
            t.eq(acks, [{"ack": "m%d" % i} for i in range(50)], "TLS: 50 pipelined Message frames, acks in order")
            # A plain client on the TLS port fails its handshake; TLS clients carry on.
            p = connect(a)
            p.sendall(pack(["plain", 1, {"a": 1}, {"chunk": "x"}]))
            t.ok(closed_by_peer(p), "plain TCP on a TLS listener: closed")
            p.close()
            t.ok(wait_for(lambda: metric(a, "errors_total") == 1.0), "counted as an error")
            t.ok("TLS handshake failed" in a.log(), "logged as a TLS handshake failure")
            s.sendall(pack(["tls.m", 99, {"m": 99}, {"chunk": "after"}]))
            t.eq(recv_obj(s), {"ack": "after"}, "the TLS client was not affected")
            t.eq(next_id(a, "logs"), 52, "all TLS frames stored")
            s.close()


if __name__ == "__main__":
    run([test_fluent_bit_shared_key_replay, test_users, test_tls])
