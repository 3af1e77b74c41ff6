/**
 * The InfluxDB event store against a real influxd (Debian's 1.6.7, started by the test on
 * loopback): the storage contract, each test on a database of its own, then what only InfluxDB
 * has — the series, device health and footfall points, retention policies and continuous
 * queries — and how it fails.
 */
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxEventStore, type InfluxEventStoreOptions } from '../../server/storage/influx/event-store.ts';
import { continuousQueries, rollupSelect } from '../../server/storage/influx/setup.ts';
import { FOOTFALL_ROLLUPS } from '../../server/storage/influx/schema.ts';
import type { NewEvent, StoredEvent } from '../../server/storage/types.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { eventStoreContract } from './event-store.contract.ts';

let influxd: Influxd;
let admin: InfluxDB;
let databases = 0;

beforeAll(async () => {
  influxd = await startInfluxd();
  admin = new InfluxDB(influxd.url);
}, 30_000);

afterAll(async () => {
  await influxd?.stop();
});

/** A database name no other test uses. */
function freshDatabase(): string {
  return `stw_${process.pid}_${++databases}`;
}

/** Keeps the rows of the fixed 2026 dates the contract uses, whatever today is. */
const FOREVER: InfluxEventStoreOptions = { rawRetentionDays: 0 };

eventStoreContract('influx', async () => {
  const database = freshDatabase();
  return {
    store: new InfluxEventStore(`${influxd.url}/${database}`, FOREVER),
    cleanup: () => admin.dropDatabase(database),
  };
});

/** A started store on a fresh database, and that database's name. */
async function freshStore(options: InfluxEventStoreOptions = FOREVER): Promise<{ store: InfluxEventStore; database: string }> {
  const database = freshDatabase();
  const store = new InfluxEventStore(`${influxd.url}/${database}`, options);
  await store.start();
  return { store, database };
}

function event(overrides: Partial<NewEvent> = {}): NewEvent {
  const ts = new Date(Date.now() - 60_000).toISOString();
  return {
    site: 'demo-shop',
    device: 'door-1',
    deviceType: 'door-sensor',
    zone: 'back-door',
    type: 'door',
    seq: 7,
    ts,
    receivedAt: ts,
    data: { type: 'door', state: 'open', seq: 7 },
    ...overrides,
  };
}

// Rows as the influx client returns them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRow = any;

async function rows(database: string, sql: string): Promise<AnyRow[]> {
  return [...(await admin.query<AnyRow>(sql, { database }))];
}

async function fieldTypes(database: string, measurement: string, rp = 'raw'): Promise<Record<string, string>> {
  const keys = await rows(database, `SHOW FIELD KEYS FROM "${rp}"."${measurement}"`);
  return Object.fromEntries(keys.map((k: AnyRow) => [k.fieldKey, k.fieldType]));
}

