/**
 * The audit store for a storage backend: the SQLite file of a single box, or the PostgreSQL
 * several workers share (whose schema the app migrates at start: AUDIT_PG_SCHEMA).
 */
import type { StorageBackend } from '../storage/backend.ts';
import { PostgresAuditStore } from './postgres-store.ts';
import { SqliteAuditStore } from './sqlite-store.ts';
import type { AuditStore } from './types.ts';

export function createAuditStore(backend: StorageBackend, now: () => number = Date.now): AuditStore {
  return backend.kind === 'sqlite' ? new SqliteAuditStore(backend.db, now) : new PostgresAuditStore(backend.pg, now);
}
