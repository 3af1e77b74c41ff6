/**
 * The event writer thread (see event-writer.ts): its own connection to the server's SQLite
 * file, inserting each batch it is sent in one transaction and answering once it is committed
 * (synchronous=FULL: fsynced). Nothing else runs here, so the commit and its fsync wait on this
 * thread while the event loop goes on parsing, acknowledging and pushing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.ts';
import { INSERT_EVENT_SQL, type EventRowParams, type WriterData, type WriterReply, type WriterRequest } from './event-writer-protocol.ts';

if (!parentPort) throw new Error('event-writer-thread.ts runs in a worker thread');
const port = parentPort;
const { file } = workerData as WriterData;
const db = openDatabase(file);
const insert = db.prepare<[EventRowParams]>(INSERT_EVENT_SQL);
const insertBatch = db.transaction((rows: readonly EventRowParams[]) => {
  for (const row of rows) insert.run(row);
});

port.on('message', (m: WriterRequest) => {
  if ('close' in m) {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    insertBatch(m.rows);
    reply = { id: m.id };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies WriterReply);
