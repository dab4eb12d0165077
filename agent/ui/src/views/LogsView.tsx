// The Logs tab: filter bar with chips, a virtualised live list that follows the tail, pause, clear, download.

import { effect, signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { EmptyState } from '../components/EmptyState';
import { VirtualList, type VirtualListApi } from '../components/VirtualList';
import { clearLogs, flush } from '../ingest';
import { viewKeys, togglePause } from '../keys';
import { chipFor } from '../lib/filter';
import { fmtTime, hueFor, plural } from '../lib/format';
import { isObject, shortValue } from '../lib/json';
import { messageKey, recordNdjson, type LogRecord } from '../lib/logs';
import {
  clearFrom,
  detailOpen,
  flashSeq,
  highlightOnly,
  info,
  loaded,
  logChips,
  logQuery,
  logStore,
  logsVersion,
  paused,
  pendingCount,
  selectedSeq,
  utc,
} from '../state';
import { LogDetail } from './LogDetail';

export const ROW_H = 22;
/** Whether the list keeps the newest row in view. */
const following = signal(true);
/** visible.length when following stopped, for the "↓ N new" button. */
const countAtUnfollow = signal(0);

/** Stops following the tail, remembering where, so new rows can be counted. */
function unfollow(): void {
  if (!following.peek()) return;
  countAtUnfollow.value = logStore.visible.length;
  following.value = false;
}

// Re-filter whenever the query, chips or mode change (synchronously, so typing feels instant).
let filterWired = false;
function wireFilter(): void {
  if (filterWired) return;
  filterWired = true;
  effect(() => {
    logStore.setFilter(logQuery.value, logChips.value, highlightOnly.value);
    logsVersion.value = logsVersion.peek() + 1;
  });
}

function highlight(text: string, re: RegExp | null): ComponentChildren {
  if (!re || !text) return text;
  const out: ComponentChildren[] = [];
  let last = 0;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = re.exec(text)) && guard++ < 50) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(<mark>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function dimFields(r: LogRecord): string {
  if (!isObject(r.body)) return '';
  const skip = messageKey(r.body);
  let s = '';
  for (const k in r.body) {
    if (k === skip) continue;
    s += `${k}=${shortValue(r.body[k])} `;
    if (s.length > 300) break;
  }
  return s.slice(0, 300);
}

export function selectSeq(seq: number | null, open = false): void {
  selectedSeq.value = seq;
  if (open) detailOpen.value = true;
}

function download(): void {
  const lines: string[] = [];
  for (const i of logStore.visible) {
    const r = logStore.records[i];
    if (!r.note) lines.push(recordNdjson(r));
  }
  const blob = new Blob([lines.join('\n') + (lines.length ? '\n' : '')], { type: 'application/x-ndjson' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `vivo-logs-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Clears the filter, scrolls to the record and flashes it ("show in context"). */
export function showInContext(seq: number, api: VirtualListApi | null): void {
  logQuery.value = '';
  logChips.value = [];
  unfollow();
  selectedSeq.value = seq;
  flashSeq.value = seq;
  setTimeout(() => {
    const pos = logStore.visibleIndexOfSeq(seq);
    if (pos >= 0) api?.scrollToIndex(pos, true);
  }, 0);
  setTimeout(() => {
    if (flashSeq.value === seq) flashSeq.value = null;
  }, 2500);
}

/** The source cell: the agent a record was followed from; a click keeps only that source. */
function SourceCell({ r }: { r: LogRecord }) {
  if (!r.from) return <span class="c-src local" title="taken in by this agent">local</span>;
  const o = r.origin!;
  return (
    <span class="c-src" title={`followed from ${o.instance}${o.pod ? ` (pod ${o.namespace ? `${o.namespace}/` : ''}${o.pod})` : ''}`}>
      <button
        type="button"
        class="chip src"
        style={{ '--h': hueFor(r.from) }}
        onClick={(e) => {
          e.stopPropagation();
          const chip = chipFor('source', r.from, false);
          if (!logChips.value.includes(chip)) logChips.value = [...logChips.value, chip];
        }}
      >
        {r.from}
      </button>
    </span>
  );
}

function Row({ r, hl, selected, flash, sources }: { r: LogRecord; hl: RegExp | null; selected: boolean; flash: boolean; sources: boolean }) {
  if (r.note) {
    return <div class="row row-note" role="listitem" data-seq={r.seq}>— {r.msg} —</div>;
  }
  const cls = `row${selected ? ' sel' : ''}${flash ? ' flash' : ''}${r.raw !== undefined ? ' unparsable' : ''}${r.level ? ` lv-${r.level}` : ''}`;
  return (
    <div class={cls} role="listitem" data-seq={r.seq} data-chunk={r.chunk} onClick={() => selectSeq(r.seq, true)}>
      <span class="c-time">{fmtTime(r.ms, utc.value)}</span>
      {sources ? <SourceCell r={r} /> : null}
      <span class="c-tag">{r.tag ? <span class="chip" style={{ '--h': hueFor(r.tag) }}>{r.tag}</span> : null}</span>
      <span class={`c-lvl${r.level ? ` lvl-${r.level}` : ''}`}>{r.raw !== undefined ? 'unparsable' : r.level}</span>
      <span class="c-msg">
        <span class="msg">{highlight(r.msg.length > 2000 ? r.msg.slice(0, 2000) : r.msg, hl)}</span>
        {r.raw === undefined ? <span class="dim"> {highlight(dimFields(r), hl)}</span> : null}
      </span>
    </div>
  );
}

function Toolbar({ inputRef }: { inputRef: { current: HTMLInputElement | null } }) {
  logsVersion.value; // re-render on data changes (counts)
  const f = logStore.filter;
  const total = logStore.realCount();
  const shown = logStore.visible.length;
  const matches = highlightOnly.value ? logStore.matchCount() : shown;
  return (
    <div class="toolbar">
      <div class="filter">
        <input
          ref={inputRef}
          id="log-filter"
          data-search
          type="search"
          placeholder="Filter: text, /regex/, key:value, -key:value, source:pod   ( / )"
          value={logQuery.value}
          spellcheck={false}
          autocomplete="off"
          onInput={(e) => (logQuery.value = (e.target as HTMLInputElement).value)}
        />
        <div class="seg" role="group" aria-label="Filter mode">
          <button type="button" class={`btn btn-small${!highlightOnly.value ? ' on' : ''}`} onClick={() => (highlightOnly.value = false)} title="Show only matching records">Filter</button>
          <button type="button" class={`btn btn-small${highlightOnly.value ? ' on' : ''}`} onClick={() => (highlightOnly.value = true)} title="Show everything, highlight matches; n / N to move between them">Highlight</button>
        </div>
        <span class="count" data-testid="match-count">
          {f.empty ? plural(total, 'record') : highlightOnly.value ? `${matches.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} match` : `${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`}
        </span>
      </div>
      <div class="actions">
        <button type="button" class={`btn${paused.value ? ' warn' : ''}`} data-testid="pause" onClick={togglePause} title="Pause / follow (space)">
          {paused.value ? `▶ Resume${pendingCount.value ? ` (${pendingCount.value.toLocaleString('en-US')} new)` : ''}` : '❚❚ Pause'}
        </button>
        <button type="button" class="btn" data-testid="clear" onClick={clearLogs} title="Hide everything received so far (nothing is deleted on the agent)">Clear</button>
        <button type="button" class="btn" data-testid="download" onClick={download} title="Download the records shown as NDJSON">Download</button>
      </div>
      {logChips.value.length || f.hints.length ? (
        <div class="chips">
          {logChips.value.map((c) => (
            <span class="fchip" key={c}>
              {c}
              <button type="button" aria-label={`remove ${c}`} onClick={() => (logChips.value = logChips.value.filter((x) => x !== c))}>×</button>
            </span>
          ))}
          {f.hints.map((h) => (
            <span class="hint" key={h}>⚠ {h}</span>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function LogsView() {
  wireFilter();
  const v = logsVersion.value;
  const api = useRef<VirtualListApi | null>(null);
  const input = useRef<HTMLInputElement | null>(null);
  const store = logStore;
  const count = store.visible.length;
  const hl = store.filter.highlight;
  const sel = selectedSeq.value;
  // Key handlers read the state when called (a key can arrive before the next render).
  const selPos = () => {
    const s = selectedSeq.peek();
    return s === null ? -1 : logStore.visibleIndexOfSeq(s);
  };
  const move = (d: number) => {
    const n = logStore.visible.length;
    if (!n) return;
    const cur = selPos();
    let pos = cur < 0 ? (d > 0 ? 0 : n - 1) : Math.min(n - 1, Math.max(0, cur + d));
    if (cur < 0 && following.peek()) pos = n - 1;
    unfollow();
    selectSeq(logStore.records[logStore.visible[pos]].seq);
    api.current?.scrollToIndex(pos);
  };
  const jumpMatch = (d: number) => {
    const hits = logStore.matchPositions();
    if (!hits.length) return;
    const cur = selPos();
    // The next hit after (or the previous before) the selection, wrapping around.
    let pos: number;
    if (d > 0) pos = hits.find((p) => p > cur) ?? hits[0];
    else pos = [...hits].reverse().find((p) => p < cur) ?? hits[hits.length - 1];
    unfollow();
    selectSeq(logStore.records[logStore.visible[pos]].seq);
    api.current?.scrollToIndex(pos, true);
  };

  useEffect(() => {
    viewKeys.current = {
      next: () => move(1),
      prev: () => move(-1),
      first: () => {
        unfollow();
        api.current?.scrollToIndex(0);
        if (logStore.visible.length) selectSeq(logStore.records[logStore.visible[0]].seq);
      },
      last: () => {
        following.value = true;
      },
      open: () => {
        if (selectedSeq.peek() !== null) detailOpen.value = true;
      },
      nextMatch: () => jumpMatch(1),
      prevMatch: () => jumpMatch(-1),
      close: () => {
        if (detailOpen.value) {
          detailOpen.value = false;
          return true;
        }
        return false;
      },
      searchBox: () => input.current,
    };
  });

  const onAtEnd = (atEnd: boolean) => {
    if (atEnd) following.value = true;
    else unfollow();
  };
  const newRows = !following.value ? Math.max(0, count - countAtUnfollow.value) : 0;
  const empty = store.records.length === 0 && pendingCount.value === 0;
  // The source column: once a record followed from another agent is held, or this agent follows some.
  const sources = store.hasOrigins || (info.value?.sources?.length ?? 0) > 0;

  return (
    <div class={`view logs${detailOpen.value && sel !== null ? ' with-detail' : ''}${sources ? ' with-sources' : ''}`}>
      <Toolbar inputRef={input} />
      <div class="logs-body">
        <div class="logs-main">
          {empty && clearFrom.value !== null ? (
            <div class="empty" data-testid="cleared">
              <h2>Cleared</h2>
              <p class="muted">Records that arrive from now on appear here. Nothing was deleted on the agent.</p>
              <button
                type="button"
                class="btn"
                onClick={() => {
                  clearFrom.value = null;
                  location.reload();
                }}
              >
                Show everything again
              </button>
            </div>
          ) : empty ? (
            <EmptyState stream="logs" loading={!loaded.value.logs} />
          ) : (
            <>
              <div class="row row-head" aria-hidden="true">
                <span class="c-time">time{utc.value ? ' (UTC)' : ''}</span>
                {sources ? <span class="c-src">source</span> : null}
                <span class="c-tag">tag</span>
                <span class="c-lvl">level</span>
                <span class="c-msg">message</span>
              </div>
              <VirtualList
                class="log-list"
                label="log records"
                count={count}
                rowHeight={ROW_H}
                version={v}
                follow={following.value && !paused.value}
                onAtEnd={onAtEnd}
                api={api}
                renderRow={(i) => {
                  const r = store.records[store.visible[i]];
                  return <Row key={r.seq} r={r} hl={hl} selected={r.seq === sel} flash={r.seq === flashSeq.value} sources={sources} />;
                }}
              />
              {count === 0 ? <div class="no-match">No record matches the filter.</div> : null}
            </>
          )}
          {newRows > 0 ? (
            <button
              type="button"
              class="btn new-rows"
              data-testid="new-rows"
              onClick={() => {
                following.value = true;
                flush();
              }}
            >
              ↓ {newRows.toLocaleString('en-US')} new
            </button>
          ) : null}
        </div>
        {detailOpen.value && sel !== null ? <LogDetail seq={sel} onContext={(s) => showInContext(s, api.current)} /> : null}
      </div>
    </div>
  );
}
