#!/usr/bin/python3
# otlp_seeds.py: (re)writes the seed corpora of the six OTLP fuzz targets in tests/fuzz/corpus/otlp_*:
# the Fluent Bit 5.1.1 fixtures (protobuf, and as OTLP JSON), bodies the OpenTelemetry JS SDK sent
# (captured into SDK_DIR by a test server, optional) and hand-made requests for what neither has
# (exemplars, metric metadata, flags, an empty body among them).
# usage: otlp_seeds.py FIXTURES_DIR [SDK_DIR]
import base64
import glob
import gzip
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
import otlp_ref  # noqa: E402


varint = otlp_ref._varint
fld = otlp_ref.field


def dbl(d):
    import struct
    return int.from_bytes(struct.pack("<d", d), "little")


def zz(n):
    return (n << 1) ^ (n >> 63)


def kv(k, any_bytes):
    return fld(1, 2, k.encode()) + fld(2, 2, any_bytes)


def s(v):
    return fld(1, 2, v.encode())


def nested(depth):
    v = s("leaf")
    for i in range(depth):
        v = fld(6, 2, fld(1, 2, kv("k%d" % i, v))) if i % 2 else fld(5, 2, fld(1, 2, v))
    return v


def handmade():
    res = fld(1, 2, fld(1, 2, kv("service.name", s("seed"))) + fld(2, 0, 1))
    scope = fld(1, 2, fld(1, 2, b"lib") + fld(2, 2, b"1.0") + fld(3, 2, kv("a", fld(3, 0, 7))))
    pairs = [kv("m", s("GET")), kv("n", fld(3, 0, 200)), kv("b", fld(2, 0, 1)), kv("d", fld(4, 1, dbl(1.5)))]

    def attrs_at(num):
        return b"".join(fld(num, 2, p) for p in pairs)

    # metrics: exponential histogram (packed and unpacked counts), summary, delta sum, gauge with as_int
    buckets = fld(1, 0, zz(-2)) + fld(2, 2, varint(1) + varint(4) + varint(0) + varint(9))
    neg = fld(1, 0, zz(3)) + fld(2, 0, 5) + fld(2, 0, 6)
    ehdp = (attrs_at(1) + fld(2, 1, 1) + fld(3, 1, 2) + fld(4, 1, 25) + fld(5, 1, dbl(12.5)) + fld(6, 0, zz(-3)) +
            fld(7, 1, 1) + fld(8, 2, buckets) + fld(9, 2, neg) + fld(12, 1, dbl(0.1)) + fld(13, 1, dbl(9.0)) +
            fld(14, 1, dbl(0.001)))
    sdp = (fld(2, 1, 1) + fld(3, 1, 2) + fld(4, 1, 10) + fld(5, 1, dbl(55.0)) + attrs_at(7) +
           fld(6, 2, fld(1, 1, dbl(0.5)) + fld(2, 1, dbl(3.0))) + fld(6, 2, fld(1, 1, dbl(0.99)) + fld(2, 1, dbl(9.0))))
    # exemplars (int, double, none; IDs, filtered attributes) and data point flags
    exemplar = fld(2, 1, 4) + fld(6, 1, 7) + fld(4, 2, bytes(range(8))) + fld(5, 2, bytes(range(16))) + attrs_at(7)
    exemplars = fld(5, 2, exemplar) + fld(5, 2, fld(2, 1, 5) + fld(3, 1, dbl(0.5))) + fld(5, 2, b"")
    ndp_int = fld(3, 1, 5) + fld(6, 1, (-3) & (2 ** 64 - 1)) + attrs_at(7) + exemplars + fld(8, 0, 1)
    hdp = (fld(3, 1, 5) + fld(4, 1, 3) + fld(5, 1, dbl(3.0)) + fld(6, 1, 1) + fld(6, 1, 2) +
           fld(7, 2, dbl(1.0).to_bytes(8, "little")) + attrs_at(9) + fld(8, 2, exemplar) + fld(10, 0, 1))
    metrics = (fld(2, 2, fld(1, 2, b"exp") + fld(10, 2, fld(1, 2, ehdp) + fld(2, 0, 1))) +
               fld(2, 2, fld(1, 2, b"sum") + fld(11, 2, fld(1, 2, sdp))) +
               fld(2, 2, fld(1, 2, b"delta") + fld(7, 2, fld(1, 2, ndp_int) + fld(2, 0, 1) + fld(3, 0, 0))) +
               fld(2, 2, fld(1, 2, b"h") + fld(9, 2, fld(1, 2, hdp) + fld(2, 0, 2))) +
               fld(2, 2, fld(1, 2, b"g") + fld(5, 2, fld(1, 2, ndp_int)) + attrs_at(12)) + fld(99, 2, b"unknown"))
    m_pb = fld(1, 2, res + fld(2, 2, scope + metrics) + fld(3, 2, b"https://schema"))
    # logs: every field, a nested body, flags, two resources (no shared context)
    lr = (fld(1, 1, 1) + fld(11, 1, 2) + fld(2, 0, 9) + fld(3, 2, b"INFO") + fld(5, 2, nested(12)) + attrs_at(6) +
          fld(7, 0, 1) + fld(8, 5, 1) + fld(9, 2, bytes(range(16))) + fld(10, 2, bytes(range(8))) + fld(12, 2, b"ev") +
          fld(20, 2, b"future"))
    lr2 = fld(5, 2, fld(7, 2, b"\xff\x00bytes")) + fld(5, 2, fld(1, 2, b"later wins"))
    l_pb = fld(1, 2, res + fld(2, 2, scope + fld(2, 2, lr) + fld(2, 2, lr2))) + fld(1, 2, fld(2, 2, fld(2, 2, lr2)))
    # traces: links, events, trace_state, flags, status
    span = (fld(1, 2, bytes(16)) + fld(2, 2, bytes(8)) + fld(3, 2, b"k=v") + fld(4, 2, bytes([1] * 8)) + fld(5, 2, b"op") +
            fld(6, 0, 5) + fld(7, 1, 1) + fld(8, 1, 2) + attrs_at(9) + fld(10, 0, 1) +
            fld(11, 2, fld(1, 1, 3) + fld(2, 2, b"e") + attrs_at(3) + fld(4, 0, 2)) + fld(12, 0, 3) +
            fld(13, 2, fld(1, 2, bytes(16)) + fld(2, 2, bytes(8)) + fld(3, 2, b"x=y") + attrs_at(4) + fld(6, 5, 1)) +
            fld(14, 0, 4) + fld(15, 2, fld(2, 2, b"bad") + fld(3, 0, 2)) + fld(16, 5, 0x101))
    t_pb = fld(1, 2, res + fld(2, 2, scope + fld(2, 2, span) + fld(2, 2, span)))
    m_json = {"resourceMetrics": [{"resource": {"attributes": [{"key": "k", "value": {"stringValue": "v"}}]},
              "scopeMetrics": [{"scope": {"name": "s"}, "metrics": [
                  {"name": "e", "exponentialHistogram": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                   "dataPoints": [{"scale": -2, "zeroCount": "1", "count": 9, "sum": 1.5, "zeroThreshold": "1e-3",
                                   "positive": {"offset": 3, "bucketCounts": ["1", 2]}, "negative": {"bucketCounts": [4]},
                                   "min": "NaN", "max": "Infinity"}]}},
                  {"name": "q", "summary": {"dataPoints": [{"count": "3", "sum": 4, "quantileValues": [
                      {"quantile": 0.5, "value": 1}, {"quantile": 1, "value": "-Infinity"}]}]}},
                  {"name": "s", "sum": {"isMonotonic": False, "aggregation_temporality": 1, "data_points": [
                      {"as_int": "-9223372036854775808", "attributes": [{"key": "x", "value": {"arrayValue": {"values": [{"intValue": 1}]}}}]}]}},
                  {"name": "g", "metadata": [{"key": "origin", "value": {"stringValue": "sdk"}}],
                   "gauge": {"dataPoints": [{"asDouble": 1e308, "timeUnixNano": 18446744073709551615, "flags": 1,
                                             "exemplars": [{"timeUnixNano": "4", "asInt": "7", "spanId": "0102030405060708",
                                                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                                                            "filteredAttributes": [{"key": "u", "value": {"intValue": 1}}]},
                                                           {"asDouble": "NaN"}, {}]}]}}]}]}]}
    l_json = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": "3", "body": {}},
        {"severityNumber": "SEVERITY_NUMBER_WARN", "body": {"kvlistValue": {"values": [
            {"key": "a", "value": {"bytesValue": base64.b64encode(b"\x00\xff").decode()}}, {"key": "a", "value": {"boolValue": True}}]}},
         "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "", "flags": 257, "unknown": {"x": [1, 2]}},
        {"body": {"arrayValue": {"values": [{"doubleValue": "NaN"}, {"kvlistValue": {}}, {}]}}, "timeUnixNano": 1.0}]}]}]}
    t_json = {"resourceSpans": [{"resource": None, "scopeSpans": [{"spans": [
        {"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708", "kind": "SPAN_KIND_CONSUMER",
         "status": {"code": "STATUS_CODE_ERROR", "message": "m"}, "links": [{"traceId": "", "attributes": []}],
         "events": [{"name": "e", "timeUnixNano": "5"}], "droppedEventsCount": 4294967295},
        {"kind": 2, "status": {"code": 2}, "name": None}]}]}]}
    return {"metrics_pb": {"hand": m_pb}, "logs_pb": {"hand": l_pb}, "traces_pb": {"hand": t_pb},
            "metrics_json": {"hand": json.dumps(m_json).encode()}, "logs_json": {"hand": json.dumps(l_json).encode()},
            "traces_json": {"hand": json.dumps(t_json).encode()}}


def main():
    fixtures = sys.argv[1]
    sdk = sys.argv[2] if len(sys.argv) > 2 else None
    seeds = handmade()
    for path in sorted(glob.glob(os.path.join(fixtures, "otlp-*.pb")) + glob.glob(os.path.join(fixtures, "otlp-*.pb.gz"))):
        name = os.path.basename(path).split(".")[0]
        sig = name.split("-")[1]
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        seeds[sig + "_pb"][name] = data
        with open(os.path.join(fixtures, name + ".json")) as f:
            dec = json.load(f)["decoded"]
        seeds[sig + "_json"][name] = json.dumps(otlp_ref.to_otlp_json(dec)).encode()
        seeds[sig + "_json"][name + "-numbers"] = json.dumps(otlp_ref.to_otlp_json(dec, ints_as_strings=False)).encode()
    if sdk:
        for path in sorted(glob.glob(os.path.join(sdk, "*_sdk*"))):
            sig, fmt, n = os.path.basename(path).split("_")
            with open(path, "rb") as f:
                seeds["%s_%s" % (sig, fmt)]["js-" + n] = f.read()
    for target, files in seeds.items():
        d = os.path.join(HERE, "corpus", "otlp_" + target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (d, len(files)))


if __name__ == "__main__":
    main()
