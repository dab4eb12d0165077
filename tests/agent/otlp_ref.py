# otlp_ref.py: a second, independent statement of the OTLP mapping (spec agent.md 3.3-3.5,
# 4.3, docs/otlp.md) in Python, from an OTLP request in proto-JSON form (snake_case names,
# bytes as hex, 64-bit integers as numbers, enums as integers: the fixtures' .json
# sidecars) to what the exporter must serve; plus converters to OTLP JSON for the JSON path.
import base64
import math

import xxhash  # Debian python3-xxhash (scripts/deps.sh test): cmetrics' series hash is XXH3-64


ANY_KEYS = ("string_value", "bool_value", "int_value", "double_value", "array_value", "kvlist_value", "bytes_value")


def any_value(v):
    """An AnyValue as the JSON value Vivo renders."""
    if v is None:
        return None
    if "string_value" in v:
        return v["string_value"]
    if "bool_value" in v:
        return v["bool_value"]
    if "int_value" in v:
        return int(v["int_value"])
    if "double_value" in v:
        d = float(v["double_value"])
        return None if math.isnan(d) or math.isinf(d) else d
    if "array_value" in v:
        return [any_value(x) for x in v["array_value"].get("values", [])]
    if "kvlist_value" in v:
        return attrs(v["kvlist_value"].get("values", []))
    if "bytes_value" in v:
        raw = bytes.fromhex(v["bytes_value"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    return None


def attrs(kvs):
    """KeyValue list as an object: the last duplicate wins."""
    d = {}
    for kv in kvs or []:
        k = kv.get("key", "")
        d.pop(k, None)
        d[k] = any_value(kv.get("value"))
    return d


def _id(v):
    return v.lower() if v else None


def _str_or_none(v):
    return v if v else None


# ---- traces (spec 3.5) -------------------------------------------------------------------

def traces(req):
    out = {"resourceSpans": []}
    for rs in req.get("resource_spans", []):
        res = rs.get("resource", {})
        ors = {"resource": {"attributes": attrs(res.get("attributes")),
                            "dropped_attributes_count": res.get("dropped_attributes_count", 0)},
               "schema_url": _str_or_none(rs.get("schema_url")), "scope_spans": []}
        for ss in rs.get("scope_spans", []):
            if "scope" in ss:
                sc = ss["scope"]
                scope = {"name": sc.get("name", ""), "version": sc.get("version", ""),
                         "attributes": attrs(sc["attributes"]) if sc.get("attributes") else None,
                         "dropped_attributes_count": sc.get("dropped_attributes_count", 0)}
            else:
                scope = {"name": None, "version": None, "attributes": None, "dropped_attributes_count": 0}
            oss = {"scope": scope, "spans": [], "schema_url": _str_or_none(ss.get("schema_url"))}
            for sp in ss.get("spans", []):
                st = sp.get("status", {})
                oss["spans"].append({
                    "trace_id": _id(sp.get("trace_id")), "span_id": _id(sp.get("span_id")),
                    "parent_span_id": _id(sp.get("parent_span_id")),
                    "trace_state": _str_or_none(sp.get("trace_state")), "name": sp.get("name", ""),
                    "kind": sp.get("kind", 0), "start_time_unix_nano": sp.get("start_time_unix_nano", 0),
                    "end_time_unix_nano": sp.get("end_time_unix_nano", 0),
                    "attributes": attrs(sp.get("attributes")),
                    "dropped_attributes_count": sp.get("dropped_attributes_count", 0),
                    "dropped_events_count": sp.get("dropped_events_count", 0),
                    "dropped_links_count": sp.get("dropped_links_count", 0),
                    "events": [{"time_unix_nano": e.get("time_unix_nano", 0), "name": e.get("name", ""),
                                "attributes": attrs(e.get("attributes")),
                                "dropped_attributes_count": e.get("dropped_attributes_count", 0)}
                               for e in sp.get("events", [])],
                    "links": [{"trace_id": _id(l.get("trace_id")), "span_id": _id(l.get("span_id")),
                               "trace_state": _str_or_none(l.get("trace_state")),
                               "attributes": attrs(l.get("attributes")),
                               "dropped_attributes_count": l.get("dropped_attributes_count", 0)}
                              for l in sp.get("links", [])],
                    "schema_url": None,
                    "status": {"code": st.get("code", 0), "message": _str_or_none(st.get("message"))},
                })
            ors["scope_spans"].append(oss)
        out["resourceSpans"].append(ors)
    return out


def span_count(req):
    return sum(len(ss.get("spans", [])) for rs in req.get("resource_spans", []) for ss in rs.get("scope_spans", []))


# ---- logs (spec 3.3, 4.3) ------------------------------------------------------------------

def _log_context(rl, sl):
    res = rl.get("resource", {})
    r = {"attributes": attrs(res.get("attributes"))}
    if res.get("dropped_attributes_count"):
        r["dropped_attributes_count"] = res["dropped_attributes_count"]
    if rl.get("schema_url"):
        r["schema_url"] = rl["schema_url"]
    sc = sl.get("scope", {})
    s = {}
    for k in ("name", "version"):
        if sc.get(k):
            s[k] = sc[k]
    if sc.get("attributes"):
        s["attributes"] = attrs(sc["attributes"])
    if sc.get("dropped_attributes_count"):
        s["dropped_attributes_count"] = sc["dropped_attributes_count"]
    if sl.get("schema_url"):
        s["schema_url"] = sl["schema_url"]
    return {"resource": r, "scope": s}


def logs(req, tag="v1_logs", now=None):
    """(legacy lines, v1 records, shared otlp context or None) for a logs request."""
    lines, records, contexts = [], [], []
    for rl in req.get("resource_logs", []):
        for sl in rl.get("scope_logs", []):
            recs = sl.get("log_records", [])
            if recs:
                contexts.append(_log_context(rl, sl))
            for lr in recs:
                meta = {}
                if lr.get("observed_time_unix_nano"):
                    meta["observed_timestamp"] = lr["observed_time_unix_nano"]
                if lr.get("severity_number"):
                    meta["severity_number"] = lr["severity_number"]
                if lr.get("severity_text"):
                    meta["severity_text"] = lr["severity_text"]
                if lr.get("attributes"):
                    meta["attributes"] = attrs(lr["attributes"])
                if lr.get("trace_id"):
                    meta["trace_id"] = lr["trace_id"].lower()
                if lr.get("span_id"):
                    meta["span_id"] = lr["span_id"].lower()
                if lr.get("flags", 0) & 0xff:
                    meta["trace_flags"] = lr["flags"] & 0xff
                body = lr.get("body")
                if body is None or not any(k in body for k in ANY_KEYS):
                    b = {}  # no body, or an empty AnyValue (the Collector's otlphttp exporter sends one)
                elif "kvlist_value" in body:
                    b = attrs(body["kvlist_value"].get("values", []))
                else:
                    b = {"log": any_value(body)}
                ts = lr.get("time_unix_nano") or lr.get("observed_time_unix_nano") or now
                lines.append([[ts, {"_tag": tag, "otlp": meta}], b])
                records.append([[ts, {"otlp": meta}], b])
    shared = contexts[0] if contexts and all(c == contexts[0] for c in contexts) else None
    return lines, records, shared


# ---- metrics (spec 3.4) ---------------------------------------------------------------------

def label_text(v):
    if v is None:
        return ""
    if "string_value" in v:
        return v["string_value"]
    if "bool_value" in v:
        return "true" if v["bool_value"] else "false"
    if "int_value" in v:
        return str(int(v["int_value"]))
    if "double_value" in v:
        d = float(v["double_value"])
        if d == int(d) and abs(d) < 1e16:
            return str(int(d))
        return repr(d)
    return ""


def labels_hash(name, values):
    """cmetrics' hash of a series (cmt_decode_opentelemetry.c compute_metric_hash, cmt_map.c
    cmt_map_metric_get): XXH3-64, seed 0, over the fully qualified name (for OTLP input ns and ss
    are empty: the metric name) and then each label value's bytes, back to back. A point without
    attributes is cmetrics' static sample, whose hash is 0: callers pass no values for it."""
    if not values:
        return 0
    h = xxhash.xxh3_64()
    h.update(name.encode())
    for v in values:
        h.update(v.encode())
    return h.intdigest()


def _num(v):
    return float(v)


def metrics(req):
    """One expected line per (resource, scope) with at least one metric with data."""
    out = []
    for rm in req.get("resource_metrics", []):
        for sm in rm.get("scope_metrics", []):
            line = _metrics_scope(rm, sm)
            if line:
                out.append(line)
    return out


def point_count(req):
    n = 0
    for rm in req.get("resource_metrics", []):
        for sm in rm.get("scope_metrics", []):
            for m in sm.get("metrics", []):
                for k in ("gauge", "sum", "histogram", "exponential_histogram", "summary"):
                    if k in m:
                        n += len(m[k].get("data_points", []))
    return n


TYPE_KEYS = {0: "counter", 1: "gauge", 2: "histogram", 3: "summary", 5: "exp_histogram"}


def exemplars(dp):
    """A data point's exemplars as cmetrics keeps them (clone_exemplars_to_kvlist: time, span and
    trace IDs when set, the value, filtered attributes when any), IDs as hex (Vivo's rule)."""
    out = []
    for ex in dp.get("exemplars", []):
        e = {"time_unix_nano": ex.get("time_unix_nano", 0)}
        for k in ("span_id", "trace_id"):
            if ex.get(k):
                e[k] = ex[k].lower()
        if "as_int" in ex:
            e["as_int"] = int(ex["as_int"])
        elif "as_double" in ex:
            e["as_double"] = _num(ex["as_double"])
        if ex.get("filtered_attributes"):
            e["filtered_attributes"] = attrs(ex["filtered_attributes"])
        out.append(e)
    return out


def _external(rm, sm, otlp):
    """meta.external in cmetrics' order: a scope's and a resource's fields with their defaults when
    the message is there, the schema URLs under scope_metrics and resource_metrics."""
    sc = sm.get("scope", {})
    smeta = {}
    if "scope" in sm:
        smeta = {"name": sc.get("name", ""), "version": sc.get("version", ""),
                 "dropped_attributes_count": sc.get("dropped_attributes_count", 0)}
    res = rm.get("resource", {})
    rmeta = {"dropped_attributes_count": res.get("dropped_attributes_count", 0)} if "resource" in rm else {}
    return {"scope": {"metadata": smeta, "attributes": attrs(sc.get("attributes"))},
            "scope_metrics": {"metadata": {"schema_url": sm.get("schema_url", "")}},
            "otlp": {"metrics": otlp},
            "resource": {"metadata": rmeta, "attributes": attrs(res.get("attributes"))},
            "resource_metrics": {"metadata": {"schema_url": rm.get("schema_url", "")}}}


def _metrics_scope(rm, sm):
    otlp = {}
    mets = []
    for m in sm.get("metrics", []):
        kind = next((k for k in ("gauge", "sum", "histogram", "exponential_histogram", "summary") if k in m), None)
        if kind is None:
            continue
        data = m[kind]
        typ = {"gauge": 1, "sum": 0, "histogram": 2, "exponential_histogram": 5, "summary": 3}[kind]
        dps = data.get("data_points", [])
        keys = []
        for dp in dps:
            for kv in dp.get("attributes", []):
                if kv["key"] not in keys:
                    keys.append(kv["key"])
        opts = {"ns": "", "ss": "", "name": m.get("name", ""), "desc": m.get("description", ""), "unit": m.get("unit", "")}
        meta = {"ver": 2, "type": typ, "opts": opts, "labels": keys}
        first = dps[0] if dps else {}
        if typ == 2:
            meta["buckets"] = [float(b) for b in first.get("explicit_bounds", [])]
        if typ == 3:
            meta["quantiles"] = [float(q.get("quantile", 0)) for q in first.get("quantile_values", [])]
        if typ in (0, 2, 5):
            meta["aggregation_type"] = data.get("aggregation_temporality", 0)
        values = []
        entry = otlp.setdefault(TYPE_KEYS[typ], {})
        entry.pop(m.get("name", ""), None)  # a second metric of one name and type replaces the first
        entry[m.get("name", "")] = {"datapoints": {}}
        if m.get("metadata"):
            entry[m.get("name", "")]["metadata"] = attrs(m["metadata"])
        points = entry[m.get("name", "")]["datapoints"]
        for dp in dps:
            has = bool(dp.get("attributes"))
            lv = {}
            for kv in dp.get("attributes", []):
                lv[kv["key"]] = label_text(kv.get("value"))
            labels = [lv.get(k, "") for k in keys]
            h = labels_hash(m.get("name", ""), labels) if has else 0
            ts = dp.get("time_unix_nano", 0)
            v = {"ts": ts}
            if dp.get("start_time_unix_nano"):
                v["start_ts"] = dp["start_time_unix_nano"]
            pm = {"start_time_unix_nano": dp.get("start_time_unix_nano", 0), "flags": dp.get("flags", 0)}
            if typ in (0, 1):
                if "as_int" in dp:
                    v["value"] = float(int(dp["as_int"]))
                    v["value_type"] = 1
                    v["value_int64"] = int(dp["as_int"])
                    pm["number_value_case"] = "int"
                else:
                    v["value"] = _num(dp.get("as_double", 0))
                    pm["number_value_case"] = "double"
            elif typ == 2:
                nb = len(first.get("explicit_bounds", [])) + 1
                counts = [int(c) for c in dp.get("bucket_counts", [])][:nb]
                counts += [0] * (nb - len(counts))
                v["histogram"] = {"buckets": counts, "sum": _num(dp.get("sum", 0)), "count": int(dp.get("count", 0))}
                pm["has_sum"] = "sum" in dp
                for k in ("min", "max"):
                    if k in dp:
                        pm["has_" + k] = True
                        pm[k] = _num(dp[k])
            elif typ == 5:
                pos, neg = dp.get("positive", {}), dp.get("negative", {})
                v["exp_histogram"] = {
                    "scale": dp.get("scale", 0), "zero_count": int(dp.get("zero_count", 0)),
                    "zero_threshold": _num(dp.get("zero_threshold", 0)),
                    "positive_offset": pos.get("offset", 0), "positive_buckets": [int(c) for c in pos.get("bucket_counts", [])],
                    "negative_offset": neg.get("offset", 0), "negative_buckets": [int(c) for c in neg.get("bucket_counts", [])],
                    "count": int(dp.get("count", 0)), "sum_set": 1 if "sum" in dp else 0, "sum": _num(dp.get("sum", 0))}
                pm["has_sum"] = "sum" in dp
                for k in ("min", "max"):
                    if k in dp:
                        pm["has_" + k] = True
                        pm[k] = _num(dp[k])
            else:
                qs = dp.get("quantile_values", [])
                v["summary"] = {"quantiles_set": 1 if qs else 0, "quantiles": [_num(q.get("value", 0)) for q in qs],
                                "count": int(dp.get("count", 0)), "sum": _num(dp.get("sum", 0))}
            if dp.get("exemplars"):
                pm["exemplars"] = exemplars(dp)
            if has:
                v["labels"] = labels
            v["hash"] = h
            values.append(v)
            key = "%x:%d" % (h, ts)
            points.pop(key, None)  # the last of two points with one key wins, at its place
            points[key] = pm
        mets.append({"meta": meta, "values": values})
    if not mets:
        return None
    return {"meta": {"cmetrics": {"producer": "opentelemetry"}, "external": _external(rm, sm, otlp),
                     "processing": {"static_labels": []}},
            "metrics": mets}


# ---- proto-JSON (sidecar) to OTLP JSON (what an SDK posts) ----------------------------------

def _camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# Fields whose 64-bit values OTLP JSON writes as strings, and byte fields.
_INT64_FIELDS = {"time_unix_nano", "observed_time_unix_nano", "start_time_unix_nano", "end_time_unix_nano",
                 "int_value", "as_int", "count", "bucket_counts", "zero_count"}
_ID_FIELDS = {"trace_id", "span_id", "parent_span_id"}


def to_otlp_json(obj, ints_as_strings=True, key=None):
    """Turn proto-JSON into OTLP JSON: lowerCamelCase keys, 64-bit integers as strings
    (or numbers), IDs stay hex, bytes_value becomes base64."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "bytes_value":
                out["bytesValue"] = base64.b64encode(bytes.fromhex(v)).decode()
                continue
            out[_camel(k)] = to_otlp_json(v, ints_as_strings, k)
        return out
    if isinstance(obj, list):
        return [to_otlp_json(x, ints_as_strings, key) for x in obj]
    if ints_as_strings and key in _INT64_FIELDS and isinstance(obj, int) and not isinstance(obj, bool):
        return str(obj)
    return obj


# ---- proto-JSON to protobuf (a schema-driven encoder for tests) -----------------------------

import struct  # noqa: E402

# message -> field -> (number, type, message type of a sub-message)
_KV = {"key": (1, "string"), "value": (2, "msg", "AnyValue")}
_SCHEMA = {
    "AnyValue": {"string_value": (1, "string"), "bool_value": (2, "bool"), "int_value": (3, "int64"),
                 "double_value": (4, "double"), "array_value": (5, "msg", "ArrayValue"),
                 "kvlist_value": (6, "msg", "KeyValueList"), "bytes_value": (7, "hexbytes")},
    "ArrayValue": {"values": (1, "msg", "AnyValue")},
    "KeyValueList": {"values": (1, "msg", "KeyValue")},
    "KeyValue": _KV,
    "Resource": {"attributes": (1, "msg", "KeyValue"), "dropped_attributes_count": (2, "uint")},
    "Scope": {"name": (1, "string"), "version": (2, "string"), "attributes": (3, "msg", "KeyValue"),
              "dropped_attributes_count": (4, "uint")},
    "TracesReq": {"resource_spans": (1, "msg", "ResourceSpans")},
    "ResourceSpans": {"resource": (1, "msg", "Resource"), "scope_spans": (2, "msg", "ScopeSpans"), "schema_url": (3, "string")},
    "ScopeSpans": {"scope": (1, "msg", "Scope"), "spans": (2, "msg", "Span"), "schema_url": (3, "string")},
    "Span": {"trace_id": (1, "hexbytes"), "span_id": (2, "hexbytes"), "trace_state": (3, "string"),
             "parent_span_id": (4, "hexbytes"), "name": (5, "string"), "kind": (6, "uint"),
             "start_time_unix_nano": (7, "fixed64"), "end_time_unix_nano": (8, "fixed64"),
             "attributes": (9, "msg", "KeyValue"), "dropped_attributes_count": (10, "uint"),
             "events": (11, "msg", "Event"), "dropped_events_count": (12, "uint"), "links": (13, "msg", "Link"),
             "dropped_links_count": (14, "uint"), "status": (15, "msg", "Status"), "flags": (16, "fixed32")},
    "Event": {"time_unix_nano": (1, "fixed64"), "name": (2, "string"), "attributes": (3, "msg", "KeyValue"),
              "dropped_attributes_count": (4, "uint")},
    "Link": {"trace_id": (1, "hexbytes"), "span_id": (2, "hexbytes"), "trace_state": (3, "string"),
             "attributes": (4, "msg", "KeyValue"), "dropped_attributes_count": (5, "uint"), "flags": (6, "fixed32")},
    "Status": {"message": (2, "string"), "code": (3, "uint")},
    "LogsReq": {"resource_logs": (1, "msg", "ResourceLogs")},
    "ResourceLogs": {"resource": (1, "msg", "Resource"), "scope_logs": (2, "msg", "ScopeLogs"), "schema_url": (3, "string")},
    "ScopeLogs": {"scope": (1, "msg", "Scope"), "log_records": (2, "msg", "LogRecord"), "schema_url": (3, "string")},
    "LogRecord": {"time_unix_nano": (1, "fixed64"), "severity_number": (2, "uint"), "severity_text": (3, "string"),
                  "body": (5, "msg", "AnyValue"), "attributes": (6, "msg", "KeyValue"), "dropped_attributes_count": (7, "uint"),
                  "flags": (8, "fixed32"), "trace_id": (9, "hexbytes"), "span_id": (10, "hexbytes"),
                  "observed_time_unix_nano": (11, "fixed64"), "event_name": (12, "string")},
    "MetricsReq": {"resource_metrics": (1, "msg", "ResourceMetrics")},
    "ResourceMetrics": {"resource": (1, "msg", "Resource"), "scope_metrics": (2, "msg", "ScopeMetrics"), "schema_url": (3, "string")},
    "ScopeMetrics": {"scope": (1, "msg", "Scope"), "metrics": (2, "msg", "Metric"), "schema_url": (3, "string")},
    "Metric": {"name": (1, "string"), "description": (2, "string"), "unit": (3, "string"), "gauge": (5, "msg", "Gauge"),
               "sum": (7, "msg", "Sum"), "histogram": (9, "msg", "Histogram"),
               "exponential_histogram": (10, "msg", "ExpHistogram"), "summary": (11, "msg", "Summary"),
               "metadata": (12, "msg", "KeyValue")},
    "Exemplar": {"filtered_attributes": (7, "msg", "KeyValue"), "time_unix_nano": (2, "fixed64"), "as_double": (3, "double"),
                 "span_id": (4, "hexbytes"), "trace_id": (5, "hexbytes"), "as_int": (6, "sfixed64")},
    "Gauge": {"data_points": (1, "msg", "NDP")},
    "Sum": {"data_points": (1, "msg", "NDP"), "aggregation_temporality": (2, "uint"), "is_monotonic": (3, "bool")},
    "Histogram": {"data_points": (1, "msg", "HDP"), "aggregation_temporality": (2, "uint")},
    "ExpHistogram": {"data_points": (1, "msg", "EHDP"), "aggregation_temporality": (2, "uint")},
    "Summary": {"data_points": (1, "msg", "SDP")},
    "NDP": {"start_time_unix_nano": (2, "fixed64"), "time_unix_nano": (3, "fixed64"), "as_double": (4, "double"),
            "exemplars": (5, "msg", "Exemplar"), "as_int": (6, "sfixed64"), "attributes": (7, "msg", "KeyValue"),
            "flags": (8, "uint")},
    "HDP": {"start_time_unix_nano": (2, "fixed64"), "time_unix_nano": (3, "fixed64"), "count": (4, "fixed64"),
            "sum": (5, "double"), "bucket_counts": (6, "packed_fixed64"), "explicit_bounds": (7, "packed_double"),
            "exemplars": (8, "msg", "Exemplar"), "attributes": (9, "msg", "KeyValue"), "flags": (10, "uint"),
            "min": (11, "double"), "max": (12, "double")},
    "EHDP": {"attributes": (1, "msg", "KeyValue"), "start_time_unix_nano": (2, "fixed64"), "time_unix_nano": (3, "fixed64"),
             "count": (4, "fixed64"), "sum": (5, "double"), "scale": (6, "sint"), "zero_count": (7, "fixed64"),
             "positive": (8, "msg", "Buckets"), "negative": (9, "msg", "Buckets"), "flags": (10, "uint"),
             "exemplars": (11, "msg", "Exemplar"), "min": (12, "double"), "max": (13, "double"),
             "zero_threshold": (14, "double")},
    "Buckets": {"offset": (1, "sint"), "bucket_counts": (2, "packed_uint")},
    "SDP": {"start_time_unix_nano": (2, "fixed64"), "time_unix_nano": (3, "fixed64"), "count": (4, "fixed64"),
            "sum": (5, "double"), "quantile_values": (6, "msg", "VAQ"), "attributes": (7, "msg", "KeyValue"),
            "flags": (8, "uint")},
    "VAQ": {"quantile": (1, "double"), "value": (2, "double")},
}


def _varint(n):
    n &= (1 << 64) - 1
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def field(num, wt, payload):
    """One raw protobuf field (for hand-made and broken messages): payload is bytes for wire
    type 2, an int otherwise."""
    tag = _varint(num << 3 | wt)
    if wt == 2:
        return tag + _varint(len(payload)) + payload
    if wt == 0:
        return tag + _varint(payload)
    if wt == 1:
        return tag + payload.to_bytes(8, "little")
    return tag + payload.to_bytes(4, "little")


def to_protobuf(obj, msg):
    """Encode a proto-JSON dict as message `msg` (TracesReq, LogsReq, MetricsReq, ...)."""
    out = b""
    for k, v in obj.items():
        num, typ = _SCHEMA[msg][k][:2]
        vals = v if isinstance(v, list) and not typ.startswith("packed") else [v]
        for x in vals:
            if typ == "msg":
                sub = to_protobuf(x, _SCHEMA[msg][k][2])
                out += _varint(num << 3 | 2) + _varint(len(sub)) + sub
            elif typ == "string":
                b = x.encode()
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
            elif typ == "hexbytes":
                b = bytes.fromhex(x)
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
            elif typ in ("uint", "int64", "bool"):
                out += _varint(num << 3) + _varint(int(x))
            elif typ == "sint":
                out += _varint(num << 3) + _varint((int(x) << 1) ^ (int(x) >> 63))
            elif typ in ("fixed64", "sfixed64"):
                out += _varint(num << 3 | 1) + (int(x) & ((1 << 64) - 1)).to_bytes(8, "little")
            elif typ == "fixed32":
                out += _varint(num << 3 | 5) + int(x).to_bytes(4, "little")
            elif typ == "double":
                out += _varint(num << 3 | 1) + struct.pack("<d", float(x))
            elif typ == "packed_fixed64":
                b = b"".join(int(c).to_bytes(8, "little") for c in x)
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
            elif typ == "packed_double":
                b = b"".join(struct.pack("<d", float(c)) for c in x)
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
            elif typ == "packed_uint":
                b = b"".join(_varint(int(c)) for c in x)
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
    return out
