# fleetlib.py: helpers for the fleet tests: agents that follow agents, reading streams and self-metrics, waiting with a bound.
import json
import re
import time
import urllib.request

from agentlib import Agent, curl, free_port, post_json  # noqa: F401  (re-exported for the tests)


def get(url, timeout=30):
    """GET a URL; returns (headers dict lower-case, body bytes)."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return {k.lower(): v for k, v in r.getheaders()}, r.read()


def info(a):
    return json.loads(get(a.url("exporter", "/api/v1/info"))[1])


def v1_chunks(a, stream="logs", query=""):
    """Every chunk of /api/v1/<stream> as (raw line, parsed object) pairs (logs: one per chunk)."""
    _, body = get(a.url("exporter", "/api/v1/%s%s" % (stream, query)))
    return [(l, json.loads(l)) for l in body.decode().splitlines() if l]


def legacy_lines(a, stream="logs", query=""):
    _, body = get(a.url("exporter", "/%s%s" % (stream, query)))
    return [json.loads(l) for l in body.decode().splitlines() if l]


def records_part(line):
    """The bytes of the "records" member of a v1 logs chunk line (to compare byte for byte)."""
    return line[line.index(',"records":'):]


def metrics(a):
    """Self-metrics as {(name, frozenset(labels)): value}."""
    _, body = get(a.url("ops", "/api/v1/metrics/prometheus"))
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'(\w+)(?:\{(.*)\})? (\S+)$', line)
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def follow_metric(a, name, upstream):
    for (n, labels), v in metrics(a).items():
        if n == name and ("upstream", upstream) in labels:
            return v
    return None


def sources(a):
    return {s["upstream"]: s for s in info(a).get("sources", [])}


def wait_until(fn, timeout=15, step=0.05, what="condition"):
    """Call fn until it returns a truthy value (returned) or the time is up (raises)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def instance(a):
    return "127.0.0.1:%d" % a.ports["exporter"]


def exporter_url(a):
    return "http://127.0.0.1:%d" % a.ports["exporter"]


def followed_records(a, upstream_instance):
    """[(chunk object, record)] followed from one upstream, in the follower's order."""
    out = []
    for _, c in v1_chunks(a):
        if c.get("source", {}).get("instance") == upstream_instance:
            out.extend((c, r) for r in c["records"])
    return out


def post_many(a, path, bodies):
    for b in bodies:
        st, _, body = post_json(a, path, b)
        assert st == 201, (st, body)


UPSTREAM_CONFIG = """pipeline:
  inputs:
    - name: http
      port: 0
%s  outputs:
    - name: vivo_exporter
      port: %d
      stream_queue_size: %s
"""


def upstream_config(exporter_port=0, queue="20M", extra=""):
    return UPSTREAM_CONFIG % (extra, exporter_port, queue)
