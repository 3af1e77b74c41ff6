/**
 * The `storetwin` command as a technician uses it, in child processes, beside a running
 * server on the same data directory, and before the server's first start.
 */
import { execFile, spawn } from 'node:child_process';
import { connectAsync } from 'mqtt';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/config.ts';
import { eventually, SHIPPED_SITES, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const run = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'bin', 'storetwin.js');
let t: TestApp;

function storetwin(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const child = run(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, STORETWIN_DEMO: '0' } });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return child;
}

beforeAll(async () => {
  t = await startTestApp({}, {});
});
afterAll(async () => {
  await t.stop();
});

describe('storetwin CLI', () => {
  it('lists its commands', async () => {
    const { stdout } = await storetwin(['--help']);
    for (const cmd of ['serve', 'demo', 'simulate', 'device', 'user']) expect(stdout).toContain(cmd);
  });

  it('device add beside a running server: the device connects and shows up in the twin', async () => {
    const { stdout } = await storetwin([
      'device', 'add', '--data-dir', t.dataDir, '--sites-dir', path.join(REPO_ROOT, 'sites'),
      '--site', 'demo-hotel', '--type', 'door-sensor', '--zone', '2-14', '--json',
    ]);
    const { device, secret } = JSON.parse(stdout) as { device: { id: string }; secret: string };
    expect(device.id).toBe('door-2-14');
    const client = await connectDevice(t.mqttUrl, device.id, secret);
    await client.publishAsync(`storetwin/demo-hotel/${device.id}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await client.endAsync();
    await eventually(() => t.app.twin.siteState('demo-hotel')?.zones['2-14']?.door === 'open');
    expect(t.app.twin.deviceState('door-2-14')?.door).toBe('open');
  });

  it('device add refuses an unknown zone with its code and a non-zero exit', async () => {
    const err = await storetwin([
      'device', 'add', '--data-dir', t.dataDir, '--sites-dir', path.join(REPO_ROOT, 'sites'),
      '--site', 'demo-hotel', '--type', 'door-sensor', '--zone', '9-99',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('STW_ERR_ZONE_NOT_FOUND');
  });

  it('user add reads the password from stdin; the user can log in', async () => {
    await storetwin(['user', 'add', 'manager1', '--role', 'manager', '--data-dir', t.dataDir], 'a long enough password\n');
    const res = await fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'manager1', password: 'a long enough password' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { role: string } }).user.role).toBe('manager');
  });
});

// Issue 9, item 11: the password and the tokens of an account from the command line, beside a
// running server whose live connections follow.
describe('storetwin user passwd, tokens, revoke', () => {
  it("lists a user's tokens, revokes one, and a new password ends every session and the live feed", async () => {
    const created = await t.app.users.createUser({ username: 'cli-op', password: 'the first password', role: 'operator' });
    const session = (await t.app.users.login('cli-op', 'the first password')).token;
    const api = await t.app.users.createApiToken(created.id, 'erp');
    const listed = await storetwin(['user', 'tokens', 'cli-op', '--data-dir', t.dataDir]);
    const lines = listed.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(listed.stdout).not.toContain(api);
    const erp = lines.find((l) => l.includes('erp'))!.split(/\s+/)[0]!;
    await storetwin(['user', 'revoke', 'cli-op', erp, '--data-dir', t.dataDir]);
    const me = (token: string) => fetch(`${t.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await me(api)).toBe(401);
    expect(await me(session)).toBe(200);

    const feed = await connectAsync(t.mqttUrl, { clientId: 'cli-op-feed', username: 'cli-op', password: session, protocolVersion: 4, reconnectPeriod: 0 });
    const feedClosed = new Promise<void>((resolve) => feed.once('close', () => resolve()));
    await storetwin(['user', 'passwd', 'cli-op', '--data-dir', t.dataDir], 'the second password\n');
    await feedClosed;
    expect(await me(session)).toBe(401);
    await expect(t.app.users.login('cli-op', 'the second password')).resolves.toMatchObject({ user: { username: 'cli-op' } });
  });
});

describe('storetwin CLI in a pipeline', () => {
  it('stops quietly when the reader has gone (`storetwin device list | head`)', async () => {
    await t.app.devices.register({ id: 'door-pipe-1', site: 'demo-hotel', type: 'door-sensor', zone: '2-15' });
    const child = spawn(process.execPath, [BIN, 'device', 'list', '--data-dir', t.dataDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the command prints anything: its first write meets a pipe with no reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|at /);
    expect(code).toBe(0);
  }, 30_000);

  it('prints JSON for scripts', async () => {
    const { stdout } = await storetwin(['device', 'list', '--data-dir', t.dataDir, '--json']);
    expect((JSON.parse(stdout) as Array<{ id: string }>).map((d) => d.id)).toContain('door-pipe-1');
  });
});

// Issue 9, item 15: an installer provisions the first admin and the devices, then starts the server.
describe('storetwin CLI before the first start', () => {
  let parent: string;
  let fresh: string;
  let first: TestApp | undefined;

  beforeAll(async () => {
    parent = await tempDir();
    fresh = path.join(parent, 'not', 'created', 'yet');
  });
  afterAll(async () => {
    await first?.stop();
    await rm(parent, { recursive: true, force: true });
  });

  it('user add and device add work on a data directory that does not exist; the server then takes both', async () => {
    expect(existsSync(fresh)).toBe(false);
    const added = await storetwin(['user', 'add', 'owner', '--role', 'admin', '--data-dir', fresh], 'a long enough password\n');
    expect(added.stdout).toContain('created admin "owner"');
    // Laid out as the server's first start lays it out.
    for (const entry of ['sites', 'rules', 'storetwin.db']) expect(existsSync(path.join(fresh, entry))).toBe(true);

    const { stdout } = await storetwin([
      'device', 'add', '--data-dir', fresh, '--sites-dir', SHIPPED_SITES,
      '--site', 'demo-hotel', '--type', 'door-sensor', '--zone', '2-14', '--json',
    ]);
    const { device, secret } = JSON.parse(stdout) as { device: { id: string }; secret: string };
    expect(device.id).toBe('door-2-14');

    // The first start, on that directory (createApp as `serve` runs it, the shipped sites).
    first = await startTestApp({}, { dataDir: fresh, keepData: true });
    // A user exists already, so no setup token is offered.
    expect(first.app.setupToken).toBeNull();
    const login = await fetch(`${first.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'owner', password: 'a long enough password' }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: { role: string } }).user.role).toBe('admin');

    // The printed secret authenticates over MQTT, and the device's events reach the twin.
    const client = await connectDevice(first.mqttUrl, device.id, secret);
    await client.publishAsync(`storetwin/demo-hotel/${device.id}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await client.endAsync();
    await eventually(() => first!.app.twin.deviceState(device.id)?.door === 'open');
  }, 30_000);
});
