// The picture thread's entry (simulators/picture-thread.ts starts it): renders camera pictures
// (devices/shared/snapshot.ts) for simulators that share a thread with a server. Worker threads
// start without the tsx loader, so register it before loading the TypeScript renderer.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { renderSnapshotPlan } = await import('../devices/shared/snapshot.ts');

parentPort.on('message', ({ id, plan }) => {
  try {
    const jpeg = renderSnapshotPlan(plan);
    // A buffer of its own (not a slice of Node's shared pool) moves without a copy.
    const own = jpeg.byteOffset === 0 && jpeg.buffer.byteLength === jpeg.byteLength;
    parentPort.postMessage({ id, jpeg }, own ? [jpeg.buffer] : []);
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
