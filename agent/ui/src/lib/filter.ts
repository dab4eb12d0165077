// The log filter language: plain text, /regex/, key:value, -key:value, wildcards; compiled once, run per record.

export type TermKind = 'text' | 'regex' | 'field';

export interface Term {
  kind: TermKind;
  neg: boolean;
  raw: string;
  /** text: lower-cased needle */
  needle?: string;
  /** regex, or field value pattern */
  re?: RegExp;
  key?: string;
  /** field value compared case-insensitively when there is no pattern */
  value?: string;
}

/** What the filter needs to know about a record; the log store supplies it. */
export interface FilterAdapter<T> {
  /** Searchable text of the record (original case). */
  text(rec: T): string;
  /** The same text in lower case (cached by the caller). */
  lower(rec: T): string;
  /** Whether some value found under `key` (dotted path or literal key) passes `test`. */
  field(rec: T, key: string, test: (v: unknown) => boolean): boolean;
}

export interface CompiledFilter<T> {
  terms: Term[];
  /** Messages about parts that fell back to plain text. */
  hints: string[];
  /** True when there is nothing to filter by. */
  empty: boolean;
  test(rec: T): boolean;
  /** Matches the positive text and regex terms, for highlighting; null when none. */
  highlight: RegExp | null;
}

const KEY = /^[A-Za-z_@$][\w.@$-]*$/;

/** Splits a query into tokens on whitespace, keeping "quoted phrases" and /regex with spaces/ whole. */
export function tokenize(q: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = q.length;
  while (i < n) {
    while (i < n && /\s/.test(q[i])) i++;
    if (i >= n) break;
    let j = i;
    let tok = '';
    const neg = q[j] === '-' && j + 1 < n && !/\s/.test(q[j + 1]);
    if (neg) {
      tok += '-';
      j++;
    }
    // A regex, alone or as a key:/value/, runs to the next unescaped '/', then optional flags.
    const keyed = /^[A-Za-z_@$][\w.@$-]*:(?=\/)/.exec(q.slice(j, j + 200));
    const rs = keyed ? j + keyed[0].length : j;
    if (q[rs] === '/') {
      let k = rs + 1;
      while (k < n && q[k] !== '/') k += q[k] === '\\' ? 2 : 1;
      if (k < n) {
        k++;
        while (k < n && /[a-z]/.test(q[k])) k++;
        if (k >= n || /\s/.test(q[k])) {
          out.push(tok + q.slice(j, k));
          i = k;
          continue;
        }
      }
    }
    // Ordinary token; a double quote opens a phrase that may hold spaces.
    let inQuote = false;
    while (j < n && (inQuote || !/\s/.test(q[j]))) {
      if (q[j] === '\\' && inQuote && j + 1 < n) {
        tok += q[j] + q[j + 1];
        j += 2;
        continue;
      }
      if (q[j] === '"') inQuote = !inQuote;
      tok += q[j];
      j++;
    }
    out.push(tok);
    i = j;
  }
  return out;
}

function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    return s.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return s;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** An anchored, case-insensitive pattern for a value with `*` and `?` wildcards. */
export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += escapeRe(ch);
  }
  return new RegExp(`^${src}$`, 'is');
}

function parseRegex(tok: string): { re?: RegExp; error?: string } {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(tok);
  if (!m) return { error: 'not a /regex/' };
  if (m[1] === '') return { error: 'empty regex' };
  try {
    return { re: new RegExp(m[1], m[2].replace(/[gy]/g, '')) };
  } catch (e) {
    return { error: e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e) };
  }
}

