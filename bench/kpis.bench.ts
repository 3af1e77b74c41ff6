/**
 * Response KPIs over many alarms: how long `GET /api/kpis/response` takes
 * to read and compute N alarms through the real store on a SQLite file, and the longest the
 * event loop waited meanwhile (a 1 ms interval timer's largest gap), which is what ingest and
 * other requests feel. N defaults to MAX_KPI_ALARMS, the most one request may read.
 *
 *   npx tsx bench/kpis.bench.ts [N]
 */
import { openSqliteStorage } from '../server/sqlite-storage.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_KPI_ALARMS, ResponseKpis } from '../server/kpis/service.ts';

import { SqliteAlarmStore } from '../server/alarms/sqlite-store.ts';

const N = Number(process.argv[2] ?? MAX_KPI_ALARMS);
const SITES = ['demo-hotel', 'demo-shop'];
const T0 = Date.parse('2026-09-01T00:00:00Z');
const STEP_MS = Math.floor((90 * 86_400_000) / N);

const dir = mkdtempSync(join(tmpdir(), 'storetwin-kpi-bench-'));
const storage = openSqliteStorage(join(dir, 'storetwin.db'));
try {
  // Rows straight into the table (the alarm service's path is measured by bench:alarms): a
  // closed-out alarm every STEP_MS over 90 days, acknowledged after 0–15 min by one of 7 people.
  const insert = storage.db.prepare(
    `INSERT INTO alarms (id, site, zone, device, rule, source, severity, open, acknowledged, message, count, first_at, last_at,
       acknowledged_at, acknowledged_by, cleared_at, cleared_by, escalation, snapshot, details, latched, restored_at, chattering, live)
     VALUES (?, ?, NULL, NULL, ?, ?, ?, 0, 1, '{}', ?, ?, ?, ?, ?, ?, 'rule:r', 0, NULL, '{}', 0, NULL, 0, 0)`,
  );
  storage.db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const at = T0 + i * STEP_MS;
      const rule = ['door-opened-armed', 'device-silent', 'low-battery'][i % 3] as string;
      insert.run(`a-${i}`, SITES[i % 2], rule, `s-${i}`, i % 3 === 0 ? 'critical' : 'major', 1 + (i % 4), at, at + 1000, at + (i % 900) * 1000, `user-${i % 7}`, at + 1_200_000);
    }
  })();
  // The same gap measured with nothing to do, for as long as a run takes: on a loaded machine
  // the scheduler alone makes gaps, and they are not the read's.
  const idleGap = await new Promise<number>((resolve) => {
    let last = performance.now();
    let gap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 1);
    setTimeout(() => (clearInterval(timer), resolve(gap)), 3000);
  });
  console.log(`idle: longest event-loop gap over 3 s ${idleGap.toFixed(1)} ms`);
  const kpis = new ResponseKpis({ alarms: new SqliteAlarmStore(storage.db), targets: { critical: 120, major: 600, minor: 3600, warning: 3600, info: 86_400 }, now: () => Date.now() });
  for (let run = 1; run <= 3; run++) {
    let last = performance.now();
    let gap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 1);
    const start = performance.now();
    const report = await kpis.report({ sites: SITES, fromMs: T0, toMs: T0 + 92 * 86_400_000, by: 'user' });
    const ms = performance.now() - start;
    clearInterval(timer);
    console.log(`run ${run}: ${report.total.alarms} alarms by user in ${ms.toFixed(0)} ms, longest event-loop gap ${gap.toFixed(1)} ms`);
  }
} finally {
  storage.close();
  rmSync(dir, { recursive: true, force: true });
}
