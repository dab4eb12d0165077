// Unit tests for metrics: reset-aware counter rate, Prometheus histogram_quantile worked examples, cmetrics ingest.
import { describe, expect, it } from 'vitest';
import fluentbitMetrics from './fixtures/fluentbit-metrics.ndjson?raw';
import otlpMetrics from './fixtures/otlp-metrics.ndjson?raw';
import promRwMetrics from './fixtures/prom-rw-metrics.ndjson?raw';
import { MetricStore, counterRate, histogramQuantile, intervalQuantile, toCumulative } from '../src/lib/metrics';

describe('counterRate', () => {
  it('is the per-second increase between points', () => {
    expect(counterRate([{ t: 0, v: 10 }, { t: 2000, v: 30 }, { t: 3000, v: 35 }])).toEqual([
      { t: 2000, v: 10 },
      { t: 3000, v: 5 },
    ]);
  });
  it('treats a drop as a reset to zero (the new value is the increase)', () => {
    expect(counterRate([{ t: 0, v: 100 }, { t: 1000, v: 110 }, { t: 2000, v: 4 }, { t: 4000, v: 10 }])).toEqual([
      { t: 1000, v: 10 },
      { t: 2000, v: 4 },
      { t: 4000, v: 3 },
    ]);
  });
  it('needs two points and skips pairs without elapsed time', () => {
    expect(counterRate([{ t: 0, v: 1 }])).toEqual([]);
    expect(counterRate([{ t: 0, v: 1 }, { t: 0, v: 2 }])).toEqual([]);
  });
});

// Worked examples from Prometheus' promql/testdata/histograms.test ("testhistogram_bucket"
// at 50m: le 0.1/0.2/1/+Inf = 50/70/110/120 (start="positive"), le -0.2/-0.1/0.3/+Inf =
// 10/20/20/30 (start="negative")).
describe('histogramQuantile (Prometheus rules)', () => {
  const pos = { b: [0.1, 0.2, 1], c: [50, 70, 110, 120] };
  const neg = { b: [-0.2, -0.1, 0.3], c: [10, 20, 20, 30] };
  const q = (x: number, h: { b: number[]; c: number[] }) => histogramQuantile(x, h.b, h.c);
  it('quantile out of range', () => {
    expect(q(-0.1, pos)).toBe(-Infinity);
    expect(q(1.01, pos)).toBe(Infinity);
    expect(q(NaN, pos)).toBeNaN();
  });
  it('lowest bucket positive starts at 0, negative returns its bound', () => {
    expect(q(0, pos)).toBe(0);
    expect(q(0, neg)).toBe(-0.2);
  });
  it('highest bucket returns the highest finite bound', () => {
    expect(q(1, pos)).toBe(1);
    expect(q(1, neg)).toBe(0.3);
  });
  it('interpolates linearly inside the bucket', () => {
    expect(q(0.2, pos)).toBeCloseTo(0.048, 12);
    expect(q(0.2, neg)).toBeCloseTo(-0.2, 12);
    expect(q(0.5, pos)).toBeCloseTo(0.15, 12);
    expect(q(0.5, neg)).toBeCloseTo(-0.15, 12);
    expect(q(0.8, pos)).toBeCloseTo(0.72, 12);
    expect(q(0.8, neg)).toBeCloseTo(0.3, 12);
  });
  it('NaN without +Inf bucket, with fewer than two buckets, or without observations', () => {
    expect(histogramQuantile(0.5, [1, 2], [1, 2])).toBeNaN();
    expect(histogramQuantile(0.5, [], [5])).toBeNaN();
    expect(histogramQuantile(0.5, [1, 2], [0, 0, 0])).toBeNaN();
  });
  it('repairs non-monotonic buckets as Prometheus does', () => {
    // 0.1:10 0.2:8(->10) 1:20 +Inf:20; rank 15 falls in (0.2,1]: 0.2 + 0.8*(5/10)
    expect(histogramQuantile(0.75, [0.1, 0.2, 1], [10, 8, 20, 20])).toBeCloseTo(0.6, 12);
  });
  it('quantile of an interval uses the bucket increases', () => {
    const a = { t: 0, cum: [1, 1, 1, 1], sum: 0, count: 1 };
    const b = { t: 1, cum: [1, 1, 11, 11], sum: 0, count: 11 };
    expect(intervalQuantile(0.5, [0.1, 0.2, 1], a, b)).toBeCloseTo(0.6, 12);
    expect(intervalQuantile(0.5, [0.1, 0.2, 1], b, b)).toBeNaN();
  });
});

