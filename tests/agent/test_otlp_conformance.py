#!/usr/bin/python3
# test_otlp_conformance.py: OTLP metrics conformance (issue 14, acceptance 2): every field of every OTLP metrics body Fluent Bit 5.1.1 sent (tests/fixtures/fluent-bit-5.1.1/otlp-metrics-*, decoded in their .json sidecars) is looked up where Fluent Bit's vivo_exporter serves that field for the same input, and must hold the same value there, but for the intended differences listed in DIFFERENCES, whose Vivo form is checked instead. Then the one OTLP metrics context Fluent Bit decoded itself in the captures (forward-metrics-otlp-01) is compared leaf by leaf with what Vivo serves for the same request.
#
# Where Fluent Bit serves each field: the cmetrics shape its opentelemetry input builds and its
# vivo_exporter prints, as cmetrics' OTLP decoder (cmt_decode_opentelemetry.c) and msgpack encoder
# (cmt_encode_msgpack.c) write them, checked against the capture forward-metrics-otlp-01: every
# field of a message with its default when absent from the wire (proto3; protobuf-c gives "" for
# an absent string), resource and scope in meta.external, data point details keyed
# "<hash hex>:<time>" under meta.external.otlp.metrics.<type>.<name>.datapoints.
import ctypes
import ctypes.util
import glob
import gzip
import json
import os
import struct

import otlp_ref
from agentlib import FIXTURES, Agent, curl, run
from test_otlp_json import METRICS as SYNTHETIC

# The intended differences: (place, what Fluent Bit serves, what Vivo serves and why). The test
# checks Vivo's form at each of these places; everything else must equal Fluent Bit's.
DIFFERENCES = [
    ("values[].labels of a point that lacks one of the metric's label keys",
     "only the values the point has, so later ones shift under the wrong key",
     "one value per key of meta.labels, \"\" for a missing one"),
    ("label text of a bool, double, array or kvlist attribute value",
     "1/0, %.17g, and \"\" for arrays and kvlists",
     "true/false, the shortest double that reads back the same, arrays and kvlists as JSON; the "
     "point's hash is cmetrics' XXH3-64 over this text, so it differs where the text does"),
    ("values[].value of a negative integer point of a monotonic Sum",
     "0.0 (cmetrics refuses to lower a counter), no value_int64",
     "the exact integer (value_type 1, value_int64)"),
    ("several data points without attributes in one metric",
     "one value (they share cmetrics' static sample; the last wins)",
     "every data point, in order"),
    ("summary quantiles and sum, exponential histogram sum",
     "the raw bit patterns of the doubles as integers",
     "real numbers (spec 3.4)"),
    ("exemplars[].span_id, exemplars[].trace_id",
     "the raw bytes", "lower-case hex strings (spec 3.1, as for spans and logs)"),
    ("opts.desc of a metric without a description", "\"-\"", "\"\", as sent"),
    ("histogram bucket_counts longer than explicit_bounds + 1",
     "the whole request refused", "the first bounds + 1 counts"),
    ("attribute values (resource, scope, metadata, exemplar attributes)",
     "cfl variants as Fluent Bit prints them (bytes as raw text, NaN as nan)",
     "the JSON rules of spec 3.1 (bytes as text or hex, NaN and infinities as null)"),
    ("meta.external.resource of a ResourceMetrics without a Resource",
     "left out", "{\"metadata\":{},\"attributes\":{}}, as for an absent scope"),
    ("Sum.is_monotonic", "not served (cmetrics keeps it as a flag its msgpack does not carry)",
     "not served either"),
    ("flags, dropped_attributes_count, name/version, schema URLs (Fluent Bit's OTLP JSON path)",
     "left out by Fluent Bit's JSON decoder (forward-metrics-otlp-01), served by its protobuf path",
     "served as the protobuf path serves them, whatever the encoding"),
]

TYPES = {"gauge": (1, "gauge"), "sum": (0, "counter"), "histogram": (2, "histogram"),
         "exponential_histogram": (5, "exp_histogram"), "summary": (3, "summary")}
