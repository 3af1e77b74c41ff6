/**
 * The Axis People Counter adapter: live-sum.json answers → counts (baseline, deltas, midnight
 * resets and reboots, retransmissions), render for simulators, the digest client against the
 * RFC's own examples, and the polling connector against a stand-in counter speaking VAPIX over
 * real HTTP with real digest challenges.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axis, type AxisSettings } from '../../server/integrations/adapters/axis.ts';
import { basicAuthorization, canAnswer, digestAuthorization, parseChallenges, pickChallenge } from '../../server/integrations/adapters/digest-auth.ts';
import type { AdapterMessage, AdapterState, ConnectorContext, ParseResult, PushRequest } from '../../server/integrations/adapters/types.ts';
import type { ErrorCode } from '../../server/errors.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { startAxisCounter, type AxisCounter } from '../helpers/axis-counter.ts';

const FIXTURE = readFileSync(new URL('../fixtures/platforms/axis-people-counter-live-sum.json', import.meta.url));
const URL_OF_COUNTER = 'http://192.0.2.10/local/tvpc/.api?live-sum.json';

function settings(extra: Record<string, unknown> = {}): AxisSettings {
  return axis.settingsSchema.parse({ url: URL_OF_COUNTER, ...extra }) as AxisSettings;
}

function push(body: string | Buffer): PushRequest {
  return { method: 'POST', body: typeof body === 'string' ? Buffer.from(body) : body, contentType: 'application/json', query: {} };
}

function answer(v: { serial?: string; name?: string; timestamp: string; in: number; out: number }): PushRequest {
  return push(JSON.stringify({ serial: v.serial ?? '00408CAC512B', name: v.name ?? 'Exit south', timestamp: v.timestamp, in: v.in, out: v.out }));
}

/** parse is synchronous for Axis; the contract allows a promise, so the tests say which. */
function parse(req: PushRequest, state: AdapterState, s: AxisSettings = settings()): ParseResult {
  const result = axis.parse(req, { settings: s, state, now: Date.UTC(2026, 10, 30, 9) });
  if (result instanceof Promise) throw new Error('axis parse is synchronous');
  return result;
}

function ok(result: ParseResult): AdapterMessage[] {
  if (!result.ok) throw new Error(`refused: ${result.code} ${result.message}`);
  return result.messages;
}

function onlyCount(result: ParseResult): { in: number; out: number; period: number } {
  const [m] = ok(result);
  if (!m || m.body.kind !== 'events' || m.body.events[0]?.type !== 'count') throw new Error(`not a count: ${JSON.stringify(m)}`);
  const e = m.body.events[0];
  return { in: e.in, out: e.out, period: e.period };
}

