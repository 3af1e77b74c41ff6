/**
 * Alarm latency under load, with the demo running: a door opens in an armed room (QoS 1
 * publish) → the alarm arrives at a socket.io client, and alarm raised → camera snapshot
 * attached; while background door sensors send their reports at 1,000 and at 5,000 events/s
 * (raw-socket generator, open loop). Each background rate gets a fresh server, run in a child
 * process as `npm start` runs it.
 *
 *   npx tsx bench/alarm-latency.bench.ts [--alarms 1000] [--sensors 40] [--rates 1000,5000] [--background 100] [--quick]
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import type { Alarm } from '../server/alarms/types.ts';
import { connectDevice } from '../tests/helpers/mqtt.ts';
import { rssBytes, startChild } from './lib/child.ts';
import { uplinkTopic } from './lib/devices.ts';
import { positiveOption } from './lib/options.ts';
import { runRawLoad } from './lib/raw-load.ts';
import { describeMachine, fmt, mb, quantile, quickRequested, writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    alarms: { type: 'string' },
    sensors: { type: 'string' },
    rates: { type: 'string' },
    background: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const quick = quickRequested();
const opts = {
  alarms: positiveOption(values, 'alarms', quick ? 100 : 1000, true),
  sensors: positiveOption(values, 'sensors', 40, true),
  background: positiveOption(values, 'background', 100, true),
  rates: (values.rates ?? '1000,5000').split(',').map(Number),
};
if (opts.rates.some((r) => !Number.isFinite(r) || r < 0)) throw new Error('--rates: comma-separated events per second, e.g. 1000,5000');

interface Info {
  httpUrl: string;
  mqttUrl: string;
  token: string;
  sensors: Array<{ id: string; zone: string; secret: string }>;
  background: Array<{ id: string; secret: string }>;
}

interface RateResult {
  backgroundRate: number;
  backgroundAchieved: number;
  alarms: number;
  missed: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  snapshots: number;
  snapshotP50Ms: number;
  snapshotP99Ms: number;
  rssMB: number;
}

async function runAt(rate: number): Promise<RateResult> {
  const server = await startChild<Info>(path.join(import.meta.dirname, 'fixtures', 'demo-server.ts'), [String(opts.sensors), String(opts.background)], 120_000);
  const { info } = server;
  const socket = io(info.httpUrl, { auth: { token: info.token }, transports: ['websocket'] });
  const clients: MqttClient[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });

    type Waiter = { zone: string; resolve: (a: Alarm) => void; test: (a: Alarm) => boolean };
    const waiters: Waiter[] = [];
    const raisedAt = new Map<string, number>();
    const snapshotMs: number[] = [];
    socket.on('alarm', (alarm: Alarm) => {
      const now = performance.now();
      if (alarm.snapshot?.status === 'attached' && raisedAt.has(alarm.id)) {
        snapshotMs.push(now - raisedAt.get(alarm.id)!);
        raisedAt.delete(alarm.id);
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (alarm.zone === w.zone && w.test(alarm)) {
          waiters.splice(i, 1);
          w.resolve(alarm);
        }
      }
    });
    const waitFor = (zone: string, test: (a: Alarm) => boolean, ms = 5000) =>
      new Promise<Alarm>((resolve, reject) => {
        const w: Waiter = { zone, resolve, test };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no alarm for ${zone} within ${ms} ms`));
          }
        }, ms);
      });

    for (const s of info.sensors) clients.push(await connectDevice(info.mqttUrl, s.id, s.secret));

    // Background load for as long as the alarms take (ended below), open loop at `rate`.
    let stopBackground: () => void = () => undefined;
    const backgroundDone =
      rate > 0
        ? runRawLoad({
            port: Number(new URL(info.mqttUrl).port),
            devices: info.background.map((d) => ({ clientId: d.id, username: d.id, password: d.secret, topic: uplinkTopic(d.id) })),
            inflight: 64,
            warmupS: 0,
            seconds: 3600,
            ratePerSecond: rate,
            stop: new Promise<void>((resolve) => (stopBackground = resolve)),
          })
        : null;
    // Let the background settle to its rate before measuring.
    await new Promise((r) => setTimeout(r, 2000));

    const latencies: number[] = [];
    let seq = 0;
    let missed = 0;
    for (let n = 0; n < opts.alarms; n++) {
      const i = n % info.sensors.length;
      const sensor = info.sensors[i]!;
      const client = clients[i]!;
      const topic = `storetwin/demo-hotel/${sensor.id}/up`;
      const open = waitFor(sensor.zone, (a) => a.rule === 'door-opened-armed' && a.state === 'active' && Date.parse(a.lastAt) >= Date.now() - 2000);
      const t0 = performance.now();
      await client.publishAsync(topic, JSON.stringify({ type: 'door', state: 'open', seq: ++seq }), { qos: 1 });
      try {
        const alarm = await open;
        latencies.push(performance.now() - t0);
        if (alarm.count === 1) raisedAt.set(alarm.id, t0);
        // Close the door and acknowledge: the latched alarm closes out, so the next open raises a new one.
        const closed = waitFor(sensor.zone, (a) => a.id === alarm.id && a.restoredAt !== null);
        await client.publishAsync(topic, JSON.stringify({ type: 'door', state: 'closed', seq: ++seq }), { qos: 1 });
        await closed.catch(() => undefined);
        await fetch(`${info.httpUrl}/api/alarms/${alarm.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' }, body: '{}' });
      } catch {
        missed++;
      }
    }
    await new Promise((r) => setTimeout(r, 1500)); // late snapshots
    const rss = rssBytes(server.pid);
    stopBackground();
    const background = backgroundDone ? await backgroundDone : null;
    const sorted = Float64Array.from(latencies).sort();
    const snaps = Float64Array.from(snapshotMs).sort();
    return {
      backgroundRate: rate,
      backgroundAchieved: background ? background.rate : 0,
      alarms: opts.alarms,
      missed,
      p50Ms: quantile(sorted, 0.5),
      p95Ms: quantile(sorted, 0.95),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? Number.NaN,
      snapshots: snaps.length,
      snapshotP50Ms: quantile(snaps, 0.5),
      snapshotP99Ms: quantile(snaps, 0.99),
      rssMB: mb(rss),
    };
  } finally {
    socket.close();
    for (const c of clients) c.end(true);
    await server.kill();
  }
}

console.log('StoreTwin alarm latency under load: door open in an armed room → socket.io alarm');
console.log(describeMachine());
console.log(`${opts.alarms} alarms over ${opts.sensors} armed rooms per rate; background: ${opts.background} door sensors' reports at ${opts.rates.join(' and ')} events/s`);
const results: RateResult[] = [];
for (const rate of opts.rates) {
  const r = await runAt(rate);
  results.push(r);
  console.log(
    `  background ${fmt(rate).padStart(6)}/s (achieved ${fmt(r.backgroundAchieved)}/s): alarm p50 ${fmt(r.p50Ms, 1)} ms  p95 ${fmt(r.p95Ms, 1)}  p99 ${fmt(r.p99Ms, 1)}  max ${fmt(r.maxMs, 1)}  missed ${r.missed}/${r.alarms}` +
      `  | snapshot p50 ${fmt(r.snapshotP50Ms, 0)} ms p99 ${fmt(r.snapshotP99Ms, 0)} (${r.snapshots})  | RSS ${fmt(r.rssMB, 0)} MB`,
  );
  if (r.missed > 0) process.exitCode = 1;
}
console.log(`results: ${path.relative(process.cwd(), writeResult('alarm-latency', opts, { rates: results }))}`);
process.exit();
