/** The footfall counter: a count every minute following opening hours, occupancy that stays plausible. */
import { describe, expect, it } from 'vitest';
import { getDeviceType } from '../../devices/index.ts';
import type { CountEvent, DeviceType } from '../../devices/types.ts';
import { localHourOf, makeEnv, runSim } from './sim-helpers.ts';

const counter = getDeviceType('footfall-counter') as DeviceType;

function counts(seed: number, openingHours: [number, number], stepMs = 60_000): CountEvent[] {
  return runSim(counter, makeEnv({ seed, zoneKind: 'entrance', openingHours }), stepMs).flatMap((r) =>
    r.output.kind === 'event' && r.output.event.type === 'count' ? [r.output.event] : [],
  );
}

describe('footfall-counter: simulated', () => {
  it('sends a 60 s count every minute of the day, also when advanced an hour at a time', () => {
    for (const stepMs of [60_000, 3600_000]) {
      const list = counts(1, [9, 21], stepMs);
      expect(list).toHaveLength(1440);
      for (const c of list) expect(c.period).toBe(60);
    }
  });

  it('counts zero when the shop is closed, and everyone is out by closing time', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      let occupancy = 0;
      let total = 0;
      for (const c of counts(seed, [9, 21])) {
        // ts closes the minute, so the minute started one minute earlier.
        const hour = localHourOf(c.ts ?? '') - 1 / 60;
        const open = hour >= 9 - 1e-9 && hour < 21;
        if (!open) expect(c, `at ${c.ts}`).toMatchObject({ in: 0, out: 0 });
        occupancy += c.in - c.out;
        total += c.in;
        expect(occupancy).toBeGreaterThanOrEqual(0);
      }
      expect(occupancy).toBe(0);
      expect(total).toBeGreaterThan(300);
    }
  });

  it('peaks around noon and in the evening', () => {
    const byHour = new Array<number>(24).fill(0);
    for (const seed of [1, 2, 3, 4]) {
      for (const c of counts(seed, [9, 21])) byHour[Math.floor(localHourOf(c.ts ?? '') - 1 / 60)]! += c.in;
    }
    const [nine = 0, noon = 0, three = 0, evening = 0] = [byHour[9], byHour[12], byHour[15], byHour[18]];
    expect(noon).toBeGreaterThan(1.3 * nine);
    expect(noon).toBeGreaterThan(1.2 * three);
    expect(evening).toBeGreaterThan(1.2 * three);
  });

  it('keeps a hotel entrance counting around the clock, quiet at night', () => {
    const list = counts(2, [0, 24]);
    const night = list.filter((c) => localHourOf(c.ts ?? '') < 5).reduce((a, c) => a + c.in, 0);
    const evening = list.filter((c) => localHourOf(c.ts ?? '') >= 18 && localHourOf(c.ts ?? '') < 23).reduce((a, c) => a + c.in, 0);
    expect(evening).toBeGreaterThan(4 * night);
    const inside = list.reduce((a, c) => a + c.in - c.out, 0);
    expect(inside).toBeGreaterThanOrEqual(0);
    expect(inside).toBeLessThan(400);
  });

  it('answers only a heartbeat action', () => {
    const sim = counter.simulate(makeEnv());
    const now = new Date();
    expect(sim.act('heartbeat', now)).toMatchObject([{ kind: 'event', event: { type: 'heartbeat' } }]);
    expect(sim.act('open', now)).toEqual([]);
    expect(sim.act('motion', now)).toEqual([]);
  });
});
