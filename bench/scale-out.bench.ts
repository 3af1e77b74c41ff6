/**
 * Scale-out: StoreTwin as 1 and then 2 workers (`serve --worker`, child processes — the
 * fixture of tests/cluster/two-workers.test.ts) on one Mosquitto, PostgreSQL, InfluxDB and
 * Redis, all Debian's and on loopback, started once for the whole run; then the failover time.
 *
 *   npx tsx bench/scale-out.bench.ts [--devices 20] [--rate 9000] [--seconds 10] [--failover-rate 500] [--quick]
 *   (or BENCH_DEVICES, BENCH_RATE, …)
 *
 * 1. ingest with 1 worker (it holds both demo sites), then 2 workers (one site each): the
 *    raw-socket generator publishes QoS 1 heartbeats from `devices` door sensors spread over
 *    demo-hotel AND demo-shop, open loop at `rate` per second for `seconds`. Mosquitto
 *    acknowledges on receipt and queues for each site's session (max_queued_messages 100000),
 *    so the PUBACK latency is Mosquitto's and the figure is what reaches storage:
 *    events/s = events counted in InfluxDB ÷ (first publish → the last acknowledged one stored).
 *    `rate` is meant to be above what the workers store, so that figure is their capacity; every
 *    acknowledged event must be stored, exactly once. On 2 cores the two workers share the
 *    machine with Mosquitto, the databases and the generator: the point is that it works and
 *    what it costs (CPU per event), not a speed-up.
 * 2. reference: a plain Mosquitto with nothing subscribed acknowledging the same load.
 * 3. failover: 2 workers, load flowing at `failover-rate` plus one hotel door sensor probing
 *    every 20 ms; SIGKILL of the worker holding demo-hotel; the time until the survivor has
 *    stored a probe event published after the kill (the bar: 10 s on the default leases — 6 s,
 *    renewed every 2 s); then every acknowledged event stored, exactly once.
 *
 * With --quick (CI) it runs briefly and judges only correctness: events stored, failover done.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { InfluxDB } from 'influx';
import type { MqttClient } from 'mqtt';
import { openOfflineContext } from '../server/cli/offline-context.ts';
import { rendezvousOwner } from '../server/cluster/site-ownership.ts';
import { eventually, testConfig } from '../tests/helpers/app.ts';
import { startInfluxd, type Influxd } from '../tests/helpers/influxd.ts';
import { startMosquitto, type Mosquitto } from '../tests/helpers/mosquitto.ts';
import { connectDevice } from '../tests/helpers/mqtt.ts';
import { createDatabase, liveLeases, startPostgres, type PostgresServer } from '../tests/helpers/postgres.ts';
import { startRedis, type RedisServer } from '../tests/helpers/redis.ts';
import { cpuSeconds, startChild, type Child } from './lib/child.ts';
import { positiveOption } from './lib/options.ts';
import { HEARTBEAT_PAYLOAD, runRawLoad, type LoadResult, type RawLoadDevice } from './lib/raw-load.ts';
import { connectClient, mapLimit } from './lib/raw-mqtt.ts';
import { describeMachine, fmt, quickRequested, writeResult } from './lib/report.ts';

const WORKER_CHILD = path.join(import.meta.dirname, '..', 'tests', 'cluster', 'fixtures', 'worker-child.ts');
const PASSWORD = 'correct horse battery';
const SERVER_PASSWORD = 'storetwin-bench-password';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
const SITES = [HOTEL, SHOP] as const;
/** Rooms of each site a door sensor may sit in (hotel guest rooms; the shop's doors). */
const ZONES: Record<string, readonly string[]> = {
  [HOTEL]: Array.from({ length: 120 }, (_, i) => `${2 + Math.floor(i / 30)}-${String((i % 30) + 1).padStart(2, '0')}`),
  [SHOP]: ['entrance-south', 'entrance-north', 'back-corridor', 'cash-room', 'storage', 'back-office'],
};
const FAILOVER_BAR_MS = 10_000;

