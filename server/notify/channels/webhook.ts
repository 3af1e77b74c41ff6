/**
 * Webhook channel: POSTs the rendered JSON body to the route's URL.
 *
 * - generic: headers `Idempotency-Key`, `X-StoreTwin-Timestamp` (Unix seconds) and, with a
 *   secret, `X-StoreTwin-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
 * - dingtalk with a secret: `&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret,
 *   "<ms>\n<secret>")>` appended to the URL (DingTalk custom robot "加签").
 * - feishu with a secret: body fields `timestamp` (seconds, string) and `sign` = base64
 *   HMAC-SHA256 keyed with "<s>\n<secret>" over an empty message (Feishu custom bot 签名校验).
 * - wecom, slack: the URL itself is the secret.
 *
 * Outcome: 2xx delivered; 408, 429 and 5xx retried (Retry-After honoured); other 4xx dead at
 * once; redirects are never followed (a 3xx is retried, and visible in the last error). The
 * chat platforms answer 200 with an error code in the body: a non-zero code is dead, except
 * their rate limits, which are retried.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isStoreTwinError } from '../../errors.ts';
import type { NotifyConfig, WebhookRoute } from '../config.ts';
import type { DeliveryRecord } from '../outbox-store.ts';
import { AllowList, checkWebhookUrl, pinnedLookup, redactUrl, type Resolver } from '../ssrf.ts';
import type { Channel, SendResult } from './types.ts';

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Enough for any bot's answer; a receiver streaming more is cut off, not buffered. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Rate-limit codes of the chat platforms (retry later rather than dead-letter). */
const RATE_LIMIT_CODES = new Set([
  130101, // DingTalk: more than 20 messages a minute
  45009, // WeCom: API frequency limit
  9499, // Feishu: too many requests
  11232, // Feishu: bot frequency limit
]);

export function genericSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

export interface PreparedRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** Adds the signature of the route's preset; at send time, because signatures carry a time. */
export function prepareWebhook(route: WebhookRoute, delivery: Pick<DeliveryRecord, 'payload' | 'idempotencyKey'>, nowMs: number): PreparedRequest {
  let url = route.url;
  let payload = delivery.payload;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'StoreTwin-Webhook/1',
    'idempotency-key': delivery.idempotencyKey,
  };
  if (route.preset === 'generic') {
    headers['x-storetwin-timestamp'] = String(Math.floor(nowMs / 1000));
  } else if (route.preset === 'dingtalk' && route.secret) {
    const u = new URL(url);
    u.searchParams.set('timestamp', String(nowMs));
    u.searchParams.set('sign', dingtalkSign(route.secret, nowMs));
    url = u.toString();
  } else if (route.preset === 'feishu' && route.secret) {
    const ts = Math.floor(nowMs / 1000);
    payload = { timestamp: String(ts), sign: feishuSign(route.secret, ts), ...(payload as object) };
  }
  const body = JSON.stringify(payload);
  if (route.preset === 'generic' && route.secret) headers['x-storetwin-signature'] = genericSignature(route.secret, body);
  return { url, body, headers };
}

function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The chat platforms' "200 but failed" answers. */
function platformError(preset: WebhookRoute['preset'], text: string): SendResult | null {
  if (preset === 'generic' || preset === 'slack') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const o = parsed as { errcode?: unknown; errmsg?: unknown; code?: unknown; StatusCode?: unknown; msg?: unknown };
  const code = typeof o.errcode === 'number' ? o.errcode : typeof o.code === 'number' ? o.code : typeof o.StatusCode === 'number' ? o.StatusCode : 0;
  if (code === 0) return null;
  const error = `${preset} answered code ${code}: ${String(o.errmsg ?? o.msg ?? '')}`.slice(0, 300);
  return RATE_LIMIT_CODES.has(code) ? { outcome: 'retry', error } : { outcome: 'dead', error };
}

export interface WebhookChannelOptions {
  config: NotifyConfig;
  timeoutMs?: number;
  /** DNS resolver (tests); default dns.lookup with all addresses. */
  resolve?: Resolver;
  /** Wall clock for signature timestamps (receivers compare them with theirs). */
  now?: () => number;
}

export class WebhookChannel implements Channel {
  readonly kind = 'webhook' as const;
  private config: NotifyConfig;
  private allow: AllowList;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: WebhookChannelOptions) {
    this.config = opts.config;
    this.allow = new AllowList(opts.config.allowPrivateNetworks);
    this.timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Sends with `config`'s routes and allow list from now on (notify.yaml was reloaded). */
  setConfig(config: NotifyConfig): void {
    this.config = config;
    this.allow = new AllowList(config.allowPrivateNetworks);
  }

  async send(delivery: DeliveryRecord): Promise<SendResult> {
    const route = this.config.route(delivery.site, delivery.route);
    if (!route || route.channel !== 'webhook') return { outcome: 'dead', error: `route "${delivery.route}" is no longer a webhook route of site ${delivery.site}` };
    return (await this.attempt(route, delivery)).result;
  }

  /**
   * One POST to the route now, with its signature and the SSRF guard, and what came back: the
   * outcome and the receiver's HTTP status (null when none came). send() uses it for the outbox;
   * the routes API's test send uses it directly, outside the outbox and its retries.
   */
  async attempt(route: WebhookRoute, delivery: Pick<DeliveryRecord, 'payload' | 'idempotencyKey'>): Promise<{ result: SendResult; status: number | null }> {
    const req = prepareWebhook(route, delivery, this.now());
    let target;
    try {
      target = await checkWebhookUrl(req.url, this.allow, this.opts.resolve);
    } catch (err) {
      if (isStoreTwinError(err)) return { result: { outcome: 'dead', error: `${err.code}: ${err.message}` }, status: null };
      return { result: { outcome: 'retry', error: (err as Error).message }, status: null };
    }
    let res: { status: number; headers: http.IncomingHttpHeaders; text: string };
    try {
      res = await this.post(target.url, req, pinnedLookup(target));
    } catch (err) {
      return { result: { outcome: 'retry', error: `POST ${redactUrl(req.url)}: ${(err as Error).message}` }, status: null };
    }
    const { status } = res;
    if (status >= 200 && status < 300) return { result: platformError(route.preset, res.text) ?? { outcome: 'delivered' }, status };
    const error = `POST ${redactUrl(req.url)}: HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`;
    if (status === 408 || status === 429 || status >= 500 || status < 400) {
      const after = retryAfterMs(res.headers['retry-after'], this.now());
      return { result: after === undefined ? { outcome: 'retry', error } : { outcome: 'retry', error, retryAfterMs: after }, status };
    }
    return { result: { outcome: 'dead', error }, status };
  }

  /** node:http rather than fetch: its `lookup` option pins the connection to the checked address. */
  private post(url: URL, req: PreparedRequest, lookup: ReturnType<typeof pinnedLookup>): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const r = mod.request(
        url,
        {
          method: 'POST',
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          lookup,
          signal: AbortSignal.timeout(this.timeoutMs),
          // One request per delivery: no pooled socket may outlive the checked address.
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      r.on('error', (err) => reject(err.name === 'AbortError' || err.name === 'TimeoutError' ? new Error(`timed out after ${this.timeoutMs} ms`) : err));
      r.end(req.body);
    });
  }
}
