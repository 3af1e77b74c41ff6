/**
 * Integrations: how StoreTwin hears devices that do not speak MQTT to its broker. The same
 * path for every adapter (adapters/*.ts only translate formats):
 *
 *   push or connector ─▶ authenticate (token) ─▶ rate budget ─▶ adapter.parse ─▶ per message:
 *   match the device by externalIds (same site only) ─▶ drop retransmissions (dedupeKey)
 *   ─▶ ingest (frames through the device type's codec, canonical events checked against its
 *   schema, platform status) ─▶ counters, /metrics
 *
 * A message naming no registered device is answered 200 like any other (a platform retries
 * what it did not get a 200 for, then cools the subscription down) and listed for admins as an
 * unknown device with its ids, ready to register. Cameras heard through an integration answer
 * the linker's snapshot command from a picture that came with a recent message or through the
 * adapter's `snapshot` (Frigate).
 *
 * The push path never waits for the store per message. This service keeps a view of the
 * integrations (id → record as last read or written, and token hash → id) for authenticating
 * pushes, the connectors and `hears`: loaded by start(), kept fresh by every change made
 * through this service, re-read whole when another worker changed an integration (PostgreSQL:
 * the store's onChange, LISTEN/NOTIFY; the connectors follow: stopped, restarted or started)
 * and read by token on a token it does not know (one issued by another worker a moment ago,
 * before its notification arrived). Counters, keys, unknown devices and refusals are written in
 * one batch a second (flush); the API's lists and counters read the store.
 */
