/**
 * Ingest throughput: QoS 1 publishes per second StoreTwin acknowledges — each PUBACK after a
 * durable SQLite commit — against Debian's Mosquitto relaying the same load to one subscriber,
 * and bare aedes acknowledging with nothing subscribed, all in the same run on the same machine.
 * The load comes from the raw-socket generator (pre-encoded packets, `inflight` per device).
 *
 *   npx tsx bench/ingest.bench.ts [--clients 20] [--inflight 32] [--seconds 10] [--warmup 2] [--rounds 3] [--payload heartbeat|door-open] [--quick]
 *
 * `--payload door-open` sends door openings instead of periodic reports: in armed rooms (the
 * demo hotel arms its guest rooms at night, site time) each is an intrusion alarm's repeat,
 * so that run measures an alarm storm — and depends on the hour.
 *   (or BENCH_CLIENTS, BENCH_INFLIGHT, …)
 *
 * Rounds interleave the three brokers so drift on a shared machine lands on all of them;
 * medians are reported and the ratio StoreTwin/Mosquitto is the figure to compare across
 * machines. After each StoreTwin round the server is SIGKILLed and its database opened: every
 * acknowledged event must be there.
 */
import { openSqliteStorage } from '../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { startMosquitto } from '../tests/helpers/mosquitto.ts';
import { cpuSeconds, rssBytes, startChild } from './lib/child.ts';
import { benchDeviceId, uplinkTopic } from './lib/devices.ts';
import { positiveOption } from './lib/options.ts';
import { DOOR_OPEN_PAYLOAD, HEARTBEAT_PAYLOAD, runRawLoad, type LoadResult, type RawLoadDevice } from './lib/raw-load.ts';
import { connectClient, encodeSubscribe, PacketReader, PUBLISH } from './lib/raw-mqtt.ts';
import { describeMachine, fmt, mb, median, quickRequested, writeResult } from './lib/report.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

interface Options {
  clients: number;
  inflight: number;
  seconds: number;
  warmup: number;
  rounds: number;
  payload: keyof typeof PAYLOADS;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' },
      inflight: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      payload: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  if (values.payload !== undefined && !(values.payload in PAYLOADS)) throw new Error(`--payload: one of ${Object.keys(PAYLOADS).join(', ')}`);
  const quick = quickRequested();
  const pick = (name: keyof Options, fallback: number, integer: boolean): number => positiveOption(values, name, fallback, integer);
  return {
    clients: pick('clients', 20, true),
    inflight: pick('inflight', 32, true),
    seconds: pick('seconds', quick ? 2 : 10, false),
    warmup: pick('warmup', quick ? 1 : 2, false),
    rounds: pick('rounds', quick ? 1 : 3, true),
    payload: (values.payload ?? 'heartbeat') as keyof typeof PAYLOADS,
  };
}

const PAYLOADS = { heartbeat: HEARTBEAT_PAYLOAD, 'door-open': DOOR_OPEN_PAYLOAD } as const;

type Side = 'mosquitto' | 'aedes' | 'storetwin';

interface Measurement {
  load: LoadResult;
  /** Broker RSS at the end of the measured window. */
  rssBytes: number;
  /** Broker CPU (user + system) per PUBACK in the measured window, µs. */
  cpuUsPerAck: number;
  /** Mosquitto: messages the subscriber received in the window, per second. */
  relayedRate?: number;
  /** StoreTwin: rows in the events table after the kill. */
  stored?: number;
}

async function measure(pid: () => number, port: number, devices: RawLoadDevice[], opts: Options, onWindow?: (open: boolean) => void): Promise<Measurement> {
  let cpuStart = 0;
  let cpuEnd = 0;
  let rss = 0;
  const load = await runRawLoad({
    port,
    devices,
    inflight: opts.inflight,
    warmupS: opts.warmup,
    seconds: opts.seconds,
    payload: PAYLOADS[opts.payload],
    onWindowStart: () => {
      cpuStart = cpuSeconds(pid());
      onWindow?.(true);
    },
    onWindowEnd: () => {
      cpuEnd = cpuSeconds(pid());
      rss = rssBytes(pid());
      onWindow?.(false);
    },
  });
  return { load, rssBytes: rss, cpuUsPerAck: ((cpuEnd - cpuStart) / load.windowAcks) * 1e6 };
}

