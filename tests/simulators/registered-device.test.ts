/**
 * `storetwin simulate --device ID --secret S` drives a device registered by hand (placed in no
 * site file): its type, zone and site come from the server's API (--api-token). One-shot and
 * --interactive (stdin driven by the test, once in-process and once through the real CLI),
 * against a real StoreTwin server over real sockets; an unknown device is a coded error.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/config.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { runSimulateCommand, SimulateCommandError } from '../../simulators/cli.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { sink } from '../helpers/sink.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'storetwin.js');
const DEVICE = 'door-2-14-b';
const quiet = { handleSignals: false } as const;

describe('storetwin simulate drives a device registered by hand', () => {
  let t: TestApp;
  let token: string;
  let secret: string;
  const events: Array<{ type: string; data: Record<string, unknown>; at: number }> = [];

  beforeAll(async () => {
    t = await startTestApp();
    token = await adminToken(t.app);
    ({ secret } = await t.app.devices.register({ id: DEVICE, site: 'demo-hotel', type: 'door-sensor', zone: '2-14' }));
    t.app.bus.on('events.accepted', (batch: readonly NewEvent[]) => {
      for (const e of batch) if (e.device === DEVICE) events.push({ type: e.type, data: e.data as unknown as Record<string, unknown>, at: Date.now() });
    });
  });

  afterAll(async () => {
    await t?.stop();
  });

  const doorEvents = (state: string, since: number) => events.filter((e) => e.at >= since && e.type === 'door' && e.data.state === state);

  it('without --api-token: a coded error that says how to find it', async () => {
    const run = runSimulateCommand({ url: t.mqttUrl, device: DEVICE, secret, open: true }, { stdout: sink(), ...quiet });
    await expect(run).rejects.toBeInstanceOf(SimulateCommandError);
    await expect(run).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_NOT_FOUND', exitCode: 1, message: expect.stringMatching(/no device "door-2-14-b" in any site.*--api-token/) });
  });

  it('an unknown device on the server: STW_ERR_DEVICE_NOT_FOUND', async () => {
    const run = runSimulateCommand({ url: t.mqttUrl, device: 'door-nowhere', secret: 'x', apiToken: token, apiUrl: t.httpUrl, open: true }, { stdout: sink(), ...quiet });
    await expect(run).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_NOT_FOUND', message: expect.stringContaining(`no device "door-nowhere" is registered on ${t.httpUrl}`) });
  });

  it('a wrong token is the server\'s code, not a crash', async () => {
    const run = runSimulateCommand({ url: t.mqttUrl, device: DEVICE, secret, apiToken: 'not-a-token', apiUrl: t.httpUrl, open: true }, { stdout: sink(), ...quiet });
    await expect(run).rejects.toMatchObject({ code: 'STW_ERR_TOKEN_INVALID' });
  });

  it('--open with --secret and --api-token sends the event as that device', async () => {
    const since = Date.now();
    const stdout = sink();
    await runSimulateCommand({ url: t.mqttUrl, device: DEVICE, secret, apiToken: token, apiUrl: t.httpUrl, open: true }, { stdout, ...quiet });
    await eventually(() => doorEvents('open', since).length === 1, 5000);
    expect(stdout.text()).toContain(`→ storetwin/demo-hotel/${DEVICE}/up`);
    expect(t.app.twin.deviceState(DEVICE)?.door).toBe('open');
  });

  it('--site naming another site is refused', async () => {
    const run = runSimulateCommand({ url: t.mqttUrl, site: 'demo-shop', device: DEVICE, secret, apiToken: token, apiUrl: t.httpUrl, open: true }, { stdout: sink(), ...quiet });
    await expect(run).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_NOT_FOUND', message: expect.stringContaining('belongs to site "demo-hotel"') });
  });

  it('--interactive: keys on stdin open and close the door', async () => {
    const since = Date.now();
    const stdin = new PassThrough();
    const stdout = sink();
    const run = runSimulateCommand({ url: t.mqttUrl, device: DEVICE, secret, apiToken: token, apiUrl: t.httpUrl, interactive: true }, { stdout, stdin, ...quiet });
    await eventually(() => stdout.text().includes('connected to'), 10_000);
    // A freshly booted sensor believes its door is closed: close first would send nothing.
    stdin.write('o\n');
    await eventually(() => doorEvents('open', since).length === 1, 5000);
    stdin.write('c\n');
    await eventually(() => doorEvents('closed', since).length === 1, 5000);
    stdin.write('q\n');
    const stats = await run;
    expect(stats.errors).toBe(0);
    expect(stdout.text()).not.toMatch(/error:|not connected/);
  });

  it('the real CLI: storetwin simulate --device --secret --interactive, keys piped to stdin', async () => {
    const since = Date.now();
    const child = spawn(
      process.execPath,
      [BIN, 'simulate', '--url', t.mqttUrl, '--device', DEVICE, '--secret', secret, '--api-token', token, '--api-url', t.httpUrl, '--interactive'],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await eventually(() => out.includes('connected to'), 30_000);
    child.stdin.write('o\n');
    // A child process on a busy machine: generous waits, the assertions are what arrives.
    await eventually(() => doorEvents('open', since).length === 1, 20_000);
    // A heartbeat, which every door sensor sends (tamper only in JSON, and the format is the
    // random seed's choice: aa55 sensors have nothing to send for it).
    const afterOpen = Date.now();
    child.stdin.write('h\n');
    await eventually(() => events.some((e) => e.at >= afterOpen && e.type === 'heartbeat'), 20_000);
    child.stdin.end('q\n');
    expect(await exited).toBe(0);
    expect(out).toMatch(/→ storetwin\/demo-hotel\/door-2-14-b\/up/);
    expect(out).toMatch(/done: 1 device\(s\), 0 failed to connect/);
  }, 60_000);

  it('the real CLI prints the code of an unknown device and exits 1', async () => {
    const run = promisify(execFile)(process.execPath, [BIN, 'simulate', '--url', t.mqttUrl, '--device', 'door-nowhere', '--secret', 'x', '--open'], { cwd: REPO_ROOT });
    const err = (await run.catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^error STW_ERR_DEVICE_NOT_FOUND: no device "door-nowhere" in any site/m);
  }, 60_000);
});