describe('cmetrics ingest', () => {
  it('drops units that say nothing on an axis', async () => {
    const { displayUnit } = await import('../src/lib/metrics');
    expect(displayUnit('1')).toBe('');
    expect(displayUnit('{requests}')).toBe('');
    expect(displayUnit('ms')).toBe('ms');
    expect(displayUnit('By')).toBe('By');
  });
  it('cumulates per-bucket counts (OTLP) and keeps cumulative ones (Fluent Bit)', () => {
    expect(toCumulative([1, 2, 2, 1], 6)).toEqual([1, 3, 5, 6]);
    expect(toCumulative([0, 0, 1, 1, 1], 1)).toEqual([0, 0, 1, 1, 1]);
  });
  it('reads Fluent Bit self-metrics captured from a real Fluent Bit 5.1.1', () => {
    const s = new MetricStore();
    const lines = fluentbitMetrics.trim().split('\n');
    lines.forEach((l: string, i: number) => s.ingestLine(l, i));
    expect(s.bad).toEqual([]);
    const uptime = s.families.get('fluentbit_uptime')!;
    expect(uptime.type).toBe(0);
    expect(uptime.series.size).toBe(1);
    expect([...uptime.series.values()][0].labels).toEqual([['hostname', 'vm']]);
    expect([...uptime.series.values()][0].points.length).toBe(3);
    const logs = s.families.get('fluentbit_logger_logs_total')!;
    expect(logs.series.size).toBe(5);
    const hist = [...s.families.values()].find((f) => f.type === 2)!;
    expect(hist.bounds.length).toBeGreaterThan(0);
  });
  it('reads OTLP-fed metrics: sum, gauge and a per-bucket histogram', () => {
    const s = new MetricStore();
    s.ingestLine(otlpMetrics.trim(), 0);
    const h = s.families.get('http.server.duration')!;
    expect(h.bounds).toEqual([10, 50, 100]);
    const hp = [...h.series.values()][0].hist[0];
    expect(hp.cum).toEqual([1, 3, 5, 6]);
    // rank 3 of 6 falls in (10,50] holding 2 after 1: 10 + 40*(2/2)
    expect(histogramQuantile(0.5, h.bounds, hp.cum)).toBe(50);
    expect(s.families.get('http.server.requests')!.series.size).toBe(2);
  });
  it('ingests what the prometheus_remote_write input serves (two requests)', () => {
    const s = new MetricStore();
    promRwMetrics.trim().split('\n').forEach((l: string, i: number) => s.ingestLine(l, i));
    expect(s.bad).toEqual([]);
    const req = s.families.get('http_requests_total')!;
    expect(req.type).toBe(0);
    expect(req.desc).toBe('Requests served');
    expect(req.labelKeys).toEqual(['method', 'instance', 'code']);
    expect(req.series.size).toBe(30);
    const web0 = [...req.series.values()][0];
    expect(web0.labels).toEqual([['method', 'GET'], ['instance', 'web-0'], ['code', '500']]);
    expect(web0.points.length).toBe(6); // 3 samples 15 s apart per request, the second request 45 s later
    const rss = s.families.get('process_resident_memory_bytes')!;
    expect(rss.type).toBe(1);
    expect(rss.unit).toBe('bytes');
    expect(s.families.get('rpc_duration_seconds_bucket')!.external).toBeDefined();
    const lat = s.families.get('request_latency_seconds')!;
    expect(lat.type).toBe(5);
    expect([...lat.series.values()][0].points.map((p) => p.v)).toEqual([6, 7]);
  });
  it('records an unparsable line without stopping', () => {
    const s = new MetricStore();
    expect(s.ingestLine('nope', 4)).toBe(0);
    expect(s.bad[0].chunk).toBe(4);
  });
});
