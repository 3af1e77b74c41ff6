/**
 * The main SQLite connection shares the file with the event writer thread, which is inside a
 * write transaction much of the time under load. A transaction on the main connection that
 * reads before it writes must wait for the writer's lock (busy_timeout), not fail at once:
 * begun DEFERRED, its read would hold a snapshot and its write could then only fail with
 * SQLITE_BUSY (a device's secret re-hash at login failed so, answered "server unavailable").
 * Every write transaction of the stores is IMMEDIATE; here the device store's update, with a
 * real second connection in a real thread holding the write lock.
 */
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { tempDir } from '../helpers/app.ts';
import { device } from '../registry/device-store.contract.ts';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** Another connection, in a thread of its own, holding the write lock for `ms` (as the event writer does during a commit). */
function holdWriteLock(file: string, ms: number): Promise<{ held: Promise<void> }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.file);
     db.exec('BEGIN IMMEDIATE');
     db.prepare("UPDATE settings SET value = value WHERE key = 'none'").run();
     parentPort.postMessage('locked');
     setTimeout(() => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released'); }, workerData.ms);`,
    { eval: true, workerData: { module: BETTER_SQLITE3, file, ms } },
  );
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => resolve({ held: new Promise((r) => worker.once('message', () => r())) }));
  });
}

let dir: string;
let storage: SqliteStorage;

afterEach(async () => {
  storage?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('write transactions beside the event writer thread', () => {
  it('wait for another connection’s write lock instead of failing with SQLITE_BUSY', async () => {
    dir = await tempDir('storetwin-write-lock-');
    const file = join(dir, 'storetwin.db');
    storage = openSqliteStorage(file);
    await storage.devices.register([device('door-1')]);
    // The main connection has read before (as a running server has): its next transaction
    // would start from a snapshot.
    expect((await storage.devices.get('door-1'))?.enabled).toBe(true);

    const { held } = await holdWriteLock(file, 300);
    const began = Date.now();
    const updated = await storage.devices.update('door-1', { enabled: false });
    expect(updated?.enabled).toBe(false);
    // It waited for the other connection's commit.
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    await held;
  });
});
