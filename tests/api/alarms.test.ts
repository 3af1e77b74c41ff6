/**
 * The alarms API on a real server: the harness's way of building the API (tests/api/harness.ts)
 * with `routes: [alarmRoutes(service)]`, over the alarm fixture's SQLite file.
 */
import { registryServices } from '../helpers/registry.ts';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/api/app.ts';
import { alarmRoutes } from '../../server/api/routes/alarms.ts';
import type { ApiDeps } from '../../server/api/types.ts';
import type { UserService } from '../../server/auth/users.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { createLogger } from '../../server/observability/logger.ts';
import type { Role } from '../../server/storage/types.ts';
import { createAlarmFixture, trigger, type AlarmFixture } from '../alarms/fixture.ts';
import { HOTEL, PASSWORD, SHOP, demoSites, fixedState, type ApiResponse, type RequestOptions } from './harness.ts';

describe('alarms API', () => {
  let f: AlarmFixture;
  let server: Server;
  let base: string;
  let users: UserService;
  const tokens: Record<string, string> = {};
  let hotelAlarm: Alarm;
  let shopAlarm: Alarm;

  async function request(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined, text };
  }

  async function userToken(username: string, role: Role, sites: string[] = []): Promise<string> {
    await users.createUser({ username, password: PASSWORD, role, sites });
    return (await users.login(username, PASSWORD)).token;
  }

  beforeAll(async () => {
    f = createAlarmFixture();
    const sites = await demoSites();
    const registry = await registryServices(f.storage, { sites, bus: f.bus });
    users = registry.users;
    const deps: ApiDeps = {
      registry: registry.directory,
      accounts: f.storage.accounts,
      settings: f.storage.settings,
      events: f.storage.events,
      sites,
      twin: { siteState: (site) => (sites.get(site) ? fixedState(site) : null), deviceState: () => null },
      devices: registry.devices,
      users,
      metrics: f.metrics,
      logger: createLogger({ level: 'silent' }),
      routes: [alarmRoutes(f.service)],
    };
    server = createHttpApp(deps).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokens.admin = await userToken('root', 'admin');
    tokens.operator = await userToken('op', 'operator');
    tokens.manager = await userToken('boss', 'manager');
    tokens.technician = await userToken('tech', 'technician');
    tokens.hotelTech = await userToken('hotel-tech', 'technician', [HOTEL]);
    tokens.shopOnly = await userToken('shopkeeper', 'operator', [SHOP]);

    hotelAlarm = (await f.service.raise(trigger({ site: HOTEL, source: 'door-101', severity: 'critical', at: '2026-11-23T02:14:07Z' })))!;
    shopAlarm = (await f.service.raise(trigger({ site: SHOP, zone: 'cash-room', device: 'door-cash', source: 'door-cash', severity: 'minor', at: '2026-11-23T02:15:00Z' })))!;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    f.close();
  });

  it('needs authentication', async () => {
    const res = await request('GET', '/api/alarms');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('STW_ERR_AUTH_REQUIRED');
  });

  it('lists alarms without their history, newest first', async () => {
    const res = await request('GET', '/api/alarms', { token: tokens.operator });
    expect(res.status).toBe(200);
    expect(res.body.items.map((a: Alarm) => a.id)).toEqual([shopAlarm.id, hotelAlarm.id]);
    expect(res.body.items[0]).not.toHaveProperty('history');
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by site, state, severity, rule and time, and validates the query', async () => {
    const ids = async (q: string) => ((await request('GET', `/api/alarms?${q}`, { token: tokens.admin })).body.items as Alarm[]).map((a) => a.id);
    expect(await ids(`site=${HOTEL}`)).toEqual([hotelAlarm.id]);
    expect(await ids('severity=minor')).toEqual([shopAlarm.id]);
    expect(await ids('rule=door-armed')).toHaveLength(2);
    expect(await ids('rule=tamper')).toEqual([]);
    expect(await ids('from=2026-11-23T02:15:00Z')).toEqual([shopAlarm.id]);
    expect(await ids('to=2026-11-23T02:15:00Z')).toEqual([hotelAlarm.id]);
    expect(await ids('state=open')).toHaveLength(2);

    for (const q of ['state=gone', 'severity=huge', 'limit=0', 'limit=1001', 'from=yesterday', 'bogus=1', 'from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z', 'cursor=xx']) {
      const res = await request('GET', `/api/alarms?${q}`, { token: tokens.admin });
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    }
  });

  it('pages with an opaque cursor', async () => {
    const first = await request('GET', '/api/alarms?limit=1', { token: tokens.admin });
    expect(first.body.items.map((a: Alarm) => a.id)).toEqual([shopAlarm.id]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await request('GET', `/api/alarms?limit=1&cursor=${first.body.nextCursor}`, { token: tokens.admin });
    expect(second.body.items.map((a: Alarm) => a.id)).toEqual([hotelAlarm.id]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('scopes to the sites a user may see: other sites are 404, lists are filtered', async () => {
    const list = await request('GET', '/api/alarms', { token: tokens.shopOnly });
    expect(list.body.items.map((a: Alarm) => a.id)).toEqual([shopAlarm.id]);
    const other = await request('GET', `/api/alarms?site=${HOTEL}`, { token: tokens.shopOnly });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');

    for (const [method, path] of [
      ['GET', `/api/alarms/${hotelAlarm.id}`],
      ['POST', `/api/alarms/${hotelAlarm.id}/ack`],
      ['POST', `/api/alarms/${hotelAlarm.id}/clear`],
    ] as const) {
      const res = await request(method, path, { token: tokens.shopOnly });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_ALARM_NOT_FOUND');
    }
    expect((await f.service.get(hotelAlarm.id))!.state).toBe('active');

    const own = await request('GET', `/api/alarms/${shopAlarm.id}`, { token: tokens.shopOnly });
    expect(own.status).toBe(200);
    expect(own.body.alarm.history).toHaveLength(1);
    const unknown = await request('GET', '/api/alarms/no-such-alarm', { token: tokens.admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('STW_ERR_ALARM_NOT_FOUND');
  });

  it('technicians see no alarm outside device health: left out of lists, 404 like an unknown one', async () => {
    const list = await request('GET', '/api/alarms', { token: tokens.technician });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [], nextCursor: null });
    for (const [method, path] of [
      ['GET', `/api/alarms/${hotelAlarm.id}`],
      ['POST', `/api/alarms/${hotelAlarm.id}/ack`],
      ['POST', `/api/alarms/${hotelAlarm.id}/clear`],
    ] as const) {
      const res = await request(method, path, { token: tokens.technician });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_ALARM_NOT_FOUND');
    }
    expect((await f.service.get(hotelAlarm.id))!.acknowledged).toBe(false);
  });

  it('an operator acknowledges, comments and clears; `by` is the username; repeats are 409', async () => {
    f.clock.advance(30_000);
    const ack = await request('POST', `/api/alarms/${hotelAlarm.id}/ack`, { token: tokens.operator, body: { comment: 'on my way' } });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'op', acknowledgedAt: new Date(f.clock.now()).toISOString() });

    const again = await request('POST', `/api/alarms/${hotelAlarm.id}/ack`, { token: tokens.manager });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('STW_ERR_ALARM_TRANSITION');
    expect(again.body.error.detail).toMatchObject({ from: 'acknowledged', action: 'acknowledged' });

    const note = await request('POST', `/api/alarms/${hotelAlarm.id}/comment`, { token: tokens.manager, body: { text: 'guest locked out, not an intrusion' } });
    expect(note.status).toBe(200);
    expect(note.body.alarm.history.at(-1)).toMatchObject({ action: 'commented', by: 'boss', comment: 'guest locked out, not an intrusion' });

    const clear = await request('POST', `/api/alarms/${hotelAlarm.id}/clear`, { token: tokens.operator });
    expect(clear.status).toBe(200);
    expect(clear.body.alarm).toMatchObject({ state: 'cleared', clearedBy: 'op' });
    const clearAgain = await request('POST', `/api/alarms/${hotelAlarm.id}/clear`, { token: tokens.operator });
    expect(clearAgain.status).toBe(409);

    const one = await request('GET', `/api/alarms/${hotelAlarm.id}`, { token: tokens.operator });
    expect(one.body.alarm.history.map((h: { action: string; by: string }) => [h.action, h.by])).toEqual([
      ['raised', 'rule:door-armed'],
      ['acknowledged', 'op'],
      ['commented', 'boss'],
      ['cleared', 'op'],
    ]);
    expect((await request('GET', '/api/alarms?state=cleared', { token: tokens.operator })).body.items.map((a: Alarm) => a.id)).toEqual([hotelAlarm.id]);
  });

  it('validates transition bodies', async () => {
    for (const [path, body] of [
      [`/api/alarms/${shopAlarm.id}/comment`, {}],
      [`/api/alarms/${shopAlarm.id}/comment`, { text: '   ' }],
      [`/api/alarms/${shopAlarm.id}/comment`, { text: 'x'.repeat(2001) }],
      [`/api/alarms/${shopAlarm.id}/ack`, { comment: 5 }],
      [`/api/alarms/${shopAlarm.id}/ack`, { by: 'someone-else' }],
    ] as const) {
      const res = await request('POST', path, { token: tokens.operator, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    }
    expect((await f.service.get(shopAlarm.id))!.history).toHaveLength(1);
  });
  it('technicians see, acknowledge, comment and clear device-health alarms of their sites, and only those', async () => {
    const health = async (site: string, source: string, at: string) =>
      (await f.service.raise(trigger({ site, source, device: source, rule: 'low-battery', severity: 'minor', at, details: { category: 'device-health' } })))!;
    const hotelBattery = await health(HOTEL, 'door-201', '2026-11-23T03:00:00Z');
    const shopBattery = await health(SHOP, 'door-cash', '2026-11-23T03:01:00Z');
    // Newer security alarms the technician's pages must skip.
    const security: Alarm[] = [];
    for (const [i, source] of ['door-301', 'door-302', 'door-303'].entries()) {
      security.push((await f.service.raise(trigger({ source, device: source, rule: 'door-opened-armed', severity: 'critical', at: `2026-11-23T03:1${i}:00Z`, details: { category: 'security' } })))!);
    }

    const ids = async (token: string, q = '') => ((await request('GET', `/api/alarms${q}`, { token })).body.items as Alarm[]).map((a) => a.id);
    expect(await ids(tokens.technician!, '?state=open')).toEqual([shopBattery.id, hotelBattery.id]);
    expect(await ids(tokens.operator!, '?state=open')).toEqual([...security.map((a) => a.id).reverse(), shopBattery.id, hotelBattery.id, shopAlarm.id]);
    // Pages of one: the cursor goes on after the last alarm returned, skipping what is not theirs.
    const first = await request('GET', '/api/alarms?state=open&limit=1', { token: tokens.technician });
    expect(first.body.items.map((a: Alarm) => a.id)).toEqual([shopBattery.id]);
    const second = await request('GET', `/api/alarms?state=open&limit=1&cursor=${first.body.nextCursor}`, { token: tokens.technician });
    expect(second.body.items.map((a: Alarm) => a.id)).toEqual([hotelBattery.id]);
    if (second.body.nextCursor !== null) expect(await ids(tokens.technician!, `?state=open&limit=1&cursor=${second.body.nextCursor}`)).toEqual([]);

    // Another site's technician: the shop's battery does not exist for them.
    expect(await ids(tokens.hotelTech!, '?state=open')).toEqual([hotelBattery.id]);
    for (const [method, path] of [
      ['GET', `/api/alarms/${shopBattery.id}`],
      ['POST', `/api/alarms/${shopBattery.id}/ack`],
    ] as const) {
      const res = await request(method, path, { token: tokens.hotelTech });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_ALARM_NOT_FOUND');
    }
    for (const path of ['ack', 'clear', 'comment']) {
      const res = await request('POST', `/api/alarms/${security[0]!.id}/${path}`, { token: tokens.hotelTech, body: path === 'comment' ? { text: 'mine?' } : {} });
      expect(res.status, path).toBe(404);
    }
    expect((await f.service.get(security[0]!.id))!.history).toHaveLength(1);

    const ack = await request('POST', `/api/alarms/${hotelBattery.id}/ack`, { token: tokens.hotelTech, body: { comment: 'battery ordered' } });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'hotel-tech' });
    expect((await request('POST', `/api/alarms/${hotelBattery.id}/comment`, { token: tokens.hotelTech, body: { text: 'replaced' } })).status).toBe(200);
    const clear = await request('POST', `/api/alarms/${hotelBattery.id}/clear`, { token: tokens.hotelTech });
    expect(clear.body.alarm).toMatchObject({ state: 'cleared', clearedBy: 'hotel-tech' });
    expect((await request('GET', `/api/alarms/${hotelBattery.id}`, { token: tokens.hotelTech })).body.alarm.history.map((h: { action: string }) => h.action)).toEqual(['raised', 'acknowledged', 'commented', 'cleared']);
  });
});
