/** Which event store the configuration picks, and the description the long-read thread opens. */
import { describe, expect, it } from 'vitest';
import { eventStoreSpec, openEventStore, readOnlySpec } from '../../server/storage/event-store-factory.ts';
import { InfluxEventStore } from '../../server/storage/influx/event-store.ts';
import { tempStorage } from '../helpers/storage.ts';

describe('openEventStore', () => {
  it('keeps the SQLite store without an influx URL', async () => {
    const sqlite = await tempStorage();
    try {
      for (const url of [undefined, '']) {
        const spec = eventStoreSpec(url);
        expect(spec).toEqual({ kind: 'sqlite' });
        expect(readOnlySpec(spec)).toEqual(spec);
        expect(openEventStore(spec, () => sqlite.storage.events)).toBe(sqlite.storage.events);
      }
    } finally {
      await sqlite.close();
    }
  });

  it('opens an InfluxEventStore on the URL, and a read-only one for the thread', () => {
    const spec = eventStoreSpec('http://user:pw@127.0.0.1:8086/storetwin', { rawRetentionDays: 120 });
    expect(spec).toEqual({ kind: 'influx', url: 'http://user:pw@127.0.0.1:8086/storetwin', options: { rawRetentionDays: 120 } });
    const sqlite = () => {
      throw new Error('the SQLite store is not wanted');
    };
    const store = openEventStore(spec, sqlite);
    expect(store).toBeInstanceOf(InfluxEventStore);
    expect(store.kind).toBe('influx');
    expect((store as InfluxEventStore).target).toMatchObject({ host: '127.0.0.1', port: 8086, database: 'storetwin', username: 'user', password: 'pw', safeUrl: 'http://user:***@127.0.0.1:8086/storetwin' });
    expect(readOnlySpec(spec)).toEqual({ ...spec, options: { rawRetentionDays: 120, manageLayout: false } });
    // The description crosses to a worker thread: nothing structured clone refuses.
    expect(structuredClone(readOnlySpec(spec))).toEqual(readOnlySpec(spec));
  });

  it('refuses a bad influx URL with a coded error', () => {
    expect(() => openEventStore(eventStoreSpec('influx.local:8086/db'), () => null as never)).toThrow(expect.objectContaining({ code: 'STW_ERR_CONFIG_INVALID' }));
  });
});
