/**
 * Soak: the demo (both sites, all their simulated devices) accelerated so that simulated hours
 * pass in seconds, with a door flapping in an armed room through the middle third of the run.
 * Every 10 s the server collects its garbage (a full GC, on a signal the fixture answers) and
 * its RSS, V8 heap and queues (outbox deliveries pending, alarms not closed out) are sampled;
 * after the warm-up they must be flat: the slopes are printed per simulated hour.
 *
 *   npx tsx bench/soak.bench.ts [--minutes 4] [--speed 120] [--warmup 60] [--flap-hz 20] [--quick]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../server/storage/sqlite/index.ts';
import { connectDevice } from '../tests/helpers/mqtt.ts';
import { rssBytes, startChild } from './lib/child.ts';
import { positiveOption } from './lib/options.ts';
import { describeMachine, fmt, mb, quickRequested, slope, writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, speed: { type: 'string' }, warmup: { type: 'string' }, 'flap-hz': { type: 'string' }, quick: { type: 'boolean' } },
});
const quick = quickRequested();
const opts = {
  minutes: positiveOption(values, 'minutes', quick ? 0.75 : 4, false),
  speed: positiveOption(values, 'speed', 120, false),
  warmupS: positiveOption(values, 'warmup', quick ? 15 : 60, false),
  flapHz: positiveOption(values, 'flap-hz', 20, false),
};
const SAMPLE_MS = quick ? 5000 : 10_000;

interface Info {
  httpUrl: string;
  mqttUrl: string;
  token: string;
  sensors: Array<{ id: string; zone: string; secret: string }>;
  dataDir: string;
}

interface Sample {
  seconds: number;
  rssMB: number;
  heapMB: number;
  outboxPending: number;
  alarmsLive: number;
}

/** storetwin_nodejs_heap_size_used_bytes from /metrics. */
async function heapUsed(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = /^storetwin_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

console.log('StoreTwin soak: the demo accelerated, plus a door flapping in an armed room');
console.log(describeMachine());
console.log(
  `${opts.minutes} min at demo speed ${opts.speed} (${fmt((opts.minutes * opts.speed) / 60, 1)} simulated hours), warm-up ${opts.warmupS} s, ` +
    `door flapping at ${opts.flapHz} Hz through the middle third, samples every ${SAMPLE_MS / 1000} s`,
);
const server = await startChild<Info>(path.join(import.meta.dirname, 'fixtures', 'demo-server.ts'), ['1', '0', String(opts.speed)], 120_000, ['--expose-gc']);
const { info } = server;
const db = openDatabase(path.join(info.dataDir, 'storetwin.db'), { readonly: true });
const pendingStmt = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM deliveries WHERE state = 'pending'");
const liveStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM alarms WHERE live = 1');
const flapper = info.sensors[0]!;
const client = await connectDevice(info.mqttUrl, flapper.id, flapper.secret);
const topic = `storetwin/demo-hotel/${flapper.id}/up`;

const totalMs = opts.minutes * 60_000;
const began = Date.now();
const samples: Sample[] = [];
let seq = 0;
let flapping: NodeJS.Timeout | undefined;
let flaps = 0;
try {
  while (Date.now() - began < totalMs) {
    const elapsed = Date.now() - began;
    const inMiddle = elapsed >= totalMs / 3 && elapsed < (2 * totalMs) / 3;
    if (inMiddle && !flapping) {
      flapping = setInterval(() => {
        flaps++;
        void client.publishAsync(topic, JSON.stringify({ type: 'door', state: flaps % 2 ? 'open' : 'closed', seq: ++seq }), { qos: 1 }).catch(() => undefined);
      }, 1000 / opts.flapHz);
    } else if (!inMiddle && flapping) {
      clearInterval(flapping);
      flapping = undefined;
    }
    // A full collection first: the sample is what the server retains (a leak), not garbage V8
    // has not collected yet (it postpones full collections while memory is plentiful).
    server.process.kill('SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const s: Sample = {
      seconds: elapsed / 1000,
      rssMB: mb(rssBytes(server.pid)),
      heapMB: mb(await heapUsed(info.httpUrl)),
      outboxPending: pendingStmt.get()!.n,
      alarmsLive: liveStmt.get()!.n,
    };
    samples.push(s);
    console.log(
      `  ${fmt(s.seconds).padStart(4)} s (sim ${fmt((s.seconds * opts.speed) / 3600, 1).padStart(4)} h)  RSS ${fmt(s.rssMB, 1)} MB  heap ${fmt(s.heapMB, 1)} MB  ` +
        `outbox pending ${s.outboxPending}  live alarms ${s.alarmsLive}${flapping ? '  (door flapping)' : ''}`,
    );
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
} finally {
  clearInterval(flapping);
  await client.endAsync(true);
  db.close();
  await server.kill();
}

const after = samples.filter((s) => s.seconds >= opts.warmupS);
const simHours = after.map((s) => (s.seconds * opts.speed) / 3600);
const figures = {
  simulatedHours: (opts.minutes * opts.speed) / 60,
  doorFlaps: flaps,
  samplesAfterWarmup: after.length,
  rssSlopeMBPerSimHour: slope(simHours, after.map((s) => s.rssMB)),
  heapSlopeMBPerSimHour: slope(simHours, after.map((s) => s.heapMB)),
  outboxPendingSlopePerSimHour: slope(simHours, after.map((s) => s.outboxPending)),
  rssFirstMB: after[0]?.rssMB ?? Number.NaN,
  rssLastMB: after.at(-1)?.rssMB ?? Number.NaN,
  maxOutboxPending: Math.max(...samples.map((s) => s.outboxPending)),
};
console.log(
  `after warm-up (${after.length} samples over ${fmt(simHours.at(-1)! - simHours[0]!, 1)} simulated hours): ` +
    `RSS ${fmt(figures.rssFirstMB, 1)} → ${fmt(figures.rssLastMB, 1)} MB, slope ${fmt(figures.rssSlopeMBPerSimHour, 2)} MB per simulated hour; ` +
    `heap slope ${fmt(figures.heapSlopeMBPerSimHour, 2)} MB/h; outbox pending slope ${fmt(figures.outboxPendingSlopePerSimHour, 2)}/h (max ${figures.maxOutboxPending})`,
);
console.log(`results: ${path.relative(process.cwd(), writeResult('soak', opts, { ...figures, samples }))}`);
process.exit();
