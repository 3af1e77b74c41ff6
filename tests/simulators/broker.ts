/**
 * A real MQTT broker for simulator tests: raw aedes on an ephemeral port, with whatever
 * hooks a test passes, and a plain mqtt.js subscriber that records what reaches the broker.
 * No mocked clients: the simulators' MQTT behaviour (wills, retained status, PUBACKs) is
 * exactly what is under test.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';

export interface TestBroker {
  broker: Aedes;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startBroker(options: AedesOptions = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    broker,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Received {
  topic: string;
  payload: Buffer;
  /** True only for retained messages delivered on subscribe [MQTT-3.3.1-9]. */
  retain: boolean;
}

/** An mqtt.js client on `storetwin/#` (or the given filter) that keeps every message. */
export class Recorder {
  readonly messages: Received[] = [];
  private waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m: Received = { topic, payload: Buffer.from(payload), retain: packet.retain };
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url: string, filter = 'storetwin/#'): Promise<Recorder> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `recorder-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
    const recorder = new Recorder(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return recorder;
  }

  /** The first message (already received or still to come) that matches. */
  waitFor(match: (m: Received) => boolean, timeoutMs = 10_000, what = 'message'): Promise<Received> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (m: Received): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Retained messages on `filter` as a fresh subscriber sees them: topic → payload text. */
export async function retained(url: string, filter: string, expected: number, timeoutMs = 5000): Promise<Map<string, string>> {
  const recorder = await Recorder.connect(url, filter);
  const deadline = Date.now() + timeoutMs;
  while (recorder.messages.filter((m) => m.retain).length < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  // Give a straggler a moment so that "more than expected" is noticed too.
  await new Promise((r) => setTimeout(r, 50));
  await recorder.close();
  return new Map(recorder.messages.filter((m) => m.retain).map((m) => [m.topic, m.payload.toString()]));
}