import type { Clock } from '../clock.ts';
import { ERRORS, StoreTwinError, type ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { IngestOutcome } from '../ingest/ingest.ts';
import { SeqDeduper } from '../ingest/dedupe.ts';
import { TokenBucket } from '../ingest/rate-budget.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { newSecret, sha256Hex } from '../auth/secrets.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { DeviceEvent } from '../../devices/types.ts';
import { describeIssues } from '../../devices/shared/json.ts';
import { adapters, getAdapter } from './adapters/index.ts';
import type { Adapter, AdapterMessage, AdapterState, Connector, ExternalIdKey, PushRequest } from './adapters/types.ts';
import { normalizeExternalId } from '../registry/external-ids.ts';
import { emptyPendingWrites, type IntegrationCounts, type IntegrationRecord, type IntegrationStore, type PendingWrites, type UnknownDevice } from './types.ts';
import { ViewRefresher } from '../storage/postgres/changes.ts';
import type { SiteOwner } from '../site-owner.ts';
import { randomBytes } from 'node:crypto';

export interface IntegrationSettingsConfig {
  /** Largest push body accepted, bytes (a Hikvision alert with its picture is ~100–500 kB). */
  maxPushBytes: number;
  /** Pushes per second one integration may send, and its burst. */
  pushRate: { perSecond: number; burst: number };
  /** How long a retransmission key is remembered, seconds. */
  dedupeWindowS: number;
  /** How recent a picture that came with a message must be to serve as a snapshot, seconds. */
  pictureMaxAgeS: number;
}

export interface IntegrationServiceDeps {
  store: IntegrationStore;
  registry: { findDeviceByExternalId(platform: string, id: string): DeviceRecord | null; getDevice(id: string): DeviceRecord | null };
  ingest: {
    acceptUplink(device: DeviceRecord, payload: Buffer, at?: string): Promise<IngestOutcome>;
    acceptEvents(device: DeviceRecord, events: readonly DeviceEvent[], at?: string): Promise<IngestOutcome>;
    acceptPlatformStatus(device: DeviceRecord, online: boolean): Promise<IngestOutcome>;
  };
  sites: { get(id: string): unknown };
  /** The alarm a snapshot is for (its title goes to Frigate's event). */
  alarmOf?: (id: string) => Promise<{ id: string; rule: string; severity: string; message: { en: string } } | null>;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  config: IntegrationSettingsConfig;
  /**
   * A worker of several polls only the counters and cameras of the sites it holds (connector
   * adapters: Axis, Frigate), so that two workers never store one count twice; pushes are
   * taken on any worker. Alone, every site is this one's.
   */
  owner?: SiteOwner;
}

/** An integration as the API shows it: no token hash, secret settings masked. */
export interface PublicIntegration {
  id: string;
  adapter: string;
  site: string;
  name: string;
  delivery: 'push' | 'connector';
  /** Where the platform pushes to (push adapters), without the token. */
  pushPath: string | null;
  settings: Record<string, unknown>;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
  counts: IntegrationCounts;
  lastError: IntegrationRecord['lastError'];
}

export interface PushAnswer {
  status: number;
  contentType: string;
  body: string;
  retryAfterS?: number;
}

/** One push's outcome, as answered to the platform and added to the integration's counters. */
interface Tally extends IntegrationCounts {
  ignored: number;
  problems: { code: ErrorCode; message: string }[];
}

const MASK = '••••••';
const FLUSH_EVERY_MS = 1000;
const TOKEN_PREFIX = 'stw_int_';

function emptyTally(): Tally {
  return { accepted: 0, duplicates: 0, unknown: 0, refused: 0, ignored: 0, problems: [] };
}

export class IntegrationService {
  private readonly log: Logger;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly states = new Map<string, AdapterState>();
  private readonly connectors = new Map<string, Connector>();
  private readonly deduper: SeqDeduper<string>;
  private readonly pictures = new Map<string, { jpeg: Buffer; at: number }>();
  /** Counters, retransmission keys, unknown devices and refusals, written once a second (flush). */
  private pending: PendingWrites = emptyPendingWrites();
  private flushTimer: NodeJS.Timeout | null = null;
  private started = false;
  /** The view (see the header): integrations by id, and their ids by token hash. */
  private view = new Map<string, IntegrationRecord>();
  private byToken = new Map<string, string>();
  /** Bumped by every change through this service: a re-read that began before one is dropped. */
  private changes = 0;
  /** Re-reads after other workers' changes; their unsubscribe. */
  private readonly refresher: ViewRefresher;
  private unsubscribe: (() => void) | null = null;
  private readonly offOwner: Array<() => void> = [];

  constructor(private readonly deps: IntegrationServiceDeps) {
    this.log = deps.logger.child({ module: 'integrations' });
    this.deduper = new SeqDeduper<string>(deps.config.dedupeWindowS * 1000);
    this.refresher = new ViewRefresher(
      async () => {
        // A change of ours landed during the read: read again (the request runs after this one).
        if (!(await this.reload())) this.refresher.request({ site: null });
      },
      (err) => this.log.warn({ err }, 'integrations changed by another worker not re-read yet; retrying'),
    );
  }

  /** Loads the view, rebuilds the retransmission window and starts the connectors of enabled integrations. */
  async start(): Promise<void> {
    const now = this.deps.clock.now();
    const keys = await this.deps.store.recentKeys(now - this.deps.config.dedupeWindowS * 1000);
    for (const k of keys) this.deduper.remember(k.device, k.key, k.at);
    // Listening first: an integration another worker changes while the load runs is heard.
    this.unsubscribe ??= (await this.deps.store.onChange?.(this.refresher.request)) ?? null;
    await this.reload();
    this.started = true;
    this.followOwner();
    for (const rec of this.view.values()) this.syncConnector(rec);
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.flushTimer.unref();
  }

  /** Settles once the re-reads other workers' changes asked for so far are in the view (tests). */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  /**
   * Re-reads the view from the store and replaces it in one step; false (nothing replaced) when
   * this service changed something meanwhile. Once started, the connectors follow what changed.
   */
  private async reload(): Promise<boolean> {
    const before = this.changes;
    const all = await this.deps.store.list();
    if (this.changes !== before) return false;
    const old = this.view;
    this.view = new Map(all.map((r) => [r.id, r]));
    this.byToken = new Map(all.map((r) => [r.tokenHash, r.id]));
    if (this.started) this.followConnectors(old);
    return true;
  }

  /** After a re-read: connectors of integrations removed stop, of ones changed restart, of new ones start. */
  private followConnectors(old: ReadonlyMap<string, IntegrationRecord>): void {
    for (const id of old.keys()) {
      if (this.view.has(id)) continue;
      const running = this.connectors.get(id);
      this.connectors.delete(id);
      void running?.stop();
      this.states.delete(id);
      this.buckets.delete(id);
    }
    for (const rec of this.view.values()) {
      const was = old.get(rec.id);
      if (was === undefined) this.syncConnector(rec);
      else if (was.enabled !== rec.enabled || was.adapter !== rec.adapter || JSON.stringify(was.settings) !== JSON.stringify(rec.settings)) {
        this.states.delete(rec.id);
        this.restartConnector(rec);
      }
    }
  }

  /** Records a change made through this service (or a record read fresh) in the view. */
  private remember(rec: IntegrationRecord): IntegrationRecord {
    this.changes++;
    const old = this.view.get(rec.id);
    if (old !== undefined && old.tokenHash !== rec.tokenHash) this.byToken.delete(old.tokenHash);
    this.view.set(rec.id, rec);
    this.byToken.set(rec.tokenHash, rec.id);
    return rec;
  }

  private forget(id: string): void {
    this.changes++;
    const old = this.view.get(id);
    if (old !== undefined) this.byToken.delete(old.tokenHash);
    this.view.delete(id);
  }

  /** The integration a push token names: the view, else the store (one created or re-keyed on another worker). */
  private async integrationByToken(token: string | undefined): Promise<IntegrationRecord | null> {
    if (!token) return null;
    const hash = sha256Hex(token);
    const id = this.byToken.get(hash);
    const known = id === undefined ? undefined : this.view.get(id);
    if (known !== undefined) return known;
    const rec = await this.deps.store.byTokenHash(hash);
    return rec === null ? null : this.remember(rec);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const off of this.offOwner.splice(0)) off();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.refresher.close();
    const running = [...this.connectors.values()];
    this.connectors.clear();
    await Promise.allSettled(running.map((c) => c.stop()));
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await this.flush();
  }

  /**
   * Writes the deferred counters, keys and unknown devices. A crash loses at most the last
   * second of them: counters a little low, and a retransmission of a message stored in that
   * second stored again — at least once, never lost.
   */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = emptyPendingWrites();
    try {
      await this.deps.store.applyBatch(batch);
    } catch (err) {
      this.log.error({ err }, 'integration counters could not be written');
    }
  }

  // ---- management (API) --------------------------------------------------------------------

  async list(): Promise<PublicIntegration[]> {
    await this.flush();
    return (await this.deps.store.list()).map((r) => this.toPublic(r));
  }

  async get(id: string): Promise<IntegrationRecord | null> {
    await this.flush();
    return this.deps.store.get(id);
  }

  async create(input: { adapter: string; site: string; name?: string; settings?: unknown; enabled?: boolean }): Promise<{ integration: PublicIntegration; token: string }> {
    const adapter = this.adapterOf(input.adapter);
    if (this.deps.sites.get(input.site) === undefined) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${input.site}"`);
    const settings = this.validSettings(adapter, input.settings ?? {});
    const token = TOKEN_PREFIX + newSecret();
    const rec = await this.deps.store.insert({
      id: `int-${randomBytes(6).toString('hex')}`,
      adapter: adapter.id,
      site: input.site,
      name: input.name ?? `${adapter.label.en} (${input.site})`,
      settings,
      tokenHash: sha256Hex(token),
      enabled: input.enabled ?? true,
    });
    this.remember(rec);
    this.syncConnector(rec);
    return { integration: this.toPublic(rec), token };
  }

  /**
   * Changes name, enabled, settings. Settings are merged into the stored ones key by key, so a
   * secret (a password, OneNET's token) need not be sent again to change something else; the
   * masked placeholder the API shows counts as "unchanged".
   */
  async update(id: string, patch: { name?: string; enabled?: boolean; settings?: Record<string, unknown> }): Promise<PublicIntegration> {
    const rec = await this.mustGet(id);
    const adapter = this.adapterOf(rec.adapter);
    let settings = rec.settings;
    if (patch.settings !== undefined) {
      const merged: Record<string, unknown> = { ...(rec.settings as Record<string, unknown>) };
      for (const [k, v] of Object.entries(patch.settings)) if (v !== MASK) merged[k] = v;
      settings = this.validSettings(adapter, merged);
    }
    const updated = await this.deps.store.update(id, { name: patch.name ?? rec.name, enabled: patch.enabled ?? rec.enabled, settings });
    if (updated === null) throw new StoreTwinError('STW_ERR_INTEGRATION_NOT_FOUND', `no integration "${id}"`);
    const next = this.remember(updated);
    this.states.delete(id);
    this.restartConnector(next);
    return this.toPublic(next);
  }

  async rotateToken(id: string): Promise<{ integration: PublicIntegration; token: string }> {
    await this.mustGet(id);
    const token = TOKEN_PREFIX + newSecret();
    const rec = await this.deps.store.setTokenHash(id, sha256Hex(token));
    if (rec === null) throw new StoreTwinError('STW_ERR_INTEGRATION_NOT_FOUND', `no integration "${id}"`);
    return { integration: this.toPublic(this.remember(rec)), token };
  }

  async remove(id: string): Promise<void> {
    await this.mustGet(id);
    const running = this.connectors.get(id);
    this.connectors.delete(id);
    void running?.stop();
    this.states.delete(id);
    this.buckets.delete(id);
    this.forget(id);
    await this.deps.store.remove(id);
  }

  /** Devices integrations named that nobody has registered (yet): registered ones drop out. */
  async unknownDevices(): Promise<(UnknownDevice & { adapter: string; site: string })[]> {
    await this.flush();
    const byId = new Map((await this.deps.store.list()).map((r) => [r.id, r]));
    const out: (UnknownDevice & { adapter: string; site: string })[] = [];
    for (const u of await this.deps.store.listUnknown()) {
      const integ = byId.get(u.integration);
      if (!integ) continue;
      if (this.findDevice(integ, u.ids) !== null) {
        await this.deps.store.forgetUnknown(u.integration, u.ids);
        continue;
      }
      out.push({ ...u, adapter: integ.adapter, site: integ.site });
    }
    return out;
  }

  toPublic(rec: IntegrationRecord): PublicIntegration {
    const adapter = getAdapter(rec.adapter);
    const settings: Record<string, unknown> = { ...(rec.settings as Record<string, unknown>) };
    for (const key of adapter?.secretSettings ?? []) if (settings[key] !== undefined) settings[key] = MASK;
    return {
      id: rec.id,
      adapter: rec.adapter,
      site: rec.site,
      name: rec.name,
      delivery: adapter?.delivery ?? 'push',
      pushPath: adapter?.delivery === 'connector' ? null : `/api/ingest/${rec.adapter}`,
      settings,
      enabled: rec.enabled,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      lastMessageAt: rec.lastMessageAt,
      counts: rec.counts,
      lastError: rec.lastError,
    };
  }

  // ---- the push endpoint ----------------------------------------------------------------------

  /**
   * One push (or a GET URL verification) to `/api/ingest/{adapter}`. Refusals of the whole push
   * answer the code's status with the usual error JSON; per-message outcomes (unknown device,
   * a frame the codec refused, a duplicate) answer 200 with the tally, so a platform does not
   * retry what can never succeed.
   */
  async push(adapterId: string, token: string | undefined, req: PushRequest): Promise<PushAnswer> {
    const adapter = getAdapter(adapterId);
    if (!adapter || adapter.delivery !== 'push') return this.refusal(adapterId, null, 'STW_ERR_ADAPTER_UNKNOWN', `no push adapter "${adapterId.slice(0, 40)}"`);
    const rec = await this.integrationByToken(token);
    // A token of another adapter's integration is as wrong as a made-up one.
    if (!rec || rec.adapter !== adapter.id) return this.refusal(adapter.id, null, 'STW_ERR_INTEGRATION_TOKEN_INVALID', token ? 'no integration of this adapter has that token' : 'no token: add ?token=TOKEN to the push URL or send Authorization: Bearer TOKEN');
    if (!rec.enabled) return this.refusal(adapter.id, rec, 'STW_ERR_INTEGRATION_DISABLED', `integration ${rec.id} is disabled`);
    const bucket = this.bucketOf(rec.id);
    const now = this.deps.clock.now();
    if (!bucket.admits(now)) {
      const answer = this.refusal(adapter.id, rec, 'STW_ERR_INTEGRATION_RATE_LIMITED', `over ${this.deps.config.pushRate.perSecond} pushes/s (burst ${this.deps.config.pushRate.burst})`);
      return { ...answer, retryAfterS: Math.max(1, Math.ceil(1 / this.deps.config.pushRate.perSecond)) };
    }
    bucket.charge(1, now);
    if (req.body.length > this.deps.config.maxPushBytes) return this.refusal(adapter.id, rec, 'STW_ERR_PUSH_TOO_LARGE', `${req.body.length} bytes exceeds ${this.deps.config.maxPushBytes}`);

    const parsed = await this.safeParse(adapter, rec, req);
    if (!parsed.ok) return this.refusal(adapter.id, rec, parsed.code, parsed.message);
    const tally = await this.deliver(rec, adapter, parsed.messages);
    if (parsed.ignored !== undefined) {
      tally.ignored++;
      this.countMessage(adapter.id, 'ignored');
    }
    if (parsed.reply) return { status: parsed.reply.status, contentType: parsed.reply.contentType, body: parsed.reply.body };
    const { accepted, duplicates, unknown, refused, ignored, problems } = tally;
    return {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ accepted, duplicates, unknown, ignored, refused, problems: problems.slice(0, 10), ...(parsed.ignored ? { note: parsed.ignored } : {}) }),
    };
  }

  /** A push whose body could not be read: over `maxPushBytes`, or the connection failed mid-body. */
  async refuseBody(adapterId: string, token: string | undefined, err: unknown): Promise<PushAnswer> {
    const rec = await this.integrationByToken(token);
    const owned = rec !== null && rec.adapter === adapterId ? rec : null;
    const tooLarge = typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'entity.too.large';
    return tooLarge
      ? this.refusal(adapterId, owned, 'STW_ERR_PUSH_TOO_LARGE', `body exceeds ${this.deps.config.maxPushBytes} bytes`)
      : this.refusal(adapterId, owned, 'STW_ERR_PUSH_MALFORMED', 'the body could not be read');
  }

  // ---- cameras heard through an integration --------------------------------------------------

  /** Whether a device is heard through an enabled integration of its site (not our broker). */
  hears(deviceId: string): boolean {
    const device = this.deps.registry.getDevice(deviceId);
    return device !== null && this.integrationHearing(device) !== null;
  }

  /**
   * A command for a device heard through an integration. Only `snapshot` is understood: the
   * answer is a picture that came with a message in the last `pictureMaxAgeS`, or one the
   * adapter fetches (Frigate), announced as `snapshot.received` like a camera's MQTT answer.
   */
  async command(site: string, deviceId: string, command: Record<string, unknown>): Promise<void> {
    const device = this.deps.registry.getDevice(deviceId);
    const found = device === null ? null : this.integrationHearing(device);
    if (device === null || found === null || device.site !== site) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no integration hears "${deviceId}"`);
    if (command.cmd !== 'snapshot' || typeof command.id !== 'string') throw new StoreTwinError('STW_ERR_VALIDATION', `integrations take only snapshot commands (got "${String(command.cmd)}")`);
    const now = this.deps.clock.now();
    const recent = this.pictures.get(device.id);
    let jpeg: Buffer | null = recent !== undefined && now - recent.at <= this.deps.config.pictureMaxAgeS * 1000 ? recent.jpeg : null;
    if (jpeg === null && found.adapter.snapshot) {
      const alarm = typeof command.alarm === 'string' ? await this.deps.alarmOf?.(command.alarm) : null;
      jpeg = await found.adapter.snapshot(
        {
          device: { id: device.id, site: device.site, zone: device.zone, externalIds: device.externalIds },
          ...(alarm ? { alarm: { id: alarm.id, ruleId: alarm.rule, severity: alarm.severity, title: alarm.message.en } } : {}),
        },
        { settings: found.rec.settings, now },
      );
    }
    if (jpeg === null) throw new StoreTwinError('STW_ERR_UPSTREAM_FAILED', `${found.adapter.id} has no picture for "${device.id}"`);
    this.deps.bus.emit('snapshot.received', { site: device.site, device: device.id, commandId: command.id, jpeg, at: new Date(this.deps.clock.now()).toISOString() });
  }

  // ---- the shared path --------------------------------------------------------------------------

  /** Messages from a push or a connector → matched, deduplicated, ingested; counted. */
  private async deliver(rec: IntegrationRecord, adapter: Adapter<unknown>, messages: readonly AdapterMessage[]): Promise<Tally> {
    const tally = emptyTally();
    for (const m of messages) await this.deliverOne(rec, adapter, m, tally);
    if (messages.length > 0 || tally.ignored > 0) {
      const sum = this.pending.counts.get(rec.id) ?? { accepted: 0, duplicates: 0, unknown: 0, refused: 0, at: 0 };
      sum.accepted += tally.accepted;
      sum.duplicates += tally.duplicates;
      sum.unknown += tally.unknown;
      sum.refused += tally.refused;
      sum.at = this.deps.clock.now();
      this.pending.counts.set(rec.id, sum);
    }
    return tally;
  }

  private async deliverOne(rec: IntegrationRecord, adapter: Adapter<unknown>, m: AdapterMessage, tally: Tally): Promise<void> {
    const device = this.findDevice(rec, m.ids) ?? this.fallback(rec, m.fallbackDevice);
    if (device === null) {
      const ids = this.normalizedIds(m.ids);
      this.pending.unknown.push({ integration: rec.id, ids, describe: m.describe, at: this.deps.clock.now() });
      tally.unknown++;
      this.countMessage(adapter.id, 'unknown-device', 'STW_ERR_PUSH_DEVICE_UNKNOWN');
      return;
    }
    if (!device.enabled) {
      this.problem(tally, adapter, 'STW_ERR_DEVICE_DISABLED', `${device.id} is disabled`);
      return;
    }
    const now = this.deps.clock.now();
    if (m.dedupeKey !== undefined && (this.deduper.isDuplicate(device.id, m.dedupeKey, now) || !(await this.claimedHere(device.id, m.dedupeKey, now)))) {
      this.deps.metrics.duplicates.inc();
      tally.duplicates++;
      this.countMessage(adapter.id, 'duplicate');
      return;
    }
    if (m.picture !== undefined && m.picture.length > 3 && m.picture.readUInt16BE(0) === 0xffd8) this.pictures.set(device.id, { jpeg: m.picture, at: now });
    let outcome: IngestOutcome;
    try {
      outcome =
        m.body.kind === 'frame'
          ? await this.deps.ingest.acceptUplink(device, m.body.payload, m.at)
          : m.body.kind === 'events'
            ? await this.deps.ingest.acceptEvents(device, m.body.events, m.at)
            : await this.deps.ingest.acceptPlatformStatus(device, m.body.online);
    } catch (err) {
      if (m.dedupeKey !== undefined) await this.forgetKey(device.id, m.dedupeKey, now);
      throw err;
    }
    if (outcome.refused) {
      // Not stored: a corrected retransmission must get through.
      if (m.dedupeKey !== undefined) await this.forgetKey(device.id, m.dedupeKey, now);
      tally.refused++;
      tally.problems.push({ code: outcome.refused.code, message: `${device.id}: ${outcome.refused.message}` });
      // Ingest counted the refusal under its own layer; here it is counted for the adapter.
      this.deps.metrics.integrationMessages.inc({ adapter: adapter.id, outcome: 'refused', code: outcome.refused.code });
      return;
    }
    if (m.dedupeKey !== undefined) this.pending.keys.push({ device: device.id, key: m.dedupeKey, at: now });
    tally.accepted++;
    tally.duplicates += outcome.duplicates;
    this.countMessage(adapter.id, 'accepted');
  }

  /**
   * A worker of several: whether this worker is the one to take the message. A platform retrying
   * a push may reach another worker behind the load balancer, whose memory has not seen the key;
   * the store has, at once (claimKey is atomic). Alone, the memory is all there is to ask.
   */
  private async claimedHere(device: string, key: string, now: number): Promise<boolean> {
    if (!this.deps.owner) return true;
    try {
      return await this.deps.store.claimKey(device, key, now, now - this.deps.config.dedupeWindowS * 1000);
    } catch (err) {
      // Not taken: the platform's retry must not be a duplicate of it.
      this.deduper.forget(device, key);
      throw err;
    }
  }

  /** A key taken for a message that was not stored, given back so that a corrected retry passes. */
  private async forgetKey(device: string, key: string, at: number): Promise<void> {
    this.deduper.forget(device, key);
    if (this.deps.owner) await this.deps.store.releaseKey(device, key, at).catch((err: unknown) => this.log.warn({ err, device }, 'a retransmission key could not be given back'));
  }

  /** One message's (or push's) outcome in /metrics, by adapter, outcome and refusal code. */
  private countMessage(adapter: string, outcome: 'accepted' | 'duplicate' | 'unknown-device' | 'refused' | 'ignored', code?: ErrorCode): void {
    this.deps.metrics.integrationMessages.inc({ adapter, outcome, code: code ?? '' });
    if (code !== undefined) this.deps.metrics.refuse(code, 'integration');
  }

  private problem(tally: Tally, adapter: Adapter<unknown>, code: ErrorCode, message: string): void {
    this.countMessage(adapter.id, 'refused', code);
    tally.refused++;
    tally.problems.push({ code, message });
  }

  /** The device one of the message's ids names, in the adapter's order — in the integration's site only. */
  private findDevice(rec: IntegrationRecord, ids: Readonly<Partial<Record<ExternalIdKey, string>>>): DeviceRecord | null {
    const adapter = getAdapter(rec.adapter);
    const keys = adapter?.externalIdKeys ?? (Object.keys(ids) as ExternalIdKey[]);
    for (const key of keys) {
      const raw = ids[key];
      if (raw === undefined || raw === '') continue;
      const device = this.deps.registry.findDeviceByExternalId(key, normalizeExternalId(key, raw));
      // Another site's device is as unknown as no device: one site's integration never feeds another's twin.
      if (device !== null && device.site === rec.site) return device;
    }
    return null;
  }

  private fallback(rec: IntegrationRecord, id: string | undefined): DeviceRecord | null {
    if (id === undefined) return null;
    const device = this.deps.registry.getDevice(id);
    return device !== null && device.site === rec.site ? device : null;
  }

  private normalizedIds(ids: Readonly<Partial<Record<ExternalIdKey, string>>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(ids)) if (typeof v === 'string' && v !== '') out[k] = normalizeExternalId(k as ExternalIdKey, v);
    return out;
  }

  private integrationHearing(device: DeviceRecord): { rec: IntegrationRecord; adapter: Adapter<unknown> } | null {
    for (const rec of this.view.values()) {
      if (!rec.enabled || rec.site !== device.site) continue;
      const adapter = getAdapter(rec.adapter);
      if (adapter && adapter.externalIdKeys.some((k) => k !== 'imei' && device.externalIds[k] !== undefined)) return { rec, adapter };
    }
    return null;
  }

  private async safeParse(adapter: Adapter<unknown>, rec: IntegrationRecord, req: PushRequest) {
    const state = this.stateOf(rec.id);
    try {
      return await adapter.parse(req, { settings: rec.settings, state, now: this.deps.clock.now() });
    } catch (err) {
      // The contract says parse never throws; if one does, the push is refused, not the server.
      this.log.error({ err, adapter: adapter.id }, 'adapter threw while parsing');
      return { ok: false as const, code: 'STW_ERR_PUSH_MALFORMED' as const, message: 'the adapter could not read this push' };
    }
  }

  private refusal(adapter: string, rec: IntegrationRecord | null, code: ErrorCode, message: string): PushAnswer {
    this.countMessage(getAdapter(adapter) ? adapter : '(unknown)', 'refused', code);
    if (rec) this.pending.errors.push({ integration: rec.id, code, message, at: this.deps.clock.now() });
    this.log.warn({ code, adapter: adapter.slice(0, 40), integration: rec?.id }, message);
    return { status: ERRORS[code].status, contentType: 'application/json', body: JSON.stringify({ error: { code, message } }) };
  }

  // ---- connectors -----------------------------------------------------------------------------

  /** Whether this worker polls the site's connectors: it holds the site (or is alone). */
  private polls(site: string): boolean {
    return this.deps.owner?.owns(site) ?? true;
  }

  /**
   * A worker of several: a site acquired starts its connectors, once the retransmission keys the
   * previous holder wrote are known (what it polled last is then a duplicate here too); a site
   * lost stops them.
   */
  private followOwner(): void {
    const owner = this.deps.owner;
    if (!owner) return;
    const acquired = (site: string): void => {
      const since = this.deps.clock.now() - this.deps.config.dedupeWindowS * 1000;
      void this.deps.store
        .recentKeys(since)
        .then((keys) => {
          for (const k of keys) this.deduper.remember(k.device, k.key, k.at);
        })
        .catch((err: unknown) => this.log.warn({ err, site }, 'retransmission keys of an acquired site not read; its connectors start without them'))
        .then(() => {
          for (const rec of this.view.values()) if (rec.site === site) this.syncConnector(rec);
        });
    };
    const lost = (site: string): void => {
      for (const rec of this.view.values()) {
        if (rec.site !== site) continue;
        const running = this.connectors.get(rec.id);
        this.connectors.delete(rec.id);
        void running?.stop();
      }
    };
    owner.on('acquired', acquired);
    owner.on('lost', lost);
    this.offOwner.push(
      () => owner.off('acquired', acquired),
      () => owner.off('lost', lost),
    );
  }

  private syncConnector(rec: IntegrationRecord): void {
    if (!this.started || this.connectors.has(rec.id) || !rec.enabled || !this.polls(rec.site)) return;
    const adapter = getAdapter(rec.adapter);
    if (!adapter?.connect) return;
    const log = this.log.child({ integration: rec.id, adapter: adapter.id });
    const connector = adapter.connect({
      integrationId: rec.id,
      site: rec.site,
      settings: rec.settings,
      deliver: async (messages) => {
        const current = this.view.get(rec.id);
        if (!current?.enabled) return;
        await this.deliver(current, adapter, messages);
      },
      parse: async (req) => this.safeParse(adapter, rec, req),
      refuse: (code, message) => {
        this.countMessage(adapter.id, 'refused', code);
        this.pending.errors.push({ integration: rec.id, code, message, at: this.deps.clock.now() });
        log.warn({ code }, message);
      },
      now: () => this.deps.clock.now(),
      logger: log,
    });
    this.connectors.set(rec.id, connector);
    connector.start();
  }

  private restartConnector(rec: IntegrationRecord): void {
    const running = this.connectors.get(rec.id);
    this.connectors.delete(rec.id);
    if (running) {
      void running.stop().then(() => this.syncConnector(this.view.get(rec.id) ?? rec));
      return;
    }
    this.syncConnector(rec);
  }

  // ---- small helpers ---------------------------------------------------------------------------

  private adapterOf(id: string): Adapter<unknown> {
    const adapter = getAdapter(id);
    if (!adapter) throw new StoreTwinError('STW_ERR_ADAPTER_UNKNOWN', `no adapter "${id}"; adapters: ${adapters.map((a) => a.id).join(', ')}`);
    return adapter;
  }

  private validSettings(adapter: Adapter<unknown>, settings: unknown): unknown {
    let parsed: ReturnType<typeof adapter.settingsSchema.safeParse>;
    try {
      parsed = adapter.settingsSchema.safeParse(settings);
    } catch {
      // A refinement that throws on odd input is still the caller's bad settings, never a 500.
      throw new StoreTwinError('STW_ERR_INTEGRATION_SETTINGS_INVALID', `invalid ${adapter.id} settings`);
    }
    if (!parsed.success) {
      throw new StoreTwinError(
        'STW_ERR_INTEGRATION_SETTINGS_INVALID',
        `invalid ${adapter.id} settings: ${describeIssues(parsed.error)}`,
        parsed.error.issues,
      );
    }
    return parsed.data;
  }

  private async mustGet(id: string): Promise<IntegrationRecord> {
    const rec = await this.deps.store.get(id);
    if (!rec) throw new StoreTwinError('STW_ERR_INTEGRATION_NOT_FOUND', `no integration "${id}"`);
    return rec;
  }

  private bucketOf(id: string): TokenBucket {
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(this.deps.config.pushRate, this.deps.clock.now());
      this.buckets.set(id, bucket);
    }
    return bucket;
  }

  private stateOf(id: string): AdapterState {
    let state = this.states.get(id);
    if (!state) {
      state = {};
      this.states.set(id, state);
    }
    return state;
  }
}
