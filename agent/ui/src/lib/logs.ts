// Log records: turning v1 chunk lines into rows (level, message, search text) and the filterable store.

import { compileFilter, lookup, type CompiledFilter, type FilterAdapter } from './filter';
import { isObject, nsToMs, parseJson, toJson, type Json, type JsonObject } from './json';
import { parseSource, sourceLabel, sourceValues, type Source } from './source';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | '';

export interface LogRecord {
  /** Arrival order on this page, unique; the store's key. */
  seq: number;
  /** Stream session (bumped when the agent restarted and IDs began again). */
  session: number;
  /** Chunk ID the record came in. */
  chunk: number;
  /** Index of the record inside its chunk. */
  idx: number;
  tag: string;
  /** The input that took the record in (source_name, e.g. "http.0") and its type. */
  source: string;
  sourceType: string;
  /** The agent it was followed from (the vivo input), or null when this agent took it in. */
  origin?: Source | null;
  /** The source column: the upstream's pod, or its instance; '' when local. */
  from?: string;
  /** Timestamp as sent (nanoseconds), exact. */
  ts: Json;
  /** Milliseconds since the epoch, NaN when unknown. */
  ms: number;
  meta: Json;
  body: Json;
  level: Level;
  msg: string;
  /** Chunk-level OTLP resource/scope when the agent sent them. */
  otlp?: Json;
  /** The raw text of a line or record that did not parse as expected. */
  raw?: string;
  error?: string;
  /** A marker row made by the UI itself (e.g. "restart"), not data. */
  note?: string;
  _text?: string;
  _lower?: string;
}

const LEVEL_KEYS = ['level', 'severity', 'lvl', 'log_level', 'loglevel', 'levelname', 'severity_text', 'severityText', '@l', 'priority'];
const MSG_KEYS = ['message', 'msg', 'log', 'MESSAGE', 'text', 'event', '@m', '@mt', 'body'];

/** Normalises a level word or number (OTLP severity, bunyan/pino, syslog-ish words). */
export function normLevel(v: unknown): Level {
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    if (n >= 1 && n <= 24) return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as Level[])[Math.floor((n - 1) / 4)];
    if (n >= 10 && n <= 60) return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as Level[])[Math.min(5, Math.floor(n / 10) - 1)];
    return '';
  }
  if (typeof v !== 'string') return '';
  const s = v.trim().toLowerCase();
  if (!s) return '';
  if (s.startsWith('trac') || s === 'verbose' || s === 'v') return 'trace';
  if (s.startsWith('deb') || s === 'd' || s === 'dbg') return 'debug';
  if (s.startsWith('inf') || s === 'i' || s === 'notice' || s === 'information') return 'info';
  if (s.startsWith('warn') || s === 'w') return 'warn';
  if (s.startsWith('err') || s === 'e' || s === 'fail' || s === 'failure') return 'error';
  if (s.startsWith('fat') || s.startsWith('crit') || s === 'emerg' || s === 'alert' || s === 'panic' || s === 'f') return 'fatal';
  return '';
}

const LEVEL_IN_TEXT = /\b(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|FATAL|CRIT(?:ICAL)?|PANIC)\b/;

/** Infers a level from the body's usual keys, OTLP metadata, or a level word early in the message. */
export function inferLevel(body: Json, meta: Json, msg: string): Level {
  if (isObject(body)) {
    for (const k of LEVEL_KEYS) {
      if (k in body) {
        const l = normLevel(body[k]);
        if (l) return l;
      }
    }
  }
  if (isObject(meta) && isObject(meta.otlp)) {
    const o = meta.otlp;
    const l = normLevel(o.severity_text) || normLevel(o.severity_number);
    if (l) return l;
  }
  const m = LEVEL_IN_TEXT.exec(msg.slice(0, 80));
  return m ? normLevel(m[1]) : '';
}

/** The message to emphasise: the usual message keys, else the body as compact JSON. */
export function messageOf(body: Json): string {
  if (typeof body === 'string') return body;
  if (isObject(body)) {
    for (const k of MSG_KEYS) {
      const v = body[k];
      if (typeof v === 'string') return v;
    }
  }
  return toJson(body);
}

