/**
 * Battery of NB-IoT sensors: a 3 V lithium primary cell (Li-MnO2, CR123A class). Its voltage
 * sits near 3.0–3.2 V for most of its life and falls steeply at the end, so the percentage is
 * an estimate good enough for a low-battery warning, not a fuel gauge.
 */
import { z } from 'zod';
import { normal, uniform, chance, type Random } from './random.ts';
import { DAY_MS } from './time.ts';

/** Volts; refusing values in the thousands catches firmware that sends millivolts. */
export const batteryField = z
  .number()
  .min(0)
  .max(12, 'battery is in volts (e.g. 3.02), not millivolts')
  .optional();

/** (volts, percent) under a light NB-IoT load, from typical Li-MnO2 discharge curves; descending volts. */
const CURVE: readonly (readonly [number, number])[] = [
  [3.3, 100],
  [3.2, 97],
  [3.1, 90],
  [3.0, 75],
  [2.9, 55],
  [2.8, 35],
  [2.7, 20],
  [2.6, 10],
  [2.4, 3],
  [2.0, 0],
];

function interpolate(x: number, from: 0 | 1, to: 0 | 1): number {
  // Both columns descend together, so one walk serves both directions.
  const first = CURVE[0];
  const last = CURVE[CURVE.length - 1];
  if (!first || !last) return 0;
  if (x >= first[from]) return first[to];
  if (x <= last[from]) return last[to];
  for (let i = 1; i < CURVE.length; i++) {
    const hi = CURVE[i - 1];
    const lo = CURVE[i];
    if (hi && lo && x >= lo[from]) {
      const f = (x - lo[from]) / (hi[from] - lo[from]);
      return lo[to] + f * (hi[to] - lo[to]);
    }
  }
  return last[to];
}

/** Volts → estimated charge, 0..100, whole percent. */
export function batteryPercent(volts: number): number {
  if (!Number.isFinite(volts)) return 0;
  return Math.round(interpolate(volts, 0, 1));
}

/** Percent → the voltage the cell shows at that charge. */
export function batteryVolts(percent: number): number {
  return interpolate(percent, 1, 0);
}

/**
 * Simulated battery drain: a few years of life from a steady daily drain plus a little per
 * radio transmission, read with millivolt jitter (temperature, load at the moment of reading).
 */
export class BatteryModel {
  private percent: number;
  private lastMs: number | null = null;
  private readonly dailyDrain: number;

  constructor(private readonly random: Random) {
    // Most devices are fairly new; a few are near the end so low-battery alarms show up in demos.
    this.percent = chance(random, 0.06) ? uniform(random, 8, 22) : uniform(random, 45, 100);
    // 0.06–0.1 %/day: two and a half to four and a half years on one cell.
    this.dailyDrain = uniform(random, 0.06, 0.1);
  }

  /** Charge drained by one NB-IoT transmission (attach, send, release). */
  transmit(): void {
    this.percent = Math.max(0, this.percent - 0.0005);
  }

  /** Volts at `atMs`, to the millivolt as the frames report it. */
  read(atMs: number): number {
    if (this.lastMs !== null && atMs > this.lastMs) {
      this.percent = Math.max(0, this.percent - (this.dailyDrain * (atMs - this.lastMs)) / DAY_MS);
    }
    if (this.lastMs === null || atMs > this.lastMs) this.lastMs = atMs;
    const volts = batteryVolts(this.percent) + 0.003 * normal(this.random);
    return Math.round(Math.max(2, Math.min(3.3, volts)) * 1000) / 1000;
  }
}
