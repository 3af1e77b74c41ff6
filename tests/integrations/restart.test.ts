/**
 * What an integration remembers across a restart: its token, its counters, and the keys of the
 * last hour's messages — a platform that retries a push the server stored just before it went
 * down must not get it stored twice.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, tempDir, type TestApp } from '../helpers/app.ts';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'platforms', 'ctwing-datareport-decoded.json');
let dataDir = '';
let t: TestApp | null = null;

afterAll(async () => {
  await t?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function push(url: string, token: string, body: Buffer) {
  const res = await fetch(`${url}/api/ingest/ctwing?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('an integration across a restart', () => {
  it('keeps its token and counters, and still drops a retransmission of what it stored before', async () => {
    dataDir = await tempDir();
    t = await startTestApp({}, { dataDir, keepData: true });
    const { integration, token } = await t.app.integrations.create({ adapter: 'ctwing', site: 'demo-hotel' });
    await t.app.devices.register({ id: 'door-restart', site: 'demo-hotel', type: 'door-sensor', zone: '4-01', externalIds: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81' } });
    const body = await readFile(FIXTURE);
    expect((await push(t.httpUrl, token, body)).body).toMatchObject({ accepted: 1 });
    await t.stop();

    t = await startTestApp({}, { dataDir, keepData: true });
    const again = await push(t.httpUrl, token, body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    const stored = await t.app.storage.events.query({ device: 'door-restart', limit: 100 });
    expect(stored.items.filter((e) => e.type === 'heartbeat')).toHaveLength(1);
    expect((await t.app.integrations.get(integration.id))?.counts).toMatchObject({ accepted: 1, duplicates: 1 });
  });
});
