// Unit tests for followed records: the source of v1 and legacy lines, the source: filter key, traces joined across upstreams, metrics kept apart, upstream rates.
import { describe, expect, it } from 'vitest';
import { LogStore, parseLogLine } from '../src/lib/logs';
import { MetricStore } from '../src/lib/metrics';
import { parseSource, sourceLabel, sourceValues, upstreamRates } from '../src/lib/source';
import { TraceStore, buildTree, flatten } from '../src/lib/traces';

function seqGen() {
  let n = 0;
  return () => n++;
}

const WEB1 = '{"instance":"10.0.0.7:2025","boot_id":"4aec541a","pod":"web-1","namespace":"shop","node":"n1"}';
const BARE = '{"instance":"127.0.0.1:41234","boot_id":"77"}';

describe('source', () => {
  it('reads the source object and labels it by pod, else instance', () => {
    const s = parseSource(JSON.parse(WEB1));
    expect(s).toEqual({ instance: '10.0.0.7:2025', bootId: '4aec541a', pod: 'web-1', namespace: 'shop', node: 'n1' });
    expect(sourceLabel(s)).toBe('web-1');
    expect(sourceLabel(parseSource(JSON.parse(BARE)))).toBe('127.0.0.1:41234');
    expect(sourceLabel(null)).toBe('');
    expect(parseSource({ pod: 'x' })).toBeNull();
    expect(sourceValues(s)).toEqual(['10.0.0.7:2025', 'web-1', 'shop/web-1', 'n1']);
    expect(sourceValues(null)).toEqual(['local']);
  });

  it('computes records per second per upstream between two info readings', () => {
    const a = [{ upstream: 'a:1', state: 'following', records: 100, boot_id: 'x' }, { upstream: 'b:1', state: 'backoff', records: 5 }];
    const b = [{ upstream: 'a:1', state: 'following', records: 300, boot_id: 'x' }, { upstream: 'b:1', state: 'following', records: 5 },
      { upstream: 'c:1', state: 'following', records: 9 }];
    expect(upstreamRates(a, b, 2000)).toEqual({ 'a:1': 100, 'b:1': 0, 'c:1': 0 });
    expect(upstreamRates(null, b, 0)).toEqual({ 'a:1': 0, 'b:1': 0, 'c:1': 0 });
  });
});

describe('followed log records', () => {
  const v1 = (src: string, msg: string) =>
    `{"source_type":"http","source_name":"http.0","tag":"app","source":${src},"records":[[[1759591426808913765,{}],{"message":"${msg}"}]]}`;

  it('carry their source from a v1 chunk, and local ones none', () => {
    const [r] = parseLogLine(v1(WEB1, 'hi'), 3, 0, seqGen());
    expect(r.from).toBe('web-1');
    expect(r.origin?.instance).toBe('10.0.0.7:2025');
    expect(r.source).toBe('http.0');
    const [l] = parseLogLine('{"source_type":"http","source_name":"http.0","tag":"app","records":[[[1,{}],{"m":1}]]}', 4, 0, seqGen());
    expect(l.from).toBe('');
    expect(l.origin).toBeNull();
  });

  it('carry their source from a legacy line (_source beside _tag)', () => {
    const [r] = parseLogLine(`[[1,{"_tag":"app","_source":${BARE}}],{"m":1}]`, 0, 0, seqGen());
    expect(r.tag).toBe('app');
    expect(r.from).toBe('127.0.0.1:41234');
  });

  it('filter by source: pod, instance, namespace/pod, wildcards, local, exclusion', () => {
    const st = new LogStore();
    const next = seqGen();
    st.append([
      ...parseLogLine(v1(WEB1, 'from web'), 0, 0, next),
      ...parseLogLine(v1(BARE, 'from bare'), 1, 0, next),
      ...parseLogLine('{"tag":"own","records":[[[1,{}],{"message":"mine"}]]}', 2, 0, next),
    ]);
    expect(st.hasOrigins).toBe(true);
    const shown = (q: string) => {
      st.setFilter(q, [], false);
      return st.visible.map((i) => st.records[i].msg);
    };
    expect(shown('source:web-1')).toEqual(['from web']);
    expect(shown('source:10.0.0.7:2025')).toEqual(['from web']);
    expect(shown('source:shop/web-1')).toEqual(['from web']);
    expect(shown('source:127.0.0.1:*')).toEqual(['from bare']);
    expect(shown('source:local')).toEqual(['mine']);
    expect(shown('-source:local')).toEqual(['from web', 'from bare']);
    expect(shown('_source:n1')).toEqual(['from web']);
    expect(shown('web-1')).toEqual(['from web']);
  });
});

describe('followed traces and metrics', () => {
  const span = (src: string, id: string, parent: string, name: string) =>
    `{"source":${src},"resourceSpans":[{"resource":{"attributes":{"service.name":"svc-${id}"}},"scope_spans":[{"scope":{},"spans":[` +
    `{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"${id}","parent_span_id":${parent ? `"${parent}"` : 'null'},` +
    `"name":"${name}","kind":2,"start_time_unix_nano":1700000000000000000,"end_time_unix_nano":1700000000100000000}]}]}]}`;

  it('joins the spans of one trace that arrived through different upstreams', () => {
    const ts = new TraceStore();
    ts.ingestLine(span(WEB1, 'aaaaaaaaaaaaaaaa', '', 'GET /cart'), 0);
    ts.ingestLine(span(BARE, 'bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa', 'SELECT'), 1);
    ts.ingestLine(span(BARE, 'bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa', 'SELECT'), 2); // the same span twice: kept once
    const t = ts.traces.get('5b8efff798038103d269b633813fc60c')!;
    expect(t.spans.size).toBe(2);
    expect(t.incomplete).toBe(false);
    expect(t.sources).toEqual(['127.0.0.1:41234', 'web-1']);
    const rows = flatten(buildTree(t.spans.values()), new Set());
    expect(rows.map((n) => [n.depth, n.span.name, n.span.from])).toEqual([[0, 'GET /cart', 'web-1'], [1, 'SELECT', '127.0.0.1:41234']]);
  });

  it('keeps the series of each upstream apart with a source label', () => {
    const ms = new MetricStore();
    const line = (src: string | null, v: number) =>
      `{${src ? `"source":${src},` : ''}"meta":{},"metrics":[{"meta":{"ver":2,"type":1,"opts":{"ns":"","ss":"","name":"up","desc":""},` +
      `"labels":[]},"values":[{"ts":1700000000000000000,"value":${v}}]}]}`;
    ms.ingestLine(line(WEB1, 1), 0);
    ms.ingestLine(line(BARE, 2), 1);
    ms.ingestLine(line(null, 3), 2);
    const fam = ms.families.get('up')!;
    expect([...fam.series.values()].map((s) => s.labels)).toEqual([[['source', 'web-1']], [['source', '127.0.0.1:41234']], []]);
  });
});