# The fields the walk below places, per message (anything else in a sidecar fails the test).
HANDLED = {
    "ResourceMetrics": {"resource", "scope_metrics", "schema_url"},
    "Resource": {"attributes", "dropped_attributes_count"},
    "ScopeMetrics": {"scope", "metrics", "schema_url"},
    "InstrumentationScope": {"name", "version", "attributes", "dropped_attributes_count"},
    "Metric": {"name", "description", "unit", "metadata"} | set(TYPES),
    "data": {"data_points", "aggregation_temporality", "is_monotonic"},
    "NumberDataPoint": {"attributes", "start_time_unix_nano", "time_unix_nano", "as_double", "as_int", "flags",
                        "exemplars"},
    "HistogramDataPoint": {"attributes", "start_time_unix_nano", "time_unix_nano", "count", "sum", "bucket_counts",
                           "explicit_bounds", "flags", "min", "max", "exemplars"},
    "ExponentialHistogramDataPoint": {"attributes", "start_time_unix_nano", "time_unix_nano", "count", "sum", "scale",
                                      "zero_count", "positive", "negative", "flags", "min", "max", "zero_threshold",
                                      "exemplars"},
    "SummaryDataPoint": {"attributes", "start_time_unix_nano", "time_unix_nano", "count", "sum", "quantile_values",
                         "flags"},
    "Exemplar": {"filtered_attributes", "time_unix_nano", "as_double", "as_int", "span_id", "trace_id"},
}
DP_MSG = {"gauge": "NumberDataPoint", "sum": "NumberDataPoint", "histogram": "HistogramDataPoint",
          "exponential_histogram": "ExponentialHistogramDataPoint", "summary": "SummaryDataPoint"}


class Fields:
    """Collects each field's comparison: where, what Vivo serves, what Fluent Bit serves."""

    def __init__(self):
        self.placed = 0
        self.wrong = []

    def at(self, where, got, want):
        self.placed += 1
        if got != want:
            self.wrong.append("%s: %r, Fluent Bit serves %r" % (where, got, want))

    def known(self, msg, obj):
        for k in set(obj) - HANDLED[msg]:
            self.wrong.append("%s.%s: a field this test does not place" % (msg, k))


def scope_part(f, ext, name, owner, sub_key, meta_fields):
    """external.<name> ({metadata, attributes}) and external.<name>_metrics.metadata.schema_url."""
    part = ext.get(name, {})
    sub = owner.get(sub_key)
    f.known({"scope": "InstrumentationScope", "resource": "Resource"}[name], sub or {})
    if sub is None and name == "resource":  # DIFFERENCES: Fluent Bit leaves the key out
        f.at("external.resource (no Resource)", part, {"metadata": {}, "attributes": {}})
    else:  # cmetrics: a message's fields, defaults included, only when the message is there
        meta = {k: sub.get(k, d) for k, d in meta_fields} if sub is not None else {}
        f.at("external.%s.metadata" % name, part.get("metadata"), meta)
        f.at("external.%s.attributes" % name, part.get("attributes"), otlp_ref.attrs((sub or {}).get("attributes")))
    f.at("external.%s_metrics.metadata.schema_url" % name,
         ext.get(name + "_metrics", {}).get("metadata", {}).get("schema_url"), owner.get("schema_url", ""))


def labels_of(f, where, met, dps):
    keys = []
    for dp in dps:
        for kv in dp.get("attributes", []):
            if kv["key"] not in keys:
                keys.append(kv["key"])
    f.at(where + ".meta.labels", met["meta"].get("labels"), keys)
    return keys


def exemplars(f, where, got, dp):
    for ex in dp.get("exemplars", []):
        f.known("Exemplar", ex)
    # the keys of cmetrics' clone_exemplars_to_kvlist; DIFFERENCES: IDs as hex, not raw bytes
    f.at(where + ".exemplars", got.get("exemplars"), otlp_ref.exemplars(dp) or None)


