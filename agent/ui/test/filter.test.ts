// Unit tests for the filter language: plain, /regex/, key:value, -key:value, wildcards and fallbacks.
import { describe, expect, it } from 'vitest';
import { chipFor, tokenize } from '../src/lib/filter';
import { compileLogFilter, parseLogLine, type LogRecord } from '../src/lib/logs';

let seq = 0;
function rec(tag: string, body: unknown, meta: unknown = {}): LogRecord {
  return parseLogLine(JSON.stringify({ tag, records: [[[1700000000000000000, meta], body]] }), 0, 0, () => seq++)[0];
}

const recs = [
  rec('app.web', { message: 'GET /cart 200', level: 'info', user: { id: 42 } }),
  rec('app.web', { message: 'POST /checkout failed', level: 'error', 'service.name': 'checkout' }),
  rec('app.db', { message: 'Slow query: SELECT * FROM users', level: 'warn', ms: 1200 }),
  rec('system', { log: 'kernel: eth0 link up' }, { host: 'node-1' }),
];

function run(q: string, chips: string[] = []): number[] {
  const f = compileLogFilter(q, chips);
  return recs.map((r, i) => (f.test(r) ? i : -1)).filter((i) => i >= 0);
}

describe('tokenize', () => {
  it('keeps quoted phrases and regexes with spaces whole', () => {
    expect(tokenize('a "b c" /d e/i -k:"x y" f')).toEqual(['a', '"b c"', '/d e/i', '-k:"x y"', 'f']);
  });
});

describe('filter language', () => {
  it('matches everything when empty', () => {
    expect(compileLogFilter('  ').empty).toBe(true);
    expect(run('')).toEqual([0, 1, 2, 3]);
  });
  it('plain text is a case-insensitive substring, terms are ANDed', () => {
    expect(run('CART')).toEqual([0]);
    expect(run('app get')).toEqual([0]);
    expect(run('"slow query"')).toEqual([2]);
  });
  it('/regex/ with flags', () => {
    expect(run('/^POST|Slow/')).toEqual([2]); // ^ anchors at the start of the searchable text (the tag)
    expect(run('/^app\\.db /')).toEqual([2]);
    expect(run('/(POST|Slow) /')).toEqual([1, 2]);
    expect(run('/get \\/CART/i')).toEqual([0]);
  });
  it('key:value is an exact, case-insensitive field match; nested and dotted keys work', () => {
    expect(run('level:ERROR')).toEqual([1]);
    expect(run('user.id:42')).toEqual([0]);
    expect(run('service.name:checkout')).toEqual([1]);
    expect(run('host:node-1')).toEqual([3]);
    expect(run('level:err')).toEqual([]);
  });
  it('wildcards in values', () => {
    expect(run('_tag:app*')).toEqual([0, 1, 2]);
    expect(run('_tag:app.?b')).toEqual([2]);
    expect(run('message:*failed')).toEqual([1]);
  });
  it('-key:value excludes, and a record without the key is kept', () => {
    expect(run('-_tag:app.web')).toEqual([2, 3]);
    expect(run('-level:info')).toEqual([1, 2, 3]);
    expect(run('-kernel')).toEqual([0, 1, 2]);
  });
  it('key:/regex/', () => {
    expect(run('message:/^(GET|POST) /')).toEqual([0, 1]);
  });
  it('invalid expressions fall back to plain text with a hint', () => {
    const f = compileLogFilter('/[unclosed/');
    expect(f.hints.length).toBe(1);
    expect(f.hints[0]).toMatch(/plain text/);
    expect(f.terms[0].kind).toBe('text');
    const g = compileLogFilter('level:');
    expect(g.hints.length).toBe(1);
    expect(g.terms[0].kind).toBe('text');
  });
  it('URLs are plain text, not key:value', () => {
    expect(compileLogFilter('http://x/y').terms[0].kind).toBe('text');
  });
  it('chips are ANDed with the query', () => {
    expect(run('', ['_tag:app*', '-level:warn'])).toEqual([0, 1]);
  });
  it('chipFor quotes values that need it and round-trips through the parser', () => {
    expect(chipFor('message', 'a b*', false)).toBe('message:"a b*"');
    expect(run('', [chipFor('message', 'Slow query: SELECT * FROM users', false)])).toEqual([2]);
    expect(chipFor('n', 3, true)).toBe('-n:3');
  });
  it('builds a highlight pattern from positive text and regex terms only', () => {
    const f = compileLogFilter('cart -x level:info /po.t/');
    expect(f.highlight?.source).toBe('cart|(?:po.t)');
  });
});
