// The sources panel: every agent this one follows (the vivo input) with its state, rate and lag; a click filters the logs by it.

import { chipFor } from '../lib/filter';
import { fmtBytes, fmtRate } from '../lib/format';
import type { UpstreamInfo } from '../lib/source';
import { info, logChips, sourceRates, sourcesOpen, tab } from '../state';

const STATE_CLASS: Record<string, string> = { following: 'ok', backoff: 'warn', connecting: 'muted', self: 'muted' };

function label(u: UpstreamInfo): string {
  return u.pod || u.upstream;
}

/** The header button; shown only when this agent follows others. */
export function SourcesButton() {
  const list = info.value?.sources ?? [];
  if (!list.length) return null;
  const down = list.filter((u) => u.state !== 'following' && u.state !== 'self').length;
  return (
    <button
      type="button"
      class={`btn btn-small${down ? ' warn' : ''}`}
      data-testid="sources-toggle"
      aria-expanded={sourcesOpen.value}
      title="The agents this one follows"
      onClick={() => (sourcesOpen.value = !sourcesOpen.value)}
    >
      ⇄ {list.length} source{list.length === 1 ? '' : 's'}{down ? ` · ${down} down` : ''}
    </button>
  );
}

function filterBy(u: UpstreamInfo): void {
  const chip = chipFor('source', u.upstream, false);
  const rest = logChips.value.filter((c) => !c.startsWith('source:'));
  logChips.value = [...rest, chip];
  tab.value = 'logs';
  sourcesOpen.value = false;
}

export function SourcesPanel() {
  if (!sourcesOpen.value) return null;
  const list = info.value?.sources ?? [];
  const rates = sourceRates.value;
  return (
    <aside class="sources-panel" data-testid="sources-panel" aria-label="Followed agents">
      <div class="detail-head">
        <h3>Sources</h3>
        <button type="button" class="btn btn-small" aria-label="Close" onClick={() => (sourcesOpen.value = false)}>✕</button>
      </div>
      <p class="muted">Agents this one follows. Click one to show only its records.</p>
      <table class="sources">
        <thead>
          <tr><th>source</th><th>state</th><th>rate</th><th>lag</th><th>records</th><th>errors</th></tr>
        </thead>
        <tbody>
          {list.map((u) => (
            <tr
              key={`${u.input ?? ''}|${u.upstream}`}
              class="src-row"
              data-upstream={u.upstream}
              data-state={u.state}
              title={u.last_error ? `last error: ${u.last_error}` : u.url ?? u.upstream}
              onClick={() => filterBy(u)}
            >
              <td>
                <span class="src-name">{label(u)}</span>
                {u.pod ? <span class="muted small"> {u.upstream}</span> : null}
                {u.namespace ? <span class="muted small"> · {u.namespace}</span> : null}
                {u.discovered_by ? <span class="muted small" title="found by DNS"> · {u.discovered_by}</span> : null}
              </td>
              <td>
                <span class={`badge ${STATE_CLASS[u.state] ?? ''}`} data-testid="src-state">{u.state}</span>
                {u.gone ? <span class="badge warn" title="no longer in DNS; dropped after the grace period">gone</span> : null}
              </td>
              <td data-testid="src-rate">{fmtRate(rates[u.upstream] ?? 0)}</td>
              <td data-testid="src-lag">
                {(u.lag_chunks ?? 0).toLocaleString('en-US')} chunks · {(u.lag_seconds ?? 0).toFixed(1)} s
              </td>
              <td title={fmtBytes(u.bytes ?? 0)}>{(u.records ?? 0).toLocaleString('en-US')}</td>
              <td class={u.errors || u.missed ? 'warn-text' : ''}>
                {(u.errors ?? 0).toLocaleString('en-US')}
                {u.missed ? ` · ${u.missed.toLocaleString('en-US')} missed` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}
