/**
 * `storetwin simulate --via`: simulated devices heard through the integrations, end to end. A
 * real app (HTTP and SQLite on a real socket and file), integrations created and devices
 * registered through its API, the simulator run as the CLI runs it; what must come out is the
 * twin's state. Axis: the integration polls the simulator's live-sum.json over HTTP with digest
 * authentication. Frigate: the simulator publishes to a real (aedes) broker the integration is
 * subscribed to.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { normalizeExternalId } from '../../server/registry/external-ids.ts';
import { parseSimulateOptions, runSimulateCommand, SimulateCommandError } from '../../simulators/cli.ts';
import { derivedExternalId } from '../../simulators/via/external-ids.ts';
import { Stamps } from '../../simulators/via/link.ts';
import { apiRequest, createIntegration as createIntegrationWith, registerDevice, type Json } from '../helpers/api-client.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { sink } from '../helpers/sink.ts';
import { startBroker } from './broker.ts';

const SHOP = 'demo-shop';
/** 12:00 in Asia/Shanghai: the demo shop is open and busy, whatever the hour the test runs. */
const NOON = '2026-11-23T12:00:00+08:00';

let t: TestApp;
let admin: string;

const api = (token: string, method: string, url: string, body?: unknown) => apiRequest(t.httpUrl, token, method, url, body);

const createIntegration = (adapter: string, settings: Record<string, unknown> = {}) => createIntegrationWith(t.httpUrl, admin, { adapter, site: SHOP, settings });

const register = (id: string, type: string, zone: string, externalIds: Record<string, string>) => registerDevice(t.httpUrl, admin, { id, site: SHOP, type, zone, externalIds });

async function events(device: string, type: string) {
  const res = await api(admin, 'GET', `/api/events?device=${device}&type=${type}&order=asc&limit=1000`);
  return res.body.items as { type: string; ts: string; data: Json }[];
}

async function deviceState(device: string) {
  const state = await api(admin, 'GET', `/api/sites/${SHOP}/state`);
  return (state.body.devices as Record<string, { door: string | null; online: boolean | null }>)[device];
}

async function occupancy(zone: string): Promise<number> {
  const state = await api(admin, 'GET', `/api/sites/${SHOP}/state`);
  return (state.body.zones as Record<string, { occupancy: number | null }>)[zone]?.occupancy ?? 0;
}

const quiet = { handleSignals: false } as const;

beforeAll(async () => {
  t = await startTestApp();
  admin = await adminToken(t.app);
});

afterAll(async () => {
  await t?.stop();
});

