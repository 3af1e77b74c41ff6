/**
 * Maintenance windows: a technician installing or servicing devices puts a device or a whole
 * zone "under maintenance" until a time; the alarm service asks `inMaintenance` and suppresses
 * what they would raise. Every window is kept (who, why, from, until — ending one early moves
 * its `until` to now), so the record of suppressed time stays auditable.
 *
 * A zone window silences a zone as surely as disarming it, so opening or ending one needs what
 * disarming needs (`zones:arm`); without it a window covers one device for a few hours. The
 * caller says whether the person holds `zones:arm` (`mayArm`), decided by permission in
 * server/auth/roles.ts, never by role name.
 *
 * The alarm service asks `inMaintenance` for every alarm it would raise, so the windows not yet
 * over are an in-memory view: loaded by start(), added to by create() and changed by end()
 * after their write has committed, pruned as windows lapse. The API's `get` and `list` read the
 * store (they may show a window another worker opened). Another worker's change (PostgreSQL:
 * the store's onChange, LISTEN/NOTIFY) re-reads the open windows of that site (all of them after
 * a lost connection), queued behind this service's own writes; the site's part of the view is
 * swapped in one synchronous step when the read completes, so `inMaintenance` never waits.
 */
import { systemClock, type Clock } from '../clock.ts';
import { StoreTwinError } from '../errors.ts';
import { ViewRefresher } from '../storage/postgres/changes.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { ArmingSites } from './service.ts';
import type { ArmingStore, MaintenanceRecord } from './store.ts';
import type { ActiveMaintenance, MaintenanceReader, MaintenanceWindow } from './types.ts';

export type { MaintenanceWindow } from './types.ts';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * How long a window may last, from its start. Without `zones:arm`: a shift's work on one
 * device (8 h) — a longer silence is a decision for someone who may disarm. With it: 30 days,
 * so a window typed with the wrong year cannot silence a device or zone for a decade. A window
 * may also start at most `maxMs` ahead, for the same reason.
 */
export const MAINTENANCE_LIMITS = {
  withoutArmingMs: 8 * HOUR_MS,
  maxMs: 30 * DAY_MS,
} as const;

export interface NewMaintenance {
  site: string;
  zone?: string | null;
  device?: string | null;
  /** Unix ms; must be in the future. */
  until: number;
  /** Unix ms; default now. */
  from?: number;
  reason?: string | null;
  by: string;
  /** Whether `by` holds zones:arm: needed for a zone window and for one longer than 8 h. */
  mayArm: boolean;
}

export interface MaintenanceServiceDeps {
  store: ArmingStore;
  sites: ArmingSites & { placement?(siteId: string, deviceId: string): unknown };
  /** To accept registered devices that the site file does not place. */
  registry?: { getDevice(id: string): DeviceRecord | null };
  clock?: Clock;
  /** A re-read after another worker's change failed (it is retried); the app logs it. */
  onError?: (err: unknown) => void;
}

export class MaintenanceService implements MaintenanceReader {
  private readonly clock: Clock;
  /** Windows not over when last looked at, by site: the view (see the header). */
  private readonly open = new Map<string, Map<number, MaintenanceRecord>>();

  /** Writes and re-reads one after another: a re-read never undoes a write it did not see. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly refresher: ViewRefresher;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: MaintenanceServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.refresher = new ViewRefresher(
      (sites) => this.serial(() => this.load(sites)),
      (err) => deps.onError?.(err),
    );
  }

  /** Loads the windows not yet over and follows other workers' changes; call before anything asks. */
  async start(): Promise<void> {
    // Listening first: a window opened while the load runs is heard, not lost.
    this.unsubscribe ??= (await this.deps.store.onChange?.((c) => c.part === 'windows' && this.refresher.request(c))) ?? null;
    await this.serial(() => this.load(null));
  }

  /** Stops following other workers' changes. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.refresher.close();
  }

  /** Settles once the re-reads other workers' changes asked for so far are in the view (tests). */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  /** Replaces the open windows of these sites (null: all) by the store's, in one synchronous step. */
  private async load(sites: readonly string[] | null): Promise<void> {
    const windows = await this.deps.store.openWindows(this.clock.now(), sites ?? undefined);
    if (sites === null) this.open.clear();
    else for (const site of sites) this.open.delete(site);
    for (const w of windows) this.remember(w);
  }

