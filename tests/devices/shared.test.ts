/** The small helpers device types are composed from. */
import { describe, expect, it } from 'vitest';
import { publicTraffic, shopTraffic, workingHours } from '../../devices/shared/activity.ts';
import { arrivals } from '../../devices/shared/arrivals.ts';
import { batteryPercent, batteryVolts, BatteryModel } from '../../devices/shared/battery.ts';
import { Periodic } from '../../devices/shared/heartbeat.ts';
import { poisson } from '../../devices/shared/random.ts';
import { classifySignal, SignalModel } from '../../devices/shared/signal.ts';
import { hoursUntilClose, isoSeconds, isWithin, localTime } from '../../devices/shared/time.ts';
import { seededRandom } from './sim-helpers.ts';

const HOUR = 3600_000;

describe('battery', () => {
  it('maps lithium cell volts to a falling percentage', () => {
    const volts = [3.4, 3.2, 3.1, 3.0, 2.9, 2.8, 2.6, 2.2, 1.5];
    const pct = volts.map(batteryPercent);
    expect(pct[0]).toBe(100);
    expect(pct.at(-1)).toBe(0);
    for (let i = 1; i < pct.length; i++) expect(pct[i]).toBeLessThanOrEqual(pct[i - 1] ?? 100);
    expect(batteryPercent(Number.NaN)).toBe(0);
    for (const p of [5, 20, 50, 90]) expect(batteryPercent(batteryVolts(p))).toBeCloseTo(p, 0);
  });

  it('drains slowly: a year costs tens of percent, a day nothing visible', () => {
    const model = new BatteryModel(seededRandom(4));
    const start = model.read(0);
    expect(Math.abs(model.read(24 * HOUR) - start)).toBeLessThan(0.02);
    const yearLater = model.read(365 * 24 * HOUR);
    expect(batteryPercent(start) - batteryPercent(yearLater)).toBeGreaterThan(10);
    expect(batteryPercent(start) - batteryPercent(yearLater)).toBeLessThan(60);
  });
});

describe('signal', () => {
  it('classifies RSRP, one level worse when SNR is negative', () => {
    expect(classifySignal(-75)).toBe('excellent');
    expect(classifySignal(-90)).toBe('good');
    expect(classifySignal(-100)).toBe('fair');
    expect(classifySignal(-110)).toBe('poor');
    expect(classifySignal(-125)).toBe('bad');
    expect(classifySignal(-75, -3)).toBe('good');
  });

  it('wanders around a per-device baseline between -70 and -115 dBm', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const model = new SignalModel(seededRandom(seed));
      expect(model.baseline).toBeGreaterThanOrEqual(-115);
      expect(model.baseline).toBeLessThanOrEqual(-70);
      const readings = Array.from({ length: 500 }, (_, i) => model.read(i * HOUR));
      const mean = readings.reduce((a, r) => a + r.rsrp, 0) / readings.length;
      expect(Math.abs(mean - model.baseline)).toBeLessThan(3);
      for (const r of readings) {
        expect(r.ecl).toBeGreaterThanOrEqual(0);
        expect(r.ecl).toBeLessThanOrEqual(2);
        expect(r.csq).toBeLessThanOrEqual(31);
        expect(r.pci).toBeLessThanOrEqual(503);
      }
    }
  });
});

describe('time and activity', () => {
  it('reads local time in the site time zone', () => {
    const t = Date.parse('2026-11-22T18:30:00Z');
    expect(localTime(t, 'Asia/Shanghai')).toEqual({ hour: 2.5, text: '2026-11-23 02:30:00' });
    expect(localTime(t, 'Europe/Paris').hour).toBe(19.5);
    expect(localTime(t, 'Not/AZone').hour).toBeGreaterThanOrEqual(0);
    expect(isoSeconds(t + 999)).toBe('2026-11-22T18:30:00Z');
  });

  it('handles opening hours, including ones past midnight', () => {
    expect(isWithin(12, [9, 21])).toBe(true);
    expect(isWithin(21, [9, 21])).toBe(false);
    expect(isWithin(23, [22, 2])).toBe(true);
    expect(isWithin(1, [22, 2])).toBe(true);
    expect(isWithin(3, [0, 24])).toBe(true);
    expect(hoursUntilClose(20.5, [9, 21])).toBe(0.5);
    expect(hoursUntilClose(23, [22, 2])).toBe(3);
    expect(hoursUntilClose(3, [0, 24])).toBe(Infinity);
    expect(workingHours([9, 21])).toEqual([8, 21.5]);
    expect(workingHours([0, 24])).toEqual([8, 18]);
  });

  it('traffic is zero when a shop is closed and busiest around noon and evening', () => {
    expect(shopTraffic(7, [9, 21])).toBe(0);
    expect(shopTraffic(22, [9, 21])).toBe(0);
    expect(shopTraffic(12.5, [9, 21])).toBeGreaterThan(shopTraffic(15.5, [9, 21]));
    expect(shopTraffic(18.5, [9, 21])).toBeGreaterThan(shopTraffic(15.5, [9, 21]));
    expect(publicTraffic(3, [0, 24])).toBeLessThan(0.1);
    expect(publicTraffic(19.5, [0, 24])).toBeGreaterThan(0.5);
  });
});

describe('event timing', () => {
  it('draws the same number of arrivals whatever the step size (Poisson, not coin flips)', () => {
    const total = (stepMs: number): number => {
      const random = seededRandom(stepMs);
      let n = 0;
      for (let t = 0; t < 100 * HOUR; t += stepMs) n += arrivals(random, t, t + stepMs, () => 60).length;
      return n;
    };
    for (const stepMs of [1000, 60_000, HOUR, 10 * HOUR]) {
      expect(total(stepMs)).toBeGreaterThan(5700);
      expect(total(stepMs)).toBeLessThan(6300);
    }
  });

  it('ticks every interval however far the clock jumps', () => {
    const p = new Periodic(HOUR, 0.5 * HOUR);
    p.start(0);
    expect(p.due(0, 10 * HOUR)).toHaveLength(10);
    expect(p.due(10 * HOUR, 10.6 * HOUR)).toEqual([10.5 * HOUR]);
    const aligned = new Periodic(60_000, 60_000, true);
    aligned.start(90_000);
    expect(aligned.due(90_000, 200_000)).toEqual([120_000, 180_000]);
  });

  it('poisson has the right mean for small and large means', () => {
    const random = seededRandom(8);
    for (const lambda of [0.3, 4, 80]) {
      let sum = 0;
      for (let i = 0; i < 4000; i++) sum += poisson(random, lambda);
      expect(sum / 4000).toBeCloseTo(lambda, lambda < 1 ? 1 : 0);
    }
    expect(poisson(random, 0)).toBe(0);
  });
});
