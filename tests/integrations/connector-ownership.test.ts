/**
 * Connectors (adapters that poll: Axis counters, Frigate) in a worker of several: only the
 * worker holding the integration's site polls, so two workers never store one count twice. A
 * site acquired starts its connectors; a site lost stops them. Against the stand-in Axis counter
 * over real HTTP, with the real SQLite integration store.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bareIntegrationService } from '../helpers/integration-service.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IntegrationService } from '../../server/integrations/service.ts';
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createIntegrationStore } from '../../server/stores.ts';
import { eventually, tempDir } from '../helpers/app.ts';
import { startAxisCounter, type AxisCounter } from '../helpers/axis-counter.ts';
import { HeldSites } from '../helpers/held-sites.ts';

let dir: string;
let storage: SqliteStorage;
let counter: AxisCounter;
let service: IntegrationService | null = null;

beforeEach(async () => {
  dir = await tempDir('storetwin-connectors-');
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  counter = await startAxisCounter({ auth: 'none' });
});

afterEach(async () => {
  await service?.stop();
  service = null;
  await counter.close();
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(owner: HeldSites): Promise<IntegrationService> {
  const store = createIntegrationStore({ kind: 'sqlite', db: storage.db });
  // Polled every 50 ms (the schema's floor is for production; the store takes what it is given).
  await store.insert({ id: 'int-axis-1', adapter: 'axis', site: 'demo-shop', name: 'south exit', settings: { url: counter.liveSumUrl, intervalS: 0.05, timeoutMs: 2_000, timeZone: 'UTC' }, tokenHash: 'x'.repeat(64), enabled: true });
  service = bareIntegrationService(store, { owner });
  await service.start();
  return service;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connectors in a worker of several', () => {
  it('poll only while the worker holds the site: none before, from the acquisition, none after the loss', async () => {
    const owner = new HeldSites('demo-hotel');
    await start(owner);
    await pause(300);
    expect(counter.requests).toEqual([]);

    owner.acquire('demo-shop');
    await eventually(() => counter.requests.length >= 3, 5_000, 20);

    owner.lose('demo-shop');
    await pause(150); // a request under way may finish
    const after = counter.requests.length;
    await pause(300);
    expect(counter.requests.length).toBe(after);
  });

  it('poll from the start on a worker that holds the site already', async () => {
    await start(new HeldSites('demo-shop'));
    await eventually(() => counter.requests.length >= 2, 5_000, 20);
  });
});
