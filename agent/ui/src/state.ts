// App state: the three stores, UI signals, preferences in localStorage, and the URL that mirrors the view.

import { effect, signal } from '@preact/signals';
import type { AgentInfo, ConnState, StreamName } from './api';
import { LogStore } from './lib/logs';
import { MetricStore } from './lib/metrics';
import { TraceStore } from './lib/traces';

export type Tab = StreamName;
export const TABS: Tab[] = ['logs', 'metrics', 'traces'];

// ---- stores (mutable; a version signal announces each change) ----
export const logStore = new LogStore();
export const metricStore = new MetricStore();
export const traceStore = new TraceStore();
export const logsVersion = signal(0);
export const metricsVersion = signal(0);
export const tracesVersion = signal(0);

// ---- global ----
export const tab = signal<Tab>('logs');
export const helpOpen = signal(false);
export const info = signal<AgentInfo | null>(null);
export const infoMissing = signal(false);
/** Per-stream connection state and detail text. */
export const conn = signal<Record<StreamName, { state: ConnState; detail: string }>>({
  logs: { state: 'loading', detail: '' },
  metrics: { state: 'loading', detail: '' },
  traces: { state: 'loading', detail: '' },
});
/** Items per second over the last seconds (records, samples, spans). */
export const rates = signal<Record<StreamName, number>>({ logs: 0, metrics: 0, traces: 0 });
/** Whether the first read of each stream has finished. */
export const loaded = signal<Record<StreamName, boolean>>({ logs: false, metrics: false, traces: false });
/** The sources panel (followed agents) is open. */
export const sourcesOpen = signal(false);
/** Records per second of each followed upstream (by instance), from /api/v1/info readings. */
export const sourceRates = signal<Record<string, number>>({});
/** Chunks evicted since the page opened, from /api/v1/info. */
export const evictedSinceOpen = signal<Record<StreamName, number>>({ logs: 0, metrics: 0, traces: 0 });
export const toast = signal('');

// ---- preferences (remembered) ----
function pref(key: string, fallback: string): string {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback;
  }
}
function savePref(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode: not remembered */
  }
}
export const utc = signal(pref('vivo.tz', 'local') === 'utc');
export const theme = signal<'system' | 'light' | 'dark'>(pref('vivo.theme', 'system') as 'system' | 'light' | 'dark');
export const nameColWidth = signal(Number(pref('vivo.waterfall.namecol', '320')) || 320);

// ---- logs ----
export const logQuery = signal('');
export const logChips = signal<string[]>([]);
export const highlightOnly = signal(false);
export const paused = signal(false);
/** seq of the selected record (null: none) */
export const selectedSeq = signal<number | null>(null);
export const detailOpen = signal(false);
/** Records that arrived while paused, not yet shown. */
export const pendingCount = signal(0);
/** Chunk ID from which the view starts after a Clear (null: no clear). */
export const clearFrom = signal<number | null>(null);
/** A selection asked for by the URL (chunk.idx), resolved once the record arrives. */
export const wantedSel = signal<string | null>(null);
/** seq briefly highlighted by "show in context" */
export const flashSeq = signal<number | null>(null);

// ---- metrics ----
export const metricQuery = signal('');
export const metricType = signal<string>('');
export const openMetric = signal<string | null>(null);
export const showRaw = signal(false);
export const selectedCard = signal(0);

// ---- traces ----
export const traceQuery = signal('');
export const traceSort = signal<'recent' | 'duration' | 'errors'>('recent');
export const openTrace = signal<string | null>(null);
export const selectedSpan = signal<string | null>(null);
export const selectedTraceRow = signal(0);

export function flashToast(msg: string): void {
  toast.value = msg;
  setTimeout(() => {
    if (toast.value === msg) toast.value = '';
  }, 1600);
}

// ---- URL <-> state ----

/** Tab named by the path (/vivo/logs, /vivo/metrics, /vivo/traces) or by ?tab=. */
export function tabFromLocation(path: string, params: URLSearchParams): Tab {
  const m = /(?:^|\/)(logs|metrics|traces)\/?$/.exec(path);
  if (m) return m[1] as Tab;
  const t = params.get('tab');
  return TABS.includes(t as Tab) ? (t as Tab) : 'logs';
}

export function readUrl(): void {
  const p = new URLSearchParams(location.search);
  tab.value = tabFromLocation(location.pathname, p);
  logQuery.value = p.get('q') ?? '';
  logChips.value = p.getAll('f');
  highlightOnly.value = p.get('hl') === '1';
  paused.value = p.get('paused') === '1';
  const clear = p.get('clear');
  clearFrom.value = clear && /^\d+$/.test(clear) ? Number(clear) : null;
  const sel = p.get('sel');
  wantedSel.value = sel && /^\d+\.\d+$/.test(sel) ? sel : null;
  metricQuery.value = p.get('mq') ?? '';
  metricType.value = p.get('mtype') ?? '';
  openMetric.value = p.get('metric');
  showRaw.value = p.get('raw') === '1';
  traceQuery.value = p.get('tq') ?? '';
  const ts = p.get('tsort');
  traceSort.value = ts === 'duration' || ts === 'errors' ? ts : 'recent';
  openTrace.value = p.get('trace');
  selectedSpan.value = p.get('span');
}

/** The URL for the current state (path keeps the /vivo/<tab> form when the page was opened so). */
export function buildUrl(selKey: string | null): string {
  const p = new URLSearchParams();
  let path = location.pathname;
  const vivo = /^(.*\/vivo)(?:\/(?:logs|metrics|traces)?)?\/?$/.exec(path);
  if (vivo) path = `${vivo[1]}/${tab.value}`;
  else p.set('tab', tab.value);
  if (logQuery.value) p.set('q', logQuery.value);
  for (const c of logChips.value) p.append('f', c);
  if (highlightOnly.value) p.set('hl', '1');
  if (paused.value) p.set('paused', '1');
  if (clearFrom.value !== null) p.set('clear', String(clearFrom.value));
  if (selKey) p.set('sel', selKey);
  if (metricQuery.value) p.set('mq', metricQuery.value);
  if (metricType.value) p.set('mtype', metricType.value);
  if (openMetric.value) p.set('metric', openMetric.value);
  if (showRaw.value) p.set('raw', '1');
  if (traceQuery.value) p.set('tq', traceQuery.value);
  if (traceSort.value !== 'recent') p.set('tsort', traceSort.value);
  if (openTrace.value) p.set('trace', openTrace.value);
  if (selectedSpan.value) p.set('span', selectedSpan.value);
  const qs = p.toString();
  return `${path}${qs ? `?${qs}` : ''}`;
}

/** Key of the selected log record for the URL: chunk.idx. */
export function selectedKey(): string | null {
  const seq = selectedSeq.value;
  if (seq === null) return wantedSel.value;
  const i = logStore.indexOfSeq(seq);
  if (i < 0) return null;
  const r = logStore.records[i];
  return `${r.chunk}.${r.idx}`;
}

/** Keeps the address bar in step with the state; preferences go to localStorage. */
export function syncUrl(): void {
  effect(() => {
    const url = buildUrl(selectedKey());
    if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
  });
  effect(() => savePref('vivo.tz', utc.value ? 'utc' : 'local'));
  effect(() => {
    savePref('vivo.theme', theme.value);
    if (theme.value === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme.value;
  });
  effect(() => savePref('vivo.waterfall.namecol', String(nameColWidth.value)));
  addEventListener('popstate', () => readUrl());
}
