/**
 * Changes one worker made that other workers hold in memory (rules, arming overrides,
 * maintenance windows, integrations), announced with PostgreSQL's own LISTEN/NOTIFY.
 *
 * Writing: a store calls `notify(client, feature, site?)` INSIDE its write transaction. PostgreSQL
 * delivers a notification only when that transaction commits (a rollback drops it), and after
 * the commit, so whoever hears it and re-reads sees the write.
 *
 * Hearing: one dedicated connection per Postgres handle (one per process; two in a test that
 * plays two workers) LISTENs on one channel, `storetwin_changes`, and hands each payload
 * `{ feature, site?, origin, schema }` to the subscribers of that feature. A notification from
 * this same handle (`origin`) is skipped: the service that wrote has already updated its view.
 * A channel is database-wide, so the payload names the schema and other schemas' notices are
 * skipped too.
 *
 * Notifications sent while the listening connection is down are lost, not queued: after a
 * reconnect (by itself, with backoff) every subscriber is told to reload everything
 * (`site: null`); so it is when the first attempt failed and a later one succeeds. subscribe()
 * resolves after the first attempt, so a view loaded after it misses nothing. A heartbeat on the
 * connection finds a dead peer that TCP alone would notice only after many minutes.
 *
 * `storeChanges(pg)` gives the one StoreChanges of a Postgres handle: the stores and the app
 * reach the same instance without passing it around. The app calls start() (to listen before
 * the views load, and to log) and stop() before closing the pool.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../observability/logger.ts';
import { postgresError, type PgQueryable, type Postgres } from './postgres.ts';

export const CHANGES_CHANNEL = 'storetwin_changes';

/** What a subscriber is told: a change on one site of its feature, or (null) reload everything. */
export interface StoreChange {
  site: string | null;
}

export type StoreChangeListener = (change: StoreChange) => void;

interface Payload {
  feature: string;
  site?: string;
  origin: string;
  schema: string;
}

export interface StoreChangesOptions {
  logger?: Logger;
  /** First reconnect delay, doubled up to maxBackoffMs (defaults 100 ms, 5 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A `SELECT 1` on the listening connection this often; no answer within half of it is a lost connection (default 30 s). */
  heartbeatMs?: number;
}

const handles = new WeakMap<Postgres, StoreChanges>();

/** The StoreChanges of this Postgres handle (created on first use; not yet listening). */
export function storeChanges(pgh: Postgres): StoreChanges {
  let changes = handles.get(pgh);
  if (!changes) handles.set(pgh, (changes = new StoreChanges(pgh)));
  return changes;
}

export class StoreChanges {
  /** Tells this handle's notifications from other workers'. */
  readonly origin = randomUUID();
  private readonly subscribers = new Map<string, Set<StoreChangeListener>>();
  private opts: Required<Omit<StoreChangesOptions, 'logger'>> & { logger?: Logger } = { backoffMs: 100, maxBackoffMs: 5000, heartbeatMs: 30_000 };
  private client: pg.Client | null = null;
  private firstAttempt: Promise<void> | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  /** Ends the wait before the next reconnect attempt (stop). */
  private wake: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private backoff = 100;

  constructor(private readonly pgh: Postgres) {}

