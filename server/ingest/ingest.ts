/**
 * Ingest: turns what a device sent into stored, typed events. Decode by device type, validate,
 * drop duplicates by `seq`, stamp the receive time, and group-commit to the event store; the
 * returned promise resolves only after the commit, and the broker acknowledges QoS 1 on it.
 * A bad payload is refused with a coded, counted rejection that touches nothing else — the
 * device stays connected (it would otherwise retransmit the poison message forever).
 * Each device has an event rate budget (rate-budget.ts): a device over it has its messages
 * acknowledged and dropped the same way, so one flooding device neither fills the disk nor
 * delays the others' commits.
 */
import { getDeviceType } from '../../devices/index.ts';
import { describeIssues } from '../../devices/shared/json.ts';
import type { Config } from '../config.ts';
import type { ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceEvent } from '../../devices/types.ts';
import type { DeviceRecord, EventStore, NewEvent, RecordedEvent, StatusEvent } from '../storage/types.ts';
import { SeqDeduper } from './dedupe.ts';
import { GroupCommitter } from './group-commit.ts';
import { RateBudgets, resolveRateBudgets } from './rate-budget.ts';

/**
 * Hands stored events of a site another worker holds to the one that does (a worker of
 * several: broker/relay.ts is the message on the broker).
 */
export interface SiteRelay {
  /** Whether this worker holds the site (its events are announced here, not relayed). */
  holds(site: string): boolean;
  /** Resolves once the broker has the message (PUBACK). */
  send(site: string, events: readonly NewEvent[]): Promise<void>;
}

export interface IngestDeps {
  config: Config['ingest'] & { maxEventBytes: number };
  events: EventStore;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  /**
   * A worker of several: events of a site another worker holds (a push or a presence webhook
   * that landed here) are handed to the holder once stored, instead of being announced here.
   */
  relay?: SiteRelay;
}

/** A device clock is trusted within this range around ours; NB-IoT modules often boot at 1970. */
const MAX_PAST_MS = 30 * 24 * 3600 * 1000;
const MAX_FUTURE_MS = 5 * 60 * 1000;

const JPEG_MAGIC = 0xffd8;

/** What became of one message: events stored, duplicates dropped, or the refusal. */
export interface IngestOutcome {
  stored: number;
  duplicates: number;
  refused?: { code: ErrorCode; message: string };
}

