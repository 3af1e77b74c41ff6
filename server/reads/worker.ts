/**
 * Long reads (backtests, replay histories) off the event loop: one worker thread with its own
 * read-only connection to the SQLite file and its own client of the event store when that is
 * InfluxDB (server/reads/thread.ts), started at the first long read and ended after
 * READ_WORKER_IDLE_MS without one.
 *
 * Why a thread and not only slices (server/storage/yield.ts): measured on the 2-core machine
 * with other jobs running (load average ~12), a 15 s slice of a month's backtest on the event
 * loop made a 10 ms timer fire up to 67–133 ms late at p99 (loop delay p99 56–104 ms); the
 * same backtest in this thread left it 13–26 ms late (loop delay p99 5–8 ms), and replayed 2.4×
 * the events meanwhile, on the other core. A busy loop keeps its thread runnable, so a busy
 * machine's scheduler makes it wait its turn; an idle loop is woken at once when a packet
 * arrives. A long read's garbage (four week-long histories made 40–190 ms scavenges) is
 * collected on the thread's own heap too. Starting the thread costs 1–3 s (tsx loads the
 * modules again), paid once per busy spell.
 */
import { Worker } from 'node:worker_threads';
import { StoreTwinError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { EventStoreSpec } from '../storage/event-store-factory.ts';
import type { BacktestResult } from '../rules/backtest.ts';
import type { BacktestJob, FromThread, HistoryJob, ReadJob, ThreadData, ToThread } from './protocol.ts';

/** An idle thread holds ~50 MB (its heap and the modules): let it go after a while. */
export const READ_WORKER_IDLE_MS = 5 * 60_000;

export interface ReadWorkerOptions {
  /** The server's SQLite file (not ':memory:': the thread opens it itself). */
  dbFile: string;
  /** The server's event store (server/storage/event-store-factory.ts); SQLite's by default. */
  events?: EventStoreSpec;
  logLevel: ThreadData['logLevel'];
  logger: Logger;
  idleMs?: number;
}

export interface ReadCall {
  /** 0..1, as the read reports it. */
  onProgress?: (fraction: number) => void;
  /** Aborting cancels the read in the thread; the promise then settles as the read stops. */
  signal?: AbortSignal;
}

interface Pending {
  resolve: (m: FromThread) => void;
  reject: (err: unknown) => void;
  onProgress?: (fraction: number) => void;
}

export class ReadWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idle: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ReadWorkerOptions) {}

  /** Replays a rule (server/rules/backtest.ts) in the thread. */
  async backtest(job: Omit<BacktestJob, 'kind'>, call: ReadCall = {}): Promise<BacktestResult> {
    const m = await this.run({ kind: 'backtest', ...job }, call);
    if (!('backtest' in m)) throw new Error('long-read thread answered a backtest with something else');
    return m.backtest;
  }

  /** A replay history's JSON (server/history/history.ts buildHistoryJson) built in the thread. */
  async history(job: Omit<HistoryJob, 'kind'>, call: ReadCall = {}): Promise<Buffer> {
    const m = await this.run({ kind: 'history', ...job }, call);
    if (!('history' in m)) throw new Error('long-read thread answered a history with something else');
    return Buffer.from(m.history.buffer, m.history.byteOffset, m.history.byteLength);
  }

  /** Ends the thread (its reads are cancelled); resolves once it has exited. */
  async stop(): Promise<void> {
    this.clearIdle();
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ stop: true } satisfies ToThread);
    // The thread closes its connection when its reads have stopped (at their next slice).
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private run(job: ReadJob, call: ReadCall): Promise<FromThread> {
    const worker = this.thread();
    const id = this.nextId++;
    this.clearIdle();
    return new Promise<FromThread>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ id, cancel: true } satisfies ToThread);
      call.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        call.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0) this.armIdle();
      };
      this.pending.set(id, {
        resolve: (m) => {
          done();
          if ('error' in m) reject(new StoreTwinError(m.error.code, m.error.message, m.error.detail));
          else resolve(m);
        },
        reject: (err) => {
          done();
          reject(err);
        },
        ...(call.onProgress ? { onProgress: call.onProgress } : {}),
      });
      worker.postMessage({ id, job } satisfies ToThread);
      if (call.signal?.aborted) onAbort();
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: ThreadData = {
      entry: new URL('./thread.ts', import.meta.url).href,
      dbFile: this.opts.dbFile,
      events: this.opts.events ?? { kind: 'sqlite' },
      logLevel: this.opts.logLevel,
    };
    const worker = new Worker(new URL('./boot.mjs', import.meta.url), { workerData: data });
    worker.on('message', (m: FromThread) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) p.onProgress?.(m.progress);
      else p.resolve(m);
    });
    const fail = (err: unknown) => {
      if (this.worker === worker) this.worker = null;
      for (const p of [...this.pending.values()]) p.reject(err);
    };
    worker.on('error', (err) => {
      this.opts.logger.error({ err }, 'long-read thread failed');
      fail(new StoreTwinError('STW_ERR_INTERNAL'));
    });
    worker.on('exit', () => fail(new StoreTwinError('STW_ERR_INTERNAL', 'the long-read thread ended')));
    this.worker = worker;
    return worker;
  }

  private armIdle(): void {
    this.clearIdle();
    this.idle = setTimeout(() => void this.stop(), this.opts.idleMs ?? READ_WORKER_IDLE_MS);
    this.idle.unref();
  }

  private clearIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
  }
}
