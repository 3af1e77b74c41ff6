/**
 * One alarm per incident, latching and chattering (issue 7, ISA-18.2): a security alarm stays
 * until someone acknowledges it, re-triggers fold into the alarm until it is closed out, and a
 * source that changes state too often is marked chattering.
 */
import { openSqliteStorage } from '../../server/sqlite-storage.ts';
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatterDetector } from '../../server/alarms/chatter.ts';
import { apply, closedOut, raise } from '../../server/alarms/state-machine.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import { MIGRATIONS } from '../../server/storage/sqlite/migrations.ts';

import { createAlarmFixture, trigger, type AlarmFixture } from './fixture.ts';

const T0 = '2026-11-23T02:14:07.000Z';
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

describe('latching in the state machine', () => {
  const latched = () => raise(trigger({ at: T0, latch: true, autoClear: true }), 'a1');

  it('a latched alarm records restored and stays active; the acknowledgement closes it out', async () => {
    const restored = apply(latched(), { action: 'restored', at: at(800), by: 'rule:door-armed' });
    expect(restored).toMatchObject({ state: 'active', acknowledged: false, restoredAt: at(800), clearedAt: null });
    const acked = apply(restored, { action: 'acknowledged', at: at(60_000), by: 'night-manager' });
    expect(acked).toMatchObject({ state: 'cleared', acknowledged: true, clearedBy: 'night-manager', acknowledgedBy: 'night-manager' });
    expect(closedOut(acked)).toBe(true);
    expect(acked.history.map((h) => h.action)).toEqual(['raised', 'restored', 'acknowledged', 'cleared']);
  });

  it('acknowledged while the condition holds, it clears when the condition ends', async () => {
    const acked = apply(latched(), { action: 'acknowledged', at: at(1000), by: 'op' });
    expect(acked.state).toBe('acknowledged');
    const restored = apply(acked, { action: 'restored', at: at(5000), by: 'rule:door-armed' });
    expect(restored).toMatchObject({ state: 'cleared', acknowledged: true, clearedBy: 'rule:door-armed' });
  });

  it('a non-latched alarm clears itself on restore, and stays listed until acknowledged', async () => {
    const plain = raise(trigger({ at: T0, autoClear: true }), 'a2');
    const restored = apply(plain, { action: 'restored', at: at(1000), by: 'rule:x' });
    expect(restored).toMatchObject({ state: 'cleared', acknowledged: false });
    expect(closedOut(restored)).toBe(false);
  });

  it('a re-trigger folds into a restored or cleared-unacknowledged alarm and opens it again, recorded once', async () => {
    const restored = apply(latched(), { action: 'restored', at: at(500), by: 'rule:door-armed' });
    const again = apply(restored, { action: 'repeated', at: at(700), severity: 'major', message: restored.message });
    expect(again).toMatchObject({ count: 2, restoredAt: null, state: 'active' });
    expect(again.history.at(-1)).toMatchObject({ action: 'repeated', detail: { again: true, count: 2 } });

    const plain = apply(raise(trigger({ at: T0 }), 'a3'), { action: 'cleared', at: at(100), by: 'rule:x' });
    const reopened = apply(plain, { action: 'repeated', at: at(200), severity: 'major', message: plain.message });
    expect(reopened).toMatchObject({ state: 'active', count: 2, clearedAt: null, clearedBy: null });
    expect(reopened.history.at(-1)).toMatchObject({ action: 'repeated', detail: { reopened: true } });
    // A plain repeat of an active alarm is counted, not listed.
    const counted = apply(reopened, { action: 'repeated', at: at(300), severity: 'major', message: plain.message });
    expect(counted.history).toHaveLength(reopened.history.length);
  });
});

