/**
 * Who owns which site, kept in PostgreSQL. Workers that share a database say they are alive
 * (a heartbeat row that expires) and hold each site they serve by a lease that expires unless
 * renewed. Every time is PostgreSQL's clock (`now()`), so workers with skewed clocks still agree
 * on who holds what.
 *
 * A lease carries an epoch that grows each time the site changes hands (or its holder had let it
 * lapse): a worker can tell that what it knew about a site may be stale.
 */
import type { Postgres } from '../storage/postgres/postgres.ts';
import type { PgSchema } from '../storage/postgres/migrate.ts';

export interface SiteLease {
  site: string;
  owner: string;
  epoch: number;
  expiresAt: string;
}

export interface SiteLeaseStore {
  /** `worker` is alive for ttlMs more; returns every worker alive now (itself included), sorted. */
  heartbeat(worker: string, ttlMs: number): Promise<string[]>;
  /**
   * Takes (when free or lapsed) or renews (when already ours) the lease of each site, for ttlMs;
   * returns the leases `worker` holds among them afterwards. A site another worker holds is left.
   */
  claim(worker: string, sites: readonly string[], ttlMs: number): Promise<SiteLease[]>;
  /** Gives the leases up at once (a handoff or a clean stop): the next claimant need not wait. */
  release(worker: string, sites: readonly string[]): Promise<void>;
  /** A worker that stops cleanly leaves the membership at once. */
  leave(worker: string): Promise<void>;
  /** Every lease, lapsed ones included (for the operations view and tests). */
  leases(): Promise<SiteLease[]>;
}

export const CLUSTER_PG_SCHEMA: PgSchema = {
  feature: 'cluster',
  steps: [
    `CREATE TABLE cluster_workers (
       worker text PRIMARY KEY,
       started_at timestamptz NOT NULL DEFAULT now(),
       expires_at timestamptz NOT NULL
     );
     CREATE TABLE site_leases (
       site text PRIMARY KEY,
       owner text NOT NULL,
       epoch bigint NOT NULL,
       expires_at timestamptz NOT NULL
     );`,
  ],
};

interface LeaseRow {
  site: string;
  owner: string;
  epoch: string;
  expires_at: Date;
}

const toLease = (r: LeaseRow): SiteLease => ({ site: r.site, owner: r.owner, epoch: Number(r.epoch), expiresAt: r.expires_at.toISOString() });

export class PostgresSiteLeaseStore implements SiteLeaseStore {
  constructor(private readonly pg: Postgres) {}

  async heartbeat(worker: string, ttlMs: number): Promise<string[]> {
    const { rows } = await this.pg.query<{ worker: string }>(
      `WITH beat AS (
         INSERT INTO cluster_workers (worker, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (worker) DO UPDATE SET expires_at = EXCLUDED.expires_at
       )
       SELECT worker FROM cluster_workers WHERE expires_at > now() AND worker <> $1
       UNION SELECT $1
       ORDER BY worker`,
      [worker, ttlMs],
    );
    return rows.map((r) => r.worker);
  }

  async claim(worker: string, sites: readonly string[], ttlMs: number): Promise<SiteLease[]> {
    if (sites.length === 0) return [];
    // One statement: take what is free or lapsed, renew what is ours, leave the rest. The
    // epoch stays while the same holder renews in time and grows on every other take.
    const { rows } = await this.pg.query<LeaseRow>(
      `INSERT INTO site_leases AS l (site, owner, epoch, expires_at)
       SELECT s, $1, 1, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) AS s
       ON CONFLICT (site) DO UPDATE SET
         owner = EXCLUDED.owner,
         epoch = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
         expires_at = EXCLUDED.expires_at
       WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
       RETURNING site, owner, epoch, expires_at`,
      [worker, [...sites], ttlMs],
    );
    return rows.map(toLease).sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
  }

  async release(worker: string, sites: readonly string[]): Promise<void> {
    if (sites.length === 0) return;
    await this.pg.query(`UPDATE site_leases SET expires_at = now() WHERE owner = $1 AND site = ANY($2::text[])`, [worker, [...sites]]);
  }

  async leave(worker: string): Promise<void> {
    await this.pg.query('DELETE FROM cluster_workers WHERE worker = $1', [worker]);
  }

  async leases(): Promise<SiteLease[]> {
    const { rows } = await this.pg.query<LeaseRow>('SELECT site, owner, epoch, expires_at FROM site_leases ORDER BY site');
    return rows.map(toLease);
  }
}
