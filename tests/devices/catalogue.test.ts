/**
 * The catalogue test: walks every registered device type and checks the contract the server
 * and simulators rely on. A new device type gets all of this for free by being registered.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { catalogueOf, DEVICE_TYPE_IDS, deviceTypeHas, deviceTypes, getDeviceType, placementFieldsOf } from '../../devices/index.ts';
import { MAX_EVENTS_PER_MESSAGE } from '../../devices/shared/json.ts';
import {
  CAPABILITIES,
  type Capability,
  type DecodeResult,
  type DeviceEvent,
  type DeviceEventType,
  type DeviceType,
  type PayloadFormat,
  type SimAction,
  type SimOutput,
} from '../../devices/types.ts';
import { ERRORS } from '../../server/errors.ts';
import { TokenBucket } from '../../server/ingest/rate-budget.ts';
import { DEVICE_TYPE_IDS as SITE_DEVICE_TYPE_IDS, placementSchema } from '../../server/sites/model.ts';
import { DAY_MS, DAY_START, makeEnv, runSim, seededRandom } from './sim-helpers.ts';

const DEVICES_DIR = fileURLToPath(new URL('../../devices/', import.meta.url));
const ZONE_KINDS = ['room', 'corridor', 'lobby', 'hall', 'entrance', 'office', 'cash-room', 'storage'];
const ACTIONS: SimAction[] = ['open', 'close', 'tamper', 'heartbeat', 'motion'];
const FRAME_CODES = new Set(['STW_ERR_FRAME_CHECKSUM', 'STW_ERR_FRAME_LENGTH', 'STW_ERR_FRAME_UNKNOWN_COMMAND', 'STW_ERR_FRAME_MALFORMED']);

/** The event a capability makes a type send (the others show in fields or answers, below). */
const EVENT_OF: Partial<Record<Capability, DeviceEventType>> = { door: 'door', tamper: 'tamper', heartbeat: 'heartbeat', motion: 'motion', count: 'count' };

function examples(type: DeviceType): NonNullable<DeviceType['examples']> {
  return type.examples ?? [];
}

/** Decodes and asserts the refusal is well-formed: a known code, a message, no throw. */
function expectRefused(type: DeviceType, payload: Buffer): Extract<DecodeResult, { ok: false }> {
  let result: DecodeResult | undefined;
  expect(() => (result = type.decode(payload))).not.toThrow();
  if (!result || result.ok) throw new Error(`${type.id} accepted ${payload.toString('hex').slice(0, 80)}: ${JSON.stringify(result)}`);
  expect(Object.keys(ERRORS)).toContain(result.code);
  expect(result.message.length).toBeGreaterThan(0);
  return result;
}

/**
 * Every event a simulated device sends must pass the schema and survive its wire format.
 * Returns what is wrong (nothing when all is well): thousands of messages are checked, and
 * collecting problems keeps that fast and the failure report readable.
 */
function problemsWith(type: DeviceType, output: SimOutput): string[] {
  if (output.kind !== 'event') return /^[a-z]+\/[A-Za-z0-9_.-]+$/.test(output.subtopic) ? [] : [`raw output on odd subtopic ${output.subtopic}`];
  const what = JSON.stringify(output.event);
  const problems: string[] = [];
  if (!type.formats.includes(output.format)) problems.push(`format ${output.format} not in formats: ${what}`);
  if (!type.events.includes(output.event.type)) problems.push(`event not in events: ${what}`);
  const parsed = type.schema.safeParse(output.event);
  if (!parsed.success) problems.push(`fails the schema: ${what}: ${parsed.error.message}`);
  try {
    const decoded = type.decode(type.encode(output.event, output.format));
    if (!isDeepStrictEqual(decoded, { ok: true, events: [output.event], format: output.format })) {
      problems.push(`round trip changed ${what} into ${JSON.stringify(decoded)}`);
    }
  } catch (err) {
    problems.push(`cannot encode ${what}: ${String(err)}`);
  }
  return problems;
}

