/**
 * Bulk registration (server/registry/csv-import.ts) over a real SQLite registry and the shipped
 * site models: a file with bad rows is refused whole with every problem at once (line, column,
 * code) and nothing stored; a clean file is stored in one transaction and each secret works;
 * a refusal inside the transaction (a race) undoes every row; the limits answer a coded 413.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IMPORT_LIMITS, type ImportProblem } from '../../protocol/devices.ts';
import { verifySecret } from '../../server/auth/secrets.ts';
import { StoreTwinError } from '../../server/errors.ts';
import { EventBus } from '../../server/events.ts';
import { importDevicesCsv, type ImportDeps } from '../../server/registry/csv-import.ts';
import { DeviceDirectory } from '../../server/registry/directory.ts';
import { DeviceService } from '../../server/registry/devices.ts';
import type { PublicDevice } from '../../server/registry/types.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';

import { SHIPPED_SITES } from '../helpers/app.ts';

const HOTEL = 'demo-hotel';
let sites: SiteCatalog;
let dir: string;
let storage: SqliteStorage;
let devices: DeviceService;
let directory: DeviceDirectory;
let deps: ImportDeps;
let announced: PublicDevice[];

beforeAll(async () => {
  sites = await SiteCatalog.load([SHIPPED_SITES]);
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stw-import-'));
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const bus = new EventBus();
  announced = [];
  bus.on('device.registered', (d) => announced.push(d));
  directory = new DeviceDirectory(storage.devices);
  await directory.load();
  devices = new DeviceService({ store: storage.devices, directory, accounts: storage.accounts, sites, bus });
  deps = { registry: directory, accounts: storage.accounts, sites, devices };
});

afterEach(async () => {
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

/** The refusal's problems (fails the test if the import went through). */
async function problemsOf(text: string, d: ImportDeps = deps): Promise<ImportProblem[]> {
  try {
    await importDevicesCsv(text, HOTEL, d);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreTwinError);
    expect((err as StoreTwinError).code).toBe('STW_ERR_IMPORT_INVALID');
    return ((err as StoreTwinError).detail as { problems: ImportProblem[] }).problems;
  }
  throw new Error('the import was not refused');
}

const short = (p: ImportProblem) => [p.line, p.column, p.code];