def fb_label_text(v):
    """An attribute value as cmetrics' decode_data_point_labels writes it as a label value."""
    if "string_value" in v:
        return v["string_value"]
    if "bool_value" in v:
        return "1" if v["bool_value"] else "0"
    if "int_value" in v:
        return str(int(v["int_value"]))
    if "double_value" in v:
        return "%.17g" % float(v["double_value"])
    return ""  # bytes (the sidecars carry none as labels), arrays, kvlists


def fb_labels(dp, keys):
    """{key: value} of the labels cmetrics gives a point: one per key it has, the last wins."""
    return {kv["key"]: fb_label_text(kv["value"]) for kv in dp.get("attributes", [])
            if kv["key"] in keys and kv.get("value") is not None}


def point(f, where, kind, dp, v, entry, keys, first, name):
    """One data point: its values[] entry v and its meta.external entry."""
    f.known(DP_MSG[kind], dp)
    ts, start = dp.get("time_unix_nano", 0), dp.get("start_time_unix_nano", 0)
    f.at(where + ".ts", v.get("ts"), ts)
    f.at(where + ".start_ts", v.get("start_ts"), start or None)  # set only for a start time
    lv = {kv["key"]: otlp_ref.label_text(kv.get("value")) for kv in dp.get("attributes", [])}
    labels = [lv.get(k, "") for k in keys]  # DIFFERENCES: aligned, text forms
    f.at(where + ".labels", v.get("labels"), labels if dp.get("attributes") else None)
    # The hash must be the number cmetrics computes: XXH3-64 over the name and Fluent Bit's label
    # values (its text, only the keys the point has, in key order); 0 without attributes. Where
    # Fluent Bit's text differs (DIFFERENCES: label text) it is the same function over Vivo's.
    fb = fb_labels(dp, keys)
    same_text = [fb.get(k) for k in keys if k in fb] == [lv[k] for k in keys if k in fb]
    h = otlp_ref.labels_hash(name, [fb[k] for k in keys if k in fb] if same_text else labels) \
        if dp.get("attributes") else 0
    f.at(where + ".hash", v.get("hash"), h)
    got = entry.get("datapoints", {}).get("%x:%d" % (h, ts), {})
    f.at(where + " external start_time_unix_nano", got.get("start_time_unix_nano"), start)
    f.at(where + " external flags", got.get("flags"), dp.get("flags", 0))
    if kind in ("gauge", "sum"):
        if "as_int" in dp:  # DIFFERENCES: exact integers, negative ones too
            want = {"value": float(int(dp["as_int"])), "value_type": 1, "value_int64": int(dp["as_int"])}
        else:
            want = {"value": float(dp.get("as_double", 0))}
        f.at(where + " value", {k: v[k] for k in ("value", "value_type", "value_int64") if k in v}, want)
        f.at(where + " external number_value_case", got.get("number_value_case"), "int" if "as_int" in dp else "double")
    elif kind == "histogram":
        nb = len(first.get("explicit_bounds", [])) + 1  # DIFFERENCES: longer counts cut, not refused
        counts = [int(c) for c in dp.get("bucket_counts", [])][:nb]
        f.at(where + ".histogram", v.get("histogram"), {"buckets": counts + [0] * (nb - len(counts)),
                                                        "sum": float(dp.get("sum", 0)), "count": dp.get("count", 0)})
    elif kind == "exponential_histogram":
        pos, neg = dp.get("positive", {}), dp.get("negative", {})
        f.at(where + ".exp_histogram", v.get("exp_histogram"), {
            "scale": dp.get("scale", 0), "zero_count": dp.get("zero_count", 0),
            "zero_threshold": float(dp.get("zero_threshold", 0)), "positive_offset": pos.get("offset", 0),
            "positive_buckets": pos.get("bucket_counts", []), "negative_offset": neg.get("offset", 0),
            "negative_buckets": neg.get("bucket_counts", []), "count": dp.get("count", 0),
            "sum_set": 1 if "sum" in dp else 0, "sum": float(dp.get("sum", 0))})  # DIFFERENCES: a real sum
    else:
        qs = dp.get("quantile_values", [])
        f.at(where + ".summary", v.get("summary"), {"quantiles_set": 1 if qs else 0, "count": dp.get("count", 0),
             "quantiles": [float(q.get("value", 0)) for q in qs], "sum": float(dp.get("sum", 0))})
    if kind in ("histogram", "exponential_histogram"):
        f.at(where + " external has_sum", got.get("has_sum"), "sum" in dp)
        for k in ("min", "max"):
            f.at(where + " external has_" + k, (got.get("has_" + k), got.get(k)),
                 (True, float(dp[k])) if k in dp else (None, None))
    if kind != "summary":
        exemplars(f, where, got, dp)