function checkOutput(type: DeviceType, output: SimOutput): void {
  expect(problemsWith(type, output)).toEqual([]);
}

describe('device catalogue', () => {
  it('has one module per registered type and nothing else in devices/', () => {
    const files = readdirSync(DEVICES_DIR, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && e.name !== 'index.ts' && e.name !== 'types.ts')
      .map((e) => e.name.replace(/\.ts$/, ''))
      .sort();
    expect(files).toEqual(deviceTypes.map((t) => t.id).sort());
  });

  it('is the one list of type ids: the site model takes its ids from it', () => {
    expect(SITE_DEVICE_TYPE_IDS).toBe(DEVICE_TYPE_IDS);
    expect([...DEVICE_TYPE_IDS]).toEqual(deviceTypes.map((t) => t.id));
    for (const id of DEVICE_TYPE_IDS) {
      expect(getDeviceType(id)?.id).toBe(id);
      expect(placementSchema.safeParse({ id: 'd-1', type: id, zone: 'z' }).success, id).toBe(true);
    }
    expect(getDeviceType('toaster')).toBeUndefined();
    expect(deviceTypeHas('toaster', 'door')).toBe(false);
    expect(placementFieldsOf('toaster')).toEqual([]);
    expect(placementSchema.safeParse({ id: 'd-1', type: 'toaster', zone: 'z' }).success).toBe(false);
  });

  it('refuses a type listed twice, two types sharing an id prefix, a malformed id, or no types at all', () => {
    const [first] = deviceTypes;
    if (!first) throw new Error('empty catalogue');
    expect(() => catalogueOf([...deviceTypes, first])).toThrow(/listed twice/);
    expect(() => catalogueOf([...deviceTypes, { ...first, id: 'another-model' }])).toThrow(/share the idPrefix/);
    expect(() => catalogueOf([...deviceTypes, { ...first, id: 'Another Model', idPrefix: 'am' }])).toThrow(/must match/);
    expect(() => catalogueOf([])).toThrow(/empty/);
    expect(new Set(deviceTypes.map((t) => t.idPrefix)).size).toBe(deviceTypes.length);
  });

  for (const type of deviceTypes) {
    describe(type.id, () => {
      it('describes itself completely', () => {
        expect(type.id).toMatch(/^[a-z0-9-]+$/);
        expect(type.label.en.length).toBeGreaterThan(0);
        expect(type.label['zh-CN'].length).toBeGreaterThan(0);
        expect(type.capabilities.length).toBeGreaterThan(0);
        expect(type.events.length).toBeGreaterThan(0);
        expect(type.formats.length).toBeGreaterThan(0);
        expect(type.heartbeatIntervalS).toBeGreaterThan(0);
        expect(new Set(type.events).size).toBe(type.events.length);
        if (type.capabilities.includes('battery')) expect(type.batteryPercent).toBeTypeOf('function');
        expect(new Set(type.capabilities).size).toBe(type.capabilities.length);
        for (const c of type.capabilities) expect(CAPABILITIES).toContain(c);
      });

      describe('does what its capabilities say, and nothing the server would take for one it lacks', () => {
        const has = (c: Capability) => type.capabilities.includes(c);

        it('sends the event of each capability it has, and no event of one it lacks', () => {
          for (const [capability, event] of Object.entries(EVENT_OF) as Array<[Capability, DeviceEventType]>) {
            expect(type.events.includes(event), `${capability} ⇔ ${event} events`).toBe(has(capability));
          }
        });

        it('reports battery volts and radio signal exactly when it says so', () => {
          const fields = new Set(examples(type).flatMap((e) => Object.keys(e.event)));
          expect(fields.has('battery'), 'battery volts in its events').toBe(has('battery'));
          expect(type.batteryPercent !== undefined, 'batteryPercent').toBe(has('battery'));
          expect(fields.has('rsrp') && fields.has('snr'), 'rsrp and snr in its events').toBe(has('signal'));
        });

        it('in simulation: a door opens, tamper trips, motion and heartbeats are sent on demand', () => {
          const sent = (action: SimAction, seed: number): DeviceEvent[] => {
            const sim = type.simulate(makeEnv({ seed }));
            const now = new Date(DAY_START + 3600_000);
            sim.boot(new Date(DAY_START));
            return [...sim.act(action, now), ...(action === 'open' ? sim.act('close', now) : [])].flatMap((o) => (o.kind === 'event' ? [o.event] : []));
          };
          // Several devices: a simulated sensor may speak a binary format that has no tamper message.
          const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
          const across = (action: SimAction) => seeds.flatMap((seed) => sent(action, seed));
          expect(across('open').some((e) => e.type === 'door'), 'door').toBe(has('door'));
          expect(across('tamper').some((e) => e.type === 'tamper' && e.active), 'tamper').toBe(has('tamper'));
          expect(across('motion').some((e) => e.type === 'motion'), 'motion').toBe(has('motion'));
          expect(across('heartbeat').some((e) => e.type === 'heartbeat'), 'heartbeat').toBe(has('heartbeat'));
        });

        it('counts people through an entrance over a day exactly when it counts footfall', () => {
          const counts = runSim(type, makeEnv({ zoneKind: 'entrance', seed: 2 }), 60_000).flatMap(({ output }) =>
            output.kind === 'event' && output.event.type === 'count' ? [output.event] : [],
          );
          if (!has('count')) return expect(counts).toEqual([]);
          expect(counts.reduce((n, c) => n + c.in, 0)).toBeGreaterThan(0);
          expect(counts.reduce((n, c) => n + c.out, 0)).toBeGreaterThan(0);
        });

        it('answers a snapshot command with a JPEG on snapshot/{id} exactly when it takes snapshots', () => {
          const sim = type.simulate(makeEnv({ seed: 3, zoneKind: 'cash-room' }));
          sim.boot(new Date(DAY_START));
          const answer = sim.command({ id: 'alarm-42', cmd: 'snapshot' }, new Date(DAY_START + 2 * 3600_000));
          if (!has('snapshot')) return expect(answer).toEqual([]);
          expect(answer).toHaveLength(1);
          const [out] = answer;
          if (out?.kind !== 'raw') throw new Error(`a snapshot is raw bytes, got ${JSON.stringify(out)}`);
          expect(out.subtopic).toBe('snapshot/alarm-42');
          // JPEG start and end of image markers.
          expect([...out.payload.subarray(0, 2)]).toEqual([0xff, 0xd8]);
          expect([...out.payload.subarray(-2)]).toEqual([0xff, 0xd9]);
        });

        it('takes in a site file the placement fields of its capabilities, and only those', () => {
          const fields = placementFieldsOf(type.id);
          expect(fields.includes('door'), 'door').toBe(has('door'));
          expect(fields.includes('counts'), 'counts').toBe(has('count'));
          expect(fields.includes('watches') && fields.includes('fov'), 'watches, fov').toBe(has('motion') || has('snapshot'));
        });
      });

      it('declares a rate budget that holds a full batch and that its busiest simulated day stays far inside', () => {
        const { perSecond, burst } = type.rateBudget;
        expect(perSecond).toBeGreaterThan(0);
        expect(Number.isInteger(burst)).toBe(true);
        // A full batch from a device at rest fits its bucket without putting it in debt.
        expect(burst).toBeGreaterThanOrEqual(MAX_EVENTS_PER_MESSAGE);
        // Healthy devices must never meet the budget: a day in every kind of zone, each minute's
        // messages arriving at once, passes a bucket ten times slower than the budget.
        for (const zoneKind of ZONE_KINDS) {
          for (const openingHours of [[9, 21], [0, 24]] as Array<[number, number]>) {
            const bucket = new TokenBucket({ perSecond: perSecond / 10, burst }, DAY_START);
            const refused = runSim(type, makeEnv({ zoneKind, seed: 4, openingHours }), 60_000).filter(({ at }) => {
              if (!bucket.admits(at)) return true;
              bucket.charge(1, at);
              return false;
            });
            expect(refused.length, `${zoneKind} ${openingHours.join('-')}`).toBe(0);
          }
        }
      });

      it('has a message checker that does catch broken messages', () => {
        const format = type.formats[0] ?? 'json';
        const bad = { kind: 'event', event: { type: type.events[0], seq: -1 }, format } as unknown as SimOutput;
        expect(problemsWith(type, bad).length).toBeGreaterThan(0);
      });

      it('has examples of every event in every format that can carry it', () => {
        const list = examples(type);
        for (const format of type.formats) expect(list.some((e) => e.format === format), format).toBe(true);
        for (const event of type.events) expect(list.some((e) => e.event.type === event), event).toBe(true);
        // JSON is the universal form: whatever a type sends, it can send as JSON.
        if (type.formats.includes('json')) {
          for (const event of type.events) expect(list.some((e) => e.format === 'json' && e.event.type === event), event).toBe(true);
        }
        for (const e of list) expect(type.formats).toContain(e.format);
      });

      it('round-trips every example: encode → decode gives the same event', () => {
        for (const { event, format } of examples(type)) {
          expect(type.schema.safeParse(event).success, JSON.stringify(event)).toBe(true);
          const bytes = type.encode(event, format);
          expect(type.decode(bytes)).toEqual({ ok: true, events: [event], format });
          if (format === 'binary') {
            // Carrier consoles forward frames as hex text; that is the same frame.
            for (const hex of [bytes.toString('hex').toUpperCase(), bytes.toString('hex'), ` ${bytes.toString('hex').replace(/(..)/g, '$1 ')}\n`]) {
              expect(type.decode(Buffer.from(hex, 'ascii'))).toEqual({ ok: true, events: [event], format });
            }
          }
        }
      });

      it('refuses to encode what a format cannot carry', () => {
        const list = examples(type);
        for (const eventType of type.events) {
          const sample = list.find((e) => e.event.type === eventType)?.event;
          if (!sample) continue;
          for (const format of ['json', 'binary'] as PayloadFormat[]) {
            if (list.some((e) => e.format === format && e.event.type === eventType)) continue;
            expect(() => type.encode(sample, format), `${eventType} as ${format}`).toThrow();
          }
        }
        const foreign: DeviceEvent[] = [
          { type: 'count', in: 1, out: 1, period: 60 },
          { type: 'motion', zone: 'x' },
          { type: 'door', state: 'open', battery: 3 },
          { type: 'tamper', active: true },
        ];
        for (const event of foreign.filter((e) => !type.events.includes(e.type))) {
          for (const format of type.formats) expect(() => type.encode(event, format)).toThrow();
        }
      });

      it('accepts unknown fields (newer firmware) and drops them', () => {
        const json = examples(type).find((e) => e.format === 'json');
        if (!json) return;
        const payload = Buffer.from(JSON.stringify({ ...json.event, firmwareBuild: 'x-17', extra: { nested: [1, 2] } }));
        expect(type.decode(payload)).toEqual({ ok: true, events: [json.event], format: 'json' });
      });

      it('decodes a JSON array of events as a batch', () => {
        const jsons = examples(type).filter((e) => e.format === 'json').map((e) => e.event);
        if (jsons.length === 0) return;
        expect(type.decode(Buffer.from(JSON.stringify(jsons)))).toEqual({ ok: true, events: jsons, format: 'json' });
        expect(expectRefused(type, Buffer.from('[]')).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
        expect(expectRefused(type, Buffer.from(JSON.stringify([...jsons, { type: 42 }]))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
      });

      it(`caps a batch at ${MAX_EVENTS_PER_MESSAGE} events, counted before any item is checked`, () => {
        const jsons = examples(type).filter((e) => e.format === 'json').map((e) => e.event);
        if (jsons.length === 0) return;
        const batch = (n: number) => Array.from({ length: n }, (_, i) => jsons[i % jsons.length]!);
        const full = batch(MAX_EVENTS_PER_MESSAGE);
        expect(type.decode(Buffer.from(JSON.stringify(full)))).toEqual({ ok: true, events: full, format: 'json' });
        const over = expectRefused(type, Buffer.from(JSON.stringify(batch(MAX_EVENTS_PER_MESSAGE + 1))));
        expect(over.code).toBe('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');
        expect(over.message).toContain(String(MAX_EVENTS_PER_MESSAGE));
        // Items that would each fail the schema: the count refuses first, without validating them.
        const junk = Buffer.from(JSON.stringify(Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, () => ({ type: 42 }))));
        expect(expectRefused(type, junk).code).toBe('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');
      });

      it('simulates a day whose every message passes the schema and decodes', () => {
        for (const zoneKind of ZONE_KINDS) {
          for (const seed of [1, 2, 3]) {
            const env = makeEnv({ zoneKind, seed, openingHours: seed === 3 ? [0, 24] : [9, 21] });
            const run = runSim(type, env, 60_000);
            expect(run.length).toBeGreaterThan(0);
            const problems: string[] = [];
            let lastSeq: number | undefined;
            for (const { at, output } of run) {
              problems.push(...problemsWith(type, output));
              if (output.kind !== 'event' || output.format !== 'json') continue;
              const { seq, ts } = output.event;
              // JSON devices number every message, wrapping like a u16.
              if (seq === undefined || (lastSeq !== undefined && seq !== (lastSeq + 1) % 65536)) problems.push(`seq ${seq} after ${lastSeq}`);
              lastSeq = seq;
              // ts is the event's own time, inside the interval the engine advanced over.
              const t = Date.parse(ts ?? '');
              if (!(t >= DAY_START - 1000 && t <= at && t > at - 61_000)) problems.push(`ts ${ts} outside the step ending ${new Date(at).toISOString()}`);
            }
            expect(problems.slice(0, 5), `${zoneKind} seed ${seed}`).toEqual([]);
          }
        }
      });

      it('simulates the same kind of day when advanced an hour at a time (3600x)', () => {
        for (const zoneKind of ['lobby', 'room', 'entrance']) {
          const env = makeEnv({ zoneKind, seed: 7 });
          const run = runSim(type, env, 3600_000);
          expect(run.flatMap(({ output }) => problemsWith(type, output)).slice(0, 5)).toEqual([]);
          const heartbeats = run.filter((r) => r.output.kind === 'event' && r.output.event.type === 'heartbeat').length;
          // Boot heartbeat plus one per interval: nothing is lost to the long steps.
          const expected = DAY_MS / 1000 / Math.max(type.heartbeatIntervalS, 600);
          expect(heartbeats).toBeGreaterThanOrEqual(Math.floor(expected));
          expect(heartbeats).toBeLessThanOrEqual(Math.ceil(expected) + 1);
        }
      });

      it('is reproducible from its seed', () => {
        const a = runSim(type, makeEnv({ seed: 11, zoneKind: 'lobby' }), 300_000, 6 * 3600_000);
        const b = runSim(type, makeEnv({ seed: 11, zoneKind: 'lobby' }), 300_000, 6 * 3600_000);
        expect(b).toEqual(a);
      });

      it('answers manual actions with valid messages or nothing, and ignores zero elapsed time', () => {
        const sim = type.simulate(makeEnv({ seed: 5 }));
        const now = new Date(DAY_START + 3600_000);
        sim.boot(new Date(DAY_START));
        expect(sim.advance(now, 0)).toEqual([]);
        for (const action of ACTIONS) for (const output of sim.act(action, now)) checkOutput(type, output);
        expect(sim.command({ id: 'c1', cmd: 'reboot-into-orbit' }, now)).toEqual([]);
      });

      describe('refuses corrupted payloads with a code and never throws', () => {
        it('random bytes', () => {
          const random = seededRandom(99);
          for (let i = 0; i < 500; i++) {
            const bytes = Buffer.alloc(Math.floor(random() * 120));
            for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
            // Half of them look like the start of a frame, to reach past the header check.
            if (i % 2 === 0 && bytes.length >= 2) bytes.set([0xaa, 0x55]);
            expectRefused(type, bytes);
          }
          for (const s of ['', ' ', '\n', 'null', '42', '"door"', 'true', '{', '}', '[1,2]', '{"type":null}', '\u00ff\u00fe']) {
            expectRefused(type, Buffer.from(s));
          }
          expectRefused(type, Buffer.from([0xc3, 0x28])); // invalid UTF-8
        });

        it('truncated payloads', () => {
          for (const { event, format } of examples(type)) {
            const bytes = type.encode(event, format);
            for (let n = 0; n < bytes.length; n++) {
              const r = expectRefused(type, bytes.subarray(0, n));
              if (format === 'binary' && n >= 2) expect(FRAME_CODES).toContain(r.code);
            }
          }
        });

        it('bit flips', () => {
          for (const { event, format } of examples(type)) {
            const bytes = type.encode(event, format);
            for (let bit = 0; bit < bytes.length * 8; bit++) {
              const flipped = Buffer.from(bytes);
              flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
              if (format === 'binary') {
                // The checksum catches every single-bit error in a frame.
                expectRefused(type, flipped);
              } else {
                // A flipped digit can be another valid event; it must still never throw.
                let result: DecodeResult | undefined;
                expect(() => (result = type.decode(flipped))).not.toThrow();
                if (result && !result.ok) expect(Object.keys(ERRORS)).toContain(result.code);
              }
            }
          }
        });

        it('JSON with wrong types, no type or a foreign type', () => {
          const wrong: Record<string, unknown[]> = {
            number: ['12', true, null, {}, [], 'NaN'],
            string: [12, true, null, {}, ['a']],
            boolean: ['yes', 1, null, {}],
          };
          for (const { event, format } of examples(type)) {
            if (format !== 'json') continue;
            for (const [key, value] of Object.entries(event)) {
              if (key === 'type') continue;
              for (const bad of wrong[typeof value] ?? []) {
                const r = expectRefused(type, Buffer.from(JSON.stringify({ ...event, [key]: bad })));
                expect(r.code, `${event.type}.${key} = ${JSON.stringify(bad)}`).toBe('STW_ERR_PAYLOAD_SCHEMA');
              }
            }
            const { type: _type, ...untyped } = event;
            expect(expectRefused(type, Buffer.from(JSON.stringify(untyped))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
            expect(expectRefused(type, Buffer.from(JSON.stringify({ ...event, type: 7 }))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
            expect(expectRefused(type, Buffer.from(JSON.stringify({ ...event, seq: -1 }))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
            expect(expectRefused(type, Buffer.from(JSON.stringify({ ...event, seq: 1.5 }))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
            expect(expectRefused(type, Buffer.from(JSON.stringify({ ...event, ts: '23/11/2026 02:14' }))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
            expect(expectRefused(type, Buffer.from(JSON.stringify({ ...event, ts: '2026-11-23T02:14:07' }))).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
          }
          expect(expectRefused(type, Buffer.from('{"type":"firmware-update","seq":1}')).code).toBe('STW_ERR_EVENT_UNSUPPORTED');
          expect(expectRefused(type, Buffer.from('{"type":"door",')).code).toBe('STW_ERR_PAYLOAD_MALFORMED_JSON');
        });

        it('deeply nested and huge JSON', () => {
          expectRefused(type, Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)));
          // The flood of issue 9: hundreds of small events in one message.
          const many = Buffer.from(JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ type: type.events[0], seq: i }))));
          expect(expectRefused(type, many).code).toBe('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');
          expect(expectRefused(type, Buffer.from(`[${'0,'.repeat(99_999)}0]`)).code).toBe('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');
          const big = Buffer.from(JSON.stringify({ type: type.events[0], seq: 'x', pad: 'y'.repeat(1_000_000) }));
          expect(expectRefused(type, big).code).toBe('STW_ERR_PAYLOAD_SCHEMA');
        });
      });
    });
  }
});
