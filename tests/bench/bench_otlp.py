#!/usr/bin/python3
# bench_otlp.py: OTLP ingest (make bench): spans/s for protobuf requests of 512 spans against a running vivo-agent over OTLP/HTTP and OTLP/gRPC (h2c), beside the same bytes posted to a discard endpoint in the same run.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402
from benchlib import one_chunk_each, run_client  # noqa: E402

BIN = os.path.join(os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__))), "bench_otlp")
REQUESTS = int(os.environ.get("OTLP_BENCH_REQUESTS", "400"))


def main():
    with Agent(args=["--stream-queue-size", "50M"], expect=("otlp", "otlp_grpc", "exporter")) as a:
        ok, n = run_client([BIN, str(a.ports["otlp"]), str(REQUESTS), "2", "512", str(a.ports["otlp_grpc"])])
        if not ok or not one_chunk_each(a, "traces", n):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
