# otelcollib.py: the real OpenTelemetry Collector (tests/otelcol, built once from Go modules and cached outside the repo) as a test peer: find or build it, run it on a config, wait for its receiver, stop it and remove its folder.
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def collector_binary():
    """(path, None), or (None, why) when no Go toolchain can build it; other failures raise."""
    build = os.path.join(TOP, "tests", "otelcol", "build.sh")
    p = subprocess.run([build], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    if p.returncode != 0:
        err = p.stderr.decode()
        if "go not found" in err:
            return None, "no Go toolchain to build the Collector (tests/otelcol/README.md)"
        raise RuntimeError("tests/otelcol/build.sh failed:\n" + err[-2000:])
    return p.stdout.decode().strip().splitlines()[-1], None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=30):
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


class Collector:
    """A running Collector on `config` (YAML text), in a folder of its own."""

    def __init__(self, binary, config):
        self.dir = tempfile.mkdtemp(prefix="vivo-otelcol-")
        path = os.path.join(self.dir, "config.yaml")
        with open(path, "w") as f:
            f.write(config)
        self.log_path = os.path.join(self.dir, "otelcol.log")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "--config", path], stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)
