// Traces: spans from traces contexts grouped by trace_id across chunks, and span trees with orphans and loops.

import { isObject, nsToMs, parseJson, toBigInt, type Json, type JsonObject } from './json';
import { parseSource, sourceLabel } from './source';

export interface SpanEvent {
  time: bigint;
  name: string;
  attrs: Json;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentId: string | null;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attrs: Json;
  events: SpanEvent[];
  links: Json[];
  status: { code: number; message: string };
  service: string;
  resource: Json;
  scope: Json;
  traceState: Json;
  chunk: number;
  /** The agent the span was followed from (pod, or instance); '' or absent when local. */
  from?: string;
}

export const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS_NAMES = ['unset', 'ok', 'error'];

/** Span kind as a number; accepts 0..5 and names such as "SPAN_KIND_SERVER" or "server". */
export function normKind(v: unknown): number {
  if (typeof v === 'number') return v >= 0 && v <= 5 ? v : 0;
  if (typeof v === 'string') {
    const i = KIND_NAMES.indexOf(v.toLowerCase().replace(/^span_kind_/, ''));
    return i < 0 ? 0 : i;
  }
  return 0;
}

/** Status code as a number: 0 unset, 1 ok, 2 error; accepts numbers and names ("STATUS_CODE_ERROR", "ERROR"). */
export function normStatus(v: unknown): number {
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    return n === 1 || n === 2 ? n : 0;
  }
  if (typeof v === 'string') {
    const s = v.toUpperCase();
    if (s.includes('ERROR')) return 2;
    if (s.endsWith('OK')) return 1;
  }
  return 0;
}

function idOf(v: Json | undefined): string | null {
  if (typeof v !== 'string' || v === '' || /^0+$/.test(v)) return null;
  return v.toLowerCase();
}

/** OTLP-JSON attribute lists ([{key, value:{stringValue}}]) become plain maps; maps pass through. */
export function attrMap(v: Json | undefined): Json {
  if (!Array.isArray(v)) return v ?? null;
  const out: JsonObject = {};
  for (const a of v) {
    if (isObject(a) && typeof a.key === 'string') out[a.key] = anyValue(a.value);
  }
  return out;
}

function anyValue(v: Json | undefined): Json {
  if (!isObject(v)) return v ?? null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return typeof v.intValue === 'string' ? toBigIntOrNum(v.intValue) : v.intValue;
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v && isObject(v.arrayValue)) return Array.isArray(v.arrayValue.values) ? v.arrayValue.values.map(anyValue) : [];
  if ('kvlistValue' in v && isObject(v.kvlistValue)) return attrMap(v.kvlistValue.values);
  return v;
}

function toBigIntOrNum(s: string): Json {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : /^-?\d+$/.test(s) ? BigInt(s) : s;
}

/**
 * Reads one traces context (one line of /api/v1/traces) into spans. Accepts the snake_case
 * shape the agent writes and OTLP-JSON's camelCase. Throws nothing; returns null for a line
 * that is not a traces context.
 */
export function parseTraceLine(line: string, chunk: number): Span[] | null {
  const p = parseJson(line);
  if (!p.ok || !isObject(p.value)) return null;
  const rs = p.value.resourceSpans ?? p.value.resource_spans;
  if (!Array.isArray(rs)) return null;
  const from = sourceLabel(parseSource(p.value.source));
  const out: Span[] = [];
  for (const r of rs) {
    if (!isObject(r)) continue;
    const resource = isObject(r.resource) ? { ...r.resource, attributes: attrMap(r.resource.attributes) } : null;
    const rattrs = resource && isObject(resource.attributes) ? resource.attributes : {};
    const service = typeof rattrs['service.name'] === 'string' ? rattrs['service.name'] : '';
    const sss = r.scope_spans ?? r.scopeSpans;
    if (!Array.isArray(sss)) continue;
    for (const ss of sss) {
      if (!isObject(ss) || !Array.isArray(ss.spans)) continue;
      const scope = isObject(ss.scope) ? { ...ss.scope, attributes: attrMap(ss.scope.attributes) } : null;
      for (const s of ss.spans) {
        if (!isObject(s)) continue;
        const traceId = idOf(s.trace_id ?? s.traceId);
        const spanId = idOf(s.span_id ?? s.spanId);
        if (!traceId || !spanId) continue;
        const start = toBigInt(s.start_time_unix_nano ?? s.startTimeUnixNano);
        let end = toBigInt(s.end_time_unix_nano ?? s.endTimeUnixNano);
        if (end < start) end = start;
        const st = isObject(s.status) ? s.status : {};
        out.push({
          traceId,
          spanId,
          parentId: idOf(s.parent_span_id ?? s.parentSpanId),
          name: typeof s.name === 'string' ? s.name : '(no name)',
          kind: normKind(s.kind),
          start,
          end,
          attrs: attrMap(s.attributes),
          events: (Array.isArray(s.events) ? s.events : []).filter(isObject).map((e) => ({
            time: toBigInt(e.time_unix_nano ?? e.timeUnixNano),
            name: typeof e.name === 'string' ? e.name : '',
            attrs: attrMap(e.attributes),
          })),
          links: (Array.isArray(s.links) ? s.links : []).map((l) =>
            isObject(l) ? { ...l, attributes: attrMap(l.attributes) } : l,
          ),
          status: { code: normStatus(st.code), message: typeof st.message === 'string' ? st.message : '' },
          service,
          resource,
          scope,
          traceState: s.trace_state ?? s.traceState ?? null,
          chunk,
          from,
        });
      }
    }
  }
  return out;
}

