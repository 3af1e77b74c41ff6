/**
 * The alarm service: the only writer of alarms. Each change is ONE store commit (one
 * transaction) holding the alarm row, its history entries and the change's notification
 * deliveries (the outbox), so a change is never committed without its deliveries, nor a
 * delivery without its change. Only after the commit is the change announced: on the bus
 * (`alarm.changed`, for the live feed, linkage, escalation and the delivery worker) and on MQTT
 * `storetwin/{site}/alarms` for integrations.
 *
 * Every transition is decided here, by the state machine (state-machine.ts), before the commit;
 * the store only writes the outcome, as a compare-and-set (store.ts). When the store answers
 * `conflict` — another worker, the CLI or a second connection changed one of the rows first —
 * the service pauses a random moment, reads the rows again and decides again (at most
 * MAX_TRIES times).
 *
 * Changes never interleave in one service: they run one after another on ONE promise queue per
 * service (`serial`), whatever the alarm — as the synchronous service they replace did. A queue
 * per alarm would let changes of different alarms overlap, but a trigger is keyed by
 * (rule, source) and an acknowledgement by id, which name the same alarm in two ways; one queue
 * keeps that simple, and bus triggers are folded into batches anyway (flushPending).
 *
 * The view (`live`): every live alarm (not closed out) with its full history, keyed by
 * (rule, source), loaded from the store at start() and kept up to date by this service after
 * each of its commits. Triggers and resolutions from the rules engine (the hot path: once per
 * stored batch of events) are decided on it with no read; a commit that finds it stale gets a
 * conflict and refreshes the keys concerned. Changes by id (people, escalation, snapshots) read
 * the alarm from the store: they are rare, and may be about an alarm another worker changed.
 * A worker that takes sites over calls refreshSites() so their alarms' view is current.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { ActiveMaintenance, MaintenanceReader } from '../arming/types.ts';
import type { DeliveryPlanner, NewDelivery } from '../notify/types.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { ChatterDetector, type ChatterPolicy } from './chatter.ts';
import { apply, closedOut, raise, ruleActor, transition, type AlarmCommand } from './state-machine.ts';
import type { AlarmStore, AlarmWrite } from './store.ts';
import { SUPPRESSED_RULE, type Alarm, type AlarmAction, type AlarmActions, type AlarmQuery, type AlarmTrigger, type Severity, type SnapshotStatus } from './types.ts';

export interface AlarmServiceDeps {
  store: AlarmStore;
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

/** Decisions made again after a conflict before a change gives up (STW_ERR_STORAGE_FAILED). */
export const MAX_TRIES = 12;

/**
 * After a conflict, a pause of random length (full jitter, up to 2^attempt ms, at most 100 ms)
 * before reading again: two workers hammering one alarm would otherwise retry in lockstep, and
 * the one whose view is fresh (it wrote last) would win every round. Real time, not the clock:
 * a ManualClock in tests must not hold it.
 */
