import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { SESSION_COOKIE } from '../../server/api/auth.ts';
import { UserService } from '../../server/auth/users.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { EventBus } from '../../server/events.ts';
import { LiveFeed } from '../../server/live/feed.ts';
import type { LiveClientEvents, LiveServerEvents, TwinBatch } from '../../server/live/protocol.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';

import type { NewEvent } from '../../server/storage/types.ts';
import type { DeviceState, ZoneState } from '../../server/twin/types.ts';

type Client = Socket<LiveServerEvents, LiveClientEvents>;
const SHOP = 'demo-shop';
const HOTEL = 'demo-hotel';
const PASSWORD = 'correct horse battery';

function alarm(site: string, id: string): Alarm {
  const at = new Date().toISOString();
  return {
    id,
    site,
    zone: 'cash-room',
    device: 'shop-door-cash',
    rule: 'door-open-armed',
    source: 'shop-door-cash',
    severity: 'critical',
    state: 'active',
    acknowledged: false,
    message: { en: 'door opened', 'zh-CN': '门已打开' },
    count: 1,
    firstAt: at,
    lastAt: at,
    acknowledgedAt: null,
    acknowledgedBy: null,
    clearedAt: null,
    clearedBy: null,
    escalationLevel: 0,
    snapshot: null,
    latched: false,
    restoredAt: null,
    chattering: false,
    details: {},
    history: [],
  };
}

function deviceState(site: string, id: string, door: 'open' | 'closed'): DeviceState {
  return {
    id,
    site,
    zone: 'cash-room',
    type: 'door-sensor',
    online: true,
    lastSeen: new Date().toISOString(),
    lastEvent: null,
    battery: 3.0,
    batteryPct: 90,
    rsrp: -90,
    snr: 8,
    door,
    tamper: false,
    rejected: 0,
    lastRejection: null,
  };
}

function zoneState(site: string, id: string): ZoneState {
  return { id, site, floor: 'f1', door: 'open', doorChangedAt: null, occupancy: null, capacity: null, lastMotionAt: null };
}

function storedEvent(site: string, seq: number): NewEvent {
  const ts = new Date().toISOString();
  return { site, device: 'shop-door-cash', deviceType: 'door-sensor', zone: 'cash-room', type: 'door', seq, ts, receivedAt: ts, data: { type: 'door', state: 'open' } as NewEvent['data'] };
}

