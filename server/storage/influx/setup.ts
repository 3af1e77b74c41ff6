/**
 * The database's layout, made at start and idempotent: the database, the `raw` retention policy
 * (its default) and the `rollups` one, and the continuous queries that downsample footfall
 * (schema.ts). Only what is missing or differs is changed, so a user without admin rights can
 * start against a database an admin laid out already; changing a retention in the config alters
 * the policy at the next start.
 *
 * The rollup CQs recompute the last `resampleFor` (10 min of minutes, 2 h of hours) every
 * `every`, so counts arriving a little late are still summed in; counts arriving later than
 * that (a counter that was offline) are only in the raw `footfall` points.
 */
import { escape, type InfluxDB } from 'influx';
import { FOOTFALL, FOOTFALL_ROLLUPS, RAW_RP, ROLLUP_RP } from './schema.ts';

export interface LayoutOptions {
  database: string;
  /** Days; 0 = forever. */
  rawRetentionDays: number;
  rollupRetentionDays: number;
  /** RESAMPLE EVERY of the rollup CQs instead of their window (tests: '1s'). */
  rollupEvery?: string;
}

interface PolicyRow {
  name: string;
  duration: string;
  default: boolean;
}

/** InfluxDB's duration literal for days (0 = INF) and how SHOW RETENTION POLICIES prints it. */
function retention(days: number): { literal: string; shown: string } {
  return days === 0 ? { literal: 'INF', shown: '0s' } : { literal: `${days}d`, shown: `${days * 24}h0m0s` };
}

async function ensureDatabase(influx: InfluxDB, database: string): Promise<void> {
  const names = await influx.getDatabaseNames();
  if (!names.includes(database)) await influx.createDatabase(database);
}

async function ensurePolicy(influx: InfluxDB, existing: PolicyRow[], database: string, name: string, days: number, isDefault: boolean): Promise<void> {
  const { literal, shown } = retention(days);
  const found = existing.find((p) => p.name === name);
  if (found && found.duration === shown && found.default === isDefault) return;
  const options = { database, duration: literal, replication: 1, isDefault };
  if (found) await influx.alterRetentionPolicy(name, options);
  else await influx.createRetentionPolicy(name, options);
}

/** The SELECT … INTO a rollup CQ runs (also what a test runs by hand over a fixed range). */
export function rollupSelect(database: string, rollup: (typeof FOOTFALL_ROLLUPS)[number], where = ''): string {
  const db = escape.quoted(database);
  return (
    `SELECT sum("in") AS "in", sum("out") AS "out" INTO ${db}."${ROLLUP_RP}"."${rollup.measurement}" ` +
    `FROM ${db}."${RAW_RP}"."${FOOTFALL}"${where} GROUP BY time(${rollup.every}), "site", "zone", "device"`
  );
}

/** InfluxDB compares a CQ's stored text with a new one's: the same text again is a no-op. */
function normalized(query: string): string {
  return query.replace(/["\s]/g, '').toLowerCase();
}

/**
 * The CQs of one database. SHOW CONTINUOUS QUERIES lists every database's, one series each
 * (the client's showContinousQueries() runs them together).
 */
export async function continuousQueries(influx: InfluxDB, database: string): Promise<Array<{ name: string; query: string }>> {
  const result = await influx.query<{ name: string; query: string }>('SHOW CONTINUOUS QUERIES', { database });
  return result.groups().find((g) => g.name === database)?.rows ?? [];
}

async function ensureRollups(influx: InfluxDB, opts: LayoutOptions): Promise<void> {
  const existing = await continuousQueries(influx, opts.database);
  for (const rollup of FOOTFALL_ROLLUPS) {
    const resample = `RESAMPLE EVERY ${opts.rollupEvery ?? rollup.every} FOR ${rollup.resampleFor}`;
    const select = rollupSelect(opts.database, rollup);
    const found = existing.find((cq) => cq.name === rollup.measurement);
    if (found && normalized(found.query).includes(normalized(`${resample} BEGIN ${select} END`))) continue;
    if (found) await influx.dropContinuousQuery(rollup.measurement, opts.database);
    await influx.createContinuousQuery(rollup.measurement, select, opts.database, resample);
  }
}

/** Creates or corrects the database, its retention policies and the rollup CQs. */
export async function ensureLayout(influx: InfluxDB, opts: LayoutOptions): Promise<void> {
  await ensureDatabase(influx, opts.database);
  const policies = (await influx.showRetentionPolicies(opts.database)) as unknown as PolicyRow[];
  await ensurePolicy(influx, policies, opts.database, RAW_RP, opts.rawRetentionDays, true);
  await ensurePolicy(influx, policies, opts.database, ROLLUP_RP, opts.rollupRetentionDays, false);
  await ensureRollups(influx, opts);
}