describe('InfluxEventStore: what it writes', () => {
  it('writes a batch as `events` series: tags, fields and the event time, in one go', async () => {
    const { store, database } = await freshStore();
    const door = event();
    const heartbeat = event({ device: 'door-2', type: 'heartbeat', seq: null, data: { type: 'heartbeat', battery: 3.02 } });
    await store.append([door, heartbeat]);

    const series = (await rows(database, 'SHOW SERIES FROM "raw"."events"')).map((r: AnyRow) => r.key).sort();
    expect(series).toEqual([
      'events,device=door-1,device_type=door-sensor,site=demo-shop,type=door,zone=back-door',
      'events,device=door-2,device_type=door-sensor,site=demo-shop,type=heartbeat,zone=back-door',
    ]);
    expect(await fieldTypes(database, 'events')).toEqual({ data: 'string', id: 'integer', received_at: 'integer', seq: 'integer' });

    const [point] = await rows(database, `SELECT * FROM "raw"."events" WHERE "device" = 'door-1'`);
    expect(JSON.parse(point.data)).toEqual(door.data);
    expect(point).toMatchObject({ site: 'demo-shop', device: 'door-1', device_type: 'door-sensor', zone: 'back-door', type: 'door', seq: 7, received_at: Date.parse(door.receivedAt) });
    // The event's ts in ms, plus a sub-millisecond tie.
    const ns = BigInt(point.time.getNanoTime());
    expect(ns / 1_000_000n).toBe(BigInt(Date.parse(door.ts)));
    const [stored] = (await store.query({ limit: 10, device: 'door-1' })).items as [StoredEvent];
    expect(point.id).toBe(stored.id);

    // No seq: the field is absent, not zero.
    const [beat] = await rows(database, `SELECT * FROM "raw"."events" WHERE "device" = 'door-2'`);
    expect(beat.seq).toBeNull();
  });

  it('writes receipts by receive time for events with a seq', async () => {
    const { store, database } = await freshStore();
    const received = '2026-11-29T08:00:00.250Z';
    await store.append([event({ ts: '2026-11-29T07:00:00.000Z', receivedAt: received }), event({ device: 'door-2', seq: null, receivedAt: received })]);
    const receipts = await rows(database, 'SELECT * FROM "raw"."receipts"');
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ device: 'door-1', seq: 7 });
    expect(BigInt(receipts[0].time.getNanoTime()) / 1_000_000n).toBe(BigInt(Date.parse(received)));
  });

  it('writes `device_health` from heartbeats with battery or radio readings', async () => {
    const { store, database } = await freshStore();
    await store.append([
      event({ device: 'door-1', type: 'heartbeat', data: { type: 'heartbeat', battery: 3.02, batteryPct: 88, rsrp: -97, snr: 9, door: 'closed' } }),
      event({ device: 'cam-1', deviceType: 'camera', type: 'heartbeat', data: { type: 'heartbeat', rsrp: -101 } }),
      // Nothing to record: no point.
      event({ device: 'counter-1', deviceType: 'footfall-counter', type: 'heartbeat', data: { type: 'heartbeat' } }),
      event({ device: 'door-3', type: 'door' }),
    ]);
    const health = await rows(database, 'SELECT * FROM "raw"."device_health"');
    expect(health.map((r: AnyRow) => r.device).sort()).toEqual(['cam-1', 'door-1']);
    expect(health.find((r: AnyRow) => r.device === 'door-1')).toMatchObject({ site: 'demo-shop', device_type: 'door-sensor', zone: 'back-door', battery: 3.02, battery_pct: 88, rsrp: -97, snr: 9 });
    expect(health.find((r: AnyRow) => r.device === 'cam-1')).toMatchObject({ device_type: 'camera', rsrp: -101, battery: null });
    expect(await fieldTypes(database, 'device_health')).toEqual({ battery: 'float', battery_pct: 'float', rsrp: 'float', snr: 'float' });
  });

  it('writes `footfall` from count events', async () => {
    const { store, database } = await freshStore();
    const count = (device: string, entered: number, left: number): NewEvent =>
      event({ device, deviceType: 'footfall-counter', zone: 'entrance', type: 'count', data: { type: 'count', in: entered, out: left, period: 60 } });
    await store.append([count('counter-1', 3, 1), count('counter-2', 0, 2)]);
    const footfall = await rows(database, 'SELECT * FROM "raw"."footfall"');
    expect(footfall.map((r: AnyRow) => [r.site, r.zone, r.device, r.in, r.out]).sort()).toEqual([
      ['demo-shop', 'entrance', 'counter-1', 3, 1],
      ['demo-shop', 'entrance', 'counter-2', 0, 2],
    ]);
    expect(await fieldTypes(database, 'footfall')).toEqual({ in: 'integer', out: 'integer' });
  });

  it('keeps tag values with spaces, commas, equals signs, quotes and unicode intact, and filters by them', async () => {
    const { store } = await freshStore();
    const awkward = event({ site: 'site a,b=c', device: 'dev "quoted" \'single\' back\\slash', zone: '前门 zone=1 \\,', type: 'door,open\ttab' });
    await store.append([awkward, event()]);
    for (const filter of [{ site: awkward.site }, { device: awkward.device }, { zone: awkward.zone }, { type: awkward.type }]) {
      const { items } = await store.query({ limit: 10, ...filter });
      expect(items).toHaveLength(1);
      const { id: _id, ...rest } = items[0] as StoredEvent;
      expect(rest).toEqual(awkward);
    }
    // A bound parameter, not text in the query: a quote cannot end the string.
    expect((await store.query({ limit: 10, site: "x' OR site =~ /.*/ --" })).items).toEqual([]);
  });

  it('refuses a whole batch, nothing written, for a tag value line protocol cannot carry', async () => {
    const { store, database } = await freshStore();
    for (const bad of [{ zone: '' }, { device: 'line\nbreak' }, { type: 'carriage\rreturn' }, { site: 'ends\\' }, { deviceType: '\\' }]) {
      await expect(store.append([event({ device: 'good' }), event(bad)])).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    }
    expect(await rows(database, 'SELECT * FROM "raw"."events"')).toEqual([]);
  });

  it('refuses a batch holding an event older than the raw retention policy keeps', async () => {
    const { store, database } = await freshStore({});
    const old = new Date(Date.now() - 91 * 86_400_000).toISOString();
    await expect(store.append([event(), event({ ts: old })])).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    expect(await rows(database, 'SELECT * FROM "raw"."events"')).toEqual([]);
    await store.append([event({ ts: new Date(Date.now() - 30 * 86_400_000).toISOString() })]);
    expect((await store.query({ limit: 10 })).items).toHaveLength(1);
  });
});