/** Parses one token into a term, noting in `hints` when it fell back to plain text. */
export function parseTerm(token: string, hints: string[]): Term {
  let neg = false;
  let body = token;
  if (body.length > 1 && body.startsWith('-')) {
    neg = true;
    body = body.slice(1);
  }
  const plain = (text: string): Term => ({ kind: 'text', neg, raw: token, needle: text.toLowerCase() });

  if (body.startsWith('"')) return plain(unquote(body));

  if (body.startsWith('/') && body.length > 1) {
    const { re, error } = parseRegex(body);
    if (re) return { kind: 'regex', neg, raw: token, re };
    hints.push(`${body}: ${error}; searched as plain text`);
    return plain(body);
  }

  const colon = body.indexOf(':');
  if (colon > 0) {
    const key = body.slice(0, colon);
    const rawValue = body.slice(colon + 1);
    if (KEY.test(key) && !rawValue.startsWith('//')) {
      if (rawValue === '') {
        hints.push(`${body}: no value after "${key}:"; searched as plain text`);
        return plain(body);
      }
      if (rawValue.startsWith('/') && rawValue.length > 1) {
        const { re, error } = parseRegex(rawValue);
        if (re) return { kind: 'field', neg, raw: token, key, re };
        hints.push(`${body}: ${error}; searched as plain text`);
        return plain(body);
      }
      const quoted = rawValue.startsWith('"');
      const value = unquote(rawValue);
      if (!quoted && /[*?]/.test(value)) return { kind: 'field', neg, raw: token, key, re: globToRegExp(value) };
      return { kind: 'field', neg, raw: token, key, value: value.toLowerCase() };
    }
  }
  return plain(body);
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return String(v);
  }
}

/** The per-value test of a key:value term, built once per term. */
function valueTest(term: Term): (v: unknown) => boolean {
  if (term.re) {
    const re = term.re;
    return (v) => re.test(valueText(v));
  }
  const want = term.value!;
  return (v) => {
    const s = typeof v === 'string' ? v : valueText(v);
    // Same length first: most values differ there, and no lower-case copy is made.
    return s.length === want.length && (s === want || s.toLowerCase() === want);
  };
}

/** Compiles a query (plus extra chip terms, ANDed) into a predicate for records of type T. */
export function compileFilter<T>(query: string, adapter: FilterAdapter<T>, chips: string[] = []): CompiledFilter<T> {
  const hints: string[] = [];
  const terms = [...chips.flatMap(tokenize), ...tokenize(query)].map((t) => parseTerm(t, hints));
  const hl: string[] = [];
  for (const t of terms) {
    if (t.neg) continue;
    if (t.kind === 'text' && t.needle) hl.push(escapeRe(t.needle));
    else if (t.kind === 'regex' && t.re) hl.push(`(?:${t.re.source})`);
  }
  let highlight: RegExp | null = null;
  if (hl.length) {
    try {
      highlight = new RegExp(hl.join('|'), 'gi');
    } catch {
      highlight = null;
    }
  }
  const tests = terms.map((t) => (t.kind === 'field' ? valueTest(t) : null));
  const test = (rec: T): boolean => {
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i];
      let hit: boolean;
      switch (t.kind) {
        case 'text':
          hit = adapter.lower(rec).includes(t.needle!);
          break;
        case 'regex':
          hit = t.re!.test(adapter.text(rec));
          break;
        default:
          hit = adapter.field(rec, t.key!, tests[i]!);
      }
      if (hit === t.neg) return false;
    }
    return true;
  };
  return { terms, hints, empty: terms.length === 0, test, highlight };
}

/** Looks a key up in an object: first as a literal key ("service.name"), then as a dotted path. */
export function lookup(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const o = obj as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(o, key)) return o[key];
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  // Try every split point so keys that themselves hold dots still resolve.
  for (let i = dot; i >= 0; i = key.indexOf('.', i + 1)) {
    const head = key.slice(0, i);
    if (Object.prototype.hasOwnProperty.call(o, head)) {
      const r = lookup(o[head], key.slice(i + 1));
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

/** Quotes a value for a key:value chip when it holds spaces, quotes or wildcards. */
export function chipFor(key: string, value: unknown, exclude: boolean): string {
  const s = valueText(value);
  const v = /[\s"*?]/.test(s) || s === '' ? `"${s.replace(/(["\\])/g, '\\$1')}"` : s;
  return `${exclude ? '-' : ''}${key}:${v}`;
}
