/**
 * IntegrationService's view follows other workers (issue 12): two services over two pools of
 * one PostgreSQL schema, as two workers. An integration disabled, re-keyed or removed through one
 * is so for the other's pushes within a second (LISTEN/NOTIFY, changes.ts) — before, a token
 * the other still knew kept working until its next 15 s re-read. A push the platform retries
 * through the other worker is recognised there as a retry (claimKey in PostgreSQL).
 */
import { createIntegrationStore } from '../../server/stores.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bareIntegrationService } from '../helpers/integration-service.ts';
import { HeldSites } from '../helpers/held-sites.ts';
import type { IngestOutcome } from '../../server/ingest/ingest.ts';
import type { DeviceRecord } from '../../server/storage/types.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INTEGRATIONS_PG_SCHEMA } from '../../server/integrations/postgres-store.ts';
import type { IntegrationService } from '../../server/integrations/service.ts';

import { storeChanges } from '../../server/storage/postgres/changes.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'platforms', 'ctwing-datareport-decoded.json');

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const service = (pg: Postgres): IntegrationService => bareIntegrationService(createIntegrationStore({ kind: 'postgres', pg }));

async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two pools on one fresh schema, as two workers have; what to close goes on `stops`. */
async function twoWorkersPools(stops: Array<() => Promise<void>>): Promise<[Postgres, Postgres]> {
  const fresh = await freshPostgres(server);
  stops.push(fresh.cleanup);
  await migratePostgres(fresh.pg, [INTEGRATIONS_PG_SCHEMA]);
  const second = await openPostgres(server.url, { schema: fresh.schema });
  stops.push(() => second.close());
  for (const pg of [fresh.pg, second]) stops.push(() => storeChanges(pg).stop());
  return [fresh.pg, second];
}

describe('the integrations view follows the other worker', () => {
  let one: IntegrationService;
  let two: IntegrationService;
  let body: Buffer;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    body = await readFile(FIXTURE);
    const [first, second] = await twoWorkersPools(stops);
    one = service(first);
    two = service(second);
    await one.start();
    await two.start();
    stops.push(() => one.stop());
    stops.push(() => two.stop());
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const push = (s: IntegrationService, token: string) => s.push('ctwing', token, { method: 'POST', body, contentType: 'application/json', query: {} });
  const codeOf = (answer: { body: string | Buffer }) => (JSON.parse(answer.body.toString()) as { error?: { code: string } }).error?.code;

  it('an integration disabled on one is refused by the other within a second, and enabled again', async () => {
    const { integration, token } = await one.create({ adapter: 'ctwing', site: 'demo-hotel' });
    expect((await push(two, token)).status).toBe(200);
    await one.update(integration.id, { enabled: false });
    await within(1000, async () => codeOf(await push(two, token)) === 'STW_ERR_INTEGRATION_DISABLED');
    await one.update(integration.id, { enabled: true });
    await within(1000, async () => (await push(two, token)).status === 200);
  });

  it('an old token re-keyed or an integration removed on one stops working on the other within a second', async () => {
    const { integration, token } = await one.create({ adapter: 'ctwing', site: 'demo-hotel' });
    expect((await push(two, token)).status).toBe(200);
    const rotated = await one.rotateToken(integration.id);
    await within(1000, async () => codeOf(await push(two, token)) === 'STW_ERR_INTEGRATION_TOKEN_INVALID');
    expect((await push(two, rotated.token)).status).toBe(200);
    await one.remove(integration.id);
    await within(1000, async () => codeOf(await push(two, rotated.token)) === 'STW_ERR_INTEGRATION_TOKEN_INVALID');
  });
});

describe('a push the platform retries through the other worker', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('is stored once: the other worker finds its retransmission key in PostgreSQL at once', async () => {
    const [first, second] = await twoWorkersPools(stops);
    const door = { id: 'door-ct-1', site: 'demo-hotel', type: 'door-sensor', zone: '2-01', label: null, position: null, externalIds: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81' }, secretHash: '-', enabled: true, createdAt: '2026-11-29T00:00:00.000Z', updatedAt: '2026-11-29T00:00:00.000Z' } as DeviceRecord;
    const stored: string[] = [];
    const worker = (pg: Postgres, name: string): IntegrationService => {
      const ingested = async (): Promise<IngestOutcome> => (stored.push(name), { stored: 1, duplicates: 0 });
      return bareIntegrationService(createIntegrationStore({ kind: 'postgres', pg }), {
        // A worker of several: it holds no site here, which only matters to connectors.
        owner: new HeldSites(),
        registry: { findDeviceByExternalId: () => door, getDevice: () => door },
        ingest: { acceptUplink: ingested, acceptEvents: ingested, acceptPlatformStatus: ingested },
      });
    };
    const a = worker(first, 'a');
    const b = worker(second, 'b');
    for (const s of [a, b]) {
      await s.start();
      stops.push(() => s.stop());
    }
    const { token } = await a.create({ adapter: 'ctwing', site: 'demo-hotel' });
    const body = await readFile(FIXTURE);
    const push = async (s: IntegrationService) => JSON.parse((await s.push('ctwing', token, { method: 'POST', body, contentType: 'application/json', query: {} })).body.toString()) as Record<string, number>;

    expect(await push(a)).toMatchObject({ accepted: 1, duplicates: 0 });
    // At once, not after the once-a-second flush of the counters.
    expect(await push(b)).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(stored).toEqual(['a']);
  });
});