const anonymousDevices = (opts: Options): RawLoadDevice[] =>
  Array.from({ length: opts.clients }, (_, i) => ({ clientId: benchDeviceId(i), topic: uplinkTopic(benchDeviceId(i)) }));

async function runMosquitto(opts: Options): Promise<Measurement> {
  // Queue whatever the subscriber has not read yet rather than drop it: the relay is the work.
  const broker = await startMosquitto({}, { config: ['max_queued_messages 0', 'max_inflight_messages 0'] });
  try {
    const subscriber = await connectClient(broker.port, { clientId: 'bench-subscriber' });
    let relayed = 0;
    let counting = false;
    const reader = new PacketReader((type) => {
      if (type === PUBLISH && counting) relayed++;
    });
    subscriber.on('data', (chunk: Buffer) => reader.push(chunk));
    subscriber.write(encodeSubscribe('storetwin/#', 0));
    await new Promise((resolve) => setTimeout(resolve, 200));
    let windowStart = 0;
    let relayedRate = 0;
    const m = await measure(() => broker.pid, broker.port, anonymousDevices(opts), opts, (open) => {
      if (open) {
        counting = true;
        windowStart = performance.now();
      } else {
        counting = false;
        relayedRate = relayed / ((performance.now() - windowStart) / 1000);
      }
    });
    subscriber.destroy();
    return { ...m, relayedRate };
  } finally {
    await broker.close();
  }
}

async function runAedes(opts: Options): Promise<Measurement> {
  const child = await startChild<{ mqttUrl: string }>(path.join(FIXTURES, 'aedes-broker.ts'));
  try {
    return await measure(() => child.pid, Number(new URL(child.info.mqttUrl).port), anonymousDevices(opts), opts);
  } finally {
    await child.kill();
  }
}

