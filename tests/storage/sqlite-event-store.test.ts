import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEventQuery, RECENT_SEQS_SQL } from '../../server/storage/sqlite/event-store.ts';
import { openDatabase, SCHEMA_VERSION } from '../../server/storage/sqlite/index.ts';
import type { EventQuery, NewEvent } from '../../server/storage/types.ts';
import { eventStoreContract } from './event-store.contract.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRASH_FIXTURE = fileURLToPath(new URL('./fixtures/append-then-hang.ts', import.meta.url));

eventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-events-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    store: storage.events,
    cleanup: async () => {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

// The same contract with batches written by the writer thread, as the server writes them.
eventStoreContract('sqlite, writer thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-events-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'), { eventWriterThread: true });
  return {
    store: storage.events,
    cleanup: async () => {
      await storage.events.stop();
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

function ev(i: number): NewEvent {
  const ts = new Date(Date.parse('2026-11-23T02:14:07.000Z') + i * 1000).toISOString();
  return {
    site: 'site-a',
    device: `dev-${i % 3}`,
    deviceType: 'door-nb',
    zone: 'back-door',
    type: 'door',
    seq: i,
    ts,
    receivedAt: ts,
    data: { type: 'door', state: 'open', seq: i },
  };
}

describe('SqliteEventStore on a real file', () => {
  let dir: string;
  let file: string;
  const open: SqliteStorage[] = [];

  function openStorage(): SqliteStorage {
    const storage = openSqliteStorage(file);
    open.push(storage);
    return storage;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stw-sqlite-'));
    file = join(dir, 'nested', 'data', 'storetwin.db');
  });

  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the parent directory and sets the durability pragmas', () => {
    const { db } = openStorage();
    expect(existsSync(file)).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });

  it('keeps the data across close and reopen, without re-running migrations', async () => {
    const first = openStorage();
    await first.events.append([ev(1), ev(2), ev(3)]);
    first.close();

    const second = openStorage();
    expect(second.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const page = await second.events.query({ limit: 10, order: 'asc' });
    expect(page.items.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(page.items[0]?.data).toEqual(ev(1).data);
  });

  it.each([
    ['on the connection', 'inline'],
    ['by the writer thread', 'thread'],
  ])('keeps a committed batch when the process is killed right after append resolved (%s)', async (_label, mode) => {
    const count = 1000;
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_FIXTURE, file, String(count), mode], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    const committed = await new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'committed') {
          child.kill('SIGKILL');
          resolve(true);
        }
      });
      void exited.then(() => resolve(false));
    });
    expect(committed, `child exited before committing: ${stderr}`).toBe(true);
    expect(await exited).toBe('SIGKILL');

    // The commit sits in the -wal file (no checkpoint, no clean close): reopening must
    // recover it from there.
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const storage = openStorage();
    const page = await storage.events.query({ limit: 1000, order: 'asc' });
    expect(page.items).toHaveLength(count);
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('refuses a database written by a newer StoreTwin', () => {
    const first = openStorage();
    first.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    first.close();
    expect(() => openDatabase(file)).toThrow(/newer/);
  });

  it('opens read-only: reads work, writes fail, a missing file is an error', async () => {
    const rw = openStorage();
    await rw.events.append([ev(1)]);
    rw.close();

    const db = openDatabase(file, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
      expect(() => db.prepare("INSERT INTO settings (key, value) VALUES ('k', 'v')").run()).toThrow(/readonly/i);
    } finally {
      db.close();
    }
    expect(() => openDatabase(join(dir, 'missing.db'), { readonly: true })).toThrow();
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
  });

  it('keeps the hot events table to three indexes', () => {
    // Every index is paid on every insert; see the measurements in database.ts.
    const { db } = openStorage();
    const indexes = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
      .pluck()
      .all();
    expect(indexes).toEqual(['events_device_ts', 'events_received_at', 'events_site_ts']);
  });

  describe('query plans', () => {
    const cursor = Buffer.from('1795400047000:5').toString('base64url');
    const served: Array<[string, EventQuery, string]> = [
      ['site + range, desc', { site: 's', from: '2026-11-23T00:00:00Z', to: '2026-11-24T00:00:00Z', limit: 50 }, 'events_site_ts'],
      ['site + zone + type + cursor, asc', { site: 's', zone: 'z', type: 'door', cursor, order: 'asc', limit: 50 }, 'events_site_ts'],
      ['device + cursor, desc', { device: 'd', cursor, limit: 50 }, 'events_device_ts'],
      ['device + range, asc', { device: 'd', from: '2026-11-23T00:00:00Z', order: 'asc', limit: 50 }, 'events_device_ts'],
    ];
    for (const [label, q, index] of served) {
      it(`serves ${label} from ${index} without a sort`, () => {
        const { db } = openStorage();
        const { sql, params } = buildEventQuery(q);
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(params)
          .map((r) => (r as { detail: string }).detail)
          .join(' | ');
        expect(plan).toContain(`USING INDEX ${index}`);
        expect(plan).not.toContain('TEMP B-TREE');
      });
    }

    it('serves recentSeqs from the partial received_at index', () => {
      const { db } = openStorage();
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${RECENT_SEQS_SQL}`)
        .all(0)
        .map((r) => (r as { detail: string }).detail)
        .join(' | ');
      expect(plan).toContain('USING INDEX events_received_at');
      expect(plan).not.toContain('TEMP B-TREE');
    });
  });
});
