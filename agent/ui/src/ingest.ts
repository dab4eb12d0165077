// Wires the stream followers to the stores: parse on arrival, show in batches (4 per second), rates, buffer facts.

import { batch, effect } from '@preact/signals';
import { Follower, bootIdentity, fetchInfo, type Batch, type StreamName } from './api';
import { logAdapter, parseLogLine, type LogRecord } from './lib/logs';
import { upstreamRates, type UpstreamInfo } from './lib/source';
import {
  clearFrom,
  conn,
  detailOpen,
  evictedSinceOpen,
  info,
  infoMissing,
  loaded,
  logStore,
  logsVersion,
  metricStore,
  metricsVersion,
  paused,
  pendingCount,
  rates,
  selectedSeq,
  sourceRates,
  tab,
  traceStore,
  tracesVersion,
  wantedSel,
} from './state';

const FLUSH_MS = 250;
const RATE_WINDOW_S = 10;

const pendingLogs: LogRecord[] = [];
let metricsDirty = false;
let tracesDirty = false;
const arrivals: Record<StreamName, { t: number; n: number }[]> = { logs: [], metrics: [], traces: [] };
const followers: Partial<Record<StreamName, Follower>> = {};
const evictedBase: Partial<Record<StreamName, number>> = {};
let lastSources: { at: number; list: UpstreamInfo[] } | null = null;

function noteArrival(b: Batch, n: number): void {
  // What the buffer held when the page opened is history, not a rate.
  if (!b.initial) arrivals[b.stream].push({ t: performance.now(), n });
}

function onBatch(b: Batch): void {
  if (b.stream === 'logs') {
    let n = 0;
    b.lines.forEach((line, i) => {
      // One line per chunk in the v1 logs format, so the line's position gives its chunk ID.
      let id = b.startId !== null ? b.startId + i : -1;
      if (b.endId !== null && id > b.endId) id = b.endId;
      const recs = parseLogLine(line, id, b.session, logStore.nextSeq);
      for (const r of recs) pendingLogs.push(r);
      n += recs.length;
    });
    noteArrival(b, n);
    if (paused.value) pendingCount.value = pendingLogs.length;
  } else if (b.stream === 'metrics') {
    let n = 0;
    b.lines.forEach((line, i) => (n += metricStore.ingestLine(line, (b.startId ?? 0) + i)));
    noteArrival(b, n);
    metricsDirty = true;
  } else {
    let n = 0;
    b.lines.forEach((line, i) => (n += traceStore.ingestLine(line, (b.startId ?? 0) + i)));
    noteArrival(b, n);
    tracesDirty = true;
  }
}

/** Moves what arrived into the visible stores; called 4 times a second, and on resume. */
export function flush(): void {
  batch(() => {
    if (!paused.value) {
      if (pendingLogs.length) {
        const added = pendingLogs.splice(0);
        logStore.append(added);
        warmSearchText(added);
        logsVersion.value++;
        pendingCount.value = 0;
        resolveWantedSelection();
      }
      if (metricsDirty) {
        metricsDirty = false;
        metricsVersion.value++;
      }
      if (tracesDirty) {
        tracesDirty = false;
        tracesVersion.value++;
      }
    }
  });
}

/**
 * Builds the records' lower-case search text while the page is idle, so the first filter
 * typed over a large buffer does not pay for it.
 */
function warmSearchText(recs: LogRecord[]): void {
  let i = 0;
  const step = (deadline?: IdleDeadline) => {
    const until = performance.now() + 8;
    while (i < recs.length && (deadline ? deadline.timeRemaining() > 1 : performance.now() < until)) {
      logAdapter.lower(recs[i++]);
    }
    if (i < recs.length) schedule(step);
  };
  schedule(step);
}

function schedule(fn: (d?: IdleDeadline) => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 1000 });
  else setTimeout(fn, 16);
}

function resolveWantedSelection(): void {
  const want = wantedSel.value;
  if (!want) return;
  const [chunk, idx] = want.split('.').map(Number);
  const recs = logStore.records;
  for (let i = recs.length - 1; i >= 0; i--) {
    if (recs[i].chunk === chunk && recs[i].idx === idx) {
      selectedSeq.value = recs[i].seq;
      detailOpen.value = true;
      wantedSel.value = null;
      return;
    }
  }
}

