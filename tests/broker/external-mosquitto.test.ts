/**
 * StoreTwin with an external Mosquitto (STORETWIN_MQTT_URL), Debian's broker started by the
 * test as README "An external MQTT broker" configures it: StoreTwin writes its password_file
 * and acl_file from the registry and signals it to reload. Devices log in to Mosquitto with
 * their own secrets; what they publish is stored and raises alarms; what the ACL forbids is
 * refused by Mosquitto and never reaches StoreTwin.
 */
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { verifyMosquittoPassword } from '../../server/broker/external/mosquitto-passwd.ts';
import { apiRequest, type Json } from '../helpers/api-client.ts';
import { adminToken, eventually, metricValue, startTestApp, type TestApp } from '../helpers/app.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { connectDevice, connectError } from '../helpers/mqtt.ts';

const SERVER_PASSWORD = 'storetwin-broker-password';
let mosquitto: Mosquitto;
let t: TestApp;
let token: string;
const clients: MqttClient[] = [];

const api = (method: string, url: string, body?: unknown) => apiRequest(t.httpUrl, token, method, url, body);

/** Registers a device and waits until Mosquitto lets it in (its line is written and reloaded). */
async function device(id: string, zone: string, extra: Parameters<typeof connectDevice>[3] = {}): Promise<{ client: MqttClient; secret: string }> {
  const { secret } = await t.app.devices.register({ id, site: 'demo-hotel', type: 'door-sensor', zone });
  await t.app.mosquitto!.sync();
  const client = await eventually(() => connectDevice(mosquitto.url, id, secret, extra), 5000, 100);
  clients.push(client);
  return { client, secret };
}

beforeAll(async () => {
  mosquitto = await startMosquitto({}, { managed: true });
  t = await startTestApp({
    mqttUrl: `mqtt://storetwin:${SERVER_PASSWORD}@127.0.0.1:${mosquitto.port}`,
    broker: { external: { mosquitto: mosquitto.files, reconnectPeriodMs: 200 } },
  });
  token = await adminToken(t.app);
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await t?.stop();
  await mosquitto?.close();
});

