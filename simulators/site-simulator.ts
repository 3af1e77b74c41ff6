/**
 * Simulates a whole site (or a chosen few devices) against any MQTT 3.1.1 broker: one
 * MQTT connection per device, exactly as real devices connect (client id = username =
 * device id, password = its secret, a retained `offline` last will), so the broker's
 * authentication, authorisation and presence handling are exercised for real.
 *
 * What each device sends comes from its device type (`DeviceType.simulate`); this engine
 * only owns the clock, the connections and the counting. One shared timer drives every
 * device so a 150-device site costs one timer, not 150.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';

import { getDeviceType } from '../devices/index.ts';
import { seededByKey } from '../devices/shared/random.ts';
import type {
  DeviceCommand,
  DeviceEvent,
  DeviceType,
  SimAction,
  SimOutput,
  SimulatedDevice,
} from '../devices/types.ts';
import type { Site } from '../server/sites/model.ts';
import type { Credentials } from './credentials.ts';

export interface SimulatedDeviceSpec {
  id: string;
  /** Device type id, e.g. `door-sensor`. */
  type: string;
  zone: string;
  label?: string;
}

/** One message a simulated device put on the wire. */
export interface SentMessage {
  deviceId: string;
  topic: string;
  payload: Buffer;
  /** The event, for messages on `up`. */
  event?: DeviceEvent;
  retain: boolean;
  qos: 0 | 1;
}

export interface SimulatorStats {
  /** Devices this simulator runs. */
  devices: number;
  /** Devices whose MQTT connection is up right now. */
  connected: number;
  /** Devices that never got a connection accepted (refused credentials, unreachable broker). */
  failed: number;
  /** PUBLISH packets handed to the clients (events, snapshots and status). */
  sent: number;
  /** QoS 1 publishes the broker acknowledged (PUBACK). */
  acked: number;
  /** Events a device produced while its connection was down; real devices lose them too. */
  dropped: number;
  errors: number;
  lastError?: string;
  /** Ticks skipped because too many publishes were waiting for the broker. */
  stalledTicks: number;
  simTime: Date;
}

export interface SiteSimulatorOptions {
  /** mqtt://, mqtts://, ws:// or wss:// (the embedded broker serves WebSocket at /mqtt). */
  url: string;
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
  qos?: 0 | 1;
  /** Start of the simulated clock (default: now). */
  startAt?: Date;
  /** Connections opened at once; a broker flooded with CONNECTs refuses or times them out. */
  connectConcurrency?: number;
  /** Called after each tick and whenever a device's connection settles. */
  onProgress?: (stats: SimulatorStats) => void;
  /** Called for every message sent (the interactive CLI prints them). */
  onSent?: (message: SentMessage) => void;
  /** Send each device's boot messages on its first connect (default true). */
  boot?: boolean;
  /** Do not run the clock: devices only answer commands and manual actions (default false). */
  paused?: boolean;
  /** How long one connection attempt may take before it counts as failed (default 10 s). */
  connectTimeoutMs?: number;
  /** How long stop() waits for the broker to acknowledge `offline` (default 5 s). */
  stopTimeoutMs?: number;
  /** Resolves device types; defaults to the registered device modules. */
  resolveType?: (typeId: string) => DeviceType | undefined;
}

export class SimulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}

type DeviceState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'offline' | 'stopped';

interface DeviceRuntime {
  spec: SimulatedDeviceSpec;
  type: DeviceType;
  sim: SimulatedDevice;
  /** `storetwin/{site}/{device}` */
  base: string;
  client?: MqttClient;
  state: DeviceState;
  booted: boolean;
  /** Simulated ms up to which this device has been advanced. */
  advancedTo: number;
}

/** MQTT 3.1.1 CONNACK return codes that retrying cannot fix [MQTT-3.2.2.3]. */
const PERMANENT_CONNACK_CODES = new Set([1, 2, 4, 5]);
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

