/**
 * The alarm lifecycle as data (after Home Assistant's alarm_control_panel: an enum of states and
 * the transitions allowed from each). An alarm has two orthogonal flags, `open` and
 * `acknowledged`, so four phases:
 *
 *   active ──ack──▶ acknowledged ──clear──▶ cleared
 *     │                                       ▲
 *     └──clear──▶ cleared-unacknowledged ──ack┘
 *
 * Only `cleared` (acknowledged and cleared) is closed out. Until then the alarm is its
 * incident's one alarm: a re-trigger (`repeated`) folds into it from any other phase, and one
 * that meets a cleared-unacknowledged alarm opens it again (the condition is back).
 *
 * A latched alarm's condition ending is `restored`: recorded, the alarm stays active; a person's
 * acknowledgement then closes it out (acknowledged + cleared). A non-latched alarm's condition
 * ending is an automatic clear, as is a latched one's once it was acknowledged.
 *
 * `transition()` is pure: it returns the next alarm (with the transition appended to its
 * history) or a STW_ERR_ALARM_TRANSITION error value, and never touches storage. The service
 * persists what it returns; the store's upsert mirrors `repeated` in SQL (see store.ts).
 */
import { StoreTwinError } from '../errors.ts';
import type { Localized } from '../sites/model.ts';
import { SEVERITIES, type Alarm, type AlarmAction, type AlarmState, type AlarmTransition, type AlarmTrigger, type Severity, type SnapshotStatus } from './types.ts';

/** The four combinations of (open, acknowledged). */
export const PHASES = ['active', 'acknowledged', 'cleared-unacknowledged', 'cleared'] as const;
export type AlarmPhase = (typeof PHASES)[number];

/** What can happen to an existing alarm; `raised` creates one and has no "from". */
export type AlarmCommand =
  | { action: 'repeated'; at: string; severity: Severity; message: Localized; details?: Record<string, unknown> }
  | { action: 'restored'; at: string; by: string }
  | { action: 'acknowledged'; at: string; by: string; comment?: string }
  | { action: 'cleared'; at: string; by: string; comment?: string }
  | { action: 'commented'; at: string; by: string; comment: string }
  | { action: 'escalated'; at: string; level: number }
  | { action: 'snapshot'; at: string; snapshot: SnapshotStatus };

export type CommandAction = AlarmCommand['action'];

/** The phases each action is allowed from. Anything else is 409 STW_ERR_ALARM_TRANSITION. */
export const TRANSITIONS: Readonly<Record<CommandAction, readonly AlarmPhase[]>> = {
  // One alarm per incident: a re-trigger folds into anything not closed out; after the close
  // out a trigger raises a new alarm.
  repeated: ['active', 'acknowledged', 'cleared-unacknowledged'],
  // The condition ended; for an alarm already cleared there is nothing left to restore.
  restored: ['active', 'acknowledged'],
  // Acknowledging after the condition cleared is how a cleared-unacknowledged alarm is closed out.
  acknowledged: ['active', 'cleared-unacknowledged'],
  // Clearing keeps the acknowledged flag, so cleared-unacknowledged stays visible as unseen.
  cleared: ['active', 'acknowledged'],
  commented: PHASES,
  // Escalation exists to find someone who reacts: it stops on ack or clear.
  escalated: ['active'],
  // "Send now, enrich later": the picture may arrive after anything has happened to the alarm.
  snapshot: PHASES,
};

/** Who automatic transitions are attributed to. */
export const SYSTEM = 'system';
export function ruleActor(rule: string): string {
  return `rule:${rule}`;
}

export function phaseOf(a: Pick<Alarm, 'state' | 'acknowledged'>): AlarmPhase {
  if (a.state === 'cleared') return a.acknowledged ? 'cleared' : 'cleared-unacknowledged';
  return a.acknowledged ? 'acknowledged' : 'active';
}

/** Closed out: acknowledged and cleared. Everything else is still someone's business. */
export function closedOut(a: Pick<Alarm, 'state' | 'acknowledged'>): boolean {
  return phaseOf(a) === 'cleared';
}

/** The public state (DESIGN.md) from the two stored flags. */
export function stateOf(open: boolean, acknowledged: boolean): AlarmState {
  if (!open) return 'cleared';
  return acknowledged ? 'acknowledged' : 'active';
}

export function canTransition(alarm: Pick<Alarm, 'state' | 'acknowledged'>, action: CommandAction): boolean {
  return TRANSITIONS[action].includes(phaseOf(alarm));
}

/** 0 = most severe, so "more severe" is "smaller rank". */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(b) < severityRank(a) ? b : a;
}

/**
 * RFC 7396 JSON merge patch, the same merge SQLite's json_patch() does, so the upsert in SQL and
 * `repeated` here agree on the details of a repeated alarm.
 */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value)) out[key] = mergePatch(isPlainObject(out[key]) ? out[key] : {}, value);
    else out[key] = value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A new alarm from a trigger: open, unacknowledged, count 1, its `raised` transition recorded. */
export function raise(trigger: AlarmTrigger, id: string): Alarm {
  const details = { ...(trigger.details ?? {}), autoClear: trigger.autoClear };
  const latched = trigger.latch === true;
  return {
    id,
    site: trigger.site,
    zone: trigger.zone,
    device: trigger.device,
    rule: trigger.rule,
    source: trigger.source,
    severity: trigger.severity,
    state: 'active',
    acknowledged: false,
    message: trigger.message,
    count: 1,
    firstAt: trigger.at,
    lastAt: trigger.at,
    acknowledgedAt: null,
    acknowledgedBy: null,
    clearedAt: null,
    clearedBy: null,
    escalationLevel: 0,
    snapshot: null,
    latched,
    restoredAt: null,
    chattering: false,
    details,
    history: [{ at: trigger.at, by: ruleActor(trigger.rule), action: 'raised', detail: { severity: trigger.severity, ...(latched ? { latched } : {}) } }],
  };
}

