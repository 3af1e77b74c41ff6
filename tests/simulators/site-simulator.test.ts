import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { getDeviceType } from '../../devices/index.ts';
import type { DeviceEvent } from '../../devices/types.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';
import type { Site } from '../../server/sites/model.ts';
import { SiteSimulator } from '../../simulators/site-simulator.ts';
import { Recorder, retained, startBroker, type Received, type TestBroker } from './broker.ts';
import { jpegComment } from '../../devices/shared/snapshot.ts';

const SITES_DIR = fileURLToPath(new URL('../../sites/', import.meta.url));
/** 12:00 in Asia/Shanghai: the demo shop is open and near its noon peak. */
const NOON_LOCAL = new Date('2026-11-23T04:00:00Z');

let shop: Site;
let broker: TestBroker;
let recorder: Recorder;
const simulators: SiteSimulator[] = [];

function simulator(options: Partial<ConstructorParameters<typeof SiteSimulator>[0]> = {}): SiteSimulator {
  const sim = new SiteSimulator({ url: broker.url, site: shop, speed: 600, seed: 7, startAt: NOON_LOCAL, ...options });
  simulators.push(sim);
  return sim;
}

function deviceOf(topic: string): string {
  return topic.split('/')[2] ?? '';
}

function decodeUp(m: Received): DeviceEvent[] {
  const placement = shop.devices.find((d) => d.id === deviceOf(m.topic));
  if (!placement) throw new Error(`message from unknown device: ${m.topic}`);
  const type = getDeviceType(placement.type);
  if (!type) throw new Error(`unknown type ${placement.type}`);
  const result = type.decode(m.payload);
  if (!result.ok) throw new Error(`${m.topic}: ${result.code} ${result.message} (${m.payload.toString('hex')})`);
  for (const e of result.events) expect(type.events).toContain(e.type);
  return result.events;
}

beforeAll(async () => {
  const catalog = await SiteCatalog.load([SITES_DIR]);
  const site = catalog.get('demo-shop');
  if (!site) throw new Error('demo-shop is missing from sites/');
  shop = site;
});

beforeEach(async () => {
  broker = await startBroker();
  recorder = await Recorder.connect(broker.url);
});

afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.stop()));
  await recorder.close();
  await broker.close();
});

