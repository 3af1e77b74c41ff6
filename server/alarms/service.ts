/**
 * The alarm service: the only writer of alarms. Each change is ONE SQLite transaction holding
 * the alarm row, its history row and the change's notification deliveries (the outbox), so a
 * change is never committed without its deliveries, nor a delivery without its change. Only
 * after the commit is the change announced: on the bus (`alarm.changed`, for the live feed and
 * linkage) and on MQTT `storetwin/{site}/alarms` for integrations.
 *
 * Methods are synchronous (better-sqlite3 is): a change cannot interleave with another one in
 * this process, and transactions are IMMEDIATE so a second connection (the CLI, another
 * worker) waits for the write lock instead of failing half way with SQLITE_BUSY.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { ActiveMaintenance, MaintenanceReader } from '../arming/types.ts';
import type { DeliveryPlanner, OutboxWriter } from '../notify/types.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { ChatterDetector, type ChatterPolicy } from './chatter.ts';
import { apply, closedOut, raise, ruleActor, transition, type AlarmCommand } from './state-machine.ts';
import type { SqliteAlarmStore } from './store.ts';
import { SUPPRESSED_RULE, type Alarm, type AlarmAction, type AlarmActions, type AlarmQuery, type AlarmTransition, type AlarmTrigger, type Severity, type SnapshotStatus } from './types.ts';

export interface AlarmServiceDeps {
  db: Database;
  store: SqliteAlarmStore;
  outbox: OutboxWriter;
  planner: DeliveryPlanner;
  bus: EventBus;
  clock: Clock;
  maintenance?: MaintenanceReader;
  /** The broker's publisher, for `storetwin/{site}/alarms`. */
  publish?: (topic: string, payload: Buffer) => void;
  logger: Logger;
  /** storetwin_alarms_total and storetwin_alarms_suppressed_total. */
  metrics?: Metrics;
  /** Alarm ids; crypto.randomUUID by default. */
  newId?: () => string;
  /** When a source counts as chattering (DEFAULT_CHATTER by default). */
  chatter?: ChatterPolicy;
}

export { SUPPRESSED_RULE };

/**
 * Severities whose suppression is recorded as an alarm. Critical (intrusion, tamper) is what
 * a window must not hide unseen: a window is the one way to silence an armed zone without
 * disarming it. Major and below (a device silent, a door held open) are what maintenance is
 * for; recording them would fill the console with the technician's ordinary work.
 */
export const RECORDED_SUPPRESSIONS: readonly Severity[] = ['critical'];

const SEVERITY_LABEL: Readonly<Record<Severity, { en: string; 'zh-CN': string }>> = {
  critical: { en: 'Critical', 'zh-CN': '紧急' },
  major: { en: 'Major', 'zh-CN': '重要' },
  minor: { en: 'Minor', 'zh-CN': '次要' },
  warning: { en: 'Warning', 'zh-CN': '警告' },
  info: { en: 'Info', 'zh-CN': '提示' },
};

/** The integration topic (DESIGN.md). */
export function alarmTopic(site: string): string {
  return `storetwin/${site}/alarms`;
}

/**
 * The MQTT payload: `{"action", "alarm"}` with the alarm minus its history, which only grows
 * and is one GET away; integrations want the current state of the alarm that changed.
 */
export function alarmMessage(alarm: Alarm, action: AlarmAction): Buffer {
  const { history: _history, ...rest } = alarm;
  return Buffer.from(JSON.stringify({ action, alarm: rest }));
}

interface Change {
  alarm: Alarm;
  action: AlarmAction;
}

const liveKey = (a: { rule: string; source: string }): string => `${a.rule}\0${a.source}`;

type QueuedChange = { kind: 'raise'; trigger: AlarmTrigger } | { kind: 'resolve'; site: string; rule: string; source: string; at: string };

export class AlarmService implements AlarmActions {
  private readonly deps: AlarmServiceDeps;
  private readonly log: Logger;
  private readonly newId: () => string;
  private readonly chatter: ChatterDetector;
  private unsubscribe: (() => void) | null = null;
  /** Triggers and resolutions from the bus, committed together (attachToBus). */
  private readonly pending: QueuedChange[] = [];
  private flushScheduled = false;

