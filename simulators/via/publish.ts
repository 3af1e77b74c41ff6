/**
 * Subscribed device systems (a Frigate NVR): the simulator is Frigate. It connects once to the
 * MQTT broker Frigate would publish to (`--frigate-mqtt`) and publishes each rendered message on
 * `{topicPrefix}/events` (Frigate's `mqtt.topic_prefix`, default `frigate`), as Frigate does for
 * a newly tracked object. The Frigate integration subscribed to the same broker hears it.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { PushRequest } from '../../server/integrations/adapters/types.ts';
import type { DeliveryTotals, SentMessage } from '../link.ts';
import type { ViaWire } from './link.ts';

export interface PublishWireOptions {
  /** The broker: mqtt://[user:password@]host:port */
  url: string;
  /** Topic the messages go to, e.g. `frigate/events`. */
  topic: string;
  qos: 0 | 1;
  connectTimeoutMs?: number;
}

export class PublishWire implements ViaWire {
  private client: MqttClient | undefined;
  private readonly counts = { published: 0 };

  constructor(private readonly options: PublishWireOptions) {}

  /** Connects, or throws with the broker's reason (refused, unreachable). */
  async start(): Promise<void> {
    const client = mqtt.connect(this.options.url, {
      // Frigate's own client id is `frigate`; a suffix keeps a real Frigate on the same broker connected.
      clientId: `frigate-sim-${randomBytes(3).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => reject(err);
        client.once('connect', () => {
          client.off('error', fail);
          resolve();
        });
        client.once('error', fail);
        // Unreachable: mqtt.js closes and keeps retrying without an error event.
        const timer = setTimeout(() => reject(new Error('no answer in time')), this.options.connectTimeoutMs ?? 10_000);
        client.once('connect', () => clearTimeout(timer));
        client.once('error', () => clearTimeout(timer));
      });
    } catch (err) {
      client.end(true);
      throw new Error(`cannot connect to the Frigate broker ${redact(this.options.url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.client = client;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync();
  }

  get target(): string {
    return `${redact(this.options.url)} ${this.options.topic}`;
  }

  totals(): DeliveryTotals {
    return { label: 'frigate', counts: { ...this.counts } };
  }

  deliver(_deviceId: string, request: PushRequest, message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }> {
    const client = this.client;
    if (!client) return Promise.resolve({ ok: false, error: 'not connected to the Frigate broker' });
    return new Promise((resolve) => {
      client.publish(this.options.topic, request.body, { qos: this.options.qos, retain: false }, (err) => {
        if (err) {
          message.failed = `publish to ${this.options.topic} failed: ${err.message}`;
          resolve({ ok: false, error: message.failed });
          return;
        }
        this.counts.published++;
        message.answer = this.options.qos === 1 ? 'PUBACK' : 'written';
        resolve({ ok: true });
      });
    });
  }
}

/** The broker URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
