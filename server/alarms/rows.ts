/**
 * Alarm rows as both stores keep them: flags as 0/1, times as Unix ms, JSON as text. SQLite
 * binds these as they are; PostgreSQL converts times to timestamptz and JSON to jsonb in SQL
 * (postgres-store.ts), so one mapping serves both and the two cannot drift.
 */
import type { Localized } from '../sites/model.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { closedOut, stateOf } from './state-machine.ts';
import type { Alarm, AlarmAction, AlarmTransition, Severity, SnapshotStatus } from './types.ts';

export interface AlarmRow {
  id: string;
  site: string;
  zone: string | null;
  device: string | null;
  rule: string;
  source: string;
  severity: Severity;
  open: number;
  acknowledged: number;
  message: string;
  count: number;
  first_at: number;
  last_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  cleared_by: string | null;
  escalation: number;
  snapshot: string | null;
  details: string;
  latched: number;
  restored_at: number | null;
  chattering: number;
  /** 1 from the raise until the close out: the row that takes re-triggers of (rule, source). */
  live: number;
}

export const ALARM_COLUMNS = [
  'id', 'site', 'zone', 'device', 'rule', 'source', 'severity', 'open', 'acknowledged', 'message', 'count', 'first_at', 'last_at',
  'acknowledged_at', 'acknowledged_by', 'cleared_at', 'cleared_by', 'escalation', 'snapshot', 'details', 'latched', 'restored_at', 'chattering', 'live',
] as const satisfies ReadonlyArray<keyof AlarmRow>;

/** What an update may change: identity (id, site, zone, device, rule, source, first_at, latched) never does. */
export const MUTABLE_COLUMNS = [
  'severity', 'open', 'acknowledged', 'message', 'count', 'last_at', 'acknowledged_at', 'acknowledged_by', 'cleared_at', 'cleared_by',
  'escalation', 'snapshot', 'details', 'restored_at', 'chattering', 'live',
] as const satisfies ReadonlyArray<keyof AlarmRow>;

/**
 * The columns an update compares with `before`: everything a transition reads to decide, so a
 * change committed elsewhere in between is never overwritten with a decision made without it.
 * Not `live`: it follows from the flags, except on rows migration 4 left not live.
 */
export const GUARDED = ['severity', 'open', 'acknowledged', 'count', 'last_at', 'acknowledged_at', 'cleared_at', 'escalation', 'restored_at', 'chattering'] as const;

export interface HistoryRow {
  alarm: string;
  at: number;
  by: string;
  action: AlarmAction;
  comment: string | null;
  detail: string | null;
}

export function toRow(a: Alarm): AlarmRow {
  return {
    id: a.id,
    site: a.site,
    zone: a.zone,
    device: a.device,
    rule: a.rule,
    source: a.source,
    severity: a.severity,
    open: a.state === 'cleared' ? 0 : 1,
    acknowledged: a.acknowledged ? 1 : 0,
    message: JSON.stringify(a.message),
    count: a.count,
    first_at: isoToMs(a.firstAt, 'firstAt'),
    last_at: isoToMs(a.lastAt, 'lastAt'),
    acknowledged_at: a.acknowledgedAt === null ? null : isoToMs(a.acknowledgedAt, 'acknowledgedAt'),
    acknowledged_by: a.acknowledgedBy,
    cleared_at: a.clearedAt === null ? null : isoToMs(a.clearedAt, 'clearedAt'),
    cleared_by: a.clearedBy,
    escalation: a.escalationLevel,
    snapshot: a.snapshot === null ? null : JSON.stringify(a.snapshot),
    details: JSON.stringify(a.details),
    latched: a.latched ? 1 : 0,
    restored_at: a.restoredAt === null ? null : isoToMs(a.restoredAt, 'restoredAt'),
    chattering: a.chattering ? 1 : 0,
    live: closedOut(a) ? 0 : 1,
  };
}

export function fromRow(r: AlarmRow, history: AlarmTransition[]): Alarm {
  return {
    id: r.id,
    site: r.site,
    zone: r.zone,
    device: r.device,
    rule: r.rule,
    source: r.source,
    severity: r.severity,
    state: stateOf(r.open === 1, r.acknowledged === 1),
    acknowledged: r.acknowledged === 1,
    message: JSON.parse(r.message) as Localized,
    count: r.count,
    firstAt: msToIso(r.first_at),
    lastAt: msToIso(r.last_at),
    acknowledgedAt: r.acknowledged_at === null ? null : msToIso(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    clearedAt: r.cleared_at === null ? null : msToIso(r.cleared_at),
    clearedBy: r.cleared_by,
    escalationLevel: r.escalation,
    snapshot: r.snapshot === null ? null : (JSON.parse(r.snapshot) as SnapshotStatus),
    latched: r.latched === 1,
    restoredAt: r.restored_at === null ? null : msToIso(r.restored_at),
    chattering: r.chattering === 1,
    details: JSON.parse(r.details) as Record<string, unknown>,
    history,
  };
}

export function toHistoryRow(alarm: string, t: AlarmTransition): HistoryRow {
  return {
    alarm,
    at: isoToMs(t.at, 'at'),
    by: t.by,
    action: t.action,
    comment: t.comment ?? null,
    detail: t.detail === undefined ? null : JSON.stringify(t.detail),
  };
}

export function fromHistoryRow(r: HistoryRow): AlarmTransition {
  const t: AlarmTransition = { at: msToIso(r.at), by: r.by, action: r.action };
  if (r.comment !== null) t.comment = r.comment;
  if (r.detail !== null) t.detail = JSON.parse(r.detail) as Record<string, unknown>;
  return t;
}

/** Groups history rows (in id order) by alarm. */
export function historiesOf(rows: readonly HistoryRow[]): Map<string, AlarmTransition[]> {
  const out = new Map<string, AlarmTransition[]>();
  for (const r of rows) {
    let list = out.get(r.alarm);
    if (list === undefined) out.set(r.alarm, (list = []));
    list.push(fromHistoryRow(r));
  }
  return out;
}

/** Alarms without their history (lists, open alarms): history is read per alarm by get(). */
export const NO_HISTORY: AlarmTransition[] = [];
