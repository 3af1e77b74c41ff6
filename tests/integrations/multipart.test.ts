/**
 * The multipart reader and writer integration adapters share (Hikvision pushes its alerts as
 * multipart/form-data with pictures). Binary parts must come back byte for byte; a body cut
 * short must be refused, never half-read.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildMultipart, headerParam, multipartBoundary, parseMultipart } from '../../server/integrations/adapters/multipart.ts';

const CRLF = '\r\n';

describe('multipart', () => {
  it('reads the boundary from the Content-Type, quoted or not, only for multipart types', () => {
    expect(multipartBoundary('multipart/form-data; boundary=MIME_boundary')).toBe('MIME_boundary');
    expect(multipartBoundary('Multipart/Mixed; charset=utf-8; Boundary="a b;c"')).toBe('a b;c');
    expect(multipartBoundary('multipart/form-data')).toBeUndefined();
    expect(multipartBoundary('application/xml; boundary=x')).toBeUndefined();
    expect(multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`)).toBeUndefined();
    expect(headerParam('form-data; name="linedetection"; filename="a\\"b.jpg"', 'filename')).toBe('a"b.jpg');
    expect(headerParam('form-data; name=plain', 'name')).toBe('plain');
  });

  it('round-trips parts, binary bytes untouched, headers parsed', () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(4000), Buffer.from('\r\n--MIME_boundar\r\n')]);
    const built = buildMultipart([
      { name: 'linedetection', contentType: 'application/xml; charset="UTF-8"', body: Buffer.from('<a/>') },
      { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: jpeg },
    ]);
    const boundary = multipartBoundary(built.contentType);
    expect(boundary).toBe('MIME_boundary');
    const parsed = parseMultipart(built.body, boundary!);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.parts).toHaveLength(2);
    expect(parsed.parts[0]).toMatchObject({ name: 'linedetection', contentType: 'application/xml', body: Buffer.from('<a/>') });
    expect(parsed.parts[1]!.filename).toBe('linedetectionImage.jpg');
    expect(parsed.parts[1]!.headers['content-length']).toBe(String(jpeg.length));
    expect(parsed.parts[1]!.body.equals(jpeg)).toBe(true);
  });

  it('picks another boundary when a part contains the preferred one', () => {
    const body = Buffer.from('x\r\n--MIME_boundary\r\ny');
    const built = buildMultipart([{ name: 'p', contentType: 'text/plain', body }]);
    const boundary = multipartBoundary(built.contentType)!;
    expect(boundary).not.toBe('MIME_boundary');
    const parsed = parseMultipart(built.body, boundary);
    expect(parsed.ok && parsed.parts[0]!.body.equals(body)).toBe(true);
  });

  it('finds the boundary in the body when the Content-Type lost its case on the way', () => {
    const built = buildMultipart([{ name: 'a', contentType: 'application/xml', body: Buffer.from('<a>1</a>') }]);
    const lowered = multipartBoundary(built.contentType.toLowerCase())!;
    expect(lowered).toBe('mime_boundary');
    const parsed = parseMultipart(built.body, lowered);
    expect(parsed.ok && parsed.parts[0]!.body.toString()).toBe('<a>1</a>');
  });

  it('tolerates a preamble, bare LF line ends, padding after a delimiter and empty parts', () => {
    const body = Buffer.from(
      ['preamble to ignore', '--b  ', 'Content-Type: text/xml', '', '<x/>', '--b', 'Content-Disposition: form-data; name="e"', '', '', '--b--', ''].join('\n'),
    );
    const parsed = parseMultipart(body, 'b');
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.parts.map((p) => p.body.toString())).toEqual(['<x/>', '']);
    expect(parsed.parts[0]!.contentType).toBe('text/xml');
    expect(parsed.parts[1]!.name).toBe('e');
  });

  it('refuses bodies cut short or without the delimiter, and absurd part counts', () => {
    const whole = buildMultipart([{ name: 'a', contentType: 'application/xml', body: Buffer.from('<a>1</a>') }]).body;
    for (const cut of [10, 30, whole.length - 20, whole.length - 4]) {
      const r = parseMultipart(whole.subarray(0, cut), 'MIME_boundary');
      expect(r.ok, `cut at ${cut}`).toBe(false);
    }
    expect(parseMultipart(Buffer.from('no delimiter here'), 'b')).toMatchObject({ ok: false });
    expect(parseMultipart(Buffer.from('--b\r\nno blank line'), 'b')).toMatchObject({ ok: false });
    const many = Buffer.from(`${Array.from({ length: 70 }, () => `--b${CRLF}${CRLF}x${CRLF}`).join('')}--b--${CRLF}`);
    expect(parseMultipart(many, 'b')).toMatchObject({ ok: false, message: expect.stringContaining('more than 64 parts') });
  });

  it('never throws on random or mangled bytes', () => {
    const whole = buildMultipart([
      { name: 'a', contentType: 'application/xml', body: Buffer.from('<a>1</a>') },
      { name: 'b', filename: 'b.jpg', contentType: 'image/jpeg', body: randomBytes(300) },
    ]).body;
    for (let i = 0; i < 500; i++) {
      const mangled = Buffer.from(whole);
      for (let k = 0; k < 1 + (i % 8); k++) mangled[Math.floor(Math.random() * mangled.length)] = Math.floor(Math.random() * 256);
      expect(() => parseMultipart(mangled.subarray(0, Math.floor(Math.random() * mangled.length)), 'MIME_boundary')).not.toThrow();
      expect(() => parseMultipart(randomBytes(i), 'MIME_boundary')).not.toThrow();
    }
  });
});