export interface TreeNode {
  span: Span;
  children: TreeNode[];
  depth: number;
  /** Has a parent ID whose span is not (yet) here. */
  orphan: boolean;
  /** Its parent link closed a loop and was cut. */
  loop: boolean;
  error: boolean;
  /** Some descendant has an error (shown hollow on this span). */
  descendantError: boolean;
}

export interface Tree {
  roots: TreeNode[];
  nodes: Map<string, TreeNode>;
}

function byStart(a: TreeNode, b: TreeNode): number {
  return a.span.start < b.span.start ? -1 : a.span.start > b.span.start ? 1 : a.span.name.localeCompare(b.span.name);
}

/**
 * Builds the span tree of one trace. Spans whose parent is absent become roots marked
 * `orphan`; a parent chain that loops back is cut at the span where the loop was found,
 * which becomes a root marked `loop`. Children are ordered by start time.
 */
export function buildTree(spans: Iterable<Span>): Tree {
  const nodes = new Map<string, TreeNode>();
  for (const span of spans) {
    nodes.set(span.spanId, { span, children: [], depth: 0, orphan: false, loop: false, error: span.status.code === 2, descendantError: false });
  }
  const parentOf = new Map<TreeNode, TreeNode | null>();
  for (const n of nodes.values()) {
    const pid = n.span.parentId;
    const p = pid && pid !== n.span.spanId ? nodes.get(pid) : undefined;
    if (pid && pid === n.span.spanId) n.loop = true;
    else if (pid && !p) n.orphan = true;
    parentOf.set(n, p ?? null);
  }
  // Cut loops: walk each chain; meeting a node of the current walk again means a cycle.
  const state = new Map<TreeNode, 1 | 2>();
  for (const start of nodes.values()) {
    const path: TreeNode[] = [];
    let cur: TreeNode | null = start;
    while (cur && !state.has(cur)) {
      state.set(cur, 1);
      path.push(cur);
      cur = parentOf.get(cur) ?? null;
    }
    if (cur && state.get(cur) === 1) {
      cur.loop = true;
      parentOf.set(cur, null);
    }
    for (const n of path) state.set(n, 2);
  }
  const roots: TreeNode[] = [];
  for (const n of nodes.values()) {
    const p = parentOf.get(n);
    if (p) p.children.push(n);
    else roots.push(n);
  }
  roots.sort(byStart);
  const stack: TreeNode[] = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    n.children.sort(byStart);
    for (const c of n.children) {
      c.depth = n.depth + 1;
      stack.push(c);
    }
  }
  // Mark ancestors of errors (post-order via reversed pre-order).
  const order: TreeNode[] = [];
  const st2 = [...roots];
  while (st2.length) {
    const n = st2.pop()!;
    order.push(n);
    for (const c of n.children) st2.push(c);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    for (const c of n.children) if (c.error || c.descendantError) n.descendantError = true;
  }
  return { roots, nodes };
}

/** Depth-first rows of a tree, skipping the children of collapsed span IDs. */
export function flatten(tree: Tree, collapsed: Set<string>): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (n: TreeNode) => {
    out.push(n);
    if (collapsed.has(n.span.spanId)) return;
    for (const c of n.children) walk(c);
  };
  for (const r of tree.roots) walk(r);
  return out;
}