function updateRates(): void {
  const now = performance.now();
  const out = { logs: 0, metrics: 0, traces: 0 };
  for (const s of Object.keys(arrivals) as StreamName[]) {
    const a = arrivals[s];
    while (a.length && now - a[0].t > RATE_WINDOW_S * 1000) a.shift();
    out[s] = a.reduce((sum, x) => sum + x.n, 0) / RATE_WINDOW_S;
  }
  const cur = rates.value;
  if (out.logs !== cur.logs || out.metrics !== cur.metrics || out.traces !== cur.traces) rates.value = out;
}

async function pollInfo(): Promise<void> {
  const i = await fetchInfo();
  if (!i) {
    // Older agents have no /api/v1/info; the empty state then shows the default ports.
    if (!info.value) infoMissing.value = true;
    return;
  }
  infoMissing.value = false;
  const ev = { ...evictedSinceOpen.value };
  for (const s of ['logs', 'metrics', 'traces'] as StreamName[]) {
    const e = i.streams?.[s]?.evicted;
    if (typeof e !== 'number') continue;
    // A lower count than the baseline means a new agent run: count from zero again.
    if (evictedBase[s] === undefined || e < evictedBase[s]!) evictedBase[s] = evictedBase[s] === undefined ? e : 0;
    ev[s] = e - evictedBase[s]!;
  }
  const now = performance.now();
  const list = Array.isArray(i.sources) ? i.sources : [];
  const sr = upstreamRates(lastSources?.list ?? null, list, lastSources ? now - lastSources.at : 0);
  lastSources = { at: now, list };
  batch(() => {
    info.value = i;
    evictedSinceOpen.value = ev;
    sourceRates.value = sr;
  });
}

function makeFollower(stream: StreamName, from: number | null): Follower {
  let knownBoot: string | null = null;
  const f = new Follower(
    stream,
    {
      onBatch,
      onState(state, detail) {
        if (state === 'live') {
          if (!loaded.value[stream]) loaded.value = { ...loaded.value, [stream]: true };
          if (knownBoot === null) knownBoot = bootIdentity(info.value);
        }
        const c = conn.value[stream];
        if (c.state !== state || c.detail !== detail) conn.value = { ...conn.value, [stream]: { state, detail } };
      },
      onSession() {
        if (stream === 'logs') {
          // A restarted agent numbers chunks from 0 again: an old Clear mark means nothing now.
          clearFrom.value = null;
          pendingLogs.push({
            seq: logStore.nextSeq(), session: f.session, chunk: -1, idx: 0, tag: '', source: '', sourceType: '',
            ts: null, ms: Date.now(), meta: null, body: null, level: '', msg: 'agent restarted: a new stream begins',
            note: 'restart',
          });
        }
        evictedBase[stream] = 0;
        void pollInfo();
      },
      async restarted() {
        const i = await fetchInfo();
        const id = bootIdentity(i);
        if (!id) return false;
        const changed = knownBoot !== null && id !== knownBoot;
        knownBoot = id;
        return changed;
      },
    },
    from,
  );
  return f;
}

/** Starts following the three streams (logs from the Clear mark, if any) and the timers. */
export function startIngest(): void {
  void pollInfo();
  followers.logs = makeFollower('logs', clearFrom.value);
  followers.metrics = makeFollower('metrics', null);
  followers.traces = makeFollower('traces', null);
  // Only the stream on screen long-polls (see Follower).
  effect(() => {
    for (const [name, f] of Object.entries(followers)) f.setActive(name === tab.value);
  });
  for (const f of Object.values(followers)) f.start();
  setInterval(flush, FLUSH_MS);
  setInterval(updateRates, 1000);
  setInterval(() => void pollInfo(), 2000);
}

/** The Next-ID the logs follower will ask for: where a Clear mark goes. */
export function logsNextId(): number | null {
  return followers.logs?.next ?? null;
}

/** Client-side clear: hide everything received so far; remembered in the URL as a chunk ID. */
export function clearLogs(): void {
  batch(() => {
    pendingLogs.length = 0;
    logStore.clear();
    clearFrom.value = logsNextId();
    selectedSeq.value = null;
    detailOpen.value = false;
    pendingCount.value = 0;
    logsVersion.value++;
  });
}