describe('one alarm per incident in the service', () => {
  let f: AlarmFixture;
  beforeEach(() => {
    f = createAlarmFixture();
  });
  afterEach(() => f.close());

  const door = (ms: number) => trigger({ rule: 'door-opened-armed', severity: 'critical', latch: true, autoClear: true, at: at(ms) });
  const closed = (ms: number) => f.service.resolve('door-opened-armed', 'door-101', at(ms));

  it('three flaps in a second are one critical alarm, count 3, still listed after the door closed', async () => {
    for (const ms of [0, 300, 600]) {
      await f.service.raise(door(ms));
      await closed(ms + 150);
    }
    const listed = (await f.service.list({ state: 'open', limit: 10 })).items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ severity: 'critical', count: 3, state: 'active', acknowledged: false, restoredAt: at(750), latched: true });
    // Every change of the one alarm went through the planner (which notifies only the raise:
    // tests/server/alarm-flow.test.ts), and nothing else was raised.
    expect(f.deliveries(listed[0]!.id).map((d) => JSON.parse(d.payload).action)).toEqual(['raised', 'restored', 'repeated', 'restored', 'repeated', 'restored']);
    expect(f.deliveries().every((d) => d.alarm === listed[0]!.id)).toBe(true);

    await f.service.acknowledge(listed[0]!.id, 'night-manager');
    expect((await f.service.list({ state: 'open', limit: 10 })).items).toEqual([]);
    // Closed out: the next opening is a new incident.
    const next = (await f.service.raise(door(5000)))!;
    expect(next.id).not.toBe(listed[0]!.id);
    expect(next.count).toBe(1);
  });

  it('a cleared-unacknowledged alarm takes the next trigger of its source instead of a new alarm', async () => {
    const first = (await f.service.raise(trigger({ autoClear: true, at: at(0) })))!;
    await f.service.resolve('door-armed', 'door-101', at(1000));
    expect(await f.service.get(first.id)).toMatchObject({ state: 'cleared', acknowledged: false });
    const again = (await f.service.raise(trigger({ autoClear: true, at: at(2000) })))!;
    expect(again).toMatchObject({ id: first.id, state: 'active', count: 2, clearedAt: null });
    const row = f.db.prepare('SELECT open, cleared_at FROM alarms WHERE id = ?').get(first.id);
    expect(row).toEqual({ open: 1, cleared_at: null });
  });

  it('the stored fold agrees with the state machine', async () => {
    await f.service.raise(door(0));
    await closed(100);
    const after = (await f.service.raise(door(200)))!;
    expect(await f.service.get(after.id)).toEqual(after);
  });

  it('marks a chattering source once, counts it, and keeps one alarm', async () => {
    let alarm = null;
    for (let i = 0; i < 10; i++) {
      alarm = await f.service.raise(door(i * 1000));
      await closed(i * 1000 + 400);
    }
    const stored = (await f.service.get(alarm!.id))!;
    expect(stored).toMatchObject({ chattering: true, count: 10 });
    expect((await f.service.list({ state: 'open', limit: 10 })).items).toHaveLength(1);
    const metrics = await f.metrics.registry.getSingleMetricAsString('storetwin_alarms_chattering_total');
    expect(metrics).toContain('storetwin_alarms_chattering_total{rule="door-opened-armed"} 1');
  });
});

describe('ChatterDetector', () => {
  it('chatters above the number of changes within the window, and not when they are spread out', async () => {
    const d = new ChatterDetector({ changes: 4, windowMs: 10_000 });
    expect([0, 1000, 2000, 3000].map((t) => d.note('a', t))).toEqual([false, false, false, false]);
    expect(d.note('a', 4000)).toBe(true);
    const slow = new ChatterDetector({ changes: 4, windowMs: 10_000 });
    expect([0, 5000, 10_000, 15_000, 20_000, 25_000].some((t) => slow.note('b', t))).toBe(false);
    slow.forget('b');
    expect(slow.size()).toBe(0);
  });
});

describe('migration 4', () => {
  it('keeps the newest of several cleared-unacknowledged alarms of one source live, and folds into it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storetwin-mig4-'));
    try {
      const file = join(dir, 'storetwin.db');
      // A database as the previous release left it: three flaps made three alarms.
      const old = new BetterSqlite3(file);
      for (let i = 0; i < 3; i++) old.exec(MIGRATIONS[i]!);
      old.pragma('user_version = 3');
      const insert = old.prepare(
        `INSERT INTO alarms (id, site, zone, device, rule, source, severity, open, acknowledged, message, count, first_at, last_at, details)
         VALUES (?, 'demo-hotel', '2-14', 'door-2-14', 'door-opened-armed', 'door-2-14', 'critical', 0, ?, '{"en":"x","zh-CN":"x"}', 1, ?, ?, '{}')`,
      );
      insert.run('old-1', 0, 1000, 1000);
      insert.run('old-2', 0, 2000, 2000);
      insert.run('old-3', 1, 3000, 3000);
      old.close();

      const storage = openSqliteStorage(file);
      try {
        const rows = storage.db.prepare('SELECT id, live FROM alarms ORDER BY id').all();
        expect(rows).toEqual([
          { id: 'old-1', live: 0 },
          { id: 'old-2', live: 1 },
          { id: 'old-3', live: 0 },
        ]);
        const store = new SqliteAlarmStore(storage.db);
        // A new alarm of that source meets the live one: it folds into old-2 (the service repeats it).
        const candidate = raise(trigger({ rule: 'door-opened-armed', source: 'door-2-14', at: T0 }), 'new');
        expect(await store.commit({ writes: [{ kind: 'create', alarm: candidate, history: candidate.history }], deliveries: [], now: 0 })).toBe('conflict');
        expect((await store.findLive('door-opened-armed', 'door-2-14'))!.id).toBe('old-2');
        // Commenting on the older one must not make it live again (the unique index would refuse).
        const older = (await store.get('old-1'))!;
        const commented = apply(older, { action: 'commented', at: T0, by: 'op', comment: 'seen' });
        expect(await store.commit({ writes: [{ kind: 'update', before: older, after: commented, history: commented.history.slice(older.history.length) }], deliveries: [], now: 0 })).toBe('committed');
        expect(storage.db.prepare("SELECT live FROM alarms WHERE id = 'old-1'").get()).toEqual({ live: 0 });
      } finally {
        storage.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
