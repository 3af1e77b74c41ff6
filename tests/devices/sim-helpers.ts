/** Seeded environments and simulated runs shared by the device tests. */
import type { DeviceType, SimEnvironment, SimOutput } from '../../devices/types.ts';

import { mulberry32 } from '../../devices/shared/random.ts';

export const seededRandom = mulberry32;

export const TIME_ZONE = 'Asia/Shanghai';
/** Local midnight in Shanghai (UTC+8, no daylight saving): 2026-11-23 00:00. */
export const DAY_START = Date.parse('2026-11-22T16:00:00Z');
export const DAY_MS = 24 * 3600 * 1000;

export function makeEnv(overrides: Partial<SimEnvironment> & { seed?: number } = {}): SimEnvironment {
  const { seed = 1, ...rest } = overrides;
  return {
    deviceId: 'dev-1',
    siteId: 'site-1',
    zoneId: 'zone-1',
    zoneKind: 'lobby',
    openingHours: [9, 21],
    label: 'Test device',
    random: seededRandom(seed),
    timeZone: TIME_ZONE,
    ...rest,
  };
}

export interface TimedOutput {
  /** Simulated time of the advance() call that returned it. */
  at: number;
  output: SimOutput;
}

/** Boots a device and advances it through `durationMs` in `stepMs` steps, like the engine does. */
export function runSim(type: DeviceType, env: SimEnvironment, stepMs: number, durationMs = DAY_MS, start = DAY_START): TimedOutput[] {
  const sim = type.simulate(env);
  const out: TimedOutput[] = sim.boot(new Date(start)).map((output) => ({ at: start, output }));
  for (let t = start; t < start + durationMs; ) {
    const next = Math.min(start + durationMs, t + stepMs);
    for (const output of sim.advance(new Date(next), next - t)) out.push({ at: next, output });
    t = next;
  }
  return out;
}

/** Local hour in the test time zone (UTC+8). */
export function localHourOf(iso: string): number {
  return (((Date.parse(iso) + 8 * 3600 * 1000) % DAY_MS) + DAY_MS) % DAY_MS / 3600_000;
}
