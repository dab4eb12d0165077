# promrw.py: Prometheus remote write 1.0 for tests: a WriteRequest protobuf encoder (prompb field numbers) and the metrics JSON Vivo is documented to serve for it (docs/prometheus_remote_write.md).
import struct

import snappy
import xxhash  # Debian python3-xxhash: cmetrics' series hash is XXH3-64

TYPES = {"unknown": 0, "counter": 1, "gauge": 2, "histogram": 3, "gaugehistogram": 4, "summary": 5, "info": 6,
         "stateset": 7}
SUFFIXES = ["_total", "_bucket", "_count", "_sum", "_created", "_info", "_gcount", "_gsum"]
HEADERS = ["-H", "Content-Encoding: snappy", "-H", "Content-Type: application/x-protobuf",
           "-H", "X-Prometheus-Remote-Write-Version: 0.1.0", "-H", "User-Agent: vivo-test/1.0", "-H", "Expect:"]


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(num, wt, payload):
    return varint(num << 3 | wt) + payload


def ld(num, b):
    return field(num, 2, varint(len(b)) + b)


def label(k, v):
    return ld(1, ld(1, k.encode()) + ld(2, v.encode()))


def series(labels, samples=(), exemplars=()):
    """labels: list of (name, value) in wire order (include __name__); samples: (value, ms); exemplars: (labels dict, value, ms)."""
    out = b"".join(label(k, v) for k, v in labels)
    for v, ms in samples:
        out += ld(2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(ms)))
    for labs, v, ms in exemplars:
        e = b"".join(ld(1, ld(1, k.encode()) + ld(2, x.encode())) for k, x in labs.items())
        out += ld(3, e + field(2, 1, struct.pack("<d", v)) + field(3, 0, varint(ms)))
    return ld(1, out)


def metadata(type_, family, help_="", unit=""):
    m = field(1, 0, varint(TYPES[type_])) + ld(2, family.encode()) + ld(4, help_.encode())
    if unit:
        m += ld(5, unit.encode())
    return ld(3, m)


def write_request(series_list, meta=()):
    """series_list: dicts with labels (list of pairs), samples, exemplars; meta: (type, family, help, unit)."""
    return b"".join(series(s["labels"], s.get("samples", ()), s.get("exemplars", ())) for s in series_list) + \
        b"".join(metadata(*m) for m in meta)


def compress(pb):
    return snappy.compress(pb)


def series_hash(name, values):
    """cmetrics' hash of a series (cmt_map.c cmt_map_metric_get): XXH3-64 over the metric name (ns and
    ss are empty here) and then each label value, back to back; 0 without labels."""
    if not values:
        return 0
    h = xxhash.xxh3_64(name.encode())
    for v in values:
        h.update(v.encode())
    return h.intdigest()


def _type(name, meta):
    by = {m[1]: m[0] for m in reversed(list(meta))}
    if name in by:
        return {"counter": 0, "gauge": 1, "gaugehistogram": 1, "info": 1, "stateset": 1, "summary": 1}.get(by[name], 4), name
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s) and name[:-len(s)] in by:
            t = by[name[:-len(s)]]
            return {"counter": 0, "histogram": 0, "summary": 0, "gaugehistogram": 1, "info": 1}.get(t, 4), name[:-len(s)]
    return 4, None


def expected(series_list, meta=()):
    """The one metrics context line Vivo serves for a WriteRequest of float samples."""
    fams, order = {}, []
    for s in series_list:
        name = dict(s["labels"])["__name__"]
        if name not in fams:
            fams[name] = {"keys": [], "series": []}
            order.append(name)
        f = fams[name]
        for k, _ in s["labels"]:
            if k != "__name__" and k not in f["keys"]:
                f["keys"].append(k)
        f["series"].append(s)
    helps = {m[1]: m for m in reversed(list(meta))}
    metrics, exemplars = [], []
    for name in order:
        f = fams[name]
        t, mname = _type(name, meta)
        m = helps.get(mname) if mname else None
        opts = {"ns": "", "ss": "", "name": name, "desc": m[2] if m else ""}
        if m and len(m) > 3 and m[3]:
            opts["unit"] = m[3]
        head = {"ver": 2, "type": t, "opts": opts, "labels": f["keys"]}
        if t == 0:
            head["aggregation_type"] = 2
        values = []
        for s in f["series"]:
            labs = dict(s["labels"])
            lv = [labs.get(k, "") for k in f["keys"]]
            h = series_hash(name, lv) if f["keys"] else 0
            for v, ms in s.get("samples", ()):
                val = {"ts": ms * 1000000, "value": float(v)}
                if f["keys"]:
                    val["labels"] = lv
                val["hash"] = h
                values.append(val)
            for el, v, ms in s.get("exemplars", ()):
                exemplars.append({"metric": name, "hash": h, "labels": el, "value": float(v), "ts": ms * 1000000})
        metrics.append({"meta": head, "values": values})
    ext = {"prometheus_remote_write": {"exemplars": exemplars}} if exemplars else {}
    return {"meta": {"cmetrics": {"producer": "prometheus_remote_write"}, "external": ext,
                     "processing": {"static_labels": []}}, "metrics": metrics}


def _crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def framed(data):
    """The snappy framing format (stream identifier, compressed chunks of at most 64 KiB with
    their masked CRC-32C). python3-snappy's StreamCompressor cannot run on Python 3.11."""
    out = bytearray(b"\xff\x06\x00\x00sNaPpY")
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        body = struct.pack("<I", _crc32c(chunk)) + snappy.compress(chunk)
        out += bytes([0]) + struct.pack("<I", len(body))[:3] + body
    return bytes(out)
