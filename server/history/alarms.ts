/**
 * The alarms a replay window needs: every alarm of the site alive at some instant of the
 * window (raised before its end, not cleared before its start), with just what the replay's
 * alarm list and timeline marks show. Read straight from the alarm tables (migration 3); the
 * site prefix of index alarms_site_last narrows the scan to one site, and a site's alarms over
 * a week are few.
 */
import type { Statement } from 'better-sqlite3';
import { DEFAULT_ALARM_CATEGORY } from '../alarms/category.ts';
import type { Severity } from '../alarms/types.ts';
import type { Localized } from '../sites/model.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { msToIso } from '../storage/sqlite/time.ts';

export interface HistoryAlarm {
  id: string;
  severity: Severity;
  zone: string | null;
  device: string | null;
  rule: string;
  message: Localized;
  firstAt: string;
  acknowledgedAt: string | null;
  clearedAt: string | null;
}

export interface AlarmWindowReader {
  /**
   * Alarms of `site` whose lifetime [firstAt, clearedAt ?? ∞) meets [fromMs, toMs], oldest
   * first, at most `limit`; only those of `categories` when given (server/alarms/category.ts).
   */
  overlapping(site: string, fromMs: number, toMs: number, limit: number, categories?: readonly string[]): HistoryAlarm[];
}

interface Row {
  id: string;
  severity: Severity;
  zone: string | null;
  device: string | null;
  rule: string;
  message: string;
  first_at: number;
  acknowledged_at: number | null;
  cleared_at: number | null;
}

export class SqliteAlarmWindow implements AlarmWindowReader {
  private readonly stmt: Statement<[{ site: string; from: number; to: number; limit: number; categories: string | null }], Row>;

  constructor(db: Database) {
    this.stmt = db.prepare(
      `SELECT id, severity, zone, device, rule, message, first_at, acknowledged_at, cleared_at FROM alarms
       WHERE site = @site AND first_at <= @to AND (cleared_at IS NULL OR cleared_at >= @from)
         AND (@categories IS NULL OR coalesce(json_extract(details, '$.category'), '${DEFAULT_ALARM_CATEGORY}') IN (SELECT value FROM json_each(@categories)))
       ORDER BY first_at, id LIMIT @limit`,
    );
  }

  overlapping(site: string, fromMs: number, toMs: number, limit: number, categories?: readonly string[]): HistoryAlarm[] {
    return this.stmt.all({ site, from: fromMs, to: toMs, limit, categories: categories === undefined ? null : JSON.stringify(categories) }).map((r) => ({
      id: r.id,
      severity: r.severity,
      zone: r.zone,
      device: r.device,
      rule: r.rule,
      message: JSON.parse(r.message) as Localized,
      firstAt: msToIso(r.first_at),
      acknowledgedAt: r.acknowledged_at === null ? null : msToIso(r.acknowledged_at),
      clearedAt: r.cleared_at === null ? null : msToIso(r.cleared_at),
    }));
  }
}
