/**
 * Simulates a whole site (or a chosen few devices): one link per device, each device's
 * behaviour from its device type (`DeviceType.simulate`). By default the link is MQTT to any
 * MQTT 3.1.1 broker, exactly as real devices connect (mqtt-transport.ts); a `transport` sends
 * the same behaviour another way (via/: through a platform's wire format). This engine only
 * owns the clock, the devices and the counting. One shared timer drives every device so a
 * 150-device site costs one timer, not 150.
 */
import { z } from 'zod';

import { getDeviceType } from '../devices/index.ts';
import { seededByKey } from '../devices/shared/random.ts';
import type { DeviceCommand, DeviceEvent, DeviceType, PictureRenderer, SimAction, SimOutput, SimulatedDevice } from '../devices/types.ts';
import type { Site } from '../server/sites/model.ts';
import type { Credentials } from './credentials.ts';
import { errorMessage, withTimeout, type DeliveryTotals, type DeviceLink, type LinkMessage, type SentMessage, type SimulatedDeviceSpec, type Transport } from './link.ts';
import { MqttTransport } from './mqtt-transport.ts';

export type { SentMessage, SimulatedDeviceSpec } from './link.ts';

export interface SimulatorStats {
  /** Devices this simulator runs. */
  devices: number;
  /** Devices whose link is up right now (MQTT: connected). */
  connected: number;
  /** Devices that never got a connection accepted (refused credentials, unreachable broker). */
  failed: number;
  /** Devices left to someone else for now (standAside()). */
  yielded: number;
  /** Messages put on the wire (events, snapshots and status). */
  sent: number;
  /** Messages the other end took: MQTT PUBACKs (QoS 1), pushes answered 200. */
  acked: number;
  /** Events a device produced while its link was down; real devices lose them too. */
  dropped: number;
  /** Messages the wire does not carry (a heartbeat to a platform without heartbeats). */
  skipped: number;
  /** Why the last one was skipped. */
  lastSkip?: string;
  errors: number;
  lastError?: string;
  /** Ticks skipped because too many messages were waiting for the other end. */
  stalledTicks: number;
  simTime: Date;
  /** What the other end made of the messages, when it says (a push's accepted/unknown/refused…). */
  delivery?: DeliveryTotals;
}

export interface SiteSimulatorOptions {
  /**
   * mqtt://, mqtts://, ws:// or wss:// (the embedded broker serves WebSocket at /mqtt): the
   * broker the devices connect to, unless `transport` sends them another way.
   */
  url?: string;
  /** How the devices' messages leave (default: MQTT to `url`). */
  transport?: Transport;
  site: Site;
  /** Which devices to simulate; defaults to every placement of the site. */
  devices?: SimulatedDeviceSpec[];
  /** Device id → secret. Absent (or no entry for a device): connect without a password. */
  credentials?: Credentials;
  /** Simulated seconds per real second, 1..3600. */
  speed: number;
  /** Real milliseconds between ticks of the shared clock. */
  tickMs?: number;
  /** Makes the simulated behaviour repeatable; every device gets its own stream from it. */
  seed?: number;
  /** Where cameras render their pictures (SimEnvironment.pictures); default: synchronously. */
  pictures?: PictureRenderer;
  qos?: 0 | 1;
  /** Start of the simulated clock (default: now). */
  startAt?: Date;
  /** Connections opened at once; a broker flooded with CONNECTs refuses or times them out. */
  connectConcurrency?: number;
  /** Called after each tick and whenever a device's connection settles. */
  onProgress?: (stats: SimulatorStats) => void;
  /**
   * Called for every message sent, once its fate is known (acknowledged, answered, or failed:
   * then `failed` says why). The interactive CLI prints them.
   */
  onSent?: (message: SentMessage) => void;
  /** Send each device's boot messages on its first connect (default true). */
  boot?: boolean;
  /** Do not run the clock: devices only answer commands and manual actions (default false). */
  paused?: boolean;
  /** How long one connection attempt may take before it counts as failed (default 10 s). */
  connectTimeoutMs?: number;
  /** How long stop() waits for the other end to take `offline` (default 5 s). */
  stopTimeoutMs?: number;
  /** Resolves device types; defaults to the registered device modules. */
  resolveType?: (typeId: string) => DeviceType | undefined;
  /**
   * People inside a zone when the simulation starts (the twin's occupancy, for the demo after a
   * restart): the zone's counters start with their share of them, who then leave as visitors do.
   */
  occupancy?: (zoneId: string) => number | null | undefined;
}