describe('importDevicesCsv', () => {
  it('reports every bad row at once, by line, column and code, and registers nothing', async () => {
    await devices.register({ id: 'door-2-01', site: HOTEL, type: 'door-sensor', zone: '2-01', externalIds: { imei: '860000000000001' } });
    await storage.accounts.insertUser({ username: 'door-boss', role: 'technician', sites: [], passwordHash: 'x' });
    const before = (await storage.devices.all()).length;
    const csv = [
      'ID,Type,Zone,Label,IMEI,hikvision', // header names are read case-insensitively
      'door-2-02,door-sensor,2-02,fine row,860000000000002,', // 2: good
      'door-2-03,door-magnet,2-03,,,', // 3: unknown type
      'door-2-04,door-sensor,9-99,,,', // 4: unknown zone
      'door-2-02,door-sensor,2-05,,,', // 5: duplicate id in the file (line 2)
      'door-2-01,door-sensor,2-01,,,', // 6: id already registered
      'door-2-07,door-sensor,2-07,,8.60000E+14,', // 7: an IMEI Excel turned into a float
      'door-2-08,door-sensor,2-08,,860000000000002,', // 8: same IMEI as line 2
      'door-2-09,door-sensor,2-09,,860000000000001,', // 9: IMEI of a registered device
      'Door_2_10,door-sensor,2-10,,,', // 10: id not in [a-z0-9-]
      'door-boss,door-sensor,2-11,,,', // 11: an account's name
      'cam-2-12,camera,2-12,,,not-a-mac', // 12: a Hikvision id that is no MAC
      ',,2-13,,,', // 13: id and type empty
      'door-2-14,door-sensor,2-14,,,,extra', // 14: more fields than the header
    ].join('\r\n');
    const problems = await problemsOf(csv);
    expect(problems.map(short)).toEqual([
      [3, 'type', 'STW_ERR_DEVICE_TYPE_UNKNOWN'],
      [4, 'zone', 'STW_ERR_ZONE_NOT_FOUND'],
      [5, 'id', 'STW_ERR_IMPORT_DUPLICATE'],
      [6, 'id', 'STW_ERR_DEVICE_EXISTS'],
      [7, 'imei', 'STW_ERR_EXTERNAL_ID_INVALID'],
      [8, 'imei', 'STW_ERR_IMPORT_DUPLICATE'],
      [9, 'imei', 'STW_ERR_EXTERNAL_ID_TAKEN'],
      [10, 'id', 'STW_ERR_VALIDATION'],
      [11, 'id', 'STW_ERR_DEVICE_ID_UNAVAILABLE'],
      [12, 'hikvision', 'STW_ERR_EXTERNAL_ID_INVALID'],
      [13, 'id', 'STW_ERR_VALIDATION'],
      [13, 'type', 'STW_ERR_VALIDATION'],
      [14, null, 'STW_ERR_CSV_MALFORMED'],
    ]);
    expect(problems.find((p) => p.line === 5)!.message).toContain('also on line 2');
    expect(problems.find((p) => p.line === 3)).toMatchObject({ value: 'door-magnet', message: expect.stringContaining('door-sensor') });
    expect(problems.find((p) => p.line === 9)!.message).toContain('door-2-01');
    expect(await storage.devices.all()).toHaveLength(before);
    expect(announced.map((d) => d.id)).toEqual(['door-2-01']);
  });

  it('reports the header: unknown and doubled columns, a missing required one; rows are still checked', async () => {
    const problems = await problemsOf('id,type,serial,label,label\ndoor-x,door-sensor,1,,\ndoor-y,nope,2,,\n');
    expect(problems.map(short)).toEqual([
      [1, 'serial', 'STW_ERR_CSV_COLUMN'],
      [1, 'label', 'STW_ERR_CSV_COLUMN'],
      [1, 'zone', 'STW_ERR_CSV_COLUMN'],
      [3, 'type', 'STW_ERR_DEVICE_TYPE_UNKNOWN'],
    ]);
    expect(problems[0]!.message).toContain('id, type, zone, label, imei');
  });

  it('refuses an empty file and one with no device', async () => {
    expect((await problemsOf('')).map(short)).toEqual([[0, null, 'STW_ERR_CSV_MALFORMED']]);
    expect((await problemsOf('id,type,zone\r\n')).map(short)).toEqual([[0, null, 'STW_ERR_CSV_MALFORMED']]);
  });

  it('registers a clean file in one go: every device, its external ids, a working secret each', async () => {
    const csv = '\uFEFFid,type,zone,label,imei,ctwing,hikvision\r\ndoor-3-01,door-sensor,3-01,"Room 301, door",864475040123456,ct-301,\r\ncam-3-02,camera,3-02,,,,44-47-CC-50-00-C1\r\ncounter-lobby-9,footfall-counter,lobby,,,,\r\n';
    const answer = await importDevicesCsv(csv, HOTEL, deps);
    expect(answer.site).toBe(HOTEL);
    expect(answer.devices.map((d) => d.device.id)).toEqual(['door-3-01', 'cam-3-02', 'counter-lobby-9']);
    const door = (await storage.devices.get('door-3-01'))!;
    expect(door).toMatchObject({ site: HOTEL, type: 'door-sensor', zone: '3-01', label: 'Room 301, door', externalIds: { imei: '864475040123456', ctwing: 'ct-301' } });
    expect((await storage.devices.get('cam-3-02'))!.externalIds).toEqual({ hikvision: '44:47:cc:50:00:c1' });
    for (const { device, secret } of answer.devices) {
      expect(await verifySecret(secret, (await storage.devices.get(device.id))!.secretHash)).toBe(true);
      expect(JSON.stringify(device)).not.toContain('secretHash');
    }
    expect(announced.map((d) => d.id)).toEqual(['door-3-01', 'cam-3-02', 'counter-lobby-9']);
  });

  it('stores nothing when the transaction fails part-way (a race the checks could not see)', async () => {
    // Checked clean, then another writer (another process: not in this directory) takes the
    // second row's IMEI before the insert.
    const racing: ImportDeps = {
      ...deps,
      devices: {
        registerMany: async (inputs) => {
          await storage.devices.register([{ id: 'racer', site: HOTEL, type: 'door-sensor', zone: '4-01', label: null, position: null, externalIds: { imei: '864475040000002' }, secretHash: 'sha256$x', enabled: true, createdAt: '2026-11-30T00:00:00.000Z', updatedAt: '2026-11-30T00:00:00.000Z' }]);
          return devices.registerMany(inputs);
        },
      },
    };
    await expect(importDevicesCsv('id,type,zone,imei\ndoor-4-02,door-sensor,4-02,864475040000001\ndoor-4-03,door-sensor,4-03,864475040000002\n', HOTEL, racing)).rejects.toMatchObject({ code: 'STW_ERR_EXTERNAL_ID_TAKEN' });
    expect(await storage.devices.get('door-4-02')).toBeNull();
    expect(await storage.devices.get('door-4-03')).toBeNull();
    // Neither the directory the hot paths read nor the bus heard of the refused devices, nor
    // were their broker password lines kept.
    expect(directory.getDevice('door-4-02')).toBeNull();
    expect(announced).toEqual([]);
    expect((await storage.brokerPasswords.list()).map((p) => p.username)).toEqual([]);
  });

  it('answers 413 STW_ERR_IMPORT_TOO_LARGE past the row and byte limits', async () => {
    const rows = Array.from({ length: IMPORT_LIMITS.rows + 1 }, (_, i) => `d-${i},door-sensor,2-01`);
    await expect(importDevicesCsv(['id,type,zone', ...rows].join('\n'), HOTEL, deps)).rejects.toMatchObject({ code: 'STW_ERR_IMPORT_TOO_LARGE', status: 413 });
    const big = `id,type,zone,label\n${'x'.repeat(IMPORT_LIMITS.bytes)}`;
    await expect(importDevicesCsv(big, HOTEL, deps)).rejects.toMatchObject({ code: 'STW_ERR_IMPORT_TOO_LARGE' });
    expect(await storage.devices.all()).toEqual([]);
  });

  it('says "unavailable", not "exists", for an id taken in a site the importer cannot see', async () => {
    await devices.register({ id: 'shop-door-x', site: 'demo-shop', type: 'door-sensor', zone: 'cash-room', externalIds: { ctwing: 'ct-shop' } });
    const problems = await problemsOf('id,type,zone,ctwing\nshop-door-x,door-sensor,2-01,\ndoor-5-02,door-sensor,5-02,ct-shop\n', { ...deps, canSee: (s) => s === HOTEL });
    expect(problems.map(short)).toEqual([
      [2, 'id', 'STW_ERR_DEVICE_ID_UNAVAILABLE'],
      [3, 'ctwing', 'STW_ERR_EXTERNAL_ID_TAKEN'],
    ]);
    expect(JSON.stringify(problems)).not.toContain('demo-shop');
    expect(problems[1]!.message).not.toContain('shop-door-x');
  });
});
