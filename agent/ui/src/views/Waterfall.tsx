// A trace's waterfall: resizable name column, time axis, bars coloured per service, errors, events, collapsible subtrees.

import { signal } from '@preact/signals';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { CopyButton } from '../components/CopyButton';
import { VirtualList, type VirtualListApi } from '../components/VirtualList';
import { viewKeys } from '../keys';
import { fmtDateTime, hueFor, plural } from '../lib/format';
import { buildTree, flatten, fmtDuration, niceStep, type TraceSummary, type TreeNode } from '../lib/traces';
import { nameColWidth, openTrace, selectedSpan, utc } from '../state';
import { SpanDetail } from './SpanDetail';

const ROW_H = 26;
const collapsed = signal<Set<string>>(new Set());
const CHAR_PX = 6.6;

function Axis({ total, width }: { total: number; width: number }) {
  const step = niceStep(total, Math.max(2, Math.floor(width / 110)));
  const ticks: number[] = [];
  for (let t = 0; t <= total + step * 1e-9; t += step) ticks.push(t);
  return (
    <div class="wf-axis">
      {ticks.map((t) => (
        <span class="tick" key={t} style={{ left: `${total > 0 ? (t / total) * 100 : 0}%` }}>
          {fmtDuration(t)}
        </span>
      ))}
    </div>
  );
}