  /** Runs fn after every write or re-read queued before it (a failure does not stop the next one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  inMaintenance(site: string, zone: string | null, device: string | null, atMs: number): ActiveMaintenance | null {
    if (zone === null && device === null) return null;
    const windows = this.open.get(site);
    if (!windows) return null;
    // Of the windows covering it, the one ending last (then the oldest), as the SQL used to pick.
    let best: MaintenanceRecord | null = null;
    const now = this.clock.now();
    for (const w of windows.values()) {
      if (w.until <= now && w.until <= atMs) {
        windows.delete(w.id); // lapsed: nobody will ask about it again
        continue;
      }
      if (!(w.from <= atMs && w.until > atMs)) continue;
      if (!((w.zone !== null && w.zone === zone) || (w.device !== null && w.device === device))) continue;
      if (!best || w.until > best.until || (w.until === best.until && w.id < best.id)) best = w;
    }
    if (!best) return null;
    return { ...this.toWindow(best, atMs), timezone: this.deps.sites.get(site)?.timezone ?? null };
  }

  /**
   * Opens a window. Throws STW_ERR_SITE_NOT_FOUND, STW_ERR_FORBIDDEN (a zone without
   * `mayArm`), STW_ERR_ZONE_NOT_FOUND, STW_ERR_DEVICE_NOT_FOUND or STW_ERR_VALIDATION (times,
   * and the limits in MAINTENANCE_LIMITS).
   */
  async create(input: NewMaintenance): Promise<MaintenanceWindow> {
    const { site } = input;
    const zone = input.zone ?? null;
    const device = input.device ?? null;
    if (!this.deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    if (zone === null && device === null) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'a maintenance window needs a zone or a device', [{ path: ['zone'], message: 'zone or device is required' }]);
    }
    if (zone !== null && !input.mayArm) {
      throw new StoreTwinError('STW_ERR_FORBIDDEN', 'putting a whole zone under maintenance silences it like disarming: it needs zones:arm; open a window per device instead');
    }
    if (zone !== null && !this.deps.sites.zone(site, zone)) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${zone}" in site "${site}"`);
    if (device !== null && !this.deviceExists(site, device)) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${device}" in site "${site}"`);
    const now = this.clock.now();
    const from = input.from ?? now;
    if (!(input.until > now) || !(input.until > from)) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'until must be in the future and after from', [{ path: ['until'], message: 'must be in the future' }]);
    }
    checkLimits(from, input.until, now, input.mayArm);
    const stored = await this.serial(async () => {
      const w = await this.deps.store.insertWindow({ site, zone, device, by: input.by, reason: input.reason ?? null, from, until: input.until });
      this.remember(w);
      return w;
    });
    return this.toWindow(stored, now);
  }

  async get(id: number): Promise<MaintenanceWindow | null> {
    const w = await this.deps.store.getWindow(id);
    return w ? this.toWindow(w, this.clock.now()) : null;
  }

  /** Windows not yet over (in force or upcoming), of one site or of all. */
  async list(site?: string): Promise<MaintenanceWindow[]> {
    const now = this.clock.now();
    const windows = await this.deps.store.openWindows(now, site === undefined ? undefined : [site]);
    return windows.map((w) => this.toWindow(w, now));
  }

  /**
   * Ends a window now (kept as a record). Ending a zone window re-arms the zone's alarms, so it
   * needs zones:arm like opening one. Throws STW_ERR_MAINTENANCE_NOT_FOUND or STW_ERR_FORBIDDEN.
   */
  async end(id: number, actor: { mayArm: boolean }): Promise<MaintenanceWindow> {
    // A window's zone never changes: checking it before the write cannot race.
    const found = await this.deps.store.getWindow(id);
    if (!found) throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
    if (found.zone !== null && !actor.mayArm) throw new StoreTwinError('STW_ERR_FORBIDDEN', 'ending a zone maintenance window needs zones:arm');
    const now = this.clock.now();
    // An upcoming window ends before it starts: the store keeps from ≤ until.
    const ended = await this.serial(async () => {
      const w = await this.deps.store.endWindow(id, now);
      if (w) this.remember(w);
      return w;
    });
    if (!ended) throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
    return this.toWindow(ended, now);
  }

  /** Puts a window in the view, replacing what it held of it; a window over is dropped. */
  private remember(w: MaintenanceRecord): void {
    let windows = this.open.get(w.site);
    if (w.until <= this.clock.now()) {
      windows?.delete(w.id);
      return;
    }
    if (!windows) this.open.set(w.site, (windows = new Map()));
    windows.set(w.id, w);
  }

  private deviceExists(site: string, device: string): boolean {
    if (this.deps.sites.placement?.(site, device)) return true;
    const rec = this.deps.registry?.getDevice(device);
    return rec !== null && rec !== undefined && rec.site === site;
  }

  private toWindow(r: MaintenanceRecord, now: number): MaintenanceWindow {
    return {
      id: r.id,
      site: r.site,
      zone: r.zone,
      device: r.device,
      by: r.by,
      reason: r.reason,
      from: new Date(r.from).toISOString(),
      until: new Date(r.until).toISOString(),
      active: r.from <= now && r.until > now,
    };
  }
}

/** The limits in MAINTENANCE_LIMITS; the messages name them, so the caller knows what to ask for. */
function checkLimits(from: number, until: number, now: number, mayArm: boolean): void {
  const { withoutArmingMs, maxMs } = MAINTENANCE_LIMITS;
  if (from - now > maxMs) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `a maintenance window may start at most ${maxMs / DAY_MS} days ahead`, [
      { path: ['from'], message: `at most ${maxMs / DAY_MS} days ahead` },
    ]);
  }
  const cap = mayArm ? maxMs : withoutArmingMs;
  if (until - from > cap) {
    const limit = mayArm ? `${maxMs / DAY_MS} days` : `${withoutArmingMs / HOUR_MS} h`;
    const message = mayArm
      ? `a maintenance window lasts at most ${limit} from its start`
      : `without zones:arm a device maintenance window lasts at most ${limit} from its start; ask someone who may arm the zone for a longer one`;
    throw new StoreTwinError('STW_ERR_VALIDATION', message, [{ path: ['until'], message: `at most ${limit} after from` }]);
  }
}
