/**
 * The MQTT wire: one connection per device, exactly as real StoreTwin devices connect (client
 * id = username = device id, password = its secret, a retained `offline` last will), so the
 * broker's authentication, authorisation and presence handling are exercised for real. The
 * connection is a socket to `target`, or a stream the caller makes (the demo's in-process
 * connections to the embedded broker, which then knows them from real devices).
 */
import type { Duplex } from 'node:stream';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';

import type { DeviceType } from '../devices/types.ts';
import { errorMessage, withTimeout, type DeviceLink, type LinkHooks, type LinkMessage, type LinkState, type OpenOptions, type SentMessage, type SimulatedDeviceSpec, type Transport } from './link.ts';

/** MQTT 3.1.1 CONNACK return codes that retrying cannot fix [MQTT-3.2.2.3]. */
const PERMANENT_CONNACK_CODES = new Set([1, 2, 4, 5]);
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

export class MqttTransport implements Transport {
  /**
   * @param target the broker's URL, or (with `stream`) what stands for it in messages.
   * @param stream a new connection to the broker for each (re)connect, instead of a socket.
   */
  constructor(
    readonly target: string,
    private readonly stream?: () => Duplex,
  ) {}

  open(device: { id: string; site: string; type: DeviceType; spec: SimulatedDeviceSpec }, hooks: LinkHooks, options: OpenOptions): DeviceLink {
    return new MqttLink(this.stream ?? this.target, device.id, `storetwin/${device.site}/${device.id}`, device.type, hooks, options);
  }
}

class MqttLink implements DeviceLink {
  state: LinkState = 'connecting';
  readonly ready: Promise<'connected' | 'failed'>;
  private readonly client: MqttClient;

  constructor(
    url: string | (() => Duplex),
    private readonly deviceId: string,
    /** `storetwin/{site}/{device}` */
    private readonly base: string,
    private readonly type: DeviceType,
    private readonly hooks: LinkHooks,
    options: OpenOptions,
  ) {
    const clientOptions: IClientOptions = {
      // MQTT 3.1.1: the embedded aedes broker speaks nothing newer.
      protocolVersion: 4,
      clientId: deviceId,
      username: deviceId,
      ...(options.password !== undefined ? { password: options.password } : {}),
      keepalive: 60,
      reconnectPeriod: 2000,
      connectTimeout: options.connectTimeoutMs,
      clean: true,
      will: { topic: `${base}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    this.client = typeof url === 'string' ? mqtt.connect(url, clientOptions) : new MqttClient(url, clientOptions);
    this.ready = this.watch();
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Resolves at the first outcome: `connected` (after its cmd subscription and `online` were
   * acknowledged, so a command sent right after start() is not lost) or `failed`. A refused
   * CONNACK ends the client for good; a network failure leaves mqtt.js retrying every
   * reconnectPeriod, and a later success counts as connected.
   */
  private watch(): Promise<'connected' | 'failed'> {
    const { client, hooks } = this;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: 'connected' | 'failed'): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };

      client.on('connect', () => {
        void this.onConnect().then(
          () => settle('connected'),
          (err: unknown) => {
            hooks.error(errorMessage(err));
            settle(client.connected ? 'connected' : 'failed');
          },
        );
      });
      client.on('error', (err) => {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'number' && PERMANENT_CONNACK_CODES.has(code)) {
          hooks.error(`connection refused: ${CONNACK_REASONS[code] ?? `return code ${code}`}`);
          this.state = 'failed';
          client.end(true);
          settle('failed');
          return;
        }
        hooks.error(errorMessage(err));
      });
      client.on('close', () => {
        if (this.state === 'connected') this.state = 'reconnecting';
        if (!settled && this.state !== 'offline' && this.state !== 'stopped') {
          // First attempt failed on the network level; mqtt.js keeps retrying in the background.
          this.state = 'failed';
          settle('failed');
        }
        if (settled) hooks.changed();
      });
      client.on('end', () => settle('failed'));
      client.on('message', (topic, payload) => {
        if (topic === `${this.base}/cmd`) hooks.command(payload);
      });
    });
  }

  private async onConnect(): Promise<void> {
    this.state = 'connected';
    // Subscriptions are not kept with clean sessions [MQTT-3.1.2-6]; mqtt.js resubscribes
    // on reconnect, so subscribing on each connect only costs one SUBACK.
    const granted = await this.client.subscribeAsync(`${this.base}/cmd`, { qos: 1 });
    if (granted.some((g) => g.qos === 128)) this.hooks.error(`broker refused subscription to ${this.base}/cmd`);
    await this.hooks.connected();
  }

  prepare(message: LinkMessage, qos: 0 | 1): SentMessage | { skip: string } {
    const deviceId = this.deviceId;
    switch (message.kind) {
      case 'event':
        return { deviceId, topic: `${this.base}/up`, payload: this.type.encode(message.event, message.format), event: message.event, retain: false, qos };
      case 'raw':
        return { deviceId, topic: `${this.base}/${message.subtopic}`, payload: message.payload, retain: false, qos };
      case 'status':
        // A device that vanishes says nothing: its last will says it for it [MQTT-3.1.2-8].
        if (message.why === 'lost') return { skip: 'the broker publishes the last will' };
        // Retained, so whoever subscribes later learns the presence; `online` also replaces a
        // will the broker may have published while this device was away.
        return { deviceId, topic: `${this.base}/status`, payload: Buffer.from(message.online ? 'online' : 'offline'), retain: true, qos: 1 };
    }
  }

  deliver(message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }> {
    return new Promise((resolve) => {
      this.client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (err) => {
        if (err) {
          const error = `publish to ${message.topic} failed: ${err.message}`;
          message.failed = error;
          resolve({ ok: false, error });
          return;
        }
        resolve({ ok: true });
      });
    });
  }

  async close(options: { drop: boolean; timeoutMs: number }): Promise<void> {
    this.state = options.drop ? 'offline' : 'stopped';
    // end(true) destroys the stream without a DISCONNECT packet and suppresses reconnects.
    await withTimeout(endClient(this.client, options.drop || !this.client.connected), options.timeoutMs);
    // A graceful end that timed out (broker gone) must not leave a socket open.
    if (!this.client.disconnected) this.client.end(true);
  }
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
