/**
 * Heartbeats: the event schema every type shares (each adds what its heartbeat carries) and the
 * periodic schedule simulated devices report on.
 */
import { z } from 'zod';
import { eventFields } from './json.ts';

/**
 * Charge in percent as a device or its carrier platform reports it (a CTWing profile's
 * `Battery_Level`), for heartbeats that carry a percentage instead of volts.
 */
export const batteryPctField = z.number().min(0).max(100).optional();

/** `{"type":"heartbeat", ...fields, seq?, ts?}`. */
export function heartbeatSchema<S extends z.ZodRawShape>(fields: S) {
  return z.object({ type: z.literal('heartbeat'), ...fields, ...eventFields });
}

/**
 * Something a device does every `intervalMs` of simulated time. `due` returns every tick in the
 * elapsed interval, however long it was, so a 3600x speed-up loses no heartbeats.
 */
export class Periodic {
  private nextMs: number | null = null;

  /**
   * @param firstDelayMs delay of the first tick after `start`; random per device so a site's
   *   devices do not all report in the same second.
   * @param align tick on multiples of the interval (a counter closing each wall-clock minute)
   *   instead of at `start + firstDelay + k·interval`.
   */
  constructor(
    readonly intervalMs: number,
    private readonly firstDelayMs = intervalMs,
    private readonly align = false,
  ) {}

  start(atMs: number): void {
    this.nextMs = this.align ? (Math.floor(atMs / this.intervalMs) + 1) * this.intervalMs : atMs + this.firstDelayMs;
  }

  /** Tick times up to and including `toMs`; starts the schedule at `fromMs` if it was not started. */
  due(fromMs: number, toMs: number): number[] {
    if (this.nextMs === null) this.start(fromMs);
    const ticks: number[] = [];
    while (this.nextMs !== null && this.nextMs <= toMs) {
      ticks.push(this.nextMs);
      this.nextMs += this.intervalMs;
    }
    return ticks;
  }
}
