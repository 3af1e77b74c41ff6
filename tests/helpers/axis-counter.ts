/**
 * A stand-in AXIS People Counter: the VAPIX real-time endpoint `GET /local/tvpc/.api?live-sum.json`
 * behind HTTP digest authentication as the camera does it (401 with `WWW-Authenticate: Digest
 * realm="AXIS_<serial>", nonce=…, algorithm=…, qop="auth"`, answers checked per RFC 7616),
 * answering the live-sum.json body laid out like the device's. The server-side digest check is
 * written here from the RFC, independently of server/integrations/adapters/digest-auth.ts.
 * Behaviours for failure tests: hang (never answer), html (a login page, not JSON), error (500),
 * reset (drop the connection).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type CounterBehaviour = 'ok' | 'hang' | 'html' | 'error' | 'reset';

export interface AxisCounterOptions {
  serial?: string;
  name?: string;
  username?: string;
  password?: string;
  /** 'digest' (the default, as Axis ships), 'basic', or 'none'. */
  auth?: 'digest' | 'basic' | 'none';
  algorithm?: 'MD5' | 'SHA-256';
}

export interface SeenRequest {
  path: string;
  authorization: string | undefined;
  status: number;
}

export interface AxisCounter {
  url: string;
  /** The live-sum.json URL to configure. */
  liveSumUrl: string;
  /** Sets what the next answers say (timestamp `YYYYMMDDhhmmss`, the counter's local time). */
  set(values: { timestamp?: string; in?: number; out?: number }): void;
  behaviour: CounterBehaviour;
  /** Every request, in order. */
  readonly requests: SeenRequest[];
  /** Forget issued nonces: the next authenticated request is answered 401 stale=true. */
  expireNonces(): void;
  /** Resolves when a request arrives after the `count`-th. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

function parseAuthParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g;
  for (const m of header.matchAll(re)) out[(m[1] as string).toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string);
  return out;
}

export async function startAxisCounter(opts: AxisCounterOptions = {}): Promise<AxisCounter> {
  const serial = opts.serial ?? '00408CAC512B';
  const name = opts.name ?? 'Exit south';
  const username = opts.username ?? 'root';
  const password = opts.password ?? 'pass';
  const auth = opts.auth ?? 'digest';
  const algorithm = opts.algorithm ?? 'MD5';
  const hash = algorithm === 'MD5' ? 'md5' : 'sha256';
  const H = (s: string): string => createHash(hash).update(s).digest('hex');
  const realm = `AXIS_${serial}`;
  const nonces = new Map<string, number>();
  const values = { timestamp: '20261130090000', in: 0, out: 0 };
  const requests: SeenRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging = new Set<http.ServerResponse>();

  const challenge = (res: http.ServerResponse, stale = false): void => {
    if (auth === 'basic') {
      res.setHeader('www-authenticate', `Basic realm="${realm}"`);
    } else {
      const nonce = randomBytes(24).toString('base64');
      nonces.set(nonce, 0);
      res.setHeader('www-authenticate', `Digest realm="${realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=TRUE' : ''}`);
    }
    res.statusCode = 401;
    res.setHeader('content-type', 'text/html');
    res.end('<HTML><HEAD><TITLE>401 Unauthorized</TITLE></HEAD><BODY>Unauthorized</BODY></HTML>');
  };

  /** 'ok', 'bad' (wrong answer), 'stale' (unknown nonce), 'missing'. */
  const check = (req: http.IncomingMessage): 'ok' | 'bad' | 'stale' | 'missing' => {
    if (auth === 'none') return 'ok';
    const header = req.headers.authorization;
    if (!header) return 'missing';
    if (auth === 'basic') {
      const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      return header === expected ? 'ok' : 'bad';
    }
    if (!header.startsWith('Digest ')) return 'bad';
    const p = parseAuthParams(header.slice(7));
    if (p['username'] !== username || p['realm'] !== realm || p['uri'] !== req.url) return 'bad';
    const nonce = p['nonce'] ?? '';
    const lastNc = nonces.get(nonce);
    if (lastNc === undefined) return 'stale';
    const nc = parseInt(p['nc'] ?? '', 16);
    // RFC 7616 §3.4: a nonce count must grow, or it is a replay.
    if (p['qop'] !== 'auth' || !(nc > lastNc)) return 'bad';
    const ha1 = H(`${username}:${realm}:${password}`);
    const ha2 = H(`${req.method}:${p['uri']}`);
    const expected = H(`${ha1}:${nonce}:${p['nc']}:${p['cnonce']}:auth:${ha2}`);
    if (p['response'] !== expected) return 'bad';
    nonces.set(nonce, nc);
    return 'ok';
  };

  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { path: req.url ?? '', authorization: req.headers.authorization, status: 0 };
    requests.push(seen);
    res.on('finish', () => {
      seen.status = res.statusCode;
    });
    for (const w of waiters.splice(0)) {
      if (requests.length > w.count) w.resolve();
      else waiters.push(w);
    }
    const url = new URL(req.url ?? '/', 'http://counter');
    if (req.method !== 'GET' || !['/local/tvpc/.api', '/local/people-counter/.api'].includes(url.pathname) || url.search !== '?live-sum.json') {
      res.statusCode = 404;
      res.end('Not Found');
      return;
    }
    const verdict = check(req);
    if (verdict !== 'ok') {
      challenge(res, verdict === 'stale');
      return;
    }
    switch (behaviour.current) {
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'error':
        res.statusCode = 500;
        res.end('Internal Server Error');
        return;
      case 'html':
        res.setHeader('content-type', 'text/html');
        res.end('<html><body>People Counter is starting…</body></html>');
        return;
      default: {
        res.setHeader('content-type', 'application/json');
        res.end(`{\n"serial": "${serial}",\n"name": "${name}",\n"timestamp": "${values.timestamp}",\n"in": ${values.in},\n"out": ${values.out}\n}\n`);
      }
    }
  });
  const behaviour: { current: CounterBehaviour } = { current: 'ok' };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    liveSumUrl: `${url}/local/tvpc/.api?live-sum.json`,
    set(v) {
      Object.assign(values, v);
    },
    get behaviour() {
      return behaviour.current;
    },
    set behaviour(b: CounterBehaviour) {
      behaviour.current = b;
    },
    requests,
    expireNonces() {
      nonces.clear();
    },
    waitForRequests(count) {
      if (requests.length > count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
