// Metrics: cmetrics JSON contexts folded into families and series, reset-aware rates, Prometheus-style quantiles.

import { isObject, nsToMs, parseJson, toNumber, type Json, type JsonObject } from './json';
import { parseSource, sourceLabel } from './source';

export const TYPE_NAMES = ['counter', 'gauge', 'histogram', 'summary', 'untyped', 'exp-histogram'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

export interface Point {
  /** milliseconds since the epoch */
  t: number;
  v: number;
}
export interface HistPoint {
  t: number;
  /** cumulative counts, one per bound plus +Inf */
  cum: number[];
  sum: number;
  count: number;
}
export interface SummaryPoint {
  t: number;
  q: number[];
  sum: number;
  count: number;
}

export interface Series {
  key: string;
  labels: [string, string][];
  points: Point[];
  hist: HistPoint[];
  summary: SummaryPoint[];
  /** The last value exactly as sent, when it was an integer too big for a double. */
  exact?: string;
}

export interface Family {
  name: string;
  type: number;
  desc: string;
  unit: string;
  labelKeys: string[];
  bounds: number[];
  quantiles: number[];
  series: Map<string, Series>;
  /** ms of the newest sample */
  updated: number;
  /** resource/scope and other producer details from the context's meta */
  external?: Json;
}

export function typeName(t: number): TypeName {
  return TYPE_NAMES[t] ?? 'untyped';
}

/**
 * Per-second rate of a counter between consecutive points, reset-aware the way Prometheus'
 * rate() is: a drop means the counter restarted from zero, so the increase is the new value.
 * Points must be in time order; pairs with no time between them are skipped.
 */
export function counterRate(points: Point[]): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const dt = (b.t - a.t) / 1000;
    if (!(dt > 0) || !Number.isFinite(a.v) || !Number.isFinite(b.v)) continue;
    const inc = b.v >= a.v ? b.v - a.v : b.v;
    out.push({ t: b.t, v: inc / dt });
  }
  return out;
}

/**
 * Estimates the q-quantile from cumulative bucket counts exactly as Prometheus'
 * histogram_quantile does (linear interpolation within the bucket; the lowest bucket starts
 * at 0 unless its bound is <= 0; a rank in the +Inf bucket gives the highest finite bound).
 * `bounds` are the upper bounds, ascending, and `cum` has one more entry, the +Inf bucket.
 */
export function histogramQuantile(q: number, bounds: number[], cum: number[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const buckets: { ub: number; c: number }[] = bounds.map((ub, i) => ({ ub, c: cum[i] ?? 0 }));
  if (cum.length > bounds.length) buckets.push({ ub: Infinity, c: cum[bounds.length] });
  buckets.sort((x, y) => x.ub - y.ub);
  if (buckets.length < 2 || buckets[buckets.length - 1].ub !== Infinity) return NaN;
  // Counts must not decrease (they can, slightly, through float error or a racy scrape).
  let max = -Infinity;
  for (const b of buckets) {
    if (b.c < max) b.c = max;
    else max = b.c;
  }
  const observations = buckets[buckets.length - 1].c;
  if (!(observations > 0)) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && buckets[b].c < rank) b++;
  if (b === buckets.length - 1) return buckets[buckets.length - 2].ub;
  if (b === 0 && buckets[0].ub <= 0) return buckets[0].ub;
  let start = 0;
  const end = buckets[b].ub;
  let count = buckets[b].c;
  if (b > 0) {
    start = buckets[b - 1].ub;
    count -= buckets[b - 1].c;
    rank -= buckets[b - 1].c;
  }
  return start + (end - start) * (rank / count);
}

/**
 * cmetrics sends histogram buckets cumulative (Fluent Bit's own) or per bucket (as OTLP
 * posted them). Returns cumulative counts either way, judging by monotonicity and `count`.
 */
export function toCumulative(buckets: number[], count: number): number[] {
  let monotonic = true;
  let sum = 0;
  for (let i = 0; i < buckets.length; i++) {
    sum += buckets[i];
    if (i > 0 && buckets[i] < buckets[i - 1]) monotonic = false;
  }
  const last = buckets[buckets.length - 1];
  if (monotonic && (last === count || !(sum === count))) return buckets.slice();
  const out: number[] = [];
  let acc = 0;
  for (const b of buckets) out.push((acc += b));
  return out;
}

/** Per-bucket counts from cumulative ones. */
export function perBucket(cum: number[]): number[] {
  return cum.map((c, i) => (i === 0 ? c : Math.max(0, c - cum[i - 1])));
}

/** Quantile of the observations made between two snapshots (reset-aware); the later one alone if there is no earlier. */
export function intervalQuantile(q: number, bounds: number[], prev: HistPoint | undefined, cur: HistPoint): number {
  if (prev && cur.count >= prev.count) {
    const d = cur.cum.map((c, i) => c - (prev.cum[i] ?? 0));
    if ((d[d.length - 1] ?? 0) > 0) return histogramQuantile(q, bounds, d);
    return NaN;
  }
  return histogramQuantile(q, bounds, cur.cum);
}

const MAX_POINTS = 720;

function insertByTime<T extends { t: number }>(arr: T[], p: T): void {
  const n = arr.length;
  if (n === 0 || arr[n - 1].t < p.t) arr.push(p);
  else if (arr[n - 1].t === p.t) arr[n - 1] = p;
  else {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (arr[mid].t < p.t) lo = mid + 1;
      else hi = mid;
    }
    if (arr[lo]?.t === p.t) arr[lo] = p;
    else arr.splice(lo, 0, p);
  }
  if (arr.length > MAX_POINTS) arr.splice(0, arr.length - MAX_POINTS);
}

