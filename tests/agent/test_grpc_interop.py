#!/usr/bin/python3
# test_grpc_interop.py: the official OpenTelemetry JS SDK's gRPC exporters (@opentelemetry/exporter-*-otlp-grpc on @grpc/grpc-js, tests/agent/otel/app.js) send a trace, metrics and logs to 4317 and to 4318; every field must arrive as over OTLP/HTTP.
import json
import os
import subprocess

from agentlib import Agent, run
from test_otlp_interop import APP_DIR, check_logs, check_metrics, check_traces, ensure_sdk


def test_grpc_exporters(t):
    why = ensure_sdk()
    if why:
        t.skip("OpenTelemetry JS SDK gRPC exporters", why)
        return
    with Agent(expect=("otlp", "otlp_grpc", "exporter")) as a:
        for n, port in enumerate(("otlp_grpc", "otlp")):
            p = subprocess.run(["node", os.path.join(APP_DIR, "app.js"), a.url(port, ""), "grpc"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            if not t.ok(p.returncode == 0, "grpc to %s: the SDK app exported without errors" % port, p.stderr.decode()):
                continue
            sent = json.loads(p.stdout.decode().strip().splitlines()[-1])
            sent["protocol"] = "grpc to %s" % port
            check_traces(t, a, n, sent)
            check_metrics(t, a, n, sent)
            check_logs(t, a, n, sent)
        t.ok("rejected" not in a.log() and "warn" not in a.log(), "no refusal or warning in the agent's log",
             a.log()[-1000:])


if __name__ == "__main__":
    run([test_grpc_exporters])
