/**
 * `storetwin serve --demo-devices off` (or STORETWIN_DEMO_DEVICES=off): the demo sites and their
 * registered devices, without the in-process simulators, so a person drives the devices. Run
 * through the real CLI in a child process, checked over its real HTTP and MQTT ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '../../server/config.ts';
import { eventually, metricValue, tempDir } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'storetwin.js');

describe('--demo-devices off', () => {
  it('is read from STORETWIN_DEMO_DEVICES, a config file value or the flag; anything else is refused', () => {
    expect(loadConfig({ env: {} }).demoDevices).toBe(true);
    expect(loadConfig({ env: { STORETWIN_DEMO_DEVICES: 'off' } }).demoDevices).toBe(false);
    expect(loadConfig({ env: { STORETWIN_DEMO_DEVICES: 'off' }, flags: { demoDevices: 'on' } }).demoDevices).toBe(true);
    expect(loadConfig({ env: {}, flags: { demoDevices: false } }).demoDevices).toBe(false);
    expect(() => loadConfig({ env: { STORETWIN_DEMO_DEVICES: 'sometimes' } })).toThrow(/demoDevices/);
  });

  describe('storetwin serve --demo-devices off', () => {
    let child: ChildProcess;
    let dataDir: string;
    let out = '';

    beforeAll(async () => {
      dataDir = await tempDir();
      child = spawn(
        process.execPath,
        [BIN, 'serve', '--demo-devices', 'off', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--log-level', 'silent'],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STORETWIN_DEMO_DEVICES: '' } },
      );
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await eventually(() => out.includes('demo: sites and devices without simulators'), 60_000, 100);
    }, 70_000);

    afterAll(async () => {
      child?.kill('SIGTERM');
      await new Promise((r) => child?.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
    });

    it('keeps the demo sites and devices, connects none of them, and a client holds a device undisturbed', async () => {
      const httpUrl = /HTTP API\s+(http:\/\/[^/\s]+)\/api/.exec(out)?.[1];
      const mqttUrl = /MQTT\s+(mqtt:\/\/\S+)/.exec(out)?.[1];
      expect(httpUrl).toBeDefined();
      expect(mqttUrl).toBeDefined();
      expect(out).toMatch(/sites\s+.*demo-hotel/);

      // The devices are registered, their secrets written, and nobody is connected.
      const { devices } = JSON.parse(await readFile(path.join(dataDir, 'demo-credentials.json'), 'utf8')) as { devices: Record<string, string> };
      expect(Object.keys(devices).length).toBeGreaterThan(100);
      expect(await metricValue(httpUrl!, 'storetwin_mqtt_connections')).toBe(0);

      // A person drives door-2-14: nothing takes its connection away.
      const client = await connectDevice(mqttUrl!, 'door-2-14', devices['door-2-14']!);
      let closes = 0;
      client.on('close', () => closes++);
      await client.publishAsync('storetwin/demo-hotel/door-2-14/up', JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 3000));
      expect(closes).toBe(0);
      expect(client.connected).toBe(true);
      expect(await metricValue(httpUrl!, 'storetwin_mqtt_connections')).toBe(1);
      await client.endAsync();
    }, 30_000);
  });
});
