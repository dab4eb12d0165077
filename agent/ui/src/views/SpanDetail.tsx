// The span detail panel: kind, status, duration, self time, offset; attributes, resource, scope, events, links, IDs.

import { CopyButton } from '../components/CopyButton';
import { JsonView } from '../components/JsonView';
import { fmtDateTime } from '../lib/format';
import { isObject, nsToMs, type Json } from '../lib/json';
import { fmtDuration, KIND_NAMES, selfTime, STATUS_NAMES, type TreeNode } from '../lib/traces';
import { selectedSpan, utc } from '../state';

function Attrs({ value }: { value: Json }) {
  if (!isObject(value) || !Object.keys(value).length) return <p class="muted">none</p>;
  return (
    <table class="kv attrs">
      <tbody>
        {Object.entries(value).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v !== null && typeof v === 'object' ? <JsonView value={v} /> : <span class={typeof v === 'string' ? '' : 'mono'}>{String(v)}</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpanDetail({ node, t0 }: { node: TreeNode; t0: bigint }) {
  const s = node.span;
  const dur = s.end - s.start;
  const res = isObject(s.resource) ? s.resource.attributes : null;
  return (
    <aside class="detail" aria-label="Span detail" data-testid="span-detail">
      <div class="detail-head">
        <h3>{s.name}</h3>
        <div class="detail-actions">
          <button type="button" class="btn btn-small" aria-label="Close" title="Close (Esc)" onClick={() => (selectedSpan.value = null)}>✕</button>
        </div>
      </div>
      <div class="detail-body">
        <table class="kv facts">
          <tbody>
            <tr><th>service</th><td>{s.service || '–'}</td></tr>
            {s.from ? <tr><th>followed from</th><td>{s.from}</td></tr> : null}
            <tr><th>kind</th><td>{KIND_NAMES[s.kind]}</td></tr>
            <tr>
              <th>status</th>
              <td class={s.status.code === 2 ? 'err-text' : ''}>{STATUS_NAMES[s.status.code]}{s.status.message ? `: ${s.status.message}` : ''}</td>
            </tr>
            <tr><th>duration</th><td>{fmtDuration(dur)}</td></tr>
            <tr><th>self time</th><td>{fmtDuration(selfTime(node))}</td></tr>
            <tr><th>offset</th><td>+{fmtDuration(s.start - t0)}</td></tr>
            <tr><th>start</th><td>{fmtDateTime(nsToMs(s.start), utc.value)} <span class="mono muted">{s.start.toString()}</span></td></tr>
            <tr><th>span ID</th><td class="mono">{s.spanId} <CopyButton text={s.spanId} /></td></tr>
            <tr><th>parent</th><td class="mono">{s.parentId ?? '–'}{node.orphan ? ' (missing)' : ''}{s.parentId ? <CopyButton text={s.parentId} /> : null}</td></tr>
            <tr><th>trace ID</th><td class="mono">{s.traceId} <CopyButton text={s.traceId} /></td></tr>
            <tr><th>chunk</th><td>#{s.chunk}</td></tr>
          </tbody>
        </table>
        <h4>Attributes</h4>
        <Attrs value={s.attrs} />
        <h4>Events ({s.events.length})</h4>
        {s.events.length ? (
          s.events.map((e, i) => (
            <div class="event" key={i}>
              <div><b>{e.name}</b> <span class="muted">+{fmtDuration(e.time - t0)} (+{fmtDuration(e.time - s.start)} into the span)</span></div>
              <Attrs value={e.attrs} />
            </div>
          ))
        ) : (
          <p class="muted">none</p>
        )}
        <h4>Links ({s.links.length})</h4>
        {s.links.length ? <JsonView value={s.links} /> : <p class="muted">none</p>}
        <h4>Resource</h4>
        <Attrs value={res ?? null} />
        <h4>Scope</h4>
        {s.scope ? <JsonView value={s.scope} /> : <p class="muted">none</p>}
        {s.traceState ? (
          <>
            <h4>Trace state</h4>
            <JsonView value={s.traceState} />
          </>
        ) : null}
      </div>
    </aside>
  );
}