export class SimulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}

interface DeviceRuntime {
  spec: SimulatedDeviceSpec;
  type: DeviceType;
  sim: SimulatedDevice;
  link?: DeviceLink;
  booted: boolean;
  /** Simulated ms up to which this device has been advanced. */
  advancedTo: number;
  /** Someone else drives the device (standAside()): not connected, not advanced, until resume(). */
  yielded: boolean;
}

/**
 * Messages still waiting for the other end above which the clock holds still. Without it a
 * slow broker at speed 3600 would let the client queues grow without bound; holding the
 * clock instead makes the simulated time honest about what was actually delivered.
 */
const MAX_PENDING_PUBLISHES = 20_000;

/** A command id becomes a topic level (`snapshot/{id}`), so it must not hold `/`, `+` or `#`. */
const commandSchema = z.looseObject({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'command id must be 1-64 of [A-Za-z0-9_.:-]'),
  cmd: z.string().min(1).max(64),
});

export class SiteSimulator {
  private readonly opts: SiteSimulatorOptions;
  private readonly transport: Transport;
  private readonly devices = new Map<string, DeviceRuntime>();
  private timer: NodeJS.Timeout | undefined;
  private simMs: number;
  private running = false;
  private stopping = false;
  private transportStarted = false;
  private counters = { sent: 0, acked: 0, dropped: 0, skipped: 0, errors: 0, stalledTicks: 0, pending: 0 };
  private lastError: string | undefined;
  private lastSkip: string | undefined;

  constructor(options: SiteSimulatorOptions) {
    this.opts = options;
    if (!options.transport && !options.url) throw new SimulatorError('a broker url or a transport is needed');
    this.transport = options.transport ?? new MqttTransport(options.url ?? '');
    this.simMs = (options.startAt ?? new Date()).getTime();
  }

