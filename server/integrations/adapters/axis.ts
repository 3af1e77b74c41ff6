/**
 * AXIS People Counter (the ACAP on an Axis camera): StoreTwin polls the counter's real-time
 * endpoint, `GET /local/tvpc/.api?live-sum.json` (VAPIX People counter API; older releases
 * served it under /local/people-counter/.api), which answers the day's running totals:
 *
 *     {"serial": "00408CAC512B", "name": "Exit south", "timestamp": "20170503112756", "in": 12, "out": 318}
 *
 * `timestamp` is the counter's local wall time without a zone, and the totals count from the
 * counter's midnight. parse() turns successive answers into `count` events of the people who
 * went in and out since the previous answer:
 * - the first answer heard for a serial sets the baseline and becomes a `heartbeat` (the
 *   counter is alive): the day's totals so far are not replayed as one burst, so a restart of
 *   StoreTwin never counts a day twice;
 * - a new local day, or a total lower than before (the midnight reset, a reboot, a reset from
 *   the counter's page), counts from zero again: the new totals are what happened since;
 *   nothing is ever negative;
 * - the same answer polled twice (same serial and timestamp) parses to the same message with
 *   the same `dedupeKey`, which the core stores once.
 * The connector polls with digest authentication (VAPIX answers 401 with a Digest challenge),
 * a timeout and backoff; a counter that misses two polls in a row is reported offline.
 */
import { z } from 'zod';
import type { CountEvent, DeviceEvent } from '../../../devices/types.ts';
import { isoSeconds } from '../../../devices/shared/time.ts';
import { instantOfLocal, localParts } from '../../history/local-time.ts';
import { isValidTimeZone } from '../../sites/validate.ts';
import { authFetch, AuthSession } from './digest-auth.ts';
import { defineAdapter, type AdapterMessage, type Connector, type ConnectorContext, type ParseContext, type ParseResult, type PushRequest } from './types.ts';

/** A live-sum.json answer is ~100 bytes; anything near this is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Backoff after failed polls doubles from the interval up to this (or the interval if longer). */
const MAX_BACKOFF_MS = 5 * 60_000;
/** Consecutive failed polls after which the counter is reported offline. */
const OFFLINE_AFTER_FAILURES = 2;

const settingsSchema = z.strictObject({
  /** The counter's live-sum.json URL, e.g. http://10.0.0.5/local/tvpc/.api?live-sum.json */
  url: z
    .string()
    .url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' })
    // Zod runs this even when the URL check failed: an unparseable URL is that check's to report.
    .refine((u) => {
      if (!URL.canParse(u)) return true;
      const parsed = new URL(u);
      return parsed.username === '' && parsed.password === '';
    }, 'put the credentials in username and password, not in the URL'),
  username: z.string().min(1).max(200).optional(),
  password: z.string().max(200).optional(),
  /** Seconds between polls. The counter keeps per-minute bins; polling faster only adds load. */
  intervalS: z.number().min(5).max(3600).default(60).describe('seconds between polls'),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  /**
   * The IANA zone the counter's clock is set to (its timestamp carries none). Defaults to UTC:
   * set it to the site's zone (e.g. Asia/Shanghai) unless the counter runs on UTC.
   */
  timeZone: z.string().refine(isValidTimeZone, 'must be an IANA time zone, e.g. Asia/Shanghai').default('UTC').describe("the counter's own time zone (its timestamps have none), e.g. Asia/Shanghai"),
});

export type AxisSettings = z.infer<typeof settingsSchema>;