describe('axis: parse', () => {
  it("takes the fixture as the first answer: a baseline heartbeat naming the counter by serial, stamped in the counter's zone", () => {
    const state: AdapterState = {};
    expect(ok(parse(push(FIXTURE), state))).toEqual([
      {
        ids: { axis: '00408CAC512B' },
        at: '2017-05-03T11:27:56Z',
        dedupeKey: '00408CAC512B:20170503112756',
        describe: { serial: '00408CAC512B', name: 'Exit south' },
        body: { kind: 'events', events: [{ type: 'heartbeat', ts: '2017-05-03T11:27:56Z' }] },
      },
    ]);
    // The catalogue's example is the fixture byte for byte.
    expect(axis.examples[0]?.request.body.equals(FIXTURE)).toBe(true);
    // The timestamp has no zone: it is read in the configured one (May in Stockholm is UTC+2, in Shanghai UTC+8).
    expect(ok(parse(push(FIXTURE), {}, settings({ timeZone: 'Europe/Stockholm' })))[0]?.at).toBe('2017-05-03T09:27:56Z');
    expect(ok(parse(push(FIXTURE), {}, settings({ timeZone: 'Asia/Shanghai' })))[0]?.at).toBe('2017-05-03T03:27:56Z');
    // 03:00 on the night clocks sprang forward in Stockholm is already summer time (UTC+2).
    expect(ok(parse(answer({ timestamp: '20260329030000', in: 0, out: 0 }), {}, settings({ timeZone: 'Europe/Stockholm' })))[0]?.at).toBe('2026-03-29T01:00:00Z');
  });

  it('turns running totals into counts since the previous answer, with the seconds between them', () => {
    const state: AdapterState = {};
    parse(push(FIXTURE), state);
    expect(onlyCount(parse(answer({ timestamp: '20170503112856', in: 15, out: 319 }), state))).toEqual({ in: 3, out: 1, period: 60 });
    expect(onlyCount(parse(answer({ timestamp: '20170503113126', in: 15, out: 325 }), state))).toEqual({ in: 0, out: 6, period: 150 });
    const [m] = ok(parse(answer({ timestamp: '20170503113226', in: 16, out: 325 }), state));
    expect(m).toMatchObject({ ids: { axis: '00408CAC512B' }, at: '2017-05-03T11:32:26Z', dedupeKey: '00408CAC512B:20170503113226' });
    expect(m?.body).toEqual({ kind: 'events', events: [{ type: 'count', in: 1, out: 0, period: 60, ts: '2017-05-03T11:32:26Z' }] });
  });

  it('parses the same answer polled twice to the same message and key, so it is stored once', () => {
    const state: AdapterState = {};
    parse(push(FIXTURE), state);
    const first = ok(parse(answer({ timestamp: '20170503112856', in: 15, out: 319 }), state));
    const again = ok(parse(answer({ timestamp: '20170503112856', in: 15, out: 319 }), state));
    expect(again).toEqual(first);
    // And the next answer still counts from the one before, not twice.
    expect(onlyCount(parse(answer({ timestamp: '20170503112956', in: 17, out: 319 }), state))).toEqual({ in: 2, out: 0, period: 60 });
  });

  it('counts from zero after the midnight reset, even when the new totals are already above the old', () => {
    const state: AdapterState = {};
    parse(answer({ timestamp: '20261130235800', in: 500, out: 480 }), state);
    expect(onlyCount(parse(answer({ timestamp: '20261130235900', in: 505, out: 485 }), state))).toEqual({ in: 5, out: 5, period: 60 });
    // Past midnight the counter starts again: 2 in since the reset, not 2 - 505.
    expect(onlyCount(parse(answer({ timestamp: '20261201000100', in: 2, out: 0 }), state))).toEqual({ in: 2, out: 0, period: 120 });
    // A quiet evening: 5/5 at 23:59, 6/6 at 00:01 are six people since midnight, not one.
    const quiet: AdapterState = {};
    parse(answer({ timestamp: '20261130235900', in: 5, out: 5 }), quiet);
    expect(onlyCount(parse(answer({ timestamp: '20261201000100', in: 6, out: 6 }), quiet))).toEqual({ in: 6, out: 6, period: 120 });
  });

  it('counts from zero after a reboot or reset mid-day (either total went down), never negative', () => {
    const state: AdapterState = {};
    parse(answer({ timestamp: '20261130140000', in: 120, out: 100 }), state);
    expect(onlyCount(parse(answer({ timestamp: '20261130140100', in: 3, out: 1 }), state))).toEqual({ in: 3, out: 1, period: 60 });
    // Only `out` went down: still a reset, both totals are since it.
    expect(onlyCount(parse(answer({ timestamp: '20261130140200', in: 9, out: 0 }), state))).toEqual({ in: 9, out: 0, period: 60 });

    // Any sequence of totals and clocks: counts are non-negative integers, periods at least a second.
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const walk: AdapterState = {};
    let t = Date.UTC(2026, 10, 29, 22);
    let totals = { in: 0, out: 0 };
    for (let i = 0; i < 500; i++) {
      t += (rnd(240) - 30) * 1000; // now and then the clock steps back
      totals = rnd(20) === 0 ? { in: rnd(5), out: rnd(5) } : { in: totals.in + rnd(4), out: totals.out + rnd(4) };
      const stamp = new Date(t).toISOString().replace(/[-:T]/g, '').slice(0, 14);
      for (const m of ok(parse(answer({ timestamp: stamp, ...totals }), walk))) {
        if (m.body.kind !== 'events') continue;
        for (const e of m.body.events) {
          if (e.type !== 'count') continue;
          expect(Number.isInteger(e.in) && e.in >= 0 && Number.isInteger(e.out) && e.out >= 0).toBe(true);
          expect(Number.isInteger(e.period) && e.period >= 1).toBe(true);
        }
      }
    }
  });

  it('keeps one baseline per serial: two counters on one integration do not mix', () => {
    const state: AdapterState = {};
    parse(answer({ serial: '00408CAC512B', timestamp: '20261130100000', in: 10, out: 10 }), state);
    parse(answer({ serial: 'accc8e0f1a2b', timestamp: '20261130100000', in: 200, out: 150 }), state);
    expect(onlyCount(parse(answer({ serial: '00408CAC512B', timestamp: '20261130100100', in: 11, out: 10 }), state))).toEqual({ in: 1, out: 0, period: 60 });
    const [m] = ok(parse(answer({ serial: 'accc8e0f1a2b', timestamp: '20261130100100', in: 204, out: 150 }), state));
    // The serial is upper-cased, as externalIds keep it.
    expect(m?.ids).toEqual({ axis: 'ACCC8E0F1A2B' });
    expect(onlyCount({ ok: true, messages: [m as AdapterMessage] })).toEqual({ in: 4, out: 0, period: 60 });
  });

  it('refuses what is not a live-sum.json answer with a code and a readable reason', () => {
    const refusal = (req: PushRequest): { code: ErrorCode; message: string } => {
      const r = parse(req, {});
      if (r.ok) throw new Error('accepted');
      return { code: r.code, message: r.message };
    };
    const text = FIXTURE.toString('utf8');
    expect(refusal(push(text.slice(0, 40))).code).toBe('STW_ERR_PUSH_MALFORMED');
    expect(refusal(push('')).code).toBe('STW_ERR_PUSH_MALFORMED');
    expect(refusal(push('<html>login</html>')).code).toBe('STW_ERR_PUSH_MALFORMED');
    expect(refusal(push(text.replace('"in": 12', '"in": "12"')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('in') });
    expect(refusal(push(text.replace('"out": 318', '"out": -1')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('out') });
    expect(refusal(push(text.replace('"out": 318', '"out": 1e308')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA' });
    expect(refusal(push(text.replace('"in": 12', '"in": 1.5')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA' });
    expect(refusal(push(text.replace('20170503112756', '20171303112756')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('timestamp') });
    expect(refusal(push(text.replace('20170503112756', '20170230112756')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA' });
    expect(refusal(push(text.replace('20170503112756', '2017-05-03T11:27')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA' });
    expect(refusal(push(text.replace('00408CAC512B', 'not-a-serial')))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('serial') });
    expect(refusal(push('[1,2,3]')).code).toBe('STW_ERR_PUSH_SCHEMA');
    expect(refusal(push('null')).code).toBe('STW_ERR_PUSH_SCHEMA');
  });

  it('never throws, whatever the bytes', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const bodies: Buffer[] = [];
    for (let i = 0; i <= FIXTURE.length; i++) bodies.push(FIXTURE.subarray(0, i));
    for (let i = 0; i < 500; i++) bodies.push(Buffer.from(Array.from({ length: rnd(200) }, () => rnd(256))));
    const values: unknown[] = [null, true, -1, 1e308, -0, '', 'x'.repeat(10_000), [], {}, { a: 1 }, '99999999999999', '00000000000000'];
    for (const key of ['serial', 'name', 'timestamp', 'in', 'out']) {
      for (const v of values) bodies.push(Buffer.from(JSON.stringify({ ...JSON.parse(FIXTURE.toString()), [key]: v })));
    }
    const state: AdapterState = {};
    for (const body of bodies) {
      const r = parse(push(body), state);
      if (!r.ok) expect(['STW_ERR_PUSH_MALFORMED', 'STW_ERR_PUSH_SCHEMA']).toContain(r.code);
    }
  });

  it('validates its settings: defaults, a floor on the interval, a real zone, no credentials in the URL', () => {
    expect(settings()).toEqual({ url: URL_OF_COUNTER, intervalS: 60, timeoutMs: 10_000, timeZone: 'UTC' });
    expect(axis.secretSettings).toEqual(['password']);
    const refused = (extra: Record<string, unknown>): boolean => !axis.settingsSchema.safeParse({ url: URL_OF_COUNTER, ...extra }).success;
    expect(refused({ intervalS: 1 })).toBe(true);
    expect(refused({ timeZone: 'Mars/Olympus' })).toBe(true);
    expect(refused({ url: 'http://root:pass@10.0.0.5/local/tvpc/.api?live-sum.json' })).toBe(true);
    expect(refused({ url: 'ftp://10.0.0.5/live-sum.json' })).toBe(true);
    // Refused, not thrown, however broken the URL or any other value.
    for (const url of ['not a url', '', 'http://', 'http://[::1']) expect(refused({ url })).toBe(true);
    for (const key of ['url', 'username', 'password', 'intervalS', 'timeoutMs', 'timeZone']) {
      for (const v of [null, '', 'x', -1, 1e308, [], {}, true]) expect(() => axis.settingsSchema.safeParse({ url: URL_OF_COUNTER, [key]: v })).not.toThrow();
    }
    expect(refused({ colour: 'blue' })).toBe(true);
    expect(refused({ username: 'root', password: 'pass', timeZone: 'Asia/Shanghai', intervalS: 30 })).toBe(false);
  });
});

describe('axis: render', () => {
  it('renders what a counter would answer: running totals in its layout, reset at local midnight', () => {
    const sim: AdapterState = {};
    const s = settings({ timeZone: 'Asia/Shanghai' });
    const count = (at: string, inn: number, out: number): AdapterMessage => ({
      ids: { axis: '00408CAC512B' },
      at,
      describe: { name: 'Exit south' },
      body: { kind: 'events', events: [{ type: 'count', in: inn, out, period: 60, ts: at }] },
    });
    const bodies = [
      count('2026-11-30T15:58:00Z', 4, 1), // 23:58 in Shanghai
      count('2026-11-30T15:59:00Z', 2, 3),
      count('2026-11-30T16:00:00Z', 1, 0), // 00:00 the next day: the totals start again
    ].map((m) => JSON.parse(axis.render(m, { settings: s, state: sim, now: 0 }).body.toString()));
    expect(bodies).toEqual([
      { serial: '00408CAC512B', name: 'Exit south', timestamp: '20261130235800', in: 4, out: 1 },
      { serial: '00408CAC512B', name: 'Exit south', timestamp: '20261130235900', in: 6, out: 4 },
      { serial: '00408CAC512B', name: 'Exit south', timestamp: '20261201000000', in: 1, out: 0 },
    ]);
    // Same layout as the device's (one field per line), so the same parser reads both.
    const rendered = axis.render(count('2026-11-30T16:01:00Z', 0, 0), { settings: s, state: sim, now: 0 }).body.toString();
    expect(rendered.split('\n').map((l) => l.replace(/: .*/, ''))).toEqual(FIXTURE.toString().split('\n').map((l) => l.replace(/: .*/, '')));
  });

  it('round-trips: what a simulated counter serves, the server parses back to the same counts', () => {
    const sim: AdapterState = {};
    const server: AdapterState = {};
    const s = settings({ timeZone: 'Europe/Stockholm' });
    let at = Date.UTC(2026, 10, 30, 21, 55);
    const sent: { in: number; out: number }[] = [];
    const heard: { in: number; out: number; period: number }[] = [];
    for (let i = 0; i < 12; i++) {
      at += 60_000;
      const c = { in: (i * 7) % 5, out: (i * 3) % 4 };
      sent.push(c);
      const ts = new Date(at).toISOString().replace('.000Z', 'Z');
      const req = axis.render({ ids: { axis: '00408CAC512B' }, at: ts, body: { kind: 'events', events: [{ type: 'count', ...c, period: 60, ts }] } }, { settings: s, state: sim, now: at });
      const r = parse(req, server, s);
      for (const m of ok(r)) if (m.body.kind === 'events' && m.body.events[0]?.type === 'count') heard.push(onlyCount(r));
    }
    // The first answer is the baseline; every later minute comes back as sent, across local midnight (23:00 UTC).
    expect(heard).toEqual(sent.slice(1).map((c) => ({ ...c, period: 60 })));
    // And the catalogue's example round-trips on its own.
    const example = axis.examples[0];
    if (!example) throw new Error('no example');
    const state: AdapterState = {};
    const exSettings = axis.settingsSchema.parse(example.settings) as AxisSettings;
    expect(ok(parse(axis.render(example.expect[0] as AdapterMessage, { settings: exSettings, state, now: 0 }), {}, exSettings))).toEqual(example.expect);
  });
});

describe('digest-auth', () => {
  // RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
  const rfc = {
    credentials: { username: 'Mufasa', password: 'Circle of Life' },
    method: 'GET',
    uri: '/dir/index.html',
    nc: 1,
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };
  const header = (algorithm: string): string =>
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;

  it("answers RFC 7616's own examples (MD5 and SHA-256) with the RFC's responses", () => {
    const md5 = digestAuthorization({ ...rfc, challenge: parseChallenges(header('MD5'))[0] as never });
    expect(md5).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(md5).toContain('nc=00000001');
    expect(md5).toContain('qop=auth,');
    expect(md5).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    const sha = digestAuthorization({ ...rfc, challenge: parseChallenges(header('SHA-256'))[0] as never });
    expect(sha).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(sha).toContain('algorithm=SHA-256');
  });

  it('answers the RFC 2069 form (no qop) and -sess algorithms', () => {
    // RFC 2069 §2.4's example inputs; the response computed independently (Python's hashlib).
    const old = parseChallenges('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')[0];
    const auth = digestAuthorization({ challenge: old as never, credentials: { username: 'Mufasa', password: 'CircleOfLife' }, method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: 'x' });
    expect(auth).toContain('response="1949323746fe6a43ef61f9606e7febea"');
    expect(auth).not.toContain('qop=');
    const sess = parseChallenges('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"')[0];
    expect(digestAuthorization({ challenge: sess as never, credentials: { username: 'u', password: 'p' }, method: 'GET', uri: '/', nc: 2, cnonce: 'c' })).toMatch(/algorithm=MD5-sess, response="[0-9a-f]{32}", qop=auth, nc=00000002/);
  });

  it('reads several challenges from one header, quoted commas and escapes included, and picks one it can answer', () => {
    const joined = parseChallenges('Digest realm="AXIS, \\"cam\\"", nonce="a,b", algorithm=SHA-512-256, qop="auth", Digest realm="AXIS", nonce="n2", algorithm=MD5, qop="auth", Basic realm="AXIS"');
    expect(joined.map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'Basic']);
    expect(joined[0]?.params).toMatchObject({ realm: 'AXIS, "cam"', nonce: 'a,b', algorithm: 'SHA-512-256' });
    expect(canAnswer(joined[0] as never)).toBe(false);
    expect(pickChallenge(joined)?.params['nonce']).toBe('n2');
    expect(pickChallenge(parseChallenges('Digest realm="x", nonce="y", qop="auth-int", Basic realm="x"'))?.scheme).toBe('Basic');
    expect(pickChallenge(parseChallenges('Bearer realm="x", error="invalid_token"'))).toBeUndefined();
    expect(basicAuthorization({ username: 'Aladdin', password: 'open sesame' })).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    // Junk never throws.
    for (const junk of ['', ',,,', '"', 'Digest realm="unterminated', '=', 'Digest ===', '\u0000\u00ff', 'a=b, c']) expect(() => parseChallenges(junk)).not.toThrow();
  });
});

// ---- the connector against a stand-in counter ----------------------------------------------

interface Harness {
  ctx: ConnectorContext<AxisSettings>;
  delivered: AdapterMessage[][];
  refused: { code: ErrorCode; message: string }[];
  /** Resolves once `pred` holds (checked after each delivery or refusal); rejects after a generous bound. */
  until(pred: () => boolean, what: string): Promise<void>;
}

function harness(s: AxisSettings): Harness {
  const delivered: AdapterMessage[][] = [];
  const refused: { code: ErrorCode; message: string }[] = [];
  const checks = new Set<() => void>();
  const poke = (): void => checks.forEach((c) => c());
  // The core keeps one state per integration and parses with it; so does this harness.
  const state: AdapterState = {};
  const ctx: ConnectorContext<AxisSettings> = {
    integrationId: 'int-axis',
    site: 'shop',
    settings: s,
    parse: async (req) => axis.parse(req, { settings: s, state, now: Date.now() }),
    deliver: async (messages) => {
      delivered.push(messages);
      poke();
    },
    refuse: (code, message) => {
      refused.push({ code, message });
      poke();
    },
    now: () => Date.now(),
    logger: { warn: () => undefined, info: () => undefined, debug: () => undefined },
  };
  const until = (pred: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (pred()) return resolve();
      const timer = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, 10_000);
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        checks.delete(check);
        resolve();
      };
      checks.add(check);
    });
  return { ctx, delivered, refused, until };
}

/**
 * Connector settings for tests: validated by the schema like production, then the interval
 * shortened below its 5 s floor so a test sees several polls in well under a second.
 */
function connectorSettings(counter: AxisCounter, extra: Record<string, unknown> = {}, intervalS = 0.05): AxisSettings {
  return { ...(axis.settingsSchema.parse({ url: counter.liveSumUrl, username: 'root', password: 'pass', ...extra }) as AxisSettings), intervalS };
}

const events = (batch: AdapterMessage[]): string[] => batch.map((m) => (m.body.kind === 'events' ? m.body.events.map((e) => e.type).join('+') : m.body.kind === 'status' ? (m.body.online ? 'online' : 'offline') : 'frame'));

describe('axis: connector', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  const counters: AxisCounter[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const c of counters.splice(0)) await c.close();
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    // Timeouts, refusals, aborted requests: none may surface as an unhandled rejection.
    expect(unhandled).toEqual([]);
  });

  async function counter(opts: Parameters<typeof startAxisCounter>[0] = {}): Promise<AxisCounter> {
    const c = await startAxisCounter(opts);
    counters.push(c);
    return c;
  }

  function run(s: AxisSettings): Harness {
    const h = harness(s);
    const connector = axis.connect?.(h.ctx);
    if (!connector) throw new Error('axis has no connector');
    connector.start();
    stops.push(() => connector.stop());
    return h;
  }

  it('answers the digest challenge, keeps the nonce for later polls, and delivers the baseline then counts', async () => {
    const c = await counter();
    c.set({ timestamp: '20261130090000', in: 40, out: 31 });
    const h = run(connectorSettings(c));
    await h.until(() => h.delivered.length >= 1, 'the baseline');
    expect(h.delivered[0]).toMatchObject([{ ids: { axis: '00408CAC512B' }, body: { kind: 'events', events: [{ type: 'heartbeat' }] } }]);
    c.set({ timestamp: '20261130090100', in: 43, out: 32 });
    await h.until(() => h.delivered.some((b) => events(b).includes('count')), 'a count');
    const count = h.delivered.flat().find((m) => m.body.kind === 'events' && m.body.events[0]?.type === 'count');
    expect(count?.body).toEqual({ kind: 'events', events: [{ type: 'count', in: 3, out: 1, period: 60, ts: '2026-11-30T09:01:00Z' }] });
    // One 401 to learn the challenge, then every poll answered at once with the kept nonce.
    expect(c.requests[0]).toMatchObject({ status: 401, authorization: undefined });
    expect(c.requests.slice(1).every((r) => r.status === 200 && r.authorization?.startsWith('Digest username="root"'))).toBe(true);
    expect(h.refused).toEqual([]);
    // Polls between the two answers repeat the same sample: the same message, whose key the core drops.
    const keys = h.delivered.flat().map((m) => m.dedupeKey);
    expect(new Set(keys)).toEqual(new Set(['00408CAC512B:20261130090000', '00408CAC512B:20261130090100']));
  });

  it('takes a new challenge when the nonce goes stale, with no refusal', async () => {
    const c = await counter({ algorithm: 'SHA-256' });
    const h = run(connectorSettings(c));
    await h.until(() => h.delivered.length >= 2, 'two polls');
    c.expireNonces();
    const before = c.requests.length;
    // The kept nonce is refused (401, stale), the new challenge answered, and polling goes on.
    const recovered = (): boolean => {
      const after = c.requests.slice(before).map((r) => r.status);
      const stale = after.indexOf(401);
      return stale >= 0 && after.slice(stale + 1).filter((st) => st === 200).length >= 2;
    };
    await h.until(recovered, 'polls after the stale nonce');
    expect(c.requests.slice(before).filter((r) => r.status === 401)).toHaveLength(1);
    expect(h.refused).toEqual([]);
  });

  it('speaks Basic to a counter set to Basic authentication', async () => {
    const c = await counter({ auth: 'basic' });
    const h = run(connectorSettings(c));
    await h.until(() => h.delivered.length >= 1, 'a delivery');
    expect(c.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from('root:pass').toString('base64')}`);
    expect(h.refused).toEqual([]);
  });

  it('refuses with a code when the counter refuses the credentials, or asks for some that are not set', async () => {
    const c = await counter();
    const wrong = run(connectorSettings(c, { password: 'wrong' }));
    await wrong.until(() => wrong.refused.length >= 2, 'two refusals');
    expect(wrong.refused[0]).toEqual({ code: 'STW_ERR_UPSTREAM_FAILED', message: expect.stringContaining('401 after digest authentication') });
    expect(wrong.refused[0]?.message).not.toContain('wrong');
    expect(wrong.delivered).toEqual([]);
    const none = run({ ...connectorSettings(c), username: undefined, password: undefined });
    await none.until(() => none.refused.length >= 1, 'a refusal');
    expect(none.refused[0]?.message).toContain('set username and password');
  });

  it('refuses a timeout, an error page, a non-JSON answer and a dropped connection; reports the counter offline after two misses and online when it answers again', async () => {
    const c = await counter();
    const h = run(connectorSettings(c, { timeoutMs: 200 }));
    await h.until(() => h.delivered.length >= 1, 'the baseline');
    const refusedAfter = async (behaviour: AxisCounter['behaviour'], expected: string): Promise<void> => {
      const n = h.refused.length;
      c.behaviour = behaviour;
      await h.until(() => h.refused.length > n, `a refusal for ${behaviour}`);
      expect(h.refused[n]).toEqual({ code: 'STW_ERR_UPSTREAM_FAILED', message: expect.stringContaining(expected) });
    };
    await refusedAfter('hang', 'no answer within 200 ms');
    await refusedAfter('error', 'HTTP 500');
    await refusedAfter('html', 'not JSON');
    await refusedAfter('reset', 'cannot reach the counter');
    // Misses in a row: the counter is reported offline once, named by the serial it answered with.
    await h.until(() => h.delivered.some((b) => events(b).includes('offline')), 'offline');
    expect(h.delivered.flat().filter((m) => m.body.kind === 'status')).toEqual([{ ids: { axis: '00408CAC512B' }, body: { kind: 'status', online: false }, at: expect.any(String) }]);
    c.set({ timestamp: '20261130090500', in: 5, out: 2 });
    c.behaviour = 'ok';
    await h.until(() => h.delivered.some((b) => events(b).includes('online')), 'online again');
    const back = h.delivered.find((b) => events(b).includes('online'));
    // Online first, then the counts since the last answer heard.
    expect(events(back ?? [])).toEqual(['online', 'count']);
  });

  it('refuses a counter that cannot be reached, and retries', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const h = run({ ...(axis.settingsSchema.parse({ url: `http://127.0.0.1:${port}/local/tvpc/.api?live-sum.json` }) as AxisSettings), intervalS: 0.02 });
    await h.until(() => h.refused.length >= 2, 'two refusals');
    expect(h.refused[0]).toEqual({ code: 'STW_ERR_UPSTREAM_FAILED', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('stops cleanly: an in-flight request is aborted at once, and no poll follows', async () => {
    const c = await counter();
    c.behaviour = 'hang';
    const h = harness(connectorSettings(c, { timeoutMs: 60_000 }));
    const connector = axis.connect?.(h.ctx);
    if (!connector) throw new Error('no connector');
    connector.start();
    await c.waitForRequests(1); // the 401, then the authorized request that hangs
    await h.until(() => c.requests.length >= 2, 'the hanging request');
    const started = Date.now();
    await connector.stop();
    // Only the abort can end a request the counter never answers within the 60 s timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    const seen = c.requests.length;
    c.behaviour = 'ok';
    await new Promise((r) => setTimeout(r, 300)); // six intervals
    expect(c.requests.length).toBe(seen);
    expect(h.refused).toEqual([]);
    // start() after stop() polls again (an integration re-enabled).
    connector.start();
    await h.until(() => h.delivered.length >= 1, 'a delivery after restart');
    await connector.stop();
  });
});

// ---- through the real app ------------------------------------------------------------------------

describe('axis: through the real app', () => {
  const SHOP = 'demo-shop';
  let t: TestApp;
  let admin: string;
  let c: AxisCounter;

  const api = async (method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(`${t.httpUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const occupancy = async (zone: string): Promise<number> => ((await api('GET', `/api/sites/${SHOP}/state`)).body.zones[zone]?.occupancy as number | null) ?? 0;
  const stored = async (device: string): Promise<{ type: string; data: Record<string, unknown> }[]> => (await api('GET', `/api/events?device=${device}&limit=50`)).body.items;
  /** The counter's clock: UTC wall time, as the integration is set (timeZone UTC). */
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t.app);
    c = await startAxisCounter({ username: 'root', password: 'counter-secret-9' });
  });
  afterAll(async () => {
    await t?.stop();
    await c?.close();
  });

  it('polls a registered counter: its first answer a heartbeat, the next ones counts that move the hall occupancy; disabled, it stops', async () => {
    // The demo shop's south entrance counter (placed counting into the sales hall), registered as
    // the Axis counter with that serial, in another spelling: externalIds are normalised to upper-case hex.
    expect((await api('POST', '/api/devices', { id: 'shop-counter-south', site: SHOP, type: 'footfall-counter', zone: 'entrance-south', externalIds: { axis: '00:40:8c:ac:51:2b' } })).status).toBe(201);
    const before = await occupancy('sales-hall');
    c.set({ timestamp: stamp(Date.now() - 60_000), in: 40, out: 12 });
    const created = await api('POST', '/api/integrations', { adapter: 'axis', site: SHOP, settings: { url: c.liveSumUrl, username: 'root', password: 'counter-secret-9', intervalS: 5 } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.integration.id as string;

    await eventually(async () => (await stored('shop-counter-south')).some((e) => e.type === 'heartbeat'), 10_000);
    // The day's totals so far are the baseline, not a burst of 40 people.
    expect(await occupancy('sales-hall')).toBe(before);

    c.set({ timestamp: stamp(Date.now()), in: 47, out: 14 });
    // The next poll is the interval (5 s) later.
    await eventually(async () => (await occupancy('sales-hall')) === before + 5, 15_000, 200);
    const counts = (await stored('shop-counter-south')).filter((e) => e.type === 'count');
    expect(counts.map((e) => ({ in: e.data['in'], out: e.data['out'] }))).toEqual([{ in: 7, out: 2 }]);
    expect(JSON.stringify((await api('GET', `/api/integrations/${id}`)).body)).not.toContain('counter-secret-9');

    expect((await api('PATCH', `/api/integrations/${id}`, { enabled: false })).status).toBe(200);
    const polls = c.requests.length;
    await new Promise((r) => setTimeout(r, 6_000)); // more than one interval
    expect(c.requests.length).toBe(polls);
  }, 40_000);
});
