export { SnapshotLinker, type SnapshotLinkerDeps } from './linker.ts';
export { SnapshotStore, SNAPSHOT_ID, type SnapshotRecord, type SnapshotStoreDeps } from './snapshot-store.ts';
export { type SnapshotRowStore } from './store.ts';
export { SNAPSHOTS_PG_SCHEMA } from './postgres-store.ts';
