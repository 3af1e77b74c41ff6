/** The camera: a real JPEG on a snapshot command, motion following people through the day. */
import { decode as decodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { getDeviceType } from '../../devices/index.ts';
import type { DeviceType, SimOutput } from '../../devices/types.ts';
import { jpegComment } from '../../devices/shared/snapshot.ts';
import { DAY_START, localHourOf, makeEnv, runSim } from './sim-helpers.ts';

const camera = getDeviceType('camera') as DeviceType;

function snapshot(outputs: SimOutput[]): { subtopic: string; payload: Buffer } {
  const [first] = outputs;
  if (outputs.length !== 1 || first?.kind !== 'raw') throw new Error(`expected one raw output, got ${JSON.stringify(outputs)}`);
  return first;
}

/** JPEG markers up to the start of scan: SOF0 means baseline DCT, SOF2 progressive. */
function markers(jpeg: Buffer): number[] {
  const found: number[] = [];
  let i = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1] ?? 0;
    found.push(marker);
    if (marker === 0xda) break;
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  return found;
}

describe('camera: snapshots', () => {
  it('answers a snapshot command with a baseline 320x240 JPEG on snapshot/<id>', () => {
    const sim = camera.simulate(makeEnv({ zoneKind: 'lobby', label: 'Lobby cam 1' }));
    const now = new Date(DAY_START + 12 * 3600_000);
    sim.boot(now);
    const { subtopic, payload } = snapshot(sim.command({ id: 'cmd-42', cmd: 'snapshot' }, now));
    expect(subtopic).toBe('snapshot/cmd-42');
    expect(payload.readUInt16BE(0)).toBe(0xffd8);
    expect(payload.readUInt16BE(payload.length - 2)).toBe(0xffd9);
    const image = decodeJpeg(payload, { useTArray: true });
    expect(image.width).toBe(320);
    expect(image.height).toBe(240);
    expect(markers(payload)).toContain(0xc0);
    expect(markers(payload)).not.toContain(0xc2);
    expect(payload.length).toBeGreaterThan(5_000);
    expect(payload.length).toBeLessThan(100_000);
  });

  it('stamps the picture with when it was taken, not the simulated clock (the alarm’s clock)', () => {
    const simNow = new Date(DAY_START + 3 * 3600_000);
    const shoot = (takenAt: Date) => {
      const sim = camera.simulate(makeEnv({ zoneKind: 'corridor', label: 'Corridor 3F', seed: 7 }));
      return decodeJpeg(snapshot(sim.command({ id: 'a', cmd: 'snapshot' }, simNow, takenAt)).payload, { useTArray: true });
    };
    const takenAt = new Date('2026-11-23T11:49:00.000Z');
    const sim = camera.simulate(makeEnv({ zoneKind: 'corridor', seed: 7 }));
    expect(jpegComment(snapshot(sim.command({ id: 'a', cmd: 'snapshot' }, simNow, takenAt)).payload)).toBe(`taken ${takenAt.toISOString()}`);
    // The same scene taken at two times differs only in the time band at the top.
    const a = shoot(takenAt);
    const b = shoot(new Date(takenAt.getTime() + 7 * 3600_000));
    const band = (img: { data: Uint8Array; width: number }, y0: number, y1: number) => img.data.subarray(y0 * img.width * 4, y1 * img.width * 4);
    expect(Buffer.from(band(a, 0, 20)).equals(Buffer.from(band(b, 0, 20)))).toBe(false);
    expect(Buffer.from(band(a, 40, 200)).equals(Buffer.from(band(b, 40, 200)))).toBe(true);
  });

  it('burns text into the overlay bands (bright pixels on a dark band)', () => {
    const sim = camera.simulate(makeEnv({ zoneKind: 'corridor', label: 'Corridor 3F' }));
    const { payload } = snapshot(sim.command({ id: 'a', cmd: 'snapshot' }, new Date(DAY_START + 15 * 3600_000)));
    const { data, width } = decodeJpeg(payload, { useTArray: true });
    let bright = 0;
    let dark = 0;
    for (let y = 4; y < 18; y++) {
      for (let x = 6; x < 230; x++) {
        const v = data[(y * width + x) * 4] ?? 0;
        if (v > 200) bright++;
        if (v < 110) dark++;
      }
    }
    expect(bright).toBeGreaterThan(200);
    expect(dark).toBeGreaterThan(200);
  });

  it('draws different pictures for different times', () => {
    const sim = camera.simulate(makeEnv({ zoneKind: 'lobby' }));
    const a = snapshot(sim.command({ id: 'a', cmd: 'snapshot' }, new Date(DAY_START + 3 * 3600_000))).payload;
    const b = snapshot(sim.command({ id: 'b', cmd: 'snapshot' }, new Date(DAY_START + 13 * 3600_000))).payload;
    expect(a.equals(b)).toBe(false);
  });

  it('ignores other commands and ids that cannot be a topic level', () => {
    const sim = camera.simulate(makeEnv());
    const now = new Date(DAY_START);
    for (const id of ['a/b', '+', '#', '', 'x'.repeat(200)]) expect(sim.command({ id, cmd: 'snapshot' }, now)).toEqual([]);
    expect(sim.command({ id: 'ok', cmd: 'reboot' }, now)).toEqual([]);
  });
});

describe('camera: simulated', () => {
  it('reports motion in busy zones by day, hardly at night, and a heartbeat every ten minutes', () => {
    let day = 0;
    let night = 0;
    for (const seed of [1, 2, 3, 4]) {
      const run = runSim(camera, makeEnv({ seed, zoneKind: 'lobby', openingHours: [0, 24] }), 60_000);
      const events = run.flatMap((r) => (r.output.kind === 'event' ? [r.output.event] : []));
      expect(events.filter((e) => e.type === 'heartbeat').length).toBeGreaterThanOrEqual(144);
      for (const e of events) {
        if (e.type !== 'motion' || !e.ts) continue;
        const hour = localHourOf(e.ts);
        if (hour >= 9 && hour < 21) day++;
        if (hour >= 1 && hour < 5) night++;
      }
    }
    expect(day).toBeGreaterThan(200);
    expect(day).toBeGreaterThan(10 * night);
  });

  it('lobbies see more motion than offices', () => {
    const motions = (zoneKind: string): number =>
      runSim(camera, makeEnv({ seed: 3, zoneKind }), 60_000).filter((r) => r.output.kind === 'event' && r.output.event.type === 'motion').length;
    expect(motions('lobby')).toBeGreaterThan(motions('office'));
  });

  it('reports motion on a technician\'s command', () => {
    const sim = camera.simulate(makeEnv());
    const now = new Date(DAY_START);
    expect(sim.act('motion', now)).toMatchObject([{ kind: 'event', event: { type: 'motion', label: 'person' } }]);
    expect(sim.act('open', now)).toEqual([]);
  });
});
