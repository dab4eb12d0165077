#!/usr/bin/python3
# bench_prom_rw.py: remote write ingest (make bench): samples/s for snappy WriteRequests of 2000 samples against a running vivo-agent, beside a discard endpoint and the decode alone, in the same run.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402
from benchlib import cpu_seconds, one_chunk_each, run_client  # noqa: E402

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


def main():
    with Agent(config=CONF, expect=("prom_rw", "exporter")) as a:
        cpu0 = cpu_seconds(a.proc.pid)
        ok, n = run_client([BIN, str(a.ports["prom_rw"]), str(REQUESTS), "2", "2000"])
        if not ok:
            return 1
        cpu = cpu_seconds(a.proc.pid) - cpu0
        if n is not None:
            samples = n * 2000
            print("agent CPU: %.2f s for %d samples: %.2f us/sample, %.0f samples per CPU second (snappy, decode,"
                  " render, store, HTTP)" % (cpu, samples, cpu / samples * 1e6, samples / cpu))
        if not one_chunk_each(a, "metrics", n):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
