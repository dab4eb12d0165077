// End-to-end tests of the web UI over followed agents: Debian's Chromium (playwright-core) against a real follower and its upstreams.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT, ARTIFACTS, CHROMIUM, UI_DIST, agentServesUi, launchBrowser, openLivePage, postLogs, postOtlp, sleep, startAgent, startUiFront } from './lib.mjs';

let skipAll = null;
if (!existsSync(AGENT)) skipAll = `${AGENT} is missing: build the agent first`;
else if (AGENT.endsWith('.mjs')) skipAll = 'the mock agent has no vivo input';
else if (!existsSync(CHROMIUM)) skipAll = `${CHROMIUM} is missing: apt-get install -y chromium`;
if (skipAll) console.log(`# SKIP all fleet UI tests: ${skipAll}`);
const e2e = (name, fn) => test(name, { skip: skipAll ?? false }, fn);

let browser;
let up0; // knows its pod (POD_NAME), shown by it
let up1; // knows no pod: shown by its instance
let fol; // follows both
let front = null;
let base;

const inst = (a) => `127.0.0.1:${a.ports.exporter}`;

before(async () => {
  if (skipAll) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchBrowser();
  up0 = await startAgent({ env: { POD_NAME: 'web-0', POD_NAMESPACE: 'shop', NODE_NAME: 'node-a' } });
  up1 = await startAgent();
  fol = await startAgent({ args: ['--follow', `http://${inst(up0)}`, '--follow', `http://${inst(up1)}`] });
  base = `http://127.0.0.1:${fol.ports.ui}`;
  if (process.env.VIVO_UI_FRONT === '1' || !(await agentServesUi(fol.ports.ui))) {
    if (!existsSync(UI_DIST)) throw new Error(`the agent was built with --disable-ui and ${UI_DIST} is missing`);
    console.log('# note: this agent was built with --disable-ui; serving agent/ui/dist/index.html in front of its real API');
    front = await startUiFront(() => fol.ports.ui);
    base = `http://127.0.0.1:${front.port}`;
  }
});

after(async () => {
  await browser?.close();
  for (const a of [fol, up0, up1]) await a?.stop();
  await front?.close();
});

const openPage = (t, path = '/') => openLivePage(browser, t, base, path);

const countText = (page) => page.textContent('[data-testid=match-count]');

e2e('the follower shows a source column (pod, or instance) and filters by source:', async (t) => {
  for (let i = 0; i < 3; i++) {
    await postLogs(up0.ports.http, 'web', { message: `order ${i} from web-0`, i });
    await postLogs(up1.ports.http, 'worker', { message: `job ${i} from the bare agent`, i });
  }
  await postLogs(fol.ports.http, 'own', { message: 'taken in by the follower itself' });
  const page = await openPage(t);
  await page.waitForFunction(() => document.querySelectorAll('.log-list .row[data-seq]').length === 7, null, { timeout: 10_000 });
  assert.match(await page.textContent('.row-head'), /source/);
  const cells = await page.$$eval('.log-list .row[data-seq] .c-src', (els) => els.map((e) => e.textContent.trim()));
  assert.equal(cells.filter((c) => c === 'web-0').length, 3, cells.join(','));
  assert.equal(cells.filter((c) => c === inst(up1)).length, 3, cells.join(','));
  assert.equal(cells.filter((c) => c === 'local').length, 1, cells.join(','));
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-logs.png') });

  await page.fill('#log-filter', 'source:web-0');
  await page.waitForFunction(() => document.querySelector('[data-testid=match-count]')?.textContent === '3 of 7');
  const shown = await page.$$eval('.log-list .row[data-seq] .c-src', (els) => els.map((e) => e.textContent.trim()));
  assert.deepEqual(shown, ['web-0', 'web-0', 'web-0']);
  await page.fill('#log-filter', `-source:local source:127.0.0.1:*`);
  await page.waitForFunction(() => document.querySelector('[data-testid=match-count]')?.textContent === '6 of 7');
  await page.fill('#log-filter', '');
  // A click on a source chip keeps only that source.
  await page.click(`.log-list .row[data-seq] .c-src button:text("${inst(up1)}")`);
  await page.waitForFunction(() => document.querySelector('[data-testid=match-count]')?.textContent === '3 of 7');
  assert.match(page.url(), /f=source%3A127\.0\.0\.1/);
  // The detail panel says where the record came from.
  await page.click('.log-list .row[data-seq]');
  assert.match(await page.textContent('[data-testid=detail-origin]'), new RegExp(inst(up1).replace(/\./g, '\\.')));
  assert.equal(await countText(page), '3 of 7');
  assert.deepEqual(page.errors, []);
});

