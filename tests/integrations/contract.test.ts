/**
 * The contract every integration adapter passes (server/integrations/adapters/types.ts), run
 * over the whole catalogue: a new adapter is one module plus one line in adapters/index.ts, and
 * this suite holds it to the same bar as the others.
 */
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../server/errors.ts';
import { adapters, getAdapter } from '../../server/integrations/adapters/index.ts';
import type { Adapter, AdapterMessage, AdapterState, ParseResult, PushRequest } from '../../server/integrations/adapters/types.ts';
import { EXTERNAL_ID_PLATFORMS } from '../../server/registry/types.ts';

const NOW = Date.parse('2026-11-29T12:00:00Z');

/** A message as compared: pictures by length, absent fields dropped. */
function comparable(m: AdapterMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { ids: m.ids, body: m.body.kind === 'frame' ? { kind: 'frame', hex: m.body.payload.toString('hex') } : m.body };
  if (m.fallbackDevice !== undefined) out.fallbackDevice = m.fallbackDevice;
  if (m.at !== undefined) out.at = m.at;
  if (m.dedupeKey !== undefined) out.dedupeKey = m.dedupeKey;
  if (m.picture !== undefined) out.pictureBytes = m.picture.length;
  return out;
}

async function parseWith(adapter: Adapter<unknown>, req: PushRequest, settings: unknown, state: AdapterState = {}): Promise<ParseResult> {
  return adapter.parse(req, { settings: adapter.settingsSchema.parse(settings), state, now: NOW });
}

/** Deterministic bytes (xorshift), so a failing fuzz case can be replayed. */
function noise(seed: number, length: number): Buffer {
  let x = seed || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Bodies a platform never sends but a broken proxy or an attacker might. */
function hostileBodies(example: PushRequest): { name: string; req: PushRequest }[] {
  const text = example.body.toString('utf8');
  const bodies: { name: string; body: Buffer; contentType?: string }[] = [
    { name: 'empty', body: Buffer.alloc(0) },
    { name: 'half', body: example.body.subarray(0, Math.floor(example.body.length / 2)) },
    { name: 'last byte cut', body: example.body.subarray(0, Math.max(0, example.body.length - 1)) },
    { name: 'noise', body: noise(7, 512) },
    { name: 'JSON null', body: Buffer.from('null'), contentType: 'application/json' },
    { name: 'JSON array of junk', body: Buffer.from('[1,"a",{},[],null]'), contentType: 'application/json' },
    { name: 'numbers as strings', body: Buffer.from(text.replace(/:\s*(-?\d+(\.\d+)?)/g, ':"$1"')) },
    { name: 'strings as numbers', body: Buffer.from(text.replace(/:\s*"[^"]*"/g, ':12345678901234567890')) },
    { name: 'huge numbers', body: Buffer.from(text.replace(/\d+/g, '9'.repeat(400))) },
    { name: 'XML junk', body: Buffer.from('<?xml version="1.0"?><a><b>1</b>'), contentType: 'application/xml' },
    { name: 'multipart with no parts', body: Buffer.from('--x--\r\n'), contentType: 'multipart/form-data; boundary=x' },
  ];
  for (let i = 0; i < 20; i++) {
    const at = (i * 37) % Math.max(1, example.body.length);
    const flipped = Buffer.from(example.body);
    if (flipped.length > 0) flipped[at] = flipped[at]! ^ (1 << (i % 8));
    bodies.push({ name: `bit ${i % 8} flipped at ${at}`, body: flipped });
  }
  return bodies.map((b) => ({ name: b.name, req: { ...example, body: b.body, contentType: b.contentType ?? example.contentType } }));
}

describe('integration adapter catalogue', () => {
  it('holds the adapters DESIGN.md names, each found by its id', () => {
    const ids = adapters.map((a) => a.id);
    expect(ids).toEqual(expect.arrayContaining(['ctwing', 'onenet', 'hikvision', 'axis', 'frigate']));
    expect(new Set(ids).size).toBe(ids.length);
    for (const a of adapters) expect(getAdapter(a.id)).toBe(a);
  });
});

describe.each(adapters.map((a) => [a.id, a] as const))('adapter %s', (_id, adapter) => {
  it('declares itself completely', () => {
    expect(adapter.id).toMatch(/^[a-z0-9-]+$/);
    expect(adapter.label.en.length).toBeGreaterThan(0);
    expect(adapter.label['zh-CN'].length).toBeGreaterThan(0);
    expect(adapter.externalIdKeys.length).toBeGreaterThan(0);
    for (const key of adapter.externalIdKeys) expect(EXTERNAL_ID_PLATFORMS).toContain(key);
    if (adapter.delivery === 'connector') expect(typeof adapter.connect).toBe('function');
    expect(adapter.examples.length).toBeGreaterThan(0);
    for (const key of adapter.secretSettings ?? []) expect(typeof key).toBe('string');
  });

  it('parses every example to exactly what it promises', async () => {
    for (const example of adapter.examples) {
      const result = await parseWith(adapter, example.request, example.settings);
      expect(result.ok, `${example.name}: ${result.ok ? '' : `${result.code} ${result.message}`}`).toBe(true);
      if (!result.ok) continue;
      expect(result.messages.map(comparable), example.name).toEqual(example.expect.map(comparable));
      for (const m of result.messages) {
        // Ids name the device by the adapter's own keys.
        for (const key of Object.keys(m.ids)) expect(adapter.externalIdKeys as readonly string[]).toContain(key);
        if (m.at !== undefined) expect(Number.isFinite(Date.parse(m.at)), `${example.name}: at ${m.at}`).toBe(true);
      }
    }
  });

  it('renders what it parses: parse(render(m)) gives m back', async () => {
    for (const example of adapter.examples) {
      const settings = adapter.settingsSchema.parse(example.settings);
      for (const message of example.expect) {
        // Twice in a row on one state each side: a format of running totals (Axis) needs a
        // first answer as its baseline, and the second must carry the message exactly.
        const renderState: AdapterState = {};
        const parseState: AdapterState = {};
        let last: ParseResult | null = null;
        for (let i = 0; i < 2; i++) {
          const req = adapter.render(message, { settings, state: renderState, now: NOW });
          last = await adapter.parse(req, { settings, state: parseState, now: NOW });
        }
        expect(last?.ok, `${example.name}: ${last && !last.ok ? `${last.code} ${last.message}` : ''}`).toBe(true);
        if (!last?.ok) continue;
        const got = last.messages.map(comparable).map(({ ids, body }) => ({ ids, body }));
        const { ids, body } = comparable(message);
        expect(got, example.name).toContainEqual({ ids, body });
      }
    }
  });

  it('never throws on hostile bytes, and refuses with a catalogue code', async () => {
    for (const example of adapter.examples) {
      for (const { name, req } of hostileBodies(example.request)) {
        let result: ParseResult;
        try {
          result = await parseWith(adapter, req, example.settings);
        } catch (err) {
          throw new Error(`${example.name} / ${name}: parse threw ${String(err)}`);
        }
        if (!result.ok) {
          expect(Object.keys(ERRORS), `${example.name} / ${name}`).toContain(result.code);
          expect(result.message.length, `${example.name} / ${name}`).toBeGreaterThan(0);
        } else {
          // Accepted noise must still be well-formed messages (nothing malformed reaches the twin).
          for (const m of result.messages) expect(['events', 'frame', 'status']).toContain(m.body.kind);
        }
      }
    }
  });
});
