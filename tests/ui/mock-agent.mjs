// TEST DOUBLE of vivo-agent, for developing the UI only: the exporter API (/api/v1/*, long-poll, Next-ID headers), the HTTP input and OTLP/JSON.
//
// Not a reference implementation: it keeps chunks in memory with no byte budget, and maps
// OTLP/JSON into the agent's shapes (spec 3.4, 3.5) only as far as the UI needs. Usage:
//   node mock-agent.mjs [--listen 127.0.0.1] [--ui-port 8000] [--http-port 9010] [--otlp-port 4318] [--demo]
// It prints "listening <name> on 127.0.0.1:<port>" lines like the real agent, then "ready".

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE = join(HERE, '..', '..', 'agent', 'ui', 'dist', 'index.html');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const LISTEN = opt('listen', '127.0.0.1');
const bootId = `${process.pid}-${Date.now()}`;

const streams = { logs: [], metrics: [], traces: [] };
const waiters = { logs: [], metrics: [], traces: [] };

function append(stream, text) {
  const s = streams[stream];
  s.push({ id: s.length, text });
  for (const w of waiters[stream].splice(0)) w();
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

async function serveStream(stream, q, res) {
  const num = (k) => (q.has(k) ? Number(q.get(k)) : null);
  const from = num('from');
  const to = num('to');
  const limit = num('limit') || 0;
  const wait = Math.min(60, num('wait') ?? 0);
  const have = () => streams[stream].some((c) => c.id >= (from ?? 0));
  if (wait > 0 && !have()) {
    await new Promise((r) => {
      const t = setTimeout(r, wait * 1000);
      waiters[stream].push(() => {
        clearTimeout(t);
        r();
      });
    });
  }
  let list = streams[stream].filter((c) => c.id >= (from ?? 0) && (to === null || c.id <= to));
  if (limit) list = list.slice(0, limit);
  const headers = { 'Vivo-Stream-Next-ID': String(streams[stream].length) };
  if (list.length) {
    headers['Vivo-Stream-Start-ID'] = String(list[0].id);
    headers['Vivo-Stream-End-ID'] = String(list[list.length - 1].id);
  }
  send(res, 200, list.map((c) => c.text).join(''), headers);
}

function info(ports) {
  const st = (s) => {
    const bytes = streams[s].reduce((n, c) => n + c.text.length, 0);
    return { chunks: streams[s].length, oldest_id: 0, next_id: streams[s].length, bytes_used: bytes, bytes_max: 20_000_000, evicted: 0 };
  };
  return { program: 'vivo-agent (mock)', version: '0.0.0-mock', boot_id: bootId, ports, streams: { logs: st('logs'), metrics: st('metrics'), traces: st('traces') } };
}

// ---- OTLP/JSON mapping (simplified) ----
function anyValue(v) {
  if (!v || typeof v !== 'object') return v ?? null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in v) return attrs(v.kvlistValue.values);
  return null;
}
function attrs(list) {
  const o = {};
  for (const a of list ?? []) o[a.key] = anyValue(a.value);
  return o;
}
// Nanosecond strings stay exact by being spliced in as raw digits.
const NS = (s) => `@@${String(s ?? 0)}@@`;
const unquoteNs = (json) => json.replace(/"@@(\d+)@@"/g, '$1');

function otlpTraces(body) {
  const out = {
    resourceSpans: (body.resourceSpans ?? []).map((rs) => ({
      resource: { attributes: attrs(rs.resource?.attributes), dropped_attributes_count: 0 },
      schema_url: '',
      scope_spans: (rs.scopeSpans ?? []).map((ss) => ({
        scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '', attributes: null, dropped_attributes_count: 0 },
        spans: (ss.spans ?? []).map((s) => ({
          trace_id: s.traceId, span_id: s.spanId, parent_span_id: s.parentSpanId || null, trace_state: null,
          name: s.name, kind: s.kind ?? 0, start_time_unix_nano: NS(s.startTimeUnixNano), end_time_unix_nano: NS(s.endTimeUnixNano),
          attributes: attrs(s.attributes), dropped_attributes_count: 0,
          events: (s.events ?? []).map((e) => ({ time_unix_nano: NS(e.timeUnixNano), name: e.name, attributes: attrs(e.attributes) })),
          links: [], status: { code: { ERROR: 2, STATUS_CODE_ERROR: 2, OK: 1, STATUS_CODE_OK: 1 }[s.status?.code] ?? (Number(s.status?.code) || 0), message: s.status?.message ?? null },
        })),
        schema_url: '',
      })),
    })),
  };
  return unquoteNs(JSON.stringify(out)) + '\n';
}

function otlpMetrics(body) {
  const metrics = [];
  for (const rm of body.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const kind = m.sum ? 'sum' : m.gauge ? 'gauge' : m.histogram ? 'histogram' : null;
        if (!kind) continue;
        const dps = m[kind].dataPoints ?? [];
        const keys = [...new Set(dps.flatMap((d) => (d.attributes ?? []).map((a) => a.key)))];
        const meta = { ver: 2, type: kind === 'sum' ? 0 : kind === 'gauge' ? 1 : 2, opts: { ns: '', ss: '', name: m.name, desc: m.description ?? '', unit: m.unit ?? '' }, labels: keys, aggregation_type: 2 };
        if (kind === 'histogram') meta.buckets = dps[0]?.explicitBounds ?? [];
        metrics.push({
          meta,
          values: dps.map((d) => {
            const a = attrs(d.attributes);
            const v = { ts: NS(d.timeUnixNano), value: Number(d.asInt ?? d.asDouble ?? 0), labels: keys.map((k) => String(a[k] ?? '')), hash: 0 };
            if (kind === 'histogram') v.histogram = { buckets: (d.bucketCounts ?? []).map(Number), sum: d.sum ?? 0, count: Number(d.count ?? 0) };
            return v;
          }),
        });
      }
    }
  }
  return unquoteNs(JSON.stringify({ meta: { cmetrics: {}, external: {}, processing: { static_labels: [] } }, metrics })) + '\n';
}

