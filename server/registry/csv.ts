/**
 * A small strict CSV reader for device imports (RFC 4180): fields separated by commas, records
 * by CRLF or LF, a field in double quotes may hold commas, line breaks and doubled quotes (`""`).
 * Strict because a registration file that is read wrongly registers wrong devices: a quote in
 * the middle of an unquoted field, text after a closing quote, or a quote never closed is a
 * problem at its line, never guessed around. Also read: a UTF-8 byte-order mark (Excel writes
 * one), blank lines (skipped), and cells pasted from a spreadsheet — tab-separated — when the
 * first line has tabs and no comma. No dependency: nothing in node_modules reads CSV.
 */

export interface CsvRecord {
  /** The line the record starts on, 1-based (a quoted field may span several lines). */
  line: number;
  fields: string[];
}

export interface CsvProblem {
  line: number;
  message: string;
}

export interface CsvResult {
  records: CsvRecord[];
  /** Records with a problem are left out of `records`; an unclosed quote ends the reading. */
  problems: CsvProblem[];
}

/** Tab when the first line is tab-separated cells (a paste from a spreadsheet), else comma. */
function delimiterOf(text: string): ',' | '\t' {
  const end = text.search(/\r|\n/);
  const first = end < 0 ? text : text.slice(0, end);
  return first.includes('\t') && !first.includes(',') ? '\t' : ',';
}

export function parseCsv(input: string): CsvResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const sep = delimiterOf(text);
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let problem: string | null = null;
    // One record: fields until a line end outside quotes, or the end of the text.
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const open = line;
        i++;
        let closed = false;
        while (i < text.length) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          value += c;
          i++;
        }
        if (!closed) {
          problems.push({ line: open, message: 'a quoted field is never closed (a missing ")' });
          return { records, problems };
        }
        if (i < text.length && text[i] !== sep && text[i] !== '\r' && text[i] !== '\n') {
          problem ??= `text after a closing quote in field ${fields.length + 1}: quote the whole field and double the quotes inside it ("")`;
          while (i < text.length && text[i] !== sep && text[i] !== '\r' && text[i] !== '\n') i++;
        }
      } else {
        while (i < text.length && text[i] !== sep && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') problem ??= `a quote inside unquoted field ${fields.length + 1}: quote the whole field and double the quotes inside it ("")`;
          value += text[i];
          i++;
        }
      }
      fields.push(value);
      if (i < text.length && text[i] === sep) {
        i++;
        continue;
      }
      break;
    }
    // The line end (CRLF, LF or a lone CR) closes the record.
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    // Spreadsheets export empty rows as `,,,`: blank too.
    const blank = fields.every((f) => f.trim() === '');
    if (problem) problems.push({ line: start, message: problem });
    else if (!blank) records.push({ line: start, fields });
  }
  return { records, problems };
}

/** One CSV field, quoted when it must be (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