def metric(f, where, m, met, ext):
    f.known("Metric", m)
    kind = next(k for k in TYPES if k in m)
    typ, key = TYPES[kind]
    data = m[kind]
    f.known("data", data)
    dps = data.get("data_points", [])
    f.at(where + ".meta.type", met["meta"].get("type"), typ)
    f.at(where + ".meta.opts", met["meta"].get("opts"),
         {"ns": "", "ss": "", "name": m.get("name", ""), "desc": m.get("description", ""),  # DIFFERENCES: "" not "-"
          "unit": m.get("unit", "")})
    if typ in (0, 2, 5):
        f.at(where + ".meta.aggregation_type", met["meta"].get("aggregation_type"), data.get("aggregation_temporality", 0))
    # Sum.is_monotonic: DIFFERENCES (not served by either)
    f.at(where + " is_monotonic not served", "is_monotonic" in json.dumps(met), False)
    first = dps[0] if dps else {}
    if typ == 2:
        f.at(where + ".meta.buckets", met["meta"].get("buckets"), [float(b) for b in first.get("explicit_bounds", [])])
    if typ == 3:
        f.at(where + ".meta.quantiles", met["meta"].get("quantiles"),
             [float(q.get("quantile", 0)) for q in first.get("quantile_values", [])])
    entry = ext.get("otlp", {}).get("metrics", {}).get(key, {}).get(m.get("name", ""), {})
    f.at(where + " external metadata", entry.get("metadata"), otlp_ref.attrs(m["metadata"]) if m.get("metadata") else None)
    keys = labels_of(f, where, met, dps)
    f.at(where + " values", len(met.get("values", [])), len(dps))  # DIFFERENCES: every point kept
    for j, (dp, v) in enumerate(zip(dps, met.get("values", []))):
        point(f, "%s.values[%d]" % (where, j), kind, dp, v, entry, keys, first, m.get("name", ""))


def walk(f, req, lines):
    """Every (resource, scope) with a metric that has data is one line, in order."""
    n = 0
    for rm in req.get("resource_metrics", []):
        f.known("ResourceMetrics", rm)
        for sm in rm.get("scope_metrics", []):
            f.known("ScopeMetrics", sm)
            mets = [m for m in sm.get("metrics", []) if any(k in m for k in TYPES)]
            if not mets:
                continue
            if n >= len(lines):
                f.at("line %d" % n, None, "a line for this scope")
                return
            line = lines[n]
            ext = line["meta"]["external"]
            f.at("line %d meta.cmetrics" % n, line["meta"].get("cmetrics"), {"producer": "opentelemetry"})
            f.at("line %d meta.processing" % n, line["meta"].get("processing"), {"static_labels": []})
            scope_part(f, ext, "scope", sm, "scope", (("name", ""), ("version", ""), ("dropped_attributes_count", 0)))
            scope_part(f, ext, "resource", rm, "resource", (("dropped_attributes_count", 0),))
            f.at("line %d metrics" % n, len(line["metrics"]), len(mets))
            for i, (m, met) in enumerate(zip(mets, line["metrics"])):
                metric(f, "line %d metrics[%d] %s" % (n, i, m.get("name")), m, met, ext)
            n += 1
    f.at("lines", len(lines), n)


def zstd_decompress(data):
    lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    lib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
    size = lib.ZSTD_getFrameContentSize(data, ctypes.c_size_t(len(data)))
    out = ctypes.create_string_buffer(size)
    lib.ZSTD_decompress.restype = ctypes.c_size_t
    n = lib.ZSTD_decompress(out, ctypes.c_size_t(size), data, ctypes.c_size_t(len(data)))
    return out.raw[:n]


