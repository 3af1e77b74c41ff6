/**
 * The endpoints EMQX's HTTP authenticator, authorizer and client-event rule call, with the
 * bodies README's EMQX configuration makes it send ({"clientid": "${clientid}", "username":
 * "${username}", "password": "${password}"} and {…, "topic": "${topic}", "action": "${action}"})
 * and the answers EMQX 5 reads ({"result": "allow" | "deny", "is_superuser": false}). The rules
 * are the embedded broker's: a device only its own topics, a user its sites' alarm feeds,
 * StoreTwin's own account the device topics, commands and feeds; and the shared secret first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

const SECRET = 'emqx-shared-secret-for-tests';
const SERVER_PASSWORD = 'storetwin-on-emqx';
let mosquitto: Mosquitto;
let t: TestApp;
let doorSecret: string;
let feedToken: string;

async function call(path: string, body: unknown, secret: string | null = SECRET, base = t.httpUrl): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/broker/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-storetwin-broker-secret': secret }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
const authenticate = (clientid: string, username: string | undefined, password: string | undefined) => call('authenticate', { clientid, username, password });
const authorize = (clientid: string, username: string, action: 'publish' | 'subscribe', topic: string) => call('authorize', { clientid, username, topic, action });
const ALLOW = { result: 'allow', is_superuser: false };
const DENY = { result: 'deny', is_superuser: false };

beforeAll(async () => {
  // StoreTwin needs a broker to be a client of; an anonymous Mosquitto stands in for EMQX's MQTT side.
  mosquitto = await startMosquitto();
  t = await startTestApp({ mqttUrl: `mqtt://storetwin:${SERVER_PASSWORD}@127.0.0.1:${mosquitto.port}`, broker: { external: { authSecret: SECRET } } });
  doorSecret = (await t.app.devices.register({ id: 'door-emqx', site: 'demo-hotel', type: 'door-sensor', zone: '2-10' })).secret;
  await t.app.devices.register({ id: 'door-emqx-other', site: 'demo-hotel', type: 'door-sensor', zone: '2-11' });
  await t.app.devices.register({ id: 'door-emqx-off', site: 'demo-hotel', type: 'door-sensor', zone: '2-12' });
  const manager = await t.app.users.createUser({ username: 'hotel-feed', password: 'correct horse battery', role: 'manager', sites: ['demo-hotel'] });
  feedToken = await t.app.users.createApiToken(manager.id, 'emqx feed');
});

afterAll(async () => {
  await t?.stop();
  await mosquitto?.close();
});

describe('EMQX HTTP auth endpoints', () => {
  it('need the shared secret: none or a wrong one is 401, and without a configured secret the routes are 404', async () => {
    const body = { clientid: 'door-emqx', username: 'door-emqx', password: doorSecret };
    expect(await call('authenticate', body, null)).toMatchObject({ status: 401, body: { error: { code: 'STW_ERR_BROKER_AUTH_SECRET_INVALID' } } });
    expect(await call('authenticate', body, 'wrong-secret-wrong-secret')).toMatchObject({ status: 401, body: { error: { code: 'STW_ERR_BROKER_AUTH_SECRET_INVALID' } } });
    expect((await call('authorize', { clientid: 'door-emqx', username: 'door-emqx', topic: 'storetwin/demo-hotel/door-emqx/up', action: 'publish' }, null)).status).toBe(401);
    expect((await call('events', { event: 'client.connected', clientid: 'door-emqx', username: 'door-emqx' }, 'nope-nope-nope-nope')).status).toBe(401);
    const plain = await startTestApp();
    try {
      expect(await call('authenticate', body, SECRET, plain.httpUrl)).toMatchObject({ status: 404, body: { error: { code: 'STW_ERR_BROKER_AUTH_DISABLED' } } });
    } finally {
      await plain.stop();
    }
  });

  it('authenticate: a device with its own secret is allowed; a wrong secret, an unknown device, a wrong client id or a disabled device are denied', async () => {
    expect((await authenticate('door-emqx', 'door-emqx', doorSecret)).body).toEqual(ALLOW);
    expect((await authenticate('door-emqx', 'door-emqx', 'not-the-secret')).body).toEqual(DENY);
    // Another device's secret opens nothing else.
    expect((await authenticate('door-emqx-other', 'door-emqx-other', doorSecret)).body).toEqual(DENY);
    expect((await authenticate('door-nobody', 'door-nobody', doorSecret)).body).toEqual(DENY);
    expect((await authenticate('someone-else', 'door-emqx', doorSecret)).body).toEqual(DENY);
    expect((await authenticate('door-emqx', undefined, undefined)).body).toEqual(DENY);
    const { secret } = await t.app.devices.rotateSecret('door-emqx-off');
    expect((await authenticate('door-emqx-off', 'door-emqx-off', secret)).body).toEqual(ALLOW);
    await t.app.devices.update('door-emqx-off', { enabled: false });
    expect((await authenticate('door-emqx-off', 'door-emqx-off', secret)).body).toEqual(DENY);
  });

  it('authenticate: an integration with its API token, and StoreTwin itself with the password of its URL', async () => {
    expect((await authenticate('hotel-feed-1', 'hotel-feed', feedToken)).body).toEqual(ALLOW);
    expect((await authenticate('hotel-feed-1', 'hotel-feed', 'not-a-token')).body).toEqual(DENY);
    // An account may not take a device's client id (it would knock the device offline).
    expect((await authenticate('door-emqx', 'hotel-feed', feedToken)).body).toEqual(DENY);
    expect((await authenticate('storetwin-server', 'storetwin', SERVER_PASSWORD)).body).toEqual(ALLOW);
    expect((await authenticate('storetwin-server', 'storetwin', 'guess')).body).toEqual(DENY);
  });

  it("authorize: a device its own topics only — not another device's, not another site's, not its own cmd to publish", async () => {
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx/up')).body).toEqual(ALLOW);
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx/status')).body).toEqual(ALLOW);
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx/snapshot/c-1')).body).toEqual(ALLOW);
    expect((await authorize('door-emqx', 'door-emqx', 'subscribe', 'storetwin/demo-hotel/door-emqx/cmd')).body).toEqual(ALLOW);

    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx-other/up')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-shop/door-emqx/up')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx/cmd')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'publish', 'storetwin/demo-hotel/alarms')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'subscribe', 'storetwin/demo-hotel/door-emqx-other/cmd')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'subscribe', 'storetwin/#')).body).toEqual(DENY);
    expect((await authorize('door-emqx', 'door-emqx', 'subscribe', '$SYS/#')).body).toEqual(DENY);
    // A client id that is not the device's name is no device at all.
    expect((await authorize('intruder', 'door-emqx', 'publish', 'storetwin/demo-hotel/door-emqx/up')).body).toEqual(DENY);
    expect((await authorize('door-nobody', 'door-nobody', 'publish', 'storetwin/demo-hotel/door-nobody/up')).body).toEqual(DENY);
    expect((await authorize('door-emqx-off', 'door-emqx-off', 'publish', 'storetwin/demo-hotel/door-emqx-off/up')).body).toEqual(DENY);
  });

  it("authorize: a user its sites' alarm feeds; StoreTwin the device topics, commands and feeds", async () => {
    expect((await authorize('hotel-feed-1', 'hotel-feed', 'subscribe', 'storetwin/demo-hotel/alarms')).body).toEqual(ALLOW);
    expect((await authorize('hotel-feed-1', 'hotel-feed', 'subscribe', 'storetwin/demo-shop/alarms')).body).toEqual(DENY);
    expect((await authorize('hotel-feed-1', 'hotel-feed', 'subscribe', 'storetwin/+/alarms')).body).toEqual(DENY);
    expect((await authorize('hotel-feed-1', 'hotel-feed', 'publish', 'storetwin/demo-hotel/alarms')).body).toEqual(DENY);

    expect((await authorize('storetwin-server', 'storetwin', 'subscribe', 'storetwin/+/+/up')).body).toEqual(ALLOW);
    expect((await authorize('storetwin-server', 'storetwin', 'subscribe', 'storetwin/+/+/snapshot/+')).body).toEqual(ALLOW);
    expect((await authorize('storetwin-server', 'storetwin', 'publish', 'storetwin/demo-hotel/door-emqx/cmd')).body).toEqual(ALLOW);
    expect((await authorize('storetwin-server', 'storetwin', 'publish', 'storetwin/demo-hotel/alarms')).body).toEqual(ALLOW);
    expect((await authorize('storetwin-server', 'storetwin', 'publish', 'storetwin/demo-hotel/door-emqx/up')).body).toEqual(DENY);
    expect((await authorize('storetwin-server', 'storetwin', 'subscribe', '#')).body).toEqual(DENY);
  });

  it('refuses a body that is not the template (400), so EMQX moves on instead of reading a verdict', async () => {
    expect((await call('authorize', { clientid: 'door-emqx', username: 'door-emqx', topic: 'storetwin/demo-hotel/door-emqx/up', action: 'all' })).status).toBe(400);
    expect((await call('authenticate', { username: 'door-emqx' })).status).toBe(400);
  });

  it('events: client connected / disconnected set the device online and offline; a take-over is no disconnection', async () => {
    const event = (e: Record<string, unknown>) => call('events', { clientid: 'door-emqx', username: 'door-emqx', ...e });
    expect((await event({ event: 'client.connected', connected_at: Date.now(), peerhost: '10.0.0.7' })).status).toBe(204);
    await eventually(() => t.app.broker.isConnected('door-emqx'), 3000);
    await event({ event: 'client.disconnected', reason: 'takenover' });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.app.broker.isConnected('door-emqx')).toBe(true);
    await event({ event: 'client.disconnected', reason: 'keepalive_timeout' });
    await eventually(() => !t.app.broker.isConnected('door-emqx'), 3000);
    // Somebody else's events change nothing.
    expect((await call('events', { event: 'client.connected', clientid: 'intruder', username: 'door-emqx-other' })).status).toBe(204);
    expect(t.app.broker.isConnected('door-emqx-other')).toBe(false);
  });
});
