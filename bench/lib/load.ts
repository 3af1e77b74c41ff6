/**
 * The QoS 1 load generator: one MQTT.js client per device, each keeping `inflight` publishes
 * outstanding (a new one leaves as soon as a PUBACK arrives), for a warm-up and then a measured
 * window. It counts PUBACKs and publish→PUBACK latencies.
 */
import { performance } from 'node:perf_hooks';
import { connect, type MqttClient } from 'mqtt';
import { uplinkTopic } from './devices.ts';

export interface LoadDevice {
  id: string;
  /** MQTT password; the reference broker ignores it. */
  secret?: string;
}

export interface LoadOptions {
  mqttUrl: string;
  devices: readonly LoadDevice[];
  inflight: number;
  warmupS: number;
  seconds: number;
  /** Called when the measured window opens (sample the server here). */
  onWindowStart?: () => void;
  /** Called when the measured window closes, while the load is still on (sample the server here). */
  onWindowEnd?: () => void;
  /** How long outstanding publishes may take to be acknowledged after the load stops. */
  drainTimeoutMs?: number;
}

export interface LoadResult {
  /** PUBACKs per second in the measured window. */
  rate: number;
  /** PUBACKs in the measured window. */
  windowAcks: number;
  windowSeconds: number;
  /** Publish→PUBACK latency of the window's PUBACKs, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Every PUBACK of the run, warm-up and drain included. */
  totalAcks: number;
  totalPublished: number;
  /** Publishes still unacknowledged when the drain timed out (0 when all came back). */
  unacked: number;
  /** Client errors and unexpected disconnects; a clean run has none. */
  errors: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sorted sample's q-quantile (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

async function connectDevice(mqttUrl: string, device: LoadDevice): Promise<MqttClient> {
  const client = connect(mqttUrl, {
    clientId: device.id,
    username: device.id,
    password: device.secret ?? '',
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error(`${device.id}: connection closed before CONNACK`)));
  });
  client.removeAllListeners('error');
  client.removeAllListeners('close');
  return client;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const clients = await Promise.all(opts.devices.map((d) => connectDevice(opts.mqttUrl, d)));
  const errors: string[] = [];
  let running = true;
  let measuring = false;
  let totalAcks = 0;
  let totalPublished = 0;
  let outstanding = 0;
  let windowAcks = 0;
  // Grows by doubling; a plain number[] of a few hundred thousand boxed values costs more GC.
  let latencies = new Float64Array(1 << 16);
  let drained: (() => void) | null = null;

  const record = (ms: number): void => {
    if (windowAcks === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[windowAcks++] = ms;
  };

  clients.forEach((client, i) => {
    const id = opts.devices[i]!.id;
    const topic = uplinkTopic(id);
    let seq = 0;
    let inflight = 0;
    client.on('error', (err) => errors.push(`${id}: ${err.message}`));
    client.on('close', () => {
      if (running) errors.push(`${id}: disconnected during the run`);
    });
    const pump = (): void => {
      while (running && inflight < opts.inflight && client.connected) {
        seq++;
        const payload = JSON.stringify({ type: 'door', state: 'open', seq });
        const sent = performance.now();
        inflight++;
        outstanding++;
        totalPublished++;
        client.publish(topic, payload, { qos: 1 }, (err) => {
          inflight--;
          outstanding--;
          if (err) {
            errors.push(`${id}: ${err.message}`);
          } else {
            totalAcks++;
            if (measuring) record(performance.now() - sent);
          }
          if (running) pump();
          else if (outstanding === 0) drained?.();
        });
      }
    };
    pump();
  });

  await sleep(opts.warmupS * 1000);
  opts.onWindowStart?.();
  measuring = true;
  const start = performance.now();
  await sleep(opts.seconds * 1000);
  measuring = false;
  const windowSeconds = (performance.now() - start) / 1000;
  opts.onWindowEnd?.();
  running = false;

  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drained = resolve;
      timer = setTimeout(resolve, opts.drainTimeoutMs ?? 10_000);
    });
    clearTimeout(timer);
  }
  const unacked = outstanding;
  await Promise.all(clients.map((c) => c.endAsync(true)));

  const sorted = latencies.subarray(0, windowAcks).sort();
  return {
    rate: windowAcks / windowSeconds,
    windowAcks,
    windowSeconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    totalAcks,
    totalPublished,
    unacked,
    errors,
  };
}
