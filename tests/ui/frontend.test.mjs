// The original Vivo frontend's request loop (calyptia/vivo packages/frontend) in Debian's Chromium against a real vivo-agent's UI port, same origin and cross-origin (issue 14, acceptance 4).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { AGENT, CHROMIUM, launchBrowser, postLogs, startAgent } from './lib.mjs';

let skipAll = null;
if (!existsSync(AGENT)) skipAll = `${AGENT} is missing: build the agent first`;
else if (!existsSync(CHROMIUM)) skipAll = `${CHROMIUM} is missing: apt-get install -y chromium`;
if (skipAll) console.log(`# SKIP the original-frontend tests: ${skipAll}`);
const e2e = (name, fn) => test(name, { skip: skipAll ?? false }, fn);

/**
 * The original frontend's fetchStream and polling, as its useFluentBitStream hook does it:
 * the next request asks from=max(lastId - limit - 10, 0), where lastId is the id of the
 * newest record held, numbered down from the response's Vivo-Stream-End-ID. Runs in the
 * page; `base` is the frontend's vivoExporterUrl ('/vivo' when served by its Go service).
 */
function originalLoop({ base, kind, limit, rounds, wantTotal, pollInterval }) {
  async function fetchStream(vivoExporterUrl, kind, lastId, limit) {
    const from = Math.max(lastId - limit - 10, 0);
    const response = await fetch(`${vivoExporterUrl}/${kind}?from=${from}`);
    const endId = (() => {
      try {
        return parseInt(response.headers.get('vivo-stream-end-id') ?? '0');
      } catch (err) {
        return 0;
      }
    })();
    let id = endId;
    const lines = (await response.text()).split('\n');
    const records = [];
    for (let i = lines.length - 1; i >= 0; i--) {
      if (records.length === limit) break;
      const line = lines[i].trim();
      if (line === '') continue;
      const record = JSON.parse(line);
      if (Array.isArray(record)) {
        records.push({ record, rawEvent: JSON.stringify(record[1]), rawMetadata: JSON.stringify(record[0][1]), id: id-- });
      } else {
        records.push({ record, rawEvent: '', rawMetadata: '', id: id-- });
      }
    }
    return { records, from, endId, status: response.status, type: response.headers.get('content-type') };
  }
  return (async () => {
    let records = [];
    const requests = [];
    for (let i = 0; i < rounds; i++) {
      const got = await fetchStream(base, kind, records[0]?.id ?? 0, limit);
      requests.push({ from: got.from, endId: got.endId, status: got.status, type: got.type, n: got.records.length });
      records = got.records;
      if (records.length >= wantTotal) break;
      await new Promise((r) => setTimeout(r, pollInterval));
    }
    return { requests, events: records.map((r) => JSON.parse(r.rawEvent)), ids: records.map((r) => r.id) };
  })();
}

let browser;
before(async () => {
  if (!skipAll) browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function get(port, path, accept) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: accept ? { accept } : {} });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

e2e('GET /vivo/logs on the UI port: a stream for Accept */*, the page for a browser navigation', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  await postLogs(agent.ports.http, '', [{ n: 1 }, { n: 2 }]);
  const stream = await get(agent.ports.ui, '/vivo/logs?from=0', '*/*');
  assert.equal(stream.status, 200);
  assert.equal(stream.headers['content-type'], 'application/json');
  assert.equal(stream.headers['vivo-stream-start-id'], '0');
  assert.equal(stream.headers['vivo-stream-end-id'], '0');
  assert.equal(stream.headers['vivo-stream-next-id'], '1');
  const exporter = await get(agent.ports.exporter, '/logs?from=0', '*/*');
  assert.equal(stream.body, exporter.body, 'the same body as the exporter on 2025');
  assert.match(stream.body, /^\[\[\d+,\{"_tag":"http\.1"\}\],\{"n":1\}\]\n/);

  const page = await browser.context.newPage();
  t.after(() => page.close().catch(() => {}));
  const nav = await page.goto(`http://127.0.0.1:${agent.ports.ui}/vivo/logs?from=0`);
  assert.equal(nav.status(), 200);
  assert.match(nav.headers()['content-type'], /^text\/html/, 'a navigation gets the page');
  assert.match(await page.content(), /<html/i);
});

e2e('the original frontend request loop runs against the UI port (same origin, /vivo)', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  for (let i = 0; i < 5; i++) await postLogs(agent.ports.http, 'app', { i });
  const page = await browser.context.newPage();
  t.after(() => page.close().catch(() => {}));
  await page.goto(`http://127.0.0.1:${agent.ports.ui}/vivo`);
  // Records keep arriving while the loop polls: it must follow them by End-ID.
  const feeding = (async () => {
    for (let i = 5; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await postLogs(agent.ports.http, 'app', { i });
    }
  })();
  const got = await page.evaluate(originalLoop, { base: '/vivo', kind: 'logs', limit: 100, rounds: 40, wantTotal: 8, pollInterval: 100 });
  await feeding;
  assert.ok(got.requests.every((r) => r.status === 200 && r.type === 'application/json'), JSON.stringify(got.requests));
  assert.equal(got.requests[0].from, 0);
  assert.deepEqual(got.events.map((e) => e.i).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(got.ids, [7, 6, 5, 4, 3, 2, 1, 0], 'ids numbered down from Vivo-Stream-End-ID');
  const last = got.requests[got.requests.length - 1];
  assert.equal(last.endId, 7);
  // The next request of the loop asks from=max(last-110, 0): still 0 here, and a later id
  // would go on from there.
  const next = await page.evaluate(async () => (await fetch('/vivo/logs?from=0')).headers.get('vivo-stream-next-id'));
  assert.equal(next, '8');
});

e2e('served from another origin, the frontend reads the UI port with --cors-allow-origin', async (t) => {
  const front = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body>original frontend stand-in origin</body></html>');
  });
  await new Promise((r) => front.listen(0, '127.0.0.1', r));
  // The browser keeps its connection to the front alive: end it, or close() waits for it.
  t.after(() => new Promise((r) => {
    front.closeAllConnections();
    front.close(r);
  }));
  const origin = `http://127.0.0.1:${front.address().port}`;
  const agent = await startAgent({ args: ['--cors-allow-origin', origin] });
  t.after(() => agent.stop());
  for (let i = 0; i < 3; i++) await postLogs(agent.ports.http, 'x', { i });
  const page = await browser.context.newPage();
  t.after(() => page.close().catch(() => {}));
  await page.goto(origin + '/');
  const got = await page.evaluate(originalLoop, {
    base: `http://127.0.0.1:${agent.ports.ui}/vivo`, kind: 'logs', limit: 100, rounds: 20, wantTotal: 3, pollInterval: 100,
  });
  assert.deepEqual(got.events.map((e) => e.i), [2, 1, 0]);
  assert.equal(got.requests[got.requests.length - 1].endId, 2, 'Vivo-Stream-End-ID is exposed to the other origin');

  // Without the flag the browser refuses the cross-origin read.
  const closed = await startAgent();
  t.after(() => closed.stop());
  const refused = await page.evaluate(async (url) => {
    try {
      await fetch(url);
      return 'read';
    } catch (e) {
      return 'refused';
    }
  }, `http://127.0.0.1:${closed.ports.ui}/vivo/logs?from=0`);
  assert.equal(refused, 'refused');
});
