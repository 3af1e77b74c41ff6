/**
 * The benchmark suite: every scenario in turn, each in its own process, each printing its
 * table and writing bench/results/<scenario>.json (BENCHMARKS.md quotes those).
 *
 *   npm run bench                 full runs (1,001 s on the 2-core machine; the twin needs `npm run build`)
 *   npm run bench -- --quick      every scenario briefly: CI runs this to prove they all work,
 *                                 without judging the figures
 *   npm run bench -- ingest soak  only these scenarios
 *
 * A scenario that finds something wrong — an acknowledged event not stored, an alarm missed,
 * a device that could not reconnect — exits non-zero, and so does the suite.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt } from './lib/report.ts';

interface Scenario {
  name: string;
  file: string;
  /** Arguments of a quick run. */
  quick: string[];
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'ingest', file: 'ingest.bench.ts', quick: ['--quick'] },
  { name: 'alarm-latency', file: 'alarm-latency.bench.ts', quick: ['--quick'] },
  { name: 'connections', file: 'connections.bench.ts', quick: ['--quick'] },
  { name: 'soak', file: 'soak.bench.ts', quick: ['--quick'] },
  { name: 'twin', file: 'twin.bench.ts', quick: ['--seconds', '3'] },
  { name: 'history', file: 'history.bench.ts', quick: ['--runs', '1'] },
  { name: 'overview', file: 'overview.bench.ts', quick: ['--quick'] },
  { name: 'scale-out', file: 'scale-out.bench.ts', quick: ['--quick'] },
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; the suite has ${SCENARIOS.map((s) => s.name).join(', ')}`);
const chosen = SCENARIOS.filter((s) => wanted.length === 0 || wanted.includes(s.name));

const failed: string[] = [];
const began = performance.now();
for (const s of chosen) {
  console.log(`\n=== ${s.name}${quick ? ' (quick)' : ''}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, s.file), ...(quick ? s.quick : [])], {
    stdio: 'inherit',
    // Quick runs keep their records apart (bench/results/quick/), whatever their arguments.
    env: quick ? { ...process.env, BENCH_QUICK: '1' } : process.env,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) failed.push(`${s.name} (${r.signal ?? `exit ${r.status}`})`);
  console.log(`=== ${s.name}: ${r.status === 0 ? 'done' : 'FAILED'} in ${fmt(seconds, 0)} s`);
}
console.log(`\nsuite: ${chosen.length - failed.length}/${chosen.length} scenarios done in ${fmt((performance.now() - began) / 1000, 0)} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
if (failed.length > 0) process.exitCode = 1;
