/**
 * At least once across a crash: the server is SIGKILLed after the alarm and its delivery were
 * committed but before the webhook receiver answered; after a restart the webhook arrives
 * again with the same idempotency key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, tempDir } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver } from '../helpers/receiver.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'alarm-child.ts');
const children: ChildProcess[] = [];

function startChild(dataDir: string): Promise<{ child: ChildProcess; info: { mqttUrl: string; secret?: string } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) }));
  });
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('notification outbox across SIGKILL', () => {
  it('delivers the webhook after a restart, with the same idempotency key', async () => {
    const receiver = await startReceiver();
    // The first attempt is held open: the server has committed and is sending, not confirmed.
    receiver.respond = () => 'hang';
    const dataDir = await tempDir();
    await writeFile(
      path.join(dataDir, 'notify.yaml'),
      `allowPrivateNetworks: ["127.0.0.1"]\nsites:\n  demo-hotel:\n    routes:\n      - { id: desk, channel: webhook, url: "${receiver.url}/desk" }\n`,
    );

    const first = await startChild(dataDir);
    const door = await connectDevice(first.info.mqttUrl, 'door-outbox', first.info.secret!);
    door.on('error', () => undefined);
    await door.publishAsync('storetwin/demo-hotel/door-outbox/up', JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    const attempt = await eventually(() => receiver.requests[0], 5000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    door.end(true);

    receiver.respond = () => 200;
    const second = await startChild(dataDir);
    const retried = await eventually(() => receiver.requests[1], 10_000);
    expect(retried.headers['idempotency-key']).toBe(attempt.headers['idempotency-key']);
    expect(JSON.parse(retried.body)).toMatchObject({ event: 'raised', alarm: { rule: 'door-opened-armed', zone: '4-02' } });
    // Delivered now: no further copies.
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.requests).toHaveLength(2);

    second.child.kill('SIGKILL');
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 40_000);
});