/** Key of the message field, so the row can dim the others. */
export function messageKey(body: Json): string | null {
  if (isObject(body)) {
    for (const k of MSG_KEYS) if (typeof body[k] === 'string') return k;
  }
  return null;
}

function tsToMs(ts: Json): number {
  if (typeof ts === 'bigint') return nsToMs(ts);
  if (typeof ts === 'number') {
    const a = Math.abs(ts);
    // Guess the unit from magnitude: seconds, ms, µs or ns since the epoch.
    if (a < 1e11) return ts * 1000;
    if (a < 1e14) return ts;
    if (a < 1e17) return ts / 1000;
    return ts / 1e6;
  }
  if (typeof ts === 'string') {
    const d = Date.parse(ts);
    return Number.isNaN(d) ? NaN : d;
  }
  if (isObject(ts) && 'event_time' in ts && Array.isArray(ts.event_time)) {
    const [s, n] = ts.event_time as number[];
    return s * 1000 + n / 1e6;
  }
  return NaN;
}

interface ChunkCtx {
  session: number;
  chunk: number;
  tag: string;
  source: string;
  sourceType: string;
  origin?: Source | null;
  otlp?: Json;
}

function makeRecord(ctx: ChunkCtx, idx: number, seq: number, r: Json): LogRecord {
  const base = {
    seq,
    session: ctx.session,
    chunk: ctx.chunk,
    idx,
    tag: ctx.tag,
    source: ctx.source,
    sourceType: ctx.sourceType,
    origin: ctx.origin ?? null,
    from: sourceLabel(ctx.origin ?? null),
    otlp: ctx.otlp,
  };
  // [[ts, meta], body] (Fluent Bit v2 events) or [ts, body] (v1 events).
  if (Array.isArray(r) && r.length >= 2) {
    let ts: Json = null;
    let meta: Json = {};
    if (Array.isArray(r[0])) {
      ts = r[0][0] ?? null;
      meta = r[0].length > 1 ? r[0][1] : {};
    } else if (typeof r[0] === 'number' || typeof r[0] === 'bigint' || isObject(r[0])) {
      ts = r[0];
    } else {
      return unparsable(base, toJson(r), 'record is not [[time, metadata], body]');
    }
    const body = r[1];
    const msg = messageOf(body);
    let tag = base.tag;
    if (!tag && isObject(meta) && typeof meta._tag === 'string') tag = meta._tag;
    // A legacy /logs line says where a followed record came from in its metadata.
    let { origin, from } = base;
    if (!origin && isObject(meta) && meta._source !== undefined) {
      origin = parseSource(meta._source);
      from = sourceLabel(origin);
    }
    return { ...base, tag, origin, from, ts, ms: tsToMs(ts), meta, body, msg, level: inferLevel(body, meta, msg) };
  }
  return unparsable(base, toJson(r), 'record is not [[time, metadata], body]');
}

function unparsable(base: Omit<LogRecord, 'ts' | 'ms' | 'meta' | 'body' | 'level' | 'msg'>, raw: string, error: string): LogRecord {
  return { ...base, ts: null, ms: NaN, meta: null, body: null, level: '', msg: raw, raw, error };
}

/**
 * Turns one line of /api/v1/logs (one chunk) into records. Never throws: a line that is not
 * JSON, or a record of the wrong shape, becomes an "unparsable" record holding the raw text.
 * Also accepts legacy /logs lines (one record per line).
 */
export function parseLogLine(line: string, chunk: number, session: number, nextSeq: () => number): LogRecord[] {
  const p = parseJson(line);
  const ctx: ChunkCtx = { session, chunk, tag: '', source: '', sourceType: '' };
  if (!p.ok) {
    return [unparsable({ seq: nextSeq(), session, chunk, idx: 0, tag: '', source: '', sourceType: '' }, line, p.error)];
  }
  const v = p.value;
  if (isObject(v) && Array.isArray(v.records)) {
    ctx.tag = typeof v.tag === 'string' ? v.tag : '';
    ctx.source = typeof v.source_name === 'string' ? v.source_name : '';
    ctx.sourceType = typeof v.source_type === 'string' ? v.source_type : '';
    if (v.otlp !== undefined) ctx.otlp = v.otlp;
    ctx.origin = parseSource(v.source);
    return v.records.map((r, i) => makeRecord(ctx, i, nextSeq(), r));
  }
  if (Array.isArray(v)) return [makeRecord(ctx, 0, nextSeq(), v)];
  return [unparsable({ ...ctx, seq: nextSeq(), idx: 0 }, line, 'line is not a chunk object')];
}

