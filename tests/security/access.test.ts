/**
 * Regression tests for the access-control findings of the security review (issue 9): each
 * reproduces the attack over the real interface — REST, socket.io, MQTT — against a real app
 * (real broker, real SQLite file) and asserts it is now refused.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../server/api/auth.ts';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';
import type { Role } from '../../server/storage/types.ts';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice, connectError } from '../helpers/mqtt.ts';

const PASSWORD = 'correct horse battery';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';

type LiveClient = Socket<LiveServerEvents, LiveClientEvents>;

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

let t: TestApp;
const open: Array<{ close(): unknown }> = [];

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.raw;
  if (body === undefined && opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(t.httpUrl + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function user(username: string, role: Role, sites: string[] = []): Promise<{ id: number; token: string }> {
  const created = await t.app.users.createUser({ username, password: PASSWORD, role, sites });
  const { token } = await t.app.users.login(username, PASSWORD);
  return { id: created.id, token };
}

function live(opts: { token?: string; cookie?: string; origin?: string }): LiveClient {
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = `${SESSION_COOKIE}=${encodeURIComponent(opts.cookie)}`;
  if (opts.origin) headers.origin = opts.origin;
  const socket: LiveClient = connectSocket(t.httpUrl, {
    path: '/socket.io',
    // Polling sends extraHeaders on every request, as a browser sends Origin and cookies.
    transports: ['polling'],
    auth: opts.token ? { token: opts.token } : undefined,
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
  });
  open.push({ close: () => socket.close() });
  return socket;
}

function connected(socket: LiveClient): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function disconnected(socket: LiveClient): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

async function feed(username: string, token: string, clientId: string): Promise<MqttClient> {
  const client = await connectAsync(t.mqttUrl, { clientId, username, password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  open.push({ close: () => client.end(true) });
  return client;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

beforeAll(async () => {
  t = await startTestApp();
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

afterAll(async () => {
  await t.stop();
});

describe('1. a site-limited admin stays within its sites', () => {
  let hotelAdmin: { id: number; token: string };
  let root: { id: number; token: string };
  let shopOp: { id: number; token: string };

  beforeAll(async () => {
    root = await user('root', 'admin');
    hotelAdmin = await user('hotel-admin', 'admin', [HOTEL]);
    shopOp = await user('shop-op', 'operator', [SHOP]);
  });

  it('cannot create an unlimited account or one for another site', async () => {
    const unlimited = await call('POST', '/api/users', { token: hotelAdmin.token, body: { username: 'escalated', password: PASSWORD, role: 'admin' } });
    expect(unlimited.status).toBe(403);
    expect(unlimited.body.error.code).toBe('STW_ERR_FORBIDDEN');
    const other = await call('POST', '/api/users', { token: hotelAdmin.token, body: { username: 'escalated', password: PASSWORD, role: 'admin', sites: [HOTEL, SHOP] } });
    expect(other.status).toBe(403);
    expect(await t.app.storage.accounts.getUserByName('escalated')).toBeNull();
    const own = await call('POST', '/api/users', { token: hotelAdmin.token, body: { username: 'hotel-night', password: PASSWORD, role: 'manager', sites: [HOTEL] } });
    expect(own.status).toBe(201);
  });

  it('lists only accounts within its sites', async () => {
    const listed = await call('GET', '/api/users', { token: hotelAdmin.token });
    const names = listed.body.items.map((u: { username: string }) => u.username);
    expect(names).toContain('hotel-night');
    expect(names).not.toContain('shop-op');
    expect(names).not.toContain('root');
    const all = await call('GET', '/api/users', { token: root.token });
    expect(all.body.items.map((u: { username: string }) => u.username)).toEqual(expect.arrayContaining(['root', 'shop-op', 'hotel-night']));
  });

  it("cannot delete, change or read the tokens of another site's account or an unlimited one", async () => {
    for (const target of [shopOp, root]) {
      expect((await call('DELETE', `/api/users/${target.id}`, { token: hotelAdmin.token })).status).toBe(404);
      expect((await call('PATCH', `/api/users/${target.id}`, { token: hotelAdmin.token, body: { role: 'technician' } })).status).toBe(404);
      expect((await call('GET', `/api/users/${target.id}/tokens`, { token: hotelAdmin.token })).status).toBe(404);
    }
    expect((await t.app.users.getUser(shopOp.id))?.role).toBe('operator');
    // Its own site's account may not be widened to every site either.
    const night = (await t.app.storage.accounts.getUserByName('hotel-night'))!;
    const widened = await call('PATCH', `/api/users/${night.id}`, { token: hotelAdmin.token, body: { sites: [] } });
    expect(widened.status).toBe(403);
    expect((await t.app.users.getUser(night.id))?.sites).toEqual([HOTEL]);
  });

  it("cannot change or delete an every-site ('*') rule", async () => {
    const rule = { id: 'all-doors', site: '*', severity: 'warning', message: { en: 'Door {zone} opened', 'zh-CN': '{zone} 门打开' }, when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] } };
    expect((await call('POST', '/api/rules', { token: root.token, body: rule })).status).toBe(201);
    const narrowed = await call('PUT', '/api/rules/all-doors', { token: hotelAdmin.token, body: { ...rule, site: HOTEL } });
    expect(narrowed.status).toBe(403);
    expect((await call('DELETE', '/api/rules/all-doors', { token: hotelAdmin.token })).status).toBe(403);
    expect((await call('GET', '/api/rules/all-doors', { token: root.token })).body.rule.site).toBe('*');
  });
});

describe('2. a user cannot take a device’s MQTT client id', () => {
  it("an operator of the shop using a hotel camera's client id is refused and the camera stays online", async () => {
    const { secret } = await t.app.devices.register({ id: 'cam-sec-1', site: HOTEL, type: 'camera', zone: '2-14' });
    const camera = await connectDevice(t.mqttUrl, 'cam-sec-1', secret);
    open.push({ close: () => camera.end(true) });
    await eventually(() => t.app.broker.isConnected('cam-sec-1'));
    let cameraClosed = false;
    camera.on('close', () => (cameraClosed = true));

    const op = await user('shop-feed', 'operator', [SHOP]);
    const err = await connectError(t.mqttUrl, { clientId: 'cam-sec-1', username: 'shop-feed', password: op.token });
    expect((err as { code?: number } | null)?.code).toBe(2);
    // The camera was not taken over: still connected, a round trip still works.
    await camera.publishAsync('storetwin/demo-hotel/cam-sec-1/up', JSON.stringify({ type: 'heartbeat' }), { qos: 1 });
    expect(cameraClosed).toBe(false);
    expect(t.app.broker.isConnected('cam-sec-1')).toBe(true);
  });

  it("a user cannot take another account's alarm-feed client id, but reconnects under its own", async () => {
    const a = await user('feed-a', 'operator', [HOTEL]);
    const b = await user('feed-b', 'operator', [HOTEL]);
    const first = await feed('feed-a', a.token, 'erp-bridge');
    const err = await connectError(t.mqttUrl, { clientId: 'erp-bridge', username: 'feed-b', password: b.token });
    expect((err as { code?: number } | null)?.code).toBe(2);
    expect(first.connected).toBe(true);
    const again = await feed('feed-a', a.token, 'erp-bridge');
    expect(again.connected).toBe(true);
  });

  it('device ids and account names cannot collide, and a collision could not lock the user out', async () => {
    const admin = await user('collide-admin', 'admin');
    await user('frontdesk', 'operator', [HOTEL]);
    const asDevice = await call('POST', '/api/devices', { token: admin.token, body: { id: 'frontdesk', site: HOTEL, type: 'door-sensor', zone: '2-15' } });
    expect(asDevice.status).toBe(409);
    expect(asDevice.body.error.code).toBe('STW_ERR_DEVICE_ID_UNAVAILABLE');
    await t.app.devices.register({ id: 'door-collide', site: HOTEL, type: 'door-sensor', zone: '2-16' });
    const asUser = await call('POST', '/api/users', { token: admin.token, body: { username: 'Door-Collide', password: PASSWORD, role: 'operator' } });
    expect(asUser.status).toBe(409);
    // Even a collision written behind the API's back (an old database) leaves the user's login working.
    const rec = (await t.app.storage.devices.get('door-collide'))!;
    await t.app.storage.devices.register([{ ...rec, id: 'frontdesk' }]);
    await t.app.directory.refresh();
    const { token } = await t.app.users.login('frontdesk', PASSWORD);
    const client = await feed('frontdesk', token, 'frontdesk-console');
    expect(client.connected).toBe(true);
  });
});

describe('8. CONNACK does not tell user names from unknown names', () => {
  it('answers 4 for a user name with a wrong token and for an unknown name, whatever the client id', async () => {
    await user('known-name', 'operator');
    const codes = [];
    for (const username of ['known-name', 'no-such-name']) {
      for (const clientId of [username, 'some-client']) {
        const err = await connectError(t.mqttUrl, { clientId, username, password: 'not-the-token' });
        codes.push((err as { code?: number } | null)?.code);
      }
    }
    expect(codes).toEqual([4, 4, 4, 4]);
  });
});

describe('4. cross-origin requests with the session cookie', () => {
  let manager: { id: number; token: string };
  const cookie = () => `${SESSION_COOKIE}=${encodeURIComponent(manager.token)}`;
  const other = () => `http://127.0.0.1:${Number(new URL(t.httpUrl).port) + 1}`;

  beforeAll(async () => {
    manager = await user('shop-manager', 'manager', [SHOP]);
    expect((await call('POST', `/api/sites/${SHOP}/zones/back-office/arm`, { token: manager.token })).status).toBe(200);
  });

  const armed = async () => (await call('GET', `/api/sites/${SHOP}/arming`, { token: manager.token })).body.zones.find((z: { zone: string }) => z.zone === 'back-office').armed;

  it('refuses a form post from another port of the same host', async () => {
    const res = await call('POST', `/api/sites/${SHOP}/zones/back-office/disarm`, {
      headers: { cookie: cookie(), origin: other(), 'content-type': 'application/x-www-form-urlencoded' },
      raw: '',
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('STW_ERR_ORIGIN_FORBIDDEN');
    const plain = await call('POST', `/api/sites/${SHOP}/zones/back-office/disarm`, { headers: { cookie: cookie(), origin: 'http://evil.example', 'content-type': 'text/plain' }, raw: '{}' });
    expect(plain.status).toBe(403);
    expect(await armed()).toBe(true);
  });

  it('refuses a cookie-authenticated change that says nothing of its origin', async () => {
    const res = await call('POST', `/api/sites/${SHOP}/zones/back-office/disarm`, { headers: { cookie: cookie() } });
    expect(res.status).toBe(403);
    expect(await armed()).toBe(true);
  });

  it('lets the dashboard (same origin) and bearer-token clients through', async () => {
    const same = await call('POST', `/api/sites/${SHOP}/zones/back-office/disarm`, { headers: { cookie: cookie(), origin: t.httpUrl } });
    expect(same.status).toBe(200);
    const bearer = await call('POST', `/api/sites/${SHOP}/zones/back-office/arm`, { token: manager.token });
    expect(bearer.status).toBe(200);
    // Reading with the cookie stays possible from anywhere the browser allows (no change made).
    expect((await call('GET', '/api/me', { headers: { cookie: cookie(), origin: other() } })).status).toBe(200);
  });

  it('refuses a socket.io connection opened from another origin with the cookie', async () => {
    const foreign = live({ cookie: manager.token, origin: other() });
    await expect(connected(foreign)).rejects.toBeTruthy();
    const noOrigin = live({ cookie: manager.token });
    await expect(connected(noOrigin)).rejects.toMatchObject({ message: 'STW_ERR_ORIGIN_FORBIDDEN' });
    const own = live({ cookie: manager.token, origin: t.httpUrl });
    await connected(own);
    const token = live({ token: manager.token });
    await connected(token);
  });
});

describe('5. logout, deletion and changes reach live connections', () => {
  it('logout ends the socket.io connection opened with that token', async () => {
    const op = await user('logout-op', 'operator', [HOTEL]);
    const socket = live({ token: op.token });
    await connected(socket);
    const gone = disconnected(socket);
    expect((await call('POST', '/api/auth/logout', { token: op.token })).status).toBe(204);
    expect(await gone).toBe('io server disconnect');
  });

  it('deleting the user ends its sockets and its MQTT alarm feed', async () => {
    const admin = await user('deleter', 'admin');
    const op = await user('deleted-op', 'operator', [HOTEL]);
    const socket = live({ token: op.token });
    await connected(socket);
    const client = await feed('deleted-op', op.token, 'deleted-op-feed');
    const socketGone = disconnected(socket);
    const feedGone = closed(client);
    expect((await call('DELETE', `/api/users/${op.id}`, { token: admin.token })).status).toBe(204);
    await Promise.all([socketGone, feedGone]);
    // And it cannot come back.
    const err = await connectError(t.mqttUrl, { clientId: 'deleted-op-feed', username: 'deleted-op', password: op.token });
    expect((err as { code?: number } | null)?.code).toBe(4);
  });

  it('a change of sites or role ends the connections; the token keeps working with the new scope', async () => {
    const admin = await user('changer', 'admin');
    const op = await user('moved-op', 'operator', [HOTEL]);
    const socket = live({ token: op.token });
    await connected(socket);
    const gone = disconnected(socket);
    expect((await call('PATCH', `/api/users/${op.id}`, { token: admin.token, body: { sites: [SHOP] } })).status).toBe(200);
    await gone;
    expect((await call('GET', `/api/sites/${HOTEL}`, { token: op.token })).status).toBe(404);
    expect((await call('GET', `/api/sites/${SHOP}`, { token: op.token })).status).toBe(200);
  });

  it("a password change ends every session, token and connection of the account", async () => {
    const op = await user('pw-op', 'operator', [HOTEL]);
    const second = (await t.app.users.login('pw-op', PASSWORD)).token;
    const api = await t.app.users.createApiToken(op.id, 'erp');
    const socket = live({ token: second });
    await connected(socket);
    const client = await feed('pw-op', api, 'pw-op-feed');
    const gone = Promise.all([disconnected(socket), closed(client)]);

    const wrong = await call('POST', '/api/auth/password', { token: op.token, body: { currentPassword: 'not my password', newPassword: 'a brand new password' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('STW_ERR_PASSWORD_INVALID');
    const changed = await call('POST', '/api/auth/password', { token: op.token, body: { currentPassword: PASSWORD, newPassword: 'a brand new password' } });
    expect(changed.status).toBe(200);
    await gone;
    for (const old of [op.token, second, api]) expect((await call('GET', '/api/me', { token: old })).status).toBe(401);
    expect((await call('GET', '/api/me', { token: changed.body.token })).status).toBe(200);
    await expect(t.app.users.login('pw-op', PASSWORD)).rejects.toMatchObject({ code: 'STW_ERR_AUTH_INVALID' });
  });
});

describe('9. registering a device does not reveal other sites’ ids', () => {
  it("answers a technician of the shop who picks a hotel device's id as for any unusable id", async () => {
    await t.app.devices.register({ id: 'door-hidden', site: HOTEL, type: 'door-sensor', zone: '3-01' });
    const tech = await user('shop-tech', 'technician', [SHOP]);
    expect((await call('GET', '/api/devices/door-hidden', { token: tech.token })).status).toBe(404);
    const res = await call('POST', '/api/devices', { token: tech.token, body: { id: 'door-hidden', site: SHOP, type: 'door-sensor', zone: 'back-office' } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('STW_ERR_DEVICE_ID_UNAVAILABLE');
    expect(JSON.stringify(res.body)).not.toContain(HOTEL);
    // A technician who can see it is told plainly.
    const hotelTech = await user('hotel-tech', 'technician', [HOTEL]);
    const seen = await call('POST', '/api/devices', { token: hotelTech.token, body: { id: 'door-hidden', site: HOTEL, type: 'door-sensor', zone: '3-01' } });
    expect(seen.body.error.code).toBe('STW_ERR_DEVICE_EXISTS');
  });
});

describe('10. the login rate limit ignores the case of the name', () => {
  it('gives "Hotelop", "HOTELOP"… one budget of guesses together', async () => {
    await user('hotelop', 'operator', [HOTEL]);
    const spellings = ['hotelop', 'Hotelop', 'HOTELOP', 'hOtElOp', 'HotelOp'];
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await call('POST', '/api/auth/login', { body: { username: spellings[i % spellings.length], password: 'wrong password' } });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('11. API tokens can be listed and revoked; passwords changed', () => {
  it('lists a user’s tokens without their secrets, and revokes one', async () => {
    const op = await user('token-op', 'operator', [HOTEL]);
    const created = await call('POST', '/api/auth/tokens', { token: op.token, body: { name: 'grafana', ttlDays: 30 } });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const listed = await call('GET', '/api/auth/tokens', { token: op.token });
    expect(listed.body.items).toHaveLength(2);
    expect(listed.body.items.find((i: { current: boolean }) => i.current).kind).toBe('session');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    const socket = live({ token: created.body.token });
    await connected(socket);
    const gone = disconnected(socket);
    expect((await call('DELETE', `/api/auth/tokens/${created.body.id}`, { token: op.token })).status).toBe(204);
    await gone;
    expect((await call('GET', '/api/me', { token: created.body.token })).status).toBe(401);
    expect((await call('DELETE', `/api/auth/tokens/${created.body.id}`, { token: op.token })).status).toBe(404);
  });

  it("an admin lists and revokes another account's tokens; others cannot touch them", async () => {
    const admin = await user('token-admin', 'admin');
    const op = await user('token-victim', 'operator', [HOTEL]);
    const other = await user('token-other', 'operator', [HOTEL]);
    const api = await t.app.users.createApiToken(op.id, 'erp');
    const listed = await call('GET', `/api/users/${op.id}/tokens`, { token: admin.token });
    const erp = listed.body.items.find((i: { name: string | null }) => i.name === 'erp');
    expect((await call('DELETE', `/api/auth/tokens/${erp.id}`, { token: other.token })).status).toBe(404);
    expect((await call('GET', `/api/users/${op.id}/tokens`, { token: other.token })).status).toBe(403);
    expect((await call('GET', '/api/me', { token: api })).status).toBe(200);
    expect((await call('DELETE', `/api/users/${op.id}/tokens/${erp.id}`, { token: admin.token })).status).toBe(204);
    expect((await call('GET', '/api/me', { token: api })).status).toBe(401);
  });

  it('an admin’s password reset revokes the account’s sessions and tokens', async () => {
    const admin = await user('reset-admin', 'admin');
    const op = await user('reset-op', 'operator', [HOTEL]);
    const res = await call('PATCH', `/api/users/${op.id}`, { token: admin.token, body: { password: 'reset by the admin' } });
    expect(res.status).toBe(200);
    expect((await call('GET', '/api/me', { token: op.token })).status).toBe(401);
    await expect(t.app.users.login('reset-op', 'reset by the admin')).resolves.toMatchObject({ user: { username: 'reset-op' } });
  });
});
