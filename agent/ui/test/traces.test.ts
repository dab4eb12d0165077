// Unit tests for traces: parsing contexts, trees with orphans and parent loops, self time, grouping across chunks.
import { describe, expect, it } from 'vitest';
import otlpTraces from './fixtures/otlp-traces.ndjson?raw';
import { TraceStore, buildTree, flatten, normStatus, parseTraceLine, selfTime, type Span } from '../src/lib/traces';

function span(id: string, parent: string | null, start: number, end: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: 't1', spanId: id, parentId: parent, name: id, kind: 1, start: BigInt(start), end: BigInt(end),
    attrs: {}, events: [], links: [], status: { code: 0, message: '' }, service: 's', resource: null, scope: null,
    traceState: null, chunk: 0, ...extra,
  };
}

describe('buildTree', () => {
  it('nests children under parents ordered by start time', () => {
    const t = buildTree([span('c2', 'r', 50, 60), span('r', null, 0, 100), span('c1', 'r', 10, 40), span('g', 'c1', 20, 30)]);
    expect(t.roots.map((n) => n.span.spanId)).toEqual(['r']);
    expect(flatten(t, new Set()).map((n) => `${n.depth}:${n.span.spanId}`)).toEqual(['0:r', '1:c1', '2:g', '1:c2']);
    expect(flatten(t, new Set(['c1'])).map((n) => n.span.spanId)).toEqual(['r', 'c1', 'c2']);
  });

  it('shows orphans (parent missing) as roots marked orphan', () => {
    const t = buildTree([span('r', null, 0, 100), span('o', 'missing', 5, 10), span('oc', 'o', 6, 7)]);
    expect(t.roots.map((n) => [n.span.spanId, n.orphan])).toEqual([['r', false], ['o', true]]);
    expect(t.nodes.get('oc')!.depth).toBe(1);
  });

  it('cuts parent loops and flags them, keeping every span', () => {
    const t = buildTree([span('a', 'c', 0, 10), span('b', 'a', 1, 9), span('c', 'b', 2, 8), span('self', 'self', 3, 4)]);
    const rows = flatten(t, new Set());
    expect(rows).toHaveLength(4);
    const loops = rows.filter((n) => n.loop).map((n) => n.span.spanId).sort();
    expect(loops).toContain('self');
    expect(loops).toHaveLength(2);
    expect(t.roots).toHaveLength(2);
  });

  it('marks errors and, hollow, their ancestors', () => {
    const t = buildTree([span('r', null, 0, 100), span('c', 'r', 1, 50), span('g', 'c', 2, 3, { status: { code: 2, message: 'x' } })]);
    expect(t.nodes.get('g')!.error).toBe(true);
    expect(t.nodes.get('c')!.descendantError).toBe(true);
    expect(t.nodes.get('r')!.descendantError).toBe(true);
    expect(t.nodes.get('r')!.error).toBe(false);
  });

  it('self time excludes (merged, clipped) children', () => {
    const t = buildTree([span('r', null, 0, 100), span('a', 'r', 10, 40), span('b', 'r', 30, 50), span('z', 'r', 90, 130)]);
    expect(selfTime(t.nodes.get('r')!)).toBe(100n - 40n - 10n);
  });
});

describe('parsing and grouping', () => {
  it('reads a real traces context (captured from Fluent Bit 5.1.1)', () => {
    const line = otlpTraces.trim();
    const spans = parseTraceLine(line, 0)!;
    expect(spans).toHaveLength(3);
    expect(spans[0].start).toBe(1735689600000000000n);
    expect(spans[0].service).toBe('checkout');
    expect(spans[0].status.code).toBe(2);
    expect(spans[0].events[0].name).toBe('exception');
    const t = buildTree(spans);
    expect(flatten(t, new Set()).map((n) => n.span.name)).toEqual(['POST /checkout', 'charge-card', 'db.query']);
  });

  it('groups one trace across chunks, marks it incomplete until the root arrives', () => {
    const ctx = (spans: object[]) => JSON.stringify({ resourceSpans: [{ resource: { attributes: { 'service.name': 'svc' } }, scope_spans: [{ scope: {}, spans }] }] });
    const s = new TraceStore();
    s.ingestLine(ctx([{ trace_id: 'aa', span_id: '02', parent_span_id: '01', name: 'child', start_time_unix_nano: 5, end_time_unix_nano: 9 }]), 0);
    expect(s.traces.get('aa')!.incomplete).toBe(true);
    s.ingestLine(ctx([{ trace_id: 'aa', span_id: '01', parent_span_id: null, name: 'root', start_time_unix_nano: 1, end_time_unix_nano: 10, status: { code: 'STATUS_CODE_ERROR' } }]), 1);
    const t = s.traces.get('aa')!;
    expect(t.incomplete).toBe(false);
    expect(t.rootName).toBe('root');
    expect(t.spans.size).toBe(2);
    expect(t.errors).toBe(1);
    expect(t.end - t.start).toBe(9n);
    expect(s.ingestLine('garbage', 2)).toBe(0);
    expect(s.bad).toHaveLength(1);
  });

  it('normalises status codes in every form', () => {
    expect([2, '2', 'ERROR', 'STATUS_CODE_ERROR', 1, 'OK', 'STATUS_CODE_OK', 0, null].map(normStatus)).toEqual([2, 0, 2, 2, 1, 1, 1, 0, 0]);
  });
});

describe('formatting', () => {
  it('formats durations without eating the zeros of whole numbers', async () => {
    const { fmtDuration, niceStep } = await import('../src/lib/traces');
    expect(fmtDuration(120_000_000)).toBe('120ms');
    expect(fmtDuration(1_500_000_000n)).toBe('1.5s');
    expect(fmtDuration(10_000)).toBe('10µs');
    expect(fmtDuration(250)).toBe('250ns');
    expect(fmtDuration(12_340_000)).toBe('12.3ms');
    expect(niceStep(120_000_000, 6)).toBe(20_000_000);
  });
});
