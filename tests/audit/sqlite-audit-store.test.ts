/**
 * The SQLite audit store: the contract suite over a real database file, and what only SQLite
 * can show — the table itself refuses UPDATE and DELETE, whoever sends them.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../server/audit/sqlite-store.ts';

import { auditStoreContract } from './audit-store.contract.ts';

auditStoreContract('sqlite', async (now) => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-audit-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    store: new SqliteAuditStore(storage.db, now),
    cleanup: async () => {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite audit table', () => {
  let dir: string;
  let storage: SqliteStorage;
  let store: SqliteAuditStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stw-audit-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    store = new SqliteAuditStore(storage.db);
    await store.append({ user: 'olga', userId: 7, role: 'operator', ip: '10.0.0.5', action: 'alarm.acknowledged', site: 'demo-shop', target: { kind: 'alarm', id: 'a-1' } });
  });

  afterEach(async () => {
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses UPDATE and DELETE, and the entry stays as it was', async () => {
    const before = (await store.query({ limit: 10 })).items;
    expect(() => storage.db.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(/append-only/);
    expect(() => storage.db.prepare('UPDATE audit SET ip = NULL WHERE id = ?').run(before[0]!.id)).toThrow(/append-only/);
    expect(() => storage.db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    expect(() => storage.db.prepare('INSERT OR REPLACE INTO audit (id, at, actor, action) VALUES (?, 0, ?, ?)').run(before[0]!.id, 'mallory', 'auth.login')).toThrow(/append-only/);
    expect((await store.query({ limit: 10 })).items).toEqual(before);
  });

  it('keeps the refusal across a reopen (the triggers are schema, not code)', async () => {
    storage.close();
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    expect(() => storage.db.prepare('DELETE FROM audit WHERE id > 0').run()).toThrow(/append-only/);
    expect((await new SqliteAuditStore(storage.db).query({ limit: 10 })).items).toHaveLength(1);
  });
});
