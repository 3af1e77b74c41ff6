/**
 * The rules engine: evaluates the rules in force on every stored event and twin change, and
 * announces `rule.triggered` / `rule.resolved` for the alarm service. Rules are indexed by
 * event type and site, so an event costs only the rules that can match it; timers ("door open
 * for 5 min", "silent for 2 heartbeats") run on the injected Clock. Pending duration timers
 * and every fired (rule, source) are kept in the RuleTimerStore, so a restart neither forgets a
 * door that was already open nor loses the "came back" that clears an alarm.
 *
 * The timers in memory are what runs; the store is written behind them (one saveTurn per turn
 * of the event loop, chained so a later turn never overtakes an earlier one) and read once, by
 * start(). Evaluating a rule never waits for the database.
 */
import { deviceTypeHas, getDeviceType } from '../../devices/index.ts';
import type { ArmingReader } from '../arming/types.ts';
import type { AlarmTrigger } from '../alarms/types.ts';
import type { Clock } from '../clock.ts';
import type { SiteOwner } from '../site-owner.ts';
import type { EventBus, ServerEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Zone } from '../sites/model.ts';
import type { NewEvent } from '../storage/types.ts';
import type { DeviceState, TwinReader, ZoneState } from '../twin/types.ts';
import { holds, indexSites, render, type SiteInfo, type SiteLookup, type Vars } from './context.ts';
import { formatLocal, isOpen, nextClosing, openTimeElapsed } from './hours.ts';
import type { EventMatch, Rule, When } from './schema.ts';
import type { RuleSource } from './store.ts';
import type { RuleTimer, RuleTimerKey, RuleTimerPayload, RuleTimerStore } from './timer-store.ts';

export interface RuleEngineDeps {
  bus: EventBus;
  clock: Clock;
  twin: TwinReader;
  arming: ArmingReader;
  sites: SiteLookup;
  rules: RuleSource;
  /** Where pending timers and unresolved triggers outlive a restart. */
  timers: RuleTimerStore;
  logger: Logger;
  /**
   * A worker of several evaluates only the sites it holds (server/cluster/site-ownership.ts):
   * it takes a site's stored timers over when it acquires the site and forgets them (already
   * written) when it loses it. Alone, the engine serves every site.
   */
  owner?: SiteOwner;
}

type Of<K extends When['kind']> = Rule & { when: Extract<When, { kind: K }> };

/** Persisted per (rule, source): a pending duration timer, or a trigger not yet resolved. */
interface TimerPayload extends RuleTimerPayload {
  since?: number;
}

const key = (rule: string, source: string) => `${rule}\u0000${source}`;
const zoneSource = (site: string, zone: string) => `${site}/${zone}`;
const iso = (ms: number) => new Date(ms).toISOString();

