// Tolerant JSON for the agent's NDJSON streams: one line at a time, integers beyond 2^53 kept exact as BigInt.

/** A parsed JSON value; integers that a double cannot hold exactly become `bigint`. */
export type Json = null | boolean | number | bigint | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export type ParseResult = { ok: true; value: Json } | { ok: false; error: string };

// A 16-digit run is the shortest integer that can exceed Number.MAX_SAFE_INTEGER.
const LONG_DIGITS = /\d{16}/;
// Strings are matched first so digits inside them are skipped; a bare integer must not be
// the tail of a fraction or exponent (lookbehind) nor be followed by one (lookahead).
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;
// Marker for a big integer smuggled through JSON.parse as a string; the NUL makes a clash
// with real data practically impossible.
const MARK = '\u0000vivo:bigint:';

/** Parses one JSON text; never throws. Big integers come back as `bigint`. */
export function parseJson(text: string): ParseResult {
  let replaced = false;
  let src = text;
  if (LONG_DIGITS.test(text)) {
    src = text.replace(TOKEN, (m) => {
      if (m.charCodeAt(0) === 34 /* " */) return m;
      if (Number.isSafeInteger(Number(m))) return m;
      replaced = true;
      return `"\\u0000${MARK.slice(1)}${m}"`; // the NUL escaped, as JSON requires
    });
  }
  try {
    const value = JSON.parse(src) as Json;
    return { ok: true, value: replaced ? revive(value) : value };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function revive(v: Json): Json {
  if (typeof v === 'string') {
    return v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    for (const k in v) v[k] = revive(v[k]);
  }
  return v;
}

const BIG_OUT = /"\\u0000vivo:bigint:(-?\d+)"/g;

/** JSON text of a value, writing `bigint` as a plain integer (JSON.stringify cannot). */
export function toJson(value: unknown, indent?: number): string {
  let sawBig = false;
  const text = JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') {
        sawBig = true;
        return MARK + v.toString();
      }
      return v;
    },
    indent,
  );
  if (text === undefined) return 'null';
  return sawBig ? text.replace(BIG_OUT, '$1') : text;
}

/** Splits an NDJSON body into its non-empty lines (CRLF tolerated). */
export function splitLines(body: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < body.length) {
    let nl = body.indexOf('\n', start);
    if (nl < 0) nl = body.length;
    let end = nl;
    if (end > start && body.charCodeAt(end - 1) === 13) end--;
    if (end > start) {
      const line = body.slice(start, end);
      if (line.trim() !== '') out.push(line);
    }
    start = nl + 1;
  }
  return out;
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Converts a JSON number, bigint or decimal string into a bigint (0n when it is none). */
export function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}

/** Converts a number, bigint or numeric string into a double (NaN when it is none). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/** Nanoseconds (number or bigint) to milliseconds since the epoch, keeping sub-ms digits. */
export function nsToMs(v: unknown): number {
  if (typeof v === 'bigint') return Number(v / 1_000_000n) + Number(v % 1_000_000n) / 1e6;
  const n = toNumber(v);
  return n / 1e6;
}

/** A short single-line rendering of a value, for dimmed field lists and cells. */
export function shortValue(v: Json | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  return toJson(v);
}
