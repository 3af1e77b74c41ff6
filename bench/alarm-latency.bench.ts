/**
 * Alarm latency with the demo running: door-open publish (QoS 1) → the alarm arriving at a
 * socket.io client, and alarm raised → the camera snapshot attached, over N alarms.
 *   npx tsx bench/alarm-latency.bench.ts [--alarms 1000] [--sensors 40]
 * The server runs in a child process exactly as `npm start` runs it (demo simulators in-process).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import type { Alarm } from '../server/alarms/types.ts';
import { connectDevice } from '../tests/helpers/mqtt.ts';
import { rssBytes, startChild } from './lib/child.ts';

const { values } = parseArgs({ options: { alarms: { type: 'string', default: '1000' }, sensors: { type: 'string', default: '40' } } });
const ALARMS = Number(values.alarms);
const SENSORS = Number(values.sensors);

interface Info {
  httpUrl: string;
  mqttUrl: string;
  token: string;
  sensors: Array<{ id: string; zone: string; secret: string }>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const server = await startChild<Info>(path.join(import.meta.dirname, 'fixtures', 'demo-server.ts'), [String(SENSORS)], 120_000);
const { info } = server;
const socket = io(info.httpUrl, { auth: { token: info.token }, transports: ['websocket'] });
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

const clients: MqttClient[] = [];
for (const s of info.sensors) clients.push(await connectDevice(info.mqttUrl, s.id, s.secret));

const latencies: number[] = [];
let seq = 0;
let missed = 0;
const started = performance.now();
for (let n = 0; n < ALARMS; n++) {
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
    // Close the door: the rule auto-clears the alarm, so the next open raises a new one.
    const cleared = waitFor(sensor.zone, (a) => a.id === alarm.id && a.state === 'cleared');
    await client.publishAsync(topic, JSON.stringify({ type: 'door', state: 'closed', seq: ++seq }), { qos: 1 });
    await cleared.catch(() => undefined);
  } catch {
    missed++;
  }
}
const elapsed = (performance.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 1500)); // late snapshots
latencies.sort((a, b) => a - b);
snapshotMs.sort((a, b) => a - b);
const rssMb = rssBytes(server.pid) / 1024 / 1024;
console.log(`StoreTwin alarm latency with the demo running (${info.sensors.length} armed rooms, ${ALARMS} alarms, ${elapsed.toFixed(1)} s)`);
console.log(`door open → socket.io alarm: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms, missed ${missed}`);
console.log(`door open → snapshot attached: p50 ${percentile(snapshotMs, 50).toFixed(1)} ms, p99 ${percentile(snapshotMs, 99).toFixed(1)} ms (${snapshotMs.length} snapshots)`);
console.log(`server RSS with the demo running: ${rssMb.toFixed(0)} MB`);
socket.close();
for (const c of clients) c.end(true);
await server.kill();
process.exit(0);
