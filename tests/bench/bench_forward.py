#!/usr/bin/python3
# bench_forward.py: Forward ingest end to end (first byte sent -> last record readable on the exporter API) for PackedForward and Message mode from 1 and 4 connections, each beside a discard-server baseline measured in the same run.
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402

BLAST = os.path.join(os.environ.get("BENCH_BIN") or os.path.dirname(os.path.abspath(__file__)), "bench_fwd_blast")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# (mode, connections, records per connection, records per frame, target records/s)
SCENARIOS = [
    ("packed", 1, 1000000, 1000, 1000000),
    ("packed", 4, 250000, 1000, 1000000),
    ("message", 1, 300000, 1, 150000),
    ("message", 4, 75000, 1, 150000),
]


def cpu_seconds(pid):
    """User + system CPU time of a process so far (the agent's own work, whatever the machine's load)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def blast(mode, conns, records, batch, port, exporter):
    out = subprocess.run([BLAST, mode, str(conns), str(records), str(batch), str(port), str(exporter)],
                         stdout=subprocess.PIPE, check=True, timeout=300).stdout.decode()
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def main():
    print("Forward ingest, end to end: %d runs each, median; records ~100 bytes of msgpack; cpu = the agent's CPU time per record" % RUNS)
    with open("/proc/loadavg") as f:
        print("load average before: %s" % " ".join(f.read().split()[:3]))
    print("%-8s %5s %9s | %12s %9s %9s | %12s %9s | %6s %s" % ("mode", "conns", "records", "vivo rec/s", "MB/s", "cpu us/rec",
                                                             "discard rec/s", "MB/s", "ratio", "target"))
    with Agent(args=["--stream-queue-size", "20M"], expect=("forward", "exporter")) as a:
        for mode, conns, per, batch, target in SCENARIOS:
            vivo, base, cpu = [], [], []
            for _ in range(RUNS):
                base.append(blast(mode, conns, per, batch, 0, 0))
                c0 = cpu_seconds(a.proc.pid)
                vivo.append(blast(mode, conns, per, batch, a.ports["forward"], a.ports["exporter"]))
                cpu.append((cpu_seconds(a.proc.pid) - c0) / (per * conns) * 1e6)
            v = statistics.median(r["records_per_s"] for r in vivo)
            vm = statistics.median(r["mb_per_s"] for r in vivo)
            b = statistics.median(r["records_per_s"] for r in base)
            bm = statistics.median(r["mb_per_s"] for r in base)
            print("%-8s %5d %9d | %12.0f %9.1f %9.2f | %12.0f %9.1f | %6.3f %s %d" % (
                mode, conns, per * conns, v, vm, statistics.median(cpu), b, bm, v / b, ">=" if v >= target else "BELOW", target))
            sys.stdout.flush()
        if a.proc.poll() is not None:
            print("vivo-agent died during the bench")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