function SpanRow(props: {
  n: TreeNode;
  t0: bigint;
  total: number;
  width: number;
  colorKey: (n: TreeNode) => string;
  selected: boolean;
}) {
  const { n, t0, total, width } = props;
  const s = n.span;
  const off = Number(s.start - t0);
  const dur = Number(s.end - s.start);
  const left = total > 0 ? (off / total) * 100 : 0;
  const w = total > 0 ? (dur / total) * 100 : 100;
  const barPx = (w / 100) * width;
  const label = `${s.name} · ${fmtDuration(dur)}`;
  const inside = barPx > label.length * CHAR_PX + 10;
  const onLeft = !inside && left > 60;
  const isCollapsed = collapsed.value.has(s.spanId);
  const hue = hueFor(props.colorKey(n));
  return (
    <div
      class={`wf-row${props.selected ? ' sel' : ''}`}
      role="listitem"
      data-span-id={s.spanId}
      data-span-name={s.name}
      data-depth={n.depth}
      onClick={() => (selectedSpan.value = s.spanId)}
    >
      <div class="wf-name" style={{ paddingLeft: `${6 + n.depth * 14}px` }}>
        {n.children.length ? (
          <button
            type="button"
            class="twisty"
            aria-label={isCollapsed ? 'expand' : 'collapse'}
            aria-expanded={!isCollapsed}
            onClick={(e) => {
              e.stopPropagation();
              const c = new Set(collapsed.value);
              if (c.has(s.spanId)) c.delete(s.spanId);
              else c.add(s.spanId);
              collapsed.value = c;
            }}
          >
            {isCollapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span class="twisty" />
        )}
        <span class="dot" style={{ '--h': hue }} />
        {n.error ? <span class="err-mark" title="error">●</span> : n.descendantError ? <span class="err-mark hollow" title="a descendant has an error">○</span> : null}
        <span class="sp-name">{s.name}</span>
        {s.service ? <span class="sp-svc">{s.service}</span> : null}
        {s.from ? <span class="sp-src" data-testid="span-source" title="followed from this agent">@{s.from}</span> : null}
        {n.orphan ? <span class="badge warn" title={`parent ${s.parentId} is missing`}>orphan</span> : null}
        {n.loop ? <span class="badge err" title="its parent chain loops back; the loop was cut here">loop</span> : null}
        {isCollapsed ? <span class="badge">+{countDesc(n)}</span> : null}
      </div>
      <div class="wf-track">
        <div
          class={`wf-bar${n.error ? ' error' : ''}`}
          style={{ left: `${left}%`, width: `max(${w}%, 2px)`, '--h': hue }}
          title={`${s.name}\n${fmtDuration(dur)} at +${fmtDuration(off)}`}
        >
          {inside ? <span class="wf-label in">{label}</span> : null}
          {s.events.map((e, i) => {
            const eo = dur > 0 ? (Number(e.time - s.start) / dur) * 100 : 0;
            return <span class="ev" key={i} style={{ left: `${Math.min(100, Math.max(0, eo))}%` }} title={`${e.name} at +${fmtDuration(Number(e.time - t0))}`} />;
          })}
        </div>
        {!inside ? (
          <span class={`wf-label out${onLeft ? ' left' : ''}`} style={onLeft ? { right: `${100 - left}%` } : { left: `calc(${left + w}% + 4px)` }}>
            {label}
          </span>
        ) : null}
      </div>
    </div>
  );
}

function countDesc(n: TreeNode): number {
  let c = 0;
  const st = [...n.children];
  while (st.length) {
    const x = st.pop()!;
    c++;
    st.push(...x.children);
  }
  return c;
}

export function Waterfall({ trace, version }: { trace: TraceSummary; version: number }) {
  const api = useRef<VirtualListApi | null>(null);
  const trackRef = useRef<HTMLDivElement>(null);
  const [trackW, setTrackW] = useState(600);
  const tree = useMemo(() => buildTree(trace.spans.values()), [trace, version, trace.spans.size]);
  const rows = flatten(tree, collapsed.value);
  const t0 = trace.start;
  const total = Number(trace.end - trace.start);
  const services = trace.services;
  // Colour by service; by span name when there is only one service.
  const colorKey = services.length > 1 ? (n: TreeNode) => n.span.service : (n: TreeNode) => n.span.name;
  const sel = selectedSpan.value;
  const selNode = sel ? tree.nodes.get(sel) : undefined;

  useEffect(() => {
    const el = trackRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setTrackW(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const go = (i: number) => {
      if (!rows.length) return;
      const j = Math.max(0, Math.min(rows.length - 1, i));
      selectedSpan.value = rows[j].span.spanId;
      api.current?.scrollToIndex(j);
    };
    const setCollapsed = (id: string, on: boolean) => {
      const c = new Set(collapsed.value);
      if (on) c.add(id);
      else c.delete(id);
      collapsed.value = c;
    };
    const cur = () => {
      const id = selectedSpan.peek();
      return id ? rows.findIndex((r) => r.span.spanId === id) : -1;
    };
    viewKeys.current = {
      next: () => go(cur() + 1),
      prev: () => go(cur() < 0 ? rows.length - 1 : cur() - 1),
      first: () => go(0),
      last: () => go(rows.length - 1),
      open: () => {
        const id = selectedSpan.peek();
        if (id && tree.nodes.get(id)?.children.length) setCollapsed(id, !collapsed.value.has(id));
      },
      close: () => {
        if (selectedSpan.value) {
          selectedSpan.value = null;
          return true;
        }
        openTrace.value = null;
        return true;
      },
      searchBox: () => null,
    };
  });

  const startResize = (e: PointerEvent) => {
    e.preventDefault();
    const x0 = e.clientX;
    const w0 = nameColWidth.value;
    const move = (ev: PointerEvent) => (nameColWidth.value = Math.max(140, Math.min(900, w0 + ev.clientX - x0)));
    const up = () => {
      removeEventListener('pointermove', move);
      removeEventListener('pointerup', up);
    };
    addEventListener('pointermove', move);
    addEventListener('pointerup', up);
  };

  return (
    <div class={`view waterfall${selNode ? ' with-detail' : ''}`} style={{ '--name-w': `${nameColWidth.value}px` }} data-testid="waterfall">
      <div class="wf-head">
        <button type="button" class="btn btn-small" onClick={() => (openTrace.value = null)} title="All traces (Esc)">← All traces</button>
        <h3>{trace.rootName}</h3>
        {trace.incomplete ? <span class="badge warn">incomplete: root span missing</span> : null}
        <span class="muted">{fmtDuration(total)} · {plural(trace.spans.size, 'span')} · {trace.errors ? <span class="err-text">{plural(trace.errors, 'error')}</span> : 'no errors'} · {fmtDateTime(trace.startMs, utc.value)}</span>
        <span class="mono muted small">{trace.id}</span>
        <CopyButton text={trace.id} label="Copy ID" />
      </div>
      <div class="legend">
        {(services.length > 1 ? services : [...new Set(rows.map((r) => r.span.name))].slice(0, 12)).map((k) => (
          <span class="legend-item" key={k}><span class="dot" style={{ '--h': hueFor(k) }} />{k}</span>
        ))}
      </div>
      <div class="wf-body">
        <div class="wf-main">
          <div class="wf-row wf-header">
            <div class="wf-name">
              span
              <span class="resizer" title="Drag to resize" onPointerDown={startResize} />
            </div>
            <div class="wf-track" ref={trackRef}>
              <Axis total={total} width={trackW} />
            </div>
          </div>
          <VirtualList
            class="wf-list"
            label="spans"
            count={rows.length}
            rowHeight={ROW_H}
            version={version + collapsed.value.size}
            api={api}
            renderRow={(i) => (
              <SpanRow key={rows[i].span.spanId} n={rows[i]} t0={t0} total={total} width={trackW} colorKey={colorKey} selected={rows[i].span.spanId === sel} />
            )}
          />
        </div>
        {selNode ? <SpanDetail node={selNode} t0={t0} /> : null}
      </div>
    </div>
  );
}
