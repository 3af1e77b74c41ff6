/**
 * Each feature's store on the backend chosen at start (server/backend.ts): the SQLite file's
 * implementation, or PostgreSQL's. The features own their interfaces and both implementations
 * (server/<feature>/{store,sqlite-store,postgres-store}.ts); only this composition picks one.
 */
import { PostgresAlarmStore } from './alarms/postgres-store.ts';
import { SqliteAlarmStore } from './alarms/sqlite-store.ts';
import type { AlarmStore } from './alarms/store.ts';
import { PostgresArmingStore } from './arming/postgres-store.ts';
import { SqliteArmingStore } from './arming/sqlite-store.ts';
import type { ArmingStore } from './arming/store.ts';
import { PostgresAuditStore } from './audit/postgres-store.ts';
import { SqliteAuditStore } from './audit/sqlite-store.ts';
import type { AuditStore } from './audit/types.ts';
import { PostgresAccountStore } from './auth/postgres-store.ts';
import { SqliteAccountStore } from './auth/sqlite-store.ts';
import type { AccountStore } from './auth/store.ts';
import type { BrokerPasswordStore } from './broker/external/password-store.ts';
import { PostgresBrokerPasswordStore } from './broker/external/postgres-password-store.ts';
import { SqliteBrokerPasswordStore } from './broker/external/sqlite-password-store.ts';
import { PostgresIntegrationStore } from './integrations/postgres-store.ts';
import { SqliteIntegrationStore } from './integrations/sqlite-store.ts';
import type { IntegrationStore } from './integrations/types.ts';
import { PostgresSnapshotRowStore } from './linkage/postgres-store.ts';
import { SqliteSnapshotRowStore } from './linkage/sqlite-store.ts';
import type { SnapshotRowStore } from './linkage/store.ts';
import type { Outbox } from './notify/outbox-store.ts';
import { PostgresOutbox } from './notify/postgres-outbox.ts';
import { SqliteOutbox } from './notify/sqlite-outbox.ts';
import { PostgresDeviceStore } from './registry/postgres-store.ts';
import { SqliteDeviceStore } from './registry/sqlite-store.ts';
import type { DeviceStore } from './registry/store.ts';
import type { RuleDefinitionStore } from './rules/definition-store.ts';
import { PostgresRuleDefinitionStore } from './rules/postgres-definition-store.ts';
import { PostgresRuleTimerStore } from './rules/postgres-timer-store.ts';
import { SqliteRuleDefinitionStore } from './rules/sqlite-definition-store.ts';
import { SqliteRuleTimerStore } from './rules/sqlite-timer-store.ts';
import type { RuleTimerStore } from './rules/timer-store.ts';
import { PostgresSettingsStore } from './settings/postgres-store.ts';
import { SqliteSettingsStore } from './settings/sqlite-store.ts';
import type { SettingsStore } from './settings/store.ts';
import type { StorageBackend } from './storage/backend.ts';
import { PostgresTwinStore } from './twin/postgres-store.ts';
import { SqliteTwinStore } from './twin/sqlite-store.ts';
import type { TwinStore } from './twin/store.ts';

export function createAlarmStore(backend: StorageBackend): AlarmStore {
  return backend.kind === 'sqlite' ? new SqliteAlarmStore(backend.db) : new PostgresAlarmStore(backend.pg);
}

export function createArmingStore(backend: StorageBackend): ArmingStore {
  return backend.kind === 'sqlite' ? new SqliteArmingStore(backend.db) : new PostgresArmingStore(backend.pg);
}

export function createAccountStore(backend: StorageBackend): AccountStore {
  return backend.kind === 'sqlite' ? new SqliteAccountStore(backend.db) : new PostgresAccountStore(backend.pg);
}

export function createBrokerPasswordStore(backend: StorageBackend, now: () => number = Date.now): BrokerPasswordStore {
  return backend.kind === 'sqlite' ? new SqliteBrokerPasswordStore(backend.db, now) : new PostgresBrokerPasswordStore(backend.pg, now);
}

export function createSnapshotRowStore(backend: StorageBackend): SnapshotRowStore {
  return backend.kind === 'sqlite' ? new SqliteSnapshotRowStore(backend.db) : new PostgresSnapshotRowStore(backend.pg);
}

export function createOutbox(backend: StorageBackend, now: () => number = Date.now): Outbox {
  return backend.kind === 'sqlite' ? new SqliteOutbox(backend.db, now) : new PostgresOutbox(backend.pg, now);
}

export function createDeviceStore(backend: StorageBackend): DeviceStore {
  return backend.kind === 'sqlite' ? new SqliteDeviceStore(backend.db) : new PostgresDeviceStore(backend.pg);
}

export function createSettingsStore(backend: StorageBackend): SettingsStore {
  return backend.kind === 'sqlite' ? new SqliteSettingsStore(backend.db) : new PostgresSettingsStore(backend.pg);
}

export function createTwinStore(backend: StorageBackend): TwinStore {
  return backend.kind === 'sqlite' ? new SqliteTwinStore(backend.db) : new PostgresTwinStore(backend.pg);
}

export function createAuditStore(backend: StorageBackend, now: () => number = Date.now): AuditStore {
  return backend.kind === 'sqlite' ? new SqliteAuditStore(backend.db, now) : new PostgresAuditStore(backend.pg, now);
}

export function createIntegrationStore(backend: StorageBackend, now: () => number = Date.now): IntegrationStore {
  return backend.kind === 'sqlite' ? new SqliteIntegrationStore(backend.db, now) : new PostgresIntegrationStore(backend.pg, now);
}

export function createRuleTimerStore(backend: StorageBackend): RuleTimerStore {
  return backend.kind === 'sqlite' ? new SqliteRuleTimerStore(backend.db) : new PostgresRuleTimerStore(backend.pg);
}

export function createRuleDefinitionStore(backend: StorageBackend): RuleDefinitionStore {
  return backend.kind === 'sqlite' ? new SqliteRuleDefinitionStore(backend.db) : new PostgresRuleDefinitionStore(backend.pg);
}
