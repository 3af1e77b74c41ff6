/**
 * Timeout, late pictures and retention, with a ManualClock. The command transport is the
 * linker's injected sendCommand (recorded here); the real broker path is linkage.test.ts.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createSnapshotRowStore } from '../../server/stores.ts';
import { loadedDirectory } from '../helpers/registry.ts';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderSnapshot } from '../../devices/shared/snapshot.ts';
import type { Alarm, SnapshotStatus } from '../../server/alarms/types.ts';
import { ManualClock } from '../../server/clock.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { EventBus } from '../../server/events.ts';
import { SnapshotLinker } from '../../server/linkage/linker.ts';
import { SnapshotStore } from '../../server/linkage/snapshot-store.ts';

import { SiteCatalog } from '../../server/sites/catalog.ts';

const SHOP = 'demo-shop';
const jpegBytes = () => renderSnapshot({ label: 'Cash room', time: '02:14:07', hour: 2, zoneKind: 'cash-room', people: 1, random: Math.random });

function alarm(zone: string): Alarm {
  const at = '2026-11-23T02:00:00.000Z';
  return {
    id: `alarm-${zone}`, site: SHOP, zone, device: null, rule: 'r', source: zone, severity: 'critical', state: 'active', acknowledged: false,
    message: { en: 'x', 'zh-CN': 'x' }, count: 1, firstAt: at, lastAt: at, acknowledgedAt: null, acknowledgedBy: null, clearedAt: null,
    clearedBy: null, escalationLevel: 0, snapshot: null, latched: false, restoredAt: null, chattering: false, details: {}, history: [],
  };
}

describe('SnapshotLinker timing and SnapshotStore retention', () => {
  let sites: SiteCatalog;
  let dir: string;
  let storage: SqliteStorage;
  let clock: ManualClock;
  let bus: EventBus;
  let store: SnapshotStore;
  let linker: SnapshotLinker;
  let statuses: Array<{ id: string; snapshot: SnapshotStatus }>;
  let commands: Array<{ site: string; device: string; cmd: Record<string, unknown> }>;

  beforeAll(async () => {
    sites = await SiteCatalog.load([resolve(REPO_ROOT, 'sites')]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-linkage-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    await storage.devices.register([{
      id: 'shop-cam-cash', site: SHOP, type: 'camera', zone: 'cash-room', label: null, position: null, externalIds: {}, enabled: true,
      secretHash: 'x', createdAt: '2026-11-23T00:00:00.000Z', updatedAt: '2026-11-23T00:00:00.000Z',
    }]);
    clock = new ManualClock(Date.parse('2026-11-23T02:00:00Z'));
    bus = new EventBus();
    statuses = [];
    commands = [];
    store = new SnapshotStore({ rows: createSnapshotRowStore({ kind: 'sqlite', db: storage.db }), dataDir: dir, clock, retentionDays: 30 });
    linker = new SnapshotLinker({
      bus,
      alarms: { attachSnapshot: (id, snapshot) => (statuses.push({ id, snapshot }), Promise.resolve(null)) },
      sites,
      registry: await loadedDirectory(storage),
      sendCommand: async (site, device, cmd) => void commands.push({ site, device, cmd }),
      store,
      clock,
      timeoutMs: 5000,
      lateMs: 60_000,
    });
    linker.start();
  });
  afterEach(async () => {
    linker.stop();
    store.stop();
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const settle = () => new Promise((r) => setTimeout(r, 20));
  async function until(check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('marks the snapshot failed after the timeout, and still attaches a late picture', async () => {
    bus.emit('alarm.changed', { alarm: alarm('cash-room'), action: 'raised' });
    await until(() => commands.length === 1);
    expect(commands).toEqual([{ site: SHOP, device: 'shop-cam-cash', cmd: { id: expect.stringMatching(/^snap-/), cmd: 'snapshot', alarm: 'alarm-cash-room' } }]);
    expect(statuses.map((s) => s.snapshot.status)).toEqual(['pending']);

    clock.advance(4999);
    expect(statuses).toHaveLength(1);
    clock.advance(1);
    expect(statuses[1]!.snapshot).toEqual({ status: 'failed', camera: 'shop-cam-cash', reason: 'no picture within 5000 ms' });

    clock.advance(10_000);
    bus.emit('snapshot.received', { site: SHOP, device: 'shop-cam-cash', commandId: commands[0]!.cmd.id as string, jpeg: jpegBytes(), at: new Date(clock.now()).toISOString() });
    await until(() => statuses.length === 3);
    expect(statuses[2]!.snapshot).toMatchObject({ status: 'attached', camera: 'shop-cam-cash' });
    expect(linker.pendingCount()).toBe(0);
  });

  it('ignores unsolicited pictures, repeats that already have a status, and commands from other cameras', async () => {
    bus.emit('snapshot.received', { site: SHOP, device: 'shop-cam-cash', commandId: 'made-up', jpeg: jpegBytes(), at: new Date().toISOString() });
    const a = alarm('cash-room');
    bus.emit('alarm.changed', { alarm: { ...a, snapshot: { status: 'none', reason: 'x' } }, action: 'repeated' });
    bus.emit('alarm.changed', { alarm: a, action: 'acknowledged' });
    await settle();
    expect(commands).toEqual([]);
    bus.emit('alarm.changed', { alarm: a, action: 'repeated' });
    await until(() => commands.length === 1);
    bus.emit('snapshot.received', { site: SHOP, device: 'shop-cam-hall-sw', commandId: commands[0]!.cmd.id as string, jpeg: jpegBytes(), at: new Date().toISOString() });
    await settle();
    expect(statuses.map((s) => s.snapshot.status)).toEqual(['pending']);
  });

  it('deletes snapshots older than the retention on the hourly sweep', async () => {
    store.start();
    const old = await store.put({ site: SHOP, camera: 'shop-cam-cash', jpeg: jpegBytes(), takenAt: clock.now() });
    clock.advance(29 * 24 * 3600_000);
    const recent = await store.put({ site: SHOP, camera: 'shop-cam-cash', jpeg: jpegBytes(), takenAt: clock.now() });
    expect(existsSync(store.filePath(old.id))).toBe(true);
    // Day 30 plus the next hourly sweep.
    clock.advance(24 * 3600_000 + 3600_000);
    await until(async () => (await store.get(old.id)) === null);
    expect(await store.get(old.id)).toBeNull();
    expect(existsSync(store.filePath(old.id))).toBe(false);
    expect(await store.get(recent.id)).not.toBeNull();
    expect(await store.read(recent.id)).toHaveLength(recent.bytes);
  });
});