describe('simulate --via ctwing', () => {
  it('--open sends one AA55 frame as APPdata to the push endpoint, and the door is open in the twin; --close closes it', async () => {
    const { token } = await createIntegration('ctwing');
    await register('shop-door-cash', 'door-sensor', 'cash-room', { ctwing: derivedExternalId('ctwing', 'shop-door-cash') });

    const stdout = sink();
    const stats = await runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, device: 'shop-door-cash', open: true }, { stdout, ...quiet });
    const text = stdout.text();
    // One push: a dataReport whose APPdata is the device's AA55 alarm frame, answered with the tally.
    expect(text).toMatch(/→ POST \/api\/ingest\/ctwing .*"messageType":"dataReport".*frame AA55\w+\s+= \{"type":"door","state":"open"[^}]*\}\s+⇐ 200 accepted 1/);
    expect(text.match(/→ POST/g)).toHaveLength(1);
    expect(stats).toMatchObject({ sent: 1, acked: 1, errors: 0 });
    expect(stats.delivery?.counts).toMatchObject({ pushes: 1, accepted: 1, unknown: 0, refused: 0 });
    await eventually(async () => (await deviceState('shop-door-cash'))?.door === 'open');
    const [opened] = await events('shop-door-cash', 'door');
    // Decoded from the frame by the door sensor's codec: AA55 door frames carry the voltage.
    expect(opened?.data).toMatchObject({ state: 'open', battery: expect.any(Number) });

    await runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, device: 'shop-door-cash', close: true }, { stdout: sink(), ...quiet });
    await eventually(async () => (await deviceState('shop-door-cash'))?.door === 'closed');
  });

  it('reports a refused push with its status and error code, and a device the server does not know', async () => {
    const stdout = sink();
    const run = runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token: 'stw_int_not-a-token', device: 'shop-door-office', open: true }, { stdout, ...quiet });
    await expect(run).rejects.toThrow(/401 STW_ERR_INTEGRATION_TOKEN_INVALID/);
    await expect(run).rejects.toMatchObject({ exitCode: 1 });
    expect(stdout.text()).toMatch(/→ POST \/api\/ingest\/ctwing .*⇐ 401 STW_ERR_INTEGRATION_TOKEN_INVALID/);

    // A good token for a device nobody registered: answered 200, counted unknown, and said so.
    const { token } = await createIntegration('ctwing');
    const unknown = sink();
    // (A camera through a carrier platform: its JSON event is the frame.)
    const stats = await runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, device: 'shop-cam-office', motion: true }, { stdout: unknown, ...quiet });
    expect(unknown.text()).toMatch(/frame \{"type":"motion".*⇐ 200 accepted 0, unknown device 1/);
    expect(stats.delivery?.counts.unknown).toBe(1);
    expect(stats.delivery?.lastProblem).toMatch(/ctwing "shop-cam-office"/);
    const listed = await api(admin, 'GET', `/api/integrations/unknown-devices?site=${SHOP}`);
    expect(listed.body.items).toContainEqual(expect.objectContaining({ ids: expect.objectContaining({ ctwing: 'shop-cam-office' }) }));
  });

  it('--interactive reports the device online as the platform would, sends on keys, and x reports it offline', async () => {
    const { token } = await createIntegration('ctwing');
    await register('shop-door-office', 'door-sensor', 'back-office', { ctwing: derivedExternalId('ctwing', 'shop-door-office') });
    const stdin = new PassThrough();
    const stdout = sink();
    const run = runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, device: 'shop-door-office', interactive: true }, { stdout, stdin, ...quiet });
    await eventually(async () => (await deviceState('shop-door-office'))?.online === true);
    // The twin may show it before the platform's answer reaches the simulator (events are
    // announced while their commit runs): the line is printed once the answer is in.
    await eventually(() => /"messageType":"deviceOnlineOfflineReport".*"eventType":1.*⇐ 200 accepted 1/.test(stdout.text()));
    stdin.write('o\n');
    await eventually(async () => (await deviceState('shop-door-office'))?.door === 'open');
    stdin.write('x\n');
    await eventually(async () => (await deviceState('shop-door-office'))?.online === false);
    stdin.write('q\n');
    const stats = await run;
    expect(stats.errors).toBe(0);
    expect(stdout.text()).toMatch(/"messageType":"deviceOnlineOfflineReport".*"eventType":0.*⇐ 200 accepted 1/);
  });

  it("--api-token uses the externalIds the device was registered with; another site's user cannot read them", async () => {
    const { token } = await createIntegration('ctwing');
    await register('shop-door-north', 'door-sensor', 'entrance-north', { ctwing: 'ctw-north-8837', imei: '860374051096202' });
    const stdout = sink();
    await runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, apiToken: admin, device: 'shop-door-north', open: true }, { stdout, ...quiet });
    expect(stdout.text()).toContain('"deviceId":"ctw-north-8837"');
    expect(stdout.text()).toContain('"IMEI":"860374051096202"');
    await eventually(async () => (await deviceState('shop-door-north'))?.door === 'open');

    await t.app.users.createUser({ username: 'hotel-tech', password: 'correct horse battery', role: 'technician', sites: ['demo-hotel'] });
    const hotelTech = (await t.app.users.login('hotel-tech', 'correct horse battery')).token;
    await expect(
      runSimulateCommand({ via: 'ctwing', url: t.httpUrl, token, apiToken: hotelTech, device: 'shop-door-north', open: true }, { stdout: sink(), ...quiet }),
    ).rejects.toThrow(/cannot read the devices of demo-shop .*404 STW_ERR_SITE_NOT_FOUND/);
  });
});

describe('simulate --via onenet', () => {
  it('signs the push with --settings token and the door opens', async () => {
    const { token } = await createIntegration('onenet', { token: 'shop-push-token' });
    const devId = derivedExternalId('onenet', 'shop-door-south');
    await register('shop-door-south', 'door-sensor', 'entrance-south', { onenet: devId });
    const stdout = sink();
    await runSimulateCommand(
      { via: 'onenet', url: t.httpUrl, token, settings: '{"token":"shop-push-token"}', device: 'shop-door-south', open: true },
      { stdout, ...quiet },
    );
    expect(stdout.text()).toMatch(new RegExp(`"ds_id":"3200_0_5750","value":"AA55\\w+","dev_id":${devId}.*"msg_signature".*⇐ 200 accepted 1`));
    await eventually(async () => (await deviceState('shop-door-south'))?.door === 'open');

    // Signed with another token: the server refuses the signature, and the run says so.
    await expect(
      runSimulateCommand({ via: 'onenet', url: t.httpUrl, token, settings: { token: 'wrong' }, device: 'shop-door-south', close: true }, { stdout: sink(), ...quiet }),
    ).rejects.toThrow(/STW_ERR_PUSH_SIGNATURE/);
    expect((await deviceState('shop-door-south'))?.door).toBe('open');
  });
});

