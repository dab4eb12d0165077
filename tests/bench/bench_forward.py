#!/usr/bin/python3
# bench_forward.py: Forward ingest end to end (first byte sent -> last record readable on the exporter API) for PackedForward, Forward and Message mode from 1 and 4 connections, each beside a discard-server baseline measured in the same run (and beside an earlier agent build given as VIVO_AGENT_BEFORE); then the framing in process, hand-written scanner vs msgpack-c's unpacker.
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
import agentlib  # noqa: E402
from benchlib import cpu_seconds  # noqa: E402

BIN = os.environ.get("BENCH_BIN") or os.path.dirname(os.path.abspath(__file__))
BLAST = os.path.join(BIN, "bench_fwd_blast")
FRAME = os.path.join(BIN, "bench_fwd_frame")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# An earlier vivo-agent (another build dir) measured in the same run, interleaved run by run.
BEFORE = os.environ.get("VIVO_AGENT_BEFORE")
# (mode, connections, records per connection, records per frame, target records/s)
SCENARIOS = [
    ("packed", 1, 1000000, 1000, 1000000),
    ("packed", 4, 250000, 1000, 1000000),
    # Fluent Bit 5.1.1's default for logs: [tag, [[[EventTime, {}], record]...]], no options.
    ("forward", 1, 1000000, 1000, 1000000),
    ("forward", 4, 250000, 1000, 1000000),
    ("message", 1, 300000, 1, 150000),
    ("message", 4, 75000, 1, 150000),
]


def blast(mode, conns, records, batch, port, exporter):
    out = subprocess.run([BLAST, mode, str(conns), str(records), str(batch), str(port), str(exporter)],
                         stdout=subprocess.PIPE, check=True, timeout=300).stdout.decode()
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def measured(agent, mode, conns, per, batch):
    """One run against `agent`: the blaster's figures and the agent's CPU microseconds per record."""
    c0 = cpu_seconds(agent.proc.pid)
    r = blast(mode, conns, per, batch, agent.ports["forward"], agent.ports["exporter"])
    r["cpu"] = (cpu_seconds(agent.proc.pid) - c0) / (per * conns) * 1e6
    return r


def framing():
    """In process: the hand-written scanner against msgpack-c's streaming unpacker, same frames, same decoder."""
    print("Forward framing in process (one thread, no sockets, 1 MB reads, CPU time), %d runs interleaved: the hand-written"
          " scanner vs msgpack-c's msgpack_unpacker (bounded by the scanner, records packed again for the decoder)" % RUNS)
    print("%-8s %9s | %14s %15s %6s | %8s %10s %10s" % ("mode", "records", "scanner ns/rec", "unpacker ns/rec", "ratio",
                                                         "scan ns", "unpack ns", "repack ns"))
    for mode, records, batch in (("packed", 200000, 1000), ("forward", 200000, 1000), ("message", 100000, 1)):
        out = subprocess.run([FRAME, mode, str(records), str(batch), str(RUNS)], stdout=subprocess.PIPE, check=True,
                             timeout=300).stdout.decode()
        r = dict(kv.split("=") for kv in out.split())
        print("%-8s %9s | %14s %15s %6s | %8s %10s %10s" % (mode, r["records"], r["scanner_ns_per_rec"], r["unpacker_ns_per_rec"],
                                                             r["ratio"], r["scan_ns"], r["unpack_ns"], r["repack_ns"]))
        sys.stdout.flush()


def start(binary):
    agentlib.AGENT = binary
    return agentlib.Agent(args=["--stream-queue-size", "20M"], expect=("forward", "exporter"))


def main():
    print("Forward ingest, end to end: %d runs each, median; records ~100 bytes of msgpack; cpu = the agent's CPU time per record" % RUNS)
    with open("/proc/loadavg") as f:
        print("load average before: %s" % " ".join(f.read().split()[:3]))
    agents = {"vivo": start(agentlib.AGENT)}
    status = 0
    try:
        if BEFORE:
            agents["before"] = start(BEFORE)
            print("before = %s, measured in the same runs, interleaved" % BEFORE)
        print("%-8s %5s %9s | %12s %9s %9s | %12s %9s | %6s %s%s" % (
            "mode", "conns", "records", "vivo rec/s", "MB/s", "cpu us/rec", "discard rec/s", "MB/s", "ratio", "target",
            " | before rec/s, cpu us/rec, vivo/before rec/s, cpu" if BEFORE else ""))
        for mode, conns, per, batch, target in SCENARIOS:
            runs = {name: [] for name in agents}
            base = []
            for i in range(RUNS):
                base.append(blast(mode, conns, per, batch, 0, 0))
                # Each agent goes first in every other run: neither gains from its place.
                order = list(agents.items())
                for name, a in (order if i % 2 == 0 else order[::-1]):
                    runs[name].append(measured(a, mode, conns, per, batch))
            med = {name: {k: statistics.median(r[k] for r in rs) for k in ("records_per_s", "mb_per_s", "cpu")}
                   for name, rs in runs.items()}
            v = med["vivo"]
            b = statistics.median(r["records_per_s"] for r in base)
            bm = statistics.median(r["mb_per_s"] for r in base)
            line = "%-8s %5d %9d | %12.0f %9.1f %9.2f | %12.0f %9.1f | %6.3f %s %d" % (
                mode, conns, per * conns, v["records_per_s"], v["mb_per_s"], v["cpu"], b, bm, v["records_per_s"] / b,
                ">=" if v["records_per_s"] >= target else "BELOW", target)
            if BEFORE:
                w = med["before"]
                line += " | %12.0f %6.2f %6.3f %6.3f" % (w["records_per_s"], w["cpu"], v["records_per_s"] / w["records_per_s"],
                                                       v["cpu"] / w["cpu"])
            print(line)
            sys.stdout.flush()
        for name, a in agents.items():
            if a.proc.poll() is not None:
                print("vivo-agent (%s) died during the bench" % name)
                status = 1
    finally:
        for name, a in agents.items():
            rc = a.stop()
            if rc != 0:
                print("vivo-agent (%s) exited with status %s: %s" % (name, rc, a.log()[-2000:]))
                status = 1
    framing()
    return status


if __name__ == "__main__":
    sys.exit(main())
