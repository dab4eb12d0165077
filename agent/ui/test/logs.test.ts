// Unit tests for log chunk lines: exactly one record, chunk ID 0, unparsable lines and records, levels, store.
import { describe, expect, it } from 'vitest';
import { LogStore, inferLevel, parseLogLine, recordFieldValues, recordNdjson } from '../src/lib/logs';

function seqGen() {
  let n = 0;
  return () => n++;
}

describe('parseLogLine', () => {
  it('reads a chunk with exactly one record, chunk ID 0', () => {
    const line = '{"source_type":"http","source_name":"http.0","tag":"app","records":[[[1759591426808913765,{}],{"message":"dummy"}]]}';
    const recs = parseLogLine(line, 0, 0, seqGen());
    expect(recs).toHaveLength(1);
    const r = recs[0];
    expect(r.chunk).toBe(0);
    expect(r.tag).toBe('app');
    expect(r.source).toBe('http.0');
    expect(r.ts).toBe(1759591426808913765n);
    expect(r.msg).toBe('dummy');
    expect(Math.floor(r.ms)).toBe(1759591426808);
    expect(recordNdjson(r)).toBe('[[1759591426808913765,{"_tag":"app"}],{"message":"dummy"}]');
  });

  it('turns a line that is not JSON into one unparsable record with the raw text', () => {
    const recs = parseLogLine('{"records":[[[1,{}],{"a":', 7, 0, seqGen());
    expect(recs).toHaveLength(1);
    expect(recs[0].raw).toBe('{"records":[[[1,{}],{"a":');
    expect(recs[0].chunk).toBe(7);
    expect(recs[0].error).toBeTruthy();
  });

  it('keeps good records when one record of a chunk has the wrong shape', () => {
    const line = '{"tag":"t","records":[[[1,{}],{"a":1}],"oops",[[2,{}],{"b":2}]]}';
    const recs = parseLogLine(line, 3, 0, seqGen());
    expect(recs.map((r) => r.raw === undefined)).toEqual([true, false, true]);
    expect(recs[1].raw).toBe('"oops"');
  });

  it('accepts a legacy /logs line with _tag in metadata', () => {
    const recs = parseLogLine('[[1682605659450986675,{"_tag":"http.1"}],{"hello":"Calyptia!"}]', 0, 0, seqGen());
    expect(recs[0].tag).toBe('http.1');
    expect(recs[0].ts).toBe(1682605659450986675n);
  });

  it('handles an empty records array, unicode and deep nesting', () => {
    expect(parseLogLine('{"tag":"x","records":[]}', 0, 0, seqGen())).toEqual([]);
    let deep = '"leaf ✓ 日本"';
    for (let i = 0; i < 200; i++) deep = `{"d":${deep}}`;
    const recs = parseLogLine(`{"tag":"x","records":[[[1,{}],${deep}]]}`, 0, 0, seqGen());
    expect(recs[0].raw).toBeUndefined();
    expect(recs[0].msg).toContain('日本');
  });
});

describe('levels', () => {
  it('infers the level from keys, OTLP metadata or the message', () => {
    expect(inferLevel({ level: 'WARNING' }, {}, '')).toBe('warn');
    expect(inferLevel({ severity: 50 }, {}, '')).toBe('error');
    expect(inferLevel({ log: 'x' }, { otlp: { severity_number: 9 } }, '')).toBe('info');
    expect(inferLevel({ log: '2024-01-01 ERROR boom' }, {}, '2024-01-01 ERROR boom')).toBe('error');
    expect(inferLevel({ log: 'nothing here' }, {}, 'nothing here')).toBe('');
  });
});

describe('LogStore', () => {
  it('filters incrementally on append, clears, and finds records', () => {
    const s = new LogStore(5);
    const mk = (i: number, msg: string) => parseLogLine(`{"tag":"app.${i % 2 ? 'web' : 'db'}","records":[[[${i},{}],{"message":"${msg}"}]]}`, i, 0, s.nextSeq)[0];
    s.setFilter('_tag:app.web', [], false);
    s.append([mk(1, 'a'), mk(2, 'b'), mk(3, 'c')]);
    expect(s.visible.map((i) => s.records[i].msg)).toEqual(['a', 'c']);
    s.append([mk(4, 'd'), mk(5, 'e'), mk(6, 'f'), mk(7, 'g')]);
    // Capped at 5 records: the two oldest dropped.
    expect(s.records).toHaveLength(5);
    expect(s.visible.map((i) => s.records[i].msg)).toEqual(['c', 'e', 'g']);
    expect(recordFieldValues(s.records[0], '_tag')).toEqual(['app.web']);
    s.setFilter('message:e', [], true);
    expect(s.visible).toHaveLength(5);
    expect(s.matchCount()).toBe(1);
    s.clear();
    expect(s.records).toHaveLength(0);
  });
});
