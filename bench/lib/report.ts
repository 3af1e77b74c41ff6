/**
 * What every benchmark prints and keeps: the machine it ran on, medians, number formatting,
 * and a JSON record under bench/results/<scenario>.json (BENCHMARKS.md quotes those).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Machine {
  cores: number;
  cpu: string;
  memoryMB: number;
  node: string;
  os: string;
  loadAverage: number[];
}

export function machine(): Machine {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    os: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

export function describeMachine(m: Machine = machine()): string {
  return `machine: ${m.cores} cores (${m.cpu}), ${fmt(m.memoryMB / 1024, 1)} GiB, node ${m.node}, ${m.os}, load average ${m.loadAverage.join(' ')}`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

export const mb = (bytes: number): number => bytes / (1024 * 1024);

/** The sorted sample's q-quantile (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
    sxx += xs[i]! * xs[i]!;
    sxy += xs[i]! * ys[i]!;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

export const RESULTS_DIR = path.join(import.meta.dirname, '..', 'results');

/**
 * Writes bench/results/<scenario>.json: the machine, when, how it was run, and the figures.
 * A quick run (CI) writes under bench/results/quick/ instead, and never replaces a full run's record.
 */
export function writeResult(scenario: string, options: object, figures: object): string {
  const dir = quickRequested() ? path.join(RESULTS_DIR, 'quick') : RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${scenario}.json`);
  const record = { scenario, at: new Date().toISOString(), machine: machine(), options, figures };
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

/** True when the suite runs with --quick (CI: everything runs, nothing is judged). */
export function quickRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--quick') || process.env.BENCH_QUICK === '1';
}