/** One answer of live-sum.json. Unknown extra fields are tolerated (newer releases add some). */
const liveSumSchema = z.object({
  // A MAC-derived serial: 12 hex digits (Axis prints it upper-case).
  serial: z.string().regex(/^[0-9A-Fa-f]{12}$/, 'serial must be 12 hex digits'),
  name: z.string().max(200).optional(),
  timestamp: z.string().regex(/^\d{14}$/, 'timestamp must be YYYYMMDDhhmmss'),
  in: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  out: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
type LiveSum = z.infer<typeof liveSumSchema>;

/** What parse remembers per serial: the last answer, and the message it became. */
interface Sample {
  in: number;
  out: number;
  at: number;
  timestamp: string;
  message: AdapterMessage;
}

/** What render remembers per serial: the running totals a simulated counter shows. */
interface Rendered {
  in: number;
  out: number;
  day: string;
}

const sampleKey = (serial: string): string => `sample:${serial}`;
const renderedKey = (serial: string): string => `rendered:${serial}`;

/** Wall-clock parts of a `YYYYMMDDhhmmss` stamp, or null when it is not a real date and time. */
function wallParts(stamp: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } | null {
  const n = (a: number, b: number): number => Number(stamp.slice(a, b));
  const p = { year: n(0, 4), month: n(4, 6), day: n(6, 8), hour: n(8, 10), minute: n(10, 12), second: n(12, 14) };
  const daysInMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
  if (p.year < 1970 || p.month < 1 || p.month > 12 || p.day < 1 || p.day > daysInMonth || p.hour > 23 || p.minute > 59 || p.second > 59) return null;
  return p;
}

function stampOf(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  const two = (v: number): string => String(v).padStart(2, '0');
  return `${String(p.year).padStart(4, '0')}${two(p.month)}${two(p.day)}${two(p.hour)}${two(p.minute)}${two(p.second)}`;
}

function refuse(code: 'STW_ERR_PUSH_MALFORMED' | 'STW_ERR_PUSH_SCHEMA', message: string): ParseResult {
  return { ok: false, code, message };
}

function schemaProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'not a live-sum.json answer';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(answer)';
  return `not a live-sum.json answer: ${path}: ${issue.message}`;
}

function parseLiveSum(req: PushRequest, ctx: ParseContext<AxisSettings>): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(req.body.toString('utf8'));
  } catch {
    return refuse('STW_ERR_PUSH_MALFORMED', 'the answer is not JSON');
  }
  const checked = liveSumSchema.safeParse(json);
  if (!checked.success) return refuse('STW_ERR_PUSH_SCHEMA', schemaProblem(checked.error));
  const answer: LiveSum = checked.data;
  const wall = wallParts(answer.timestamp);
  if (!wall) return refuse('STW_ERR_PUSH_SCHEMA', `not a live-sum.json answer: timestamp "${answer.timestamp}" is not a date and time`);
  const serial = answer.serial.toUpperCase();
  const at = instantOfLocal(wall, ctx.settings.timeZone);
  const ts = isoSeconds(at);
  const base: Omit<AdapterMessage, 'body'> = {
    ids: { axis: serial },
    at: ts,
    dedupeKey: `${serial}:${answer.timestamp}`,
    describe: { serial, ...(answer.name !== undefined ? { name: answer.name } : {}) },
  };

  const prev = ctx.state[sampleKey(serial)] as Sample | undefined;
  if (prev !== undefined && prev.timestamp === answer.timestamp) {
    // The same answer again (polled faster than the counter's clock moves): the same message,
    // which the core drops by its dedupeKey.
    return { ok: true, messages: [prev.message] };
  }

  let message: AdapterMessage;
  if (prev === undefined) {
    message = { ...base, body: { kind: 'events', events: [{ type: 'heartbeat', ts }] } };
  } else {
    // The counter counts from its midnight: a new day, or a total that went down (midnight
    // reset, reboot, a reset from its page), means the totals now are all since the reset.
    const reset = answer.timestamp.slice(0, 8) !== prev.timestamp.slice(0, 8) || answer.in < prev.in || answer.out < prev.out;
    const count: CountEvent = {
      type: 'count',
      in: reset ? answer.in : answer.in - prev.in,
      out: reset ? answer.out : answer.out - prev.out,
      // Seconds since the previous answer, at least one (a clock set back gives no negative period).
      period: Math.max(1, Math.round((at - prev.at) / 1000)),
      ts,
    };
    message = { ...base, body: { kind: 'events', events: [count] } };
  }
  const sample: Sample = { in: answer.in, out: answer.out, at, timestamp: answer.timestamp, message };
  ctx.state[sampleKey(serial)] = sample;
  return { ok: true, messages: [message] };
}

