/**
 * Messages between the server and its long-read worker thread (server/reads/worker.ts and
 * thread.ts). Everything crosses by structured clone, except a history's JSON, whose bytes are
 * transferred.
 */
import type { ErrorCode } from '../errors.ts';
import type { HistoryAlarm } from '../history/alarms.ts';
import type { EventStoreSpec } from '../storage/event-store-factory.ts';
import type { BacktestResult } from '../rules/backtest.ts';
import type { Rule } from '../rules/schema.ts';
import type { Site } from '../sites/model.ts';
import type { DeviceRecord } from '../storage/types.ts';

export interface BacktestJob {
  kind: 'backtest';
  rule: Rule;
  /** Every site the rule may see (the catalogue can change while the server runs). */
  sites: Site[];
  from: string;
  to: string;
  maxEvents: number;
  maxMs: number;
}

export interface HistoryJob {
  kind: 'history';
  site: Site;
  /**
   * The site's devices as the server knows them (its device directory): the thread reads no
   * registry of its own, which may be in PostgreSQL while the events are in the SQLite file.
   */
  devices: DeviceRecord[];
  fromMs: number;
  toMs: number;
  maxEvents: number;
  /** See HistoryOptions.alarmCategories. */
  alarmCategories?: readonly string[];
  /**
   * The window's alarms, read by the server from its alarm store (which may be PostgreSQL):
   * at most MAX_HISTORY_ALARMS + 1, a handful of rows beside the events the thread reads.
   */
  alarms: HistoryAlarm[];
}

export type ReadJob = BacktestJob | HistoryJob;

export type ToThread = { id: number; job: ReadJob } | { id: number; cancel: true } | { stop: true };

export interface ThreadError {
  code: ErrorCode;
  message: string;
  detail?: unknown;
}

export type FromThread =
  | { id: number; progress: number }
  | { id: number; backtest: BacktestResult }
  | { id: number; history: Uint8Array }
  | { id: number; error: ThreadError };

export interface ThreadData {
  /** The thread's TypeScript entry (loaded by boot.mjs). */
  entry: string;
  /** The SQLite database file, opened read-only in the thread (registry, alarms, and events unless `events` says InfluxDB). */
  dbFile: string;
  /** Where the events are: the thread opens the same store, read-only. */
  events: EventStoreSpec;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
