/**
 * A worker of several reads only its own sites' messages from the broker, each site through a
 * persistent session of its own (client id `<clientId>-<site>`, clean=false, that site's filters).
 * While no worker holds a site — its owner died, the lease has not lapsed yet — the broker keeps
 * queuing the site's messages in that session, and the next owner resumes the same session and
 * receives them: nothing a device was acknowledged for is lost, and ingest's dedupe drops the
 * copies of what the dead worker had stored but not yet acknowledged.
 *
 * Follows the site ownership (site-ownership.ts): a session opens on `acquired` and closes on
 * `lost` (unacknowledged messages go back to the broker for the next owner). Opening and closing
 * one site never run at the same time; a session that fails to open is retried after a pause
 * for as long as the site is still ours.
 */
import type { Logger } from '../observability/logger.ts';
import type { SiteOwner } from './site-ownership.ts';

/** One site's session on the broker: the external broker client with a site's client id and filters. */
export interface SiteSession {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SiteConsumersOptions {
  ownership: SiteOwner;
  open: (site: string) => SiteSession;
  /**
   * Awaited before a site's session opens, the first message of the site not yet taken: what the
   * worker must know of the site first (its dedupe window, alarms, twin) is read here.
   */
  prepare?: (site: string) => Promise<void>;
  logger: Logger;
  /** Pause before retrying a session that failed to open (default 2 s). */
  retryMs?: number;
}

export class SiteConsumers {
  private readonly sessions = new Map<string, SiteSession>();
  /** Per site: the last start/stop, so the next waits for it. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly retryMs: number;
  private readonly offs: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly opts: SiteConsumersOptions) {
    this.retryMs = opts.retryMs ?? 2_000;
    const onAcquired = (site: string): void => void this.serialize(site, () => this.open(site));
    const onLost = (site: string): void => void this.serialize(site, () => this.close(site));
    opts.ownership.on('acquired', onAcquired);
    opts.ownership.on('lost', onLost);
    this.offs.push(
      () => opts.ownership.off('acquired', onAcquired),
      () => opts.ownership.off('lost', onLost),
    );
  }

  /** Sites with an open session now. */
  openSites(): string[] {
    return [...this.sessions.keys()].sort();
  }

  /** Waits for every start and stop under way (tests, and a clean stop). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    await this.settled();
    await Promise.allSettled([...this.sessions.keys()].map((site) => this.serialize(site, () => this.close(site))));
  }

  private serialize(site: string, step: () => Promise<void>): Promise<void> {
    const before = this.pending.get(site) ?? Promise.resolve();
    const next = before.then(step, step).finally(() => {
      if (this.pending.get(site) === next) this.pending.delete(site);
    });
    this.pending.set(site, next);
    return next;
  }

  private async open(site: string): Promise<void> {
    while (!this.stopped && this.opts.ownership.owns(site) && !this.sessions.has(site)) {
      const session = this.opts.open(site);
      try {
        await this.opts.prepare?.(site);
        if (this.stopped || !this.opts.ownership.owns(site)) return;
        await session.start();
        this.sessions.set(site, session);
        this.opts.logger.info({ site }, 'reading the site from the broker');
      } catch (err) {
        await session.stop().catch(() => {});
        this.opts.logger.warn({ err, site }, `could not open the site's broker session; retrying in ${this.retryMs} ms`);
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
  }

  private async close(site: string): Promise<void> {
    const session = this.sessions.get(site);
    if (session === undefined) return;
    this.sessions.delete(site);
    await session.stop().catch((err: unknown) => this.opts.logger.warn({ err, site }, 'closing the site\'s broker session failed'));
    this.opts.logger.info({ site }, 'no longer reading the site from the broker');
  }
}
