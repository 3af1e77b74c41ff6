/**
 * One device flooding (issue 9, item 7): what it does to everyone else. Probe door sensors
 * publish at a steady, realistic pace and their publish→PUBACK latency is measured
 *   - with no flood (the reference, measured in the same run),
 *   - while one door sensor floods with arrays of 32 events (the most one message may carry),
 *     450 QoS 1 messages in flight, under the default rate budgets (the subject),
 *   - the same flood with the door sensors' rate budget lifted (what the budget prevents).
 * The server, the flooder and the probes are three processes, so neither the flood's own
 * client work nor the probes' share an event loop with the server. The flooder runs at the
 * lowest CPU priority (nice 19), standing in for a device on its own hardware: on a small
 * machine its own CPU would otherwise show up as server latency.
 *
 *   npx tsx bench/flood.bench.ts [--probes 20] [--interval 500] [--inflight 450] [--seconds 10] [--warmup 2] [--rounds 3] [--no-unlimited]
 *   (or BENCH_PROBES, BENCH_INTERVAL, BENCH_INFLIGHT, BENCH_SECONDS, BENCH_WARMUP, BENCH_ROUNDS)
 *
 * Rounds interleave the scenarios so drift on a shared machine lands on all of them; medians
 * are reported, and the ratios flood/no-flood are the figures to compare across machines.
 * Every probe event PUBACKed must be stored (checked in the database after SIGKILL).
 */
import { openSqliteStorage } from '../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import { MAX_EVENTS_PER_MESSAGE } from '../devices/shared/json.ts';
import { createApp } from '../server/app.ts';
import { testConfig } from '../tests/helpers/app.ts';

import { cpuSeconds, startChild, type Child } from './lib/child.ts';
import { BENCH_SITE, benchZone, uplinkTopic } from './lib/devices.ts';
import { positiveOption } from './lib/options.ts';
import { fmt, median, quantile } from './lib/report.ts';

