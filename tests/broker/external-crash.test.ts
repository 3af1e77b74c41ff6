/**
 * QoS 1 through an external Mosquitto means "stored once Mosquitto acknowledged it": the device
 * gets its PUBACK from Mosquitto, and Mosquitto keeps the message in StoreTwin's persistent
 * session until StoreTwin acknowledges it, which it does only after the commit. StoreTwin (a
 * child process) is SIGKILLed while a device streams numbered events; the device keeps
 * publishing while StoreTwin is down; after a restart every event Mosquitto acknowledged to
 * the device is stored.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, tempDir } from '../helpers/app.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'external-child.ts');
const children: ChildProcess[] = [];
let mosquitto: Mosquitto | undefined;

interface ChildInfo {
  httpUrl: string;
  token: string;
  secret?: string;
}

function startChild(dataDir: string, broker: Mosquitto): Promise<{ child: ChildProcess; info: ChildInfo }> {
  const url = `mqtt://storetwin:crash-test-password@127.0.0.1:${broker.port}`;
  const { passwordFile, aclFile, pidFile } = broker.files;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, url, passwordFile, aclFile, pidFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) as ChildInfo }));
  });
}

/** Publishes numbered door events, up to 64 in flight, while `go()`; resolves with the acknowledged seqs when told to stop. */
function stream(client: MqttClient, from: number, until: (acked: number) => boolean): Promise<Set<number>> {
  const acked = new Set<number>();
  let next = from;
  let done = false;
  return new Promise((resolve) => {
    const publishOne = () => {
      if (done) return;
      const seq = next++;
      client.publish('storetwin/demo-hotel/door-ext-crash/up', JSON.stringify({ type: 'door', state: seq % 2 ? 'open' : 'closed', seq }), { qos: 1 }, (err) => {
        if (!err) acked.add(seq);
        if (!done && until(acked.size)) {
          done = true;
          resolve(acked);
          return;
        }
        publishOne();
      });
    };
    for (let i = 0; i < 64; i++) publishOne();
  });
}

async function storedSeqs(info: ChildInfo): Promise<Set<number>> {
  const seqs = new Set<number>();
  let cursor: string | null = null;
  do {
    const res = await fetch(`${info.httpUrl}/api/events?device=door-ext-crash&type=door&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${info.token}` } });
    const body = (await res.json()) as { items: Array<{ seq: number }>; nextCursor: string | null };
    for (const e of body.items) seqs.add(e.seq);
    cursor = body.nextCursor;
  } while (cursor);
  return seqs;
}

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await mosquitto?.close();
});

describe('an external Mosquitto across a SIGKILL of StoreTwin', () => {
  it('stores every event Mosquitto acknowledged to the device: before, during and after the kill', async () => {
    mosquitto = await startMosquitto({}, { managed: true });
    const dataDir = await tempDir();
    const first = await startChild(dataDir, mosquitto);
    const door = await eventually(() => connectDevice(mosquitto!.url, 'door-ext-crash', first.info.secret!), 5000, 100);
    door.on('error', () => undefined);

    // Kill StoreTwin once it has stored some: Mosquitto is then holding unacknowledged ones.
    const startedAt = Date.now();
    const before = await stream(door, 1, (n) => n >= 1500);
    const storedAtKill = (await storedSeqs(first.info)).size;
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // StoreTwin is down: Mosquitto acknowledges and queues for its session.
    const during = await stream(door, 100_001, (n) => n >= 500);

    const second = await startChild(dataDir, mosquitto);
    const acked = new Set([...before, ...during]);
    const stored = await eventually(async () => {
      const s = await storedSeqs(second.info);
      return [...acked].every((seq) => s.has(seq)) ? s : null;
    }, 30_000, 200).catch(async () => storedSeqs(second.info));
    const lost = [...acked].filter((seq) => !stored.has(seq));
    console.log(`external Mosquitto: ${acked.size} acknowledged by Mosquitto (${before.size - storedAtKill}+ queued at the kill, ${during.size} more while StoreTwin was down), ${stored.size} stored, ${lost.length} lost; ${Date.now() - startedAt} ms`);
    expect(storedAtKill).toBeLessThan(before.size);
    expect(lost).toEqual([]);
    await door.endAsync(true);
    second.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }, 90_000);
});
