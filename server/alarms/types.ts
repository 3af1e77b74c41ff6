/**
 * Alarms: an explicit state machine (after Home Assistant's alarm panel and ThingsBoard's
 * alarm model, with ISA-18.2 / IEC 62682 semantics). An alarm is open until cleared;
 * acknowledgement is orthogonal, so the four combinations are: active-unacknowledged →
 * active-acknowledged → cleared, or active-unacknowledged → cleared-unacknowledged → cleared
 * (acknowledged after clearing). An alarm is **closed out** only when it is both acknowledged
 * and cleared; until then it is the one alarm of its incident, and a re-trigger of the same
 * (rule, source) folds into it. A **latched** alarm (security: a door opened in an armed zone,
 * tamper, intrusion) does not clear itself when its condition returns to normal: it records
 * `restored` and stays active until a person acknowledges it.
 * The public `state` (DESIGN.md) is `active` (open, unacknowledged), `acknowledged` (open,
 * acknowledged) or `cleared`; `acknowledged` tells whether a cleared alarm was ever seen.
 */
import type { Localized } from '../sites/model.ts';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type AlarmState = 'active' | 'acknowledged' | 'cleared';

/**
 * The rule id of the record left when maintenance swallows a critical alarm (alarms/service.ts).
 * Reserved: a rule of that id would fold its alarms into those records.
 */
export const SUPPRESSED_RULE = 'maintenance-suppressed';

export type AlarmAction = 'raised' | 'repeated' | 'restored' | 'acknowledged' | 'cleared' | 'commented' | 'escalated' | 'snapshot';

/** Who did it: a user name, or `system` / `rule:<id>` for automatic transitions. */
export interface AlarmTransition {
  at: string;
  by: string;
  action: AlarmAction;
  comment?: string;
  /** e.g. the escalation level, the snapshot id. */
  detail?: Record<string, unknown>;
}

export type SnapshotStatus =
  | { status: 'pending'; requestedAt: string; camera: string }
  | { status: 'attached'; id: string; camera: string; at: string; url: string }
  | { status: 'none'; reason: string }
  | { status: 'failed'; camera: string; reason: string };

export interface Alarm {
  id: string;
  site: string;
  zone: string | null;
  device: string | null;
  rule: string;
  /** What the alarm is about, for dedupe: at most one open alarm per (rule, source). */
  source: string;
  severity: Severity;
  state: AlarmState;
  acknowledged: boolean;
  message: Localized;
  count: number;
  firstAt: string;
  lastAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  clearedAt: string | null;
  clearedBy: string | null;
  /** Escalation level reached (0 = first recipients only). */
  escalationLevel: number;
  snapshot: SnapshotStatus | null;
  /** A security alarm: stays active after its condition ends, until someone acknowledges it. */
  latched: boolean;
  /** When the condition returned to normal while the alarm stayed active (latched); null while it holds. */
  restoredAt: string | null;
  /** The source changed state too often (see CHATTER in service.ts): its notifications are held back. */
  chattering: boolean;
  details: Record<string, unknown>;
  history: AlarmTransition[];
}

/** What a rule (or anything else) asks the alarm service to raise. */
export interface AlarmTrigger {
  site: string;
  zone: string | null;
  device: string | null;
  rule: string;
  source: string;
  severity: Severity;
  message: Localized;
  /** Whether the rule clears the alarm itself when the condition ends. */
  autoClear: boolean;
  /** Whether the alarm latches: stays active after the condition ends until acknowledged. Default false. */
  latch?: boolean;
  at: string;
  details?: Record<string, unknown>;
}

export interface AlarmQuery {
  site?: string;
  /** Sites the caller may see; undefined = all. */
  sites?: readonly string[];
  state?: AlarmState | 'open';
  severity?: Severity;
  rule?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

/**
 * The alarm service (server/alarms/service.ts). Every change is one store commit that also
 * writes the change's notification deliveries (the outbox), then is announced on the bus as
 * `alarm.changed`. Changes of one service run one after another (a promise queue), so they
 * never interleave.
 */
export interface AlarmActions {
  /**
   * Opens an alarm, or counts a repeat of the open one for (rule, source). Null when suppressed
   * (maintenance); a suppressed critical trigger raises a `maintenance-suppressed` info alarm instead.
   */
  raise(trigger: AlarmTrigger): Promise<Alarm | null>;
  /**
   * The rule's condition ended: a latched alarm nobody acknowledged records `restored` and stays
   * active; otherwise the alarm clears if its rule auto-clears.
   */
  resolve(rule: string, source: string, at: string): Promise<Alarm | null>;
  acknowledge(id: string, by: string, comment?: string): Promise<Alarm>;
  clear(id: string, by: string, comment?: string): Promise<Alarm>;
  comment(id: string, by: string, text: string): Promise<Alarm>;
  /** Records reaching escalation `level` and writes that level's deliveries; null if no longer open and unacknowledged. */
  escalate(id: string, level: number, at: string): Promise<Alarm | null>;
  attachSnapshot(id: string, snapshot: SnapshotStatus, at: string): Promise<Alarm | null>;
  get(id: string): Promise<Alarm | null>;
  list(q: AlarmQuery): Promise<{ items: Alarm[]; nextCursor: string | null }>;
  /** Open alarms (for escalation timers and the console after a restart). */
  open(site?: string): Promise<Alarm[]>;
}