export class RuleEngine {
  private readonly log: Logger;
  private sitesIndex = new Map<string, SiteInfo>();
  private rules = new Map<string, Rule>();
  /** `${eventType}\0${site}` → rules an event of that type at that site may match (built lazily). */
  private byEventSite = new Map<string, Rule[]>();
  private byKindSite = new Map<string, Rule[]>();
  /** Keys of (rule, source) that fired and are not resolved. */
  private readonly fired = new Map<string, TimerPayload>();
  /** Pending timers by key (duration, silence, absence) and per-rule site timers (closing checks). */
  private readonly timers = new Map<string, () => void>();
  /** The site of each pending timer, to drop a site's timers when another worker takes it. */
  private readonly timerSites = new Map<string, string>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly correlation = new Map<string, { first: number; second: number }>();
  private readonly windows = new Map<string, number[]>();
  private readonly absenceLast = new Map<string, number>();
  private readonly unsubscribe: Array<() => void> = [];
  private running = false;
  private starting: Promise<void> | null = null;
  /** Timer rows to write, by key(rule, source); null deletes (see saveTimer). */
  private readonly timerWrites = new Map<string, { rule: string; source: string; row: { dueAt: number; payload: TimerPayload } | null }>();
  /** The last turn's write: the next one starts after it (ordering), stop() waits for it. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RuleEngineDeps) {
    this.log = deps.logger.child({ module: 'rules' });
  }

  /** Reads the stored timers (the only wait), then follows the bus. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const owner = this.deps.owner;
    this.starting ??= (owner ? this.deps.timers.load(owner.owned()) : this.deps.timers.loadAll()).then(
      (saved) => {
        this.starting = null;
        this.begin(saved);
      },
      (err: unknown) => {
        this.starting = null;
        throw err;
      },
    );
    return this.starting;
  }

  private begin(saved: readonly RuleTimer[]): void {
    if (this.running) return;
    this.running = true;
    this.sitesIndex = indexSites(this.deps.sites);
    for (const siteId of this.sitesIndex.keys()) {
      for (const z of Object.values(this.deps.twin.siteState(siteId)?.zones ?? {})) this.zoneStates.set(zoneSource(z.site, z.id), z);
    }
    this.loadRules();
    this.restoreTimers(saved);
    this.seedTimers();
    this.listen('events.accepted', (batch) => {
      for (const e of batch) this.onEvent(e);
    });
    this.listen('twin.zone', (c) => this.onZone(c.state, c.changed));
    this.listen('twin.device', (c) => this.onDevice(c.state, c.changed));
    this.listen('zone.arming', (a) => {
      const z = this.zoneStates.get(zoneSource(a.site, a.zone));
      if (z) this.onZone(z, null);
    });
    // Armed or disarmed through another worker: look again as for a change announced here.
    const offRemoteArming = this.deps.arming.onRemoteChange?.((zones) => {
      for (const a of zones) {
        const z = this.zoneStates.get(zoneSource(a.site, a.zone));
        if (z) this.onZone(z, null);
      }
    });
    if (offRemoteArming) this.unsubscribe.push(offRemoteArming);
    this.unsubscribe.push(
      this.deps.rules.onChange(() => {
        this.loadRules();
        this.reseed();
      }),
    );
    const owner = this.deps.owner;
    if (owner) {
      const onAcquired = (site: string): void => void this.adopt(site);
      const onLost = (site: string): void => this.forget(site);
      owner.on('acquired', onAcquired);
      owner.on('lost', onLost);
      this.unsubscribe.push(
        () => owner.off('acquired', onAcquired),
        () => owner.off('lost', onLost),
      );
    }
  }

  /** Whether this engine evaluates the site: every site alone, the held ones in a worker of several. */
  private serves(site: string): boolean {
    return this.deps.owner?.owns(site) ?? true;
  }

  /** A site acquired: its stored timers and triggers, its zones, its derived timers. */
  private async adopt(site: string): Promise<void> {
    try {
      const saved = await this.deps.timers.load([site]);
      if (!this.running || !this.serves(site)) return;
      for (const z of Object.values(this.deps.twin.siteState(site)?.zones ?? {})) this.zoneStates.set(zoneSource(z.site, z.id), z);
      this.restoreTimers(saved);
      this.seedTimers([site]);
    } catch (err) {
      this.log.error({ err, site }, 'could not take over the rule timers of a site');
    }
  }

  /** A site lost: its timers stop here (what they hold is written; the next owner reads it). */
  private forget(site: string): void {
    for (const [k, s] of this.timerSites) if (s === site) this.cancel(k);
    for (const [k, f] of this.fired) if (f.site === site) this.fired.delete(k);
  }

  /** Stops following the bus; resolves once every timer write queued so far is committed. */
  async stop(): Promise<void> {
    this.running = false;
    for (const off of this.unsubscribe.splice(0)) off();
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.timerSites.clear();
    this.flushTimerWrites();
    await this.writing;
  }

  /** Resolves once every timer write queued so far is committed (or has failed and been logged). */
  async flushed(): Promise<void> {
    this.flushTimerWrites();
    await this.writing;
  }

  private listen<K extends keyof ServerEvents>(event: K, fn: (...args: ServerEvents[K]) => void): void {
    const bus = this.deps.bus as unknown as { on(e: K, f: typeof fn): void; off(e: K, f: typeof fn): void };
    bus.on(event, fn);
    this.unsubscribe.push(() => bus.off(event, fn));
  }

  // ---- rules and indexes -------------------------------------------------------------------

  private loadRules(): void {
    this.rules = new Map(this.deps.rules.list().filter((r) => r.rule.enabled).map((r) => [r.rule.id, r.rule]));
    this.byEventSite.clear();
    this.byKindSite.clear();
  }

