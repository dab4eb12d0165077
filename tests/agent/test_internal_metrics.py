#!/usr/bin/python3
# test_internal_metrics.py: /api/v1/internal/metrics as Fluent Bit 5.1.1's vivo_exporter serves it, and Fluent Bit's instance numbering in every input (issue 14, acceptance 5).
import json
import os
import re
import socket

import xxhash  # Debian python3-xxhash: cmetrics' series hash is XXH3-64
from agentlib import FIXTURES, Agent, curl, post_json, run
from fwdlib import pack, wait_for

# The fixture's pipeline: forward, http, opentelemetry, fluentbit_metrics, in that order;
# a dummy input after them shows the numbering goes on across plugins.
CONF = """[INPUT]
    name forward
    port 0
[INPUT]
    name http
    port 0
[INPUT]
    name opentelemetry
    port 0
[INPUT]
    name fluentbit_metrics
    scrape_interval 1
[INPUT]
    name dummy
    rate 20
    samples 1
[OUTPUT]
    name vivo_exporter
    match *
"""
NAMES = ["forward.0", "http.1", "opentelemetry.2", "fluentbit_metrics.3", "dummy.4"]


def fixture():
    raw = open(os.path.join(FIXTURES, "exporter-internal-metrics-01.txt"), "rb").read()
    head, body = raw.split(b"\r\n\r\n", 1)
    headers = dict(l.split(": ", 1) for l in head.decode().split("\r\n")[1:])
    return headers, json.loads(body), body


def families(doc):
    return {(m["meta"]["opts"]["ss"], m["meta"]["opts"]["name"]): m for m in doc["metrics"]}


def series_hash(opts, labels):
    """cmetrics' hash of a series (cmt_map.c cmt_map_metric_get): XXH3-64 over the fully
    qualified name (cmt_opts_init: "ns_", "ss_" when not empty, the name), then each label
    value; 0 without labels (the static sample)."""
    if not labels:
        return 0
    h = xxhash.xxh3_64("".join(p + "_" for p in (opts["ns"], opts["ss"]) if p) + opts["name"])
    for v in labels:
        h.update(v)
    return h.intdigest()


def bad_hashes(doc):
    return [(m["meta"]["opts"]["name"], v.get("labels"), v["hash"]) for m in doc["metrics"] for v in m["values"]
            if v["hash"] != series_hash(m["meta"]["opts"], v.get("labels"))]


def feed(a):
    post_json(a, "/", {"via": "http"})
    with socket.create_connection(("127.0.0.1", a.ports["forward"]), timeout=10) as s:
        s.sendall(pack(["app.fwd", 1700000000, {"via": "forward"}]))
        s.sendall(pack(["app.fwd", 1700000001, {"via": "forward"}]))
    body = open(os.path.join(FIXTURES, "otlp-logs-dummy-01.pb"), "rb").read()
    st, _, _ = curl("-XPOST", "-H", "Content-Type: application/x-protobuf", a.url("otlp", "/v1/logs"), data=body)
    return st


def v1(a, stream):
    _, _, body = curl(a.url("exporter", "/api/v1/%s" % stream))
    return [json.loads(l) for l in body.decode().splitlines()]


