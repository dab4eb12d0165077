# fwdlib.py: helpers for the Forward input tests: msgpack frames, connections, exporter reads, self-metrics.
import gzip
import http.client
import json
import re
import socket
import struct
import time

import msgpack


def event_time(ns):
    """EventTime ext (type 0): big-endian u32 seconds, u32 nanoseconds."""
    return msgpack.ExtType(0, struct.pack(">II", ns // 10**9, ns % 10**9))


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def get(agent, path, listener="exporter", timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", agent.ports[listener], timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def lines(agent, path):
    """The JSON lines of an exporter read."""
    return [json.loads(l) for l in get(agent, path)[2].decode().splitlines()]


def next_id(agent, stream):
    return int(get(agent, "/api/v1/%s?limit=1&from=18446744073709551615" % stream)[1]["vivo-stream-next-id"])


def wait_for(fn, timeout=10.0, interval=0.02):
    """Call fn until it returns something true or the time is up; returns its last value."""
    deadline = time.time() + timeout
    v = fn()
    while not v and time.time() < deadline:
        time.sleep(interval)
        v = fn()
    return v


def metric(agent, name, inst="forward.0"):
    """vivo_input_<name> of one input; errors_total, which has a reason label too, summed over its reasons."""
    body = get(agent, "/api/v1/metrics/prometheus", listener="ops")[2].decode()
    got = [float(v) for v in re.findall(r'^vivo_input_%s\{name="%s"(?:,reason="[a-z_]+")?\} (\S+)$' % (name, re.escape(inst)), body, re.M)]
    return sum(got) if got else None


def connect(agent, timeout=10, src=None):
    """A connection to the Forward port, from the loopback address `src` when given (the
    agent logs a refusal once per address and reason a minute)."""
    s = socket.create_connection(("127.0.0.1", agent.ports["forward"]), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_obj(sock, unpacker=None, timeout=10):
    """Read one msgpack object from the socket (None on EOF or timeout)."""
    up = unpacker or msgpack.Unpacker(raw=False, strict_map_key=False)
    deadline = time.time() + timeout
    while True:
        for o in up:
            return o
        left = deadline - time.time()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None
        if not data:
            return None
        up.feed(data)


def closed_by_peer(sock, timeout=5):
    """True when the server closes the connection (EOF or reset) within the time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def ext_hook(code, data):
    if code == 0 and len(data) == 8:
        s, ns = struct.unpack(">II", data)
        if s >= 2**31:
            s -= 2**32
        return ("T", s * 10**9 + ns)
    return msgpack.ExtType(code, data)


def unpack_all(data):
    up = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=ext_hook)
    up.feed(data)
    return list(up)


def to_ns(t):
    if isinstance(t, tuple) and t[0] == "T":
        return t[1]
    if isinstance(t, float):
        return int(round(t * 1e9))
    return t * 10**9


ID_KEYS = ("trace_id", "span_id", "parent_span_id", "traceId", "spanId", "parentSpanId")


def jsonable(v, key=None):
    """What the spec's JSON rules make of a decoded msgpack value (bin: UTF-8 text or hex; IDs hex)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x, k) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and not (isinstance(v, tuple) and v and v[0] == "T"):
        return [jsonable(x) for x in v]
    if isinstance(v, tuple):
        return v[1]
    if isinstance(v, bytes):
        if key not in ID_KEYS:
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return v.hex()
    return v


def expected_logs(frame):
    """(tag, [[ts_ns, meta], body]...) a frame should store, computed independently of the agent:
    OTLP group markers are dropped and their resource/scope join each record's otlp metadata."""
    (f,) = unpack_all(frame)
    tag, second = f[0], f[1]
    opts = f[2] if len(f) == 3 and not isinstance(second, (int, float, tuple)) else (f[3] if len(f) == 4 else {})
    opts = opts or {}
    if isinstance(second, (bytes, str)):
        payload = second if isinstance(second, bytes) else second.encode()
        if opts.get("compressed") == "gzip":
            payload = gzip.decompress(payload)
        entries = unpack_all(payload)
    elif isinstance(second, list):
        entries = second
    else:
        entries = [[second, f[2]]]
        if opts.get("metadata"):
            entries = [[[second, opts["metadata"]], f[2]]]
    out, group = [], None
    for t, body in entries:
        meta = {}
        if isinstance(t, list):
            t, meta = t[0], t[1] or {}
        ns = to_ns(t)
        if ns == -10**9:
            group = {k: body[k] for k in ("resource", "scope") if k in body}
            continue
        if ns == -2 * 10**9:
            group = None
            continue
        meta = jsonable(meta)
        if group:
            otlp = dict(meta.get("otlp") or {})
            otlp.update(jsonable(group))
            meta["otlp"] = otlp
        out.append([[ns, meta], jsonable(body)])
    return tag, out


def signal_contexts(frame):
    """(signal, [context...]) of a metrics/traces frame, decoded independently of the agent."""
    (f,) = unpack_all(frame)
    opts = f[2] if len(f) == 3 else {}
    sig = opts.get("fluent_signal", 0)
    second = f[1]
    if isinstance(second, bytes):
        payload = gzip.decompress(second) if opts.get("compressed") == "gzip" else second
        return sig, [jsonable(o) for o in unpack_all(payload)]
    ctxs = []
    for _, rec in second:
        ctxs.extend(rec if isinstance(rec, list) else [rec])
    return sig, [jsonable(c) for c in ctxs]


def gzip_members(*parts):
    return b"".join(gzip.compress(p) for p in parts)