/**
 * The live-sum.json a counter would answer after the message: its counts added to the running
 * totals this context keeps (from zero at the first message and at each new local day).
 */
function renderLiveSum(message: AdapterMessage, ctx: ParseContext<AxisSettings>): PushRequest {
  const serial = message.ids.axis?.toUpperCase();
  if (serial === undefined || !/^[0-9A-F]{12}$/.test(serial)) throw new Error('axis: render needs ids.axis, a 12-hex-digit serial');
  const events: readonly DeviceEvent[] = message.body.kind === 'events' ? message.body.events : [];
  const atIso = message.at ?? events.find((e) => e.ts !== undefined)?.ts;
  const at = atIso !== undefined && Number.isFinite(Date.parse(atIso)) ? Date.parse(atIso) : ctx.now;
  const timestamp = stampOf(at, ctx.settings.timeZone);
  const day = timestamp.slice(0, 8);
  const prev = ctx.state[renderedKey(serial)] as Rendered | undefined;
  const totals: Rendered = prev !== undefined && prev.day === day ? { ...prev } : { in: 0, out: 0, day };
  for (const e of events) {
    if (e.type !== 'count') continue;
    totals.in += e.in;
    totals.out += e.out;
  }
  ctx.state[renderedKey(serial)] = totals;
  const name = message.describe?.['name'] ?? 'StoreTwin simulated counter';
  // Laid out like the counter's own answer (one field per line).
  const body = `{\n"serial": ${JSON.stringify(serial)},\n"name": ${JSON.stringify(name)},\n"timestamp": "${timestamp}",\n"in": ${totals.in},\n"out": ${totals.out}\n}\n`;
  return { method: 'POST', body: Buffer.from(body, 'utf8'), contentType: 'application/json', query: {} };
}

// ---- the connector ------------------------------------------------------------------------------

class PollFailure extends Error {}