describe('simulate --via hikvision', () => {
  it("a counter's simulated counts arrive as ISAPI people-counting alerts and move the hall's occupancy", async () => {
    const { token } = await createIntegration('hikvision');
    const mac = derivedExternalId('hikvision', 'shop-counter-south');
    await register('shop-counter-south', 'footfall-counter', 'entrance-south', { hikvision: mac });
    const before = await occupancy('sales-hall');
    const stdout = sink();
    const stats = await runSimulateCommand(
      { via: 'hikvision', url: t.httpUrl, token, device: 'shop-counter-south', speed: '600', duration: '3', startAt: NOON, seed: '5' },
      { stdout, ...quiet, progressIntervalMs: 500 },
    );
    const counts = await events('shop-counter-south', 'count');
    // 3 s at 600× is 20 to 30 simulated minutes: a count a minute, each one alert, none lost or merged.
    expect(counts.length).toBeGreaterThanOrEqual(10);
    expect(stats.delivery?.counts).toMatchObject({ accepted: counts.length, duplicates: 0, unknown: 0, refused: 0 });
    for (const c of counts) expect(c.data.period).toBe(60);
    // Heartbeats have no ISAPI alert, and Hikvision reports no connectivity: skipped and
    // counted, not sent (at least the boot heartbeat, the online at start, the offline at stop).
    expect(stats.skipped).toBeGreaterThanOrEqual(3);
    expect(stats.sent).toBe(counts.length);
    expect(stdout.text()).toMatch(/hikvision: pushes \d+, accepted \d+/);
    // The twin's occupancy is the running sum of in − out, never below zero.
    const expected = counts.reduce((occ, c) => Math.max(0, occ + c.data.in - c.data.out), before);
    expect(counts.some((c) => c.data.in > 0)).toBe(true);
    await eventually(async () => (await occupancy('sales-hall')) === expected);
  });
});