describe('InfluxEventStore: pages over series that share a nanosecond', () => {
  // Ties are unique per writer; after a restart two series can meet on one nanosecond. Written
  // here by hand: 6 series × 4 shared times, ids not in time order.
  const T0 = Date.parse('2026-11-23T02:14:07.000Z');
  let store: InfluxEventStore;
  let database: string;

  beforeAll(async () => {
    ({ store, database } = await freshStore());
    const points = [];
    for (let t = 0; t < 4; t++) {
      for (let s = 0; s < 6; s++) {
        const device = `dev-${s}`;
        points.push({
          measurement: 'events',
          tags: { site: 'site-a', device, device_type: 'door-sensor', zone: 'z', type: 'door' },
          fields: { data: JSON.stringify({ type: 'door', state: 'open' }), received_at: `${T0 + t}i`, id: `${1000 - (t * 6 + s) * 7}i` },
          timestamp: `${BigInt(T0 + t) * 1_000_000n + 5n}`,
        });
      }
    }
    const body = points
      .map((p) => `events,${Object.entries(p.tags).map(([k, v]) => `${k}=${v}`).join(',')} data=${JSON.stringify(p.fields.data)},received_at=${p.fields.received_at},id=${p.fields.id} ${p.timestamp}`)
      .join('\n');
    const res = await fetch(`${influxd.url}/write?db=${database}&rp=raw&precision=ns`, { method: 'POST', body });
    expect(res.status).toBe(204);
  });

  for (const order of ['asc', 'desc'] as const) {
    for (const limit of [1, 2, 4, 5, 6, 7, 23, 24, 25]) {
      it(`walks all 24 once, (time, id) order (${order}, limit ${limit})`, async () => {
        const whole = (await store.query({ limit: 1000, order })).items;
        expect(whole).toHaveLength(24);
        const seen: StoredEvent[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await store.query({ limit, order, ...(cursor === undefined ? {} : { cursor }) });
          seen.push(...page.items);
          if (page.nextCursor === null) break;
          expect(page.items).toHaveLength(limit);
          cursor = page.nextCursor;
        }
        expect(seen.map((e) => e.id)).toEqual(whole.map((e) => e.id));
        const byTimeThenId = [...whole].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || a.id - b.id);
        expect(whole.map((e) => e.id)).toEqual((order === 'asc' ? byTimeThenId : byTimeThenId.reverse()).map((e) => e.id));
      });
    }
  }
});