describe('SiteSimulator against a real aedes broker', () => {
  it('runs the demo shop at speed 600: door, heartbeat and count events decode with their device type', async () => {
    const sim = simulator({ tickMs: 200 });
    await sim.start();
    expect(sim.stats()).toMatchObject({ devices: shop.devices.length, connected: shop.devices.length, failed: 0 });

    const isUp = (m: Received): boolean => m.topic.endsWith('/up');
    const hasEvent = (type: DeviceEvent['type']) => (m: Received) => isUp(m) && decodeUp(m).some((e) => e.type === type);
    await recorder.waitFor(hasEvent('heartbeat'), 15_000, 'a heartbeat');
    await recorder.waitFor(hasEvent('count'), 15_000, 'a count');
    await recorder.waitFor(hasEvent('door'), 15_000, 'a door event');

    const ups = recorder.messages.filter(isUp);
    // Every message on `up` decodes, whatever its wire format.
    for (const m of ups) decodeUp(m);
    const stats = sim.stats();
    expect(stats.errors).toBe(0);
    expect(stats.sent).toBeGreaterThanOrEqual(ups.length);
    expect(stats.simTime.getTime()).toBeGreaterThan(NOON_LOCAL.getTime());
    await sim.stop();
    const final = sim.stats();
    // QoS 1 throughout: after a clean stop every publish has its PUBACK.
    expect(final.acked).toBe(final.sent);
  });

  it('publishes retained online for every device, and stop() leaves offline retained', async () => {
    const sim = simulator({ paused: true });
    await sim.start();
    const online = await retained(broker.url, 'storetwin/demo-shop/+/status', shop.devices.length);
    expect(online.size).toBe(shop.devices.length);
    for (const d of shop.devices) expect(online.get(`storetwin/demo-shop/${d.id}/status`)).toBe('online');

    await sim.stop();
    expect(sim.stats().connected).toBe(0);
    const offline = await retained(broker.url, 'storetwin/demo-shop/+/status', shop.devices.length);
    for (const d of shop.devices) expect(offline.get(`storetwin/demo-shop/${d.id}/status`)).toBe('offline');
  });

  it('answers a snapshot command with JPEG bytes on snapshot/{id}', async () => {
    const camera = shop.devices.find((d) => d.type === 'camera');
    if (!camera) throw new Error('demo-shop has no camera');
    const sim = simulator({ paused: true, devices: [{ id: camera.id, type: camera.type, zone: camera.zone }] });
    await sim.start();
    const topic = `storetwin/demo-shop/${camera.id}/snapshot/cmd-42`;
    await recorder.client.publishAsync(`storetwin/demo-shop/${camera.id}/cmd`, JSON.stringify({ id: 'cmd-42', cmd: 'snapshot' }), { qos: 1 });
    const snap = await recorder.waitFor((m) => m.topic === topic, 10_000, topic);
    // JPEG: SOI marker at the start, EOI at the end.
    expect(snap.payload.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(snap.payload.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    // Taken now (the alarm's clock), whatever the simulated time of day.
    const taken = Date.parse((jpegComment(snap.payload) ?? '').replace(/^taken /, ''));
    expect(Math.abs(taken - Date.now())).toBeLessThan(60_000);

    // A malformed command is counted, not fatal.
    await recorder.client.publishAsync(`storetwin/demo-shop/${camera.id}/cmd`, 'not json', { qos: 1 });
    await expect.poll(() => sim.stats().errors).toBe(1);
    expect(sim.stats().connected).toBe(1);
  });

  it('setOffline drops the connection without DISCONNECT, so the broker publishes the last will', async () => {
    const sim = simulator({ paused: true });
    await sim.start();
    const victim = shop.devices[0]?.id ?? '';
    const topic = `storetwin/demo-shop/${victim}/status`;
    await recorder.waitFor((m) => m.topic === topic && m.payload.toString() === 'online');
    const sentBefore = sim.stats().sent;

    await sim.setOffline(victim);
    await recorder.waitFor((m) => m.topic === topic && m.payload.toString() === 'offline', 5000, 'the last will');
    // The simulator did not publish that `offline` itself: it came from the will.
    expect(sim.stats().sent).toBe(sentBefore);
    expect(sim.stats().connected).toBe(shop.devices.length - 1);
    await expect(sim.act(victim, 'open')).rejects.toThrow(/not connected/);

    expect(await sim.setOnline(victim)).toBe(true);
    expect(sim.stats().connected).toBe(shop.devices.length);
  });

  describe('with credentials', () => {
    const secrets = (site: Site): Record<string, string> => Object.fromEntries(site.devices.map((d) => [d.id, `secret-of-${d.id}`]));
    let authBroker: TestBroker;
    let seen: Array<{ clientId: string; username: string | undefined; password: string | undefined }>;

    beforeEach(async () => {
      seen = [];
      const expected = secrets(shop);
      authBroker = await startBroker({
        authenticate: (client, username, password, done) => {
          seen.push({ clientId: client.id, username, password: password?.toString() });
          const ok = username !== undefined && username === client.id && password?.toString() === expected[username];
          if (ok) {
            done(null, true);
            return;
          }
          // BAD_USERNAME_OR_PASSWORD [MQTT-3.2.2-3]
          done(Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), false);
        },
      });
    });

    afterEach(async () => {
      await Promise.all(simulators.splice(0).map((s) => s.stop()));
      await authBroker.close();
    });

    it('connects with client id = username = device id and the device secret', async () => {
      const sim = simulator({ url: authBroker.url, paused: true, credentials: secrets(shop) });
      await sim.start();
      expect(sim.stats()).toMatchObject({ connected: shop.devices.length, failed: 0 });
      expect(seen).toHaveLength(shop.devices.length);
      for (const s of seen) {
        expect(s.username).toBe(s.clientId);
        expect(s.password).toBe(`secret-of-${s.clientId}`);
      }
    });

    it('counts refused devices as failed and throws only when none connect', async () => {
      const wrong = { ...secrets(shop), [shop.devices[1]?.id ?? '']: 'wrong' };
      const partly = simulator({ url: authBroker.url, paused: true, credentials: wrong });
      await partly.start();
      const stats = partly.stats();
      expect(stats).toMatchObject({ connected: shop.devices.length - 1, failed: 1 });
      expect(stats.lastError).toMatch(/bad username or password/);
      await partly.stop();

      const none = simulator({ url: authBroker.url, paused: true });
      await expect(none.start()).rejects.toThrow(/no device could connect.*bad username or password/);
    });
  });

  it('throws on an unreachable broker without hanging', async () => {
    const sim = simulator({ url: 'mqtt://127.0.0.1:1', paused: true, connectTimeoutMs: 2000 });
    await expect(sim.start()).rejects.toThrow(/no device could connect/);
  });
});