describe('simulate --via axis', () => {
  it('serves live-sum.json behind digest auth; an axis integration polling it receives the counts', async () => {
    const serial = derivedExternalId('axis', 'shop-counter-north');
    await register('shop-counter-north', 'footfall-counter', 'entrance-north', { axis: serial });
    const stdout = sink();
    const stop = new AbortController();
    const run = runSimulateCommand(
      { via: 'axis', device: 'shop-counter-north', listen: '127.0.0.1:0', username: 'root', password: 'pass', speed: '600', startAt: NOON, seed: '9' },
      { stdout, ...quiet, signal: stop.signal },
    );
    try {
      const url = await eventually(() => /http:\/\/127\.0\.0\.1:\d+\/shop-counter-north\/local\/tvpc\/\.api\?live-sum\.json/.exec(stdout.text())?.[0]);
      expect(stdout.text()).toContain(serial);
      // Without the password the counter answers 401 with a digest challenge, as an Axis does.
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Digest realm="AXIS_ACCC8E[0-9A-F]{6}", nonce="[^"]+", algorithm=MD5, qop="auth"/);

      await createIntegration('axis', { url, username: 'root', password: 'pass', intervalS: 5, timeZone: 'Asia/Shanghai' });
      // The first poll sets the baseline; the next one, 5 s later, counts everyone since.
      const counts = await eventually(async () => {
        const list = await events('shop-counter-north', 'count');
        return list.length > 0 ? list : null;
      }, 15_000, 200);
      expect(counts[0]?.data.in).toBeGreaterThan(0);
    } finally {
      stop.abort();
    }
    const stats = await run;
    expect(stats.delivery?.counts.polls).toBeGreaterThanOrEqual(2);
    expect(stats.delivery?.counts.unauthorized).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('simulate --via frigate', () => {
  it("publishes a camera's motion as a frigate/events message; the frigate integration delivers it", async () => {
    const broker = await startBroker();
    try {
      const subscribed = new Promise<void>((resolve) => {
        broker.broker.on('subscribe', (subs) => {
          if (subs.some((s) => s.topic === 'frigate/events')) resolve();
        });
      });
      await register('shop-cam-hall-sw', 'camera', 'sales-hall', { frigate: derivedExternalId('frigate', 'shop-cam-hall-sw') });
      // Simulated detections score 0.55..0.99: a threshold below that makes every one count.
      await createIntegration('frigate', { mqttUrl: broker.url, minScore: 0.5, sources: ['events'] });
      await subscribed;

      const stdout = sink();
      await runSimulateCommand({ via: 'frigate', frigateMqtt: broker.url, device: 'shop-cam-hall-sw', motion: true }, { stdout, ...quiet });
      expect(stdout.text()).toMatch(/→ frigate\/events .*"type":"new".*"camera":"shop-cam-hall-sw".*"label":"person".*⇐ PUBACK/);
      const [motion] = await eventually(async () => {
        const list = await events('shop-cam-hall-sw', 'motion');
        return list.length > 0 ? list : null;
      });
      expect(motion?.data).toMatchObject({ label: 'person', zone: expect.any(String), confidence: expect.any(Number) });
    } finally {
      await broker.close();
    }
  });
});

describe('--via options and ids', () => {
  it('reports every problem at once', () => {
    let error: unknown;
    try {
      parseSimulateOptions({ via: 'nope', site: SHOP, listen: 'x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SimulateCommandError);
    expect((error as Error).message).toMatch(/--via: must be one of .*\b(ctwing|onenet|hikvision|axis|frigate)\b/);
    for (const id of ['ctwing', 'onenet', 'hikvision', 'axis', 'frigate']) expect((error as Error).message).toContain(id);
    expect((error as Error).message).toMatch(/--listen: must be PORT or HOST:PORT/);

    const problems = (raw: Record<string, unknown>): string => {
      try {
        parseSimulateOptions(raw);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ via: 'ctwing', site: SHOP, url: 'mqtt://127.0.0.1:1883', listen: '8091' })).toMatch(/--url: with --via.*\n.*--token: is required.*\n.*--listen: only with --via axis/s);
    expect(problems({ via: 'frigate', site: SHOP })).toMatch(/--frigate-mqtt: is required/);
    expect(problems({ site: SHOP, token: 'x', externalId: 'y' })).toMatch(/--token: only with --via.*--external-id: only with --via/s);
    expect(problems({ via: 'axis', device: 'shop-counter-south', heartbeat: true })).toMatch(/axis is polled/);
    expect(parseSimulateOptions({ via: 'axis', site: SHOP })).toMatchObject({ url: 'http://127.0.0.1:8080' });
    expect(parseSimulateOptions({ site: SHOP })).toMatchObject({ url: 'mqtt://127.0.0.1:1883' });
  });

  it('refuses a device the platform does not carry, and settings the adapter would refuse', async () => {
    await expect(runSimulateCommand({ via: 'hikvision', url: t.httpUrl, token: 'x', device: 'shop-door-cash', open: true }, { stdout: sink(), ...quiet })).rejects.toThrow(
      /shop-door-cash: .*carries count and motion events; a door-sensor sends none/,
    );
    await expect(runSimulateCommand({ via: 'onenet', url: t.httpUrl, token: 'x', device: 'shop-door-cash', open: true }, { stdout: sink(), ...quiet })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--settings token:/),
    });
  });

  it('derives the same well-formed id on every platform from a device id, in the spelling the server stores', () => {
    const shapes: Record<string, RegExp> = {
      ctwing: /^shop-door-cash$/,
      frigate: /^shop-door-cash$/,
      onenet: /^[1-9]\d{9}$/,
      hikvision: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
      axis: /^ACCC8E[0-9A-F]{6}$/,
      imei: /^86\d{13}$/,
    };
    for (const [key, shape] of Object.entries(shapes)) {
      const id = derivedExternalId(key as 'ctwing', 'shop-door-cash');
      expect(id, key).toMatch(shape);
      expect(derivedExternalId(key as 'ctwing', 'shop-door-cash')).toBe(id);
      expect(normalizeExternalId(key, id)).toBe(id);
      if (key !== 'ctwing' && key !== 'frigate') expect(derivedExternalId(key as 'ctwing', 'shop-door-north')).not.toBe(id);
    }
    // A locally administered unicast MAC: never a vendor's.
    expect(Number.parseInt(derivedExternalId('hikvision', 'x').slice(0, 2), 16) & 0b11).toBe(0b10);
  });

  it('stamps each message of a device later than the last, to the millisecond, never ahead of the clock', () => {
    const stamps = new Stamps();
    const now = Date.parse('2026-11-23T04:00:00.698Z');
    const seen = [stamps.next('d', now), stamps.next('d', now), stamps.next('d', now), stamps.next('e', now)];
    expect(seen).toEqual(['2026-11-23T04:00:00.698Z', '2026-11-23T04:00:00.699Z', '2026-11-23T04:00:00.700Z', '2026-11-23T04:00:00.698Z']);
    // A second run (a new simulate process) 100 ms later lands on a stamp of its own.
    expect(new Stamps().next('d', now + 100)).toBe('2026-11-23T04:00:00.798Z');
  });
});