  /** Event types a rule listens to. */
  private static eventTypes(rule: Rule): string[] {
    const w = rule.when;
    switch (w.kind) {
      case 'event':
        return [...new Set([w.event, w.clear?.event ?? w.event])];
      case 'correlation':
        return [...new Set([w.first.event, w.second.event])];
      case 'count':
      case 'absence':
        return [w.match.event];
      case 'opening-hours':
        return ['door'];
      default:
        return [];
    }
  }

  private forEvent(type: string, site: string): Rule[] {
    const k = `${type}\u0000${site}`;
    let list = this.byEventSite.get(k);
    if (!list) {
      list = [...this.rules.values()].filter((r) => (r.site === '*' || r.site === site) && RuleEngine.eventTypes(r).includes(type));
      this.byEventSite.set(k, list);
    }
    return list;
  }

  private forKind<K extends When['kind']>(kind: K, site: string): Array<Of<K>> {
    const k = `${kind}\u0000${site}`;
    let list = this.byKindSite.get(k);
    if (!list) {
      list = [...this.rules.values()].filter((r) => (r.site === '*' || r.site === site) && r.when.kind === kind);
      this.byKindSite.set(k, list);
    }
    return list as Array<Of<K>>;
  }

  private zone(site: string, zone: string): Zone | undefined {
    return this.sitesIndex.get(site)?.zones.get(zone);
  }

  private zoneInScope(rule: Rule, site: string, zoneId: string): boolean {
    if (rule.zones && !rule.zones.includes(zoneId)) return false;
    if (rule.zoneKinds) {
      const z = this.zone(site, zoneId);
      if (!z || !rule.zoneKinds.includes(z.kind)) return false;
    }
    return true;
  }

  private inScope(rule: Rule, site: string, zoneId: string, deviceType: string | null): boolean {
    if (rule.deviceTypes && (deviceType === null || !(rule.deviceTypes as readonly string[]).includes(deviceType))) return false;
    return this.zoneInScope(rule, site, zoneId);
  }

  private flagsHold(w: { zoneArmed?: boolean; zoneMonitored?: boolean }, site: string, zoneId: string): boolean {
    if (w.zoneMonitored !== undefined && (this.zone(site, zoneId)?.monitored ?? false) !== w.zoneMonitored) return false;
    if (w.zoneArmed !== undefined && this.deps.arming.isArmed(site, zoneId, this.deps.clock.now()) !== w.zoneArmed) return false;
    return true;
  }

  private static matches(m: EventMatch, e: NewEvent, zone: Zone | undefined): boolean {
    if (e.type !== m.event) return false;
    if (m.deviceTypes && !(m.deviceTypes as readonly string[]).includes(e.deviceType)) return false;
    const data = e.data as unknown as Record<string, unknown>;
    return holds(m.where, (f) => data[f], zone);
  }

  // ---- triggering --------------------------------------------------------------------------

  private trigger(rule: Rule, source: string, at: { site: string; zone: string | null; device: string | null }, vars: Vars, details: Record<string, unknown> = {}): void {
    const now = this.deps.clock.now();
    const info = this.sitesIndex.get(at.site);
    const zone = at.zone ? info?.zones.get(at.zone) : undefined;
    const device = at.device ? info?.placements.get(at.device) : undefined;
    const site = info?.site;
    const message = render(rule.message, {
      site: site ? site.name : at.site,
      zone: zone ? zone.name : at.zone,
      device: device?.label ?? at.device,
      time: site ? formatLocal(site.timezone, now) : iso(now),
      hours: site ? `${site.openingHours.open}–${site.openingHours.close}` : undefined,
      ...vars,
    });
    // Correlations and counts have no natural end: their alarms are cleared by a person.
    const autoClear = rule.autoClear && rule.when.kind !== 'correlation' && rule.when.kind !== 'count';
    const trigger: AlarmTrigger = {
      site: at.site,
      zone: at.zone,
      device: at.device,
      rule: rule.id,
      source,
      severity: rule.severity,
      message,
      autoClear,
      latch: rule.latch,
      at: iso(now),
      // The category travels with the alarm: the API and the live feed decide by it who sees it.
      details: { kind: rule.when.kind, category: rule.category, ...details },
    };
    const k = key(rule.id, source);
    if (autoClear && !this.fired.has(k)) {
      const payload: TimerPayload = { state: 'fired', site: at.site, zone: at.zone, device: at.device };
      this.fired.set(k, payload);
      this.saveTimer(rule.id, source, now, payload);
    }
    this.deps.bus.emit('rule.triggered', trigger);
  }

