/**
 * QoS 1 means "stored before acknowledged". A server in a child process is SIGKILLed while a
 * device publishes numbered QoS 1 events as fast as it can; after a restart every event the
 * device saw PUBACK'd is in the store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'serve-child.ts');
const children: ChildProcess[] = [];

interface ChildInfo {
  mqttUrl: string;
  httpUrl: string;
  secret?: string;
  token: string;
}

function startChild(dataDir: string): Promise<{ child: ChildProcess; info: ChildInfo }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) as ChildInfo }));
  });
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('durability across SIGKILL', () => {
  it('stores every PUBACKed event', async () => {
    const dataDir = await tempDir();
    const first = await startChild(dataDir);
    const secret = first.info.secret!;
    const client = await connectDevice(first.info.mqttUrl, 'door-crash', secret);
    client.on('error', () => undefined);

    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    // Keep up to 64 publishes in flight, so the kill lands in the middle of group commits.
    await new Promise<void>((resolve) => {
      const publishOne = () => {
        if (killed) return;
        const seq = ++next;
        client.publish('storetwin/demo-hotel/door-crash/up', JSON.stringify({ type: 'door', state: seq % 2 ? 'open' : 'closed', seq }), { qos: 1 }, (err) => {
          if (!err && !killed) acked.add(seq);
          if (!killed && acked.size >= 2000) {
            killed = true;
            first.child.kill('SIGKILL');
            resolve();
            return;
          }
          publishOne();
        });
      };
      for (let i = 0; i < 64; i++) publishOne();
    });
    client.end(true);
    await new Promise((r) => first.child.once('exit', r));

    const second = await startChild(dataDir);
    const stored = new Set<number>();
    let cursor: string | null = null;
    do {
      const res = await fetch(`${second.info.httpUrl}/api/events?device=door-crash&type=door&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { authorization: `Bearer ${second.info.token}` },
      });
      const body = (await res.json()) as { items: Array<{ seq: number }>; nextCursor: string | null };
      for (const e of body.items) stored.add(e.seq);
      cursor = body.nextCursor;
    } while (cursor);

    const lost = [...acked].filter((seq) => !stored.has(seq));
    expect(acked.size).toBeGreaterThanOrEqual(2000);
    expect(lost).toEqual([]);
    second.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);
});
