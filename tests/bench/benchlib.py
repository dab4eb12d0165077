# benchlib.py: helpers the bench scripts share: a process's CPU time, and running a C load client against an agent and checking it stored one chunk per request.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import curl  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (its own work, whatever else loads the machine)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_client(argv, timeout=600):
    """Run a bench client and copy its stdout to ours (its stderr too when it fails); (whether it
    exited 0, the count from its `requests=N` figure or None when it printed none)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    sys.stdout.write(p.stdout.decode())
    if p.returncode != 0:
        sys.stdout.write(p.stderr.decode())
        return False, None
    m = re.search(r"requests=(\d+)", p.stdout.decode())
    return True, int(m.group(1)) if m else None


def one_chunk_each(a, stream, requests):
    """Print how many chunks the agent's `stream` holds against the requests sent; True when they
    are as many (each request is one chunk), else a FAIL line and False."""
    _, h, _ = curl(a.url("exporter", "/%s?from=999999999" % stream))
    stored = int(h["vivo-stream-next-id"])
    print("stored: %d chunks for %s requests" % (stored, "?" if requests is None else requests))
    if requests is None or stored != requests:
        print("FAIL: every request should be one chunk")
        return False
    return True