describe('live feed (socket.io)', () => {
  let dir: string;
  let storage: SqliteStorage;
  let users: UserService;
  let bus: EventBus;
  let feed: LiveFeed;
  let server: http.Server;
  let url: string;
  const clients: Client[] = [];
  const tokens: Record<string, string> = {};

  function client(auth: Record<string, unknown> | undefined, extra: { cookie?: string } = {}): Client {
    const socket: Client = connect(url, {
      path: '/socket.io',
      transports: ['websocket'],
      auth,
      reconnection: false,
      forceNew: true,
      extraHeaders: extra.cookie ? { cookie: extra.cookie } : undefined,
    });
    clients.push(socket);
    return socket;
  }

  async function connected(socket: Client): Promise<void> {
    if (socket.connected) return;
    await new Promise<void>((res, rej) => {
      socket.once('connect', () => res());
      socket.once('connect_error', rej);
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-live-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    users = new UserService({ accounts: storage.accounts, devices: { getDevice: () => null } });
    bus = new EventBus();
    const sites = await SiteCatalog.load([resolve(REPO_ROOT, 'sites')]);
    for (const [name, role, userSites] of [
      ['boss', 'admin', []],
      ['shop-op', 'operator', [SHOP]],
      ['hotel-op', 'operator', [HOTEL]],
      ['tech', 'technician', [SHOP]],
    ] as const) {
      await users.createUser({ username: name, password: PASSWORD, role, sites: [...userSites] });
      tokens[name] = (await users.login(name, PASSWORD)).token;
    }
    server = http.createServer((_req, res) => res.writeHead(404).end());
    feed = new LiveFeed({ bus, users, sites, twinFlushMs: 100, eventsPerSecond: 5 });
    feed.start(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await feed.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a handshake without a token or with a bad one', async () => {
    const none = await refusal(client(undefined));
    expect(none.message).toBe('STW_ERR_AUTH_REQUIRED');
    expect(none.data).toMatchObject({ code: 'STW_ERR_AUTH_REQUIRED' });
    const bad = await refusal(client({ token: 'not-a-token' }));
    expect(bad.message).toBe('STW_ERR_TOKEN_INVALID');
  });

  it('accepts the session cookie', async () => {
    const socket = client(undefined, { cookie: `${SESSION_COOKIE}=${encodeURIComponent(tokens['shop-op']!)}` });
    await connected(socket);
    expect(socket.connected).toBe(true);
    socket.disconnect();
  });

  it('pushes alarms only to users who may see the site', async () => {
    const shop = client({ token: tokens['shop-op'] });
    const hotel = client({ token: tokens['hotel-op'] });
    const admin = client({ token: tokens.boss });
    const tech = client({ token: tokens.tech });
    await Promise.all([shop, hotel, admin, tech].map(connected));
    const seen: Record<string, string[]> = { shop: [], hotel: [], admin: [], tech: [] };
    shop.on('alarm', (a) => seen.shop!.push(a.id));
    hotel.on('alarm', (a) => seen.hotel!.push(a.id));
    admin.on('alarm', (a) => seen.admin!.push(a.id));
    tech.on('alarm', (a) => seen.tech!.push(a.id));

    bus.emit('alarm.changed', { alarm: alarm(SHOP, 'a-shop'), action: 'raised' });
    bus.emit('alarm.changed', { alarm: alarm(HOTEL, 'a-hotel'), action: 'raised' });
    // A marker the hotel user receives, to know everything before it arrived too.
    bus.emit('alarm.changed', { alarm: alarm(HOTEL, 'a-marker'), action: 'raised' });
    bus.emit('alarm.changed', { alarm: alarm(SHOP, 'a-marker-shop'), action: 'raised' });
    await waitFor(() => seen.hotel!.includes('a-marker') && seen.shop!.includes('a-marker-shop') && seen.admin!.length === 4);

    expect(seen.shop).toEqual(['a-shop', 'a-marker-shop']);
    expect(seen.hotel).toEqual(['a-hotel', 'a-marker']);
    expect(seen.admin).toEqual(['a-shop', 'a-hotel', 'a-marker', 'a-marker-shop']);
    // Technicians lack alarms:read, and these alarms are not device-health ones.
    expect(seen.tech).toEqual([]);
  });

  it('sends technicians the device-health alarms of their sites, and nothing else', async () => {
    const tech = client({ token: tokens.tech });
    const shop = client({ token: tokens['shop-op'] });
    const admin = client({ token: tokens.boss });
    await Promise.all([tech, shop, admin].map(connected));
    const seen: Record<string, string[]> = { tech: [], shop: [], admin: [] };
    tech.on('alarm', (a) => seen.tech!.push(a.id));
    shop.on('alarm', (a) => seen.shop!.push(a.id));
    admin.on('alarm', (a) => seen.admin!.push(a.id));
    const of = (site: string, id: string, category: string): Alarm => ({ ...alarm(site, id), details: { category } });

    bus.emit('alarm.changed', { alarm: of(SHOP, 'shop-door', 'security'), action: 'raised' });
    bus.emit('alarm.changed', { alarm: of(SHOP, 'shop-crowd', 'operations'), action: 'raised' });
    bus.emit('alarm.changed', { alarm: of(HOTEL, 'hotel-battery', 'device-health'), action: 'raised' });
    bus.emit('alarm.changed', { alarm: of(SHOP, 'shop-battery', 'device-health'), action: 'raised' });
    // The last one: once everyone has it, anything sent before it has arrived too.
    bus.emit('alarm.changed', { alarm: of(SHOP, 'shop-tamper', 'device-health'), action: 'raised' });
    await waitFor(() => [seen.tech, seen.shop, seen.admin].every((ids) => ids!.includes('shop-tamper')));

    expect(seen.tech).toEqual(['shop-battery', 'shop-tamper']);
    expect(seen.shop).toEqual(['shop-door', 'shop-crowd', 'shop-battery', 'shop-tamper']);
    // Once each, though an admin may also read device-health alarms.
    expect(seen.admin).toEqual(['shop-door', 'shop-crowd', 'hotel-battery', 'shop-battery', 'shop-tamper']);
  });

  it('batches twin changes per site and throttles events', async () => {
    const shop = client({ token: tokens['shop-op'] });
    const hotel = client({ token: tokens['hotel-op'] });
    await Promise.all([shop, hotel].map(connected));
    const batches: TwinBatch[] = [];
    const hotelBatches: TwinBatch[] = [];
    const events: NewEvent[] = [];
    shop.on('twin', (b) => batches.push(b));
    hotel.on('twin', (b) => hotelBatches.push(b));
    shop.on('event', (e) => events.push(e));

    for (let i = 0; i < 50; i++) bus.emit('twin.device', { state: deviceState(SHOP, 'shop-door-cash', i % 2 ? 'open' : 'closed'), changed: ['door'] });
    bus.emit('twin.device', { state: deviceState(SHOP, 'shop-door-office', 'open'), changed: ['door'] });
    bus.emit('twin.zone', { state: zoneState(SHOP, 'cash-room'), changed: ['door'] });
    bus.emit('events.accepted', Array.from({ length: 30 }, (_, i) => storedEvent(SHOP, i)));

    await waitFor(() => batches.length >= 1);
    await new Promise((r) => setTimeout(r, 250));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.site).toBe(SHOP);
    expect(Object.keys(batches[0]!.devices).sort()).toEqual(['shop-door-cash', 'shop-door-office']);
    // Latest state wins: the 50th change (i = 49) left the door open.
    expect(batches[0]!.devices['shop-door-cash']!.door).toBe('open');
    expect(Object.keys(batches[0]!.zones)).toEqual(['cash-room']);
    expect(hotelBatches).toEqual([]);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
  });
});

function refusal(socket: Client): Promise<Error & { data?: unknown }> {
  return new Promise((res, rej) => {
    socket.once('connect_error', (err) => res(err as Error & { data?: unknown }));
    socket.once('connect', () => rej(new Error('connected without credentials')));
  });
}

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
