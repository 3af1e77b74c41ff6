import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { getDeviceType } from '../../devices/index.ts';
import { parseSimulateOptions, runSimulateCommand, SimulateCommandError } from '../../simulators/cli.ts';
import { writeCredentials } from '../../simulators/credentials.ts';
import { sink } from '../helpers/sink.ts';
import { Recorder, startBroker, type Received, type TestBroker } from './broker.ts';

const DOOR = 'shop-door-cash';
const SECRET = 'door-secret-1';

let broker: TestBroker;
let recorder: Recorder;
let dir: string;
let credentialsFile: string;

function isDoor(state: 'open' | 'closed') {
  return (m: Received): boolean => {
    if (m.topic !== `storetwin/demo-shop/${DOOR}/up`) return false;
    const result = getDeviceType('door-sensor')?.decode(m.payload);
    return result?.ok === true && result.events.some((e) => e.type === 'door' && e.state === state);
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-sim-cli-'));
  credentialsFile = join(dir, 'creds.json');
  await writeCredentials(credentialsFile, { [DOOR]: SECRET });
  broker = await startBroker({
    authenticate: (client, username, password, done) => {
      if (username === client.id && username === DOOR && password?.toString() === SECRET) {
        done(null, true);
        return;
      }
      done(Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), false);
    },
  });
  // The recorder is not a device: let it in by its own client id prefix.
  const authenticate = broker.broker.authenticate;
  broker.broker.authenticate = (client, username, password, done) => {
    if (client.id.startsWith('recorder-')) done(null, true);
    else authenticate(client, username, password, done);
  };
  recorder = await Recorder.connect(broker.url);
});

afterEach(async () => {
  await recorder.close();
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

describe('storetwin simulate', () => {
  it('reports every invalid option at once', () => {
    let error: unknown;
    try {
      parseSimulateOptions({ url: 'http://example.com', speed: '0', qos: '2', open: true, close: true });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SimulateCommandError);
    const message = (error as Error).message;
    for (const option of ['--url', '--site', '--speed', '--qos', '--close', '--device']) expect(message).toContain(option);
    expect((error as SimulateCommandError).exitCode).toBe(2);
    expect(parseSimulateOptions({ site: 'demo-shop' })).toMatchObject({ url: 'mqtt://127.0.0.1:1883', speed: 1, qos: 1 });
  });

  it('--device X --open connects, sends the open, waits for the PUBACK and returns', async () => {
    const stdout = sink();
    const stats = await runSimulateCommand(
      { url: broker.url, device: DOOR, open: true, credentials: credentialsFile },
      { stdout, handleSignals: false },
    );
    await recorder.waitFor(isDoor('open'), 5000, 'the door open');
    expect(stats.acked).toBeGreaterThanOrEqual(2); // online + the open
    expect(stats.errors).toBe(0);
    expect(stdout.text()).toContain(`→ storetwin/demo-shop/${DOOR}/up`);
  });

  it('--close sends a close even though every one-shot run starts from a freshly booted device', async () => {
    const stdout = sink();
    await runSimulateCommand({ url: broker.url, device: DOOR, close: true, credentials: credentialsFile }, { stdout, handleSignals: false });
    await recorder.waitFor(isDoor('closed'), 5000, 'the door close');
    expect(recorder.messages.some(isDoor('open'))).toBe(false);
    // One line for the one message: the topic and the decoded event, even for a binary frame.
    expect(stdout.text()).toMatch(/→ storetwin\/demo-shop\/shop-door-cash\/up .*"state":"closed"/);
  });

  it('fails with exit code 1 and a clear message when the broker refuses the device', async () => {
    await writeCredentials(credentialsFile, { [DOOR]: 'wrong' });
    const run = runSimulateCommand(
      { url: broker.url, site: 'demo-shop', device: DOOR, close: true, credentials: credentialsFile },
      { stdout: sink(), handleSignals: false },
    );
    await expect(run).rejects.toThrow(/bad username or password/);
    await expect(run).rejects.toMatchObject({ exitCode: 1 });
  });

  it('--offline makes the broker publish the last will', async () => {
    await runSimulateCommand({ url: broker.url, device: DOOR, offline: true, credentials: credentialsFile }, { stdout: sink(), handleSignals: false });
    await recorder.waitFor((m) => m.topic === `storetwin/demo-shop/${DOOR}/status` && m.payload.toString() === 'offline', 5000, 'the will');
  });

  it('--interactive sends on keys and quits on q', async () => {
    const stdin = new PassThrough();
    const stdout = sink();
    const run = runSimulateCommand(
      { url: broker.url, device: DOOR, interactive: true, credentials: credentialsFile },
      { stdout, stdin, handleSignals: false },
    );
    await recorder.waitFor((m) => m.topic === `storetwin/demo-shop/${DOOR}/status` && m.payload.toString() === 'online');
    stdin.write('o\n');
    await recorder.waitFor(isDoor('open'), 5000, 'the door open');
    stdin.write('c\n');
    await recorder.waitFor(isDoor('closed'), 5000, 'the door close');
    stdin.write('q\n');
    const stats = await run;
    expect(stats.connected).toBe(0);
    expect(stdout.text()).toMatch(/→ storetwin\/demo-shop\/shop-door-cash\/up/);
    await recorder.waitFor((m) => m.topic === `storetwin/demo-shop/${DOOR}/status` && m.payload.toString() === 'offline');
  });

  it('runs a whole site for --duration seconds, printing progress lines when not on a TTY', async () => {
    const open = await startBroker();
    try {
      const stdout = sink();
      const stats = await runSimulateCommand(
        { url: open.url, site: 'demo-shop', speed: '600', duration: '2', seed: '3', credentials: credentialsFile },
        { stdout, handleSignals: false, progressIntervalMs: 500 },
      );
      expect(stats.devices).toBeGreaterThan(1);
      expect(stats.failed).toBe(0);
      expect(stats.sent).toBeGreaterThan(stats.devices);
      expect(stats.acked).toBe(stats.sent);
      const text = stdout.text();
      expect(text).toMatch(/\d+\/\d+ connected, sent \d+, acked \d+, errors 0, \d+ msg\/s, sim \d{4}-/);
      expect(text).toMatch(/done: \d+ device\(s\), 0 failed/);
    } finally {
      await open.close();
    }
  });

  it('names the known sites when the site does not exist', async () => {
    await expect(runSimulateCommand({ site: 'nowhere' }, { stdout: sink(), handleSignals: false })).rejects.toThrow(/no site "nowhere".*demo-shop/);
  });
});
