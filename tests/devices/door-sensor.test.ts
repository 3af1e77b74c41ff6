/** The NB-IoT door sensor: real AA55 frames, refusals with the right code, and its simulated day. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getDeviceType } from '../../devices/index.ts';
import { aa55Checksum, buildAa55Frame } from '../../devices/shared/aa55.ts';
import type { DecodeResult, DeviceEvent, DeviceType, SimOutput } from '../../devices/types.ts';
import { DAY_START, localHourOf, makeEnv, runSim, type TimedOutput } from './sim-helpers.ts';

const door = getDeviceType('door-sensor') as DeviceType;
const FIXTURE = readFileSync(new URL('../fixtures/door-magnet-aa55.md', import.meta.url), 'utf8');
/** The example frames of the fixture, in the order it lists them (heartbeat, alarm). */
const FRAMES = [...FIXTURE.matchAll(/`(AA55[0-9A-F]+)`/g)].map((m) => m[1] ?? '');
const [HEARTBEAT_HEX = '', ALARM_HEX = ''] = FRAMES;

function frame(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

function refusal(result: DecodeResult): string {
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.events)}`);
  return result.code;
}

/** A frame rebuilt with a valid checksum after editing its bytes. */
function withChecksum(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out[out.length - 1] = aa55Checksum(out, 2, out.length - 1);
  return out;
}

const events = (run: TimedOutput[]): Array<{ at: number; event: DeviceEvent; output: SimOutput }> =>
  run.flatMap(({ at, output }) => (output.kind === 'event' ? [{ at, event: output.event, output }] : []));

describe('door-sensor: the real AA55 frames of the fixture', () => {
  it('finds both frames in the fixture', () => {
    expect(FRAMES).toHaveLength(2);
  });

  it('decodes the heartbeat to exactly the documented values', () => {
    expect(door.decode(frame(HEARTBEAT_HEX))).toEqual({
      ok: true,
      format: 'binary',
      events: [{ type: 'heartbeat', door: 'open', battery: 3.155, cellId: 0x009c6453, rsrp: -78, pci: 173, snr: 17, ecl: 0, csq: 19 }],
    });
  });

  it('decodes the alarm to exactly the documented values', () => {
    expect(door.decode(frame(ALARM_HEX))).toEqual({ ok: true, format: 'binary', events: [{ type: 'door', state: 'open', battery: 3.112 }] });
  });

  it('decodes the same frames sent as hex text', () => {
    for (const hex of [HEARTBEAT_HEX, ALARM_HEX]) {
      const expected = door.decode(frame(hex));
      expect(door.decode(Buffer.from(hex))).toEqual(expected);
      expect(door.decode(Buffer.from(hex.toLowerCase()))).toEqual(expected);
      expect(door.decode(Buffer.from(`${hex}\r\n`))).toEqual(expected);
    }
  });

  it('encodes the decoded events back to the very same bytes', () => {
    for (const hex of [HEARTBEAT_HEX, ALARM_HEX]) {
      const result = door.decode(frame(hex));
      if (!result.ok || !result.events[0]) throw new Error('fixture frame refused');
      expect(door.encode(result.events[0], 'binary').toString('hex').toUpperCase()).toBe(hex);
    }
  });
});

describe('door-sensor: refused frames', () => {
  const heartbeat = frame(HEARTBEAT_HEX);

  it('bad checksum → STW_ERR_FRAME_CHECKSUM', () => {
    const bad = Buffer.from(heartbeat);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
    expect(refusal(door.decode(bad))).toBe('STW_ERR_FRAME_CHECKSUM');
    const data = Buffer.from(heartbeat);
    data[11] = 0x00; // battery low byte changed, checksum not
    expect(refusal(door.decode(data))).toBe('STW_ERR_FRAME_CHECKSUM');
  });

  it('truncated frame → STW_ERR_FRAME_LENGTH', () => {
    expect(refusal(door.decode(heartbeat.subarray(0, heartbeat.length - 1)))).toBe('STW_ERR_FRAME_LENGTH');
    expect(refusal(door.decode(heartbeat.subarray(0, 4)))).toBe('STW_ERR_FRAME_LENGTH');
    expect(refusal(door.decode(Buffer.from(HEARTBEAT_HEX.slice(0, 20))))).toBe('STW_ERR_FRAME_LENGTH');
  });

  it('data length that does not fit the command → STW_ERR_FRAME_LENGTH', () => {
    const data = heartbeat.subarray(5, heartbeat.length - 1);
    expect(refusal(door.decode(buildAa55Frame({ deviceType: 1, command: 0x02, data: data.subarray(0, 19) })))).toBe('STW_ERR_FRAME_LENGTH');
    expect(refusal(door.decode(buildAa55Frame({ deviceType: 1, command: 0x03, data })))).toBe('STW_ERR_FRAME_LENGTH');
  });

  it('unknown command → STW_ERR_FRAME_UNKNOWN_COMMAND', () => {
    const bad = Buffer.from(heartbeat);
    bad[3] = 0x07;
    expect(refusal(door.decode(withChecksum(bad)))).toBe('STW_ERR_FRAME_UNKNOWN_COMMAND');
  });

  it('trailing bytes → STW_ERR_FRAME_MALFORMED', () => {
    expect(refusal(door.decode(Buffer.concat([heartbeat, Buffer.from([0x00])])))).toBe('STW_ERR_FRAME_MALFORMED');
    expect(refusal(door.decode(Buffer.from(`${ALARM_HEX}AA55`)))).toBe('STW_ERR_FRAME_MALFORMED');
  });

  it('another device type or broken hex → STW_ERR_FRAME_MALFORMED', () => {
    const other = Buffer.from(heartbeat);
    other[2] = 0x02;
    expect(refusal(door.decode(withChecksum(other)))).toBe('STW_ERR_FRAME_MALFORMED');
    expect(refusal(door.decode(Buffer.from(`${ALARM_HEX}0`)))).toBe('STW_ERR_FRAME_MALFORMED');
    expect(refusal(door.decode(Buffer.from(`AA55ZZ${ALARM_HEX.slice(6)}`)))).toBe('STW_ERR_FRAME_MALFORMED');
  });
});

describe('door-sensor: JSON', () => {
  const decode = (value: unknown): DecodeResult => door.decode(Buffer.from(JSON.stringify(value)));

  it('decodes the documented examples', () => {
    expect(decode({ type: 'door', state: 'open', seq: 41, ts: '2026-11-23T02:14:07Z' })).toEqual({
      ok: true,
      format: 'json',
      events: [{ type: 'door', state: 'open', seq: 41, ts: '2026-11-23T02:14:07Z' }],
    });
    expect(decode({ type: 'heartbeat', battery: 3.02, rsrp: -97, seq: 42 })).toEqual({
      ok: true,
      format: 'json',
      events: [{ type: 'heartbeat', battery: 3.02, rsrp: -97, seq: 42 }],
    });
  });

  it('normalises "close" to "closed", in door events and heartbeats', () => {
    expect(decode({ type: 'door', state: 'close' })).toMatchObject({ ok: true, events: [{ state: 'closed' }] });
    expect(decode({ type: 'heartbeat', door: 'close' })).toMatchObject({ ok: true, events: [{ door: 'closed' }] });
    expect(refusal(decode({ type: 'door', state: 'ajar' }))).toBe('STW_ERR_PAYLOAD_SCHEMA');
    expect(refusal(decode({ type: 'door' }))).toBe('STW_ERR_PAYLOAD_SCHEMA');
  });

  it('takes a bare tamper as tripped', () => {
    expect(decode({ type: 'tamper', seq: 1 })).toMatchObject({ ok: true, events: [{ type: 'tamper', active: true, seq: 1 }] });
  });

  it('refuses millivolts and impossible radio values with a readable message', () => {
    const mv = decode({ type: 'heartbeat', battery: 3020 });
    expect(mv).toMatchObject({ ok: false, code: 'STW_ERR_PAYLOAD_SCHEMA' });
    expect(mv.ok ? '' : mv.message).toMatch(/battery.*volts/);
    expect(refusal(decode({ type: 'heartbeat', rsrp: 97 }))).toBe('STW_ERR_PAYLOAD_SCHEMA');
    expect(refusal(decode({ type: 'heartbeat', ecl: 3 }))).toBe('STW_ERR_PAYLOAD_SCHEMA');
  });

  it('refuses events a door sensor does not send', () => {
    expect(refusal(decode({ type: 'count', in: 1, out: 0, period: 60 }))).toBe('STW_ERR_EVENT_UNSUPPORTED');
    expect(refusal(decode({ type: 'motion' }))).toBe('STW_ERR_EVENT_UNSUPPORTED');
  });

  it('cannot put tamper, or a door event without its battery, in a frame', () => {
    expect(() => door.encode({ type: 'tamper', active: true }, 'binary')).toThrow();
    expect(() => door.encode({ type: 'door', state: 'open' }, 'binary')).toThrow();
    expect(() => door.encode({ type: 'heartbeat', battery: 3 }, 'binary')).toThrow();
  });

  it('estimates battery charge of the lithium cell', () => {
    const pct = door.batteryPercent;
    if (!pct) throw new Error('door sensor must estimate battery charge');
    expect(pct(3.3)).toBe(100);
    expect(pct(3.155)).toBeGreaterThan(85);
    expect(pct(2.0)).toBe(0);
    expect(pct(2.7)).toBeLessThan(pct(3.0));
  });
});

describe('door-sensor: simulated', () => {
  const seeds = Array.from({ length: 24 }, (_, i) => i + 1);

  it('speaks AA55 frames on some devices and JSON on others, chosen by the seed', () => {
    const formats = seeds.map((seed) => events(runSim(door, makeEnv({ seed, zoneKind: 'room' }), 3600_000, 3600_000))[0]?.output);
    const binary = formats.filter((o) => o?.kind === 'event' && o.format === 'binary').length;
    expect(binary).toBeGreaterThan(2);
    expect(binary).toBeLessThan(seeds.length - 2);
  });

  it('registers at boot, then sends an hourly heartbeat with battery and signal', () => {
    for (const seed of seeds.slice(0, 8)) {
      const list = events(runSim(door, makeEnv({ seed, zoneKind: 'room' }), 60_000));
      expect(list[0]?.event.type).toBe('register');
      const beats = list.map((e) => e.event).filter((e) => e.type === 'heartbeat');
      expect(beats.length).toBeGreaterThanOrEqual(24);
      expect(beats.length).toBeLessThanOrEqual(26);
      for (const b of beats) {
        if (b.type !== 'heartbeat') continue;
        expect(b.battery).toBeGreaterThanOrEqual(2);
        expect(b.battery).toBeLessThanOrEqual(3.3);
        expect(b.rsrp).toBeGreaterThanOrEqual(-140);
        expect(b.rsrp).toBeLessThanOrEqual(-44);
        expect(b.door).toMatch(/^(open|closed)$/);
      }
      const rsrp = beats.map((b) => (b.type === 'heartbeat' ? (b.rsrp ?? 0) : 0));
      const mean = rsrp.reduce((a, b) => a + b, 0) / rsrp.length;
      // Wandering around a per-device baseline in -70..-115 dBm.
      expect(mean).toBeGreaterThan(-125);
      expect(mean).toBeLessThan(-60);
    }
  });

  it('binary devices send no seq, ts or tamper; JSON devices number their messages', () => {
    for (const seed of seeds) {
      const list = events(runSim(door, makeEnv({ seed, zoneKind: 'lobby' }), 600_000));
      for (const { event, output } of list) {
        if (output.kind !== 'event') continue;
        if (output.format === 'binary') {
          expect(event.seq).toBeUndefined();
          expect(event.type).not.toBe('tamper');
        } else {
          expect(event.seq).toBeTypeOf('number');
        }
      }
    }
  });

  it('guest rooms open in the morning and evening, rarely at night', () => {
    const hours = new Array<number>(24).fill(0);
    for (const seed of seeds) {
      for (const { at, event } of events(runSim(door, makeEnv({ seed, zoneKind: 'room', openingHours: [0, 24] }), 60_000))) {
        if (event.type === 'door' && event.state === 'open') hours[Math.floor(localHourOf(new Date(at - 1).toISOString()))]!++;
      }
    }
    const sum = (from: number, to: number): number => hours.slice(from, to).reduce((a, b) => a + b, 0);
    const perRoomDay = sum(0, 24) / seeds.length;
    expect(perRoomDay).toBeGreaterThan(3);
    expect(perRoomDay).toBeLessThan(25);
    expect(sum(7, 10)).toBeGreaterThan(3 * sum(1, 5));
    expect(sum(17, 22)).toBeGreaterThan(3 * sum(1, 5));
  });

  it('offices and cash rooms open during working hours only', () => {
    for (const zoneKind of ['office', 'cash-room']) {
      let daytime = 0;
      for (const seed of seeds) {
        for (const { at, event } of events(runSim(door, makeEnv({ seed, zoneKind, openingHours: [9, 21] }), 60_000))) {
          if (event.type !== 'door' || event.state !== 'open') continue;
          const hour = localHourOf(new Date(at - 1).toISOString());
          // Staff are in from an hour before opening to half an hour after closing.
          expect(hour >= 8 && hour < 21.5, `${zoneKind} opened at ${hour}`).toBe(true);
          daytime++;
        }
      }
      expect(daytime).toBeGreaterThan(seeds.length);
    }
  });

  it('keeps doors open for seconds to minutes, occasionally long', () => {
    const durations: number[] = [];
    for (const seed of seeds.slice(0, 6)) {
      let openedAt: number | null = null;
      for (const { event } of events(runSim(door, makeEnv({ seed, zoneKind: 'lobby' }), 60_000))) {
        if (event.type !== 'door' || !event.ts) continue;
        if (event.state === 'open') openedAt = Date.parse(event.ts);
        else if (openedAt !== null) durations.push((Date.parse(event.ts) - openedAt) / 1000);
      }
    }
    durations.sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)] ?? 0;
    expect(durations.length).toBeGreaterThan(100);
    expect(median).toBeGreaterThanOrEqual(2);
    expect(median).toBeLessThan(30);
    expect(durations.at(-1)).toBeLessThanOrEqual(31 * 60);
    expect(durations.filter((d) => d > 240).length).toBeGreaterThan(0);
  });

  it('opens, closes, trips and reports on a technician\'s command', () => {
    const jsonSeed = seeds.find((seed) => {
      const first = runSim(door, makeEnv({ seed }), 1000, 1000)[0]?.output;
      return first?.kind === 'event' && first.format === 'json';
    });
    const sim = door.simulate(makeEnv({ seed: jsonSeed ?? 1, zoneKind: 'office' }));
    const at = new Date(DAY_START + 2 * 3600_000); // 02:00, nobody in the office
    sim.boot(new Date(DAY_START));
    sim.advance(at, 2 * 3600_000);
    const types = (outs: SimOutput[]): unknown[] => outs.map((o) => (o.kind === 'event' ? o.event : null));
    expect(types(sim.act('open', at))).toMatchObject([{ type: 'door', state: 'open' }]);
    expect(sim.act('open', at)).toEqual([]);
    expect(types(sim.act('close', at))).toMatchObject([{ type: 'door', state: 'closed' }]);
    expect(types(sim.act('tamper', at))).toMatchObject([{ type: 'tamper', active: true }]);
    expect(types(sim.act('heartbeat', at))).toMatchObject([{ type: 'heartbeat', door: 'closed' }]);
    expect(sim.act('motion', at)).toEqual([]);
    // A tamper restores by itself within minutes.
    const later = sim.advance(new Date(at.getTime() + 15 * 60_000), 15 * 60_000);
    expect(types(later)).toContainEqual(expect.objectContaining({ type: 'tamper', active: false }));
  });
});