function conflictPause(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Actions whose deliveries go to the routes already told about the alarm (planner.ts). */
const TOLD_ACTIONS: ReadonlySet<AlarmAction> = new Set(['acknowledged', 'cleared', 'snapshot']);
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

/** A queued item ready to be decided: the effective trigger (null: suppressed) or a resolution. */
type Prepared = { kind: 'raise'; trigger: AlarmTrigger | null; original: AlarmTrigger } | { kind: 'resolve'; site: string; rule: string; source: string; at: string };

/** What a batch decided, to commit and then to apply. */
interface Plan {
  writes: AlarmWrite[];
  deliveries: NewDelivery[];
  changes: Change[];
  /** (rule, source) → its live alarm after the batch, null once closed out: the view's update. */
  view: Map<string, Alarm | null>;
  /** The change each item made (null: none), in item order. */
  outcomes: Array<Change | null>;
}

export class AlarmService implements AlarmActions {
  private readonly deps: AlarmServiceDeps;
  private readonly log: Logger;
  private readonly newId: () => string;
  private readonly chatter: ChatterDetector;
  private unsubscribe: (() => void) | null = null;
  /** Triggers and resolutions from the bus, committed together (attachToBus). */
  private readonly pending: QueuedChange[] = [];
  private flushScheduled = false;
  /** The view of live alarms by (rule, source): see the header. */
  private readonly live = new Map<string, Alarm>();
  private loaded: Promise<void> | null = null;
  /** The tail of the one queue every change runs on. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(deps: AlarmServiceDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ module: 'alarms' });
    this.newId = deps.newId ?? randomUUID;
    this.chatter = new ChatterDetector(deps.chatter);
  }

  /** Loads the view of live alarms, then listens to the rules engine's events (see attachToBus). */
  async start(): Promise<void> {
    await this.ensureLoaded();
    this.unsubscribe ??= this.attachToBus();
  }

  /** Stops listening and commits what the bus queued: no trigger is lost. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.flushPending();
    await this.tail;
  }

  /**
   * `rule.triggered` → raise, `rule.resolved` → resolve, batched: what the rules engine emits
   * while it works through one stored batch of events is committed in ONE changeset when the
   * emitting code returns (a microtask later), so a door flapping in thousands of events costs
   * one commit per ingest batch, not one per event. A change that fails to be decided (its
   * planner threw) is logged and left out alone. Returns the unsubscribe function.
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
   * Commits what the bus queued so far, as one changeset decided on the view: a repeat of an
   * alarm the batch already touched folds in with the state machine alone, and each alarm's row
   * is written once, at its final state — a flapping door's thousand repeats are one UPDATE.
   * Resolves when the batch — and every change queued before it — is committed (or failed,
   * which is logged: nothing of the batch is stored).
   */
  async flushPending(): Promise<void> {
    this.flushScheduled = false;
    const queued = this.pending.splice(0);
    if (queued.length === 0) {
      await this.tail;
      return;
    }
    const prepared: Prepared[] = [];
    for (const item of queued) {
      try {
        prepared.push(item.kind === 'raise' ? { kind: 'raise', trigger: this.effectiveTrigger(item.trigger), original: item.trigger } : { ...item, at: normalizeIso(item.at, 'at') });
      } catch (err) {
        this.logFailed(item, err);
      }
    }
    await this.serial(() => this.run(prepared, false)).catch((err: unknown) => {
      // The commit itself failed (disk full, database gone): nothing of the batch is stored.
      this.log.error({ err, changes: prepared.length }, 'committing alarm changes failed');
    });
  }

  private logFailed(item: QueuedChange | Prepared, err: unknown): void {
    const what = item.kind === 'raise' ? ('original' in item ? item.original : item.trigger) : item;
    this.log.error({ err, rule: what.rule, source: what.source, site: what.site }, `${item.kind === 'raise' ? 'raising' : 'resolving'} alarm failed`);
  }

  private enqueue(item: QueuedChange): void {
    this.pending.push(item);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => void this.flushPending());
  }

  /**
   * Reads the live alarms of `sites` again into the view: for a worker that takes sites over
   * from another (their alarms changed elsewhere since this view was loaded). Queued like a
   * change, so no decision is made on a half-refreshed view.
   */
  refreshSites(sites: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const fresh = await this.deps.store.live(sites);
      const of = new Set(sites);
      for (const [key, alarm] of this.live) if (of.has(alarm.site)) this.live.delete(key);
      for (const alarm of fresh) this.live.set(liveKey(alarm), alarm);
    });
  }

  /** Runs `fn` after every change queued before it (the one queue, see the header). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      await this.ensureLoaded();
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private ensureLoaded(): Promise<void> {
    this.loaded ??= this.deps.store.live().then(
      (alarms) => {
        for (const a of alarms) this.live.set(liveKey(a), a);
      },
      (err: unknown) => {
        this.loaded = null; // the next change tries again
        throw err;
      },
    );
    return this.loaded;
  }

  /** The trigger to raise: itself (`at` normalised), the record of a suppressed one, or null. */
  private effectiveTrigger(trigger: AlarmTrigger): AlarmTrigger | null {
    const normalized = { ...trigger, at: normalizeIso(trigger.at, 'at') };
    const suppressed = this.suppression(normalized);
    return suppressed === undefined ? normalized : suppressed;
  }

  async raise(trigger: AlarmTrigger): Promise<Alarm | null> {
    const effective = this.effectiveTrigger(trigger);
    if (effective === null) return null;
    const [change] = await this.serial(() => this.run([{ kind: 'raise', trigger: effective, original: trigger }], true));
    // Suppressed: nothing raised, though a critical one left its record.
    return effective.rule === SUPPRESSED_RULE && trigger.rule !== SUPPRESSED_RULE ? null : (change?.alarm ?? null);
  }

  async resolve(rule: string, source: string, at: string): Promise<Alarm | null> {
    const when = normalizeIso(at, 'at');
    const [change] = await this.serial(() => this.run([{ kind: 'resolve', site: '', rule, source, at: when }], true));
    return change?.alarm ?? null;
  }

  /**
   * Decides `items` on the view and commits them as one changeset; on a conflict refreshes the
   * keys from the store and decides again. `strict`: a failing item fails the call (a direct
   * raise/resolve); otherwise it is logged and left out (a bus batch). Inside the queue.
   */
  private async run(items: readonly Prepared[], strict: boolean): Promise<Array<Change | null>> {
    const { store, clock } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const told = await this.toldAbout(items);
      const now = clock.now();
      const plan = this.plan(items, told, now, strict);
      if (plan.writes.length === 0) return plan.outcomes;
      const outcome = await store.commit({ writes: plan.writes, deliveries: plan.deliveries, now });
      if (outcome === 'committed') {
        for (const [key, alarm] of plan.view) {
          if (alarm === null) this.live.delete(key);
          else this.live.set(key, alarm);
        }
        this.settle(plan.changes);
        return plan.outcomes;
      }
      if (attempt >= MAX_TRIES) throw new StoreTwinError('STW_ERR_STORAGE_FAILED', `alarm changes kept conflicting with other writers (${attempt} tries)`);
      this.log.debug({ attempt, items: items.length }, 'alarm changes conflicted, deciding again');
      await conflictPause(attempt);
      await this.refresh(items);
    }
  }

  /** Reads the live alarms of the items' (rule, source) again (after a conflict). */
  private async refresh(items: readonly Prepared[]): Promise<void> {
    const keys = new Map<string, { rule: string; source: string }>();
    for (const item of items) {
      const at = item.kind === 'raise' ? item.trigger : item;
      if (at !== null) keys.set(liveKey(at), { rule: at.rule, source: at.source });
    }
    const fresh = await Promise.all([...keys].map(async ([key, k]) => [key, await this.deps.store.findLive(k.rule, k.source)] as const));
    for (const [key, alarm] of fresh) {
      if (alarm === null) this.live.delete(key);
      else this.live.set(key, alarm);
    }
  }

  /**
   * Routes already told about the alarms the items may clear (a resolution of an auto-clearing
   * alarm): the planner sends the clear to them. Read once per batch, only when it resolves.
   */
  private async toldAbout(items: readonly Prepared[]): Promise<Map<string, string[]>> {
    const ids: string[] = [];
    for (const item of items) {
      if (item.kind !== 'resolve') continue;
      const alarm = this.live.get(liveKey(item));
      if (alarm !== undefined) ids.push(alarm.id);
    }
    return ids.length === 0 ? new Map() : this.deps.store.notifiedRoutes([...new Set(ids)]);
  }

  /** The batch decided on the view (unchanged here): writes, deliveries, changes. */
  private plan(items: readonly Prepared[], told: Map<string, string[]>, now: number, strict: boolean): Plan {
    const work = new Map<string, Alarm | null>();
    const current = (key: string): Alarm | null => (work.has(key) ? (work.get(key) ?? null) : (this.live.get(key) ?? null));
    /** Per alarm id, in first-touched order: the row to write. */
    const ops = new Map<string, { before: Alarm | null; after: Alarm }>();
    const deliveries: NewDelivery[] = [];
    const changes: Change[] = [];
    const outcomes: Array<Change | null> = [];
    for (const item of items) {
      let change: Change | null = null;
      try {
        let key: string;
        let before: Alarm | null;
        if (item.kind === 'raise') {
          if (item.trigger === null) {
            outcomes.push(null);
            continue;
          }
          key = liveKey(item.trigger);
          before = current(key);
          change = before ? this.repeated(before, item.trigger) : this.raised(item.trigger);
        } else {
          key = liveKey(item);
          before = current(key);
          change = this.resolved(before, item.rule, item.at);
        }
        if (change !== null) {
          const { alarm, action } = change;
          const planned = this.deps.planner.plan(alarm, action, { level: alarm.escalationLevel, now, ...(told.has(alarm.id) ? { notified: told.get(alarm.id) } : {}) });
          // Decided: only now does the batch's state change (a throw above leaves it as it was).
          if (action === 'raised') told.set(alarm.id, []);
          const routes = told.get(alarm.id);
          for (const d of planned) if (routes !== undefined && !routes.includes(d.route)) routes.push(d.route);
          deliveries.push(...planned);
          const op = ops.get(alarm.id);
          if (op) op.after = alarm;
          else ops.set(alarm.id, { before: action === 'raised' ? null : before, after: alarm });
          work.set(key, closedOut(alarm) ? null : alarm);
          changes.push(change);
        }
      } catch (err) {
        if (strict) throw err;
        this.logFailed(item, err);
        change = null;
      }
      outcomes.push(change);
    }
    const writes: AlarmWrite[] = [...ops.values()].map(({ before, after }) =>
      before === null ? { kind: 'create', alarm: after, history: after.history } : { kind: 'update', before, after, history: after.history.slice(before.history.length) },
    );
    return { writes, deliveries, changes, view: work, outcomes };
  }

  /** A new alarm for a trigger with no live alarm of its (rule, source). */
  private raised(trigger: AlarmTrigger): Change {
    const alarm = raise(trigger, this.newId());
    this.chatter.note(alarm.id, isoToMs(trigger.at, 'at'));
    return { alarm, action: 'raised' };
  }

  /** A repeat of the live alarm: the state machine and its history entry, if any. */
  private repeated(before: Alarm, trigger: AlarmTrigger): Change {
    const details = { ...(trigger.details ?? {}), autoClear: trigger.autoClear };
    const next = apply(before, { action: 'repeated', at: trigger.at, severity: trigger.severity, message: trigger.message, details });
    return this.markChatter({ alarm: next, action: 'repeated' }, trigger.at);
  }

  /** The rule's condition ended: a latched alarm records the restoration, an auto-clearing one clears. */
  private resolved(live: Alarm | null, rule: string, when: string): Change | null {
    if (live === null || live.state === 'cleared') return null;
    // A latched alarm records the restoration (and closes out if it was acknowledged). Other
    // rules without auto-clear are cleared by a person; their resolution changes nothing.
    if (!live.latched && live.details.autoClear !== true) return null;
    const cmd: AlarmCommand = live.latched ? { action: 'restored', at: when, by: ruleActor(rule) } : { action: 'cleared', at: when, by: ruleActor(rule) };
    return this.markChatter({ alarm: apply(live, cmd), action: cmd.action }, when);
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

  /**
   * Counts a change of the alarm's condition; the first time it chatters, the alarm is marked
   * (in the same change) and counted.
   */
  private markChatter(change: Change, at: string): Change {
    const { alarm } = change;
    if (closedOut(alarm) || !this.chatter.note(alarm.id, isoToMs(at, 'at')) || alarm.chattering) return change;
    this.deps.metrics?.alarmsChattering.inc({ rule: alarm.rule });
    this.log.warn({ alarm: alarm.id, site: alarm.site, rule: alarm.rule, source: alarm.source }, 'alarm is chattering');
    return { ...change, alarm: { ...alarm, chattering: true } };
  }

  acknowledge(id: string, by: string, comment?: string): Promise<Alarm> {
    return this.change(id, { action: 'acknowledged', at: this.now(), by, ...(comment === undefined ? {} : { comment }) });
  }

  clear(id: string, by: string, comment?: string): Promise<Alarm> {
    return this.change(id, { action: 'cleared', at: this.now(), by, ...(comment === undefined ? {} : { comment }) });
  }

  comment(id: string, by: string, text: string): Promise<Alarm> {
    return this.change(id, { action: 'commented', at: this.now(), by, comment: text });
  }

  escalate(id: string, level: number, at: string): Promise<Alarm | null> {
    const when = normalizeIso(at, 'at');
    // An escalation timer firing after an ack, a clear or a restart is normal, not an error.
    return this.changeById(id, false, (alarm) => {
      const next = transition(alarm, { action: 'escalated', at: when, level });
      return next instanceof StoreTwinError ? null : { alarm: next, action: 'escalated' };
    });
  }

  attachSnapshot(id: string, snapshot: SnapshotStatus, at: string): Promise<Alarm | null> {
    const when = normalizeIso(at, 'at');
    return this.changeById(id, false, (alarm) => ({ alarm: apply(alarm, { action: 'snapshot', at: when, snapshot }), action: 'snapshot' }));
  }

  get(id: string): Promise<Alarm | null> {
    return this.deps.store.get(id);
  }

  list(q: AlarmQuery): Promise<{ items: Alarm[]; nextCursor: string | null }> {
    return this.deps.store.list(q);
  }

  /** Alarms not closed out, from the store (what every worker sees, not only this one's view). */
  open(site?: string): Promise<Alarm[]> {
    return this.deps.store.open(site);
  }

  private now(): string {
    return msToIso(this.deps.clock.now());
  }

  /** A user's change to an existing alarm: 404 if unknown, 409 if its phase forbids it. */
  private async change(id: string, cmd: AlarmCommand): Promise<Alarm> {
    const alarm = await this.changeById(id, true, (current) => ({ alarm: apply(current, cmd), action: cmd.action }));
    // changeById returns null only when `decide` does, which this one never does.
    if (alarm === null) throw new StoreTwinError('STW_ERR_INTERNAL');
    return alarm;
  }

  /**
   * A change of the alarm `id` as the store has it now: `decide` (the state machine) says what
   * it becomes, the planner who hears of it; one commit, guarded, decided again on a conflict.
   * Unknown ids: STW_ERR_ALARM_NOT_FOUND when `required`, else null.
   */
  private changeById(id: string, required: boolean, decide: (current: Alarm) => Change | null): Promise<Alarm | null> {
    const { store, planner, clock } = this.deps;
    return this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        const current = await store.get(id);
        if (current === null) {
          if (required) throw new StoreTwinError('STW_ERR_ALARM_NOT_FOUND', `no alarm "${id}"`);
          return null;
        }
        const change = decide(current);
        if (change === null) return null;
        const { alarm, action } = change;
        const notified = TOLD_ACTIONS.has(action) ? (await store.notifiedRoutes([id])).get(id) : undefined;
        const now = clock.now();
        const deliveries = planner.plan(alarm, action, { level: alarm.escalationLevel, now, ...(notified === undefined ? {} : { notified }) });
        const outcome = await store.commit({ writes: [{ kind: 'update', before: current, after: alarm, history: alarm.history.slice(current.history.length) }], deliveries, now });
        if (outcome === 'committed') {
          const key = liveKey(alarm);
          if (!closedOut(alarm)) this.live.set(key, alarm);
          else if (this.live.get(key)?.id === id) this.live.delete(key);
          this.settle([change]);
          return alarm;
        }
        if (attempt >= MAX_TRIES) throw new StoreTwinError('STW_ERR_STORAGE_FAILED', `alarm "${id}" kept changing under this change (${attempt} tries)`);
        await conflictPause(attempt);
      }
    });
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
