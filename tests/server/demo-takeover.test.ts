/**
 * A client logging in with a demo device's credentials takes the device over from the demo's
 * in-process simulator: no presence flapping, no events from the demo, the door it opened stays
 * open and its alarm active; once the client has been gone for the grace, the demo drives the
 * device again. Real server, real demo simulators, a real MQTT client over a TCP socket.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { demoCredentialsFile, seedDemoDevices, startDemo, type DemoRunner } from '../../server/demo.ts';
import { runSimulateCommand } from '../../simulators/cli.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { sink } from '../helpers/sink.ts';

const DEVICE = 'door-2-14';
const GRACE_MS = 2500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('demo devices step aside for a client holding their credentials', () => {
  let t: TestApp;
  let demo: DemoRunner;
  let secret: string;
  const statuses: Array<{ online: boolean; at: number }> = [];
  const alarms: Array<{ action: string; at: number }> = [];
  const events: Array<{ type: string; data: unknown; at: number }> = [];

  beforeAll(async () => {
    const dataDir = await tempDir();
    // A short duration rule for this one room, so the test does not wait the shipped 5 minutes.
    await mkdir(path.join(dataDir, 'rules'), { recursive: true });
    await writeFile(
      path.join(dataDir, 'rules', 'takeover.yaml'),
      [
        '- id: test-door-2-14-open',
        '  site: demo-hotel',
        '  zones: [2-14]',
        '  severity: major',
        "  message: {en: 'door open', zh-CN: '门开着'}",
        '  when: {kind: duration, subject: zone, where: [{field: door, op: eq, value: open}], seconds: 1}',
        '',
      ].join('\n'),
    );
    // Fast enough that a demo still driving the device would close the door within seconds.
    t = await startTestApp({ demoSpeed: 600 }, { dataDir });
    const credentials = await seedDemoDevices(t.app);
    secret = credentials[DEVICE]!;
    t.app.bus.on('alarm.changed', ({ alarm, action }) => {
      if (alarm.rule === 'test-door-2-14-open') alarms.push({ action, at: Date.now() });
    });
    t.app.bus.on('events.accepted', (batch: readonly NewEvent[]) => {
      for (const e of batch) {
        if (e.device !== DEVICE) continue;
        // Presence is a `status` event (ingest records each change once).
        if (e.type === 'status') statuses.push({ online: (e.data as { online: boolean }).online, at: Date.now() });
        else events.push({ type: e.type, data: e.data, at: Date.now() });
      }
    });
    demo = await startDemo(t.app, credentials, { yieldGraceMs: GRACE_MS });
    await eventually(() => t.app.broker.isConnected(DEVICE) && statuses.some((s) => s.online), 15_000);
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await t?.stop();
  });

  it('holds the device while connected, keeps the alarm, then hands it back after the grace', async () => {
    const client: MqttClient = await connectDevice(t.mqttUrl, DEVICE, secret, {
      will: { topic: `storetwin/demo-hotel/${DEVICE}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const heldFrom = Date.now();
    await client.publishAsync(`storetwin/demo-hotel/${DEVICE}/status`, 'online', { qos: 1, retain: true });
    await client.publishAsync(`storetwin/demo-hotel/${DEVICE}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 61_001 }), { qos: 1 });

    // The alarm is raised and stays active: nobody closes the door behind the client.
    await eventually(() => alarms.some((a) => a.action === 'raised'), 10_000);
    expect(demo.yielded()).toContain(DEVICE);
    await sleep(4000); // 4 s at speed 600: 40 simulated minutes the demo would have driven the door
    expect(alarms.map((a) => a.action)).not.toContain('cleared');
    expect(alarms.map((a) => a.action)).not.toContain('restored');
    const zone = t.app.twin.siteState('demo-hotel')?.zones['2-14'];
    expect(zone?.door).toBe('open');

    // No flapping while held: presence never went offline, and the only event is the client's.
    expect(statuses.filter((s) => s.at >= heldFrom && !s.online)).toEqual([]);
    expect(t.app.broker.isConnected(DEVICE)).toBe(true);
    expect(events.filter((e) => e.at >= heldFrom)).toEqual([expect.objectContaining({ type: 'door', data: expect.objectContaining({ state: 'open' }) })]);

    // The client leaves (clean DISCONNECT): offline, and the demo waits out the grace.
    const leftAt = Date.now();
    await client.endAsync();
    await eventually(() => statuses.some((s) => s.at >= leftAt && !s.online), 5000);
    await sleep(GRACE_MS / 2);
    expect(demo.yielded()).toContain(DEVICE);
    expect(t.app.broker.isConnected(DEVICE)).toBe(false);

    // After the grace the demo drives it again: online, and it boots (identity, heartbeat).
    await eventually(() => statuses.some((s) => s.at >= leftAt && s.online), GRACE_MS + 10_000);
    expect(statuses.find((s) => s.at >= leftAt && s.online)!.at - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    await eventually(() => events.some((e) => e.at >= leftAt && e.type === 'heartbeat'), 10_000);
    expect(demo.yielded()).not.toContain(DEVICE);
    expect(t.app.broker.isConnected(DEVICE)).toBe(true);
  }, 60_000);

  it('a client that comes back within the grace keeps the device', async () => {
    const first = await connectDevice(t.mqttUrl, DEVICE, secret);
    await eventually(() => demo.yielded().includes(DEVICE), 5000);
    await first.endAsync();
    await sleep(GRACE_MS / 2);
    const second = await connectDevice(t.mqttUrl, DEVICE, secret);
    const backAt = Date.now();
    await sleep(GRACE_MS + 1000);
    // Still held by the second client: the grace that started when the first left was cancelled.
    expect(demo.yielded()).toContain(DEVICE);
    expect(statuses.filter((s) => s.at >= backAt && !s.online)).toEqual([]);
    expect(events.filter((e) => e.at >= backAt)).toEqual([]);
    await second.endAsync();
  }, 30_000);

  it('storetwin simulate --device door-2-14 --interactive drives a demo device while the demo runs', async () => {
    const since = Date.now();
    const stdin = new PassThrough();
    const stdout = sink();
    const run = runSimulateCommand(
      { url: t.mqttUrl, device: DEVICE, credentials: demoCredentialsFile(t.dataDir), interactive: true },
      { stdout, stdin, handleSignals: false },
    );
    await eventually(() => stdout.text().includes('connected to') && demo.yielded().includes(DEVICE), 10_000);
    // The simulate run boots the device (its heartbeat says closed), then the key opens the door.
    stdin.write('o\n');
    await eventually(() => events.some((e) => e.at >= since && e.type === 'door' && (e.data as { state: string }).state === 'open'), 5000);
    await sleep(3000);
    expect(t.app.twin.deviceState(DEVICE)?.door).toBe('open');
    stdin.write('c\n');
    await eventually(() => t.app.twin.deviceState(DEVICE)?.door === 'closed', 5000);
    stdin.write('q\n');
    const stats = await run;
    expect(stats.errors).toBe(0);
    expect(stdout.text()).not.toMatch(/error:|not connected/);
    expect(statuses.filter((s) => s.at >= since && s.at < Date.now() - 500 && !s.online)).toEqual([]);
  }, 30_000);
});

describe('the broker across a take-over by the same device', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('a second connection of a device replaces the first without an offline in between', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-twice', site: 'demo-hotel', type: 'door-sensor', zone: '2-13' });
    const presence: boolean[] = [];
    t.app.bus.on('events.accepted', (batch: readonly NewEvent[]) => {
      for (const e of batch) if (e.device === 'door-twice' && e.type === 'status') presence.push((e.data as { online: boolean }).online);
    });
    const will = { topic: 'storetwin/demo-hotel/door-twice/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const first = await connectDevice(t.mqttUrl, 'door-twice', secret, { will });
    await eventually(() => presence.length === 1);
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const second = await connectDevice(t.mqttUrl, 'door-twice', secret, { will });
    await firstClosed;
    await sleep(500);
    // The first connection's will was not published and its close recorded no offline.
    expect(presence).toEqual([true]);
    expect(t.app.broker.isConnected('door-twice')).toBe(true);
    await second.endAsync();
    await eventually(() => presence.length === 2);
    expect(presence).toEqual([true, false]);
    first.end(true);
  });
});
