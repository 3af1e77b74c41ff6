/**
 * Polled device systems (an AXIS People Counter): the simulator is the counter. Each simulated
 * counter's `live-sum.json` is served at
 *
 *     http://HOST:PORT/{device}/local/tvpc/.api?live-sum.json
 *
 * (the VAPIX path under a per-device prefix; the older /local/people-counter/.api too) with the
 * running totals the adapter's `render` keeps from the simulated counts, stamped with the time of
 * the poll as the counter's clock would. The Axis integration is configured with that URL and
 * polls it like a real counter. With a username, requests need HTTP digest authentication as the
 * camera asks for it (RFC 7616, MD5, qop=auth).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Adapter, AdapterState, PushRequest } from '../../server/integrations/adapters/types.ts';
import type { DeliveryTotals, SentMessage } from '../link.ts';
import type { ViaWire } from './link.ts';
import type { ExternalIds } from './external-ids.ts';

const LIVE_SUM_PATHS = ['/local/tvpc/.api', '/local/people-counter/.api'];
/** Nonces remembered for digest answers; older ones are answered `stale`, and the poller retries. */
const MAX_NONCES = 1000;

export interface ServeWireOptions {
  adapter: Adapter<unknown>;
  settings: unknown;
  state: AdapterState;
  /** Where to listen. */
  host: string;
  port: number;
  /** The devices served, with their ids on the platform. */
  devices: readonly { id: string; label?: string }[];
  idsOf(deviceId: string): ExternalIds;
  username?: string;
  password?: string;
}

export class ServeWire implements ViaWire {
  private server: http.Server | undefined;
  private base = '';
  private readonly nonces = new Map<string, number>();
  private readonly counts = { polls: 0, unauthorized: 0 };

  constructor(private readonly options: ServeWireOptions) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    // 0.0.0.0 listens everywhere; the URL to give the integration names this machine.
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Where the counters are served (the port chosen once started). */
  get baseUrl(): string {
    return this.base || `http://${this.options.host}:${this.options.port}`;
  }

  /** The live-sum.json URL of a device, to configure as the Axis integration's `url`. */
  urlOf(deviceId: string): string {
    return `${this.baseUrl}/${encodeURIComponent(deviceId)}${LIVE_SUM_PATHS[0]}?live-sum.json`;
  }

  totals(): DeliveryTotals {
    return { label: this.options.adapter.id, counts: { ...this.counts } };
  }

  /** A count has been added to the totals by render; the next poll shows it. */
  deliver(_deviceId: string, request: PushRequest, message: SentMessage): Promise<{ ok: true }> {
    const totals = totalsOf(request.body);
    message.answer = totals ? `totals now in ${totals.in}, out ${totals.out}; served on the next poll` : 'served on the next poll';
    return Promise.resolve({ ok: true });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://counter');
    const match = /^\/([^/]+)(\/.*)$/.exec(url.pathname);
    const device = match ? this.options.devices.find((d) => d.id === decodeURIComponent(match[1] ?? '')) : undefined;
    if (req.method !== 'GET' || !device || !LIVE_SUM_PATHS.includes(match?.[2] ?? '') || url.search !== '?live-sum.json') {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain');
      res.end('Not Found');
      return;
    }
    const serial = this.options.idsOf(device.id).axis ?? '';
    if (this.options.username !== undefined) {
      const verdict = this.check(req, `AXIS_${serial}`);
      if (verdict !== 'ok') {
        this.counts.unauthorized++;
        this.challenge(res, `AXIS_${serial}`, verdict === 'stale');
        return;
      }
    }
    // The totals as they stand now, stamped with the poll's time (render adds no counts).
    const rendered = this.options.adapter.render(
      { ids: { axis: serial }, body: { kind: 'events', events: [] }, at: new Date().toISOString(), describe: { name: device.label ?? device.id } },
      { settings: this.options.settings, state: this.options.state, now: Date.now() },
    );
    this.counts.polls++;
    res.setHeader('content-type', 'application/json');
    res.end(rendered.body);
  }

  private challenge(res: http.ServerResponse, realm: string, stale: boolean): void {
    const nonce = randomBytes(24).toString('base64');
    if (this.nonces.size >= MAX_NONCES) this.nonces.delete(this.nonces.keys().next().value ?? '');
    this.nonces.set(nonce, 0);
    res.statusCode = 401;
    res.setHeader('www-authenticate', `Digest realm="${realm}", nonce="${nonce}", algorithm=MD5, qop="auth"${stale ? ', stale=TRUE' : ''}`);
    res.setHeader('content-type', 'text/html');
    res.end('<HTML><HEAD><TITLE>401 Unauthorized</TITLE></HEAD><BODY>Unauthorized</BODY></HTML>');
  }

  /** RFC 7616 §3.4 with qop=auth and MD5: `ok`, `stale` (a nonce we no longer know) or `bad`. */
  private check(req: http.IncomingMessage, realm: string): 'ok' | 'stale' | 'bad' {
    const header = req.headers.authorization;
    if (!header?.startsWith('Digest ')) return 'bad';
    const p = authParams(header.slice('Digest '.length));
    if (p.username !== this.options.username || p.realm !== realm || p.uri !== req.url || p.qop !== 'auth') return 'bad';
    const nonce = p.nonce ?? '';
    const lastNc = this.nonces.get(nonce);
    if (lastNc === undefined) return 'stale';
    const nc = parseInt(p.nc ?? '', 16);
    // A nonce count that does not grow is a replay.
    if (!(nc > lastNc)) return 'bad';
    const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
    const ha1 = md5(`${this.options.username}:${realm}:${this.options.password ?? ''}`);
    const ha2 = md5(`${req.method ?? 'GET'}:${p.uri}`);
    const expected = Buffer.from(md5(`${ha1}:${nonce}:${p.nc}:${p.cnonce ?? ''}:auth:${ha2}`));
    const given = Buffer.from(p.response ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad';
    this.nonces.set(nonce, nc);
    return 'ok';
  }
}

function authParams(text: string): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g)) {
    out[(m[1] ?? '').toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return out;
}

function totalsOf(body: Buffer): { in: number; out: number } | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { in?: unknown; out?: unknown };
    return typeof parsed.in === 'number' && typeof parsed.out === 'number' ? { in: parsed.in, out: parsed.out } : undefined;
  } catch {
    return undefined;
  }
}
