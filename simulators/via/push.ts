/**
 * Push platforms (CTWing, OneNET, a Hikvision device's alarm server): each rendered message is
 * an HTTP request to StoreTwin's push endpoint, `POST {url}/api/ingest/{adapter}?token=TOKEN`,
 * as the platform would make it. The answer is the server's tally (accepted, duplicates, unknown
 * devices, refused, ignored), kept in totals and shown per message; a refusal (4xx/5xx) is
 * reported with its error code, never thrown.
 */
import type { PushRequest } from '../../server/integrations/adapters/types.ts';
import { errorMessage, type DeliveryTotals, type SentMessage } from '../link.ts';
import type { ViaWire } from './link.ts';

/** Requests in flight at once over all devices: a site's worth of pushes must not open hundreds of sockets. */
const MAX_IN_FLIGHT = 8;
/** A push the server does not answer within this long counts as failed. */
const PUSH_TIMEOUT_MS = 15_000;

interface Tally {
  accepted?: number;
  duplicates?: number;
  unknown?: number;
  ignored?: number;
  refused?: number;
  problems?: { code?: string; message?: string }[];
  note?: string;
}

export interface PushWireOptions {
  adapter: string;
  /** StoreTwin's HTTP base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The integration's token (POST /api/integrations answered it once). */
  token: string;
  /** How a device is named to a person when the server does not know it: `ctwing "door-1"`. */
  describeIds(deviceId: string): string;
}

export class PushWire implements ViaWire {
  private readonly counts = { pushes: 0, accepted: 0, duplicates: 0, unknown: 0, ignored: 0, refused: 0 };
  private lastProblem: string | undefined;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: PushWireOptions) {}

  /** Where pushes go, without the token. */
  get endpoint(): string {
    return `${this.options.url}/api/ingest/${this.options.adapter}`;
  }

  /** Checks that StoreTwin answers at all, so a wrong --url fails at once with a clear message. */
  async check(): Promise<void> {
    try {
      const res = await fetch(`${this.options.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch (err) {
      throw new Error(`cannot reach StoreTwin at ${this.options.url}: ${causeOf(err)}`, { cause: err });
    }
  }

  totals(): DeliveryTotals {
    return { label: this.options.adapter, counts: { ...this.counts }, ...(this.lastProblem ? { lastProblem: this.lastProblem } : {}) };
  }

  async deliver(deviceId: string, request: PushRequest, message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }> {
    await this.slot();
    try {
      return await this.post(deviceId, request, message);
    } finally {
      this.release();
    }
  }

  private async post(deviceId: string, request: PushRequest, message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }> {
    const query = new URLSearchParams(request.query);
    query.set('token', this.options.token);
    const url = `${this.endpoint}?${query.toString()}`;
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method: request.method,
        headers: request.contentType ? { 'content-type': request.contentType } : {},
        ...(request.method === 'POST' ? { body: request.body } : {}),
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const error = `${request.method} ${this.endpoint} failed: ${causeOf(err)}`;
      message.failed = error;
      return { ok: false, error };
    }
    this.counts.pushes++;
    if (status !== 200) {
      const { code, text: said } = errorOf(text);
      const error = `${this.options.adapter} push answered ${status}${code ? ` ${code}` : ''}${said ? `: ${said}` : ''}`;
      message.answer = `${status}${code ? ` ${code}` : ''}`;
      message.failed = error;
      return { ok: false, error };
    }
    const tally = tallyOf(text);
    this.counts.accepted += tally.accepted ?? 0;
    this.counts.duplicates += tally.duplicates ?? 0;
    this.counts.unknown += tally.unknown ?? 0;
    this.counts.ignored += tally.ignored ?? 0;
    this.counts.refused += tally.refused ?? 0;
    const parts = [`200 accepted ${tally.accepted ?? 0}`];
    if (tally.duplicates) parts.push(`duplicates ${tally.duplicates}`);
    if (tally.unknown) {
      parts.push(`unknown device ${tally.unknown}`);
      this.lastProblem = `${deviceId}: the server knows no device with ${this.options.describeIds(deviceId)} in the integration's site: register it with that external id (or pass --api-token to use the registered ones)`;
    }
    if (tally.refused) {
      const first = tally.problems?.[0];
      parts.push(`refused ${tally.refused}${first ? ` (${first.code ?? ''} ${first.message ?? ''})` : ''}`);
      if (first) this.lastProblem = `${first.code ?? ''} ${first.message ?? ''}`.trim();
    }
    if (tally.ignored) parts.push(`ignored ${tally.ignored}${tally.note ? ` (${tally.note})` : ''}`);
    message.answer = parts.join(', ');
    return { ok: true };
  }

  private async slot(): Promise<void> {
    if (this.inFlight < MAX_IN_FLIGHT) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}

function tallyOf(text: string): Tally {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Tally) : {};
  } catch {
    // A 200 that is not the tally (OneNET's URL check echoes text): nothing to count.
    return {};
  }
}

function errorOf(text: string): { code?: string; text?: string } {
  try {
    const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (err && typeof err.code === 'string') return { code: err.code, ...(typeof err.message === 'string' ? { text: err.message } : {}) };
  } catch {
    // Not StoreTwin's error JSON (a proxy's page): show its start.
  }
  return text.trim() ? { text: text.trim().slice(0, 120) } : {};
}

/** The reason behind fetch's "fetch failed": ECONNREFUSED, a timeout… */
export function causeOf(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return errorMessage(err);
}