def body_of(base):
    """The protobuf request of a fixture, whatever framing Fluent Bit sent it in."""
    if os.path.exists(base + ".pb"):
        return open(base + ".pb", "rb").read()
    if os.path.exists(base + ".pb.gz"):
        return gzip.decompress(open(base + ".pb.gz", "rb").read())
    if os.path.exists(base + ".pb.zst"):
        return zstd_decompress(open(base + ".pb.zst", "rb").read())
    if os.path.exists(base + ".grpc"):  # gRPC length-prefixed messages: flag, 4-byte length
        raw, out = open(base + ".grpc", "rb").read(), b""
        while raw:
            flag, n = struct.unpack(">BI", raw[:5])
            assert flag == 0, "a compressed gRPC message"
            out, raw = out + raw[5:5 + n], raw[5 + n:]
        return out
    return None


def post(a, body, ctype):
    return curl("-X", "POST", "-H", "Content-Type: " + ctype, "-H", "Expect:", a.url("otlp", "/v1/metrics"), data=body)


def served(a, n):
    _, _, body = curl(a.url("exporter", "/metrics?from=%d&to=%d" % (n, n)))
    return [json.loads(l) for l in body.decode().splitlines()]


def test_fixtures(t):
    sidecars = sorted(glob.glob(os.path.join(FIXTURES, "otlp-metrics-*.json")))
    t.ok(len(sidecars) >= 5, "found the otlp-metrics-* fixtures (%d)" % len(sidecars))
    print("# intended differences (Fluent Bit -> Vivo):")
    for where, fb, vivo in DIFFERENCES:
        print("#   %s: %s -> %s" % (where, fb, vivo))
    cases = [(os.path.basename(s)[:-5], json.load(open(s))["decoded"], body_of(s[:-5])) for s in sidecars]
    cases.append(("test_otlp_json's request (every metric type, exemplars, metadata, flags)", SYNTHETIC,
                  otlp_ref.to_protobuf(SYNTHETIC, "MetricsReq")))
    with Agent(expect=("otlp", "exporter")) as a:
        n = 0
        for name, req, body in cases:
            if body is None:
                t.ok(False, "%s: a body beside the sidecar" % name)
                continue
            st, _, _ = post(a, body, "application/x-protobuf")
            lines = served(a, n) if st == 200 else []
            n += 1 if lines else 0
            f = Fields()
            walk(f, req, lines)
            t.ok(st == 200 and f.placed > 0 and not f.wrong,
                 "%s: %d fields, each where Fluent Bit serves it with its value (or a listed difference)" % (name, f.placed),
                 f.wrong[:20])


# The body the captures posted to Fluent Bit's opentelemetry input (fixtures README, metrics.json).
METRICS_JSON = (
    '{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},'
    '"scopeMetrics":[{"scope":{"name":"checkout-meter","version":"0.9.0"},"metrics":[{"name":"http.server.requests",'
    '"description":"Total HTTP requests","unit":"1","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":'
    '[{"attributes":[{"key":"method","value":{"stringValue":"POST"}},{"key":"status","value":{"intValue":"200"}}],'
    '"startTimeUnixNano":"1735689500000000000","timeUnixNano":"1735689600000000000","asInt":"1027"},{"attributes":'
    '[{"key":"method","value":{"stringValue":"POST"}},{"key":"status","value":{"intValue":"500"}}],'
    '"startTimeUnixNano":"1735689500000000000","timeUnixNano":"1735689600000000000","asInt":"3"}]}},{"name":'
    '"process.memory.usage","description":"Resident memory","unit":"By","gauge":{"dataPoints":[{"timeUnixNano":'
    '"1735689600000000000","asDouble":73400320.0}]}},{"name":"http.server.duration","description":"Request duration",'
    '"unit":"ms","histogram":{"aggregationTemporality":2,"dataPoints":[{"attributes":[{"key":"method","value":'
    '{"stringValue":"POST"}}],"startTimeUnixNano":"1735689500000000000","timeUnixNano":"1735689600000000000","count":'
    '"6","sum":412.5,"bucketCounts":["1","2","2","1"],"explicitBounds":[10,50,100]}]}}]}]}]}\n')


