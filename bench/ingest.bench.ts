/**
 * Ingest throughput: QoS 1 publishes per second a StoreTwin server acknowledges — each PUBACK
 * following a durable SQLite group commit — against bare aedes on the same machine, in the
 * same run. Both brokers run in a child process; the load generator runs here.
 *
 *   npx tsx bench/ingest.bench.ts [--clients 50] [--inflight 16] [--seconds 10] [--warmup 2] [--rounds 3]
 *   (or BENCH_CLIENTS, BENCH_INFLIGHT, BENCH_SECONDS, BENCH_WARMUP, BENCH_ROUNDS)
 *
 * Rounds alternate reference and subject so that drift on a shared machine (other jobs, CPU
 * frequency) lands on both sides; medians are reported, and the ratio subject/reference is the
 * figure to compare across machines. With MQTT.js on 2 cores the generator itself is often the
 * bottleneck of the reference: the server's CPU time per message says more about cost.
 * At the end, every subject's database is opened after a SIGKILL and its rows counted: each
 * acknowledged event must be there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openSqliteStorage } from '../server/storage/sqlite/index.ts';
import { cpuSeconds, rssBytes, startChild, type Child } from './lib/child.ts';
import { benchDeviceId } from './lib/devices.ts';
import { runLoad, type LoadDevice, type LoadResult } from './lib/load.ts';
import { positiveOption } from './lib/options.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const REFERENCE_FIXTURE = path.join(FIXTURES, 'aedes-broker.ts');
const SUBJECT_FIXTURE = path.join(FIXTURES, 'storetwin-server.ts');

interface Options {
  clients: number;
  inflight: number;
  seconds: number;
  warmup: number;
  rounds: number;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' },
      inflight: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const pick = (name: keyof Options, fallback: number, integer: boolean): number => positiveOption(values, name, fallback, integer);
  return {
    clients: pick('clients', 50, true),
    inflight: pick('inflight', 16, true),
    seconds: pick('seconds', 10, false),
    warmup: pick('warmup', 2, false),
    rounds: pick('rounds', 3, true),
  };
}

interface Measurement {
  load: LoadResult;
  /** Broker RSS at the end of the measured window, and its growth since before the clients connected. */
  rssBytes: number;
  rssGrowthBytes: number;
  /** Broker CPU (user + system) per PUBACK in the measured window, µs. */
  cpuUsPerAck: number;
  /** Subject only: rows in the events table after the kill. */
  stored?: number;
}

/** Runs the load against a started child and samples it; the caller kills the child. */
async function measure(child: Child<{ mqttUrl: string }>, devices: LoadDevice[], opts: Options): Promise<Measurement> {
  let cpuStart = 0;
  let cpuEnd = 0;
  let rss = 0;
  // Node + tsx alone hold ~100 MB: the growth under load is the broker's own share.
  const rssIdle = rssBytes(child.pid);
  const load = await runLoad({
    mqttUrl: child.info.mqttUrl,
    devices,
    inflight: opts.inflight,
    warmupS: opts.warmup,
    seconds: opts.seconds,
    onWindowStart: () => (cpuStart = cpuSeconds(child.pid)),
    onWindowEnd: () => {
      cpuEnd = cpuSeconds(child.pid);
      rss = rssBytes(child.pid);
    },
  });
  return { load, rssBytes: rss, rssGrowthBytes: rss - rssIdle, cpuUsPerAck: ((cpuEnd - cpuStart) / load.windowAcks) * 1e6 };
}

async function runReference(opts: Options): Promise<Measurement> {
  const child = await startChild<{ mqttUrl: string }>(REFERENCE_FIXTURE);
  try {
    const devices = Array.from({ length: opts.clients }, (_, i) => ({ id: benchDeviceId(i) }));
    return await measure(child, devices, opts);
  } finally {
    await child.kill();
  }
}