/** Time of a span not covered by its children (children clipped to the span). */
export function selfTime(n: TreeNode): bigint {
  const s = n.span;
  const iv = n.children
    .map((c) => [c.span.start < s.start ? s.start : c.span.start, c.span.end > s.end ? s.end : c.span.end] as [bigint, bigint])
    .filter(([a, b]) => b > a)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let covered = 0n;
  let curS = -1n;
  let curE = -1n;
  for (const [a, b] of iv) {
    if (curE < 0n || a > curE) {
      if (curE >= 0n) covered += curE - curS;
      curS = a;
      curE = b;
    } else if (b > curE) curE = b;
  }
  if (curE >= 0n) covered += curE - curS;
  return s.end - s.start - covered;
}

export interface TraceSummary {
  id: string;
  spans: Map<string, Span>;
  start: bigint;
  end: bigint;
  startMs: number;
  rootName: string;
  rootService: string;
  services: string[];
  /** The agents its spans were followed from (empty when all are local). */
  sources: string[];
  errors: number;
  /** No span without a parent: the root has not arrived (or never will). */
  incomplete: boolean;
  /** Arrival order of the last span, for "recent". */
  seen: number;
}

/** Every trace seen so far, keyed by trace_id, merged across chunks. */
export class TraceStore {
  traces = new Map<string, TraceSummary>();
  bad: { chunk: number; raw: string }[] = [];
  private seen = 0;

  constructor(public readonly cap = 5000) {}

  /** Adds one line of /api/v1/traces; returns the number of spans taken. */
  ingestLine(line: string, chunk: number): number {
    const spans = parseTraceLine(line, chunk);
    if (!spans) {
      this.bad.push({ chunk, raw: line.slice(0, 2000) });
      if (this.bad.length > 50) this.bad.shift();
      return 0;
    }
    const touched = new Set<TraceSummary>();
    for (const s of spans) {
      let t = this.traces.get(s.traceId);
      if (!t) {
        t = { id: s.traceId, spans: new Map(), start: s.start, end: s.end, startMs: 0, rootName: '', rootService: '', services: [], sources: [], errors: 0, incomplete: true, seen: 0 };
        this.traces.set(s.traceId, t);
      }
      t.spans.set(s.spanId, s);
      touched.add(t);
    }
    for (const t of touched) {
      this.summarise(t);
      t.seen = ++this.seen;
      // Re-insert so the Map's order is least recently updated first (for the cap).
      this.traces.delete(t.id);
      this.traces.set(t.id, t);
    }
    while (this.traces.size > this.cap) {
      const oldest = this.traces.keys().next().value as string;
      this.traces.delete(oldest);
    }
    return spans.length;
  }

  private summarise(t: TraceSummary): void {
    let start: bigint | null = null;
    let end: bigint | null = null;
    let errors = 0;
    const services = new Set<string>();
    const sources = new Set<string>();
    let root: Span | null = null;
    let firstOrphan: Span | null = null;
    for (const s of t.spans.values()) {
      if (start === null || s.start < start) start = s.start;
      if (end === null || s.end > end) end = s.end;
      if (s.status.code === 2) errors++;
      if (s.service) services.add(s.service);
      if (s.from) sources.add(s.from);
      if (!s.parentId) {
        if (!root || s.start < root.start) root = s;
      } else if (!t.spans.has(s.parentId) && (!firstOrphan || s.start < firstOrphan.start)) firstOrphan = s;
    }
    const shown = root ?? firstOrphan ?? t.spans.values().next().value!;
    t.start = start ?? 0n;
    t.end = end ?? 0n;
    t.startMs = nsToMs(t.start);
    t.errors = errors;
    t.services = [...services].sort();
    t.sources = [...sources].sort();
    t.rootName = shown.name;
    t.rootService = shown.service;
    t.incomplete = root === null;
  }

  clear(): void {
    this.traces.clear();
    this.bad = [];
  }
}

/** Duration in ns (bigint) to a short human string: 1.25s, 12.3ms, 450µs, 80ns. */
export function fmtDuration(ns: bigint | number): string {
  const n = typeof ns === 'bigint' ? Number(ns) : ns;
  const a = Math.abs(n);
  if (a >= 60e9) return `${(n / 60e9).toFixed(a >= 600e9 ? 0 : 1)}m`;
  if (a >= 1e9) return `${trim(n / 1e9)}s`;
  if (a >= 1e6) return `${trim(n / 1e6)}ms`;
  if (a >= 1e3) return `${trim(n / 1e3)}µs`;
  return `${Math.round(n)}ns`;
}

function trim(x: number): string {
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Nice tick step (1, 2, 5 × 10^k) so that `span` gets about `target` ticks. */
export function niceStep(span: number, target = 6): number {
  if (!(span > 0)) return 1;
  const raw = span / target;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