  constructor(deps: AlarmServiceDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ module: 'alarms' });
    this.newId = deps.newId ?? randomUUID;
    this.chatter = new ChatterDetector(deps.chatter);
  }

  /** Listens to the rules engine's events (see attachToBus). */
  start(): void {
    this.unsubscribe ??= this.attachToBus();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.flushPending();
  }

  /**
   * `rule.triggered` → raise, `rule.resolved` → resolve, batched: what the rules engine emits
   * while it works through one stored batch of events is committed in ONE transaction when the
   * emitting code returns (a microtask later), so a door flapping in thousands of events costs
   * one fsync per ingest commit, not one per event. Each change still runs in its own savepoint:
   * one that fails is logged and rolled back alone. Returns the unsubscribe function.
   */
  attachToBus(): () => void {
    const { bus } = this.deps;
    const onTriggered = (trigger: AlarmTrigger): void => this.enqueue({ kind: 'raise', trigger });
    const onResolved = (r: { site: string; rule: string; source: string; at: string }): void => this.enqueue({ kind: 'resolve', ...r });
    bus.on('rule.triggered', onTriggered);
    bus.on('rule.resolved', onResolved);
    return () => {
      bus.off('rule.triggered', onTriggered);
      bus.off('rule.resolved', onResolved);
    };
  }

  /**
   * Commits what the bus queued so far (stop() calls it too, so no trigger is lost). The batch
   * holds the write lock throughout, so the live alarms it touches are kept in memory: a repeat
   * of one it already read folds in with the state machine alone, and such an alarm's row is
   * written once, at the end — a flapping door's thousand repeats are one UPDATE.
   */
  flushPending(): void {
    this.flushScheduled = false;
    const queued = this.pending.splice(0);
    if (queued.length === 0) return;
    const { db, store } = this.deps;
    const changes: Change[] = [];
    /** (rule, source) → its live alarm as this batch left it; `dirty` rows are not written yet. */
    const live = new Map<string, Alarm>();
    const dirty = new Set<string>();
    const writeBack = (key: string): void => {
      if (dirty.delete(key)) store.update(live.get(key)!);
    };
    const step = (item: QueuedChange): void => {
      let body: () => Change | null;
      let cached: Alarm | undefined;
      let key: string;
      if (item.kind === 'raise') {
        const trigger = this.effectiveTrigger(item.trigger);
        if (trigger === null) return;
        key = liveKey(trigger);
        cached = live.get(key);
        const before = cached;
        body = before ? () => this.repeatBody(before, trigger) : () => this.upsertBody(trigger);
      } else {
        key = liveKey(item);
        const when = normalizeIso(item.at, 'at');
        body = () => this.resolveAt(item.rule, item.source, when);
      }
      // SQL is about to read the row: it must hold what this batch did to it.
      if (!cached) writeBack(key);
      // A savepoint: a change that fails rolls back alone.
      const change = db.transaction(() => this.plan(body))();
      if (change === null) return;
      changes.push(change);
      if (closedOut(change.alarm)) {
        live.delete(key);
        dirty.delete(key);
      } else {
        live.set(key, change.alarm);
        if (cached) dirty.add(key);
      }
    };
    try {
      db.transaction(() => {
        for (const item of queued) {
          try {
            step(item);
          } catch (err) {
            const what = item.kind === 'raise' ? item.trigger : item;
            this.log.error({ err, rule: what.rule, source: what.source, site: what.site }, `${item.kind === 'raise' ? 'raising' : 'resolving'} alarm failed`);
          }
        }
        for (const key of [...dirty]) writeBack(key);
      }).immediate();
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is stored.
      this.log.error({ err, changes: changes.length }, 'committing alarm changes failed');
      return;
    }
    this.settle(changes);
  }

  private enqueue(item: QueuedChange): void {
    this.pending.push(item);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flushPending());
  }

  /** The trigger to raise: itself (`at` normalised), the record of a suppressed one, or null. */
  private effectiveTrigger(trigger: AlarmTrigger): AlarmTrigger | null {
    const normalized = { ...trigger, at: normalizeIso(trigger.at, 'at') };
    const suppressed = this.suppression(normalized);
    return suppressed === undefined ? normalized : suppressed;
  }

  /** A repeat of a live alarm this batch already holds: the state machine and its history entry, if any. */
  private repeatBody(before: Alarm, trigger: AlarmTrigger): Change {
    const details = { ...(trigger.details ?? {}), autoClear: trigger.autoClear };
    const next = apply(before, { action: 'repeated', at: trigger.at, severity: trigger.severity, message: trigger.message, details });
    for (const entry of next.history.slice(before.history.length)) this.deps.store.addHistory(next.id, entry);
    return this.markChatter({ alarm: next, action: 'repeated' }, trigger.at);
  }

  raise(trigger: AlarmTrigger): Alarm | null {
    const effective = this.effectiveTrigger(trigger);
    if (effective === null) return null;
    const alarm = this.commit(() => this.upsertBody(effective));
    // Suppressed: nothing raised, though a critical one left its record.
    return effective.rule === SUPPRESSED_RULE && trigger.rule !== SUPPRESSED_RULE ? null : alarm;
  }

  /**
   * undefined when no maintenance window covers the trigger; else it is suppressed: null, or
   * the info alarm that records a suppressed critical one.
   */
  private suppression(trigger: AlarmTrigger): AlarmTrigger | null | undefined {
    const { at } = trigger;
    const window = this.deps.maintenance?.inMaintenance(trigger.site, trigger.zone, trigger.device, isoToMs(at, 'at')) ?? null;
    if (window === null) return undefined;
    // Suppressed, not deferred: the technician's work would otherwise surface as a burst of
    // alarms when the window ends. The log line and the counter are the record of it, and a
    // critical one also leaves an info alarm in the console (suppressionRecord): a window
    // must not be a silent way around arming.
    this.deps.metrics?.alarmsSuppressed.inc({ rule: trigger.rule });
    this.log.info(
      { site: trigger.site, zone: trigger.zone, device: trigger.device, rule: trigger.rule, source: trigger.source, at, maintenance: window.id, by: window.by },
      'alarm suppressed by maintenance',
    );
    // The record is in the same zone, and must not be suppressed in turn.
    if (RECORDED_SUPPRESSIONS.includes(trigger.severity) && trigger.rule !== SUPPRESSED_RULE) return suppressionRecord(trigger, window);
    return null;
  }

  /** Opens the alarm for (rule, source) or counts a repeat of the open one; `at` normalised. Inside a transaction. */
  private upsertBody(trigger: AlarmTrigger): Change {
    const { at } = trigger;
    const candidate = raise(trigger, this.newId());
    const { store } = this.deps;
    // Read inside the IMMEDIATE transaction: nobody can write between this and the upsert,
    // so `before` is exactly the row the upsert will count the repeat on.
    const before = store.findLive(trigger.rule, trigger.source);
    const { alarm: stored, created } = store.upsertLive(candidate);
    if (created) {
      store.addHistory(stored.id, candidate.history[0] as AlarmTransition);
      this.chatter.note(stored.id, isoToMs(at, 'at'));
      return { alarm: { ...stored, history: candidate.history }, action: 'raised' };
    }
    // The write lock was held since the read, so a conflict means `before` existed.
    if (before === null) throw new Error(`alarm upsert for ${trigger.rule}/${trigger.source} met a row the transaction did not see`);
    // The upsert did the repeat in SQL; the state machine says which history entry it makes.
    const next = apply(before, { action: 'repeated', at, severity: trigger.severity, message: trigger.message, details: candidate.details });
    for (const entry of next.history.slice(before.history.length)) store.addHistory(stored.id, entry);
    return this.markChatter({ alarm: { ...stored, history: next.history }, action: 'repeated' }, at);
  }

  resolve(rule: string, source: string, at: string): Alarm | null {
    const when = normalizeIso(at, 'at');
    return this.commit(() => this.resolveAt(rule, source, when));
  }

  private resolveAt(rule: string, source: string, when: string): Change | null {
    const live = this.deps.store.findLive(rule, source);
    if (live === null || live.state === 'cleared') return null;
    // A latched alarm records the restoration (and closes out if it was acknowledged). Other
    // rules without auto-clear are cleared by a person; their resolution changes nothing.
    if (!live.latched && live.details.autoClear !== true) return null;
    const change = this.write(live, live.latched ? { action: 'restored', at: when, by: ruleActor(rule) } : { action: 'cleared', at: when, by: ruleActor(rule) });
    return this.markChatter(change, when);
  }

  /**
   * Counts a change of the alarm's condition; the first time it chatters, the alarm is marked
   * (in the same transaction) and counted.
   */
  private markChatter(change: Change, at: string): Change {
    const { alarm } = change;
    if (closedOut(alarm) || !this.chatter.note(alarm.id, isoToMs(at, 'at')) || alarm.chattering) return change;
    const marked = { ...alarm, chattering: true };
    this.deps.store.update(marked);
    this.deps.metrics?.alarmsChattering.inc({ rule: alarm.rule });
    this.log.warn({ alarm: alarm.id, site: alarm.site, rule: alarm.rule, source: alarm.source }, 'alarm is chattering');
    return { ...change, alarm: marked };
  }

  acknowledge(id: string, by: string, comment?: string): Alarm {
    return this.change(id, { action: 'acknowledged', at: this.now(), by, ...(comment === undefined ? {} : { comment }) });
  }

  clear(id: string, by: string, comment?: string): Alarm {
    return this.change(id, { action: 'cleared', at: this.now(), by, ...(comment === undefined ? {} : { comment }) });
  }

  comment(id: string, by: string, text: string): Alarm {
    return this.change(id, { action: 'commented', at: this.now(), by, comment: text });
  }

  escalate(id: string, level: number, at: string): Alarm | null {
    const when = normalizeIso(at, 'at');
    return this.commit(() => {
      const alarm = this.deps.store.get(id);
      if (alarm === null) return null;
      // An escalation timer firing after an ack, a clear or a restart is normal, not an error.
      const next = transition(alarm, { action: 'escalated', at: when, level });
      if (next instanceof StoreTwinError) return null;
      return this.persist(alarm, next, 'escalated');
    });
  }

  attachSnapshot(id: string, snapshot: SnapshotStatus, at: string): Alarm | null {
    const when = normalizeIso(at, 'at');
    return this.commit(() => {
      const alarm = this.deps.store.get(id);
      return alarm === null ? null : this.write(alarm, { action: 'snapshot', at: when, snapshot });
    });
  }

  get(id: string): Alarm | null {
    return this.deps.store.get(id);
  }

  list(q: AlarmQuery): { items: Alarm[]; nextCursor: string | null } {
    return this.deps.store.list(q);
  }

  open(site?: string): Alarm[] {
    return this.deps.store.open(site);
  }

  private now(): string {
    return msToIso(this.deps.clock.now());
  }

  /** A user's change to an existing alarm: 404 if unknown, 409 if its phase forbids it. */
  private change(id: string, cmd: AlarmCommand): Alarm {
    const alarm = this.commit(() => {
      const current = this.deps.store.get(id);
      if (current === null) throw new StoreTwinError('STW_ERR_ALARM_NOT_FOUND', `no alarm "${id}"`);
      return this.write(current, cmd);
    });
    // commit() returns null only when the body does, which write() never does.
    if (alarm === null) throw new StoreTwinError('STW_ERR_INTERNAL');
    return alarm;
  }

  private write(alarm: Alarm, cmd: AlarmCommand): Change {
    return this.persist(alarm, apply(alarm, cmd), cmd.action);
  }

  /** Inside the transaction: the row, the new history entries, the deliveries. */
  private persist(before: Alarm, after: Alarm, action: AlarmAction): Change {
    const { store } = this.deps;
    store.update(after);
    for (const entry of after.history.slice(before.history.length)) store.addHistory(after.id, entry);
    return { alarm: after, action };
  }

  /**
   * Runs `body` and the outbox insert for its change in one IMMEDIATE transaction; a throw
   * anywhere (the planner included) rolls back everything. Announces the change after commit.
   */
  private commit(body: () => Change | null): Alarm | null {
    const change = this.deps.db.transaction(() => this.plan(body)).immediate();
    if (change === null) return null;
    this.settle([change]);
    return change.alarm;
  }

  /** Inside the transaction: the change and its deliveries (the outbox). */
  private plan(body: () => Change | null): Change | null {
    const { planner, outbox, clock } = this.deps;
    const change = body();
    if (change === null) return null;
    const level = change.alarm.escalationLevel;
    outbox.insert(planner.plan(change.alarm, change.action, { level, now: clock.now() }));
    return change;
  }

  /**
   * After the commit: counts every change and announces them in order, except a repeat that a
   * later repeat of the same alarm in this batch supersedes — a flapping door pushes its
   * alarm's latest count once per commit, not once per event.
   */
  private settle(changes: readonly Change[]): void {
    const laterAction = new Map<string, AlarmAction>();
    const announced: boolean[] = new Array<boolean>(changes.length);
    for (let i = changes.length - 1; i >= 0; i--) {
      const { alarm, action } = changes[i]!;
      announced[i] = !(action === 'repeated' && laterAction.get(alarm.id) === 'repeated');
      laterAction.set(alarm.id, action);
    }
    changes.forEach((change, i) => {
      this.deps.metrics?.alarms.inc({ severity: change.alarm.severity, action: change.action });
      if (closedOut(change.alarm)) this.chatter.forget(change.alarm.id);
      if (announced[i]) this.announce(change);
    });
  }

  private announce({ alarm, action }: Change): void {
    this.log.info({ alarm: alarm.id, site: alarm.site, rule: alarm.rule, source: alarm.source, action, state: alarm.state, count: alarm.count }, `alarm ${action}`);
    // The bus isolates its listeners; the publisher is guarded here: the change is committed,
    // and a broker hiccup must not turn it into an error for the caller.
    this.deps.bus.emit('alarm.changed', { alarm, action });
    const { publish } = this.deps;
    if (publish === undefined) return;
    try {
      publish(alarmTopic(alarm.site), alarmMessage(alarm, action));
    } catch (err) {
      this.log.error({ err, alarm: alarm.id }, 'publishing alarm on MQTT failed');
    }
  }
}