def test_internal_metrics(t):
    fh, fdoc, fbody = fixture()
    ffam = families(fdoc)
    with Agent(config=CONF, expect=("http", "forward", "otlp", "exporter")) as a:
        t.eq(feed(a), 200, "OTLP logs accepted")
        got = wait_for(lambda: {c["source_name"] for c in v1(a, "logs")} >= {"forward.0", "http.1", "opentelemetry.2", "dummy.4"}, 10)
        t.ok(got, "every log input stored its records", v1(a, "logs"))
        for url in (a.url("exporter", "/api/v1/internal/metrics"), a.url("ui", "/api/v1/internal/metrics")):
            st, h, body = curl(url)
            t.eq((st, h.get("content-type")), (200, fh["content-type"]), "%s: 200, %s" % (url, fh["content-type"]))
            t.ok(not body.endswith(b"\n") and not fbody.endswith(b"\n"), "one JSON object, no trailing newline, as Fluent Bit")
            doc = json.loads(body)
            t.eq(doc["meta"], fdoc["meta"], "top-level meta as Fluent Bit's")
            fam = families(doc)
            unknown = [k for k in fam if k not in ffam]
            t.eq(unknown, [], "every family served is one Fluent Bit 5.1.1 serves")
            t.ok(all(fam[k]["meta"] == ffam[k]["meta"] for k in fam if k in ffam),
                 "each family's meta (type, ns, ss, name, desc, unit, labels, aggregation) equals Fluent Bit's",
                 [(k, fam[k]["meta"], ffam[k]["meta"]) for k in fam if k in ffam and fam[k]["meta"] != ffam[k]["meta"]])
            for core in (("", "uptime"), ("input", "bytes_total"), ("input", "records_total"),
                         ("output", "proc_records_total"), ("", "process_start_time_seconds"), ("build", "info"),
                         ("storage", "chunks")):
                t.ok(core in fam, "family %s_%s is served" % core)
            inputs = [v["labels"][0] for v in fam[("input", "records_total")]["values"]]
            fb_inputs = [v["labels"][0] for v in ffam[("input", "records_total")]["values"]]
            t.eq(inputs[:4], fb_inputs, "input instance names as Fluent Bit numbers them (forward.0, http.1, ...)")
            t.eq(inputs, NAMES, "the numbering goes on across plugins (dummy.4)")
            recs = {v["labels"][0]: v["value"] for v in fam[("input", "records_total")]["values"]}
            t.ok(recs["forward.0"] == 2.0 and recs["http.1"] == 1.0 and recs["opentelemetry.2"] >= 1.0,
                 "records_total counts what each input took in", recs)
            t.eq([v["labels"][0] for v in fam[("output", "proc_records_total")]["values"]],
                 [v["labels"][0] for v in ffam[("output", "proc_records_total")]["values"]], "output named vivo_exporter.0")
            t.ok(all(isinstance(v["value"], float) and isinstance(v["hash"], int)
                     for f in fam.values() for v in f["values"]), "values are floats, hashes integers")
            t.eq(bad_hashes(doc), [], "every hash is cmetrics' XXH3-64 of fluentbit_<ss>_<name> and the labels, 0 without")
            # Series Fluent Bit served too (same family and labels: the inputs, the output, and
            # on a host named as the capture's, the hostname ones) carry Fluent Bit's own number.
            fb = {(k, tuple(v.get("labels", []))): v["hash"] for k, f in ffam.items() for v in f["values"]}
            same = [(k, tuple(v.get("labels", [])), v["hash"]) for k, f in fam.items() for v in f["values"]
                    if (k, tuple(v.get("labels", []))) in fb]
            t.ok(len(same) >= 9 and all(h == fb[(k, lv)] for k, lv, h in same),
                 "%d series Fluent Bit's capture has too: each with the hash cmetrics gave it" % len(same),
                 [(k, lv, h, fb[(k, lv)]) for k, lv, h in same if h != fb[(k, lv)]])


def test_names_everywhere(t):
    with Agent(config=CONF, expect=("http", "forward", "otlp", "exporter", "ops")) as a:
        feed(a)
        wait_for(lambda: len(v1(a, "logs")) >= 4 and v1(a, "metrics"), 10)
        logs = v1(a, "logs")
        by = {c["source_name"]: c for c in logs}
        t.eq(sorted(by), sorted(["forward.0", "http.1", "opentelemetry.2", "dummy.4"]), "source_name of every log input")
        t.eq(by["http.1"]["tag"], "http.1", "http: a POST to / is tagged with the instance name (http.1)")
        t.eq(by["dummy.4"]["tag"], "dummy.4", "dummy: default tag is the instance name")
        t.eq((by["forward.0"]["tag"], by["opentelemetry.2"]["tag"]), ("app.fwd", "v1_logs"), "forward and OTLP keep their tags")
        _, _, legacy = curl(a.url("exporter", "/logs"))
        t.ok('"_tag":"http.1"' in legacy.decode(), "legacy /logs line carries _tag http.1")
        mets = v1(a, "metrics")
        _, _, prom = curl(a.url("ops", "/api/v1/metrics/prometheus"))
        labels = re.findall(r'vivo_input_records_total\{name="([^"]+)"\}', prom.decode())
        t.eq(labels, NAMES, "self-metrics labels use the same names")
        line = mets[0]
        t.ok(all(n in json.dumps(line) for n in NAMES), "the self-metrics context names every instance", line)
        t.eq(bad_hashes(line), [], "self-metrics hashes: cmetrics' XXH3-64 of vivo_<ss>_<name> and the labels, 0 without")


def test_default_pipeline(t):
    """Without a config the default inputs are numbered forward.0, http.1, opentelemetry.2."""
    with Agent(expect=("http", "forward", "otlp", "exporter")) as a:
        _, _, body = curl(a.url("exporter", "/api/v1/internal/metrics"))
        fam = families(json.loads(body))
        t.eq([v["labels"][0] for v in fam[("input", "records_total")]["values"]],
             ["forward.0", "http.1", "opentelemetry.2"], "default pipeline numbering")
        post_json(a, "/", {"hello": "Calyptia!"})
        _, _, legacy = curl(a.url("exporter", "/logs"))
        t.ok(legacy.decode().endswith(',{"_tag":"http.1"}],{"hello":"Calyptia!"}]\n'),
             "the README's example still gives _tag http.1", legacy)


if __name__ == "__main__":
    run([test_internal_metrics, test_names_everywhere, test_default_pipeline])
