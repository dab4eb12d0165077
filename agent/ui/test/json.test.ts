// Unit tests for line parsing: big integers kept exact, unparsable lines, NDJSON splitting.
import { describe, expect, it } from 'vitest';
import { nsToMs, parseJson, splitLines, toJson } from '../src/lib/json';

describe('parseJson', () => {
  it('keeps integers beyond 2^53 exact as BigInt', () => {
    const r = parseJson('{"ts":1682605659450986675,"small":42,"hash":18107287484748050239}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const v = r.value as Record<string, unknown>;
    expect(v.ts).toBe(1682605659450986675n);
    expect(v.hash).toBe(18107287484748050239n);
    expect(v.small).toBe(42);
  });

  it('leaves safe 16-digit integers, floats, exponents and strings alone', () => {
    const r = parseJson('[9007199254740991,1.2345678901234567,12345678901234567.5,1e17,"12345678901234567890",-9007199254740993]');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual([9007199254740991, 1.2345678901234567, 12345678901234567.5, 1e17, '12345678901234567890', -9007199254740993n]);
  });

  it('does not touch digits inside strings with escaped quotes', () => {
    const r = parseJson('{"a":"x\\"12345678901234567890\\"","b":12345678901234567890}');
    expect(r.ok && (r.value as Record<string, unknown>).a).toBe('x"12345678901234567890"');
    expect(r.ok && (r.value as Record<string, unknown>).b).toBe(12345678901234567890n);
  });

  it('reports a line that does not parse instead of throwing', () => {
    const r = parseJson('{"broken":');
    expect(r.ok).toBe(false);
  });

  it('round-trips big integers through toJson', () => {
    const text = '[[1682605659450986675,{"_tag":"http.1"}],{"hello":"Calyptia!","u":"ünïcødé ✓"}]';
    const r = parseJson(text);
    expect(r.ok && toJson(r.value)).toBe(text);
  });
});

describe('helpers', () => {
  it('splits NDJSON, skipping blank lines and CRs', () => {
    expect(splitLines('a\r\n\nb\n  \nc')).toEqual(['a', 'b', 'c']);
    expect(splitLines('')).toEqual([]);
  });
  it('converts nanoseconds to milliseconds without losing the millisecond', () => {
    expect(nsToMs(1682605659450986675n)).toBeCloseTo(1682605659450.9867, 3);
  });
});