e2e('the sources panel lists each upstream with its state, rate and lag', async (t) => {
  const page = await openPage(t);
  await page.click('[data-testid=sources-toggle]');
  await page.waitForSelector('[data-testid=sources-panel]');
  for (const a of [up0, up1]) {
    const row = `[data-testid=sources-panel] tr[data-upstream="${inst(a)}"]`;
    await page.waitForSelector(`${row}[data-state=following]`);
    assert.match(await page.textContent(`${row} [data-testid=src-lag]`), /^0 chunks · \d+\.\d s$/);
    assert.match(await page.textContent(`${row} [data-testid=src-rate]`), /\/s$/);
  }
  assert.match(await page.textContent(`tr[data-upstream="${inst(up0)}"]`), /web-0/);
  // A live rate: records arriving at one upstream show up as its rate within a few info readings.
  const stop = Date.now() + 6000;
  let rate = '0/s';
  while (Date.now() < stop && rate === '0/s') {
    for (let i = 0; i < 5; i++) await postLogs(up0.ports.http, 'burst', { i });
    await sleep(300);
    rate = (await page.textContent(`tr[data-upstream="${inst(up0)}"] [data-testid=src-rate]`)).trim();
  }
  assert.notEqual(rate, '0/s', 'the rate of an upstream receiving records');
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-sources.png') });
  // Clicking an upstream filters the logs by it.
  await page.click(`tr[data-upstream="${inst(up0)}"]`);
  await page.waitForSelector('[data-testid=sources-panel]', { state: 'detached' });
  await page.waitForFunction(() => /^\d+ of \d+$/.test(document.querySelector('[data-testid=match-count]')?.textContent ?? ''));
  const cells = await page.$$eval('.log-list .row[data-seq] .c-src', (els) => [...new Set(els.map((e) => e.textContent.trim()))]);
  assert.deepEqual(cells, ['web-0']);
  assert.deepEqual(page.errors, []);
});

e2e('the trace view joins spans of one trace that arrived through different upstreams', async (t) => {
  const trace = '0af7651916cd43dd8448eb211c80319c';
  const body = (spanId, parent, name, service, start, end) => ({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'e2e' }, spans: [{ traceId: trace, spanId, parentSpanId: parent, name, kind: 2, startTimeUnixNano: start, endTimeUnixNano: end }] }],
    }],
  });
  const a = await postOtlp(up0.ports.otlp, 'traces', body('b7ad6b7169203331', '', 'GET /checkout', 'frontend', '1735689600000000000', '1735689600300000000'));
  const b = await postOtlp(up1.ports.otlp, 'traces', body('00f067aa0ba902b7', 'b7ad6b7169203331', 'charge', 'payments', '1735689600050000000', '1735689600250000000'));
  if (a !== 200 || b !== 200) return t.skip(`the upstreams have no working OTLP input (answers ${a}, ${b})`);
  const page = await openPage(t, '/vivo/traces');
  const row = `.trow[data-trace-id="${trace}"]`;
  await page.waitForSelector(row);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('2 spans'), row);
  assert.match(await page.textContent(`${row} [data-testid=trace-sources]`), new RegExp(`via ${inst(up1).replace(/\./g, '\\.')}, web-0`));
  await page.click(row);
  await page.waitForSelector('[data-testid=waterfall]');
  const spans = await page.$$eval('.wf-row[data-span-id]', (els) => els.map((e) => [e.dataset.spanName, e.dataset.depth, e.querySelector('[data-testid=span-source]')?.textContent]));
  assert.deepEqual(spans, [['GET /checkout', '0', '@web-0'], ['charge', '1', `@${inst(up1)}`]]);
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-trace.png') });
  assert.deepEqual(page.errors, []);
});

e2e('an upstream that goes down shows as down in the header and the panel', async (t) => {
  const page = await openPage(t);
  await up1.stop();
  await page.waitForFunction(() => /1 down/.test(document.querySelector('[data-testid=sources-toggle]')?.textContent ?? ''), null, { timeout: 10_000 });
  await page.click('[data-testid=sources-toggle]');
  await page.waitForSelector(`tr[data-upstream="${inst(up1)}"][data-state=backoff]`, { timeout: 10_000 });
  assert.match(await page.getAttribute(`tr[data-upstream="${inst(up1)}"]`, 'title'), /last error:/);
  // The records it sent stay, and the live one keeps flowing.
  await postLogs(up0.ports.http, 'after', { message: 'still live' });
  await page.click('[data-testid=sources-panel] button[aria-label=Close]');
  await page.fill('#log-filter', 'still live');
  await page.waitForFunction(() => document.querySelector('[data-testid=match-count]')?.textContent?.startsWith('1 of'), null, { timeout: 5000 });
  assert.deepEqual(page.errors, []);
});