  private resolve(rule: Rule | string, source: string): void {
    const id = typeof rule === 'string' ? rule : rule.id;
    const k = key(id, source);
    const f = this.fired.get(k);
    if (!f) return;
    this.fired.delete(k);
    this.deleteTimer(id, source);
    this.deps.bus.emit('rule.resolved', { site: f.site, rule: id, source, at: iso(this.deps.clock.now()) });
  }

  // ---- timers ------------------------------------------------------------------------------

  /**
   * Timer rows are written at the end of this turn of the event loop (setImmediate), all in
   * one transaction (one saveTurn), the last change of a (rule, source) winning: a batch of
   * door events that opens and closes doors costs one commit, not one (fsynced) commit per
   * door, and the alarm those events raise is committed and pushed first. They are what a
   * restart restores timers from; stop() waits for them.
   */
  private saveTimer(rule: string, source: string, dueAt: number, payload: TimerPayload): void {
    // A copy: the caller's object may change after this turn, the write must not.
    this.queueTimerWrite(rule, source, { dueAt: Math.round(dueAt), payload: { ...payload } });
  }

  private deleteTimer(rule: string, source: string): void {
    this.queueTimerWrite(rule, source, null);
  }

  private queueTimerWrite(rule: string, source: string, row: { dueAt: number; payload: TimerPayload } | null): void {
    this.timerWrites.set(key(rule, source), { rule, source, row });
    if (this.timerWrites.size > 1) return;
    setImmediate(() => this.flushTimerWrites());
  }

  private flushTimerWrites(): void {
    if (this.timerWrites.size === 0) return;
    const upserts: RuleTimer[] = [];
    const removals: RuleTimerKey[] = [];
    for (const w of this.timerWrites.values()) {
      if (w.row) upserts.push({ rule: w.rule, source: w.source, dueAt: w.row.dueAt, payload: w.row.payload });
      else removals.push({ rule: w.rule, source: w.source });
    }
    this.timerWrites.clear();
    // Chained: this turn's write starts when the previous one has ended, so the store sees the
    // turns in order even when a commit takes longer than a turn (PostgreSQL over the network).
    this.writing = this.writing.then(() =>
      this.deps.timers.saveTurn(upserts, removals).catch((err: unknown) => {
        // The timers still run in memory; only a restart before the next write would miss them.
        this.log.error({ err, timers: upserts.length + removals.length }, 'saving rule timers failed');
      }),
    );
  }

  private schedule(k: string, site: string, at: number, fn: () => void): void {
    this.timers.get(k)?.();
    if (!Number.isFinite(at)) {
      this.timers.delete(k);
      this.timerSites.delete(k);
      return;
    }
    this.timerSites.set(k, site);
    const cancel = this.deps.clock.at(at, () => {
      this.timers.delete(k);
      this.timerSites.delete(k);
      if (!this.running) return;
      try {
        fn();
      } catch (err) {
        this.log.error({ err }, 'rule timer failed');
      }
    });
    this.timers.set(k, cancel);
  }

  private cancel(k: string): void {
    this.timers.get(k)?.();
    this.timers.delete(k);
    this.timerSites.delete(k);
  }

  private restoreTimers(saved: readonly RuleTimer[]): void {
    for (const row of saved) {
      if (!this.serves(row.payload.site)) continue;
      const rule = this.rules.get(row.rule);
      if (!rule) {
        this.deleteTimer(row.rule, row.source);
        continue;
      }
      const payload = row.payload as TimerPayload;
      if (payload.state === 'fired') this.fired.set(key(row.rule, row.source), payload);
      else if (rule.when.kind === 'duration') this.armDuration(rule as Of<'duration'>, row.source, payload, row.dueAt);
      else this.deleteTimer(row.rule, row.source);
    }
  }

