#!/usr/bin/python3
# test_vivo_paths.py: /vivo/logs|metrics|traces on the UI port answer the exporter's stream to curl and fetch (Accept without text/html) and the page to a browser (issue 14, acceptance 4).
import json
import threading
import time

from agentlib import Agent, curl, post_json, run

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_negotiation(t):
    with Agent() as a:
        post_json(a, "/", {"hello": "Calyptia!"})
        st, h, body = curl("-H", "Accept: */*", a.url("ui", "/vivo/logs?from=0"))
        _, eh, ebody = curl(a.url("exporter", "/logs?from=0"))
        t.ok(st == 200 and h.get("content-type") == "application/json" and body == ebody,
             "curl -H 'Accept: */*' :8000/vivo/logs?from=0 gives the exporter's stream", (st, h, body))
        t.eq([h.get(k) for k in ("vivo-stream-start-id", "vivo-stream-end-id", "vivo-stream-next-id")], ["0", "0", "1"],
             "with the Vivo-Stream-* headers")
        t.ok(body.decode().endswith(',{"_tag":"http.1"}],{"hello":"Calyptia!"}]\n'), "the README's record", body)
        st, h, _ = curl(a.url("ui", "/vivo/logs?from=0"))
        t.eq((st, h.get("content-type")), (200, "application/json"), "curl's default Accept (*/*) gets the stream")
        st, h, page = curl("-H", "Accept: " + BROWSER, a.url("ui", "/vivo/logs?from=0"))
        t.ok(st == 200 and h.get("content-type", "").startswith("text/html") and b"<html" in page.lower(),
             "a browser navigation (Accept: text/html,...) gets the page", (st, h))
        t.ok("Accept" in h.get("vary", ""), "the page says it varies on Accept", h)
        st, h, _ = curl("-H", "Accept: text/html;q=0, */*", a.url("ui", "/vivo/logs"))
        t.eq(h.get("content-type"), "application/json", "text/html;q=0 is not asking for HTML")
        for kind in ("metrics", "traces"):
            st, h, _ = curl("-H", "Accept: application/json", a.url("ui", "/vivo/%s" % kind))
            t.ok(st == 200 and h.get("content-type") == "application/json" and "vivo-stream-next-id" in h,
                 "/vivo/%s negotiates too" % kind, h)
        st, h, body = curl("-I", "-H", "Accept: */*", a.url("ui", "/vivo/logs?from=0"))
        t.ok(st == 200 and h.get("vivo-stream-end-id") == "0", "HEAD /vivo/logs: the stream's headers", h)
        st, h, _ = curl("-XOPTIONS", a.url("ui", "/vivo/logs"))
        t.eq(st, 204, "OPTIONS /vivo/logs: the exporter's preflight answer")
        st, _, body = curl("-H", "Accept: */*", a.url("ui", "/vivo/logs?from=x"))
        t.ok(st == 400 and b"from" in body, "a bad query is the exporter's 400", body)


def test_long_poll_through_vivo(t):
    with Agent() as a:
        out = {}

        def poll():
            out["r"] = curl("-H", "Accept: */*", a.url("ui", "/vivo/logs?from=0&wait=10"))
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        post_json(a, "/late", {"late": 1})
        th.join(15)
        st, h, body = out.get("r", (0, {}, b""))
        t.ok(st == 200 and json.loads(body.decode().splitlines()[0])[1] == {"late": 1},
             "?wait= long-polls through /vivo/logs as on 2025", (st, body))


if __name__ == "__main__":
    run([test_negotiation, test_long_poll_through_vivo])
