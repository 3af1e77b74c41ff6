/**
 * Tamper: the enclosure opened or the device pulled off its mount. The event schema and a
 * simulated tamper switch that trips rarely and restores after a few minutes (a technician
 * swapping the battery, a cleaner knocking the sensor).
 */
import { z } from 'zod';
import { eventFields } from './json.ts';
import { nextArrival } from './arrivals.ts';
import { uniform, type Random } from './random.ts';
import { MINUTE_MS } from './time.ts';

/** A bare `{"type":"tamper"}` means it tripped: some firmware sends no flag. */
export const tamperEventSchema = z.object({
  type: z.literal('tamper'),
  active: z.boolean().default(true),
  ...eventFields,
});

export interface TamperChange {
  at: number;
  active: boolean;
}

export class TamperModel {
  private restoreAt: number | null = null;

  /** @param perDay trips per device per day (a few a year is realistic). */
  constructor(
    private readonly random: Random,
    private readonly perDay: number,
  ) {}

  get active(): boolean {
    return this.restoreAt !== null;
  }

  /** Trips and restores in (fromMs, toMs]. */
  advance(fromMs: number, toMs: number): TamperChange[] {
    const changes: TamperChange[] = [];
    let t = fromMs;
    while (t < toMs) {
      if (this.restoreAt !== null) {
        if (this.restoreAt > toMs) break;
        t = Math.max(t, this.restoreAt);
        changes.push({ at: t, active: false });
        this.restoreAt = null;
        continue;
      }
      const at = nextArrival(this.random, t, toMs, () => this.perDay / 24);
      if (at === null) break;
      const trip = this.trip(at);
      if (trip) changes.push(trip);
      t = at;
    }
    return changes;
  }

  /** Trips now (a technician's `--tamper`); null if already tripped. */
  trip(atMs: number): TamperChange | null {
    if (this.restoreAt !== null) return null;
    this.restoreAt = atMs + uniform(this.random, 1, 10) * MINUTE_MS;
    return { at: atMs, active: true };
  }
}
