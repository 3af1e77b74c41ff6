/**
 * The raw-socket QoS 1 load generator: each device keeps `inflight` pre-encoded publishes
 * outstanding; the PUBACKs of one socket read are answered with one write carrying as many new
 * publishes (same packet ids, next sequence numbers). Counts PUBACKs and publish→PUBACK
 * latencies in a measured window after a warm-up, then drains.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { quantile } from './report.ts';
import { connectClient, mapLimit, PacketReader, PUBACK, PublishTemplate, type Credentials } from './raw-mqtt.ts';

/** What a run of the generator measured. */
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

export interface RawLoadDevice extends Credentials {
  topic: string;
}

export interface RawLoadOptions {
  port: number;
  devices: readonly RawLoadDevice[];
  inflight: number;
  warmupS: number;
  seconds: number;
  /** The payload, with `{seq}` where each message's sequence number goes. */
  payload?: string;
  /**
   * Open loop: publish this many messages per second in total (spread over the devices, each
   * still holding at most `inflight`) instead of as many as the broker acknowledges.
   */
  ratePerSecond?: number;
  /** Ends the measured window early when it resolves. */
  stop?: Promise<void>;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  drainTimeoutMs?: number;
}

/**
 * What a door sensor sends most: its periodic report (battery, radio, contact). Ingest runs it
 * through decode, dedupe, the commit, the twin and the rules (silence timers, battery
 * thresholds) without raising alarms, so the figure is the same at any hour; the alarm path
 * under load is bench/alarm-latency.bench.ts.
 */
export const HEARTBEAT_PAYLOAD = '{"type":"heartbeat","battery":3.61,"rsrp":-97,"snr":8,"door":"closed","seq":{seq}}';

/** A door opening, again and again: at night, in armed rooms, every one an intrusion alarm's repeat (an alarm storm). */
export const DOOR_OPEN_PAYLOAD = '{"type":"door","state":"open","seq":{seq}}';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runRawLoad(opts: RawLoadOptions): Promise<LoadResult> {
  if (opts.inflight < 1 || opts.inflight > 65_535) throw new Error('inflight must be 1..65535');
  const sockets = await mapLimit(opts.devices, 64, (d) => connectClient(opts.port, d));
  const errors: string[] = [];
  let running = true;
  let measuring = false;
  let totalAcks = 0;
  let totalPublished = 0;
  let outstanding = 0;
  let windowAcks = 0;
  let latencies = new Float64Array(1 << 18);
  let drained: (() => void) | null = null;

  const record = (ms: number): void => {
    if (windowAcks === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[windowAcks++] = ms;
  };

  const senders = sockets.map((socket: net.Socket, index) => {
    const device = opts.devices[index]!;
    const template = new PublishTemplate(device.topic, opts.payload ?? HEARTBEAT_PAYLOAD);
    // Packet ids 1..inflight; sentAt[id] is when it last left, `free` holds the ids not in flight.
    const sentAt = new Float64Array(opts.inflight + 1);
    const free: number[] = Array.from({ length: opts.inflight }, (_, i) => opts.inflight - i);
    let seq = 0;

    /** Sends up to `count` publishes on ids now free; returns how many left. */
    const send = (count: number): number => {
      const n = Math.min(count, free.length);
      if (n === 0) return 0;
      const out = Buffer.allocUnsafe(n * template.length);
      const now = performance.now();
      for (let i = 0; i < n; i++) {
        const id = free.pop()!;
        template.writeInto(out, i * template.length, id, ++seq);
        sentAt[id] = now;
      }
      outstanding += n;
      totalPublished += n;
      socket.write(out);
      return n;
    };

    const reader = new PacketReader((type, _flags, body) => {
      if (type !== PUBACK) return;
      const id = (body[0]! << 8) | body[1]!;
      outstanding--;
      totalAcks++;
      if (measuring) record(performance.now() - sentAt[id]!);
      free.push(id);
    });
    socket.on('data', (chunk: Buffer) => {
      const before = free.length;
      reader.push(chunk);
      // Closed loop: every acknowledged id leaves again at once.
      if (running && opts.ratePerSecond === undefined && free.length > before) send(free.length);
      if (!running && outstanding === 0) drained?.();
    });
    socket.on('error', (err) => errors.push(`${device.clientId}: ${err.message}`));
    socket.on('close', () => {
      if (running) errors.push(`${device.clientId}: disconnected during the run`);
    });
    return send;
  });

  let pacer: NodeJS.Timeout | undefined;
  if (opts.ratePerSecond === undefined) {
    for (const send of senders) send(opts.inflight);
  } else {
    const rate = opts.ratePerSecond;
    const began = performance.now();
    let next = 0;
    pacer = setInterval(() => {
      let due = Math.floor(((performance.now() - began) / 1000) * rate) - totalPublished;
      // Round robin, one message per device per pass: the load is spread like real devices'.
      for (let stuck = 0; due > 0 && stuck < senders.length; next = (next + 1) % senders.length) {
        if (senders[next]!(1) === 1) {
          due--;
          stuck = 0;
        } else stuck++;
      }
    }, 2);
  }

  await sleep(opts.warmupS * 1000);
  opts.onWindowStart?.();
  measuring = true;
  const start = performance.now();
  await Promise.race([sleep(opts.seconds * 1000), ...(opts.stop ? [opts.stop] : [])]);
  measuring = false;
  const windowSeconds = (performance.now() - start) / 1000;
  opts.onWindowEnd?.();
  running = false;
  clearInterval(pacer);

  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drained = resolve;
      timer = setTimeout(resolve, opts.drainTimeoutMs ?? 10_000);
    });
    clearTimeout(timer);
  }
  const unacked = outstanding;
  for (const socket of sockets) socket.destroy();

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
