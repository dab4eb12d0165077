// The page frame: header with tabs (live rate badges), connection state, time-zone and theme toggles, buffer facts.

import { Help } from '../components/Help';
import { fmtBytes, fmtRate } from '../lib/format';
import type { StreamName } from '../api';
import { conn, evictedSinceOpen, helpOpen, info, infoMissing, paused, rates, tab, TABS, theme, toast, utc } from '../state';
import { LogsView } from './LogsView';
import { SourcesButton, SourcesPanel } from './SourcesPanel';
import { MetricsView } from './MetricsView';
import { TracesView } from './TracesView';

const TITLES: Record<StreamName, string> = { logs: 'Logs', metrics: 'Metrics', traces: 'Traces' };

function ConnBadge() {
  const c = conn.value;
  const states = TABS.map((s) => c[s].state);
  if (states.includes('reconnecting')) {
    const detail = TABS.map((s) => c[s].detail).find(Boolean) ?? '';
    return <span class="conn reconnecting" data-testid="conn" data-state="reconnecting" title={detail}>reconnecting…</span>;
  }
  if (states.includes('loading')) return <span class="conn loading" data-testid="conn" data-state="loading">connecting…</span>;
  if (paused.value) return <span class="conn paused" data-testid="conn" data-state="paused">paused</span>;
  return <span class="conn live" data-testid="conn" data-state="live">live</span>;
}

function BufferFacts({ stream }: { stream: StreamName }) {
  const s = info.value?.streams?.[stream];
  if (!s) {
    return <span class="muted">{infoMissing.value ? 'buffer facts unavailable (the agent has no /api/v1/info)' : ''}</span>;
  }
  const pct = s.bytes_max ? ((s.bytes_used ?? 0) / s.bytes_max) * 100 : 0;
  return (
    <span class="facts-line" data-testid="buffer-facts">
      <span title="chunks the agent holds for this stream">{(s.chunks ?? 0).toLocaleString('en-US')} chunks held</span>
      <span title="oldest chunk ID still held">oldest #{s.oldest_id ?? '–'}</span>
      <span title="ID of the next chunk">next #{s.next_id ?? '–'}</span>
      <span title="bytes used of stream_queue_size">
        {fmtBytes(s.bytes_used ?? 0)} of {fmtBytes(s.bytes_max ?? 0)}
        <span class="meter"><span style={{ width: `${Math.min(100, pct)}%` }} /></span>
      </span>
      <span title="chunks evicted (oldest first) since this page opened">{evictedSinceOpen.value[stream].toLocaleString('en-US')} evicted since open</span>
    </span>
  );
}

export function App() {
  const t = tab.value;
  const r = rates.value;
  const i = info.value;
  return (
    <div class="app">
      <header class="top">
        <div class="brand" title={i ? `${i.program ?? 'vivo-agent'} ${i.version ?? ''}` : 'Vivo'}>
          <span class="brand-dot" />vivo
        </div>
        <nav class="tabs" role="tablist">
          {TABS.map((s) => (
            <button
              type="button"
              role="tab"
              key={s}
              aria-selected={t === s}
              class={`tab${t === s ? ' on' : ''}`}
              data-tab={s}
              onClick={() => (tab.value = s)}
            >
              {TITLES[s]}
              <span class={`rate${r[s] > 0 ? ' active' : ''}`} data-testid={`rate-${s}`}>{fmtRate(r[s])}</span>
            </button>
          ))}
        </nav>
        <div class="top-right">
          <SourcesButton />
          <ConnBadge />
          <button type="button" class="btn btn-small" data-testid="tz" onClick={() => (utc.value = !utc.value)} title="Show times in local time or UTC (t)">
            {utc.value ? 'UTC' : 'Local'}
          </button>
          <button
            type="button"
            class="btn btn-small"
            title="Theme: follow the system, light or dark"
            onClick={() => (theme.value = theme.value === 'system' ? 'light' : theme.value === 'light' ? 'dark' : 'system')}
          >
            {theme.value === 'system' ? '◐ auto' : theme.value === 'light' ? '☀ light' : '☾ dark'}
          </button>
          <button type="button" class="btn btn-small" onClick={() => (helpOpen.value = true)} title="Keyboard shortcuts (?)">?</button>
        </div>
      </header>
      <main class="content">
        {t === 'logs' ? <LogsView /> : t === 'metrics' ? <MetricsView /> : <TracesView />}
      </main>
      <footer class="status">
        <BufferFacts stream={t} />
        <span class="muted keys-hint"><kbd>/</kbd> search <kbd>j</kbd><kbd>k</kbd> move <kbd>space</kbd> pause <kbd>?</kbd> help</span>
      </footer>
      <SourcesPanel />
      <Help />
      {toast.value ? <div class="toast" role="status">{toast.value}</div> : null}
    </div>
  );
}
