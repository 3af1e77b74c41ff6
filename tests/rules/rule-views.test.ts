/**
 * RuleStore's view across two workers (issue 12): two RuleStores over two pools of one
 * PostgreSQL schema, reading the same rule directory as workers of one deployment do. A rule
 * created, changed or removed over the API of one, or a rule file reloaded by one, is in the
 * other's view (and its engine told) within a second: LISTEN/NOTIFY, changes.ts.
 */
import { createRuleDefinitionStore } from '../../server/stores.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { RULES_PG_SCHEMA } from '../../server/rules/postgres-definition-store.ts';
import { RuleStore } from '../../server/rules/store.ts';
import { storeChanges } from '../../server/storage/postgres/changes.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { logger } from './setup.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function within(ms: number, check: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const body = (id: string, severity = 'info') => ({ id, site: 'demo-shop', severity, message: { en: 'a', 'zh-CN': 'b' }, when: { kind: 'silence' } });

describe('the rules view across two workers', () => {
  let dir: string;
  let a: RuleStore;
  let b: RuleStore;
  let bTold: number;
  const stops: Array<() => Promise<void> | void> = [];

  async function worker(pg: Postgres): Promise<RuleStore> {
    const store = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'postgres', pg }), dirs: [dir], logger, watch: false });
    await store.start();
    stops.push(async () => {
      store.stop();
      await storeChanges(pg).stop();
    });
    return store;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-ruleviews-'));
    const fresh = await freshPostgres(server);
    stops.push(() => fresh.cleanup());
    stops.push(() => rm(dir, { recursive: true, force: true }));
    await migratePostgres(fresh.pg, [RULES_PG_SCHEMA]);
    const second = await openPostgres(server.url, { schema: fresh.schema });
    stops.push(() => second.close());
    a = await worker(fresh.pg);
    b = await worker(second);
    bTold = 0;
    b.onChange(() => bTold++);
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('an API rule created, changed and removed on one is so on the other within a second', async () => {
    await a.create(body('night-silence'));
    await within(1000, () => b.get('night-silence') !== null);
    expect(b.get('night-silence')).toMatchObject({ origin: 'api', rule: { severity: 'info' } });
    expect(bTold).toBeGreaterThan(0); // its engine re-reads the rules
    await a.update('night-silence', body('night-silence', 'critical'));
    await within(1000, () => b.get('night-silence')?.rule.severity === 'critical');
    await a.remove('night-silence');
    await within(1000, () => b.get('night-silence') === null);
    // The other way round, and B's view lets it edit what A created.
    await b.create(body('from-b'));
    await within(1000, () => a.get('from-b') !== null);
  });

  it('a rule file reloaded on one reaches the other', async () => {
    await writeFile(
      join(dir, 'extra.yaml'),
      `- id: from-file
  site: demo-shop
  severity: major
  message: {en: 'x', zh-CN: 'y'}
  when: {kind: silence}
`,
    );
    await a.reload();
    await within(1000, () => b.get('from-file')?.origin === 'file');
  });

  it('a write the table refuses announces nothing', async () => {
    await a.create(body('taken'));
    await within(1000, () => b.get('taken') !== null);
    await b.settled();
    const told = bTold;
    await expect(a.create(body('taken'))).rejects.toMatchObject({ code: 'STW_ERR_RULE_EXISTS' });
    await new Promise((r) => setTimeout(r, 200));
    await b.settled();
    expect(bTold).toBe(told);
  });
});