function flatText(v: Json, out: string[], prefix: string): void {
  if (isObject(v)) {
    for (const k in v) flatText(v[k], out, prefix ? `${prefix}.${k}` : k);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) flatText(v[i], out, prefix);
  } else {
    const s = typeof v === 'string' ? v : String(v);
    out.push(prefix ? `${prefix}=${s}` : s);
  }
}

/** Searchable text of a record: tag, source, then body and metadata as key=value words (raw, unescaped). */
export function recordText(r: LogRecord): string {
  if (r._text === undefined) {
    if (r.raw !== undefined) r._text = `${r.tag} ${r.raw}`;
    else {
      const parts: string[] = [r.tag];
      if (r.from) parts.push(r.from);
      flatText(r.body, parts, '');
      if (r.meta && (!isObject(r.meta) || Object.keys(r.meta).length)) flatText(r.meta, parts, '');
      r._text = parts.join(' ');
    }
  }
  return r._text;
}

function recordLower(r: LogRecord): string {
  if (r._lower === undefined) r._lower = recordText(r).toLowerCase();
  return r._lower;
}

const SPECIAL: Record<string, ((r: LogRecord) => unknown) | undefined> = Object.assign(Object.create(null), {
  _tag: (r: LogRecord) => r.tag,
  tag: (r: LogRecord) => r.tag,
  _input: (r: LogRecord) => r.source,
  _level: (r: LogRecord) => r.level,
  _chunk: (r: LogRecord) => r.chunk,
});

/** Field lookup for key:value terms: special keys, then body, then metadata (also as `meta.x`). */
export function recordField(r: LogRecord, key: string, test: (v: unknown) => boolean): boolean {
  // source: the agent a record was followed from (pod, instance, namespace/pod, node), or "local".
  if (key === 'source' || key === '_source') return sourceValues(r.origin ?? null).some(test);
  const sp = SPECIAL[key];
  if (sp) return test(sp(r));
  const b = r.body;
  // Fast path: a plain key of an object body.
  const direct = isObject(b) && Object.prototype.hasOwnProperty.call(b, key) ? b[key] : undefined;
  const bv = direct !== undefined ? direct : lookup(b, key);
  if (bv !== undefined && test(bv)) return true;
  const meta = r.meta;
  if (isObject(meta)) {
    const mv = key.startsWith('meta.') ? lookup(meta, key.slice(5)) : lookup(meta, key);
    if (mv !== undefined && test(mv)) return true;
    if (mv !== undefined || bv !== undefined) return false;
  } else if (bv !== undefined) return false;
  // "level" also finds the inferred level when no field says it.
  return key === 'level' && r.level !== '' && test(r.level);
}

/** Values under a key, for display (detail panel, tests). */
export function recordFieldValues(r: LogRecord, key: string): unknown[] {
  const out: unknown[] = [];
  recordField(r, key, (v) => {
    out.push(v);
    return false;
  });
  return out;
}

export const logAdapter: FilterAdapter<LogRecord> = { text: recordText, lower: recordLower, field: recordField };

export function compileLogFilter(query: string, chips: string[] = []): CompiledFilter<LogRecord> {
  return compileFilter(query, logAdapter, chips);
}

/** One record as the NDJSON line used for downloads: the legacy shape plus chunk facts. */
export function recordNdjson(r: LogRecord): string {
  if (r.raw !== undefined) return toJson({ unparsable: r.raw, chunk: r.chunk });
  const meta: JsonObject = isObject(r.meta) ? { _tag: r.tag, ...r.meta } : { _tag: r.tag };
  return toJson([[r.ts, meta], r.body]);
}

