/**
 * Platform pushes into the embedded storage (issue 10): how many CTWing `dataReport` pushes a
 * second one integration sustains, each an AA55 alarm frame in `APPdata` for one of N registered
 * door sensors, decoded by the device codec, deduplicated, group-committed to SQLite before the
 * 200 — against a reference measured in the same run: a bare Node HTTP server on the same
 * machine that reads the same bodies, parses the JSON and answers 200 (the HTTP ceiling of this
 * machine, no storage).
 *
 *   npx tsx bench/push.bench.ts [--devices 100] [--concurrency 64] [--seconds 5] [--rounds 3]
 *   (or BENCH_DEVICES, BENCH_CONCURRENCY, BENCH_SECONDS, BENCH_ROUNDS)
 *
 * Rounds interleave the two so drift on a shared machine lands on both; medians are reported.
 * Every push answered `accepted` must be stored (counted in the database at the end).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createApp } from '../server/app.ts';
import { testConfig } from '../tests/helpers/app.ts';
import { createLogger } from '../server/observability/logger.ts';
import { BENCH_SITE, benchZone } from './lib/devices.ts';
import { positiveOption } from './lib/options.ts';
import { quantile } from './lib/report.ts';

const { values } = parseArgs({ options: { devices: { type: 'string' }, concurrency: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
const DEVICES = positiveOption(values, 'devices', 100, true);
const CONCURRENCY = positiveOption(values, 'concurrency', 64, true);
const SECONDS = positiveOption(values, 'seconds', 5, false);
const ROUNDS = positiveOption(values, 'rounds', 3, true);

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** The AA55 alarm frame (door open / closed by seq), checksum computed. */
function aa55(open: boolean): Buffer {
  const body = Buffer.from([0x01, 0x03, 0x0a, open ? 1 : 0, 0, 0, 0, 0, 0, 0x28, 0x0c, 0, 0]);
  const sum = body.reduce((a, b) => (a + b) & 0xff, 0);
  return Buffer.concat([Buffer.from([0xaa, 0x55]), body, Buffer.from([sum])]);
}
const FRAMES = [aa55(false).toString('base64'), aa55(true).toString('base64')];

function pushBody(device: number, sn: number): string {
  return `{"upPacketSN":${sn},"upDataSN":${sn},"topic":"ad","timestamp":${Date.now()},"tenantId":"10461180","serviceId":"","protocol":"tcp","productId":"15017085","payload":{"APPdata":"${FRAMES[sn % 2]}"},"messageType":"dataReport","deviceType":"","deviceId":"bench-ct-${device}","assocAssetId":"","IMSI":"","IMEI":""}`;
}

function post(url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  accepted: number;
  errors: number;
}

let nextSn = 0;

async function drive(url: URL, countAccepted: boolean): Promise<Run> {
  const deadline = performance.now() + SECONDS * 1000;
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const sn = nextSn++;
        const started = performance.now();
        const res = await post(url, pushBody(sn % DEVICES, sn));
        latencies.push(performance.now() - started);
        if (res.status !== 200) {
          errors++;
          if (errors === 1) console.log(`  first error: ${res.status} ${res.text.slice(0, 200)}`);
        }
        else if (countAccepted && res.text.includes('"accepted":1')) accepted++;
      }
    }),
  );
  const sorted = Float64Array.from(latencies).sort();
  return { perSecond: latencies.length / SECONDS, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), accepted, errors };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-push-bench-'));
  // The per-integration push budget (200/s by default) is lifted: this measures what the pipeline
  // sustains, not the budget.
  const config = testConfig(dataDir, {
    integrations: { pushRate: { perSecond: 1_000_000, burst: 1_000_000 } },
  });
  const app = await createApp(config, { logger: createLogger({ level: 'silent' }) });
  const addresses = await app.listen();
  const integration = await app.integrations.create({ adapter: 'ctwing', site: BENCH_SITE });
  for (let i = 0; i < DEVICES; i++) {
    await app.devices.register({ id: `bench-ct-door-${i}`, site: BENCH_SITE, type: 'door-sensor', zone: benchZone(i), externalIds: { ctwing: `bench-ct-${i}` } });
  }
  const storeTwinUrl = new URL(`${addresses.httpUrl}/api/ingest/ctwing?token=${integration.token}`);

  // The reference: the same bytes read, parsed and answered, nothing stored.
  const bare = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = new URL(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`);

  console.log(`push bench: CTWing dataReport (AA55 frame in APPdata), ${DEVICES} devices, ${CONCURRENCY} in flight, ${SECONDS} s × ${ROUNDS} rounds`);
  const ours: Run[] = [];
  const refs: Run[] = [];
  let accepted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const r = await drive(storeTwinUrl, true);
    const b = await drive(bareUrl, false);
    ours.push(r);
    refs.push(b);
    accepted += r.accepted;
    console.log(`  round ${round + 1}: StoreTwin ${r.perSecond.toFixed(0)} pushes/s (p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors) · bare HTTP ${b.perSecond.toFixed(0)}/s (p50 ${b.p50.toFixed(1)} ms)`);
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ourRate = median(ours.map((r) => r.perSecond));
  const refRate = median(refs.map((r) => r.perSecond));
  await app.ingest.stop();
  const stored = app.storage.db.prepare("SELECT count(*) AS n FROM events WHERE device LIKE 'bench-ct-door-%' AND type = 'door'").get() as { n: number };
  console.log(`median: StoreTwin ${ourRate.toFixed(0)} pushes/s, p50 ${median(ours.map((r) => r.p50)).toFixed(1)} ms, p99 ${median(ours.map((r) => r.p99)).toFixed(1)} ms`);
  console.log(`median: bare HTTP reference ${refRate.toFixed(0)} requests/s`);
  console.log(`ratio StoreTwin / reference: ${(ourRate / refRate).toFixed(2)}×`);
  console.log(`accepted ${accepted} pushes, stored ${stored.n} door events${stored.n === accepted ? ' (all of them)' : ' — MISMATCH'}`);
  agent.destroy();
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  await app.stop();
  await rm(dataDir, { recursive: true, force: true });
  if (stored.n !== accepted) process.exitCode = 1;
}

await main();