/** The body, or a PollFailure when it is larger than a live-sum.json answer can be. */
async function readCapped(res: Response): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_ANSWER_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new PollFailure(`the answer is ${declared} bytes, more than a live-sum.json answer (${MAX_ANSWER_BYTES} at most)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new PollFailure(`the answer is more than ${MAX_ANSWER_BYTES} bytes, not a live-sum.json answer`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

function describeFetchError(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  if (err instanceof PollFailure) return err.message;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return `cannot reach the counter (${cause.code})`;
  if (cause && typeof cause.message === 'string') return `cannot reach the counter (${cause.message})`;
  return `cannot reach the counter (${err instanceof Error ? err.message : String(err)})`;
}

function connectCounter(ctx: ConnectorContext<AxisSettings>): Connector {
  const { settings } = ctx;
  const where = (() => {
    const u = new URL(settings.url);
    return `${u.origin}${u.pathname}`;
  })();
  const session = new AuthSession(settings.username !== undefined ? { username: settings.username, password: settings.password ?? '' } : undefined);
  const intervalMs = settings.intervalS * 1000;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let inflight: AbortController | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let serial: string | undefined;
  let reportedOffline = false;

  const deliver = async (messages: AdapterMessage[]): Promise<void> => {
    try {
      await ctx.deliver(messages);
    } catch (err) {
      // Storing is the core's business; a failure there is not the counter's.
      ctx.logger.warn({ err }, 'axis: delivering counts failed');
    }
  };

  const fail = async (problem: string): Promise<void> => {
    failures += 1;
    // The core logs and counts each refusal.
    ctx.refuse('STW_ERR_UPSTREAM_FAILED', `Axis counter ${where}: ${problem}`);
    if (failures >= OFFLINE_AFTER_FAILURES && serial !== undefined && !reportedOffline) {
      reportedOffline = true;
      await deliver([{ ids: { axis: serial }, body: { kind: 'status', online: false }, at: isoSeconds(ctx.now()) }]);
    }
  };

  /** One poll: fetch, parse, deliver. Never throws; failures are refused with a code. */
  const poll = async (): Promise<void> => {
    const controller = new AbortController();
    inflight = controller;
    let timedOut = false;
    const timeout = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, settings.timeoutMs);
    let body: Buffer;
    let contentType: string;
    try {
      const res = await authFetch(session, settings.url, { signal: controller.signal, headers: { accept: 'application/json' } });
      if (res.status === 401) {
        await res.arrayBuffer().catch(() => undefined);
        throw new PollFailure(session.hasCredentials ? 'the counter refused the username and password (401 after digest authentication)' : 'the counter asks for a login (401): set username and password');
      }
      if (!res.ok) {
        await res.arrayBuffer().catch(() => undefined);
        throw new PollFailure(`the counter answered HTTP ${res.status}`);
      }
      contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      body = await readCapped(res);
    } catch (err) {
      if (stopped) return;
      await fail(describeFetchError(err, settings.timeoutMs, timedOut));
      return;
    } finally {
      clearTimeout(timeout);
      inflight = undefined;
    }
    if (stopped) return;
    // Through the core's parse: the baselines live in the integration's state, kept by the core.
    let parsed: ParseResult;
    try {
      parsed = await ctx.parse({ method: 'POST', body, contentType, query: {} });
    } catch (err) {
      parsed = { ok: false, code: 'STW_ERR_PUSH_MALFORMED', message: err instanceof Error ? err.message : String(err) };
    }
    if (stopped) return;
    if (!parsed.ok) {
      await fail(`the answer is unusable: ${parsed.message}`);
      return;
    }
    if (failures > 0) ctx.logger.info({ url: where, failures }, 'axis: the counter answers again');
    failures = 0;
    const heard = parsed.messages[0]?.ids.axis;
    const messages: AdapterMessage[] = [];
    if (reportedOffline && heard !== undefined) messages.push({ ids: { axis: heard }, body: { kind: 'status', online: true }, at: parsed.messages[0]?.at });
    reportedOffline = false;
    serial = heard ?? serial;
    messages.push(...parsed.messages);
    await deliver(messages);
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = poll()
        .catch((err: unknown) => ctx.logger.warn({ err }, 'axis: poll threw'))
        .finally(() => {
          running = undefined;
          // Backoff: the interval after a success, doubling per failure up to the cap.
          const backoff = failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** Math.min(failures - 1, 10), Math.max(intervalMs, MAX_BACKOFF_MS));
          schedule(backoff);
        });
    }, delayMs);
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      inflight?.abort();
      await running;
    },
  };
}

const FIXTURE_LIVE_SUM = '{\n"serial": "00408CAC512B",\n"name": "Exit south",\n"timestamp": "20170503112756",\n"in": 12,\n"out": 318\n}\n';

export const axis = defineAdapter<AxisSettings>({
  id: 'axis',
  label: { en: 'Axis People Counter', 'zh-CN': 'Axis 客流计数' },
  externalIdKeys: ['axis'],
  settingsSchema,
  secretSettings: ['password'],
  delivery: 'connector',
  parse: parseLiveSum,
  render: renderLiveSum,
  connect: connectCounter,
  examples: [
    {
      // VAPIX People counter API's published live-sum.json answer (tests/fixtures/platforms).
      name: 'live-sum.json, first answer heard (the baseline: a heartbeat)',
      request: { method: 'POST', body: Buffer.from(FIXTURE_LIVE_SUM, 'utf8'), contentType: 'application/json', query: {} },
      settings: { url: 'http://192.0.2.10/local/tvpc/.api?live-sum.json' },
      expect: [
        {
          ids: { axis: '00408CAC512B' },
          at: '2017-05-03T11:27:56Z',
          dedupeKey: '00408CAC512B:20170503112756',
          describe: { serial: '00408CAC512B', name: 'Exit south' },
          body: { kind: 'events', events: [{ type: 'heartbeat', ts: '2017-05-03T11:27:56Z' }] },
        },
      ],
    },
  ],
});