  /**
   * Opens every device's link (bounded concurrency) and starts the clock. Resolves once every
   * device is connected or has failed; failures are counted in stats(). Throws only when no
   * device could connect, when the transport cannot start, or when the device list names an
   * unknown type or zone.
   */
  async start(): Promise<void> {
    if (this.running) throw new SimulatorError('simulator already started');
    const { speed } = this.opts;
    if (!(speed >= 1 && speed <= 3600)) throw new SimulatorError(`speed must be 1..3600, got ${speed}`);
    this.buildDevices();
    try {
      await this.transport.start?.();
    } catch (err) {
      throw new SimulatorError(errorMessage(err), { cause: err });
    }
    this.transportStarted = true;
    this.running = true;
    this.stopping = false;

    const queue = [...this.devices.values()];
    const concurrency = Math.max(1, Math.min(this.opts.connectConcurrency ?? 20, queue.length));
    const worker = async (): Promise<void> => {
      for (let dev = queue.shift(); dev; dev = queue.shift()) {
        if (this.stopping) return;
        await this.connectDevice(dev);
        this.progress();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    // stop() during the connects (Ctrl-C) is a request, not a failure.
    if (this.stopping) return;
    if (this.devices.size > 0 && this.connectedCount() === 0) {
      await this.closeAll();
      this.running = false;
      throw new SimulatorError(`no device could connect to ${this.transport.target}${this.lastError ? `: ${this.lastError}` : ''}`);
    }
    if (!this.opts.paused) {
      this.timer = setInterval(() => this.tick(), this.tickMs());
    }
  }

  /**
   * Stops the clock, says `offline` for every connected device (on MQTT a clean DISCONNECT
   * discards the last will [MQTT-3.1.2-10], so without this the twin would keep showing them
   * online) and closes the links gracefully.
   */
  async stop(options: { publishOffline?: boolean } = {}): Promise<void> {
    if (this.stopping && !this.running) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const publishOffline = options.publishOffline ?? true;
    const timeoutMs = this.opts.stopTimeoutMs ?? 5000;
    await Promise.all(
      [...this.devices.values()].map(async (dev) => {
        const link = dev.link;
        if (!link) return;
        if (link.state === 'connected' && publishOffline) {
          await withTimeout(this.sendOne(dev, { kind: 'status', online: false, why: 'stop' }, { strict: false }), timeoutMs);
        }
        await link.close({ drop: false, timeoutMs });
      }),
    );
    if (this.transportStarted) {
      this.transportStarted = false;
      await this.transport.stop?.();
    }
    this.running = false;
  }

  stats(): SimulatorStats {
    let failed = 0;
    let yielded = 0;
    for (const dev of this.devices.values()) {
      if (dev.link?.state === 'failed') failed++;
      if (dev.yielded) yielded++;
    }
    const { sent, acked, dropped, skipped, errors, stalledTicks } = this.counters;
    const delivery = this.transport.totals?.();
    return {
      devices: this.devices.size,
      connected: this.connectedCount(),
      failed,
      yielded,
      sent,
      acked,
      dropped,
      skipped,
      errors,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastSkip !== undefined ? { lastSkip: this.lastSkip } : {}),
      stalledTicks,
      simTime: new Date(this.simMs),
      ...(delivery ? { delivery } : {}),
    };
  }

  /** Ids of the simulated devices, in connect order. */
  deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  /**
   * A manual action (`open`, `close`, `tamper`, `heartbeat`, `motion`). Resolves with what
   * was sent once the other end took it (MQTT QoS 1: its PUBACK; a push: its answer); an empty
   * list means the device type has no such action, or the wire does not carry what it made.
   * Throws if the device is unknown or not connected, or a message did not get through.
   */
  async act(deviceId: string, action: SimAction): Promise<SentMessage[]> {
    const dev = this.requireDevice(deviceId);
    if (dev.link?.state !== 'connected') throw new SimulatorError(`device ${deviceId} is not connected`);
    const outputs = dev.sim.act(action, new Date(this.simMs));
    return this.sendOutputs(dev, outputs, { strict: true });
  }

  /**
   * Applies an action to the simulated device's state without sending what it produced
   * (e.g. to put a freshly booted door sensor's contact in the state a technician expects).
   * The link may still learn from it (DeviceLink.observe). Returns how many messages were
   * discarded.
   */
  actSilently(deviceId: string, action: SimAction): number {
    const dev = this.requireDevice(deviceId);
    const outputs = dev.sim.act(action, new Date(this.simMs));
    for (const out of outputs) if (out.kind === 'event') dev.link?.observe?.({ kind: 'event', event: out.event, format: out.format });
    return outputs.length;
  }

  /**
   * Makes a device go silent the way a dead battery or a lost radio does: on MQTT the socket is
   * destroyed without DISCONNECT, so the broker publishes the device's last will (`offline`,
   * retained) [MQTT-3.1.2-8]; a platform that reports connectivity reports it offline (what that
   * sent is returned). The device stays silent until setOnline().
   */
  async setOffline(deviceId: string): Promise<SentMessage[]> {
    const dev = this.requireDevice(deviceId);
    const link = dev.link;
    if (!link) return [];
    const sent = link.state === 'connected' ? await this.sendOne(dev, { kind: 'status', online: false, why: 'lost' }, { strict: false }) : undefined;
    await link.close({ drop: true, timeoutMs: this.opts.stopTimeoutMs ?? 5000 });
    this.progress();
    return sent ? [sent] : [];
  }

  /** Reconnects a device taken offline with setOffline(); resolves true once connected. */
  async setOnline(deviceId: string): Promise<boolean> {
    const dev = this.requireDevice(deviceId);
    if (dev.link?.state !== 'offline') return dev.link?.state === 'connected';
    return (await this.connectDevice(dev)) === 'connected';
  }

  /**
   * Leaves the device to someone else (a real client logged in with its credentials, which
   * the broker let take the connection over): stops driving it without a word — no `offline`,
   * no events, no door closing behind the other client — until resume(). The link is dropped
   * rather than closed so it does not reconnect; the broker already closed its connection.
   */
  async standAside(deviceId: string): Promise<void> {
    const dev = this.requireDevice(deviceId);
    if (dev.yielded) return;
    dev.yielded = true;
    await dev.link?.close({ drop: true, timeoutMs: this.opts.stopTimeoutMs ?? 5000 });
    this.progress();
  }

  /**
   * Drives a device again after standAside(): it connects and boots as a device just powered
   * on does (identity, a heartbeat with its state), and its clock starts from now rather than
   * catching up on the time it was left alone. Resolves true once connected.
   */
  async resume(deviceId: string): Promise<boolean> {
    const dev = this.requireDevice(deviceId);
    if (!dev.yielded) return dev.link?.state === 'connected';
    dev.yielded = false;
    if (this.stopping || !this.running) return false;
    dev.booted = false;
    return (await this.connectDevice(dev)) === 'connected';
  }

  /** Whether the device is left to someone else (standAside()). */
  isYielded(deviceId: string): boolean {
    return this.requireDevice(deviceId).yielded;
  }

  // ---------------------------------------------------------------------------------------

  private tickMs(): number {
    return Math.max(10, this.opts.tickMs ?? 1000);
  }

  private buildDevices(): void {
    const { site } = this.opts;
    const specs: SimulatedDeviceSpec[] =
      this.opts.devices ??
      site.devices.map((p) => ({ id: p.id, type: p.type, zone: p.zone, ...(p.label ? { label: p.label } : {}) }));
    const zones = new Map(site.floors.flatMap((f) => f.zones.map((z) => [z.id, z] as const)));
    const openingHours: [number, number] = [hours(site.openingHours.open), hours(site.openingHours.close)];
    const resolve = this.opts.resolveType ?? defaultResolveType;
    const baseSeed = this.opts.seed ?? Math.floor(Math.random() * 2 ** 32);
    const problems: string[] = [];
    this.devices.clear();
    for (const spec of specs) {
      const type = resolve(spec.type);
      const zone = zones.get(spec.zone);
      if (!type) problems.push(`device ${spec.id}: unknown device type "${spec.type}"`);
      if (!zone) problems.push(`device ${spec.id}: site ${site.id} has no zone "${spec.zone}"`);
      if (this.devices.has(spec.id)) problems.push(`device ${spec.id}: listed twice`);
      if (!type || !zone || this.devices.has(spec.id)) continue;
      const sim = type.simulate({
        deviceId: spec.id,
        siteId: site.id,
        zoneId: zone.id,
        zoneKind: zone.kind,
        openingHours,
        label: spec.label ?? spec.id,
        random: seededRandom(`${baseSeed}:${site.id}:${spec.id}`),
        timeZone: site.timezone,
        ...(type.capabilities.includes('count') ? counted(site, spec, zones, (t) => resolve(t)?.capabilities.includes('count') === true, this.opts.occupancy) : {}),
        ...(this.opts.pictures ? { pictures: this.opts.pictures } : {}),
      });
      this.devices.set(spec.id, { spec, type, sim, booted: false, advancedTo: this.simMs, yielded: false });
    }
    if (problems.length > 0) throw new SimulatorError(`cannot simulate site ${site.id}:\n  ${problems.join('\n  ')}`);
  }

  private connectedCount(): number {
    let n = 0;
    for (const dev of this.devices.values()) if (dev.link?.state === 'connected') n++;
    return n;
  }

  private requireDevice(deviceId: string): DeviceRuntime {
    const dev = this.devices.get(deviceId);
    if (!dev) throw new SimulatorError(`device ${deviceId} is not simulated here`);
    return dev;
  }

  private recordError(dev: DeviceRuntime | undefined, message: string): void {
    this.counters.errors++;
    this.lastError = dev ? `${dev.spec.id}: ${message}` : message;
  }

  /** Opens the device's link; resolves at its first outcome (see DeviceLink.ready). */
  private connectDevice(dev: DeviceRuntime): Promise<'connected' | 'failed'> {
    const password = this.opts.credentials?.[dev.spec.id];
    const link: DeviceLink = this.transport.open(
      { id: dev.spec.id, site: this.opts.site.id, type: dev.type, spec: dev.spec },
      {
        // A link replaced by setOnline() no longer speaks for the device.
        connected: () => (dev.link === link ? this.onConnect(dev) : Promise.resolve()),
        changed: () => {
          if (dev.link === link) this.progress();
        },
        command: (payload) => {
          if (dev.link === link) this.onCommand(dev, payload);
        },
        error: (message) => this.recordError(dev, message),
      },
      { ...(password !== undefined ? { password } : {}), connectTimeoutMs: this.opts.connectTimeoutMs ?? 10_000 },
    );
    dev.link = link;
    return link.ready;
  }

  private async onConnect(dev: DeviceRuntime): Promise<void> {
    const now = new Date(this.simMs);
    await this.sendOne(dev, { kind: 'status', online: true, why: 'connect' }, { strict: false });
    if (!dev.booted && (this.opts.boot ?? true)) {
      dev.booted = true;
      dev.advancedTo = this.simMs;
      await this.sendOutputs(dev, dev.sim.boot(now), { strict: false });
    } else if (!dev.booted) {
      dev.booted = true;
      dev.advancedTo = this.simMs;
    }
  }

  private onCommand(dev: DeviceRuntime, payload: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.recordError(dev, 'command is not valid JSON');
      return;
    }
    const parsed = commandSchema.safeParse(json);
    if (!parsed.success) {
      this.recordError(dev, `invalid command: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      return;
    }
    let outputs: SimOutput[];
    try {
      // The picture is stamped with the real time, like the events (and the alarm it answers).
      outputs = dev.sim.command(parsed.data as DeviceCommand, new Date(this.simMs), new Date());
    } catch (err) {
      this.recordError(dev, `command ${parsed.data.cmd} failed: ${errorMessage(err)}`);
      return;
    }
    void this.sendOutputs(dev, outputs, { strict: false });
  }

  private tick(): void {
    if (this.stopping) return;
    if (this.counters.pending > MAX_PENDING_PUBLISHES) {
      this.counters.stalledTicks++;
      this.progress();
      return;
    }
    this.simMs += this.tickMs() * this.opts.speed;
    const now = new Date(this.simMs);
    for (const dev of this.devices.values()) {
      // A device whose link is down is not advanced: when it is back, its first advance
      // covers the whole gap, like a device flushing what it buffered.
      if (dev.link?.state !== 'connected' || !dev.booted) continue;
      const elapsed = this.simMs - dev.advancedTo;
      dev.advancedTo = this.simMs;
      let outputs: SimOutput[];
      try {
        outputs = dev.sim.advance(now, elapsed);
      } catch (err) {
        this.recordError(dev, `simulation failed: ${errorMessage(err)}`);
        continue;
      }
      if (outputs.length > 0) void this.sendOutputs(dev, outputs, { strict: false });
    }
    this.progress();
  }

  /**
   * Sends a device's outputs in order. With `strict`, a failure rejects (manual actions report
   * it); otherwise it is counted and the rest still go out.
   */
  private async sendOutputs(dev: DeviceRuntime, outputs: SimOutput[], mode: { strict: boolean }): Promise<SentMessage[]> {
    const sends: Array<Promise<SentMessage | undefined>> = [];
    for (const out of outputs) {
      let message: LinkMessage;
      if (out.kind === 'event') {
        // The simulated clock drives behaviour (time of day, rates); a device's `ts` is when
        // it really sent, or a sped-up simulation would write events into the future.
        const event: DeviceEvent = out.event.ts === undefined ? out.event : { ...out.event, ts: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
        message = { kind: 'event', event, format: out.format };
      } else if (out.kind === 'raw') {
        message = { kind: 'raw', subtopic: out.subtopic, payload: out.payload };
      } else {
        sends.push(this.sendWhenMade(dev, out.subtopic, out.payload, mode));
        continue;
      }
      sends.push(this.sendOne(dev, message, mode));
    }
    const results = await Promise.all(sends);
    return results.filter((m): m is SentMessage => m !== undefined);
  }

  /** Sends bytes made off this thread (a camera picture) once they are ready. */
  private async sendWhenMade(dev: DeviceRuntime, subtopic: string, payload: Promise<Buffer>, mode: { strict: boolean }): Promise<SentMessage | undefined> {
    let bytes: Buffer;
    try {
      bytes = await payload;
    } catch (err) {
      if (mode.strict) throw err;
      this.recordError(dev, `cannot make ${subtopic}: ${errorMessage(err)}`);
      return undefined;
    }
    return this.sendOne(dev, { kind: 'raw', subtopic, payload: bytes }, mode);
  }

  /**
   * Prepares and delivers one message; resolves with it once the other end took it, undefined
   * when it was skipped, dropped or failed (counted). With `strict`, failures reject instead.
   */
  private async sendOne(dev: DeviceRuntime, message: LinkMessage, mode: { strict: boolean }): Promise<SentMessage | undefined> {
    const link = dev.link;
    let prepared: SentMessage | { skip: string };
    try {
      if (!link) throw new SimulatorError(`device ${dev.spec.id} has no link`);
      prepared = link.prepare(message, this.opts.qos ?? 1);
    } catch (err) {
      if (mode.strict) throw err;
      this.recordError(dev, `cannot encode: ${errorMessage(err)}`);
      return undefined;
    }
    if ('skip' in prepared) {
      this.counters.skipped++;
      this.lastSkip = `${dev.spec.id}: ${prepared.skip}`;
      return undefined;
    }
    if (link.state !== 'connected') {
      if (mode.strict) throw new SimulatorError(`device ${dev.spec.id} is not connected`);
      if (message.kind !== 'status') this.counters.dropped++;
      return undefined;
    }
    this.counters.sent++;
    this.counters.pending++;
    const outcome = await link.deliver(prepared);
    this.counters.pending--;
    this.opts.onSent?.(prepared);
    if (!outcome.ok) {
      this.recordError(dev, outcome.error);
      if (mode.strict) throw new SimulatorError(`device ${dev.spec.id}: ${outcome.error}`);
      return undefined;
    }
    if (prepared.qos === 1 || prepared.answer !== undefined) this.counters.acked++;
    return prepared;
  }

  private progress(): void {
    this.opts.onProgress?.(this.stats());
  }

  private async closeAll(): Promise<void> {
    await Promise.all([...this.devices.values()].map((dev) => dev.link?.close({ drop: true, timeoutMs: 1000 })));
    if (this.transportStarted) {
      this.transportStarted = false;
      await this.transport.stop?.();
    }
  }
}

function defaultResolveType(typeId: string): DeviceType | undefined {
  try {
    return getDeviceType(typeId) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A counter's share of the zone it counts into (its placement's `counts`, else its own zone):
 * of its capacity and of the people inside at the start, split evenly among the site's
 * counters feeding that zone.
 */
function counted(
  site: Site,
  spec: SimulatedDeviceSpec,
  zones: Map<string, { capacity?: number | undefined }>,
  counts: (typeId: string) => boolean,
  occupancy: SiteSimulatorOptions['occupancy'],
): { countsCapacity?: number; countsCrowd?: number } {
  const target = site.devices.find((p) => p.id === spec.id)?.counts ?? spec.zone;
  const feeding = Math.max(1, site.devices.filter((p) => counts(p.type) && (p.counts ?? p.zone) === target).length);
  const capacity = zones.get(target)?.capacity;
  const inside = occupancy?.(target);
  return {
    ...(capacity !== undefined ? { countsCapacity: capacity / feeding } : {}),
    ...(inside ? { countsCrowd: inside / feeding } : {}),
  };
}

/** "09:30" → 9.5; "24:00" → 24. */
function hours(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) + Number(m) / 60;
}

/**
 * A small seeded PRNG (mulberry32) seeded by a string hash (FNV-1a), one stream per device:
 * a device's behaviour then does not depend on which other devices run beside it.
 */
export function seededRandom(key: string): () => number {
  return seededByKey(key);
}