/** A unit worth showing: UCUM's dimensionless "1" and {annotations} say nothing on an axis. */
export function displayUnit(u: string): string {
  const t = u.replace(/\{[^}]*\}/g, '').trim();
  return t === '1' ? '' : t;
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function nums(v: Json | undefined): number[] {
  return Array.isArray(v) ? v.map(toNumber) : [];
}

/** Full metric name as Prometheus would write it: namespace_subsystem_name. */
export function fullName(opts: JsonObject): string {
  return [str(opts.ns), str(opts.ss), str(opts.name)].filter(Boolean).join('_');
}

/** All metric families seen so far, updated one cmetrics context (one line) at a time. */
export class MetricStore {
  families = new Map<string, Family>();
  /** Lines that did not parse, newest last (kept short). */
  bad: { chunk: number; raw: string; error: string }[] = [];

  /** Adds one line of /api/v1/metrics; returns the number of samples taken. */
  ingestLine(line: string, chunk: number): number {
    const p = parseJson(line);
    if (!p.ok || !isObject(p.value) || !Array.isArray(p.value.metrics)) {
      this.bad.push({ chunk, raw: line.slice(0, 2000), error: p.ok ? 'not a metrics context' : p.error });
      if (this.bad.length > 50) this.bad.shift();
      return 0;
    }
    const ctxMeta = isObject(p.value.meta) ? p.value.meta : {};
    // Followed from another agent: its series stay apart from this agent's (a source label).
    const from = sourceLabel(parseSource(p.value.source));
    let n = 0;
    for (const m of p.value.metrics) {
      if (!isObject(m) || !isObject(m.meta)) continue;
      n += this.ingestMetric(m, ctxMeta, from);
    }
    return n;
  }

  private ingestMetric(m: JsonObject, ctxMeta: JsonObject, from: string): number {
    const meta = m.meta as JsonObject;
    const opts = isObject(meta.opts) ? meta.opts : {};
    const name = fullName(opts) || '(unnamed)';
    const type = typeof meta.type === 'number' ? meta.type : 4;
    let fam = this.families.get(name);
    if (!fam) {
      fam = {
        name,
        type,
        desc: str(opts.desc),
        unit: displayUnit(str(opts.unit)),
        labelKeys: Array.isArray(meta.labels) ? meta.labels.map(str) : [],
        bounds: nums(meta.buckets),
        quantiles: nums(meta.quantiles),
        series: new Map(),
        updated: 0,
      };
      this.families.set(name, fam);
    } else {
      fam.type = type;
      if (Array.isArray(meta.labels)) fam.labelKeys = meta.labels.map(str);
      if (Array.isArray(meta.buckets)) fam.bounds = nums(meta.buckets);
      if (Array.isArray(meta.quantiles)) fam.quantiles = nums(meta.quantiles);
      if (opts.desc) fam.desc = str(opts.desc);
    }
    const ext = ctxMeta.external;
    if (isObject(ext) && Object.keys(ext).length) fam.external = ext;
    const static_ = isObject(ctxMeta.processing) && Array.isArray(ctxMeta.processing.static_labels) ? ctxMeta.processing.static_labels : [];
    const values = Array.isArray(m.values) ? m.values : [];
    let n = 0;
    for (const v of values) {
      if (!isObject(v)) continue;
      const lv = Array.isArray(v.labels) ? v.labels.map(str) : [];
      const labels: [string, string][] = lv.map((x, i) => [fam!.labelKeys[i] ?? `label${i}`, x]);
      for (const s of static_) {
        if (Array.isArray(s) && s.length >= 2) labels.push([str(s[0]), str(s[1])]);
      }
      if (from) labels.push(['source', from]);
      const key = labels.map(([k, x]) => `${k}=${x}`).join('\u0001');
      let ser = fam.series.get(key);
      if (!ser) {
        ser = { key, labels, points: [], hist: [], summary: [] };
        fam.series.set(key, ser);
      }
      const t = nsToMs(v.ts);
      if (t > fam.updated) fam.updated = t;
      if (isObject(v.histogram)) {
        const h = v.histogram;
        const count = toNumber(h.count);
        const cum = toCumulative(nums(h.buckets), count);
        insertByTime(ser.hist, { t, cum, sum: toNumber(h.sum), count });
        insertByTime(ser.points, { t, v: count });
      } else if (isObject(v.exp_histogram)) {
        // Exponential (OTLP) and native (Prometheus remote write) histograms: charted by their count.
        insertByTime(ser.points, { t, v: toNumber(v.exp_histogram.count) });
      } else if (isObject(v.summary)) {
        const s = v.summary;
        insertByTime(ser.summary, { t, q: nums(s.quantiles), sum: toNumber(s.sum), count: toNumber(s.count) });
        insertByTime(ser.points, { t, v: toNumber(s.count) });
      } else {
        const exactInt = v.value_int64 ?? v.value_uint64;
        const val = toNumber(exactInt ?? v.value);
        ser.exact = typeof exactInt === 'bigint' ? exactInt.toString() : undefined;
        insertByTime(ser.points, { t, v: val });
      }
      n++;
    }
    return n;
  }

  clear(): void {
    this.families.clear();
    this.bad = [];
  }
}

/** Min, max and last of a list of values (NaNs ignored). */
export function stats(values: number[]): { min: number; max: number; last: number } {
  let min = Infinity;
  let max = -Infinity;
  let last = NaN;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    last = v;
  }
  return { min, max, last };
}
