/**
 * A registered device's broker-level refusal is kept as its last rejection like ingest's
 * (the device page's "Last rejection"): a device publishing under another site's topic — the
 * classic installation mistake — is refused (STW_ERR_MQTT_PUBLISH_DENIED) and the state API
 * names the code for that device; a malformed payload afterwards replaces it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe('a device refused by the broker', () => {
  it('shows the refusal as its last rejection, per device, in the state API', async () => {
    const { secret } = await t.app.devices.register({ id: 'misfiled-door', site: 'demo-hotel', type: 'door-sensor', zone: '2-06' });
    const wrong = await connectDevice(t.mqttUrl, 'misfiled-door', secret, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => wrong.once('close', () => resolve()));
    // Its topic names the wrong site: refused, and the connection closed (MQTT 3.1.1 has no negative PUBACK).
    wrong.publish('storetwin/demo-shop/misfiled-door/up', JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await closed;
    wrong.end(true);
    await eventually(() => t.app.twin.deviceState('misfiled-door')?.lastRejection);
    expect(t.app.twin.deviceState('misfiled-door')).toMatchObject({ rejected: 1, lastRejection: { code: 'STW_ERR_MQTT_PUBLISH_DENIED', message: expect.stringContaining('storetwin/demo-shop/misfiled-door/up') } });

    await t.app.users.createUser({ username: 'tech', password: 'correct horse battery', role: 'technician' });
    const { token } = await t.app.users.login('tech', 'correct horse battery');
    const state = (await (await fetch(`${t.httpUrl}/api/sites/demo-hotel/state`, { headers: { authorization: `Bearer ${token}` } })).json()) as { devices: Record<string, { lastRejection: { code: string } | null }> };
    expect(state.devices['misfiled-door']?.lastRejection?.code).toBe('STW_ERR_MQTT_PUBLISH_DENIED');

    // Fixed topic, bad payload: ingest's refusal is the last one now.
    const right = await connectDevice(t.mqttUrl, 'misfiled-door', secret);
    await right.publishAsync('storetwin/demo-hotel/misfiled-door/up', '{"type":', { qos: 1 });
    await right.endAsync();
    await eventually(() => t.app.twin.deviceState('misfiled-door')?.rejected === 2);
    expect(t.app.twin.deviceState('misfiled-door')?.lastRejection?.code).toBe('STW_ERR_PAYLOAD_MALFORMED_JSON');
  }, 30_000);
});
