// The long-read worker thread's entry. Worker threads start without the tsx loader the server
// runs under (bin/storetwin.js registers it in-process, and `--import` is not passed on to
// workers), so register it here, then load the TypeScript entry named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