async function runSubject(opts: Options): Promise<Measurement> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-bench-'));
  try {
    const child = await startChild<{ mqttUrl: string; secrets: Record<string, string> }>(SUBJECT_FIXTURE, [dataDir, String(opts.clients)]);
    let result: Measurement;
    try {
      const devices = Object.entries(child.info.secrets).map(([id, secret]) => ({ id, secret }));
      result = await measure(child, devices, opts);
    } finally {
      // SIGKILL, not a clean stop: an acknowledged event must survive a crash, not just a shutdown.
      await child.kill();
    }
    const storage = openSqliteStorage(path.join(dataDir, 'storetwin.db'));
    try {
      const row = storage.db
        .prepare<[], { n: number }>("SELECT count(*) AS n FROM events WHERE type = 'door' AND device LIKE 'bench-door-%'")
        .get();
      result.stored = row?.n ?? 0;
    } finally {
      storage.close();
    }
    return result;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const mb = (bytes: number): number => bytes / (1024 * 1024);

function describe(side: string, round: number, m: Measurement): string {
  const l = m.load;
  const stored = m.stored === undefined ? '' : `  stored ${fmt(m.stored)}/${fmt(l.totalAcks)} acked`;
  const trouble = l.errors.length || l.unacked ? `  errors ${l.errors.length} unacked ${l.unacked}` : '';
  return (
    `  round ${round} ${side.padEnd(9)} ${fmt(l.rate).padStart(8)} acks/s  p50 ${fmt(l.p50Ms, 2)} ms  p99 ${fmt(l.p99Ms, 2)} ms` +
    `  rss ${fmt(mb(m.rssBytes), 1)} MB (+${fmt(mb(m.rssGrowthBytes), 1)})  cpu ${fmt(m.cpuUsPerAck, 1)} µs/ack${stored}${trouble}`
  );
}

const opts = readOptions();
const began = performance.now();
const cpus = os.cpus();
console.log('StoreTwin ingest benchmark: QoS 1 publish → PUBACK');
console.log(
  `machine: ${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), node ${process.version}, ${os.platform()} ${os.release()}, ` +
    `load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}`,
);
console.log(
  `load: ${opts.clients} clients × ${opts.inflight} in flight, ${opts.warmup} s warm-up + ${opts.seconds} s measured, ${opts.rounds} rounds ` +
    '(reference and subject interleaved, each broker in a child process)',
);
console.log('reference: bare aedes, no hooks, in-memory persistence');
console.log('subject:   StoreTwin server (auth, ingest, durable SQLite group commit before PUBACK)');

const reference: Measurement[] = [];
const subject: Measurement[] = [];
for (let round = 1; round <= opts.rounds; round++) {
  const ref = await runReference(opts);
  reference.push(ref);
  console.log(describe('reference', round, ref));
  const sub = await runSubject(opts);
  subject.push(sub);
  console.log(describe('storetwin', round, sub));
}

interface Column {
  name: string;
  value: (m: Measurement) => number;
  digits: number;
}
const columns: Column[] = [
  { name: 'acks/s', value: (m) => m.load.rate, digits: 0 },
  { name: 'p50 ms', value: (m) => m.load.p50Ms, digits: 2 },
  { name: 'p99 ms', value: (m) => m.load.p99Ms, digits: 2 },
  { name: 'RSS MB', value: (m) => mb(m.rssBytes), digits: 1 },
  { name: 'ΔRSS MB', value: (m) => mb(m.rssGrowthBytes), digits: 1 },
  { name: 'CPU µs/ack', value: (m) => m.cpuUsPerAck, digits: 1 },
];
const refMedians = columns.map((c) => median(reference.map(c.value)));
const subMedians = columns.map((c) => median(subject.map(c.value)));
const cell = (text: string): string => text.padStart(12);

console.log(`\nmedians of ${opts.rounds} rounds`);
console.log(''.padEnd(22) + columns.map((c) => cell(c.name)).join(''));
console.log('reference (aedes)'.padEnd(22) + refMedians.map((v, i) => cell(fmt(v, columns[i]!.digits))).join(''));
console.log('subject (storetwin)'.padEnd(22) + subMedians.map((v, i) => cell(fmt(v, columns[i]!.digits))).join(''));
console.log('ratio subject/ref'.padEnd(22) + subMedians.map((v, i) => cell(`${fmt(v / refMedians[i]!, 2)}×`)).join(''));
console.log(`\nthroughput ratio subject/reference: ${fmt(subMedians[0]! / refMedians[0]!, 2)}`);

const errors = [...reference, ...subject].flatMap((m) => m.load.errors);
if (errors.length > 0) {
  console.log(`client errors: ${errors.length}, first: ${errors.slice(0, 3).join('; ')}`);
  process.exitCode = 1;
}
const acked = subject.reduce((n, m) => n + m.load.totalAcks, 0);
const stored = subject.reduce((n, m) => n + (m.stored ?? 0), 0);
const allStored = subject.every((m) => (m.stored ?? 0) >= m.load.totalAcks);
console.log(`stored >= acked: ${allStored ? 'yes' : 'no'} (${fmt(stored)} rows for ${fmt(acked)} PUBACKs over ${subject.length} runs, each checked after SIGKILL)`);
if (!allStored) process.exitCode = 1;
console.log(`total time ${fmt((performance.now() - began) / 1000, 1)} s`);