// ---- servers ----
function listen(name, port, handler) {
  return new Promise((resolve) => {
    const srv = http.createServer(handler);
    srv.listen(Number(port), LISTEN, () => {
      process.stderr.write(`mock: listening ${name} on ${LISTEN}:${srv.address().port}\n`);
      resolve(srv.address().port);
    });
  });
}

const ports = {};
const api = async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const m = /^\/api\/v1\/(logs|metrics|traces)$/.exec(url.pathname);
  if (m) return serveStream(m[1], url.searchParams, res);
  if (url.pathname === '/api/v1/info') return send(res, 200, JSON.stringify(info(ports)));
  if (url.pathname === '/' || url.pathname === '/vivo' || url.pathname.startsWith('/vivo/')) {
    try {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(readFileSync(PAGE));
    } catch {
      return send(res, 404, '{"error":"agent/ui/dist/index.html is not built"}');
    }
  }
  send(res, 404, '{"error":"not found"}');
};
ports.ui = await listen('ui', opt('ui-port', 8000), api);
ports.exporter = await listen('exporter', opt('exporter-port', 2025), api);
ports.http = await listen('http', opt('http-port', 9010), async (req, res) => {
  if (req.method !== 'POST') return send(res, 405, '{"error":"POST only"}');
  const tag = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice(1)).replace(/[^A-Za-z0-9_.]/g, '_') || 'http.1';
  let recs;
  try {
    const v = JSON.parse(await readBody(req));
    recs = Array.isArray(v) ? v : [v];
  } catch (e) {
    return send(res, 400, JSON.stringify({ error: `invalid JSON: ${e.message}` }));
  }
  const now = `${BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))}`;
  const records = recs.map((r) => `[[${now},{}],${JSON.stringify(r)}]`).join(',');
  append('logs', `{"source_type":"http","source_name":"http.0","tag":${JSON.stringify(tag)},"records":[${records}]}\n`);
  res.writeHead(201);
  res.end();
});
ports.otlp = await listen('otlp', opt('otlp-port', 4318), async (req, res) => {
  const p = new URL(req.url, 'http://x').pathname;
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, '{"code":3,"message":"invalid JSON"}');
  }
  if (p === '/v1/traces') append('traces', otlpTraces(body));
  else if (p === '/v1/metrics') append('metrics', otlpMetrics(body));
  else return send(res, 404, '{"code":5,"message":"unknown path"}');
  send(res, 200, '{}');
});
process.stderr.write('mock: ready\n');

if (args.includes('--demo')) {
  // A little of everything, so every tab has something to show.
  let n = 0;
  setInterval(() => {
    n++;
    const t = BigInt(Date.now()) * 1_000_000n;
    const id = (x) => x.toString(16).padStart(16, '0');
    const tid = `${id(BigInt(n))}${id(BigInt(Date.now()))}`;
    const span = (sid, parent, name, svc, a, b, err) => ({ traceId: tid, spanId: id(BigInt(sid)), parentSpanId: parent ? id(BigInt(parent)) : '', name, kind: 2, startTimeUnixNano: String(t + BigInt(a * 1e6)), endTimeUnixNano: String(t + BigInt(b * 1e6)), status: err ? { code: 'ERROR', message: 'boom' } : {}, events: err ? [{ timeUnixNano: String(t + BigInt((b - 1) * 1e6)), name: 'exception', attributes: [] }] : [], attributes: [{ key: 'n', value: { intValue: String(n) } }], svc });
    const spans = [span(1, 0, 'GET /checkout', 'frontend', 0, 120), span(2, 1, 'cart.get', 'cart', 5, 30), span(3, 2, 'redis GET', 'cart', 8, 12), span(4, 1, 'payment.charge', 'payments', 35, 110, n % 3 === 0), span(5, 4, 'POST acme-pay /v2/charge', 'payments', 40, 105, n % 3 === 0)];
    const bySvc = {};
    for (const s of spans) (bySvc[s.svc] ??= []).push(s);
    append('traces', otlpTraces({ resourceSpans: Object.entries(bySvc).map(([svc, ss]) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] }, scopeSpans: [{ scope: { name: 'demo' }, spans: ss }] })) }));
    append('metrics', otlpMetrics({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
      { name: 'http_requests_total', description: 'Requests served', sum: { dataPoints: ['GET', 'POST'].map((m, i) => ({ attributes: [{ key: 'method', value: { stringValue: m } }], timeUnixNano: String(t), asInt: String(n * (10 + i * 7) - (n > 20 && i ? 200 : 0)) })) } },
      { name: 'queue_depth', description: 'Items waiting', gauge: { dataPoints: [{ timeUnixNano: String(t), asDouble: 50 + 40 * Math.sin(n / 5) }] } },
      { name: 'request_duration_ms', description: 'Request duration', unit: 'ms', histogram: { dataPoints: [{ timeUnixNano: String(t), count: String(n * 10), sum: n * 420, bucketCounts: [n * 2, n * 4, n * 3, n].map(String), explicitBounds: [10, 50, 100] }] } },
    ] }] }] }));
    append('logs', `{"source_type":"dummy","source_name":"dummy.0","tag":"demo.web","records":[[[${t},{}],{"message":"GET /checkout ${n % 3 === 0 ? 500 : 200}","level":"${n % 3 === 0 ? 'error' : 'info'}","n":${n}}]]}\n`);
  }, 1000);
}