  /** Timers derived from state rather than stored: silence (from lastSeen), absence, closing checks. */
  private seedTimers(only?: readonly string[]): void {
    const now = this.deps.clock.now();
    for (const [siteId, info] of this.sitesIndex) {
      if (!this.serves(siteId) || (only !== undefined && !only.includes(siteId))) continue;
      const silence = this.forKind('silence', siteId);
      if (silence.length > 0) {
        for (const d of Object.values(this.deps.twin.siteState(siteId)?.devices ?? {})) {
          if (d.lastSeen === null) continue;
          const heard = Math.min(now, Date.parse(d.lastEvent?.ts ?? d.lastSeen));
          for (const rule of silence) if (this.inScope(rule, siteId, d.zone, d.type)) this.armSilence(rule, d.id, siteId, d.zone, d.type, heard);
        }
      }
      for (const rule of this.forKind('absence', siteId)) {
        for (const p of info.placements.values()) {
          if (rule.when.match.deviceTypes && !(rule.when.match.deviceTypes as readonly string[]).includes(p.type)) continue;
          if (!this.inScope(rule, siteId, p.zone, p.type)) continue;
          const k = key(rule.id, p.id);
          if (!this.absenceLast.has(k)) this.absenceLast.set(k, now);
          this.armAbsence(rule, siteId, p.zone, p.id);
        }
      }
      for (const rule of this.forKind('opening-hours', siteId)) this.armClosing(rule, siteId);
    }
  }

  private reseed(): void {
    for (const [k, cancel] of this.timers) {
      const [ruleId] = k.split('\u0000');
      const rule = ruleId === undefined ? undefined : this.rules.get(ruleId);
      if (!rule || rule.when.kind !== 'duration') {
        cancel();
        this.timers.delete(k);
        this.timerSites.delete(k);
      }
    }
    this.seedTimers();
  }

  // ---- kinds -------------------------------------------------------------------------------

  private onEvent(e: NewEvent): void {
    if (!this.running || !this.serves(e.site)) return;
    const zone = this.zone(e.site, e.zone);
    const data = e.data as unknown as Record<string, unknown>;
    for (const rule of this.forEvent(e.type, e.site)) {
      try {
        switch (rule.when.kind) {
          case 'event':
            this.onEventRule(rule as Of<'event'>, e, data, zone);
            break;
          case 'correlation':
            this.onCorrelation(rule as Of<'correlation'>, e, zone);
            break;
          case 'count':
            this.onCount(rule as Of<'count'>, e, zone);
            break;
          case 'absence':
            this.onAbsence(rule as Of<'absence'>, e, zone);
            break;
          case 'opening-hours':
            this.onOpeningHoursDoor(rule as Of<'opening-hours'>, e, data);
            break;
          default:
            break;
        }
      } catch (err) {
        this.log.error({ err, rule: rule.id }, 'rule evaluation failed');
      }
    }
    // A status "offline" is the broker or the last will speaking, not the device.
    if (!(e.data.type === 'status' && !e.data.online)) {
      const silence = this.forKind('silence', e.site);
      if (silence.length > 0) {
        const heard = Math.min(this.deps.clock.now(), Date.parse(e.ts));
        for (const rule of silence) {
          if (!this.inScope(rule, e.site, e.zone, e.deviceType)) continue;
          this.resolve(rule, e.device);
          this.armSilence(rule, e.device, e.site, e.zone, e.deviceType, heard);
        }
      }
    }
  }

  private onEventRule(rule: Of<'event'>, e: NewEvent, data: Record<string, unknown>, zone: Zone | undefined): void {
    if (!this.inScope(rule, e.site, e.zone, e.deviceType)) return;
    const w = rule.when;
    const source = w.per === 'zone' ? zoneSource(e.site, e.zone) : e.device;
    const get = (f: string) => data[f];
    if (e.type === w.event && holds(w.where, get, zone) && this.flagsHold(w, e.site, e.zone)) {
      const first = w.where[0];
      this.trigger(rule, source, { site: e.site, zone: e.zone, device: e.device }, {
        value: first ? (get(first.field) as string | number | undefined) : undefined,
        threshold: first && typeof first.value !== 'object' ? String(first.value) : undefined,
        type: e.type,
      }, { event: e.data });
      return;
    }
    if (!this.fired.has(key(rule.id, source))) return;
    const ends = w.clear
      ? e.type === (w.clear.event ?? w.event) && holds(w.clear.where, get, zone)
      : e.type === w.event && w.where.length > 0 && w.where.every((c) => data[c.field] !== undefined) && !holds(w.where, get, zone);
    if (ends) this.resolve(rule, source);
  }

  private eventZones(e: NewEvent): string[] {
    if (!deviceTypeHas(e.deviceType, 'motion')) return [e.zone];
    return this.sitesIndex.get(e.site)?.motionZones.get(e.device) ?? [e.zone];
  }

