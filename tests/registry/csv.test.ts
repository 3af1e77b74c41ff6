/**
 * The strict CSV reader behind device imports (server/registry/csv.ts): RFC 4180 quoting,
 * CRLF/LF/CR line ends, line numbers of records spanning lines, Excel's byte-order mark, blank
 * and `,,,` rows, a spreadsheet paste (tabs), and the problems it refuses to guess around.
 */
import { describe, expect, it } from 'vitest';
import { csvField, parseCsv } from '../../server/registry/csv.ts';

const fields = (text: string) => parseCsv(text).records.map((r) => r.fields);

describe('parseCsv', () => {
  it('reads plain rows with LF, CRLF and lone CR line ends alike', () => {
    const expected = [['id', 'type'], ['a', 'b'], ['c', 'd']];
    expect(fields('id,type\na,b\nc,d\n')).toEqual(expected);
    expect(fields('id,type\r\na,b\r\nc,d\r\n')).toEqual(expected);
    expect(fields('id,type\ra,b\rc,d')).toEqual(expected);
    expect(parseCsv('id,type\r\na,b\r\nc,d').records.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('reads quoted fields: commas, doubled quotes, line breaks (CRLF kept), empty quotes', () => {
    const { records, problems } = parseCsv('id,label\r\ndoor-1,"Room 201, east"\r\ndoor-2,"the ""back"" door"\r\ndoor-3,"two\r\nlines"\r\ndoor-4,""\r\ndoor-5,x\r\n');
    expect(problems).toEqual([]);
    expect(records.map((r) => r.fields)).toEqual([
      ['id', 'label'],
      ['door-1', 'Room 201, east'],
      ['door-2', 'the "back" door'],
      ['door-3', 'two\r\nlines'],
      ['door-4', ''],
      ['door-5', 'x'],
    ]);
    // The record after a two-line field starts on the line after both.
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 6, 7]);
  });

  it('drops a UTF-8 byte-order mark and skips blank and all-empty rows', () => {
    const { records } = parseCsv('\uFEFFid,zone\n\na,2-01\n,,\n  \nb,2-02\n\n');
    expect(records).toEqual([
      { line: 1, fields: ['id', 'zone'] },
      { line: 3, fields: ['a', '2-01'] },
      { line: 6, fields: ['b', '2-02'] },
    ]);
  });

  it('reads cells pasted from a spreadsheet (tab-separated) when the first line has tabs and no comma', () => {
    expect(fields('id\ttype\tlabel\ndoor-1\tdoor-sensor\tRoom 1, east\n')).toEqual([
      ['id', 'type', 'label'],
      ['door-1', 'door-sensor', 'Room 1, east'],
    ]);
  });

  it('refuses a stray quote and text after a closing quote at their lines, keeping the other rows', () => {
    const { records, problems } = parseCsv('id,label\na,Room "5"\nb,"Room" 6\nc,ok\n');
    expect(records.map((r) => r.fields[0])).toEqual(['id', 'c']);
    expect(problems.map((p) => p.line)).toEqual([2, 3]);
    expect(problems[0]!.message).toContain('quote inside unquoted field 2');
    expect(problems[1]!.message).toContain('after a closing quote in field 2');
  });

  it('refuses a quote never closed at the line it opens', () => {
    const { records, problems } = parseCsv('id,label\na,ok\nb,"never closed\nc,d\n');
    expect(records.map((r) => r.fields[0])).toEqual(['id', 'a']);
    expect(problems).toEqual([{ line: 3, message: expect.stringContaining('never closed') }]);
  });
});

describe('csvField', () => {
  it('quotes only what needs it, and reads back the same', () => {
    expect(csvField('door-1')).toBe('door-1');
    const tricky = ['a,b', 'say "hi"', 'two\r\nlines', '门'];
    const line = tricky.map(csvField).join(',');
    expect(parseCsv(line).records[0]!.fields).toEqual(tricky);
  });
});
