/**
 * How people use a door through the day, for simulated door sensors: openings arrive at a rate
 * that depends on the zone and the hour, and each stays open for seconds to a couple of
 * minutes, occasionally much longer (housekeeping, a delivery, a door left ajar).
 */
import type { DoorState } from '../types.ts';
import { bump, guestRoomDoorRate, publicTraffic, workingHours } from './activity.ts';
import { nextArrival } from './arrivals.ts';
import { normal, uniform, type Random } from './random.ts';
import { isWithin, MINUTE_MS, SECOND_MS, type Hours } from './time.ts';

/** Door openings per hour in a zone of this kind at this local hour. */
export function doorOpenRate(zoneKind: string, hour: number, opening: Hours, occupied: number): number {
  const staffed = isWithin(hour, workingHours(opening));
  switch (zoneKind) {
    case 'room':
      return guestRoomDoorRate(hour) * occupied;
    case 'office':
      return staffed ? 2 : 0;
    case 'cash-room': {
      // Busiest when the tills are filled at opening and counted at closing.
      const [from, to] = workingHours(opening);
      return staffed ? 0.5 + 2 * (bump(hour, from + 0.5, 0.4) + bump(hour, to - 0.5, 0.4)) : 0;
    }
    case 'storage':
    case 'service':
      return staffed ? 2.5 : 0;
    case 'entrance':
    case 'lobby':
    case 'hall':
      return 30 * publicTraffic(hour, opening);
    default:
      return 6 * publicTraffic(hour, opening);
  }
}

/** Seconds for most openings, a minute or two for some, now and then half an hour. */
export function openDurationMs(random: Random): number {
  const u = random();
  // Log-normal around 6 s: walking through a door takes 3–20 s.
  if (u < 0.85) return Math.min(60, Math.max(2, 6 * Math.exp(0.6 * normal(random)))) * SECOND_MS;
  if (u < 0.97) return uniform(random, 30, 150) * SECOND_MS;
  return uniform(random, 5, 30) * MINUTE_MS;
}

/** A manually opened door closes by itself after this long, so a forgotten `--open` does not freeze it. */
const MANUAL_HOLD_MS = 10 * MINUTE_MS;

export interface DoorChange {
  at: number;
  state: DoorState;
}

export class DoorUsage {
  state: DoorState = 'closed';
  private closeAt: number | null = null;

  constructor(
    private readonly random: Random,
    private readonly ratePerHour: (ms: number) => number,
  ) {}

  /** Openings and closings in (fromMs, toMs], in order. */
  advance(fromMs: number, toMs: number): DoorChange[] {
    const changes: DoorChange[] = [];
    let t = fromMs;
    while (t < toMs) {
      if (this.state === 'open') {
        if (this.closeAt === null || this.closeAt > toMs) break;
        t = Math.max(t, this.closeAt);
        changes.push(this.set('closed', t));
        continue;
      }
      const at = nextArrival(this.random, t, toMs, this.ratePerHour);
      if (at === null) break;
      changes.push(this.set('open', at, at + openDurationMs(this.random)));
      t = at;
    }
    return changes;
  }

  /** A technician's `--open` / `--close`; null when the door already is so (a contact reports changes only). */
  force(state: DoorState, atMs: number): DoorChange | null {
    if (state === this.state) return null;
    return this.set(state, atMs, atMs + MANUAL_HOLD_MS);
  }

  private set(state: DoorState, at: number, closeAt?: number): DoorChange {
    this.state = state;
    this.closeAt = state === 'open' ? (closeAt ?? null) : null;
    return { at, state };
  }
}