export class Ingest {
  private readonly committer: GroupCommitter<NewEvent>;
  private readonly deduper: SeqDeduper;
  /** Last recorded connectivity per device, so repeated online/offline are stored once. */
  private readonly online = new Map<string, boolean>();
  /** Rejections logged per device per minute, so a flooding device cannot flood the log. */
  private readonly logBudget = new Map<string, { minute: number; count: number }>();
  private readonly rateBudgets: RateBudgets;
  /** Events accepted this turn, announced together at its end (announce()). */
  private accepted: NewEvent[] = [];
  private announceTimer: NodeJS.Immediate | null = null;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.log = deps.logger.child({ module: 'ingest' });
    this.now = deps.now ?? Date.now;
    this.deduper = new SeqDeduper(deps.config.dedupeWindowS * 1000);
    const budgets = resolveRateBudgets(deps.config.rateBudgets);
    this.rateBudgets = new RateBudgets({ budgetOf: (typeId) => budgets.get(typeId), now: this.now, onSweep: () => this.sweepLogBudget() });
    this.committer = new GroupCommitter<NewEvent>({
      maxItems: deps.config.commitMaxEvents,
      delayMs: deps.config.commitDelayMs,
      write: async (batch) => {
        await deps.events.append(batch);
        for (const e of batch) deps.metrics.ingested.inc({ type: e.type });
      },
      onBatch: (size, seconds) => {
        deps.metrics.commitBatchSize.observe(size);
        deps.metrics.commitSeconds.observe(seconds);
      },
    });
  }

  async start(): Promise<void> {
    await this.restoreDedupe();
  }
  /**
   * The dedupe window from what the store received within it: at start, and when a worker of
   * several takes sites over (only their devices) — what the previous holder stored but had not
   * acknowledged comes again from the broker and must be dropped, not stored twice.
   */
  async restoreDedupe(devices?: ReadonlySet<string>): Promise<void> {
    const since = new Date(this.now() - this.deps.config.dedupeWindowS * 1000).toISOString();
    const recent = await this.deps.events.recentSeqs(since);
    let restored = 0;
    for (const r of recent) {
      if (devices !== undefined && !devices.has(r.device)) continue;
      this.deduper.remember(r.device, r.seq, Date.parse(r.receivedAt));
      restored++;
    }
    this.log.debug({ restored }, 'dedupe window restored');
  }

  async stop(): Promise<void> {
    this.announceNow();
    await this.committer.flush();
  }

  /** An `up` message: an event as JSON or the device's binary frame. */
  async acceptUplink(device: DeviceRecord, payload: Buffer, at?: string): Promise<IngestOutcome> {
    if (payload.length > this.deps.config.maxEventBytes) {
      return this.reject(device, 'STW_ERR_PAYLOAD_TOO_LARGE', `${payload.length} bytes exceeds ${this.deps.config.maxEventBytes}`);
    }
    const type = getDeviceType(device.type);
    if (!type) return this.reject(device, 'STW_ERR_DEVICE_TYPE_UNKNOWN', `device type "${device.type}" is not in the catalogue`);
    // An empty bucket refuses before decoding, so a flood costs a map lookup per message.
    if (!this.rateBudgets.admits(device.id, type.id)) return this.rateLimited(device, type.id);
    const result = type.decode(payload);
    // Charged by events decoded, duplicates included (retransmitting is sending too); a message
    // its codec refused costs one, so a device spraying garbage is not decoded without end.
    this.rateBudgets.charge(device.id, type.id, result.ok ? result.events.length : 1);
    if (!result.ok) return this.reject(device, result.code, result.message);
    return this.store(device, result.events, at);
  }

  /**
   * Canonical events an integration adapter mapped from a platform's message (a CTWing
   * serviceData, a Hikvision count, a Frigate detection). Checked against the device type's
   * schema like a JSON uplink — an adapter's mapping is not trusted to be right — and budgeted
   * like one. `at` stamps events without their own `ts`.
   */
  async acceptEvents(device: DeviceRecord, events: readonly DeviceEvent[], at?: string): Promise<IngestOutcome> {
    const type = getDeviceType(device.type);
    if (!type) return this.reject(device, 'STW_ERR_DEVICE_TYPE_UNKNOWN', `device type "${device.type}" is not in the catalogue`);
    if (!this.rateBudgets.admits(device.id, type.id)) return this.rateLimited(device, type.id);
    this.rateBudgets.charge(device.id, type.id, Math.max(1, events.length));
    const valid: DeviceEvent[] = [];
    for (const event of events) {
      if (!type.events.includes(event.type)) {
        return this.reject(device, 'STW_ERR_EVENT_UNSUPPORTED', `a ${type.id} does not produce "${event.type}" events`);
      }
      const parsed = type.schema.safeParse(event);
      if (!parsed.success) return this.reject(device, 'STW_ERR_PAYLOAD_SCHEMA', `${event.type}: ${describeIssues(parsed.error)}`);
      valid.push(parsed.data);
    }
    return this.store(device, valid, at);
  }

  /** A platform said the device came online or went offline (CTWing, OneNET). */
  async acceptPlatformStatus(device: DeviceRecord, online: boolean): Promise<IngestOutcome> {
    const stored = await this.recordStatus(device, online, 'platform');
    return { stored: stored ? 1 : 0, duplicates: 0 };
  }

  /** `at`: when a platform says it happened, for events that carry no `ts` of their own. */
  private async store(device: DeviceRecord, events: readonly DeviceEvent[], at?: string): Promise<IngestOutcome> {
    const receivedMs = this.now();
    const fresh: NewEvent[] = [];
    let duplicates = 0;
    for (const event of events) {
      if (event.seq !== undefined && this.deduper.isDuplicate(device.id, event.seq, receivedMs)) {
        this.deps.metrics.duplicates.inc();
        duplicates++;
        continue;
      }
      fresh.push(this.toRecord(device, event.ts === undefined && at !== undefined ? { ...event, ts: at } : event, receivedMs));
    }
    await this.commit(device, fresh);
    return { stored: fresh.length, duplicates };
  }

  /** A message on the status topic (retained, and the device's last will). */
  async acceptStatusPayload(device: DeviceRecord, payload: Buffer): Promise<void> {
    const text = payload.toString('utf8').trim().toLowerCase();
    if (text !== 'online' && text !== 'offline') {
      this.reject(device, 'STW_ERR_STATUS_INVALID', `status "${text.slice(0, 32)}"`);
      return;
    }
    await this.recordStatus(device, text === 'online', 'device');
  }

  /** The broker saw the device connect or disconnect. */
  async acceptPresence(device: DeviceRecord, online: boolean): Promise<void> {
    try {
      await this.recordStatus(device, online, 'broker');
    } catch (err) {
      this.log.error({ err, device: device.id }, 'presence could not be stored');
    }
  }

  /** A camera's JPEG answering command `commandId`. Stored and attached by later stages. */
  async acceptSnapshot(device: DeviceRecord, commandId: string, jpeg: Buffer): Promise<void> {
    if (jpeg.length < 4 || jpeg.readUInt16BE(0) !== JPEG_MAGIC) {
      this.reject(device, 'STW_ERR_PAYLOAD_SCHEMA', 'snapshot is not a JPEG (no FFD8 marker)');
      return;
    }
    this.deps.bus.emit('snapshot.received', {
      site: device.site,
      device: device.id,
      commandId,
      jpeg,
      at: new Date(this.now()).toISOString(),
    });
  }

  private async recordStatus(device: DeviceRecord, online: boolean, source: StatusEvent['source']): Promise<boolean> {
    if (this.online.get(device.id) === online) return false;
    this.online.set(device.id, online);
    await this.commit(device, [this.toRecord(device, { type: 'status', online, source }, this.now())]);
    return true;
  }

  private async commit(device: DeviceRecord, events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const relay = this.deps.relay !== undefined && !this.deps.relay.holds(device.site) ? this.deps.relay : null;
    if (relay === null) this.announce(events);
    try {
      await this.committer.addMany(events);
    } catch (err) {
      // Not stored: let a retransmission through the dedupe window, then fail the publish.
      for (const e of events) if (e.seq !== null) this.deduper.forget(device.id, e.seq);
      this.deps.metrics.refuse('STW_ERR_STORAGE_FAILED', 'ingest');
      throw err;
    }
    if (relay !== null) await this.relayStored(relay, device.site, events);
  }

  /**
   * Stored events of a site another worker holds, to that worker (broker/relay.ts). Only once
   * stored: the holder must not act on what could still be lost. A failure is counted and logged
   * but fails nothing: the events are stored, only the holder's rules and twin miss them.
   */
  private async relayStored(relay: SiteRelay, site: string, events: readonly NewEvent[]): Promise<void> {
    try {
      await relay.send(site, events);
    } catch (err) {
      this.deps.metrics.refuse('STW_ERR_RELAY_FAILED', 'ingest');
      this.log.error({ err, site, code: 'STW_ERR_RELAY_FAILED', events: events.length }, 'stored events could not be handed to the worker holding their site');
    }
  }

  /**
   * Events another worker stored for a site this one holds (broker/relay.ts): announced as if
   * stored here, and remembered so that the same seq sent again by MQTT is a duplicate.
   */
  acceptRelayed(events: readonly NewEvent[]): void {
    for (const e of events) {
      if (e.seq !== null) this.deduper.remember(e.device, e.seq, Date.parse(e.receivedAt));
      if (e.data.type === 'status') this.online.set(e.device, e.data.online);
    }
    this.announce(events);
  }

  /**
   * Hands accepted events to the twin and the rules ('events.accepted') at the end of this turn,
   * while their commit is still running: an alarm does not wait for the disk. Measured at 5,000
   * events/s, a commit with its fsync took 14 ms on average and the committer was busy 86 % of
   * the time, so an event waited on average for part of the running commit and then its own
   * before any rule saw it (an estimate from those two figures, not measured). If the commit fails
   * the device is not acknowledged and sends the message again (the dedupe window forgets it),
   * so what the twin saw is stored once the retry is; a rule fires again at most as a repeat.
   * One announcement per turn keeps the listeners' batching: a socket read of 50 PUBLISHes is
   * one batch, as one commit used to be.
   */
  private announce(events: readonly NewEvent[]): void {
    for (const e of events) this.accepted.push(e);
    this.announceTimer ??= setImmediate(() => this.announceNow());
  }

  private announceNow(): void {
    if (this.announceTimer) clearImmediate(this.announceTimer);
    this.announceTimer = null;
    if (this.accepted.length === 0) return;
    const batch = this.accepted;
    this.accepted = [];
    this.deps.bus.emit('events.accepted', batch);
  }

  private toRecord(device: DeviceRecord, event: RecordedEvent, receivedMs: number): NewEvent {
    const receivedAt = new Date(receivedMs).toISOString();
    const seq = 'seq' in event && typeof event.seq === 'number' ? event.seq : null;
    return {
      site: device.site,
      device: device.id,
      deviceType: device.type,
      zone: device.zone,
      type: event.type,
      seq,
      ts: this.eventTime(event, receivedMs) ?? receivedAt,
      receivedAt,
      data: event,
    };
  }

  private eventTime(event: RecordedEvent, receivedMs: number): string | null {
    if (!('ts' in event) || typeof event.ts !== 'string') return null;
    const ms = Date.parse(event.ts);
    if (!Number.isFinite(ms) || ms < receivedMs - MAX_PAST_MS || ms > receivedMs + MAX_FUTURE_MS) return null;
    return new Date(ms).toISOString();
  }

  /** Over budget: acknowledged (returning normally lets the broker PUBACK) and dropped. */
  private rateLimited(device: DeviceRecord, typeId: string): IngestOutcome {
    const budget = this.rateBudgets.budgetOf(typeId);
    const limit = budget ? ` (${budget.perSecond} events/s, burst ${budget.burst})` : '';
    return this.reject(device, 'STW_ERR_DEVICE_RATE_LIMITED', `message dropped: over the ${typeId} event rate budget${limit}`);
  }

  /** Log budgets of past minutes are spent; dropped with the full rate buckets. */
  private sweepLogBudget(): void {
    const minute = Math.floor(this.now() / 60_000);
    for (const [id, budget] of this.logBudget) if (budget.minute !== minute) this.logBudget.delete(id);
  }

  private reject(device: DeviceRecord, code: ErrorCode, message: string): IngestOutcome {
    const at = new Date(this.now()).toISOString();
    this.deps.metrics.refuse(code, 'ingest');
    this.deps.bus.emit('ingest.rejected', { site: device.site, device: device.id, code, message, at });
    const minute = Math.floor(this.now() / 60_000);
    const budget = this.logBudget.get(device.id);
    if (!budget || budget.minute !== minute) this.logBudget.set(device.id, { minute, count: 1 });
    else budget.count++;
    if ((this.logBudget.get(device.id)?.count ?? 0) <= 5) {
      this.log.warn({ code, device: device.id, site: device.site }, message);
    }
    return { stored: 0, duplicates: 0, refused: { code, message } };
  }
}
