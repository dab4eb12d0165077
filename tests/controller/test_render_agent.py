#!/usr/bin/env python3
# test_render_agent.py: the vivo-agent.yaml the controller renders loads and runs in the real vivo-agent (no cluster needed).
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("VIVO_BUILD") or os.path.join(TOP, "build", "check")
AGENT = os.environ.get("VIVO_AGENT") or os.path.join(BUILD, "agent", "vivo-agent")
CONTROLLER = os.environ.get("VIVO_CONTROLLER") or os.path.join(os.path.dirname(AGENT), "..", "controller",
                                                                 "vivo-controller")
# Every port to 0 and every listener on 127.0.0.1: flags override the file, the rest is the file's.
PORT_FLAGS = ["--listen", "127.0.0.1", "--ui-port", "0", "--http-port", "0", "--exporter-port", "0", "--ops-port", "0",
              "--forward-port", "0", "--otlp-port", "0", "--otlp-grpc-port", "0"]
LISTEN_RE = re.compile(r"listening (\w+) on ([0-9.]+):(\d+)")

n = 0
failed = 0


def ok(cond, desc, diag=""):
    global n, failed
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, desc), flush=True)
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[-30:]:
            print("#   " + line)


def render(spec):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        json.dump({"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo",
                   "metadata": {"name": "t", "namespace": "default", "uid": "u"}, "spec": spec}, f)
    try:
        r = subprocess.run([CONTROLLER, "--render", f.name], capture_output=True, text=True, timeout=30)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


def run_agent(config_text):
    d = tempfile.mkdtemp(prefix="vivo-render-")
    cfg = os.path.join(d, "vivo-agent.yaml")
    with open(cfg, "w") as f:
        f.write(config_text)
    log = open(os.path.join(d, "agent.log"), "w+")
    p = subprocess.Popen([AGENT, "--config", cfg] + PORT_FLAGS, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    p.workdir = d
    ports = {}
    deadline = time.time() + 15
    while time.time() < deadline and p.poll() is None:
        log.seek(0)
        text = log.read()
        ports = {m.group(1): int(m.group(3)) for m in LISTEN_RE.finditer(text)}
        if "ready" in text and "ops" in ports:
            break
        time.sleep(0.05)
    log.seek(0)
    return p, ports, log.read()


def stop(p):
    """SIGTERM, wait; the exit code. The agent's folder goes after a clean exit."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p.returncode == 0 and not os.environ.get("KEEP"):
        shutil.rmtree(p.workdir, ignore_errors=True)
    return p.returncode


def check(desc, spec, want_listeners):
    out = render(spec)
    data = out["items"][0]["data"]
    p, ports, text = run_agent(data["vivo-agent.yaml"])
    try:
        ok(p.poll() is None and set(want_listeners) <= set(ports), "%s: vivo-agent runs the rendered config, "
           "listening %s" % (desc, ", ".join(sorted(ports))), text)
        if "ops" in ports:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/health" % ports["ops"], timeout=5) as r:
                ok(r.status == 200, "%s: /api/v1/health answers 200" % desc)
        if "http" in ports and "exporter" in ports:
            req = urllib.request.Request("http://127.0.0.1:%d/" % ports["http"], data=b'{"hello":"vivo"}',
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=5).read()
            with urllib.request.urlopen("http://127.0.0.1:%d/logs" % ports["exporter"], timeout=5) as r:
                ok(b"hello" in r.read(), "%s: a record in on http comes out of the exporter" % desc)
    finally:
        rc = stop(p)
    ok(rc == 0, "%s: the agent stops cleanly (%s)" % (desc, rc), text)
    return data


def main():
    for path, what in ((AGENT, "vivo-agent"), (CONTROLLER, "vivo-controller")):
        if not os.access(path, os.X_OK):
            print("1..0 # SKIP %s not built at %s" % (what, path))
            return 0
    check("defaults", {}, ["http", "forward", "exporter", "ui", "ops", "otlp", "otlp_grpc"])
    check("spec values", {"streamQueueSize": "5M", "emptyStreamOnRead": True, "corsAllowOrigin": "https://x.example",
                          "otlp": {"enabled": False}}, ["http", "forward", "exporter", "ui", "ops"])
    data = check("with Fluent Bit", {"fluentBit": {"enabled": True, "pipeline": {"inputs": [{"name": "cpu"}]}}},
                 ["forward", "exporter", "ui", "ops", "otlp", "otlp_grpc"])
    ok("fluent-bit.yaml" in data, "fluent-bit.yaml rendered beside it")
    r = subprocess.run([CONTROLLER, "--render", "/nonexistent.yaml"], capture_output=True, text=True)
    ok(r.returncode != 0 and "nonexistent" in r.stderr, "--render of a missing file fails with its name")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
