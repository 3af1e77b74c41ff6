/**
 * Where a feature keeps what must be transactional: the SQLite file of a single box, or the
 * PostgreSQL that several workers share (STORETWIN_DATABASE_URL). Each feature's factory takes
 * this and returns its own store (server/<feature>/sqlite-store.ts or postgres-store.ts).
 */
import type { Postgres } from './postgres/postgres.ts';
import type { Database } from './sqlite/database.ts';

export type StorageBackend = { kind: 'sqlite'; db: Database } | { kind: 'postgres'; pg: Postgres };
