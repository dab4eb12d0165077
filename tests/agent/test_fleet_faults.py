#!/usr/bin/python3
# test_fleet_faults.py: the vivo input under faults: upstream and follower restarts, evictions while stopped, unreachable upstreams, dns: discovery.
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

from agentlib import AGENT, PORT_FLAGS, WRAPPER, Agent, post_json, run
from fleetlib import (exporter_url, follow_metric, followed_records, free_port, get, info, instance, sources, v1_chunks,
                      wait_until)


def values(f, u, key="i"):
    return [r[1][key] for _, r in followed_records(f, instance(u))]


def test_upstream_restart(t):
    port = free_port()
    u = Agent(args=["--exporter-port", str(port)], expect=("http", "exporter", "ops"))
    try:
        with Agent(args=["--follow", "http://127.0.0.1:%d" % port]) as f:
            for i in range(5):
                post_json(u, "/r", {"i": i})
            wait_until(lambda: len(values(f, u)) == 5, what="first run followed")
            first_boot = info(u)["boot_id"]
            u.proc.kill()
            u.proc.wait()
            u.stop()
            u = Agent(args=["--exporter-port", str(port)], expect=("http", "exporter", "ops"))
            second_boot = info(u)["boot_id"]
            for i in range(5, 10):
                post_json(u, "/r", {"i": i})
            wait_until(lambda: len(values(f, u)) >= 10, timeout=20, what="second run followed")
            time.sleep(0.5)
            got = values(f, u)
            t.eq(got, list(range(10)), "killed and restarted upstream: both runs, nothing twice, in order")
            boots = [c["source"]["boot_id"] for c, _ in followed_records(f, instance(u))]
            t.ok(first_boot != second_boot and boots[:5] == [first_boot] * 5 and boots[5:] == [second_boot] * 5,
                 "the new run is followed from its oldest chunk, with its own boot_id")
            t.ok("restarted" in f.log(), "the follower logs the restart", f.log()[-800:])
        # The follower restarts: a new process starts from each upstream's oldest held chunk.
        with Agent(args=["--follow", "http://127.0.0.1:%d" % port]) as f2:
            wait_until(lambda: len(values(f2, u)) >= 5, what="restarted follower caught up")
            time.sleep(0.3)
            t.eq(values(f2, u), list(range(5, 10)), "a restarted follower starts from the oldest held chunk, once each")
    finally:
        u.stop()


def test_missed_while_stopped(t):
    # A small budget: the upstream keeps only a few of the chunks sent while the follower is stopped.
    with Agent(args=["--stream-queue-size", "1500"], expect=("http", "exporter", "ops")) as u:
        with Agent(args=["--follow", exporter_url(u)]) as f:
            post_json(u, "/m", {"i": 0, "pad": "x" * 40})
            wait_until(lambda: len(values(f, u)) == 1, what="first chunk followed")
            time.sleep(0.3)  # the follower's next poll is now held by the upstream
            f.signal(signal.SIGSTOP)
            try:
                for i in range(1, 61):
                    post_json(u, "/m", {"i": i, "pad": "x" * 40})
                held = info(u)["streams"]["logs"]
            finally:
                f.signal(signal.SIGCONT)
            wait_until(lambda: (sources(f).get(instance(u), {}).get("lag_chunks") == 0 and
                                values(f, u)[-1:] == [60]), what="caught up after SIGCONT")
            got = values(f, u)
            missed = follow_metric(f, "vivo_follow_missed_chunks_total", instance(u))
            expected = 61 - len(got)
            t.ok(held["evicted"] > 0 and expected > 0, "the upstream evicted chunks the follower had not read",
                 (held, len(got)))
            t.eq(missed, float(expected), "vivo_follow_missed_chunks_total counts exactly the chunks never fetched")
            t.eq(got, sorted(set(got)), "what was fetched is in order, nothing twice")
            t.ok(got[-held["chunks"]:] == list(range(61 - held["chunks"], 61)),
                 "every chunk the upstream still held was fetched")


