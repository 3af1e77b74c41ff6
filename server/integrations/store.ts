/**
 * The integration store's interface and records (./types.ts), where the dashboard and the
 * service look for them. Its implementations: sqlite-store.ts, postgres-store.ts (the app
 * picks one in server/stores.ts).
 */

export type { IntegrationCounts, IntegrationRecord, IntegrationStore, NewIntegration, PendingWrites, UnknownDevice } from './types.ts';
export { idsKey } from './types.ts';
