# otelcollib.py: the real OpenTelemetry Collector (tests/otelcol, built once from Go modules and cached outside the repo) as a test peer: find or build it, write its config, run it, post OTLP/JSON batches to its receiver, wait for what it relays, stop it and remove its folder.
import json
import os
import shutil
import subprocess
import tempfile
import time

from agentlib import curl, free_port, terminate, wait_port  # noqa: F401  (free_port, wait_port re-exported for the tests)

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


CONFIG_HEAD = """receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
"""
CONFIG_SERVICE = """service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
"""


def collector_config(receiver, exporters, logs, traces, metrics):
    """The Collector's YAML: its otlp receiver on OTLP/HTTP at 127.0.0.1:`receiver`, `exporters`
    (the YAML under exporters:, indented two spaces, ending in a newline), its own telemetry
    quiet, and a pipeline for each signal from the receiver to the exporters named in the lists
    `logs`, `traces` and `metrics`."""
    pipelines = "".join("    %s:\n      receivers: [otlp]\n      exporters: [%s]\n" % (signal, ", ".join(names))
                        for signal, names in (("logs", logs), ("traces", traces), ("metrics", metrics)))
    return CONFIG_HEAD % receiver + exporters + CONFIG_SERVICE + pipelines


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
        terminate(self.proc, 20)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def kv(k, v):
    """An OTLP/JSON attribute: a string value, else an int one."""
    return {"key": k, "value": {"stringValue": v} if isinstance(v, str) else {"intValue": str(v)}}


def exporter_lines(a, stream):
    """The agent's /<stream> on its exporter, one JSON object a line."""
    _, _, body = curl(a.url("exporter", "/" + stream))
    return [json.loads(l) for l in body.decode().splitlines()]


def post_batches(t, port, docs, prefix=""):
    """POST each (batch number, path, OTLP/JSON document) of `docs` to the Collector's receiver on
    127.0.0.1:`port`; a not-ok line (its name after `prefix`) for each one it does not take."""
    for b, path, doc in docs:
        st, _, body = curl("-XPOST", "-H", "Content-Type: application/json",
                           "http://127.0.0.1:%d%s" % (port, path), data=json.dumps(doc).encode())
        if st != 200:
            t.ok(False, "%sthe Collector took %s batch %d" % (prefix, path, b), (st, body))


def settle(collect, enough, timeout=60):
    """Call collect() until enough(*what it returns) or `timeout` s pass, wait 2 s more (anything
    relayed twice would have arrived by then) and return what collect() returns then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if enough(*collect()):
            break
        time.sleep(0.5)
    time.sleep(2)
    return collect()


def check_no_errors(t, col, prefix=""):
    """One ok line: the Collector's log has no line that mentions an error."""
    errs = [l for l in col.log().splitlines() if "error" in l.lower()]
    t.ok(not errs, "%sthe Collector logged no export error" % prefix, "\n".join(errs[-10:]))
