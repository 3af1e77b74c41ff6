/**
 * The long-read worker thread: backtests and replay histories on a read-only connection of
 * its own to the server's SQLite file, and on a client of its own to InfluxDB when the events
 * are there (read-only: it never changes the database's layout), so their CPU (and their
 * garbage collection) is off the event loop that acknowledges device events. Jobs run concurrently here in slices
 * (server/storage/yield.ts), which keeps this thread's own loop free to take new jobs and
 * cancellations.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isStoreTwinError } from '../errors.ts';
import { buildHistoryJson } from '../history/history.ts';
import { createLogger } from '../observability/logger.ts';
import { backtest } from '../rules/backtest.ts';
import { openEventStore, readOnlySpec } from '../storage/event-store-factory.ts';
import { openDatabase } from '../storage/sqlite/database.ts';
import { SqliteEventStore } from '../storage/sqlite/event-store.ts';
import type { FromThread, ReadJob, ThreadData, ToThread } from './protocol.ts';

if (!parentPort) throw new Error('server/reads/thread.ts runs in a worker thread');
const port = parentPort;
const data = workerData as ThreadData;
const logger = createLogger({ level: data.logLevel, name: 'storetwin-reads' });
const db = openDatabase(data.dbFile, { readonly: true });
const events = openEventStore(readOnlySpec(data.events), () => new SqliteEventStore(db));
/** Started at the first job, again after a failed start (InfluxDB may be back by the next job). */
let eventsStarted: Promise<void> | null = null;
const running = new Map<number, AbortController>();
let stopping = false;
let closing = false;
const post = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function eventsReady(): Promise<void> {
  eventsStarted ??= events.start().catch((err: unknown) => {
    eventsStarted = null;
    throw err;
  });
  return eventsStarted;
}

async function run(id: number, job: ReadJob, signal: AbortSignal): Promise<void> {
  await eventsReady();
  if (job.kind === 'backtest') {
    const byId = new Map(job.sites.map((s) => [s.id, s]));
    const result = await backtest(job.rule, {
      events,
      sites: { list: () => job.sites, get: (site) => byId.get(site) },
      from: job.from,
      to: job.to,
      maxEvents: job.maxEvents,
      maxMs: job.maxMs,
      logger,
      signal,
      onProgress: (progress) => post({ id, progress }),
    });
    post({ id, backtest: result });
    return;
  }
  // The site's devices and the window's alarms come with the job, from the server's directory and alarm store.
  const alarms = { overlapping: async () => job.alarms };
  const json = await buildHistoryJson({ events, registry: { devicesOfSite: () => job.devices }, alarms }, job.site, job.fromMs, job.toMs, { maxEvents: job.maxEvents, signal, alarmCategories: job.alarmCategories });
  // A buffer of its own (not a slice of Node's shared pool) moves to the server without a copy.
  const own = json.byteOffset === 0 && json.buffer.byteLength === json.byteLength;
  post({ id, history: json }, own ? [json.buffer as ArrayBuffer] : []);
}

/** Closes the connection and lets the thread end, once no job is left (they stop at their next slice). */
function closeWhenIdle(): void {
  if (!stopping || running.size > 0 || closing) return;
  closing = true;
  void events.stop().finally(() => {
    db.close();
    port.close();
  });
}

port.on('message', (m: ToThread) => {
  if ('stop' in m) {
    stopping = true;
    for (const abort of running.values()) abort.abort();
    closeWhenIdle();
    return;
  }
  if ('cancel' in m) {
    running.get(m.id)?.abort();
    return;
  }
  const abort = new AbortController();
  running.set(m.id, abort);
  run(m.id, m.job, abort.signal)
    .catch((err: unknown) => {
      if (!isStoreTwinError(err) && !abort.signal.aborted) logger.error({ err, job: m.job.kind }, 'long read failed');
      post({ id: m.id, error: isStoreTwinError(err) ? err.toJSON() : { code: 'STW_ERR_INTERNAL', message: 'internal error' } });
    })
    .finally(() => {
      running.delete(m.id);
      closeWhenIdle();
    });
});