/**
 * The info alarm that records a suppressed one: same place and source as the alarm it stands
 * for, so repeats fold into it by the usual (rule, source) dedupe, and its details say which
 * rule was swallowed and by whose window. Cleared by a person, like any record to be seen.
 */
export function suppressionRecord(trigger: AlarmTrigger, window: ActiveMaintenance): AlarmTrigger {
  const until = formatUntil(window.until, window.timezone);
  const label = SEVERITY_LABEL[trigger.severity];
  // Nulls left out: details of a repeat are merged by JSON merge patch, where null deletes.
  const place = { ...(window.zone === null ? {} : { zone: window.zone }), ...(window.device === null ? {} : { device: window.device }) };
  return {
    site: trigger.site,
    zone: trigger.zone,
    device: trigger.device,
    rule: SUPPRESSED_RULE,
    source: trigger.source,
    severity: 'info',
    message: {
      en: `${label.en} alarm suppressed by maintenance: ${trigger.message.en} (window by ${window.by} until ${until})`,
      'zh-CN': `${label['zh-CN']}告警被维护屏蔽：${trigger.message['zh-CN']}（维护窗口：${window.by}，至 ${until}）`,
    },
    autoClear: false,
    at: trigger.at,
    details: {
      suppressed: { rule: trigger.rule, severity: trigger.severity, message: trigger.message, at: trigger.at },
      maintenance: { id: window.id, by: window.by, from: window.from, until: window.until, ...place, ...(window.reason === null ? {} : { reason: window.reason }) },
    },
  };
}

/** `2026-11-23 18:00` in the site's time zone, else the ISO time (UTC). */
function formatUntil(iso: string, timezone: string | null): string {
  if (timezone === null) return iso;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
        .formatToParts(Date.parse(iso))
        .map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  } catch {
    // An unknown zone name in a hand-edited site file: the message still says when.
    return iso;
  }
}

/** Stored times are ms: normalising up front makes returned and re-read alarms identical. */
function normalizeIso(at: string, what: string): string {
  return msToIso(isoToMs(at, what));
}
