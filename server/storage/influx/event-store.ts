/**
 * The event store on InfluxDB 1.x (Debian's 1.6.7; the same HTTP API serves 1.8 and the
 * v1-compatible endpoints of 2.x) through the `influx` package, chosen by
 * STORETWIN_INFLUX_URL=http://user:pass@host:8086/DB. Operators who run InfluxDB and Grafana see
 * every event, device health and footfall as series (schema.ts); SQLite keeps what must be
 * transactional (devices, users, rules, alarms, the outbox).
 *
 * - append() converts and checks the whole batch first (points.ts), then writes every point in
 *   one HTTP write at nanosecond precision and resolves on InfluxDB's 204, which it answers
 *   once the points are in its WAL (fsynced): ingest acknowledges QoS 1 on that. The group
 *   commit (server/ingest/group-commit.ts) makes the batches.
 * - Ids and ties (stamps.ts): InfluxDB has neither row ids nor a second sort key, and overwrites
 *   a point with an equal one. Each event's time gets a sub-millisecond tie so equal events
 *   never collide, and an id of its own; pages go by (time, id) with a keyset cursor
 *   (query.ts), stable while events arrive.
 * - start() lays the database out (setup.ts): the `raw` retention policy (default 90 days),
 *   `rollups` (forever) and the footfall CQs into `footfall_1m` / `footfall_1h`.
 *
 * Limits accepted, beyond SQLite's:
 * - One writer process per database (ids come from its clock and counter; the long-read thread
 *   only reads). A restart's ties may meet an earlier run's: two events of one device, type and
 *   millisecond then overwrite each other with odds of one in a million.
 * - All or nothing holds for everything checked before writing (times, tags, retention
 *   horizon). A write InfluxDB refuses halfway (a field type changed by hand: "partial write")
 *   or that times out after InfluxDB took it may leave points stored while append() rejects;
 *   the device's resend then stores those events again under new ids.
 * - Times from 1970 to 2262; tag values (site, device, device type, zone, type) non-empty,
 *   without line breaks or a trailing backslash; events older than the raw retention are
 *   refused.
 * - Reads cost an HTTP round trip a page, two when a page ends inside a nanosecond shared by two
 *   series (after a tie collision). InfluxDB 1.6 spends ~30–45 ms a query over a site of 1,000
 *   series whatever the page size (~4 ms for one device), so long scans ask for 1,000-row
 *   pages (scanPageSize): a site of 1,000 series scanned at ~12k events/s on the 2-core
 *   machine (128-row pages: ~1.9k/s), where SQLite scans ~65k/s.
 */
import { InfluxDB } from 'influx';
import { StoreTwinError } from '../../errors.ts';
import { MAX_QUERY_LIMIT } from '../paging.ts';
import { isoToMs } from '../sqlite/time.ts';
import type { EventPage, EventQuery, EventStore, NewEvent } from '../types.ts';
import { coded } from './errors.ts';
import { batchPoints } from './points.ts';
import { EventPageReader } from './query.ts';
import { MEASUREMENT_SCHEMAS, RAW_RP, RECEIPTS } from './schema.ts';
import { ensureLayout } from './setup.ts';
import { EventStamps } from './stamps.ts';
import { nsToIso, pointNs } from './time.ts';
import { parseInfluxUrl, type InfluxTarget } from './url.ts';

export interface InfluxEventStoreOptions {
  /** Days the raw points are kept: 0 = forever, else at least MIN_RAW_RETENTION_DAYS. Default 90. */
  rawRetentionDays?: number;
  /** Days the footfall rollups are kept; 0 = forever (the default). */
  rollupRetentionDays?: number;
  /** When the URL carries none. */
  username?: string;
  password?: string;
  /** One HTTP request's timeout. Default 10 s. */
  timeoutMs?: number;
  /**
   * Create or correct the database, retention policies and CQs at start (needs an admin user
   * unless they are there already). false: only check the database is there and readable (the
   * long-read thread). Default true.
   */
  manageLayout?: boolean;
  /** RESAMPLE EVERY of the rollup CQs instead of their window: tests use '1s'. */
  rollupEvery?: string;
  now?: () => number;
}

/** Ingest takes a device's own time up to 30 days back (server/ingest/ingest.ts): a day more. */
export const MIN_RAW_RETENTION_DAYS = 31;
const DEFAULT_RAW_RETENTION_DAYS = 90;
const DEFAULT_TIMEOUT_MS = 10_000;
const DAY_MS = 86_400_000;
/** InfluxDB checks the retention horizon with its own clock, a little after ours. */
const HORIZON_MARGIN_MS = 60_000;

