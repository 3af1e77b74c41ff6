/**
 * The integration store for a storage backend: the SQLite file of a single box, or the
 * PostgreSQL several workers share (whose schema the app migrates at start:
 * INTEGRATIONS_PG_SCHEMA). The interface and records are in ./types.ts.
 */
import type { StorageBackend } from '../storage/backend.ts';
import { PostgresIntegrationStore } from './postgres-store.ts';
import { SqliteIntegrationStore } from './sqlite-store.ts';
import type { IntegrationStore } from './types.ts';

export type { IntegrationCounts, IntegrationRecord, IntegrationStore, NewIntegration, PendingWrites, UnknownDevice } from './types.ts';
export { idsKey } from './types.ts';

export function createIntegrationStore(backend: StorageBackend, now: () => number = Date.now): IntegrationStore {
  return backend.kind === 'sqlite' ? new SqliteIntegrationStore(backend.db, now) : new PostgresIntegrationStore(backend.pg, now);
}