describe('InfluxEventStore: retention policies and continuous queries', () => {
  it('lays out `raw` (the default, 90 days) and `rollups` (forever), and the footfall CQs; again at the next start', async () => {
    const { store, database } = await freshStore({});
    const policies = await admin.showRetentionPolicies(database);
    expect(policies.find((p) => p.name === 'raw')).toMatchObject({ duration: '2160h0m0s', default: true });
    expect(policies.find((p) => p.name === 'rollups')).toMatchObject({ duration: '0s', default: false });
    const cqs = await continuousQueries(admin, database);
    expect(cqs.map((c) => c.name).sort()).toEqual(['footfall_1h', 'footfall_1m']);
    const minute = cqs.find((c) => c.name === 'footfall_1m')?.query ?? '';
    expect(minute).toMatch(/RESAMPLE EVERY 1m FOR 10m/);
    expect(minute).toMatch(/INTO .*rollups.*footfall_1m .*FROM .*raw.*footfall.* GROUP BY time\(1m\), "?site"?, "?zone"?, "?device"?/);
    expect(cqs.find((c) => c.name === 'footfall_1h')?.query).toMatch(/RESAMPLE EVERY 1h FOR 2h .*GROUP BY time\(1h\)/);

    // A restart changes nothing; a new retention in the config alters the policy.
    await store.start();
    expect(await continuousQueries(admin, database)).toEqual(cqs);
    await new InfluxEventStore(`${influxd.url}/${database}`, { rawRetentionDays: 120 }).start();
    expect((await admin.showRetentionPolicies(database)).find((p) => p.name === 'raw')).toMatchObject({ duration: '2880h0m0s', default: true });
  });

  it('rolls footfall up per minute by the CQ itself', async () => {
    const { store, database } = await freshStore({ rollupEvery: '1s' });
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const count = (device: string, offsetMs: number, entered: number, left: number): NewEvent =>
      event({ device, deviceType: 'footfall-counter', zone: 'entrance', type: 'count', ts: new Date(minute + offsetMs).toISOString(), data: { type: 'count', in: entered, out: left, period: 60 } });
    await store.append([count('counter-1', 1_000, 3, 1), count('counter-1', 30_000, 2, 0), count('counter-1', 61_000, 5, 5), count('counter-2', 2_000, 1, 1)]);
    let rolled: AnyRow[] = [];
    for (let i = 0; i < 100 && rolled.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      rolled = await rows(database, 'SELECT * FROM "rollups"."footfall_1m"');
    }
    expect(rolled.map((r: AnyRow) => [r.time.getTime() - minute, r.device, r.zone, r.site, r.in, r.out]).sort()).toEqual([
      [0, 'counter-1', 'entrance', 'demo-shop', 5, 1],
      [0, 'counter-2', 'entrance', 'demo-shop', 1, 1],
      [60_000, 'counter-1', 'entrance', 'demo-shop', 5, 5],
    ]);
    expect(await fieldTypes(database, 'footfall_1m', 'rollups')).toEqual({ in: 'integer', out: 'integer' });
  });

  it('rolls footfall up per hour with the CQ query, run by hand over a past range', async () => {
    const { store, database } = await freshStore();
    const hour = Date.parse('2026-11-23T09:00:00.000Z');
    const counts = [0, 20, 59, 61].map((m, i) =>
      event({ device: 'counter-1', deviceType: 'footfall-counter', zone: 'entrance', type: 'count', ts: new Date(hour + m * 60_000).toISOString(), data: { type: 'count', in: i + 1, out: 1, period: 60 } }),
    );
    await store.append(counts);
    const range = ` WHERE time >= '2026-11-23T09:00:00Z' AND time < '2026-11-23T11:00:00Z'`;
    await admin.query(rollupSelect(database, FOOTFALL_ROLLUPS[1], range), { database });
    const rolled = await rows(database, 'SELECT * FROM "rollups"."footfall_1h"');
    expect(rolled.map((r: AnyRow) => [r.time.toISOString(), r.in, r.out])).toEqual([
      ['2026-11-23T09:00:00.000Z', 1 + 2 + 3, 3],
      ['2026-11-23T10:00:00.000Z', 4, 1],
    ]);
  });
});