const FLOODER = 'flood-door';
const probeId = (i: number): string => `probe-door-${String(i).padStart(3, '0')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `n` door events numbered from `firstSeq`, built as text: the flooder shares the machine with
 * the server, and JSON.stringify of 32 objects per message would spend its CPU, not the server's.
 */
function doorBatch(n: number, firstSeq: number): string {
  const items: string[] = [];
  for (let seq = firstSeq; seq < firstSeq + n; seq++) items.push(`{"type":"door","state":"${seq % 2 ? 'open' : 'closed'}","seq":${seq}}`);
  return `[${items.join(',')}]`;
}

async function connectDevice(mqttUrl: string, id: string, secret: string): Promise<MqttClient> {
  const client = connect(mqttUrl, { clientId: id, username: id, password: secret, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 30_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

// ---------------------------------------------------------------------------------------------
// Child roles: the server and the flooder run this same file in their own processes.

interface ServerInfo {
  mqttUrl: string;
  httpUrl: string;
  secrets: Record<string, string>;
}

/** `--serve DATA_DIR PROBES budget|unlimited`: a StoreTwin server with the devices registered. */
async function serve(args: string[]): Promise<void> {
  const [dataDir, probesArg, mode] = args;
  const probes = Number(probesArg);
  if (!dataDir || !Number.isInteger(probes) || (mode !== 'budget' && mode !== 'unlimited')) throw new Error('usage: --serve DATA_DIR PROBES budget|unlimited');
  const lifted = { perSecond: 1e9, burst: 1e9 };
  const app = await createApp(
    testConfig(dataDir, {
      ingest: mode === 'unlimited' ? { rateBudgets: { 'door-sensor': lifted } } : {},
    }),
  );
  const { mqttUrl, httpUrl } = await app.listen();
  const ids = [FLOODER, ...Array.from({ length: probes }, (_, i) => probeId(i))];
  const registered = await Promise.all(
    ids.map(async (id, i) => [id, (await app.devices.register({ id, site: BENCH_SITE, type: 'door-sensor', zone: benchZone(i) })).secret] as const),
  );
  process.stdout.write(JSON.stringify({ mqttUrl, httpUrl, secrets: Object.fromEntries(registered) } satisfies ServerInfo) + '\n');
}

/** `--flood MQTT_URL SECRET INFLIGHT`: one door sensor sending full batches as fast as PUBACKs return. */
async function flood(args: string[]): Promise<void> {
  const [mqttUrl, secret, inflightArg] = args;
  const inflight = Number(inflightArg);
  if (!mqttUrl || secret === undefined || !Number.isInteger(inflight)) throw new Error('usage: --flood MQTT_URL SECRET INFLIGHT');
  const client = await connectDevice(mqttUrl, FLOODER, secret);
  client.on('error', () => undefined);
  let seq = 0;
  let outstanding = 0;
  const pump = (): void => {
    while (client.connected && outstanding < inflight) {
      outstanding++;
      const payload = doorBatch(MAX_EVENTS_PER_MESSAGE, seq);
      seq += MAX_EVENTS_PER_MESSAGE;
      client.publish(uplinkTopic(FLOODER), payload, { qos: 1 }, () => {
        outstanding--;
        pump();
      });
    }
  };
  pump();
  process.stdout.write('{}\n');
}

// ---------------------------------------------------------------------------------------------
// The orchestrator: probes here, server and flooder in children.

interface Options {
  probes: number;
  interval: number;
  inflight: number;
  seconds: number;
  warmup: number;
  rounds: number;
  unlimited: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      probes: { type: 'string' },
      interval: { type: 'string' },
      inflight: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      'no-unlimited': { type: 'boolean' },
    },
  });
  const pick = (name: 'probes' | 'interval' | 'inflight' | 'seconds' | 'warmup' | 'rounds', fallback: number, integer: boolean): number => positiveOption(values, name, fallback, integer);
  return {
    probes: pick('probes', 20, true),
    // 2 events/s per probe: brisk for a door sensor, inside its 5/s budget.
    interval: pick('interval', 500, true),
    inflight: pick('inflight', 450, true),
    seconds: pick('seconds', 10, false),
    warmup: pick('warmup', 2, false),
    rounds: pick('rounds', 3, true),
    unlimited: !values['no-unlimited'],
  };
}

type Scenario = 'no flood' | 'flood, budgets' | 'flood, unlimited';

interface Measurement {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  /** Probe PUBACKs that never came back before the drain timeout. */
  unacked: number;
  /** Probe PUBACKs received. */
  probeAcked: number;
  probeStored: number;
  /** Events of the flooder stored, and its messages refused as rate limited, in the whole run. */
  floodStored: number;
  floodRefused: number;
  /** Flood events stored per second of the run. */
  floodStoredPerS: number;
  /** Server and flooder CPU (user + system) over the measured window, as a share of one core. */
  serverCpu: number;
  flooderCpu: number;
  /** Flood messages refused as rate limited per second of the measured window. */
  refusedPerS: number;
}

async function refusedCount(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('storetwin_refusals_total{') && l.includes('code="STW_ERR_DEVICE_RATE_LIMITED"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function runScenario(scenario: Scenario, opts: Options): Promise<Measurement> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-flood-'));
  const self = import.meta.filename;
  const server = await startChild<ServerInfo>(self, ['--serve', dataDir, String(opts.probes), scenario === 'flood, unlimited' ? 'unlimited' : 'budget']);
  let flooder: Child<unknown> | null = null;
  const probes: MqttClient[] = [];
  try {
    const { secrets, mqttUrl, httpUrl } = server.info;
    for (let i = 0; i < opts.probes; i++) probes.push(await connectDevice(mqttUrl, probeId(i), secrets[probeId(i)]!));
    const runStart = performance.now();
    if (scenario !== 'no flood') {
      flooder = await startChild(self, ['--flood', mqttUrl, secrets[FLOODER]!, String(opts.inflight)]);
      os.setPriority(flooder.pid, 19);
    }

    // Probes publish round-robin on a timer, not after each PUBACK: a slow server shows as
    // latency, not as fewer samples.
    const latencies: number[] = [];
    let measuring = false;
    let sent = 0;
    let acked = 0;
    let next = 0;
    const seqs = new Array<number>(opts.probes).fill(0);
    const timer = setInterval(() => {
      const i = next++ % opts.probes;
      const seq = (seqs[i] ?? 0) + 1;
      seqs[i] = seq;
      const t0 = performance.now();
      const inWindow = measuring;
      sent++;
      probes[i]!.publish(uplinkTopic(probeId(i)), JSON.stringify({ type: 'door', state: seq % 2 ? 'open' : 'closed', seq }), { qos: 1 }, (err) => {
        if (err) return;
        acked++;
        if (inWindow) latencies.push(performance.now() - t0);
      });
    }, opts.interval / opts.probes);

    await sleep(opts.warmup * 1000);
    const cpuStart = cpuSeconds(server.pid);
    const flooderCpuStart = flooder ? cpuSeconds(flooder.pid) : 0;
    const refusedStart = await refusedCount(httpUrl);
    measuring = true;
    await sleep(opts.seconds * 1000);
    measuring = false;
    const serverCpu = (cpuSeconds(server.pid) - cpuStart) / opts.seconds;
    const flooderCpu = flooder ? (cpuSeconds(flooder.pid) - flooderCpuStart) / opts.seconds : 0;
    const refusedPerS = ((await refusedCount(httpUrl)) - refusedStart) / opts.seconds;
    clearInterval(timer);
    await flooder?.kill();
    const runSeconds = (performance.now() - runStart) / 1000;
    // Without budgets the server is still working through the flood's backlog: give up sooner.
    const drainUntil = performance.now() + (scenario === 'flood, unlimited' ? 10_000 : 30_000);
    while (acked < sent && performance.now() < drainUntil) await sleep(20);
    const floodRefused = await refusedCount(httpUrl);
    await Promise.all(probes.map((p) => p.endAsync(true)));
    await server.kill();

    const storage = openSqliteStorage(path.join(dataDir, 'storetwin.db'));
    let floodStored = 0;
    let probeStored = 0;
    try {
      const count = storage.db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM events WHERE type = 'door' AND device LIKE ?");
      floodStored = count.get(FLOODER)?.n ?? 0;
      probeStored = count.get('probe-door-%')?.n ?? 0;
    } finally {
      storage.close();
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? Number.NaN,
      samples: sorted.length,
      unacked: sent - acked,
      probeAcked: acked,
      probeStored,
      floodStored,
      floodRefused,
      floodStoredPerS: floodStored / runSeconds,
      serverCpu,
      flooderCpu,
      refusedPerS,
    };
  } finally {
    await flooder?.kill();
    for (const p of probes) p.end(true);
    await server.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function describeRound(scenario: Scenario, round: number, m: Measurement): string {
  const floodPart =
    scenario === 'no flood'
      ? ''
      : `  flooder cpu ${fmt(m.flooderCpu * 100)}%  flood: ${fmt(m.floodStored)} events stored (${fmt(m.floodStoredPerS)}/s), ` +
        `${fmt(m.floodRefused)} messages refused (${fmt(m.refusedPerS)}/s)`;
  const trouble = m.unacked ? `  ${m.unacked} probe PUBACKs still outstanding at the end` : '';
  return (
    `  round ${round} ${scenario.padEnd(17)} probe PUBACK p50 ${fmt(m.p50Ms, 2)} ms  p99 ${fmt(m.p99Ms, 2)} ms  max ${fmt(m.maxMs, 1)} ms` +
    `  (${fmt(m.samples)} samples)  server cpu ${fmt(m.serverCpu * 100)}%${floodPart}${trouble}`
  );
}

async function main(opts: Options): Promise<void> {
  const began = performance.now();
  const cpus = os.cpus();
  console.log('StoreTwin flood benchmark: other devices’ publish → PUBACK while one device floods');
  console.log(
    `machine: ${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), node ${process.version}, ${os.platform()} ${os.release()}, ` +
      `load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}`,
  );
  console.log(
    `probes: ${opts.probes} door sensors, one event every ${opts.interval} ms each (${fmt((opts.probes * 1000) / opts.interval)} msg/s together); ` +
      `flood: one door sensor, arrays of ${MAX_EVENTS_PER_MESSAGE} events, ${opts.inflight} QoS 1 in flight`,
  );
  console.log(`${opts.warmup} s warm-up + ${opts.seconds} s measured, ${opts.rounds} rounds, scenarios interleaved, server and flooder in child processes`);

  const scenarios: Scenario[] = ['no flood', 'flood, budgets', ...(opts.unlimited ? (['flood, unlimited'] as const) : [])];
  const results = new Map<Scenario, Measurement[]>(scenarios.map((s) => [s, []]));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const scenario of scenarios) {
      const m = await runScenario(scenario, opts);
      results.get(scenario)!.push(m);
      console.log(describeRound(scenario, round, m));
    }
  }

  const med = (s: Scenario, f: (m: Measurement) => number) => median(results.get(s)!.map(f));
  const cell = (text: string): string => text.padStart(14);
  console.log(`\nmedians of ${opts.rounds} rounds`);
  console.log(''.padEnd(20) + ['p50 ms', 'p99 ms', 'p50 ×ref', 'p99 ×ref', 'server cpu', 'stored ev/s', 'refused/s'].map(cell).join(''));
  const ref50 = med('no flood', (m) => m.p50Ms);
  const ref99 = med('no flood', (m) => m.p99Ms);
  for (const s of scenarios) {
    const p50 = med(s, (m) => m.p50Ms);
    const p99 = med(s, (m) => m.p99Ms);
    const flooding = s !== 'no flood';
    const row = [
      fmt(p50, 2),
      fmt(p99, 2),
      `${fmt(p50 / ref50, 2)}×`,
      `${fmt(p99 / ref99, 2)}×`,
      `${fmt(med(s, (m) => m.serverCpu) * 100)}%`,
      flooding ? fmt(med(s, (m) => m.floodStoredPerS)) : '-',
      flooding ? fmt(med(s, (m) => m.refusedPerS)) : '-',
    ];
    console.log(s.padEnd(20) + row.map(cell).join(''));
  }
  console.log(
    `\nprobe p99 ratio flood (budgets) / no flood: ${fmt(med('flood, budgets', (m) => m.p99Ms) / ref99, 2)}` +
      (opts.unlimited ? `; flood (unlimited) / no flood: ${fmt(med('flood, unlimited', (m) => m.p99Ms) / ref99, 2)}` : ''),
  );

  const all = [...results.values()].flat();
  // Without budgets probe PUBACKs may still be queued behind the flood when the run ends; with
  // them, every probe publish must have been acknowledged.
  const allAcked = scenarios.filter((s) => s !== 'flood, unlimited').every((s) => results.get(s)!.every((m) => m.unacked === 0));
  const allStored = allAcked && all.every((m) => m.probeStored >= m.probeAcked);
  console.log(`every probe publish acknowledged (no flood, flood with budgets): ${allAcked ? 'yes' : 'no'}`);
  console.log(`every probe event PUBACKed is stored: ${all.every((m) => m.probeStored >= m.probeAcked) ? 'yes' : 'no'} (${fmt(all.reduce((n, m) => n + m.probeStored, 0))} rows for ${fmt(all.reduce((n, m) => n + m.probeAcked, 0))} PUBACKs)`);
  if (!allStored) process.exitCode = 1;
  console.log(`total time ${fmt((performance.now() - began) / 1000, 1)} s`);
}

const [role, ...rest] = process.argv.slice(2);
if (role === '--serve') await serve(rest);
else if (role === '--flood') await flood(rest);
else await main(readOptions());
