# agentlib.py: black-box test helpers: start vivo-agent on ephemeral ports, TAP output, curl, free ports, TLS inputs.
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

AGENT = os.environ.get("VIVO_AGENT") or os.path.join(os.path.dirname(__file__), "..", "..", "agent", "vivo-agent")
WRAPPER = os.environ.get("VIVO_WRAPPER", "").split()
FIXTURES = os.environ.get("FIXTURES") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "fluent-bit-5.1.1")
LISTEN_RE = re.compile(r"listening (\w+) on [0-9a-f.:]+:(\d+)")
PORT_FLAGS = ["--ui-port", "0", "--http-port", "0", "--exporter-port", "0", "--ops-port", "0",
              "--forward-port", "0", "--otlp-port", "0", "--otlp-grpc-port", "0"]


class Agent:
    """A running vivo-agent; ports maps listener names (http, exporter, ui, ops, ...) to ports."""

    last_tmp = None  # the folder of the Agent made last, also when its start failed (for tests)

    def __init__(self, args=(), config=None, expect=("http", "exporter", "ui", "ops"), timeout=10, env=None):
        self.tmp = Agent.last_tmp = tempfile.mkdtemp(prefix="vivo-test-")
        self.config_path = None
        self.proc = None
        self.errf = None
        self.log_cache = ""
        try:
            self._start(args, config, expect, timeout, env)
        except BaseException:
            # An agent that refuses to start (a config error a test expects, say) or never
            # comes up: the exception carries its log; nothing stays behind in TMPDIR.
            self.stop()
            raise

    def _start(self, args, config, expect, timeout, env):
        argv = list(WRAPPER) + [AGENT, "--listen", "127.0.0.1"] + PORT_FLAGS
        if config is not None:
            self.config_path = os.path.join(self.tmp, "vivo.yaml" if not config.lstrip().startswith("[") else "vivo.conf")
            with open(self.config_path, "w") as f:
                f.write(config)
            argv += ["--config", self.config_path]
        argv += list(args)
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.errf = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.errf, stdin=subprocess.DEVNULL,
                                     env=None if env is None else dict(os.environ, **env))
        self.ports = {}
        deadline = time.time() + timeout * (5 if WRAPPER else 1)
        while time.time() < deadline:
            self.ports = self._scan()
            if all(k in self.ports for k in expect) and "ready" in self.log():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("vivo-agent exited %s: %s" % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        else:
            raise RuntimeError("vivo-agent did not come up: %s" % self.log())

    def _scan(self):
        ports = {}
        for m in LISTEN_RE.finditer(self.log()):
            ports[m.group(1)] = int(m.group(2))
        return ports

    def log(self):
        """The agent's stderr so far (after stop, what it was when the agent ended)."""
        if self.errf is None or self.errf.closed:
            return self.log_cache
        with open(self.stderr_path) as f:
            return f.read()

    def rss_kb(self):
        """The agent's resident set size in kB (0 once it has exited)."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def url(self, listener, path="/"):
        return "http://127.0.0.1:%d%s" % (self.ports[listener], path)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM, wait; returns the exit code. Removes the agent's folder (KEEP=1 keeps it);
        log() still answers with what the agent wrote."""
        if self.proc is not None:
            terminate(self.proc, timeout * (5 if WRAPPER else 1))
        if self.errf is not None and not self.errf.closed:
            self.log_cache = self.log()
            self.errf.close()
        if os.environ.get("KEEP"):
            print("# KEEP: agent files kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return None if self.proc is None else self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        rc = self.stop()
        # A clean exit is part of every test: under ASan/LeakSanitizer or valgrind a
        # memory error or a leak shows up here as a non-zero status.
        if exc_type is None and rc != 0:
            raise RuntimeError("vivo-agent exited with status %s:\n%s" % (rc, self.log()[-3000:]))


def npm_ci(folder, timeout=600):
    """node_modules of `folder` from its package-lock.json (npm ci), once: None, or why not.
    Suites run in parallel (make -j) and several share a folder: the first takes an exclusive
    lock on the package-lock.json, installs, and the others find the install done."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node and npm are not installed"
    lock = os.path.join(folder, "package-lock.json")
    stamp = os.path.join(folder, "node_modules", ".package-lock.json")
    with open(lock) as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(lock):
            return None
        try:
            p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
        except (subprocess.SubprocessError, OSError) as e:
            return "npm ci in %s failed: %s" % (folder, e)
        if p.returncode != 0:
            return "npm ci in %s failed: %s" % (folder, p.stdout.decode(errors="replace")[-500:])
    return None


def terminate(proc, timeout):
    """SIGTERM a process still running and wait up to `timeout` s for it, then SIGKILL and wait;
    returns its exit code (negative for a signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def free_port():
    """An ephemeral port on 127.0.0.1 that was free a moment ago (for a peer or an agent that
    must listen on a port known in advance)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=30):
    """True once 127.0.0.1:port accepts a connection; False if proc exits or `timeout` s pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def self_signed_cert(folder):
    """A throwaway EC certificate for localhost and 127.0.0.1 in `folder`: (crt, key) paths."""
    crt, key = os.path.join(folder, "crt.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return crt, key


@contextlib.contextmanager
def tls_input(name, keys=""):
    """A throwaway certificate (self_signed_cert) in a folder of its own, removed after the block;
    yields (crt, key, config): a pipeline whose input `name` serves TLS with it, `keys` (YAML
    lines indented six spaces) before its tls keys."""
    d = tempfile.mkdtemp(prefix="vivo-tls-")
    try:
        crt, key = self_signed_cert(d)
        yield crt, key, ("pipeline:\n  inputs:\n    - name: %s\n%s      tls: on\n      tls.crt_file: %s\n"
                         "      tls.key_file: %s\n" % (name, keys, crt, key))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def curl(*args, data=None, timeout=30):
    """Run curl -s -i with args; returns (status, headers dict lower-case, body bytes)."""
    argv = ["curl", "-s", "-i", "--max-time", str(timeout)] + list(args)
    if data is not None:
        argv += ["--data-binary", "@-"]
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 5)
    if p.returncode != 0:
        raise RuntimeError("curl %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return parse_response(p.stdout)


def parse_response(raw):
    # Skip interim 100 Continue responses.
    while raw.startswith(b"HTTP/1.1 100"):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def post_json(agent, path, obj, ctype="application/json"):
    body = obj if isinstance(obj, (bytes, bytearray)) else json.dumps(obj).encode()
    return curl("-XPOST", "-H", "Content-Type: " + ctype, agent.url("http", path), data=body)


class Tap:
    """Minimal TAP producer: ok/not ok lines, plan at the end, exit status."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            if detail is not None:
                for line in str(detail).splitlines()[:40]:
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, reason))

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


def run(tests):
    """Run test functions (each takes a Tap); an exception fails that test, not the run."""
    tap = Tap()
    for t in tests:
        try:
            t(tap)
        except Exception as e:  # noqa: BLE001 - report and go on
            import traceback
            tap.ok(False, "%s raised %s" % (t.__name__, type(e).__name__), traceback.format_exc())
    tap.done()
