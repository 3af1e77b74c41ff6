import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStoreTwinError } from '../../server/errors.ts';
import type { EventRowParams } from '../../server/storage/sqlite/event-writer-protocol.ts';
import { EventWriterThread } from '../../server/storage/sqlite/event-writer.ts';

const row = (i: number, over: Partial<EventRowParams> = {}): EventRowParams => ({
  site: 'site-a',
  device: `dev-${i % 3}`,
  device_type: 'door-nb',
  zone: 'back-door',
  type: 'door',
  seq: i,
  ts: Date.parse('2026-11-23T02:14:07Z') + i,
  received_at: Date.parse('2026-11-23T02:14:07Z') + i,
  data: JSON.stringify({ type: 'door', state: 'open', seq: i }),
  ...over,
});

describe('EventWriterThread', () => {
  let dir: string;
  let storage: SqliteStorage;
  let writer: EventWriterThread;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stw-writer-'));
    // The server's connection opens and migrates the file; the thread only writes to it.
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    writer = new EventWriterThread(join(dir, 'storetwin.db'));
  });

  afterEach(async () => {
    await writer.close();
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const count = () => storage.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()!.n;

  it('commits each batch whole, visible to the server connection once the write resolves, in order', async () => {
    const writes = Array.from({ length: 20 }, (_, b) => writer.write(Array.from({ length: 50 }, (_, i) => row(b * 50 + i))));
    await writes[0];
    expect(count()).toBeGreaterThanOrEqual(50);
    await Promise.all(writes);
    expect(count()).toBe(1000);
    const seqs = storage.db.prepare<[], { seq: number }>('SELECT seq FROM events ORDER BY id').all().map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('refuses a batch SQLite refuses as a whole, with a coded error, and goes on writing the next', async () => {
    const bad = writer.write([row(1), row(2, { site: null as unknown as string })]);
    await expect(bad).rejects.toSatisfy((err: unknown) => isStoreTwinError(err) && err.code === 'STW_ERR_STORAGE_FAILED' && /NOT NULL/.test(err.message));
    expect(count()).toBe(0);
    await writer.write([row(3)]);
    expect(count()).toBe(1);
  });

  it('waits for batches in flight when closed, then refuses new ones', async () => {
    const inFlight = writer.write(Array.from({ length: 500 }, (_, i) => row(i)));
    await writer.close();
    await inFlight;
    expect(count()).toBe(500);
    await expect(writer.write([row(1)])).rejects.toSatisfy((err: unknown) => isStoreTwinError(err) && err.code === 'STW_ERR_STORAGE_FAILED');
  });
});
