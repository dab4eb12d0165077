// Helpers for the UI end-to-end tests: start a real vivo-agent on ephemeral ports, launch Debian's Chromium, send data.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
export const AGENT = process.env.VIVO_AGENT || join(ROOT, 'agent', 'vivo-agent');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const UI_DIST = join(ROOT, 'agent', 'ui', 'dist', 'index.html');
export const ARTIFACTS = join(HERE, 'artifacts');

const LISTEN_RE = /listening (\w+) on 127\.0\.0\.1:(\d+)/;
const PORT_NAMES = ['ui', 'http', 'exporter', 'forward', 'otlp', 'otlp_grpc', 'ops'];

/**
 * Starts the agent with --listen 127.0.0.1 and every port 0 (or the given ports, to restart
 * on the same ones), and resolves once its listeners are announced on stderr.
 */
export async function startAgent({ ports = {}, args = [], env = null } = {}) {
  const argv = ['--listen', '127.0.0.1'];
  for (const n of PORT_NAMES) argv.push(`--${n.replace('_', '-')}-port`, String(ports[n] ?? 0));
  argv.push(...args);
  // A .mjs "agent" is the UI's development test double (mock-agent.mjs), run with node.
  const opts = { stdio: ['ignore', 'ignore', 'pipe'], env: env ? { ...process.env, ...env } : process.env };
  const proc = AGENT.endsWith('.mjs') ? spawn(process.execPath, [AGENT, ...argv], opts) : spawn(AGENT, argv, opts);
  // Never leave an agent behind, even when the test process dies.
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  proc.once('exit', () => process.removeListener('exit', reap));
  let stderr = '';
  const found = {};
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not announce its ui port within 10 s:\n${stderr}`)), 10_000);
      let settle = null;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(settle);
        proc.removeListener('exit', early);
        resolve();
      };
      const early = (code) => {
        clearTimeout(timer);
        reject(new Error(`agent exited with ${code} before it was ready:\n${stderr}`));
      };
      proc.on('exit', early);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (d) => {
        stderr += d;
        for (const line of d.split('\n')) {
          const m = LISTEN_RE.exec(line);
          if (m) found[m[1]] = Number(m[2]);
        }
        if (!found.ui || !found.http) return;
        // "ready" follows the last listener line; without it, wait for the lines to stop.
        if (/\bready\b/.test(stderr)) done();
        else {
          clearTimeout(settle);
          settle = setTimeout(done, 300);
        }
      });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  const agent = {
    proc,
    ports: found,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
  return agent;
}

/** True when the agent's page is the real UI (not the --disable-ui fallback page). */
export async function agentServesUi(uiPort) {
  const res = await fetch(`http://127.0.0.1:${uiPort}/`);
  const text = await res.text();
  return text.includes('id="app"');
}

/**
 * A same-origin front for an agent built with --disable-ui: serves agent/ui/dist/index.html
 * at / and /vivo/..., and passes everything else to the agent's UI port unchanged.
 */
export async function startUiFront(getTargetPort, fixedPort = 0) {
  const page = readFileSync(UI_DIST);
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/' || path === '/vivo' || path.startsWith('/vivo/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(page);
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: getTargetPort(), path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.destroy();
    });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(fixedPort, '127.0.0.1', r));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

/** Launches Debian's Chromium headless with a fresh profile. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'vivo-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1360, height: 820 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the UI in a new tab of `browser` and waits until it is live; the tab is closed when
 * the test ends (pass or fail): a page left open keeps its long-poll, and the browser's
 * per-host connection limit would stall the next tests. page.errors collects page errors.
 */
export async function openLivePage(browser, t, base, path = '/') {
  const page = await browser.context.newPage();
  t.after(() => page.close().catch(() => {}));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${base}${path}`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 10_000 });
  return page;
}

/** POSTs a JSON body (object or array of records) to the agent's HTTP input under a tag. */
export async function postLogs(httpPort, tag, body) {
  const res = await fetch(`http://127.0.0.1:${httpPort}/${tag}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`POST /${tag}: ${res.status} ${await res.text()}`);
  return res.status;
}

/** POSTs OTLP/JSON to the agent's OTLP input; resolves to the status, or 0 when nothing answers. */
export async function postOtlp(otlpPort, signal, body) {
  if (!otlpPort) return 0;
  try {
    const res = await fetch(`http://127.0.0.1:${otlpPort}/v1/${signal}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export function agentMissingReason() {
  if (!existsSync(AGENT)) return `${AGENT} is missing (build it with make first)`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (!existsSync(UI_DIST)) return `${UI_DIST} is missing (npm run build in agent/ui)`;
  return null;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