class Blackhole:
    """A TCP listener that accepts connections and never answers (an upstream that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


def test_unreachable_does_not_delay(t):
    hole = Blackhole()
    refused = free_port()  # nothing listens there
    try:
        with Agent(expect=("http", "exporter", "ops")) as a, \
             Agent(args=["--follow", exporter_url(a), "--follow", "http://127.0.0.1:%d" % refused,
                         "--follow", "http://127.0.0.1:%d" % hole.port]) as f:
            wait_until(lambda: sources(f).get(instance(a), {}).get("state") == "following", what="a followed")
            delays, lags = [], []
            for i in range(8):
                t0 = time.time()
                post_json(a, "/live", {"i": i})
                wait_until(lambda i=i: i in values(f, a), timeout=5, step=0.01, what="record %d" % i)
                delays.append(time.time() - t0)
                lags.append(sources(f)[instance(a)]["lag_seconds"])
                time.sleep(0.4)
            s = sources(f)
            dead = s["127.0.0.1:%d" % refused]
            t.ok(max(delays) < 1.0, "records of the healthy upstream arrive in under 1 s while two are down "
                 "(max %.3f s)" % max(delays), delays)
            t.ok(max(lags) < 1.0, "its lag stays under 1 s (max %.3f s)" % max(lags), lags)
            t.ok(dead["state"] == "backoff" and dead["errors"] >= 2 and "onnect" in dead["last_error"],
                 "a refused upstream is in backoff with its error", dead)
            # 0.5 s doubling (jittered): in ~4 s of failures, at most 5 or so attempts, not a busy loop.
            t.ok(dead["errors"] <= 6, "the refused upstream backs off (%d attempts in ~4 s)" % dead["errors"])
            t.ok(s["127.0.0.1:%d" % hole.port]["state"] in ("connecting", "backoff"),
                 "an upstream that never answers is not followed", s["127.0.0.1:%d" % hole.port])
            t.eq(follow_metric(f, "vivo_follow_lag_chunks", instance(a)), 0.0, "vivo_follow_lag_chunks of the healthy one")
            t.ok(follow_metric(f, "vivo_follow_errors_total", "127.0.0.1:%d" % refused) >= 2,
                 "vivo_follow_errors_total of the refused one")
    finally:
        hole.close()


DNS_CONFIG = """pipeline:
  inputs:
    - name: http
      port: 0
    - name: vivo
      follow:
        - dns:a.fleet.test:%d
        - dns:b.fleet.test:%d
      refresh: 0.2
      grace: 1
  outputs:
    - name: vivo_exporter
      port: 0
"""


def test_dns_discovery(t):
    fd, hosts = tempfile.mkstemp(prefix="vivo-test-hosts-")
    os.close(fd)

    def write_hosts(text):
        tmp = hosts + ".new"
        with open(tmp, "w") as fh:
            fh.write("# written by test_fleet_faults.py\n" + text)
        os.replace(tmp, hosts)  # the resolver never sees half a file

    try:
        with contextlib.ExitStack() as stack:
            a = stack.enter_context(Agent(expect=("http", "exporter", "ops")))
            b = stack.enter_context(Agent(expect=("http", "exporter", "ops")))
            post_json(b, "/early", {"i": -1})  # before b is discovered: followed from its oldest chunk
            write_hosts("127.0.0.1 a.fleet.test\n")
            f = stack.enter_context(Agent(config=DNS_CONFIG % (a.ports["exporter"], b.ports["exporter"]),
                                          env={"VIVO_FOLLOW_HOSTS_FILE": hosts}))
            wait_until(lambda: sources(f).get(instance(a), {}).get("state") == "following", what="a discovered")
            t.ok(instance(b) not in sources(f), "b is not followed while no record names it")
            post_json(a, "/a", {"i": 0})
            wait_until(lambda: values(f, a) == [0], what="a's record")
            # b appears, with an IPv4 and an IPv6 record (nothing listens on [::1]: it backs off).
            write_hosts("127.0.0.1 a.fleet.test\n127.0.0.1 b.fleet.test\n::1 b.fleet.test\n")
            wait_until(lambda: sources(f).get(instance(b), {}).get("state") == "following", what="b discovered")
            wait_until(lambda: values(f, b) == [-1], what="b followed from its oldest chunk")
            s = sources(f)
            v6 = "[::1]:%d" % b.ports["exporter"]
            t.ok(v6 in s and s[v6]["discovered_by"] == "dns:b.fleet.test:%d" % b.ports["exporter"],
                 "AAAA records are followed too", sorted(s))
            t.ok(s[instance(b)]["discovered_by"] == "dns:b.fleet.test:%d" % b.ports["exporter"],
                 "a new upstream is picked up from DNS and followed from its oldest chunk")
            # a disappears: still followed during its grace, then dropped; its chunks stay.
            write_hosts("127.0.0.1 b.fleet.test\n")
            wait_until(lambda: sources(f).get(instance(a), {}).get("gone"), what="a marked gone")
            post_json(a, "/a", {"i": 1})
            wait_until(lambda: values(f, a) == [0, 1], what="a still followed during the grace")
            wait_until(lambda: instance(a) not in sources(f), timeout=10, what="a dropped after the grace")
            t.ok(True, "a removed upstream is dropped after its grace")
            t.eq(values(f, a), [0, 1], "its chunks stay after it is dropped")
            t.ok(v6 not in sources(f), "the removed AAAA upstream is dropped too")
            post_json(b, "/b", {"i": 2})
            wait_until(lambda: values(f, b) == [-1, 2], what="b still followed")
            t.ok("dropped upstream %s" % instance(a) in f.log(), "the drop is logged")
    finally:
        for p in (hosts, hosts + ".new"):
            if os.path.exists(p):
                os.unlink(p)


def test_bad_config(t):
    for args, what in ((["--follow", "ftp://x:1"], "only http"), (["--follow-dns", "name-without-port"], "dns:NAME:PORT"),
                       (["--follow", "http://x:1/?a=1"], "query")):
        p = subprocess.run(WRAPPER + [AGENT, "--listen", "127.0.0.1"] + PORT_FLAGS + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30)
        err = p.stderr.decode()
        t.ok(p.returncode != 0 and what in err, "%s refused: %s" % (" ".join(args), what), err[-300:])


if __name__ == "__main__":
    run([test_upstream_restart, test_missed_while_stopped, test_unreachable_does_not_delay, test_dns_discovery,
         test_bad_config])