describe('InfluxEventStore: failures', () => {
  it('refuses a URL that does not name one database over http(s)', () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/db', 'http://127.0.0.1:8086/', 'http://127.0.0.1:8086/a/b', 'http://127.0.0.1:8086/db?x=1']) {
      expect(() => new InfluxEventStore(url), url).toThrow(expect.objectContaining({ code: 'STW_ERR_CONFIG_INVALID' }));
    }
    expect(() => new InfluxEventStore(`${influxd.url}/db`, { rawRetentionDays: 7 })).toThrow(expect.objectContaining({ code: 'STW_ERR_CONFIG_INVALID' }));
  });

  it('fails start() with a coded error naming the server, without its password, when nothing answers', async () => {
    const port = await freePort();
    const store = new InfluxEventStore(`http://storetwin:s3cret@127.0.0.1:${port}/storetwin`, { timeoutMs: 2000 });
    const err = await store.start().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE', detail: { url: `http://storetwin:***@127.0.0.1:${port}/storetwin` } });
    expect(String((err as Error).message)).toMatch(/cannot reach InfluxDB/);
    expect(JSON.stringify(err)).not.toContain('s3cret');
    // Writes and reads fail coded too (ingest then does not acknowledge).
    await expect(store.append([event()])).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_FAILED' });
    await expect(store.query({ limit: 1 })).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
  });

  it('fails start() on wrong credentials, and starts with the right ones', async () => {
    const secured = await startInfluxd({ admin: { username: 'admin', password: 'right' } });
    try {
      const wrong = new InfluxEventStore(`http://admin:wrong@127.0.0.1:${secured.port}/storetwin`);
      await expect(wrong.start()).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE', message: expect.stringMatching(/refused the credentials/) });
      const none = new InfluxEventStore(`http://127.0.0.1:${secured.port}/storetwin`);
      await expect(none.start()).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
      const right = new InfluxEventStore(`http://127.0.0.1:${secured.port}/storetwin`, { username: 'admin', password: 'right' });
      await right.start();
      await right.append([event()]);
      expect((await right.query({ limit: 10 })).items).toHaveLength(1);

      // A user without admin rights starts on the laid-out database: nothing to create or alter.
      await right.start();
      const asAdmin = new InfluxDB({ host: '127.0.0.1', port: secured.port, username: 'admin', password: 'right' });
      await asAdmin.createUser('ingest', 'pw');
      // (The client's grantPrivilege takes READ or WRITE, and a second GRANT replaces the first.)
      await asAdmin.query('GRANT ALL ON "storetwin" TO "ingest"', { method: 'POST', database: 'storetwin' });
      const user = new InfluxEventStore(`http://ingest:pw@127.0.0.1:${secured.port}/storetwin`);
      await user.start();
      await user.append([event({ device: 'door-2' })]);
      expect((await user.query({ limit: 10 })).items).toHaveLength(2);
    } finally {
      await secured.stop();
    }
  }, 30_000);

  it('rejects append() when InfluxDB refuses the write', async () => {
    const { store, database } = await freshStore();
    // Someone wrote `seq` as a string by hand: InfluxDB now refuses integer seqs.
    await admin.writePoints([{ measurement: 'events', tags: { site: 'x', device: 'x', device_type: 'x', zone: 'x', type: 'x' }, fields: { seq: 'one' } }], { database, retentionPolicy: 'raw' });
    const err = await store.append([event()]).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'STW_ERR_STORAGE_FAILED' });
    expect(String((err as Error).message)).toMatch(/InfluxDB answered 400: .*field type conflict/);
  });

  it('a read-only start (the long-read thread) checks the database is laid out, and changes nothing', async () => {
    const database = freshDatabase();
    const reader = new InfluxEventStore(`${influxd.url}/${database}`, { manageLayout: false });
    await expect(reader.start()).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
    expect(await admin.getDatabaseNames()).not.toContain(database);
    await new InfluxEventStore(`${influxd.url}/${database}`).start();
    await reader.start();
  });
});