  private onCorrelation(rule: Of<'correlation'>, e: NewEvent, zone: Zone | undefined): void {
    const w = rule.when;
    const isFirst = RuleEngine.matches(w.first, e, zone);
    const isSecond = RuleEngine.matches(w.second, e, zone);
    if (!isFirst && !isSecond) return;
    const now = this.deps.clock.now();
    const within = w.withinS * 1000;
    for (const z of this.eventZones(e)) {
      if (!this.zoneInScope(rule, e.site, z) || !this.flagsHold(w, e.site, z)) continue;
      const source = zoneSource(e.site, z);
      const k = key(rule.id, source);
      const seen = this.correlation.get(k) ?? { first: -Infinity, second: -Infinity };
      if (isFirst) seen.first = now;
      if (isSecond) seen.second = now;
      if (now - seen.first <= within && now - seen.second <= within) {
        this.correlation.delete(k);
        this.trigger(rule, source, { site: e.site, zone: z, device: e.device }, { seconds: w.withinS }, { event: e.data });
      } else {
        this.correlation.set(k, seen);
      }
    }
  }

  private onCount(rule: Of<'count'>, e: NewEvent, zone: Zone | undefined): void {
    const w = rule.when;
    if (!this.inScope(rule, e.site, e.zone, e.deviceType) || !RuleEngine.matches(w.match, e, zone) || !this.flagsHold(w, e.site, e.zone)) return;
    const source = w.per === 'zone' ? zoneSource(e.site, e.zone) : e.device;
    const k = key(rule.id, source);
    const now = this.deps.clock.now();
    const times = this.windows.get(k) ?? [];
    times.push(now);
    const cutoff = now - w.windowS * 1000;
    while (times.length > 0 && (times[0] as number) <= cutoff) times.shift();
    // Only the last moreThan+1 matter for "more than N in the window".
    while (times.length > w.moreThan + 1) times.shift();
    this.windows.set(k, times);
    if (times.length > w.moreThan) {
      this.trigger(rule, source, { site: e.site, zone: e.zone, device: w.per === 'device' ? e.device : null }, {
        count: times.length,
        threshold: w.moreThan,
        minutes: w.windowS / 60,
      });
    }
  }

  private onAbsence(rule: Of<'absence'>, e: NewEvent, zone: Zone | undefined): void {
    if (!this.inScope(rule, e.site, e.zone, e.deviceType) || !RuleEngine.matches(rule.when.match, e, zone)) return;
    this.absenceLast.set(key(rule.id, e.device), this.deps.clock.now());
    this.resolve(rule, e.device);
    this.armAbsence(rule, e.site, e.zone, e.device);
  }

  private armAbsence(rule: Of<'absence'>, site: string, zone: string, device: string): void {
    const info = this.sitesIndex.get(site);
    const k = key(rule.id, device);
    const last = this.absenceLast.get(k) ?? this.deps.clock.now();
    const w = rule.when;
    const due = w.duringOpeningHours && info ? openTimeElapsed(info.site, last, w.windowS) : last + w.windowS * 1000;
    this.schedule(k, site, due, () => {
      if (this.fired.has(k)) return;
      this.trigger(rule, device, { site, zone, device }, { minutes: w.windowS / 60 });
    });
  }

  private armSilence(rule: Of<'silence'>, device: string, site: string, zone: string, type: string, heardMs: number): void {
    const interval = getDeviceType(type)?.heartbeatIntervalS;
    if (!interval) return;
    const k = key(rule.id, device);
    const limitS = interval * rule.when.factor;
    this.schedule(k, site, heardMs + limitS * 1000, () => {
      if (this.fired.has(k)) return;
      this.trigger(rule, device, { site, zone, device }, { minutes: Math.round(limitS / 60), lastSeen: iso(heardMs) }, { lastSeen: iso(heardMs) });
    });
  }

  private onOpeningHoursDoor(rule: Of<'opening-hours'>, e: NewEvent, data: Record<string, unknown>): void {
    if (!this.inScope(rule, e.site, e.zone, e.deviceType)) return;
    const info = this.sitesIndex.get(e.site);
    if (!info) return;
    const source = zoneSource(e.site, e.zone);
    if (data.state === 'open') {
      if (!isOpen(info.site, this.deps.clock.now())) this.trigger(rule, source, { site: e.site, zone: e.zone, device: e.device }, {});
    } else if (data.state === 'closed' || data.state === 'close') {
      this.resolve(rule, source);
    }
  }

