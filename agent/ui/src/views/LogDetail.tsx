// The log record detail panel: facts, coloured JSON, copy, a field list with include/exclude chips, show in context.

import { CopyButton } from '../components/CopyButton';
import { JsonView } from '../components/JsonView';
import { chipFor } from '../lib/filter';
import { fmtDateTime } from '../lib/format';
import { isObject, shortValue, toJson, type Json } from '../lib/json';
import { recordNdjson } from '../lib/logs';
import { detailOpen, logChips, logStore, logsVersion, utc } from '../state';

function flatten(v: Json, prefix: string, out: [string, Json][], depth = 0): void {
  if (out.length >= 300) return;
  if (isObject(v) && depth < 8 && Object.keys(v).length) {
    for (const k in v) flatten(v[k], prefix ? `${prefix}.${k}` : k, out, depth + 1);
  } else if (prefix) out.push([prefix, v]);
}

function addChip(c: string): void {
  if (!logChips.value.includes(c)) logChips.value = [...logChips.value, c];
}

export function LogDetail({ seq, onContext }: { seq: number; onContext: (seq: number) => void }) {
  logsVersion.value;
  const i = logStore.indexOfSeq(seq);
  if (i < 0) {
    return (
      <aside class="detail" aria-label="Record detail">
        <div class="detail-head"><h3>Record</h3><button type="button" class="btn btn-small" onClick={() => (detailOpen.value = false)}>✕</button></div>
        <p class="muted">This record is no longer held (cleared or dropped).</p>
      </aside>
    );
  }
  const r = logStore.records[i];
  const fields: [string, Json][] = [];
  if (r.raw === undefined) {
    flatten(r.body, '', fields);
    if (isObject(r.meta)) {
      const mf: [string, Json][] = [];
      flatten(r.meta, '', mf);
      for (const [k, v] of mf) fields.push([`meta.${k}`, v]);
    }
  }
  return (
    <aside class="detail" aria-label="Record detail" data-testid="detail">
      <div class="detail-head">
        <h3>{r.raw !== undefined ? 'Unparsable line' : 'Record'}</h3>
        <div class="detail-actions">
          <CopyButton text={() => (r.raw !== undefined ? r.raw : recordNdjson(r))} label="Copy JSON" />
          <button type="button" class="btn btn-small" data-testid="show-context" onClick={() => onContext(r.seq)} title="Clear the filter and scroll to this record">Show in context</button>
          <button type="button" class="btn btn-small" aria-label="Close" title="Close (Esc)" onClick={() => (detailOpen.value = false)}>✕</button>
        </div>
      </div>
      <div class="detail-body">
        <table class="kv facts">
          <tbody>
            <tr><th>time</th><td>{fmtDateTime(r.ms, utc.value)}</td></tr>
            {r.ts !== null ? <tr><th>timestamp</th><td class="mono">{shortValue(r.ts)}</td></tr> : null}
            <tr><th>tag</th><td>{r.tag || '–'}</td></tr>
            {r.source ? <tr><th>input</th><td>{r.sourceType ? `${r.sourceType} · ` : ''}{r.source}</td></tr> : null}
            {r.origin ? (
              <tr>
                <th>followed from</th>
                <td data-testid="detail-origin">
                  {r.origin.pod ? `${r.origin.namespace ? `${r.origin.namespace}/` : ''}${r.origin.pod} · ` : ''}
                  {r.origin.instance}
                  {r.origin.node ? ` · node ${r.origin.node}` : ''}
                  <span class="muted small"> run {r.origin.bootId.slice(0, 8)}</span>
                </td>
              </tr>
            ) : null}
            <tr><th>chunk</th><td data-testid="detail-chunk">#{r.chunk} · record {r.idx}</td></tr>
            {r.level ? <tr><th>level</th><td><span class={`lvl-${r.level}`}>{r.level}</span></td></tr> : null}
          </tbody>
        </table>
        {r.raw !== undefined ? (
          <>
            <p class="warn-text">{r.error}</p>
            <pre class="json raw">{r.raw}</pre>
          </>
        ) : (
          <>
            <h4>Body</h4>
            <JsonView value={r.body} />
            {isObject(r.meta) && Object.keys(r.meta).length ? (
              <>
                <h4>Metadata</h4>
                <JsonView value={r.meta} />
              </>
            ) : null}
            {r.otlp !== undefined ? (
              <>
                <h4>OTLP resource and scope</h4>
                <JsonView value={r.otlp} />
              </>
            ) : null}
            <h4>Fields</h4>
            <table class="fields">
              <tbody>
                <tr>
                  <td class="fk">source</td>
                  <td class="fv">{r.from || 'local'}</td>
                  <td class="fa">
                    <button type="button" class="btn btn-tiny" title="Only records from this source" onClick={() => addChip(chipFor('source', r.from || 'local', false))}>+</button>
                    <button type="button" class="btn btn-tiny" title="Hide records from this source" onClick={() => addChip(chipFor('source', r.from || 'local', true))}>−</button>
                  </td>
                </tr>
                <tr>
                  <td class="fk">_tag</td>
                  <td class="fv">{r.tag}</td>
                  <td class="fa">
                    <button type="button" class="btn btn-tiny" title="Only records like this" onClick={() => addChip(chipFor('_tag', r.tag, false))}>+</button>
                    <button type="button" class="btn btn-tiny" title="Hide records like this" onClick={() => addChip(chipFor('_tag', r.tag, true))}>−</button>
                  </td>
                </tr>
                {fields.map(([k, v]) => (
                  <tr key={k}>
                    <td class="fk">{k}</td>
                    <td class="fv">{typeof v === 'string' ? v : toJson(v)}</td>
                    <td class="fa">
                      <button type="button" class="btn btn-tiny" data-testid={`include-${k}`} title="Only records with this value" onClick={() => addChip(chipFor(k, v, false))}>+</button>
                      <button type="button" class="btn btn-tiny" data-testid={`exclude-${k}`} title="Hide records with this value" onClick={() => addChip(chipFor(k, v, true))}>−</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </aside>
  );
}
