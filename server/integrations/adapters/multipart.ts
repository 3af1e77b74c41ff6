/**
 * MIME multipart bodies (RFC 2046 §5.1, RFC 7578 for form-data), read and written whole from a
 * Buffer: pushes are already capped in size by the core, so there is nothing to stream.
 * Vendor devices push an alert as one part and its pictures as others (Hikvision ISAPI sends
 * `multipart/form-data` with the XML and `*.jpg` parts). Binary parts stay bytes, untouched.
 *
 * Pure and never throws: a body that does not follow the format answers `{ ok: false, message }`.
 */

export interface MultipartPart {
  /** Header names lower-cased; the first of a repeated header wins. */
  headers: Readonly<Record<string, string>>;
  /** `Content-Disposition` `name` (form-data). */
  name?: string;
  /** `Content-Disposition` `filename`. */
  filename?: string;
  /** `Content-Type`, lower-cased, parameters removed (`image/jpeg`). */
  contentType?: string;
  body: Buffer;
}

export type MultipartResult = { ok: true; parts: MultipartPart[] } | { ok: false; message: string };

/** More parts than any device sends (Hikvision: the alert and a few pictures) is not a push. */
export const MAX_PARTS = 64;
/** RFC 2046 §5.1.1: a boundary is 1 to 70 characters. */
const MAX_BOUNDARY = 70;
/** Part headers are a few short lines; more than this before the blank line is not a header block. */
const MAX_HEADER_BYTES = 8 * 1024;

/** A `Content-Type` parameter, unquoted (`boundary`, `charset`); undefined when absent. */
export function headerParam(header: string, param: string): string | undefined {
  // Parameters after the first ';', each `name=value` or `name="quoted value"` (RFC 9110 §5.6.6).
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    if (m[1]?.toLowerCase() !== param.toLowerCase()) continue;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
    return value;
  }
  return undefined;
}

/** `multipart/form-data; boundary=…` (or multipart/mixed, related…) → the boundary, or undefined. */
export function multipartBoundary(contentType: string): string | undefined {
  if (!/^\s*multipart\//i.test(contentType)) return undefined;
  const boundary = headerParam(contentType, 'boundary');
  return boundary && boundary.length <= MAX_BOUNDARY ? boundary : undefined;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // Folded continuation lines (obsolete, RFC 5322 §2.2.3) are joined to the header above.
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === '__proto__' || name in headers) continue;
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

function partOf(headers: Record<string, string>, body: Buffer): MultipartPart {
  const part: MultipartPart = { headers, body };
  const disposition = headers['content-disposition'];
  if (disposition !== undefined) {
    const name = headerParam(disposition, 'name');
    const filename = headerParam(disposition, 'filename');
    if (name !== undefined) part.name = name;
    if (filename !== undefined) part.filename = filename;
  }
  const type = headers['content-type'];
  if (type !== undefined) part.contentType = type.split(';')[0]!.trim().toLowerCase();
  return part;
}

/**
 * The boundary as the body spells it. Boundaries are case-sensitive (RFC 2046 §5.1.1), but a
 * Content-Type that went through a lower-casing proxy or framework loses its case while the
 * body keeps it: the first delimiter line in the body, matched without case, says which it is.
 */
function spelledAsSent(body: Buffer, boundary: string): string {
  if (body.includes(`--${boundary}`, 0, 'latin1')) return boundary;
  const head = body.subarray(0, 64 * 1024).toString('latin1');
  const at = head.toLowerCase().indexOf(`--${boundary.toLowerCase()}`);
  return at >= 0 && (at === 0 || head[at - 1] === '\n') ? head.slice(at + 2, at + 2 + boundary.length) : boundary;
}

/**
 * Splits a multipart body on its boundary. Tolerant of what devices do in practice (a preamble,
 * bare LF line ends, transport padding after a delimiter, a missing CRLF after the final
 * `--boundary--`), strict about what would lose data: a body that does not reach its closing
 * delimiter was cut short and is refused, whatever parts came before.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartResult {
  if (boundary.length === 0 || boundary.length > MAX_BOUNDARY) return { ok: false, message: 'multipart boundary must be 1 to 70 characters' };
  const dash = Buffer.from(`--${spelledAsSent(body, boundary)}`, 'latin1');
  // The first delimiter may open the body (no preceding line end); later ones follow one.
  let at = body.subarray(0, dash.length).equals(dash) ? 0 : body.indexOf(Buffer.concat([Buffer.from('\n'), dash]));
  if (at < 0) return { ok: false, message: `multipart body has no "--${boundary.slice(0, 40)}" delimiter` };
  if (at > 0) at += 1;
  const parts: MultipartPart[] = [];
  for (;;) {
    let cursor = at + dash.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return { ok: true, parts }; // `--boundary--`: the close delimiter
    // Transport padding (RFC 2046 §5.1.1) then the line end that ends the delimiter line.
    while (body[cursor] === 0x20 || body[cursor] === 0x09) cursor++;
    if (body[cursor] === 0x0d) cursor++;
    if (body[cursor] !== 0x0a) return { ok: false, message: 'multipart body ends inside a delimiter line (cut short?)' };
    cursor++;
    if (parts.length >= MAX_PARTS) return { ok: false, message: `multipart body has more than ${MAX_PARTS} parts` };

    // Headers end at the first empty line; a part may have none (then the body starts at once).
    let bodyStart: number;
    let headerBlock: string;
    if (body[cursor] === 0x0a || (body[cursor] === 0x0d && body[cursor + 1] === 0x0a)) {
      headerBlock = '';
      bodyStart = cursor + (body[cursor] === 0x0a ? 1 : 2);
    } else {
      const window = body.subarray(cursor, cursor + MAX_HEADER_BYTES + 4);
      const crlf = window.indexOf('\r\n\r\n');
      const lf = window.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : undefined;
      if (!end) return { ok: false, message: 'multipart part headers do not end with an empty line' };
      headerBlock = window.subarray(0, end.at).toString('utf8');
      bodyStart = cursor + end.at + end.len;
    }

    // The part's body runs to the line end before the next delimiter (CRLF, or a bare LF).
    const next = body.indexOf(Buffer.concat([Buffer.from('\n'), dash]), bodyStart - 1);
    if (next < 0) return { ok: false, message: 'multipart body ends before its closing delimiter (cut short?)' };
    const bodyEnd = next > bodyStart && body[next - 1] === 0x0d ? next - 1 : Math.max(next, bodyStart);
    parts.push(partOf(parseHeaders(headerBlock), body.subarray(bodyStart, bodyEnd)));
    at = next + 1;
  }
}

export interface OutgoingPart {
  name: string;
  filename?: string;
  contentType: string;
  body: Buffer;
}

/**
 * A `multipart/form-data` body the way vendor devices write it: CRLF line ends, each part with
 * its Content-Disposition, Content-Type and Content-Length. The boundary is `preferred` unless a
 * part's bytes contain it, then a suffixed one that none contains.
 */
export function buildMultipart(parts: readonly OutgoingPart[], preferred = 'MIME_boundary'): { body: Buffer; contentType: string } {
  let boundary = preferred;
  for (let n = 1; parts.some((p) => p.body.includes(`--${boundary}`)); n++) boundary = `${preferred}_${n}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const quoted = (s: string): string => `"${s.replace(/["\\\r\n]/g, '_')}"`;
    const disposition = `form-data; name=${quoted(part.name)}${part.filename === undefined ? '' : `; filename=${quoted(part.filename)}`}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType}\r\nContent-Length: ${part.body.length}\r\n\r\n`,
        'utf8',
      ),
      part.body,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