/**
 * The client-side list of log records: appends, a cap on how many are kept, the clear mark,
 * and the indices that pass the current filter (kept up to date incrementally on append).
 */
export class LogStore {
  records: LogRecord[] = [];
  /** Indices into `records` of the rows shown (all of them when the filter is empty). */
  visible: number[] = [];
  filter: CompiledFilter<LogRecord> = compileLogFilter('');
  /** When true the filter only highlights; every record stays visible. */
  highlightOnly = false;
  /** Records dropped at the front because of the cap, over the store's life. */
  dropped = 0;
  /** Some record was followed from another agent (the source column is shown). */
  hasOrigins = false;
  private seq = 0;
  private notes = 0;

  constructor(public readonly cap = 250_000) {}

  nextSeq = (): number => this.seq++;

  /** Appends records; returns how many of them are visible under the current filter. */
  append(recs: LogRecord[]): number {
    if (!recs.length) return 0;
    const start = this.records.length;
    for (const r of recs) {
      this.records.push(r);
      if (r.note) this.notes++;
      if (r.origin) this.hasOrigins = true;
    }
    let shown = 0;
    const filtering = !this.filter.empty && !this.highlightOnly;
    for (let i = start; i < this.records.length; i++) {
      if (!filtering || this.filter.test(this.records[i])) {
        this.visible.push(i);
        shown++;
      }
    }
    if (this.records.length > this.cap) this.trim(this.records.length - this.cap);
    return shown;
  }

  private trim(n: number): void {
    for (let i = 0; i < n; i++) if (this.records[i].note) this.notes--;
    this.records.splice(0, n);
    this.dropped += n;
    let k = 0;
    while (k < this.visible.length && this.visible[k] < n) k++;
    this.visible = this.visible.slice(k);
    for (let i = 0; i < this.visible.length; i++) this.visible[i] -= n;
  }

  setFilter(query: string, chips: string[], highlightOnly: boolean): void {
    this.filter = compileLogFilter(query, chips);
    this.highlightOnly = highlightOnly;
    this.refilter();
  }

  refilter(): void {
    const out: number[] = [];
    const recs = this.records;
    if (this.filter.empty || this.highlightOnly) {
      for (let i = 0; i < recs.length; i++) out.push(i);
    } else {
      const test = this.filter.test;
      for (let i = 0; i < recs.length; i++) if (test(recs[i])) out.push(i);
    }
    this.visible = out;
  }

  /** Client-side clear: forget everything received so far. */
  clear(): void {
    this.records = [];
    this.visible = [];
    this.notes = 0;
    this.hasOrigins = false;
  }

  /** Records held, not counting the UI's own marker rows. */
  realCount(): number {
    return this.records.length - this.notes;
  }

  /** Position in `visible` of the record with this seq, or -1. */
  visibleIndexOfSeq(seq: number): number {
    const idx = this.indexOfSeq(seq);
    if (idx < 0) return -1;
    return lowerBound(this.visible, idx, true);
  }

  /** Index in `records` of the record with this seq (seqs ascend), or -1. */
  indexOfSeq(seq: number): number {
    const recs = this.records;
    let lo = 0;
    let hi = recs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = recs[mid].seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Positions in `visible` whose record matches the highlight terms (for n/N). */
  matchPositions(): number[] {
    if (this.filter.empty) return [];
    const out: number[] = [];
    for (let i = 0; i < this.visible.length; i++) {
      if (this.filter.test(this.records[this.visible[i]])) out.push(i);
    }
    return out;
  }

  /** Count of records that pass the filter (the match count). */
  matchCount(): number {
    if (this.filter.empty) return this.records.length;
    if (!this.highlightOnly) return this.visible.length;
    let n = 0;
    for (const r of this.records) if (this.filter.test(r)) n++;
    return n;
  }
}

/** Binary search in an ascending array: the position of `x` (exact) or -1; or the insertion point. */
export function lowerBound(arr: number[], x: number, exact = false): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (exact) return lo < arr.length && arr[lo] === x ? lo : -1;
  return lo;
}
