/**
 * The 3D twin under load in a real headless Chromium (Debian's /usr/bin/chromium, WebGL via
 * SwiftShader): a generated 1,000-room, 10-floor site receiving 1,000 state changes per second,
 * against a reference in the same run — the same site receiving 10 changes per second.
 * Prints draw calls, triangles, the view's CPU time per frame, frames per second and the
 * updates that got through. Needs `npm run build` first.
 *   npx tsx bench/twin.bench.ts [--seconds 8] [--rooms 1000] [--floors 10]
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import { launchBrowser } from '../tests/helpers/browser.ts';
import { writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, rooms: { type: 'string', default: '1000' }, floors: { type: 'string', default: '10' } },
});
const dist = path.join(import.meta.dirname, '..', 'dashboard', 'dist');
if (!existsSync(path.join(dist, 'twin-demo.html'))) throw new Error('dashboard/dist/twin-demo.html is missing: run `npm run build` first');

const app = express().use(express.static(dist));
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await launchBrowser();

interface Stats {
  drawCalls: number;
  triangles: number;
  frameMs: number;
  updatesPerSecond: number;
  fps: number;
}

async function measure(rate: number): Promise<Stats> {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${base}/twin-demo.html?perf=1&rate=${rate}&rooms=${values.rooms}&floors=${values.floors}`);
  await page.waitForFunction(() => (globalThis as unknown as { __twinPerf?: { ready: boolean } }).__twinPerf?.ready === true, null, { timeout: 60_000 });
  const samples: Stats[] = [];
  for (let s = 0; s < Number(values.seconds); s++) {
    await page.waitForTimeout(1000);
    if (s >= 2) samples.push(await page.evaluate(() => (globalThis as unknown as { __twinPerf: { stats(): Stats } }).__twinPerf.stats()));
  }
  await page.close();
  const mean = (k: keyof Stats) => samples.reduce((a, b) => a + b[k], 0) / samples.length;
  return { drawCalls: mean('drawCalls'), triangles: mean('triangles'), frameMs: mean('frameMs'), updatesPerSecond: mean('updatesPerSecond'), fps: mean('fps') };
}

const reference = await measure(10);
const subject = await measure(1000);
const row = (name: string, s: Stats) =>
  `${name.padEnd(28)} ${s.drawCalls.toFixed(0).padStart(5)} ${s.triangles.toFixed(0).padStart(9)} ${s.frameMs.toFixed(2).padStart(8)} ${s.fps.toFixed(1).padStart(6)} ${s.updatesPerSecond.toFixed(0).padStart(9)}`;
console.log(`StoreTwin 3D twin in headless Chromium (SwiftShader WebGL), ${values.rooms} rooms on ${values.floors} floors, 1280×720`);
console.log(`${''.padEnd(28)} draws triangles  cpu ms/f    fps  updates/s`);
console.log(row('reference (10 changes/s)', reference));
console.log(row('subject (1,000 changes/s)', subject));
console.log(`ratio subject/reference: cpu ms/frame ${(subject.frameMs / reference.frameMs).toFixed(2)}×, fps ${(subject.fps / reference.fps).toFixed(2)}×`);
console.log(`results: ${path.relative(process.cwd(), writeResult('twin', values, { reference, subject, frameMsRatio: subject.frameMs / reference.frameMs }))}`);
await browser.close();
server.close();