function refuse(alarm: Alarm, action: CommandAction, why?: string): StoreTwinError {
  const from = phaseOf(alarm);
  return new StoreTwinError('STW_ERR_ALARM_TRANSITION', why ?? `alarm ${alarm.id} is ${from}: cannot be ${action}`, { alarm: alarm.id, from, action });
}

function withEntry(alarm: Alarm, next: Partial<Alarm>, entry: AlarmTransition): Alarm {
  const merged = { ...alarm, ...next };
  // `state` is derived, never set directly: recomputed from the two flags after every change.
  return { ...merged, state: stateOf(merged.state !== 'cleared', merged.acknowledged), history: [...alarm.history, entry] };
}

/** The next alarm, or why the command is not allowed in the alarm's phase. */
export function transition(alarm: Alarm, cmd: AlarmCommand): Alarm | StoreTwinError {
  if (!canTransition(alarm, cmd.action)) return refuse(alarm, cmd.action);
  switch (cmd.action) {
    case 'repeated': {
      const severity = maxSeverity(alarm.severity, cmd.severity);
      const reopened = alarm.state === 'cleared';
      const next: Partial<Alarm> = {
        count: alarm.count + 1,
        // Triggers can arrive out of order (a late NB-IoT frame); lastAt never goes back.
        lastAt: Date.parse(cmd.at) > Date.parse(alarm.lastAt) ? cmd.at : alarm.lastAt,
        severity,
        message: cmd.message,
        details: mergePatch(alarm.details, cmd.details ?? {}),
        // The condition holds again: a cleared-unacknowledged alarm opens again, a restored
        // latched one is no longer restored.
        state: stateOf(true, alarm.acknowledged),
        clearedAt: null,
        clearedBy: null,
        restoredAt: null,
      };
      // Occurrences are counted, not logged: a flapping door would otherwise grow the history
      // by one row per event. A change someone must see — a rise in severity, the alarm
      // opening again, a restored condition coming back — is recorded.
      if (severity === alarm.severity && !reopened && alarm.restoredAt === null) return { ...alarm, ...next };
      const detail: Record<string, unknown> = { count: alarm.count + 1 };
      if (severity !== alarm.severity) Object.assign(detail, { severity, from: alarm.severity });
      if (reopened) detail.reopened = true;
      if (alarm.restoredAt !== null) detail.again = true;
      return withEntry(alarm, next, { at: cmd.at, by: SYSTEM, action: 'repeated', detail });
    }
    case 'restored':
      // Latched and nobody has seen it: it stays active, marked restored (ISA-18.2 latching).
      if (alarm.latched && !alarm.acknowledged) {
        return withEntry(alarm, { restoredAt: cmd.at }, { at: cmd.at, by: cmd.by, action: 'restored' });
      }
      return withEntry(alarm, { state: 'cleared', clearedAt: cmd.at, clearedBy: cmd.by }, { at: cmd.at, by: cmd.by, action: 'cleared', detail: { restored: true } });
    case 'acknowledged': {
      const acked = withEntry(
        alarm,
        { acknowledged: true, acknowledgedAt: cmd.at, acknowledgedBy: cmd.by },
        entry(cmd.at, cmd.by, 'acknowledged', cmd.comment),
      );
      // A latched alarm whose condition already ended is reset by the acknowledgement: closed out.
      if (alarm.latched && alarm.restoredAt !== null && alarm.state !== 'cleared') {
        return withEntry(acked, { state: 'cleared', clearedAt: cmd.at, clearedBy: cmd.by }, { at: cmd.at, by: cmd.by, action: 'cleared', detail: { restored: true } });
      }
      return acked;
    }
    case 'cleared':
      return withEntry(alarm, { state: 'cleared', clearedAt: cmd.at, clearedBy: cmd.by }, entry(cmd.at, cmd.by, 'cleared', cmd.comment));
    case 'commented':
      return withEntry(alarm, {}, entry(cmd.at, cmd.by, 'commented', cmd.comment));
    case 'escalated':
      if (!Number.isInteger(cmd.level) || cmd.level <= alarm.escalationLevel) {
        return refuse(alarm, 'escalated', `alarm ${alarm.id} is at escalation level ${alarm.escalationLevel}: cannot escalate to ${cmd.level}`);
      }
      return withEntry(alarm, { escalationLevel: cmd.level }, { at: cmd.at, by: SYSTEM, action: 'escalated', detail: { level: cmd.level } });
    case 'snapshot':
      return withEntry(alarm, { snapshot: cmd.snapshot }, { at: cmd.at, by: SYSTEM, action: 'snapshot', detail: snapshotDetail(cmd.snapshot) });
  }
}

/** Like transition(), throwing the refusal. */
export function apply(alarm: Alarm, cmd: AlarmCommand): Alarm {
  const next = transition(alarm, cmd);
  if (next instanceof StoreTwinError) throw next;
  return next;
}

function entry(at: string, by: string, action: AlarmAction, comment: string | undefined): AlarmTransition {
  return comment === undefined ? { at, by, action } : { at, by, action, comment };
}

function snapshotDetail(s: SnapshotStatus): Record<string, unknown> {
  switch (s.status) {
    case 'pending':
      return { status: s.status, camera: s.camera };
    case 'attached':
      return { status: s.status, camera: s.camera, id: s.id };
    case 'none':
      return { status: s.status, reason: s.reason };
    case 'failed':
      return { status: s.status, camera: s.camera, reason: s.reason };
  }
}