  /** At each closing time (+ grace), every in-scope zone whose door is still open fires. */
  private armClosing(rule: Of<'opening-hours'>, siteId: string): void {
    const info = this.sitesIndex.get(siteId);
    if (!info) return;
    const closeAt = nextClosing(info.site, this.deps.clock.now() - rule.when.graceS * 1000);
    this.schedule(key(rule.id, `closing:${siteId}`), siteId, closeAt + rule.when.graceS * 1000, () => {
      for (const [zoneId] of info.zones) {
        if (!this.zoneInScope(rule, siteId, zoneId)) continue;
        if (this.zoneStates.get(zoneSource(siteId, zoneId))?.door === 'open') {
          this.trigger(rule, zoneSource(siteId, zoneId), { site: siteId, zone: zoneId, device: null }, {});
        }
      }
      this.armClosing(rule, siteId);
    });
  }

  // ---- duration (state held for N seconds) -------------------------------------------------

  private onZone(state: ZoneState, changed: ReadonlyArray<keyof ZoneState> | null): void {
    if (!this.running || !this.serves(state.site)) return;
    this.zoneStates.set(zoneSource(state.site, state.id), state);
    for (const rule of this.forKind('duration', state.site)) {
      if (rule.when.subject !== 'zone' || !this.zoneInScope(rule, state.site, state.id)) continue;
      if (changed && !rule.when.where.some((c) => (changed as readonly string[]).includes(c.field))) continue;
      const get = (f: string) => (state as unknown as Record<string, unknown>)[f];
      const ok = holds(rule.when.where, get, this.zone(state.site, state.id), state.capacity) && this.flagsHold(rule.when, state.site, state.id);
      this.durationState(rule, zoneSource(state.site, state.id), ok, { state: 'pending', site: state.site, zone: state.id, device: null }, get);
    }
  }

  private onDevice(state: DeviceState, changed: ReadonlyArray<keyof DeviceState>): void {
    if (!this.running || !this.serves(state.site)) return;
    for (const rule of this.forKind('duration', state.site)) {
      if (rule.when.subject !== 'device' || !this.inScope(rule, state.site, state.zone, state.type)) continue;
      if (!rule.when.where.some((c) => (changed as readonly string[]).includes(c.field))) continue;
      const get = (f: string) => (state as unknown as Record<string, unknown>)[f];
      const ok = holds(rule.when.where, get, this.zone(state.site, state.zone)) && this.flagsHold(rule.when, state.site, state.zone);
      this.durationState(rule, state.id, ok, { state: 'pending', site: state.site, zone: state.zone, device: state.id }, get);
    }
  }

  private durationState(rule: Of<'duration'>, source: string, ok: boolean, payload: TimerPayload, get: (f: string) => unknown): void {
    const k = key(rule.id, source);
    if (!ok) {
      if (this.timers.has(k)) {
        this.cancel(k);
        this.deleteTimer(rule.id, source);
      }
      this.resolve(rule, source);
      return;
    }
    if (this.timers.has(k) || this.fired.has(k)) return;
    const now = this.deps.clock.now();
    const first = rule.when.where[0];
    const p = { ...payload, since: now, value: first ? get(first.field) : undefined };
    const due = now + rule.when.seconds * 1000;
    this.saveTimer(rule.id, source, due, p);
    this.armDuration(rule, source, p, due);
  }

  private armDuration(rule: Of<'duration'>, source: string, payload: TimerPayload & { value?: unknown }, due: number): void {
    const k = key(rule.id, source);
    this.schedule(k, payload.site, due, () => {
      const current = this.rules.get(rule.id);
      if (!current || current.when.kind !== 'duration') return;
      const held = this.deps.clock.now() - (payload.since ?? due - rule.when.seconds * 1000);
      this.trigger(current, source, { site: payload.site, zone: payload.zone, device: payload.device }, {
        minutes: Math.round(held / 60000),
        seconds: Math.round(held / 1000),
        value: typeof payload.value === 'number' || typeof payload.value === 'string' ? payload.value : undefined,
      });
      if (!current.autoClear) this.deleteTimer(rule.id, source);
    });
  }

  /** For tests and diagnostics: pending timers and unresolved triggers. */
  pending(): { timers: number; fired: number } {
    return { timers: this.timers.size, fired: this.fired.size };
  }
}

