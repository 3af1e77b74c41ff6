/**
 * Long reads beside live traffic (issue 9): a month of the busy demo hotel (~570k events) in a
 * StoreTwin server, then one 31-day backtest and four parallel 7-day replay histories over
 * HTTP, while /healthz is polled every 50 ms and another device publishes QoS 1 events at a
 * steady rate. Prints /healthz and publish→PUBACK latency p50/p99/max against the same
 * measures in the same run with no long reads running (the reference), and the server's event
 * loop delay (monitorEventLoopDelay, 1 ms resolution) in both phases, and this process's own
 * (a stall of the client is the machine's, not the server's).
 *
 *   npx tsx bench/stall.bench.ts [--days 31] [--seconds 10] [--rate 20]
 *
 * The server runs in a child process (this file with --serve), so the clients measuring it
 * have an event loop of their own. The server runs the backtest and the histories in its
 * long-read thread (server/reads/worker.ts); the first of them starts that thread. Bar: /healthz and PUBACK p99 under 100 ms with the long
 * reads running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createApp } from '../server/app.ts';
import { testConfig } from '../tests/helpers/app.ts';
import { writeBusyEvents } from '../tests/history/busy-month.ts';
import { connectDevice } from '../tests/helpers/mqtt.ts';
import { startChild } from './lib/child.ts';

const DAY = 86_400_000;
const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    days: { type: 'string', default: '31' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
  },
});

interface Info {
  httpUrl: string;
  mqttUrl: string;
  token: string;
  device: { id: string; secret: string };
  events: number;
  seedMs: number;
  /** Unix ms: the seeded events end one hour before. */
  now: number;
}

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  /** Garbage collection pauses (server only): the longest and their sum, ms. */
  gcMax?: number;
  gcTotal?: number;
}

if (values.serve !== undefined) await serve(values.serve, Number(values.days));
else await main();

/** The server side: builds, seeds, prints Info; on SIGUSR2 prints the loop delay since the last one. */
async function serve(dataDir: string, days: number): Promise<void> {
  const app = await createApp(testConfig(dataDir));
  const addresses = await app.listen();
  const hotel = app.sites.get('demo-hotel');
  if (!hotel) throw new Error('no demo hotel');
  const now = Date.now();
  const started = performance.now();
  const events = await writeBusyEvents(hotel, { fromMs: now - 3600_000 - days * DAY, toMs: now - 3600_000, append: (b) => app.storage.events.append(b) });
  const seedMs = performance.now() - started;
  await app.users.createUser({ username: 'bench', password: 'benchmark password', role: 'admin' });
  const { token } = await app.users.login('bench', 'benchmark password');
  const { secret } = await app.devices.register({ id: 'bench-stall-door', site: 'demo-hotel', type: 'door-sensor', zone: '2-14' });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gcMax = 0;
  let gcTotal = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMax = Math.max(gcMax, e.duration);
      gcTotal += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    const ms = (ns: number) => ns / 1e6;
    process.stdout.write(JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), gcMax, gcTotal } satisfies LoopDelay) + '\n');
    delay.reset();
    gcMax = 0;
    gcTotal = 0;
  });
  const info: Info = { httpUrl: addresses.httpUrl, mqttUrl: addresses.mqttUrl, token, device: { id: 'bench-stall-door', secret }, events, seedMs, now };
  process.stdout.write(JSON.stringify(info) + '\n');
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Latencies {
  healthz: number[];
  puback: number[];
  /** Requests or publishes that failed (should be none). */
  failed: number;
  /** This process's own event loop delay: when it is high the machine, not the server, was slow. */
  client: LoopDelay;
}

