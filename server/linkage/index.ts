export { SnapshotLinker, type SnapshotLinkerDeps } from './linker.ts';
export { SnapshotStore, SNAPSHOT_ID, type SnapshotRecord, type SnapshotStoreDeps } from './snapshot-store.ts';