async function runStoreTwin(opts: Options): Promise<Measurement> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-bench-'));
  try {
    const child = await startChild<{ mqttUrl: string; secrets: Record<string, string> }>(path.join(FIXTURES, 'storetwin-server.ts'), [
      dataDir,
      String(opts.clients),
    ]);
    let result: Measurement;
    try {
      const devices = Object.entries(child.info.secrets).map(([id, secret]) => ({ clientId: id, username: id, password: secret, topic: uplinkTopic(id) }));
      result = await measure(() => child.pid, Number(new URL(child.info.mqttUrl).port), devices, opts);
    } finally {
      // SIGKILL, not a clean stop: an acknowledged event must survive a crash, not just a shutdown.
      await child.kill();
    }
    const storage = openSqliteStorage(path.join(dataDir, 'storetwin.db'));
    try {
      const row = storage.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM events WHERE type IN ('heartbeat', 'door') AND device LIKE 'bench-door-%'").get();
      result.stored = row?.n ?? 0;
    } finally {
      storage.close();
    }
    return result;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function describe(side: Side, round: number, m: Measurement): string {
  const l = m.load;
  const extra =
    (m.relayedRate !== undefined ? `  relayed ${fmt(m.relayedRate)}/s` : '') +
    (m.stored !== undefined ? `  stored ${fmt(m.stored)}/${fmt(l.totalAcks)} acked` : '') +
    (l.errors.length || l.unacked ? `  errors ${l.errors.length} unacked ${l.unacked}` : '');
  return (
    `  round ${round} ${side.padEnd(9)} ${fmt(l.rate).padStart(8)} acks/s  p50 ${fmt(l.p50Ms, 2)} ms  p99 ${fmt(l.p99Ms, 2)} ms` +
    `  rss ${fmt(mb(m.rssBytes), 1)} MB  cpu ${fmt(m.cpuUsPerAck, 2)} µs/ack${extra}`
  );
}

const opts = readOptions();
const began = performance.now();
console.log('StoreTwin ingest benchmark: QoS 1 publish → PUBACK, raw-socket generator');
console.log(describeMachine());
console.log(
  `load: ${opts.clients} devices × ${opts.inflight} in flight, ${opts.warmup} s warm-up + ${opts.seconds} s measured, ${opts.rounds} round(s), brokers interleaved`,
);
console.log('reference: Mosquitto (Debian) relaying every message to one QoS 0 subscriber; bare aedes acking with nothing subscribed');
console.log('subject:   StoreTwin (auth, decode, dedupe, durable SQLite commit before PUBACK, twin, rules)');
console.log(`payload:   ${PAYLOADS[opts.payload]}${opts.payload === 'heartbeat' ? ' (a door sensor’s periodic report)' : ' (door openings: an alarm storm in armed rooms)'}`);

const runs: Record<Side, Measurement[]> = { mosquitto: [], aedes: [], storetwin: [] };
const runners: Record<Side, (o: Options) => Promise<Measurement>> = { mosquitto: runMosquitto, aedes: runAedes, storetwin: runStoreTwin };
for (let round = 1; round <= opts.rounds; round++) {
  for (const side of ['mosquitto', 'aedes', 'storetwin'] as const) {
    const m = await runners[side](opts);
    runs[side].push(m);
    console.log(describe(side, round, m));
  }
}

const summary = (side: Side) => ({
  acksPerSecond: median(runs[side].map((m) => m.load.rate)),
  p50Ms: median(runs[side].map((m) => m.load.p50Ms)),
  p99Ms: median(runs[side].map((m) => m.load.p99Ms)),
  rssMB: median(runs[side].map((m) => mb(m.rssBytes))),
  cpuUsPerAck: median(runs[side].map((m) => m.cpuUsPerAck)),
});
const figures = {
  mosquitto: { ...summary('mosquitto'), relayedPerSecond: median(runs.mosquitto.map((m) => m.relayedRate ?? 0)) },
  aedes: summary('aedes'),
  storetwin: summary('storetwin'),
  ratioToMosquitto: 0,
  ratioToAedes: 0,
  storedAllAcked: runs.storetwin.every((m) => (m.stored ?? 0) >= m.load.totalAcks),
};
figures.ratioToMosquitto = figures.storetwin.acksPerSecond / figures.mosquitto.acksPerSecond;
figures.ratioToAedes = figures.storetwin.acksPerSecond / figures.aedes.acksPerSecond;

console.log(`\nmedians of ${opts.rounds} round(s)`);
console.log(`${''.padEnd(12)}${'acks/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'RSS MB'.padStart(10)}${'µs/ack'.padStart(10)}`);
for (const side of ['mosquitto', 'aedes', 'storetwin'] as const) {
  const s = figures[side];
  console.log(
    `${side.padEnd(12)}${fmt(s.acksPerSecond).padStart(10)}${fmt(s.p50Ms, 2).padStart(10)}${fmt(s.p99Ms, 2).padStart(10)}${fmt(s.rssMB, 1).padStart(10)}${fmt(s.cpuUsPerAck, 2).padStart(10)}`,
  );
}
console.log(`\nStoreTwin / Mosquitto relay: ${fmt(figures.ratioToMosquitto, 2)}×   StoreTwin / bare aedes: ${fmt(figures.ratioToAedes, 2)}×`);

const errors = Object.values(runs).flatMap((ms) => ms.flatMap((m) => m.load.errors));
if (errors.length > 0) {
  console.log(`client errors: ${errors.length}, first: ${errors.slice(0, 3).join('; ')}`);
  process.exitCode = 1;
}
const acked = runs.storetwin.reduce((n, m) => n + m.load.totalAcks, 0);
const stored = runs.storetwin.reduce((n, m) => n + (m.stored ?? 0), 0);
console.log(`stored >= acked: ${figures.storedAllAcked ? 'yes' : 'no'} (${fmt(stored)} rows for ${fmt(acked)} PUBACKs, each run checked after SIGKILL)`);
if (!figures.storedAllAcked) process.exitCode = 1;
console.log(`results: ${path.relative(process.cwd(), writeResult('ingest', opts, figures))}`);
console.log(`total time ${fmt((performance.now() - began) / 1000, 1)} s`);
