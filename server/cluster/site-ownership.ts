/**
 * Which sites this worker serves. Several workers share the sites: each site is served by
 * exactly one worker at a time, the one holding its lease (lease-store.ts). Every `tickMs` the
 * worker says it is alive, reads who else is, and claims the sites that rendezvous hashing
 * assigns to it among the live workers — so a worker joining takes its share from the others
 * (they release what is no longer theirs), and a worker dying leaves leases that lapse after
 * `ttlMs` and are taken by whoever the hash now picks: within ttl + tick.
 *
 * Listeners hear `acquired` before the worker starts acting for a site and `lost` as it must stop:
 * on a handoff (released after the listeners ran), a renewal another worker won, or when the
 * database cannot be reached for so long that the lease may have lapsed (the worker stops acting
 * for every site rather than risk two owners).
 *
 * One box on SQLite has no peers: `SoloOwnership` owns every site for good.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { SiteOwner, SiteOwnershipEvents } from '../site-owner.ts';
import type { SiteLeaseStore } from './lease-store.ts';

export type { SiteOwner, SiteOwnershipEvents } from '../site-owner.ts';

/** The winner of `site` among `workers` by highest random weight: stable, and a departure moves only its own sites. */
export function rendezvousOwner(site: string, workers: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const w of workers) {
    const weight = createHash('sha1').update(site).update('\0').update(w).digest().readBigUInt64BE(0);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && w < best)) {
      best = w;
      bestWeight = weight;
    }
  }
  return best;
}

export interface SiteOwnershipOptions {
  store: SiteLeaseStore;
  /** This worker's name: unique among the live ones (host:pid by default in the app). */
  worker: string;
  /** Every site there is (read each tick: a site added to the catalogue gets an owner). */
  sites: () => readonly string[];
  /** How long a lease and a heartbeat last unless renewed (default 6 s). */
  ttlMs?: number;
  /** How often leases are renewed and the membership read (default 2 s). */
  tickMs?: number;
  /**
   * Awaited after `lost` listeners ran and before a handoff's leases are released: the worker
   * finishes closing what it had open for those sites (its broker sessions) before the next
   * owner may start.
   */
  letGo?: (sites: readonly string[]) => Promise<void>;
}

export class SiteOwnership extends EventEmitter<SiteOwnershipEvents> implements SiteOwner {
  private readonly held = new Map<string, number>(); // site → epoch
  private readonly ttlMs: number;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Local time until which the leases we hold are certainly still ours (start of the last good claim + ttl). */
  private validUntil = 0;

  constructor(private readonly opts: SiteOwnershipOptions) {
    super();
    this.ttlMs = opts.ttlMs ?? 6_000;
    this.tickMs = opts.tickMs ?? 2_000;
    if (this.tickMs * 2 >= this.ttlMs) throw new Error(`site leases: the tick (${this.tickMs} ms) must be under half the lease (${this.ttlMs} ms)`);
  }

  owns(site: string): boolean {
    return this.held.has(site);
  }

  owned(): string[] {
    return [...this.held.keys()].sort();
  }

  /** Claims this worker's share now, then keeps it every tick. */
  async start(): Promise<void> {
    await this.tick();
    this.schedule();
  }

  /** One round now (tests, and start()). Never runs two at once. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A clean stop: stops acting for every site, then releases them and leaves, so the others take over at once. */
  async stop(): Promise<void> {
    this.halt();
    await this.running?.catch(() => {});
    const sites = this.owned();
    for (const site of sites) this.drop(site, 'stopped');
    await this.opts.letGo?.(sites).catch(() => {});
    await this.opts.store.release(this.opts.worker, sites).catch(() => {});
    await this.opts.store.leave(this.opts.worker).catch(() => {});
  }

  /** Stops renewing without a word, as a killed worker would (tests). */
  halt(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.tick().finally(() => {
        if (this.timer !== null) this.schedule();
      });
    }, this.tickMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const { store, worker } = this.opts;
    const started = Date.now();
    try {
      const live = await store.heartbeat(worker, this.ttlMs);
      const mine = this.opts.sites().filter((s) => rendezvousOwner(s, live) === worker);
      const mineSet = new Set(mine);
      // Hand off first: what the hash now gives another worker, we stop serving and release.
      const leaving = this.owned().filter((s) => !mineSet.has(s));
      for (const site of leaving) this.drop(site, 'handoff');
      if (leaving.length > 0) {
        await this.opts.letGo?.(leaving);
        await store.release(worker, leaving);
      }

      const leases = await store.claim(worker, mine, this.ttlMs);
      this.validUntil = started + this.ttlMs;
      const got = new Map(leases.map((l) => [l.site, l.epoch]));
      for (const site of this.owned()) if (!got.has(site)) this.drop(site, 'taken');
      for (const [site, epoch] of got) {
        const before = this.held.get(site);
        if (before === epoch) continue;
        if (before !== undefined) this.drop(site, 'taken'); // it lapsed and came back: what we knew may be stale
        this.held.set(site, epoch);
        this.emit('acquired', site, epoch);
      }
    } catch (err) {
      // Past the last lease we certainly hold, another worker may already own our sites.
      if (Date.now() >= this.validUntil) for (const site of this.owned()) this.drop(site, 'unreachable');
      this.emit('tickFailed', err);
    }
  }

  private drop(site: string, why: SiteOwnershipEvents['lost'][1]): void {
    if (!this.held.delete(site)) return;
    this.emit('lost', site, why);
  }
}

/** One box, no peers: every site is this worker's, now and always. */
export class SoloOwnership extends EventEmitter<SiteOwnershipEvents> implements SiteOwner {
  constructor(private readonly sites: () => readonly string[]) {
    super();
  }
  owns(): boolean {
    return true;
  }
  owned(): string[] {
    return [...this.sites()].sort();
  }
}
