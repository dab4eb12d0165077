#!/usr/bin/python3
# bench_prom_rw.py: remote write ingest (make bench): samples/s for snappy WriteRequests of 2000 samples against a running vivo-agent, beside a discard endpoint and the decode alone, in the same run.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent, curl  # noqa: E402

BIN = os.path.join(os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__))), "bench_prom_rw")
REQUESTS = int(os.environ.get("PROM_RW_BENCH_REQUESTS", "300"))
CONF = """pipeline:
  inputs:
    - name: prometheus_remote_write
      port: 0
      uri: /api/prom/push
  outputs:
    - name: vivo_exporter
      match: '*'
      stream_queue_size: 50M
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    with Agent(config=CONF, expect=("prom_rw", "exporter")) as a:
        cpu0 = cpu_seconds(a.proc.pid)
        p = subprocess.run([BIN, str(a.ports["prom_rw"]), str(REQUESTS), "2", "2000"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=600)
        sys.stdout.write(p.stdout.decode())
        if p.returncode != 0:
            sys.stdout.write(p.stderr.decode())
            return 1
        cpu = cpu_seconds(a.proc.pid) - cpu0
        m = re.search(r"requests=(\d+)", p.stdout.decode())
        if m:
            n = int(m.group(1)) * 2000
            print("agent CPU: %.2f s for %d samples: %.2f us/sample, %.0f samples per CPU second (snappy, decode,"
                  " render, store, HTTP)" % (cpu, n, cpu / n * 1e6, n / cpu))
        _, h, _ = curl(a.url("exporter", "/metrics?from=999999999"))
        stored = int(h["vivo-stream-next-id"])
        print("stored: %d chunks for %s requests" % (stored, m.group(1) if m else "?"))
        if not m or stored != int(m.group(1)):
            print("FAIL: every request should be one chunk")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
