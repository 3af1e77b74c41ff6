// The event writer thread (see event-writer.ts): a connection of its own to the server's SQLite
// file, inserting each batch it is sent in one transaction and answering once it is committed
// (synchronous=FULL: fsynced). Nothing else runs here, so the commit and its fsync wait on this
// thread while the event loop goes on parsing, acknowledging and pushing.
//
// Plain JavaScript on purpose: a TypeScript entry would need the tsx loader in this thread too
// (server/reads/boot.mjs). Measured as RSS after the first batch against no thread at all: +26–35
// MB with a TypeScript entry under tsx, +15–16 MB with this file, for a loop of a dozen lines. What it must agree on with the server — the settings, the statement — comes in
// workerData from event-writer.ts, which takes them from database.ts and the protocol module.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

/** @type {import('./event-writer-protocol.ts').WriterData} */
const { file, pragmas, insertSql } = workerData;
const port = parentPort;
if (!port) throw new Error('event-writer-thread.mjs runs in a worker thread');
const db = new BetterSqlite3(file, { fileMustExist: true });
for (const pragma of pragmas) db.pragma(pragma);
const insert = db.prepare(insertSql);
const insertBatch = db.transaction((rows) => {
  for (const row of rows) insert.run(row);
});

port.on('message', (/** @type {import('./event-writer-protocol.ts').WriterRequest} */ m) => {
  if ('close' in m) {
    db.close();
    port.close();
    return;
  }
  try {
    insertBatch(m.rows);
    port.postMessage({ id: m.id });
  } catch (err) {
    port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
port.postMessage({ ready: true });