def leaves(v, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + "." + k)
    elif isinstance(v, list) and v and isinstance(v[0], (dict, list)):
        for i, x in enumerate(v):
            yield from leaves(x, "%s[%d]" % (path, i))
    else:
        yield path, v


def test_fluent_bit_context(t):
    with open(os.path.join(FIXTURES, "forward-metrics-otlp-01.json")) as fh:
        fb = json.load(fh)["analysis"]["payload_decoded"][0]
    with Agent(expect=("otlp", "exporter")) as a:
        st, _, _ = post(a, METRICS_JSON.encode(), "application/json")
        got = served(a, 0)
    t.eq((st, len(got)), (200, 1), "metrics.json: one line, as Fluent Bit made one context")
    if len(got) != 1:
        return
    want, have = dict(leaves(fb)), dict(leaves(got[0]))
    diff = ["%s: Vivo %r, Fluent Bit %r" % (p, have.get(p, "MISSING"), v) for p, v in want.items() if have.get(p, "MISSING") != v]
    t.ok(not diff, "every one of Fluent Bit's %d fields of the same request is in Vivo's line with its value, "
         "values[].hash and the \"<hash>:<ts>\" datapoint keys included" % len(want), diff[:20])
    vh = [v["hash"] for m in got[0]["metrics"] for v in m["values"]]
    wh = [v["hash"] for m in fb["metrics"] for v in m["values"]]
    t.eq(vh, wh, "Vivo's hashes are the ones cmetrics wrote for the same request (%s)" % wh)


def fluent_bit_series():
    """{(fully qualified name, label values): hash} of every series Fluent Bit 5.1.1 served of its
    own metrics in the captures (cmetrics computed these hashes, cmt_map_metric_get)."""
    docs = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "forward-metrics-*.json"))):
        with open(path) as fh:
            docs += json.load(fh)["analysis"].get("payload_decoded", [])  # fluentdcompat: no payload
    with open(os.path.join(FIXTURES, "exporter-internal-metrics-01.txt")) as fh:
        raw = fh.read()
    docs.append(json.loads(raw[raw.index("\n\n") + 2:]))
    out = {}
    for doc in docs:
        for m in doc.get("metrics", []):
            o = m["meta"]["opts"]
            fq = "".join(p + "_" for p in (o["ns"], o["ss"]) if p) + o["name"]
            for v in m["values"]:
                out[(fq, tuple(v.get("labels", [])))] = v["hash"]
    return out


def test_fluent_bit_own_hashes(t):
    """Fluent Bit sent its own metrics over OTLP (otlp-metrics-fbmetrics-*: names like
    fluentbit_input_bytes_total); the same series, hashed by cmetrics inside Fluent Bit, are in the
    Forward and exporter captures. Vivo's OTLP input must give each the number Fluent Bit gave."""
    known = fluent_bit_series()
    base = os.path.join(FIXTURES, "otlp-metrics-fbmetrics-01")
    with Agent(expect=("otlp", "exporter")) as a:
        st, _, _ = post(a, body_of(base), "application/x-protobuf")
        got = served(a, 0)
    pairs = [((m["meta"]["opts"]["name"], tuple(v["labels"])), v["hash"])
             for line in got for m in line["metrics"] for v in m["values"] if "labels" in v]
    common = [(k, h, known[k]) for k, h in pairs if k in known]
    wrong = ["%s %s: Vivo %d, Fluent Bit %d" % (k[0], list(k[1]), h, w) for k, h, w in common if h != w]
    t.ok(st == 200 and len(common) >= 20 and not wrong,
         "%d of Vivo's %d labelled series of otlp-metrics-fbmetrics-01 are in Fluent Bit's own captures: "
         "every hash is the one cmetrics wrote" % (len(common), len(pairs)), wrong[:10])


if __name__ == "__main__":
    run([test_fixtures, test_fluent_bit_context, test_fluent_bit_own_hashes])
