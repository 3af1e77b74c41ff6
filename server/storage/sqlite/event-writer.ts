/**
 * Event batches written by a thread of their own. better-sqlite3 is synchronous: on the event
 * loop, every insert and every commit's fsync stops everything else — no PUBACKs, no alarm
 * pushes, no new CONNECTs — and at a few thousand events per second that was most of the
 * loop's time (bench/ingest.bench.ts). Here the loop hands a batch over and goes on; the
 * promise resolves once the thread has committed it, and only then are the events
 * acknowledged. Meanwhile the next events gather, so batches grow with the load by themselves.
 *
 * The thread is the events table's only writer; other tables are written by the server's own
 * connection. Both write the same file, so one may wait for the other's lock (busy_timeout):
 * the alarm commit that follows a batch runs while the thread is idle (it starts after the
 * batch's reply, before the next batch is sent), so in practice they rarely meet.
 */
import { Worker } from 'node:worker_threads';
import { StoreTwinError } from '../../errors.ts';
import { CONNECTION_PRAGMAS, WRITER_PRAGMAS } from './database.ts';
import { INSERT_EVENT_SQL, type EventRowParams, type WriterData, type WriterReply, type WriterRequest } from './event-writer-protocol.ts';

interface Pending {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class EventWriterThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Every batch sent and not yet answered, settled either way (close() waits for them). */
  private readonly inflight = new Set<Promise<void>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly file: string) {}

  /** Inserts the rows in one transaction in the thread; resolves once committed. */
  write(rows: readonly EventRowParams[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreTwinError('STW_ERR_STORAGE_FAILED', 'the event writer is closed'));
    const worker = this.thread();
    const id = this.nextId++;
    const written = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, rows } satisfies WriterRequest);
    });
    const settled = written.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return written;
  }

  /** Lets the batches already sent finish, then ends the thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    await Promise.all([...this.inflight]);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true } satisfies WriterRequest);
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    this.worker = null;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: WriterData = { file: this.file, pragmas: [...CONNECTION_PRAGMAS, ...WRITER_PRAGMAS], insertSql: INSERT_EVENT_SQL };
    const worker = new Worker(new URL('./event-writer-thread.mjs', import.meta.url), { workerData: data });
    worker.on('message', (m: WriterReply) => {
      if ('ready' in m) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error === undefined) p.resolve();
      else p.reject(new StoreTwinError('STW_ERR_STORAGE_FAILED', m.error));
    });
    // A thread that dies takes its unanswered batches with it: they failed (the devices are not
    // acknowledged and send again); the next batch starts a new thread.
    const fail = (err: unknown): void => {
      if (this.worker === worker) this.worker = null;
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(err);
    };
    worker.on('error', (err) => fail(new StoreTwinError('STW_ERR_STORAGE_FAILED', `event writer thread failed: ${err.message}`)));
    worker.on('exit', () => fail(new StoreTwinError('STW_ERR_STORAGE_FAILED', 'the event writer thread ended')));
    this.worker = worker;
    return worker;
  }
}