interface Options {
  devices: number;
  rate: number;
  seconds: number;
  failoverRate: number;
  inflight: number;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'failover-rate': { type: 'string' },
      inflight: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const quick = quickRequested();
  return {
    devices: positiveOption(values, 'devices', 20, true),
    rate: positiveOption(values, 'rate', quick ? 1500 : 9000, false),
    seconds: positiveOption(values, 'seconds', quick ? 3 : 10, false),
    failoverRate: positiveOption({ failover_rate: values['failover-rate'] }, 'failover_rate', quick ? 200 : 500, false),
    inflight: positiveOption(values, 'inflight', 64, true),
  };
}

interface Worker {
  name: string;
  child: Child<{ httpUrl: string }>;
}

/** What one ingest phase measured. */
interface Phase {
  workers: number;
  load: LoadResult;
  /** Events of this phase's devices in InfluxDB once every acknowledged one was there. */
  stored: number;
  /** Distinct (device, seq) among them: equal to `stored` when none was stored twice. */
  distinct: number;
  /** First publish → the last acknowledged event stored, s. */
  seconds: number;
  eventsPerSecond: number;
  /** Worker CPU (user + system, all workers) per stored event, µs. */
  workerCpuUsPerEvent: number;
  mosquittoCpuUsPerEvent: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two worker names the rendezvous hash gives one demo site each, so the 2-worker phase really
 * splits the sites (with names picked blindly, both could land on one worker).
 */
function splittingNames(): [string, string] {
  for (let i = 0; ; i++) {
    const names: [string, string] = [`bench-w1-${i}`, `bench-w2-${i}`];
    const owners = new Set(SITES.map((s) => rendezvousOwner(s, names)));
    if (owners.size === 2) return names;
  }
}

const opts = readOptions();
const began = performance.now();
console.log('StoreTwin scale-out benchmark: 1 and 2 workers on one Mosquitto, PostgreSQL, InfluxDB and Redis; failover after SIGKILL');
console.log(describeMachine());
console.log(
  `load: ${opts.devices} door sensors over ${SITES.join(' and ')}, QoS 1 heartbeats open loop at ${fmt(opts.rate)}/s for ${opts.seconds} s per phase (≤ ${opts.inflight} in flight per device); failover under ${fmt(opts.failoverRate)}/s`,
);

let postgres: PostgresServer | undefined;
let redis: RedisServer | undefined;
let influxd: Influxd | undefined;
let mosquitto: Mosquitto | undefined;
const workers: Worker[] = [];
const probes: MqttClient[] = [];
const problems: string[] = [];

try {
  [postgres, redis, influxd, mosquitto] = await Promise.all([startPostgres(), startRedis(), startInfluxd(), startMosquitto({}, { managed: true, clientIdFromUsername: false })]);
  const broker = mosquitto;
  const databaseUrl = await createDatabase(postgres, 'storetwin_bench');
  const influxUrl = `${influxd.url}/storetwin_bench`;
  // The worker fixture reads the shared parts from its environment (startChild passes ours on).
  Object.assign(process.env, {
    STORETWIN_MQTT_URL: `mqtt://storetwin:${SERVER_PASSWORD}@127.0.0.1:${broker.port}`,
    STORETWIN_DATABASE_URL: databaseUrl,
    STORETWIN_INFLUX_URL: influxUrl,
    STORETWIN_REDIS_URL: redis.url,
    MOSQUITTO_FILES: JSON.stringify(broker.files),
  });
  // The first admin, made as `storetwin user add` would, before any worker runs.
  const ctx = await openOfflineContext(testConfig(await mkdtemp(path.join(os.tmpdir(), 'storetwin-bench-cli-')), { databaseUrl }), { create: true });
  await ctx.users.createUser({ username: 'boss', password: PASSWORD, role: 'admin', sites: [] });
  await ctx.close();

  const leases = () => liveLeases(databaseUrl);
  const startWorker = async (name: string): Promise<Worker> => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `storetwin-bench-${name}-`));
    const w = { name, child: await startChild<{ httpUrl: string }>(WORKER_CHILD, [name, dataDir], 120_000) };
    workers.push(w);
    return w;
  };
  const influx = new InfluxDB(influxUrl);
  /** Events stored and distinct (device, seq) pairs among the devices whose ids start with `prefix`. */
  const storedOf = async (prefix: string): Promise<{ stored: number; distinct: number }> => {
    const rows = (await influx.query(
      `SELECT count("seq") AS n, count(distinct("seq")) AS d FROM "raw"."events" WHERE "device" =~ /^${prefix}/ GROUP BY "device"`,
    )) as unknown as Array<{ n: number; d: number }>;
    return { stored: rows.reduce((s, r) => s + r.n, 0), distinct: rows.reduce((s, r) => s + r.d, 0) };
  };

  const [name1, name2] = splittingNames();
  const w1 = await startWorker(name1);
  await eventually(async () => [...(await leases()).values()].filter((o) => o === name1).length === 2, 30_000, 100);
  const token = await eventually(async () => {
    const res = await fetch(`${w1.child.info.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'boss', password: PASSWORD }) });
    return res.status === 200 ? ((await res.json()) as { token: string }).token : null;
  }, 10_000, 100);

  /** Registers door sensors `<prefix>NNN` alternating between the sites, through the REST API; waits until Mosquitto lets each log in. */
  const register = async (prefix: string, count: number): Promise<Array<RawLoadDevice & { site: string; secret: string }>> => {
    const devices = await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      8,
      async (i) => {
        const site = SITES[i % 2]!;
        const id = `${prefix}${String(i).padStart(3, '0')}`;
        const zones = ZONES[site]!;
        const res = await fetch(`${w1.child.info.httpUrl}/api/devices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, site, type: 'door-sensor', zone: zones[Math.floor(i / 2) % zones.length] }),
        });
        if (res.status !== 201) throw new Error(`registering ${id}: HTTP ${res.status} ${await res.text()}`);
        const secret = ((await res.json()) as { secret: string }).secret;
        return { clientId: id, username: id, password: secret, topic: `storetwin/${site}/${id}/up`, site, secret };
      },
    );
    // Mosquitto reloads its password file when the worker signals it: until then, CONNACK 5.
    await mapLimit(devices, 16, (d) =>
      eventually(async () => {
        (await connectClient(broker.port, d, 5_000)).destroy();
        return true;
      }, 15_000, 100),
    );
    return devices;
  };
  const registerStarted = performance.now();
  const [phase1Devices, phase2Devices, failoverDevices, [probe]] = await Promise.all([
    register('bench-so1-', opts.devices),
    register('bench-so2-', opts.devices),
    register('bench-sof-', opts.devices),
    register('bench-probe-', 1),
  ]);
  console.log(`registered ${3 * opts.devices + 1} door sensors through the REST API; Mosquitto let them all in after ${fmt((performance.now() - registerStarted) / 1000, 1)} s`);

  const ingestPhase = async (devices: RawLoadDevice[], prefix: string): Promise<Phase> => {
    const pids = workers.map((w) => w.child.pid);
    let t0 = 0;
    let cpu0 = 0;
    let mosquittoCpu0 = 0;
    const load = await runRawLoad({
      port: broker.port,
      devices,
      inflight: opts.inflight,
      warmupS: 0,
      seconds: opts.seconds,
      ratePerSecond: opts.rate,
      onWindowStart: () => {
        t0 = performance.now();
        cpu0 = pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
        mosquittoCpu0 = cpuSeconds(broker.pid);
      },
    });
    // Mosquitto has acknowledged them all; the phase ends when every one of them is in InfluxDB.
    let counted = { stored: 0, distinct: 0 };
    const deadline = performance.now() + 120_000;
    while ((counted = await storedOf(prefix)).distinct < load.totalAcks && performance.now() < deadline) await sleep(100);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = pids.reduce((s, pid) => s + cpuSeconds(pid), 0) - cpu0;
    const mosquittoCpu = cpuSeconds(broker.pid) - mosquittoCpu0;
    const n = Math.max(1, counted.stored);
    return {
      workers: pids.length,
      load,
      ...counted,
      seconds,
      eventsPerSecond: counted.stored / seconds,
      workerCpuUsPerEvent: (cpu / n) * 1e6,
      mosquittoCpuUsPerEvent: (mosquittoCpu / n) * 1e6,
    };
  };
  const check = (what: string, p: { load: LoadResult; stored: number; distinct: number }): void => {
    if (p.load.errors.length > 0) problems.push(`${what}: ${p.load.errors.length} client errors, first: ${p.load.errors[0]}`);
    if (p.load.unacked > 0) problems.push(`${what}: ${p.load.unacked} publishes never acknowledged by Mosquitto`);
    if (p.distinct < p.load.totalAcks) problems.push(`${what}: ${p.load.totalAcks - p.distinct} acknowledged events not stored`);
    if (p.stored !== p.distinct) problems.push(`${what}: ${p.stored - p.distinct} events stored twice`);
  };
  const describePhase = (p: Phase): string =>
    `  ${p.workers} worker(s): ${fmt(p.eventsPerSecond).padStart(6)} events/s stored (${fmt(p.stored)} of ${fmt(p.load.totalAcks)} acked, in ${fmt(p.seconds, 1)} s)` +
    `  PUBACK p50 ${fmt(p.load.p50Ms, 2)} ms p99 ${fmt(p.load.p99Ms, 2)} ms  workers ${fmt(p.workerCpuUsPerEvent)} µs/event  mosquitto ${fmt(p.mosquittoCpuUsPerEvent, 1)} µs/event`;

  const one = await ingestPhase(phase1Devices, 'bench-so1-');
  check('1 worker', one);
  console.log(describePhase(one));

  const w2 = await startWorker(name2);
  const split = await eventually(async () => {
    const now = await leases();
    return new Set(now.values()).size === 2 && now.size === 2 ? now : null;
  }, 30_000, 100);
  // The site handed over: the new owner opens its session; give it a tick to settle.
  await sleep(2_000);
  console.log(`  worker ${w2.name} joined: ${HOTEL} → ${split.get(HOTEL)}, ${SHOP} → ${split.get(SHOP)}`);
  const two = await ingestPhase(phase2Devices, 'bench-so2-');
  check('2 workers', two);
  console.log(describePhase(two));

  // The reference: Mosquitto on its own (no StoreTwin, nothing subscribed) acknowledging the same load.
  const bare = await startMosquitto();
  let reference: { load: LoadResult; cpuUsPerEvent: number };
  try {
    let cpu0 = 0;
    let cpu1 = 0;
    const load = await runRawLoad({
      port: bare.port,
      devices: phase1Devices.map((d) => ({ clientId: d.clientId, topic: d.topic })),
      inflight: opts.inflight,
      warmupS: 0,
      seconds: opts.seconds,
      ratePerSecond: opts.rate,
      onWindowStart: () => (cpu0 = cpuSeconds(bare.pid)),
      onWindowEnd: () => (cpu1 = cpuSeconds(bare.pid)),
    });
    reference = { load, cpuUsPerEvent: ((cpu1 - cpu0) / Math.max(1, load.windowAcks)) * 1e6 };
  } finally {
    await bare.close();
  }
  console.log(
    `  reference, Mosquitto alone: ${fmt(reference.load.rate)} acks/s  PUBACK p50 ${fmt(reference.load.p50Ms, 2)} ms p99 ${fmt(reference.load.p99Ms, 2)} ms  ${fmt(reference.cpuUsPerEvent, 1)} µs/event`,
  );

  // Failover: load flowing on both sites, a hotel probe every 20 ms, SIGKILL of the hotel's owner.
  const owners = await leases();
  const victim = workers.find((w) => w.name === owners.get(HOTEL))!;
  const survivor = workers.find((w) => w !== victim)!;
  const probeClient = await connectDevice(broker.url, probe!.clientId, probe!.secret);
  probes.push(probeClient);
  const acked = new Set<number>();
  let seq = 0;
  let streaming = true;
  const streamer = (async () => {
    while (streaming) {
      const s = ++seq;
      await probeClient.publishAsync(probe!.topic, JSON.stringify({ type: 'heartbeat', battery: 3.6, rsrp: -97, snr: 8, door: 'closed', seq: s }), { qos: 1 });
      acked.add(s);
      await sleep(20);
    }
  })();
  let stopLoad!: () => void;
  const loadStopped = new Promise<void>((resolve) => (stopLoad = resolve));
  const failoverLoad = runRawLoad({
    port: broker.port,
    devices: failoverDevices,
    inflight: opts.inflight,
    warmupS: 0,
    seconds: 600,
    ratePerSecond: opts.failoverRate,
    stop: loadStopped,
    payload: HEARTBEAT_PAYLOAD,
  });
  await sleep(2_000);
  const maxProbeSeq = async (): Promise<number> =>
    ((await influx.query(`SELECT max("seq") FROM "raw"."events" WHERE "device" = '${probe!.clientId}'`)) as unknown as Array<{ max: number }>)[0]?.max ?? 0;
  const firstAfterKill = seq + 1;
  const killedAt = performance.now();
  await victim.child.kill();
  let failoverMs = Number.NaN;
  while (performance.now() - killedAt < 60_000) {
    if ((await maxProbeSeq()) >= firstAfterKill) {
      failoverMs = performance.now() - killedAt;
      break;
    }
    await sleep(50);
  }
  const after = await leases();
  await sleep(1_000);
  streaming = false;
  stopLoad();
  await streamer;
  const failLoad = await failoverLoad;
  // Every acknowledged event of the failover (load and probe) stored, once.
  let failStored = { stored: 0, distinct: 0 };
  const deadline = performance.now() + 60_000;
  while ((failStored = await storedOf('bench-sof-')).distinct < failLoad.totalAcks && performance.now() < deadline) await sleep(250);
  const probeStored = await eventually(async () => {
    const rows = (await influx.query(`SELECT "seq" FROM "raw"."events" WHERE "device" = '${probe!.clientId}'`)) as unknown as Array<{ seq: number }>;
    const seqs = rows.map((r) => r.seq);
    const have = new Set(seqs);
    return [...acked].every((s) => have.has(s)) ? seqs : null;
  }, 30_000, 250).catch(() => null);
  // Lost events fail the run; events stored twice across the kill are reported, not failed:
  // what the victim wrote to InfluxDB but had not yet acknowledged to Mosquitto is redelivered
  // to the survivor, whose dedupe window was read from storage when it started, not when it
  // took the site over — at-least-once across a crash, which the stored count shows.
  check('failover load', { load: failLoad, stored: failStored.distinct, distinct: failStored.distinct });
  const probeDuplicates = probeStored ? probeStored.length - new Set(probeStored).size : 0;
  const duplicates = failStored.stored - failStored.distinct + probeDuplicates;
  if (!probeStored) problems.push('failover: acknowledged probe events not stored');
  if (!Number.isFinite(failoverMs)) problems.push('failover: no probe event published after the kill was stored within 60 s');
  if (after.get(HOTEL) !== survivor.name || after.get(SHOP) !== survivor.name) problems.push(`failover: leases after the kill ${JSON.stringify(Object.fromEntries(after))}, expected both on ${survivor.name}`);
  console.log(
    `  failover: SIGKILL of ${victim.name} (held ${HOTEL}); ${survivor.name} stored a probe event published after the kill ${fmt(failoverMs)} ms later (bar ${fmt(FAILOVER_BAR_MS)} ms: ${failoverMs <= FAILOVER_BAR_MS ? 'met' : 'MISSED'})` +
      `; ${fmt(failStored.distinct)} distinct load events stored of ${fmt(failLoad.totalAcks)} acked, ${fmt(new Set(probeStored ?? []).size)} probe events of ${fmt(acked.size)}`,
  );
  if (duplicates > 0) problems.push(`failover: ${duplicates} event(s) stored twice across the kill (the survivor's dedupe window must hold what the victim stored)`);

  const summary = (p: Phase) => ({
    eventsPerSecond: p.eventsPerSecond,
    stored: p.stored,
    acked: p.load.totalAcks,
    seconds: p.seconds,
    pubackP50Ms: p.load.p50Ms,
    pubackP99Ms: p.load.p99Ms,
    workerCpuUsPerEvent: p.workerCpuUsPerEvent,
    mosquittoCpuUsPerEvent: p.mosquittoCpuUsPerEvent,
  });
  const figures = {
    oneWorker: summary(one),
    twoWorkers: summary(two),
    ratioTwoToOne: two.eventsPerSecond / one.eventsPerSecond,
    mosquittoAlone: { acksPerSecond: reference.load.rate, pubackP50Ms: reference.load.p50Ms, pubackP99Ms: reference.load.p99Ms, cpuUsPerEvent: reference.cpuUsPerEvent },
    failover: { ms: failoverMs, barMs: FAILOVER_BAR_MS, loadAcked: failLoad.totalAcks, loadStored: failStored.stored, probeAcked: acked.size, probeStored: probeStored?.length ?? 0, storedTwice: duplicates },
    storedAllAcked: problems.length === 0,
  };

  console.log(`\n${''.padEnd(18)}${'events/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'µs/event'.padStart(10)}${'mosq µs'.padStart(9)}`);
  for (const [label, s] of [['1 worker', figures.oneWorker], ['2 workers', figures.twoWorkers]] as const) {
    console.log(
      `${label.padEnd(18)}${fmt(s.eventsPerSecond).padStart(10)}${fmt(s.pubackP50Ms, 2).padStart(9)}${fmt(s.pubackP99Ms, 2).padStart(9)}${fmt(s.workerCpuUsPerEvent).padStart(10)}${fmt(s.mosquittoCpuUsPerEvent, 1).padStart(9)}`,
    );
  }
  const m = figures.mosquittoAlone;
  console.log(`${'Mosquitto alone'.padEnd(18)}${fmt(m.acksPerSecond).padStart(10)}${fmt(m.pubackP50Ms, 2).padStart(9)}${fmt(m.pubackP99Ms, 2).padStart(9)}${''.padStart(10)}${fmt(m.cpuUsPerEvent, 1).padStart(9)}`);
  console.log(`\n2 workers / 1 worker: ${fmt(figures.ratioTwoToOne, 2)}×   failover ${fmt(failoverMs)} ms (bar ${fmt(FAILOVER_BAR_MS)} ms)`);
  console.log(`every acknowledged event stored: ${figures.storedAllAcked ? 'yes' : 'no'}; stored twice: none in the 1- and 2-worker phases, ${fmt(duplicates)} across the failover`);
  console.log(`results: ${path.relative(process.cwd(), writeResult('scale-out', opts, figures))}`);
} catch (err) {
  problems.push(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  for (const p of probes) await p.endAsync(true).catch(() => undefined);
  for (const w of workers) await w.child.kill();
  await Promise.all([postgres?.stop(), redis?.stop(), influxd?.stop(), mosquitto?.close()]);
}
for (const p of problems) console.log(`PROBLEM: ${p}`);
if (problems.length > 0) process.exitCode = 1;
console.log(`total time ${fmt((performance.now() - began) / 1000, 1)} s`);
// Everything this run started is stopped; the HTTP clients' keep-alive sockets would still hold the loop open.
process.exit();
