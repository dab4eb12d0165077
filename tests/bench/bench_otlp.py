#!/usr/bin/python3
# bench_otlp.py: OTLP ingest (make bench): spans/s for protobuf requests of 512 spans against a running vivo-agent over OTLP/HTTP and OTLP/gRPC (h2c), beside the same bytes posted to a discard endpoint in the same run.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent, curl  # noqa: E402

BIN = os.path.join(os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__))), "bench_otlp")
REQUESTS = int(os.environ.get("OTLP_BENCH_REQUESTS", "400"))


def main():
    with Agent(args=["--stream-queue-size", "50M"], expect=("otlp", "otlp_grpc", "exporter")) as a:
        p = subprocess.run([BIN, str(a.ports["otlp"]), str(REQUESTS), "2", "512", str(a.ports["otlp_grpc"])],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        sys.stdout.write(p.stdout.decode())
        if p.returncode != 0:
            sys.stdout.write(p.stderr.decode())
            return 1
        m = re.search(r"requests=(\d+)", p.stdout.decode())
        _, h, _ = curl(a.url("exporter", "/traces?from=999999999"))
        stored = int(h["vivo-stream-next-id"])
        print("stored: %d chunks for %s requests" % (stored, m.group(1) if m else "?"))
        if not m or stored != int(m.group(1)):
            print("FAIL: every request should be one chunk")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
