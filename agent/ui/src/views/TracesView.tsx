// The Traces tab: traces grouped by trace_id (sortable, searchable) and, when one is opened, its waterfall.

import { useEffect, useRef } from 'preact/hooks';
import { EmptyState } from '../components/EmptyState';
import { VirtualList, type VirtualListApi } from '../components/VirtualList';
import { viewKeys } from '../keys';
import { fmtDateTime, fmtTime, hueFor, plural } from '../lib/format';
import { fmtDuration, type TraceSummary } from '../lib/traces';
import { loaded, openTrace, selectedSpan, selectedTraceRow, traceQuery, traceSort, traceStore, tracesVersion, utc } from '../state';
import { Waterfall } from './Waterfall';

const ROW_H = 30;

function sortedTraces(): TraceSummary[] {
  const q = traceQuery.value.trim().toLowerCase();
  const list: TraceSummary[] = [];
  for (const t of traceStore.traces.values()) {
    if (q && !t.id.includes(q) && !t.rootName.toLowerCase().includes(q) && !t.services.some((s) => s.toLowerCase().includes(q)) &&
        !t.sources.some((s) => s.toLowerCase().includes(q))) continue;
    list.push(t);
  }
  const dur = (t: TraceSummary) => t.end - t.start;
  switch (traceSort.value) {
    case 'duration':
      list.sort((a, b) => (dur(b) > dur(a) ? 1 : dur(b) < dur(a) ? -1 : 0));
      break;
    case 'errors':
      list.sort((a, b) => b.errors - a.errors || b.seen - a.seen);
      break;
    default:
      list.sort((a, b) => (b.start > a.start ? 1 : b.start < a.start ? -1 : b.seen - a.seen));
  }
  return list;
}

function TraceRow({ t, maxDur, selected }: { t: TraceSummary; maxDur: number; selected: boolean }) {
  const d = Number(t.end - t.start);
  return (
    <div
      class={`trow${selected ? ' sel' : ''}`}
      role="listitem"
      data-trace-id={t.id}
      onClick={() => {
        openTrace.value = t.id;
        selectedSpan.value = null;
      }}
    >
      <span class="c-time" title={fmtDateTime(t.startMs, utc.value)}>{fmtTime(t.startMs, utc.value)}</span>
      <span class="t-name">
        <span class="root-name">{t.rootName}</span>
        {t.incomplete ? <span class="badge warn" title="The root span has not arrived: this trace is shown from its orphans">incomplete</span> : null}
      </span>
      <span class="t-services">
        {t.services.map((s) => (
          <span class="chip" key={s} style={{ '--h': hueFor(s) }}>{s}</span>
        ))}
        {t.sources.length ? (
          <span class="t-sources" data-testid="trace-sources" title="the agents its spans were followed from">
            {' '}via {t.sources.join(', ')}
          </span>
        ) : null}
      </span>
      <span class="t-dur">
        <span class="dur-bar" style={{ width: `${maxDur > 0 ? Math.max(2, (d / maxDur) * 100) : 0}%` }} />
        <span class="dur-text">{fmtDuration(d)}</span>
      </span>
      <span class="t-spans">{plural(t.spans.size, 'span')}</span>
      <span class={`t-errors${t.errors ? ' has' : ''}`}>{t.errors ? `${t.errors} error${t.errors > 1 ? 's' : ''}` : ''}</span>
    </div>
  );
}

export function TracesView() {
  const v = tracesVersion.value;
  const api = useRef<VirtualListApi | null>(null);
  const search = useRef<HTMLInputElement>(null);
  const open = openTrace.value ? traceStore.traces.get(openTrace.value) : undefined;
  const list = open ? [] : sortedTraces();
  const sel = Math.min(selectedTraceRow.value, Math.max(0, list.length - 1));
  let maxDur = 0;
  for (const t of list) maxDur = Math.max(maxDur, Number(t.end - t.start));

  useEffect(() => {
    if (open) return;
    const go = (i: number) => {
      selectedTraceRow.value = Math.max(0, Math.min(list.length - 1, i));
      api.current?.scrollToIndex(selectedTraceRow.value);
    };
    viewKeys.current = {
      next: () => go(selectedTraceRow.peek() + 1),
      prev: () => go(Math.min(selectedTraceRow.peek(), list.length - 1) - 1),
      first: () => go(0),
      last: () => go(list.length - 1),
      open: () => {
        const t = list[Math.min(selectedTraceRow.peek(), list.length - 1)];
        if (t) {
          openTrace.value = t.id;
          selectedSpan.value = null;
        }
      },
      searchBox: () => search.current,
    };
  });

  if (traceStore.traces.size === 0) {
    return (
      <div class="view traces">
        <EmptyState stream="traces" loading={!loaded.value.traces} />
      </div>
    );
  }
  if (open) return <Waterfall trace={open} version={v} />;
  return (
    <div class="view traces">
      <div class="toolbar">
        <div class="filter">
          <input
            ref={search}
            data-search
            type="search"
            placeholder="Search by span name, service or trace ID   ( / )"
            value={traceQuery.value}
            onInput={(e) => (traceQuery.value = (e.target as HTMLInputElement).value)}
          />
          <div class="seg" role="group" aria-label="Sort traces">
            {(['recent', 'duration', 'errors'] as const).map((s) => (
              <button type="button" key={s} class={`btn btn-small${traceSort.value === s ? ' on' : ''}`} onClick={() => (traceSort.value = s)}>
                {s}
              </button>
            ))}
          </div>
          <span class="count">{plural(list.length, 'trace')}</span>
        </div>
      </div>
      {openTrace.value && !open ? <p class="muted pad">Trace {openTrace.value} is not held (yet).</p> : null}
      <div class="row row-head trow-head" aria-hidden="true">
        <span class="c-time">start</span>
        <span class="t-name">root span</span>
        <span class="t-services">services</span>
        <span class="t-dur">duration</span>
        <span class="t-spans">spans</span>
        <span class="t-errors">errors</span>
      </div>
      <VirtualList
        class="trace-list"
        label="traces"
        count={list.length}
        rowHeight={ROW_H}
        version={v}
        api={api}
        renderRow={(i) => <TraceRow key={list[i].id} t={list[i]} maxDur={maxDur} selected={i === sel} />}
      />
    </div>
  );
}
