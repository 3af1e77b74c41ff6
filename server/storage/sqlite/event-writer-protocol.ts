/** What the server and the event writer thread (event-writer.ts, event-writer-thread.mjs) say to each other. */

/** One events row as bound to the INSERT. */
export interface EventRowParams {
  site: string;
  device: string;
  device_type: string;
  zone: string;
  type: string;
  seq: number | null;
  ts: number;
  received_at: number;
  data: string;
}

export const INSERT_EVENT_SQL = `INSERT INTO events (site, device, device_type, zone, type, seq, ts, received_at, data)
  VALUES (@site, @device, @device_type, @zone, @type, @seq, @ts, @received_at, @data)`;

export interface WriterData {
  /** The SQLite file, already opened and migrated by the server. */
  file: string;
  /** The connection's settings, in order (database.ts). */
  pragmas: readonly string[];
  insertSql: string;
}

export type WriterRequest = { id: number; rows: readonly EventRowParams[] } | { close: true };

export type WriterReply = { ready: true } | { id: number; error?: string };
