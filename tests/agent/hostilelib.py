# hostilelib.py: helpers for the hostile-client suites: client source addresses spread over 127.0.0.0/8, the descriptor limit, a good client that keeps being served (and times each answer), raw HTTP/1.1 exchanges, what many held connections were answered, refusal lines and counters.
import contextlib
import os
import re
import resource
import socket
import threading
import time
import urllib.request

from agentlib import curl


def agent_env():
    """The agent's environment for memory bounds: under ASan a small quarantine (16 MB instead
    of 256 MB), so RSS measures the agent's memory rather than ASan's store of freed blocks
    (other ASAN_OPTIONS, such as detect_leaks, are kept)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=16"}


def raise_nofile(want=40000):
    """Raise this process's RLIMIT_NOFILE soft limit (thousands of test connections need it;
    the agent raises its own). Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        soft = min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def source(i, per=400, base=10):
    """A loopback source address for client i: `per` clients share one (the agent caps
    connections and held polls per address), 127.<base>.x.y."""
    k = i // per
    return ("127.%d.%d.%d" % (base, k // 250, 1 + k % 250), 0)


def connect(port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind(src)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def raw(port, data, timeout=3, src=None):
    """Send bytes on a new connection; everything the agent answers until it closes or the time is up."""
    s = connect(port, src, timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return out


def count_answers(socks, prefix, timeout):
    """How many of socks answer, within `timeout` s each, with bytes that start with `prefix`
    (no answer in time, or a reset, counts as not)."""
    n = 0
    for s in socks:
        s.settimeout(timeout)
        try:
            n += s.recv(65536).startswith(prefix)
        except (socket.timeout, BlockingIOError, ConnectionResetError):
            pass
    return n


def count_closed(socks, timeout):
    """How many of socks the agent has closed (end of stream or reset within `timeout` s each)."""
    n = 0
    for s in socks:
        s.settimeout(timeout)
        try:
            n += s.recv(1) == b""
        except (socket.timeout, BlockingIOError):
            pass
        except ConnectionResetError:
            n += 1
    return n


def status_lines(resp):
    """How many status lines an answer holds (a well-formed single answer has one)."""
    return len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", resp))


def fds(agent):
    return len(os.listdir("/proc/%d/fd" % agent.proc.pid))


def errors(agent, name, reason):
    """vivo_input_errors_total{name,reason} (0 when absent)."""
    _, _, body = curl(agent.url("ops", "/api/v1/metrics/prometheus"))
    m = re.search(r'^vivo_input_errors_total\{name="%s",reason="%s"\} (\S+)$' % (re.escape(name), reason), body.decode(), re.M)
    return float(m.group(1)) if m else 0.0


def refusal_lines(agent, where, reason):
    """The refusal logger's lines for (where, reason)."""
    return [l for l in agent.log().splitlines() if ("%s: refused " % where) in l and ("(reason %s;" % reason) in l]


class GoodClient(threading.Thread):
    """A well-behaved client on the same agent all along: it reads the exporter and posts a
    record, on fresh connections from its own address (127.0.0.1), and keeps the slowest
    answer and every failure. The suites assert it was answered within a second throughout."""

    def __init__(self, agent, post=True, pause=0.05):
        super().__init__(daemon=True)
        self.agent, self.post, self.pause = agent, post, pause
        self.worst, self.count, self.failures = 0.0, 0, []
        self.stop_ev = threading.Event()

    def one(self, req):
        t0 = time.time()
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                r.read()
                ok = r.status in (200, 201)
        except Exception as e:  # noqa: BLE001 - any failure is what we record
            ok = False
            self.failures.append("%s: %s" % (req.full_url if hasattr(req, "full_url") else req, e))
        dt = time.time() - t0
        self.worst = max(self.worst, dt)
        self.count += 1
        if not ok and not self.failures:
            self.failures.append("not 200/201: %s" % req)

    def run(self):
        ex = self.agent.url("exporter", "/api/v1/info")
        http = self.agent.url("http", "/good") if self.post and "http" in self.agent.ports else None
        while not self.stop_ev.is_set():
            self.one(ex)
            if http:
                self.one(urllib.request.Request(http, data=b'{"good":1}', headers={"Content-Type": "application/json"}))
            time.sleep(self.pause)

    def finish(self):
        self.stop_ev.set()
        self.join(30)
        return self


def check_good(t, g, what):
    """The good client's verdict for one case."""
    t.ok(g.count > 0 and not g.failures and g.worst < 1.0,
         "%s: a good client was answered %d times, the slowest in %.3f s (< 1 s), never refused" % (what, g.count, g.worst),
         g.failures[:3])


@contextlib.contextmanager
def good_client(t, agent, what, post=True):
    """A GoodClient on `agent` through the block; after it, the client stops and check_good gives
    the case's verdict on it (an exception out of the block stops the client and goes on)."""
    g = GoodClient(agent, post=post)
    g.start()
    try:
        yield g
    finally:
        g.finish()
    check_good(t, g, what)
