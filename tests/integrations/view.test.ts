/**
 * IntegrationService's view of the integrations (rule 5 of issue 12): a push for a known token
 * reads nothing from the store, and an integration created or re-keyed by another worker (another
 * service on the same store) is accepted on its first push — the view reads the store on a token
 * it does not know. Two services over one PostgreSQL, as two workers would be.
 */
import { createIntegrationStore } from '../../server/stores.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bareIntegrationService } from '../helpers/integration-service.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INTEGRATIONS_PG_SCHEMA } from '../../server/integrations/postgres-store.ts';
import type { IntegrationService } from '../../server/integrations/service.ts';

import type { IntegrationStore } from '../../server/integrations/types.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'platforms', 'ctwing-datareport-decoded.json');

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** The store, counting the reads the push path must not make. */
function counting(store: IntegrationStore): { store: IntegrationStore; reads: () => number } {
  let reads = 0;
  const counted = Object.create(store) as IntegrationStore;
  for (const m of ['get', 'byTokenHash', 'list'] as const) {
    const original = store[m].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (counted as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
      reads++;
      return original(...args);
    };
  }
  return { store: counted, reads: () => reads };
}

const service = (store: IntegrationStore): IntegrationService => bareIntegrationService(store);

describe('the integrations view across two workers', () => {
  let cleanup: () => Promise<void>;
  let one: IntegrationService;
  let two: IntegrationService;
  let twoReads: () => number;

  beforeEach(async () => {
    const fresh = await freshPostgres(server);
    cleanup = fresh.cleanup;
    await migratePostgres(fresh.pg, [INTEGRATIONS_PG_SCHEMA]);
    const shared = createIntegrationStore({ kind: 'postgres', pg: fresh.pg });
    const c = counting(shared);
    twoReads = c.reads;
    one = service(shared);
    two = service(c.store);
    await one.start();
    await two.start();
  });

  afterEach(async () => {
    await one.stop();
    await two.stop();
    await cleanup();
  });

  const push = (s: IntegrationService, token: string, body: Buffer) => s.push('ctwing', token, { method: 'POST', body, contentType: 'application/json', query: {} });

  it('accepts on one worker a token issued on the other, then pushes read nothing from the store', async () => {
    const body = await readFile(FIXTURE);
    const { integration, token } = await one.create({ adapter: 'ctwing', site: 'demo-hotel' });
    const first = await push(two, token, body);
    expect(first.status).toBe(200);
    const after = twoReads();
    for (let i = 0; i < 20; i++) expect((await push(two, token, body)).status).toBe(200);
    expect(twoReads()).toBe(after);
    // Its counters reach the store with the next flush, whichever worker heard the pushes.
    await two.flush();
    expect((await one.get(integration.id))?.counts.unknown).toBe(21);
    expect(two.hears('any-device')).toBe(false);
  });

  it('accepts a re-keyed token at once on the other worker; a made-up one is refused', async () => {
    const body = await readFile(FIXTURE);
    const { integration, token } = await one.create({ adapter: 'ctwing', site: 'demo-hotel' });
    expect((await push(two, token, body)).status).toBe(200);
    const rotated = await one.rotateToken(integration.id);
    expect((await push(two, rotated.token, body)).status).toBe(200);
    expect((await push(one, token, body)).status).toBe(401);
    expect((await push(two, 'stw_int_made-up', body)).status).toBe(401);
  });
});
