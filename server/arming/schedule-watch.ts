/**
 * Arming that changes by itself: a zone's `armedDuring` window opening or closing, a timed
 * override (`until`) lapsing. Nobody calls the API then, so nothing announced it: browsers kept
 * the old tint until they re-read. Every 15 s (on the quarter minutes, so a window starting at
 * 22:00 is seen at 22:00:00) the watch looks at the zones whose arming can change by itself —
 * those with windows, and those with an override — and announces one whose armed state moved
 * as `zone.arming` by "schedule": the live feed pushes it like a change by hand, and the rule
 * engine looks again at rules that ask whether the zone is armed.
 *
 * Changes by hand are announced by ArmingService itself; the watch hears those too and takes
 * them as the zone's new state, so it never announces the same change twice. A change by hand
 * on another worker was announced there; this worker's ArmingService tells the watch once its
 * view holds it (onRemoteChange), so it is not announced again here as the schedule's.
 */
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events.ts';
import type { Site } from '../sites/model.ts';
import type { ArmingReader } from './types.ts';

export const ARMING_CHECK_MS = 15_000;
export const SCHEDULE_ACTOR = 'schedule';

export interface ArmingScheduleWatchDeps {
  sites: { list(): Site[] };
  arming: ArmingReader & { overriddenZones(): Array<{ site: string; zone: string }> };
  bus: EventBus;
  clock: Clock;
  /** A worker of several announces only the sites it holds (another worker announces the rest). */
  owns?: (site: string) => boolean;
}

export class ArmingScheduleWatch {
  /** `site \0 zone` → armed, as last seen or announced. */
  private readonly known = new Map<string, boolean>();
  private cancelTimer: (() => void) | null = null;
  private offRemote: (() => void) | null = null;
  private readonly heard = (change: { site: string; zone: string; armed: boolean }): void => {
    this.known.set(key(change.site, change.zone), change.armed);
  };

  constructor(private readonly deps: ArmingScheduleWatchDeps) {}

  start(): void {
    this.deps.bus.on('zone.arming', this.heard);
    this.offRemote =
      this.deps.arming.onRemoteChange?.((zones) => {
        const now = this.deps.clock.now();
        for (const z of zones) this.known.set(key(z.site, z.zone), this.deps.arming.isArmed(z.site, z.zone, now));
      }) ?? null;
    this.check();
    this.next();
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.offRemote?.();
    this.offRemote = null;
    this.deps.bus.off('zone.arming', this.heard);
  }

  /** Looks at the zones now; announces those whose armed state moved since last seen. */
  check(): void {
    const now = this.deps.clock.now();
    const watched = new Map<string, { site: string; zone: string }>();
    const owns = this.deps.owns ?? (() => true);
    for (const site of this.deps.sites.list()) {
      if (!owns(site.id)) continue;
      for (const floor of site.floors) {
        for (const zone of floor.zones) if (zone.armedDuring.length > 0) watched.set(key(site.id, zone.id), { site: site.id, zone: zone.id });
      }
    }
    for (const z of this.deps.arming.overriddenZones()) if (owns(z.site)) watched.set(key(z.site, z.zone), z);
    const changed: Array<{ site: string; zone: string; armed: boolean }> = [];
    for (const [k, { site, zone }] of watched) {
      const armed = this.deps.arming.isArmed(site, zone, now);
      const before = this.known.get(k);
      // A zone seen for the first time (at the start, a site file added) is not a change.
      if (before === undefined) this.known.set(k, armed);
      else if (before !== armed) changed.push({ site, zone, armed });
    }
    const at = new Date(now).toISOString();
    // Emitting updates `known` through the listener above.
    for (const c of changed) this.deps.bus.emit('zone.arming', { ...c, by: SCHEDULE_ACTOR, at });
  }

  private next(): void {
    const now = this.deps.clock.now();
    const due = Math.floor(now / ARMING_CHECK_MS) * ARMING_CHECK_MS + ARMING_CHECK_MS;
    this.cancelTimer = this.deps.clock.at(due, () => {
      this.check();
      this.next();
    });
  }
}

function key(site: string, zone: string): string {
  return `${site}\0${zone}`;
}