  /**
   * Listens. Resolves after the first attempt: LISTEN in force, or a failure that is logged
   * and retried in the background (every subscriber then reloads everything once it works), so
   * a start never hangs on it. Called again it only waits for that first attempt.
   */
  start(opts: StoreChangesOptions = {}): Promise<void> {
    if (!this.firstAttempt) {
      this.opts = { ...this.opts, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
      this.backoff = this.opts.backoffMs;
      this.firstAttempt = this.listenOnce(false).then(
        () => undefined,
        (err: unknown) => {
          this.failed(err);
          this.connecting = this.connect();
        },
      );
    }
    return this.firstAttempt;
  }

  /** Stops listening (before the pool closes). Subscribers hear nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.retry = this.heartbeat = null;
    this.wake?.();
    await this.firstAttempt;
    await this.connecting;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** True while LISTEN is in force. */
  get listening(): boolean {
    return this.client !== null;
  }

  /** The listening connection's server process (diagnostics; tests terminate it). */
  get backendPid(): number | null {
    return (this.client as (pg.Client & { processID?: number }) | null)?.processID ?? null;
  }

  /**
   * Calls `listener` for every change of `feature` made through another handle. Starts
   * listening if nobody did yet; resolves after the first attempt (see start), so what the
   * subscriber loads next cannot miss a change. Resolves to the unsubscribe.
   */
  async subscribe(feature: string, listener: StoreChangeListener): Promise<() => void> {
    let set = this.subscribers.get(feature);
    if (!set) this.subscribers.set(feature, (set = new Set()));
    set.add(listener);
    const off = (): void => {
      set.delete(listener);
    };
    await this.start();
    return off;
  }

  /**
   * Announces a change of `feature` (on `site`, when one site's part changed). Call it with the
   * client of the writing transaction: the notification goes out only if that commits.
   */
  async notify(client: PgQueryable, feature: string, site?: string): Promise<void> {
    const payload: Payload = { feature, ...(site === undefined ? {} : { site }), origin: this.origin, schema: this.pgh.schema };
    await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(payload)]);
  }

  /** Retries until LISTEN is in force again (or stop). */
  private async connect(): Promise<void> {
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.retry = setTimeout(resolve, this.backoff);
        this.retry.unref();
      });
      this.retry = null;
      this.wake = null;
      this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
      if (this.pgh.pool.ending) this.stopped = true; // closed without stop(): give up
      if (this.stopped) return;
      try {
        await this.listenOnce(true);
        return;
      } catch (err) {
        this.failed(err);
      }
    }
  }

  private failed(err: unknown): void {
    this.opts.logger?.warn({ err: postgresError(err, 'listen for changes', this.pgh.safeUrl), retryMs: this.backoff }, 'not hearing other workers’ changes; retrying');
  }

  /** One connection and LISTEN; `reloadAll`: tell every subscriber it may have missed changes. */
  private async listenOnce(reloadAll: boolean): Promise<void> {
    const { connectionString, connectionTimeoutMillis, ssl, user, password, host, port, database } = this.pgh.pool.options;
    const client = new pg.Client({ connectionString, connectionTimeoutMillis, ssl, user, password, host, port, database, keepAlive: true, application_name: 'storetwin-changes' });
    let failed = false;
    client.on('error', (err) => {
      failed = true;
      this.lost(client, err);
    });
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => this.dispatch(msg));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (failed) throw new Error('the listening connection failed while starting');
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = this.opts.backoffMs;
    this.startHeartbeat(client);
    // What was notified while no connection listened is lost: reload everything. (Not after the
    // first attempt: its subscribers load once it settled.)
    if (reloadAll) this.fanOutAll();
  }

  private lost(client: pg.Client, err?: Error): void {
    if (client !== this.client) return; // one that never listened, or already replaced
    this.client = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    this.opts.logger?.warn({ err }, 'lost the connection that hears other workers’ changes; reconnecting');
    this.backoff = this.opts.backoffMs;
    this.connecting = this.connect();
  }

  private startHeartbeat(client: pg.Client): void {
    const every = this.opts.heartbeatMs;
    this.heartbeat = setInterval(() => {
      // Its pool was closed without stop(): nothing is left to hear changes for.
      if (this.pgh.pool.ending) {
        void this.stop();
        return;
      }
      let answered = false;
      const timer = setTimeout(() => {
        if (!answered) this.lost(client, new Error(`no answer to a heartbeat within ${every / 2} ms`));
      }, every / 2);
      timer.unref();
      client.query('SELECT 1').then(
        () => {
          answered = true;
          clearTimeout(timer);
        },
        (err: Error) => {
          answered = true;
          clearTimeout(timer);
          this.lost(client, err);
        },
      );
    }, every);
    this.heartbeat.unref();
  }

  private dispatch(msg: pg.Notification): void {
    if (msg.channel !== CHANGES_CHANNEL || msg.payload === undefined) return;
    let p: Partial<Payload>;
    try {
      p = JSON.parse(msg.payload) as Partial<Payload>;
    } catch {
      return; // not ours
    }
    if (p.schema !== this.pgh.schema || p.origin === this.origin || typeof p.feature !== 'string') return;
    this.fanOut(p.feature, { site: typeof p.site === 'string' ? p.site : null });
  }

  private fanOutAll(): void {
    for (const feature of this.subscribers.keys()) this.fanOut(feature, { site: null });
  }

  private fanOut(feature: string, change: StoreChange): void {
    for (const listener of this.subscribers.get(feature) ?? []) {
      try {
        listener(change);
      } catch (err) {
        this.opts.logger?.error({ err, feature }, 'store change listener failed');
      }
    }
  }
}

/**
 * Reloads of an in-memory view, coalesced: requests made while one runs are gathered (sites,
 * or everything) and done by one more run after it. `reload(null)` means every site. A failed
 * reload is retried as a full one after `retryMs`. The view itself is replaced by `reload` in
 * one synchronous step once its read completes, so readers never wait and never see half.
 */
export class ViewRefresher {
  private pending: Set<string> | 'all' | null = null;
  private running: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly reload: (sites: readonly string[] | null) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly retryMs = 1000,
  ) {}

  /** A StoreChangeListener. */
  readonly request = (change: StoreChange): void => {
    if (this.closed) return;
    if (change.site === null || this.pending === 'all') this.pending = 'all';
    else if (this.pending === null) this.pending = new Set([change.site]);
    else this.pending.add(change.site);
    this.running ??= this.drain();
  };

  /** Settles once every reload requested so far has run. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.pending = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== null && !this.closed) {
        const take = this.pending;
        this.pending = null;
        try {
          await this.reload(take === 'all' ? null : [...take]);
        } catch (err) {
          this.onError(err);
          if (!this.closed && !this.retry) {
            this.retry = setTimeout(() => {
              this.retry = null;
              this.request({ site: null });
            }, this.retryMs);
            this.retry.unref();
          }
        }
      }
    } finally {
      this.running = null;
    }
  }
}