/**
 * Publishes still waiting for the broker above which the clock holds still. Without it a
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
  private readonly devices = new Map<string, DeviceRuntime>();
  private timer: NodeJS.Timeout | undefined;
  private simMs: number;
  private running = false;
  private stopping = false;
  private counters = { sent: 0, acked: 0, dropped: 0, errors: 0, stalledTicks: 0, pending: 0 };
  private lastError: string | undefined;

  constructor(options: SiteSimulatorOptions) {
    this.opts = options;
    this.simMs = (options.startAt ?? new Date()).getTime();
  }

  /**
   * Connects every device (bounded concurrency) and starts the clock. Resolves once every
   * device is connected or has failed; failures are counted in stats(). Throws only when no
   * device could connect, or when the device list names an unknown type or zone.
   */
  async start(): Promise<void> {
    if (this.running) throw new SimulatorError('simulator already started');
    const { speed } = this.opts;
    if (!(speed >= 1 && speed <= 3600)) throw new SimulatorError(`speed must be 1..3600, got ${speed}`);
    this.buildDevices();
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
      throw new SimulatorError(
        `no device could connect to ${this.opts.url}${this.lastError ? `: ${this.lastError}` : ''}`,
      );
    }
    if (!this.opts.paused) {
      this.timer = setInterval(() => this.tick(), this.tickMs());
    }
  }

  /**
   * Stops the clock, publishes retained `offline` for every connected device (a clean
   * DISCONNECT discards the last will [MQTT-3.1.2-10], so without this the twin would keep
   * showing them online) and ends the clients gracefully.
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
        const client = dev.client;
        if (!client) return;
        if (client.connected && publishOffline) {
          await withTimeout(this.publish(dev, `${dev.base}/status`, Buffer.from('offline'), { retain: true, qos: 1 }), timeoutMs);
        }
        dev.state = 'stopped';
        await withTimeout(endClient(client, !client.connected), timeoutMs);
        // A graceful end that timed out (broker gone) must not leave a socket open.
        if (!client.disconnected) client.end(true);
      }),
    );
    this.running = false;
  }

  stats(): SimulatorStats {
    let failed = 0;
    for (const dev of this.devices.values()) if (dev.state === 'failed') failed++;
    const { sent, acked, dropped, errors, stalledTicks } = this.counters;
    return {
      devices: this.devices.size,
      connected: this.connectedCount(),
      failed,
      sent,
      acked,
      dropped,
      errors,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      stalledTicks,
      simTime: new Date(this.simMs),
    };
  }

  /** Ids of the simulated devices, in connect order. */
  deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  /**
   * A manual action (`open`, `close`, `tamper`, `heartbeat`, `motion`). Resolves with what
   * was sent once the broker acknowledged it (QoS 1); an empty list means the device type
   * has no such action. Throws if the device is unknown or not connected.
   */
  async act(deviceId: string, action: SimAction): Promise<SentMessage[]> {
    const dev = this.requireDevice(deviceId);
    if (!dev.client?.connected) throw new SimulatorError(`device ${deviceId} is not connected`);
    const outputs = dev.sim.act(action, new Date(this.simMs));
    return this.sendOutputs(dev, outputs, { strict: true });
  }

  /**
   * Applies an action to the simulated device's state without sending what it produced
   * (e.g. to put a freshly booted door sensor's contact in the state a technician expects).
   * Returns how many messages were discarded.
   */
  actSilently(deviceId: string, action: SimAction): number {
    const dev = this.requireDevice(deviceId);
    return dev.sim.act(action, new Date(this.simMs)).length;
  }

  /**
   * Makes a device go silent the way a dead battery or a lost radio does: the socket is
   * destroyed without DISCONNECT, so the broker publishes the device's last will
   * (`offline`, retained) [MQTT-3.1.2-8]. The device stays silent until setOnline().
   */
  async setOffline(deviceId: string): Promise<void> {
    const dev = this.requireDevice(deviceId);
    dev.state = 'offline';
    const client = dev.client;
    if (!client) return;
    // end(true) destroys the stream without a DISCONNECT packet and suppresses reconnects.
    await endClient(client, true);
  }

  /** Reconnects a device taken offline with setOffline(); resolves true once connected. */
  async setOnline(deviceId: string): Promise<boolean> {
    const dev = this.requireDevice(deviceId);
    if (dev.state !== 'offline') return dev.client?.connected ?? false;
    return (await this.connectDevice(dev)) === 'connected';
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
      });
      this.devices.set(spec.id, {
        spec,
        type,
        sim,
        base: `storetwin/${site.id}/${spec.id}`,
        state: 'idle',
        booted: false,
        advancedTo: this.simMs,
      });
    }
    if (problems.length > 0) throw new SimulatorError(`cannot simulate site ${site.id}:\n  ${problems.join('\n  ')}`);
  }

  private connectedCount(): number {
    let n = 0;
    for (const dev of this.devices.values()) if (dev.client?.connected) n++;
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

  /**
   * Opens the device's connection. Resolves at the first outcome: `connected` (after its
   * cmd subscription and `online` were acknowledged, so a command sent right after start()
   * is not lost) or `failed`. A refused CONNACK ends the client for good; a network failure
   * leaves mqtt.js retrying every reconnectPeriod, and a later success counts as connected.
   */
  private connectDevice(dev: DeviceRuntime): Promise<'connected' | 'failed'> {
    const { id } = dev.spec;
    const password = this.opts.credentials?.[id];
    const clientOptions: IClientOptions = {
      // MQTT 3.1.1: the embedded aedes broker speaks nothing newer.
      protocolVersion: 4,
      clientId: id,
      username: id,
      ...(password !== undefined ? { password } : {}),
      keepalive: 60,
      reconnectPeriod: 2000,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      clean: true,
      will: { topic: `${dev.base}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    dev.state = 'connecting';
    const client = mqtt.connect(this.opts.url, clientOptions);
    dev.client = client;

    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: 'connected' | 'failed'): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };

      client.on('connect', () => {
        if (dev.client !== client) return;
        void this.onConnect(dev, client).then(
          () => settle('connected'),
          (err: unknown) => {
            this.recordError(dev, errorMessage(err));
            settle(client.connected ? 'connected' : 'failed');
          },
        );
      });
      client.on('error', (err) => {
        if (dev.client !== client) return;
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'number' && PERMANENT_CONNACK_CODES.has(code)) {
          this.recordError(dev, `connection refused: ${CONNACK_REASONS[code] ?? `return code ${code}`}`);
          dev.state = 'failed';
          client.end(true);
          settle('failed');
          return;
        }
        this.recordError(dev, errorMessage(err));
      });
      client.on('close', () => {
        // A client replaced by setOnline() must not touch the device's new state.
        if (dev.client !== client) return settle('failed');
        if (dev.state === 'connected') dev.state = 'reconnecting';
        if (!settled && dev.state !== 'offline' && dev.state !== 'stopped') {
          // First attempt failed on the network level; mqtt.js keeps retrying in the background.
          dev.state = 'failed';
          settle('failed');
        }
        if (settled) this.progress();
      });
      client.on('end', () => settle('failed'));
      client.on('message', (topic, payload) => this.onMessage(dev, topic, payload));
    });
  }

  private async onConnect(dev: DeviceRuntime, client: MqttClient): Promise<void> {
    dev.state = 'connected';
    const now = new Date(this.simMs);
    // Subscriptions are not kept with clean sessions [MQTT-3.1.2-6]; mqtt.js resubscribes
    // on reconnect, so subscribing on each connect only costs one SUBACK.
    const granted = await client.subscribeAsync(`${dev.base}/cmd`, { qos: 1 });
    if (granted.some((g) => g.qos === 128)) this.recordError(dev, `broker refused subscription to ${dev.base}/cmd`);
    // Retained so that whoever subscribes later learns the presence; it also replaces a
    // will the broker may have published while this device was away.
    await this.publish(dev, `${dev.base}/status`, Buffer.from('online'), { retain: true, qos: 1 });
    if (!dev.booted && (this.opts.boot ?? true)) {
      dev.booted = true;
      dev.advancedTo = this.simMs;
      await this.sendOutputs(dev, dev.sim.boot(now), { strict: false });
    } else if (!dev.booted) {
      dev.booted = true;
      dev.advancedTo = this.simMs;
    }
  }

  private onMessage(dev: DeviceRuntime, topic: string, payload: Buffer): void {
    if (topic !== `${dev.base}/cmd`) return;
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
      // A device whose connection is down is not advanced: when it is back, its first
      // advance covers the whole gap, like a device flushing what it buffered.
      if (!dev.client?.connected || !dev.booted) continue;
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
   * Encodes and publishes a device's outputs in order. With `strict`, a failure rejects
   * (manual actions report it); otherwise it is counted and the rest still go out.
   */
  private async sendOutputs(dev: DeviceRuntime, outputs: SimOutput[], mode: { strict: boolean }): Promise<SentMessage[]> {
    const qos = this.opts.qos ?? 1;
    const sends: Array<Promise<SentMessage | undefined>> = [];
    for (const out of outputs) {
      let topic: string;
      let payload: Buffer;
      let event: DeviceEvent | undefined;
      try {
        if (out.kind === 'event') {
          topic = `${dev.base}/up`;
          // The simulated clock drives behaviour (time of day, rates); a device's `ts` is when
          // it really sent, or a sped-up simulation would write events into the future.
          event = out.event.ts === undefined ? out.event : { ...out.event, ts: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
          payload = dev.type.encode(event, out.format);
        } else {
          topic = `${dev.base}/${out.subtopic}`;
          payload = out.payload;
        }
      } catch (err) {
        if (mode.strict) throw err;
        this.recordError(dev, `cannot encode: ${errorMessage(err)}`);
        continue;
      }
      if (!dev.client?.connected) {
        if (mode.strict) throw new SimulatorError(`device ${dev.spec.id} is not connected`);
        this.counters.dropped++;
        continue;
      }
      const message: SentMessage = { deviceId: dev.spec.id, topic, payload, retain: false, qos, ...(event ? { event } : {}) };
      sends.push(
        this.publish(dev, topic, payload, { retain: false, qos, ...(event ? { event } : {}) }).then((ok) => {
          if (!ok && mode.strict) throw new SimulatorError(`device ${dev.spec.id}: publish to ${topic} failed: ${this.lastError ?? ''}`);
          return ok ? message : undefined;
        }),
      );
    }
    const results = await Promise.all(sends);
    return results.filter((m): m is SentMessage => m !== undefined);
  }

  /** Publishes one message; resolves true when written (QoS 0) or acknowledged (QoS 1). */
  private publish(
    dev: DeviceRuntime,
    topic: string,
    payload: Buffer,
    opts: { retain: boolean; qos: 0 | 1; event?: DeviceEvent },
  ): Promise<boolean> {
    const client = dev.client;
    if (!client) return Promise.resolve(false);
    this.counters.sent++;
    this.counters.pending++;
    if (this.opts.onSent) {
      const { retain, qos, event } = opts;
      this.opts.onSent({ deviceId: dev.spec.id, topic, payload, retain, qos, ...(event ? { event } : {}) });
    }
    return new Promise((resolve) => {
      client.publish(topic, payload, { qos: opts.qos, retain: opts.retain }, (err) => {
        this.counters.pending--;
        if (err) {
          this.recordError(dev, `publish to ${topic} failed: ${err.message}`);
          resolve(false);
          return;
        }
        if (opts.qos === 1) this.counters.acked++;
        resolve(true);
      });
    });
  }

  private progress(): void {
    this.opts.onProgress?.(this.stats());
  }

  private async closeAll(): Promise<void> {
    await Promise.all(
      [...this.devices.values()].map(async (dev) => {
        dev.state = dev.state === 'failed' ? 'failed' : 'stopped';
        if (dev.client) await endClient(dev.client, true);
      }),
    );
  }
}

function defaultResolveType(typeId: string): DeviceType | undefined {
  try {
    return getDeviceType(typeId) ?? undefined;
  } catch {
    return undefined;
  }
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

function endClient(client: MqttClient, force: boolean): Promise<void> {
  // With reconnectPeriod 0 a forced end fails the publishes still waiting for a PUBACK
  // (mqtt.js flushes them) instead of keeping their callbacks, and the act() awaiting them,
  // pending forever.
  if (force) client.options.reconnectPeriod = 0;
  return new Promise((resolve) => {
    client.end(force, {}, () => resolve());
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