function retentionDays(value: number | undefined, fallback: number, min: number, what: string): number {
  const days = value ?? fallback;
  if (!Number.isInteger(days) || days < 0 || (days > 0 && days < min)) {
    throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `${what} must be 0 (forever) or a whole number of days from ${min}`, { [what]: value });
  }
  return days;
}

export class InfluxEventStore implements EventStore {
  readonly kind = 'influx';
  /** Full pages: a query costs about the same for 128 rows as for 1,000 (query.ts). */
  readonly scanPageSize = MAX_QUERY_LIMIT;
  readonly target: InfluxTarget;
  private readonly influx: InfluxDB;
  private readonly pages: EventPageReader;
  private readonly stamps: EventStamps;
  private readonly rawDays: number;
  private readonly rollupDays: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  /** Throws STW_ERR_CONFIG_INVALID for a bad URL or option; connects only in start(). */
  constructor(
    url: string,
    private readonly options: InfluxEventStoreOptions = {},
  ) {
    this.target = parseInfluxUrl(url, options);
    this.rawDays = retentionDays(options.rawRetentionDays, DEFAULT_RAW_RETENTION_DAYS, MIN_RAW_RETENTION_DAYS, 'rawRetentionDays');
    this.rollupDays = retentionDays(options.rollupRetentionDays, 0, 1, 'rollupRetentionDays');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    const { protocol, host, port, database, username, password } = this.target;
    this.influx = new InfluxDB({
      protocol,
      host,
      port,
      database,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      // One host: a failed request is not retried (ingest's device resends instead).
      pool: { requestTimeout: this.timeoutMs, maxRetries: 0 },
      // Copies: the client writes the database into each schema it is given.
      schema: MEASUREMENT_SCHEMAS.map((m) => ({ ...m, database })),
    });
    this.pages = new EventPageReader(this.influx);
    this.stamps = new EventStamps(this.now);
  }

  async start(): Promise<void> {
    await coded('start', this.target.safeUrl, async () => {
      await this.ping();
      if (this.options.manageLayout === false) await this.checkLaidOut();
      else await ensureLayout(this.influx, { database: this.target.database, rawRetentionDays: this.rawDays, rollupRetentionDays: this.rollupDays, rollupEvery: this.options.rollupEvery });
    });
  }

  async stop(): Promise<void> {
    // HTTP only: no connection to close; ingest drains its batches before the store stops.
  }

  async append(events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const points = batchPoints(events, this.stamps, this.horizonMs());
    await coded('write', this.target.safeUrl, () => this.influx.writePoints(points, { precision: 'n', retentionPolicy: RAW_RP }));
  }

  async query(q: EventQuery): Promise<EventPage> {
    return coded('query', this.target.safeUrl, () => this.pages.page(q));
  }

  async recentSeqs(since: string): Promise<Array<{ device: string; seq: number; receivedAt: string }>> {
    const sinceNs = pointNs(isoToMs(since, 'since'));
    const rows = await coded('query', this.target.safeUrl, () =>
      this.influx.query<{ device: string; seq: number }>(`SELECT "device", "seq" FROM "${RAW_RP}"."${RECEIPTS}" WHERE time >= ${sinceNs}`),
    );
    return rows.map((r) => ({ device: r.device, seq: r.seq, receivedAt: nsToIso(BigInt(r.time.getNanoTime())) }));
  }

  /** Points older than this would be dropped by the raw retention policy. */
  private horizonMs(): number {
    return this.rawDays === 0 ? 0 : this.now() - this.rawDays * DAY_MS + HORIZON_MARGIN_MS;
  }

  private async ping(): Promise<void> {
    const [host] = await this.influx.ping(this.timeoutMs);
    if (host?.online) return;
    const status = host?.res?.statusCode;
    throw new Error(status === undefined ? 'cannot reach InfluxDB (no answer to /ping: address, port, TLS or network)' : `InfluxDB's /ping answered ${status}`);
  }

  private async checkLaidOut(): Promise<void> {
    const policies = await this.influx.showRetentionPolicies(this.target.database);
    if (!policies.some((p) => p.name === RAW_RP)) {
      throw new StoreTwinError('STW_ERR_STORAGE_UNAVAILABLE', `InfluxDB database "${this.target.database}" has no "${RAW_RP}" retention policy: start StoreTwin once with a user that may create it`, { url: this.target.safeUrl });
    }
  }
}