/** GET or POST over HTTP; resolves with the status, wire bytes and body text. */
function call(url: string, opts: { method?: string; token?: string; gzip?: boolean } = {}): Promise<{ status: number; wire: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.gzip) headers['accept-encoding'] = 'gzip';
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, wire: body.length, text: opts.gzip ? '' : body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const own = monitorEventLoopDelay({ resolution: 1 });
  own.enable();
  const days = Number(values.days);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-stall-'));
  const server = await startChild<Info>(import.meta.filename, ['--serve', dataDir, '--days', String(days)], 600_000);
  const { info } = server;
  // Lines after the ready line: the loop delay, one per SIGUSR2.
  const lines = createInterface({ input: server.process.stdout! });
  const loopDelay = () =>
    new Promise<LoopDelay>((resolve) => {
      lines.once('line', (line) => resolve(JSON.parse(line) as LoopDelay));
      server.process.kill('SIGUSR2');
    });
  const device = await connectDevice(info.mqttUrl, info.device.id, info.device.secret);
  const topic = `storetwin/demo-hotel/${info.device.id}/up`;
  let seq = 0;

  /** Polls /healthz every 50 ms and publishes `rate`/s QoS 1 events (open loop) until `done`. */
  const measure = async (done: Promise<unknown>): Promise<Latencies> => {
    const out: Latencies = { healthz: [], puback: [], failed: 0, client: { p50: 0, p99: 0, max: 0 } };
    own.reset();
    let stop = false;
    void done.finally(() => (stop = true));
    const pending: Array<Promise<void>> = [];
    const health = setInterval(() => {
      const t0 = performance.now();
      pending.push(
        call(`${info.httpUrl}/healthz`).then(
          (r) => {
            if (r.status === 200) out.healthz.push(performance.now() - t0);
            else out.failed++;
          },
          () => void out.failed++,
        ),
      );
    }, 50);
    const publish = setInterval(() => {
      const t0 = performance.now();
      const payload = JSON.stringify({ type: 'heartbeat', battery: 3.1, rsrp: -90, seq: ++seq, ts: new Date().toISOString() });
      pending.push(
        device.publishAsync(topic, payload, { qos: 1 }).then(
          () => void out.puback.push(performance.now() - t0),
          () => void out.failed++,
        ),
      );
    }, 1000 / rate);
    while (!stop) await new Promise((r) => setTimeout(r, 100));
    clearInterval(health);
    clearInterval(publish);
    await Promise.all(pending);
    out.healthz.sort((a, b) => a - b);
    out.puback.sort((a, b) => a - b);
    out.client = { p50: own.percentile(50) / 1e6, p99: own.percentile(99) / 1e6, max: own.max / 1e6 };
    return out;
  };

  // Reference: the same traffic, no long reads.
  await loopDelay();
  const reference = await measure(new Promise((r) => setTimeout(r, seconds * 1000)));
  const referenceLoop = await loopDelay();

  // Subject: a 31-day backtest of a rule for every site, and four 7-day histories at once.
  const end = info.now - 3600_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const timed = async <T>(p: Promise<T>) => {
    const t0 = performance.now();
    const value = await p;
    return { value, ms: performance.now() - t0 };
  };
  const backtestDays = Math.min(31, days);
  const backtest = timed(call(`${info.httpUrl}/api/rules/device-silent/backtest?from=${iso(end - backtestDays * DAY)}&to=${iso(end)}`, { method: 'POST', token: info.token }));
  const histories = [0, 1, 2, 3].map((k) => timed(call(`${info.httpUrl}/api/sites/demo-hotel/history?from=${iso(end - (k + 1) * 7 * DAY)}&to=${iso(end - k * 7 * DAY)}`, { token: info.token, gzip: true })));
  const all = Promise.all([backtest, ...histories]);
  const loaded = await measure(all);
  const loadedLoop = await loopDelay();
  const [bt, ...hs] = await all;

  device.end(true);
  await server.kill();
  await rm(dataDir, { recursive: true, force: true });

  const btBody = JSON.parse(bt.value.text) as { eventsScanned?: number; truncated?: boolean; reason?: string | null; error?: { code: string } };
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  const row = (name: string, l: Latencies, loop: LoopDelay) =>
    `  ${name.padEnd(22)} healthz p50 ${f(percentile(l.healthz, 50))}, p99 ${f(percentile(l.healthz, 99))}, max ${f(l.healthz.at(-1) ?? NaN)} (${l.healthz.length})` +
    ` | PUBACK p50 ${f(percentile(l.puback, 50))}, p99 ${f(percentile(l.puback, 99))}, max ${f(l.puback.at(-1) ?? NaN)} (${l.puback.length})` +
    ` | loop delay server p99 ${f(loop.p99)}, max ${f(loop.max)} (GC pause max ${f(loop.gcMax ?? NaN)}); client max ${f(l.client.max)}${l.failed > 0 ? ` | ${l.failed} FAILED` : ''}`;
  console.log(`StoreTwin long reads beside live traffic: ${info.events.toLocaleString('en')} events (${days} days of the busy demo hotel, seeded in ${(info.seedMs / 1000).toFixed(1)} s)`);
  console.log(
    `  backtest ${backtestDays} d (device-silent, every site): HTTP ${bt.value.status}, ${btBody.eventsScanned?.toLocaleString('en') ?? btBody.error?.code} events in ${(bt.ms / 1000).toFixed(1)} s` +
      `${btBody.truncated ? ` (truncated: ${btBody.reason})` : ''}`,
  );
  console.log(`  4 × history 7 d (gzip): ${hs.map((h) => `HTTP ${h.value.status} ${(h.ms / 1000).toFixed(1)} s ${(h.value.wire / 1024).toFixed(0)} KiB`).join(', ')}`);
  console.log(row('reference (idle)', reference, referenceLoop));
  console.log(row('with the long reads', loaded, loadedLoop));
  const ratio = (p: number, pick: (l: Latencies) => number[]) => (percentile(pick(loaded), p) / percentile(pick(reference), p)).toFixed(2);
  console.log(`  ratio loaded/reference: healthz p99 ${ratio(99, (l) => l.healthz)}×, PUBACK p99 ${ratio(99, (l) => l.puback)}×`);
  // p99, not max: on a shared 2-core machine the idle reference has stalls over 100 ms too (the
  // client's own loop delay shows them); the max of both phases is printed above.
  const healthP99 = percentile(loaded.healthz, 99);
  const pubackP99 = percentile(loaded.puback, 99);
  const met = healthP99 < 100 && pubackP99 < 100 && loaded.failed === 0;
  console.log(`  bar: /healthz p99 under 100 ms (${f(healthP99)}) and PUBACK p99 under 100 ms (${f(pubackP99)}) with the long reads → ${met ? 'met' : 'NOT met'}`);
  process.exit(0);
}