describe('StoreTwin on an external Mosquitto', () => {
  it('runs no broker of its own and shows the external one without credentials', () => {
    expect(t.app.broker.kind).toBe('external');
    expect(t.mqttUrl).toBe(`mqtt://127.0.0.1:${mosquitto.port}`);
    expect(t.mqttUrl).not.toContain(SERVER_PASSWORD);
  });

  it('writes the password file in mosquitto_passwd format and an ACL of each account\'s own topics', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-ext-files', site: 'demo-hotel', type: 'door-sensor', zone: '2-20' });
    await t.app.mosquitto!.sync();
    const passwd = readFileSync(mosquitto.files.passwordFile, 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith('door-ext-files:'))!;
    expect(line).toMatch(/^door-ext-files:\$7\$101\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(verifyMosquittoPassword(secret, line.slice('door-ext-files:'.length))).toBe(true);
    expect(passwd).not.toContain(secret);
    expect(passwd).toMatch(/^storetwin:\$7\$/m);
    const acl = readFileSync(mosquitto.files.aclFile, 'utf8');
    expect(acl).toContain(
      ['user door-ext-files', 'topic write storetwin/demo-hotel/door-ext-files/up', 'topic write storetwin/demo-hotel/door-ext-files/status', 'topic write storetwin/demo-hotel/door-ext-files/snapshot/+', 'topic read storetwin/demo-hotel/door-ext-files/cmd'].join('\n'),
    );
    expect(acl).toContain(['user storetwin', 'topic write storetwin/+/+/cmd', 'topic write storetwin/+/alarms', 'topic write storetwin/+/_relay', 'topic read storetwin/+/+/up'].join('\n'));
  });

  it('stores what a device publishes to Mosquitto, and a door opening in an armed room raises the alarm', async () => {
    expect((await api('POST', '/api/sites/demo-hotel/zones/2-21/arm', {})).status).toBe(200);
    // An integration reads the alarm feed from Mosquitto with a user name and an API token.
    const manager = await t.app.users.createUser({ username: 'night-desk', password: 'correct horse battery', role: 'manager', sites: ['demo-hotel'] });
    const feedToken = await t.app.users.createApiToken(manager.id, 'alarm feed');
    await t.app.mosquitto!.sync();
    const feed = await eventually(() => connectDevice(mosquitto.url, 'night-desk', feedToken), 5000, 100);
    clients.push(feed);
    // Mosquitto 2.0 grants any subscription to an MQTT 3.1.1 client and filters by the ACL at
    // delivery: asking for everything must still bring only this site's alarm feed.
    await feed.subscribeAsync(['storetwin/demo-hotel/alarms', 'storetwin/demo-shop/alarms', 'storetwin/#'], { qos: 1 });
    const feedMessages: Json[] = [];
    const feedTopics = new Set<string>();
    feed.on('message', (topic, payload) => {
      feedTopics.add(topic);
      feedMessages.push(JSON.parse(payload.toString()));
    });

    const { client } = await device('door-ext-2-21', '2-21');
    await client.publishAsync('storetwin/demo-hotel/door-ext-2-21/up', JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });

    const stored = await eventually(async () => (await api('GET', '/api/events?device=door-ext-2-21&type=door')).body.items?.[0], 5000);
    expect(stored).toMatchObject({ device: 'door-ext-2-21', site: 'demo-hotel', zone: '2-21', seq: 1, data: { state: 'open' } });
    const alarm = await eventually(async () => ((await api('GET', '/api/alarms?site=demo-hotel')).body.items as Alarm[]).find((a) => a.zone === '2-21' && a.rule === 'door-opened-armed'), 5000);
    expect(alarm).toMatchObject({ severity: 'critical', state: 'active' });
    // The alarm feed went out through Mosquitto to the integration.
    await eventually(() => feedMessages.find((m) => m.alarm?.id === alarm.id || m.id === alarm.id), 5000);
    expect([...feedTopics]).toEqual(['storetwin/demo-hotel/alarms']);
  });

  it('delivers commands to the device through Mosquitto', async () => {
    const { client } = await device('door-ext-cmd', '2-22');
    await client.subscribeAsync('storetwin/demo-hotel/door-ext-cmd/cmd', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await t.app.broker.sendCommand('demo-hotel', 'door-ext-cmd', { id: 'c1', cmd: 'ping' });
    expect(JSON.parse(await got)).toEqual({ id: 'c1', cmd: 'ping' });
  });

  it('refuses, at Mosquitto, a device publishing to another device\'s topics: StoreTwin never sees it', async () => {
    const { client: victim } = await device('door-ext-victim', '2-23');
    const { client: intruder } = await device('door-ext-intruder', '2-24');
    const deniedBefore = await metricValue(t.httpUrl, 'storetwin_refusals_total', { code: 'STW_ERR_MQTT_PUBLISH_DENIED' });
    // MQTT 3.1.1 has no way to refuse a PUBLISH: Mosquitto acknowledges it and drops it.
    await intruder.publishAsync('storetwin/demo-hotel/door-ext-victim/up', JSON.stringify({ type: 'door', state: 'open', seq: 9 }), { qos: 1 });
    await intruder.publishAsync('storetwin/demo-shop/door-ext-intruder/up', JSON.stringify({ type: 'door', state: 'open', seq: 10 }), { qos: 1 });
    // Nor does it hear another device's commands or anyone's uplinks (Mosquitto filters at delivery).
    const overheard: string[] = [];
    intruder.on('message', (topic) => overheard.push(topic));
    await intruder.subscribeAsync(['storetwin/demo-hotel/door-ext-victim/cmd', 'storetwin/#'], { qos: 1 });
    const victimGot = new Promise<void>((resolve) => victim.once('message', () => resolve()));
    await victim.subscribeAsync('storetwin/demo-hotel/door-ext-victim/cmd', { qos: 1 });
    await t.app.broker.sendCommand('demo-hotel', 'door-ext-victim', { id: 'c2', cmd: 'ping' });
    await victimGot;
    // A message of its own after them: once it is stored, the forbidden ones would have been too.
    await intruder.publishAsync('storetwin/demo-hotel/door-ext-intruder/up', JSON.stringify({ type: 'door', state: 'closed', seq: 11 }), { qos: 1 });
    await eventually(async () => (await api('GET', '/api/events?device=door-ext-intruder&type=door')).body.items?.length === 1, 5000);
    expect((await api('GET', '/api/events?device=door-ext-victim&type=door')).body.items).toEqual([]);
    expect((await api('GET', '/api/events?device=door-ext-intruder&type=door')).body.items.map((e: Json) => e.seq)).toEqual([11]);
    expect(overheard).toEqual([]);
    // Refused by Mosquitto, not by StoreTwin.
    expect(await metricValue(t.httpUrl, 'storetwin_refusals_total', { code: 'STW_ERR_MQTT_PUBLISH_DENIED' })).toBe(deniedBefore);
    await victim.endAsync();
  });

  it('keeps devices out that Mosquitto must not let in: a wrong secret, a removed device, a rotated secret', async () => {
    const { client: live, secret } = await device('door-ext-gone', '2-25', { reconnectPeriod: 0 });
    expect(await connectError(mosquitto.url, { clientId: 'door-ext-gone', username: 'door-ext-gone', password: 'not the secret' })).toMatchObject({ code: 5 });
    // Another device's secret does not open this one.
    expect(await connectError(mosquitto.url, { clientId: 'door-ext-victim', username: 'door-ext-victim', password: secret })).toMatchObject({ code: 5 });

    const rotated = await t.app.devices.rotateSecret('door-ext-gone');
    await t.app.mosquitto!.sync();
    // Reloading, Mosquitto checks the connected clients against the new files: the old secret's connection ends.
    await eventually(() => !live.connected, 5000);
    await eventually(async () => (await connectError(mosquitto.url, { clientId: 'door-ext-gone', username: 'door-ext-gone', password: secret })) !== null, 5000, 100);
    const again = await eventually(() => connectDevice(mosquitto.url, 'door-ext-gone', rotated.secret), 5000, 100);
    await again.endAsync();

    await t.app.devices.remove('door-ext-gone');
    await t.app.mosquitto!.sync();
    await eventually(async () => (await connectError(mosquitto.url, { clientId: 'door-ext-gone', username: 'door-ext-gone', password: rotated.secret })) !== null, 5000, 100);
  });

  it('takes presence from status messages and last wills', async () => {
    const { client } = await device('door-ext-presence', '2-26', {
      will: { topic: 'storetwin/demo-hotel/door-ext-presence/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    await client.publishAsync('storetwin/demo-hotel/door-ext-presence/status', 'online', { qos: 1, retain: true });
    await eventually(() => t.app.broker.isConnected('door-ext-presence'), 5000);
    // A connection that dies without DISCONNECT: Mosquitto publishes the will.
    client.stream.destroy();
    await eventually(() => !t.app.broker.isConnected('door-ext-presence'), 5000);
    const statuses = (await api('GET', '/api/events?device=door-ext-presence&type=status')).body.items.map((e: Json) => e.data.online);
    expect(statuses).toEqual([false, true]);
  });
});
