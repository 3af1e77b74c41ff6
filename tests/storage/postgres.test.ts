/**
 * The PostgreSQL foundation every feature's store stands on: the pool, transactions (rolled
 * back on a throw, retried when PostgreSQL picks them as a deadlock victim), per-feature
 * migrations that two workers may run at once, and coded errors that never show a password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreTwinError } from '../../server/errors.ts';
import { migratePostgres, type PgSchema } from '../../server/storage/postgres/migrate.ts';
import { openPostgres } from '../../server/storage/postgres/postgres.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const notes: PgSchema = {
  feature: 'notes',
  steps: ['CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)', 'ALTER TABLE notes ADD COLUMN at timestamptz NOT NULL DEFAULT now()'],
};

describe('PostgreSQL foundation', () => {
  it('migrates a feature once, even when two workers start at the same moment', async () => {
    const a = await freshPostgres(server);
    const b = await openPostgres(server.url, { schema: a.schema });
    try {
      // Two pools, as two worker processes would have, racing on an empty schema.
      await Promise.all([migratePostgres(a.pg, [notes]), migratePostgres(b, [notes])]);
      const { rows } = await a.pg.query<{ version: number }>("SELECT version FROM storetwin_schema WHERE feature = 'notes'");
      expect(rows).toEqual([{ version: 2 }]);
      await a.pg.query("INSERT INTO notes (body) VALUES ('门磁')");
      const stored = await b.query<{ body: string; at: Date }>('SELECT body, at FROM notes');
      expect(stored.rows[0]?.body).toBe('门磁');
      expect(stored.rows[0]?.at).toBeInstanceOf(Date);
      // Again: nothing left to do, nothing fails.
      await migratePostgres(b, [notes]);
    } finally {
      await b.close();
      await a.cleanup();
    }
  });

  it('refuses a schema that newer code migrated further', async () => {
    const a = await freshPostgres(server);
    try {
      await migratePostgres(a.pg, [notes]);
      const older: PgSchema = { feature: 'notes', steps: notes.steps.slice(0, 1) };
      await expect(migratePostgres(a.pg, [older])).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE', message: expect.stringMatching(/newer than this StoreTwin/) });
    } finally {
      await a.cleanup();
    }
  });

  it('rolls a transaction back when its body throws', async () => {
    const a = await freshPostgres(server);
    try {
      await migratePostgres(a.pg, [notes]);
      await expect(
        a.pg.transaction(async (c) => {
          await c.query("INSERT INTO notes (body) VALUES ('half')");
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const { rows } = await a.pg.query('SELECT * FROM notes');
      expect(rows).toHaveLength(0);
    } finally {
      await a.cleanup();
    }
  });

  it('runs a deadlock victim again, so both transactions commit', async () => {
    const a = await freshPostgres(server);
    try {
      await migratePostgres(a.pg, [notes]);
      await a.pg.query("INSERT INTO notes (id, body) VALUES (1, 'one'), (2, 'two')");
      let tries = 0;
      // Each locks one row, waits for the other to hold its lock, then wants the other's row:
      // PostgreSQL aborts one with 40P01 and transaction() runs it again.
      let held = 0;
      const bothHold = async () => {
        held++;
        while (held < 2) await new Promise((r) => setTimeout(r, 5));
      };
      const cross = (first: number, second: number) =>
        a.pg.transaction(async (c) => {
          tries++;
          await c.query("UPDATE notes SET body = body || '+' WHERE id = $1", [first]);
          if (tries <= 2) await bothHold();
          await c.query("UPDATE notes SET body = body || '+' WHERE id = $1", [second]);
        });
      await Promise.all([cross(1, 2), cross(2, 1)]);
      expect(tries).toBe(3);
      const { rows } = await a.pg.query<{ body: string }>('SELECT body FROM notes ORDER BY id');
      expect(rows.map((r) => r.body)).toEqual(['one++', 'two++']);
    } finally {
      await a.cleanup();
    }
  });

  it('fails to open with a coded error that names the server without its password', async () => {
    const port = await freePort(); // nothing listens here
    const err = await openPostgres(`postgres://storetwin:s3cret@127.0.0.1:${port}/storetwin`, { connectTimeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTwinError);
    expect(err).toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
    expect(JSON.stringify((err as StoreTwinError).detail)).toContain('127.0.0.1');
    expect(`${(err as Error).message} ${JSON.stringify((err as StoreTwinError).detail)}`).not.toContain('s3cret');
  });
});
