/**
 * Real receivers for the notification tests: an HTTP server on 127.0.0.1 port 0 that records
 * every request and answers from a script, an SMTP server (smtp-server) that records mail,
 * and a fresh SQLite file.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Alarm } from '../../server/alarms/types.ts';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export interface Receiver {
  base: string;
  requests: Recorded[];
  /** Status codes to answer, in order; then 200. */
  script: number[];
  /** Body answered with 200 (e.g. a bot's {"errcode":0}). */
  okBody: string;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Recorded[] = [];
  const receiver: Receiver = { base: '', requests, script: [], okBody: '{"errcode":0,"code":0}', close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = undefined;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as text
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json });
      const status = receiver.script.shift() ?? 200;
      if (status >= 300 && status < 400) res.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? receiver.okBody : '{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  };
  return receiver;
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export async function startSmtp(): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((done) => server.close(() => done())) };
}

export { tempStorage } from '../helpers/storage.ts';

export function sampleAlarm(over: Partial<Alarm> = {}): Alarm {
  return {
    id: 'a-1',
    site: 'demo-hotel',
    zone: 'room-1203',
    device: 'door-1203',
    rule: 'armed-door-open',
    source: 'door-1203',
    severity: 'critical',
    state: 'active',
    acknowledged: false,
    message: { en: 'Door opened in armed room 1203', 'zh-CN': '布防房间 1203 门被打开' },
    count: 1,
    firstAt: '2026-11-23T02:00:00.000Z',
    lastAt: '2026-11-23T02:00:00.000Z',
    acknowledgedAt: null,
    acknowledgedBy: null,
    clearedAt: null,
    clearedBy: null,
    escalationLevel: 0,
    snapshot: null,
    latched: false,
    restoredAt: null,
    chattering: false,
    details: {},
    history: [],
    ...over,
  };
}

/** Waits until `check` passes (for mail arriving over a real socket). */
export async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
