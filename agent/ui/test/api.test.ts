// Unit tests for following a stream: from=<Next-ID> long-polls, restart detection (IDs going back), API base path.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Follower, apiBase, type Batch } from '../src/api';

interface Reply {
  status?: number;
  body?: string;
  next: number;
  start?: number;
  end?: number;
}

/** A scripted fetch: answers in order, records the URLs asked; the last answer holds forever. */
function fakeFetch(replies: (Reply | Error)[]) {
  const urls: string[] = [];
  const fn = vi.fn(async (url: string, init?: RequestInit) => {
    urls.push(url);
    const r = replies.shift();
    if (!r) {
      return new Promise<Response>((_res, rej) => init?.signal?.addEventListener('abort', () => rej(new Error('aborted'))));
    }
    if (r instanceof Error) throw r;
    const h = new Headers({ 'Vivo-Stream-Next-ID': String(r.next) });
    if (r.start !== undefined) h.set('Vivo-Stream-Start-ID', String(r.start));
    if (r.end !== undefined) h.set('Vivo-Stream-End-ID', String(r.end));
    return new Response(r.body ?? '', { status: r.status ?? 200, headers: h });
  });
  vi.stubGlobal('fetch', fn);
  vi.stubGlobal('location', { pathname: '/vivo/logs' });
  return urls;
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await vi.advanceTimersByTimeAsync(50);
  expect(cond()).toBe(true);
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('Follower', () => {
  it('reads everything first, then long-polls from the Next-ID, never re-downloading', async () => {
    vi.useFakeTimers();
    const urls = fakeFetch([
      { body: 'a\nb\n', next: 2, start: 0, end: 1 },
      { body: 'c\n', next: 3, start: 2, end: 2 },
      { body: '', next: 3 },
    ]);
    const batches: Batch[] = [];
    const f = new Follower('logs', { onBatch: (b) => batches.push(b), onState: () => {} });
    f.setActive(true);
    f.start();
    await until(() => urls.length >= 4);
    f.stop();
    expect(urls).toEqual(['/api/v1/logs', '/api/v1/logs?from=2&wait=25', '/api/v1/logs?from=3&wait=25', '/api/v1/logs?from=3&wait=25']);
    expect(batches.map((b) => [b.lines, b.startId, b.initial])).toEqual([
      [['a', 'b'], 0, true],
      [['c'], 2, false],
    ]);
  });

  it('treats a Next-ID lower than asked as a restarted agent and reads from 0 again', async () => {
    vi.useFakeTimers();
    const urls = fakeFetch([
      { body: 'a\nb\nc\n', next: 3, start: 0, end: 2 },
      new TypeError('Failed to fetch'),
      { body: '', next: 1 },
      { body: 'new\n', next: 1, start: 0, end: 0 },
    ]);
    const states: string[] = [];
    const sessions: number[] = [];
    const batches: Batch[] = [];
    const f = new Follower('logs', { onBatch: (b) => batches.push(b), onState: (s) => states.push(s), onSession: (n) => sessions.push(n) });
    f.setActive(true);
    f.start();
    await until(() => urls.length >= 5);
    f.stop();
    expect(urls.slice(0, 5)).toEqual(['/api/v1/logs', '/api/v1/logs?from=3&wait=25', '/api/v1/logs?from=3', '/api/v1/logs?from=0', '/api/v1/logs?from=1&wait=25']);
    expect(states).toContain('reconnecting');
    expect(states[states.length - 1]).toBe('live');
    expect(sessions).toEqual([1]);
    expect(batches[1]).toMatchObject({ lines: ['new'], session: 1, startId: 0 });
  });

  it('reports 4xx errors with the agent\'s message and retries', async () => {
    vi.useFakeTimers();
    const urls = fakeFetch([{ status: 400, body: '{"error":"from: not an unsigned integer"}', next: 0 }, { body: '', next: 0 }]);
    const details: string[] = [];
    const f = new Follower('metrics', { onBatch: () => {}, onState: (_s, d) => details.push(d) });
    f.start();
    await until(() => urls.length >= 2);
    f.stop();
    expect(details).toContain('HTTP 400: from: not an unsigned integer');
  });

  it('does not long-poll a stream that is off screen', async () => {
    vi.useFakeTimers();
    const urls = fakeFetch([{ body: '', next: 5 }, { body: '', next: 5 }, { body: '', next: 5 }]);
    const f = new Follower('traces', { onBatch: () => {}, onState: () => {} });
    f.start();
    await until(() => urls.length >= 3);
    f.stop();
    expect(urls).toEqual(['/api/v1/traces', '/api/v1/traces?from=5', '/api/v1/traces?from=5']);
  });
});

describe('apiBase', () => {
  it('finds the API next to the page, also behind a path prefix', () => {
    expect(apiBase('/')).toBe('/');
    expect(apiBase('/vivo/')).toBe('/');
    expect(apiBase('/vivo/traces')).toBe('/');
    expect(apiBase('/proxy/ns/vivo/logs')).toBe('/proxy/ns/');
    expect(apiBase('/index.html')).toBe('/');
  });
});
