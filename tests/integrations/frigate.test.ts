/**
 * The Frigate adapter: frigate/events and frigate/reviews messages → camera motion (one per
 * appearance and zone entered, not one per frame), refusals, render for simulators; the connector
 * subscribed to a real Mosquitto broker with a password, pictures from a stand-in of Frigate's
 * HTTP API; snapshot() creating a manual event and fetching its picture.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../server/errors.ts';
import { frigate, type FrigateSettings } from '../../server/integrations/adapters/frigate.ts';
import type { AdapterMessage, ConnectorContext, ParseResult, PushRequest, SnapshotRequest } from '../../server/integrations/adapters/types.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { snapshotId } from '../../server/linkage/snapshot-store.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { startFrigateApi, type FrigateApi } from '../helpers/frigate.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const FIXTURE = readFileSync(new URL('../fixtures/platforms/frigate-event.json', import.meta.url));
const EVENT = JSON.parse(FIXTURE.toString('utf8')) as { type: string; before: Record<string, unknown>; after: Record<string, unknown> };

function settings(extra: Record<string, unknown> = {}): FrigateSettings {
  return frigate.settingsSchema.parse({ mqttUrl: 'mqtt://192.0.2.20:1883', ...extra }) as FrigateSettings;
}

const push = (body: string | Buffer | object): PushRequest => ({
  method: 'POST',
  body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  contentType: 'application/json',
  query: {},
});

function parse(body: string | Buffer | object, s: FrigateSettings = settings()): ParseResult {
  const r = frigate.parse(push(body), { settings: s, state: {}, now: 0 });
  if (r instanceof Promise) throw new Error('frigate parse is synchronous');
  return r;
}

function motions(r: ParseResult): AdapterMessage[] {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`);
  return r.messages;
}

function ignoredWhy(r: ParseResult): string {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.message}`);
  expect(r.messages).toEqual([]);
  return r.ignored ?? '';
}

/** A tracked object like the fixture's, with overrides. */
function tracked(over: Record<string, unknown>): Record<string, unknown> {
  return { ...EVENT.after, sub_label: null, ...over };
}

function eventMsg(type: string, before: Record<string, unknown> | null, after: Record<string, unknown>): object {
  return { type, before, after };
}

function review(over: { type?: string; before?: Record<string, unknown> | null; severity?: string; objects?: string[]; zones?: string[]; id?: string }): object {
  const item = (severity: string): Record<string, unknown> => ({
    id: over.id ?? '1732875601.517204-q8n2kd',
    camera: 'shop_back',
    start_time: 1732875601.517204,
    end_time: null,
    severity,
    thumb_path: '/media/frigate/clips/review/thumb.webp',
    data: { detections: ['1732875600.902113-7cx1pe'], objects: over.objects ?? ['person'], sub_labels: [], zones: over.zones ?? ['cash_desk'], audio: [] },
  });
  return { type: over.type ?? 'new', before: over.before === undefined ? item(over.severity ?? 'alert') : over.before, after: item(over.severity ?? 'alert') };
}

describe('frigate: parse', () => {
  it('takes the fixture (a person who entered the yard) to one motion in that zone, with label and score', async () => {
    expect(motions(parse(FIXTURE))).toEqual([
      {
        ids: { frigate: 'front_door' },
        at: '2020-12-04T23:19:22.083Z',
        dedupeKey: '1607123955.475377-mxklsc:yard',
        describe: { camera: 'front_door', label: 'person' },
        body: { kind: 'events', events: [{ type: 'motion', label: 'person', confidence: 0.958984375, zone: 'yard', ts: '2020-12-04T23:19:22.083Z' }] },
      },
    ]);
    // The catalogue's first example is the fixture byte for byte.
    expect(frigate.examples[0]?.request.body.equals(FIXTURE)).toBe(true);
  });

  it('makes one person walking through the view a few motions (appearing, each zone entered), not one per frame', async () => {
    const id = '1764466447.120931-w2k9xz';
    const frames: object[] = [];
    const at = (i: number, zones: string[]): Record<string, unknown> => tracked({ id, camera: 'shop_floor', frame_time: 1764466447.2 + i / 5, start_time: 1764466447.120931, score: 0.7 + (i % 3) / 10, top_score: 0.91, current_zones: zones, box: [i, i, i + 50, i + 120] });
    let prev = at(0, []);
    frames.push(eventMsg('new', prev, prev));
    const path = [...Array<string[]>(20).fill([]), ...Array<string[]>(30).fill(['aisle']), ...Array<string[]>(25).fill(['aisle', 'cash_desk']), ...Array<string[]>(10).fill(['cash_desk'])];
    path.forEach((zones, i) => {
      const next = at(i + 1, zones);
      frames.push(eventMsg('update', prev, next));
      prev = next;
    });
    frames.push(eventMsg('end', prev, { ...prev, end_time: 1764466470 }));
    const heard = frames.flatMap((f) => motions(parse(f)));
    expect(heard.map((m) => [m.dedupeKey, m.body.kind === 'events' ? (m.body.events[0] as { zone?: string }).zone : null])).toEqual([
      [`${id}:`, undefined],
      [`${id}:aisle`, 'aisle'],
      [`${id}:cash_desk`, 'cash_desk'],
    ]);
  });

  it('ignores, with a reason, what is not a new sighting: end, no new zone, other labels, false positives, low scores', async () => {
    const after = tracked({});
    expect(ignoredWhy(parse(eventMsg('end', after, { ...after, end_time: 1607123970 })))).toContain('ended');
    expect(ignoredWhy(parse(eventMsg('update', after, after)))).toContain('no new zone');
    expect(ignoredWhy(parse(eventMsg('new', null, tracked({ label: 'car' }))))).toContain('label "car"');
    expect(motions(parse(eventMsg('new', null, tracked({ label: 'car' })), settings({ labels: ['person', 'car'] })))).toHaveLength(1);
    expect(ignoredWhy(parse(eventMsg('new', null, tracked({ false_positive: true }))))).toContain('false positive');
    expect(ignoredWhy(parse(eventMsg('new', null, tracked({ top_score: 0.5, score: 0.5 }))))).toContain('under minScore');
    expect(ignoredWhy(parse(eventMsg('snapshot', null, tracked({}))))).toContain('not used');
    // Scored under minScore when new, over it later: one motion when it first qualifies, where it is then.
    const low = tracked({ top_score: 0.55, current_zones: ['aisle'] });
    const high = tracked({ top_score: 0.72, current_zones: ['aisle'] });
    expect(motions(parse(eventMsg('update', low, high)))[0]).toMatchObject({ dedupeKey: '1607123955.475377-mxklsc:aisle', body: { events: [{ zone: 'aisle', confidence: 0.72 }] } });
    // A new object, no zone yet: motion without a zone.
    const [m] = motions(parse(eventMsg('new', tracked({ current_zones: [] }), tracked({ current_zones: [] }))));
    expect(m?.body).toEqual({ kind: 'events', events: [{ type: 'motion', label: 'person', confidence: 0.958984375, ts: '2020-12-04T23:19:22.083Z' }] });
  });

  it('takes frigate/reviews: an alert when it starts or when a detection becomes one; not detections, repeats or ends', async () => {
    expect(motions(parse(review({})))).toEqual([
      {
        ids: { frigate: 'shop_back' },
        at: '2024-11-29T10:20:01.517Z',
        dedupeKey: 'review:1732875601.517204-q8n2kd',
        describe: { camera: 'shop_back', label: 'person' },
        body: { kind: 'events', events: [{ type: 'motion', label: 'person', zone: 'cash_desk', ts: '2024-11-29T10:20:01.517Z' }] },
      },
    ]);
    expect(motions(parse(frigate.examples[1]?.request.body as Buffer))).toEqual(frigate.examples[1]?.expect);
    expect(ignoredWhy(parse(review({ severity: 'detection' })))).toContain('not an alert');
    expect(ignoredWhy(parse(review({ type: 'update' })))).toContain('already an alert');
    expect(ignoredWhy(parse(review({ type: 'end' })))).toContain('ended');
    expect(ignoredWhy(parse(review({ objects: ['car', 'dog'] })))).toContain('none of labels');
    expect(ignoredWhy(parse(review({}), settings({ sources: ['events'] })))).toContain('not in sources');
    expect(ignoredWhy(parse(FIXTURE, settings({ sources: ['reviews'] })))).toContain('not in sources');
  });

  it('refuses what is not a Frigate message with a code and a readable reason, and never throws', async () => {
    const refusal = (body: string | Buffer | object): { code: ErrorCode; message: string } => {
      const r = parse(body);
      if (r.ok) throw new Error(`accepted ${JSON.stringify(body).slice(0, 80)}`);
      return { code: r.code, message: r.message };
    };
    expect(refusal(FIXTURE.subarray(0, 300)).code).toBe('STW_ERR_PUSH_MALFORMED');
    expect(refusal('').code).toBe('STW_ERR_PUSH_MALFORMED');
    expect(refusal({ type: 'new', after: tracked({ camera: 7 }) })).toEqual({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('after.camera') });
    expect(refusal({ type: 'new' }).code).toBe('STW_ERR_PUSH_SCHEMA');
    expect(refusal({ type: 'new', after: tracked({ frame_time: 1e20 }) }).code).toBe('STW_ERR_PUSH_SCHEMA');
    expect(refusal({ type: 'new', after: tracked({ top_score: 7 }) }).code).toBe('STW_ERR_PUSH_SCHEMA');
    expect(refusal({ type: 'new', after: { ...((review({}) as { after: object }).after), severity: 5 } })).toEqual({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('frigate/reviews') });
    expect(refusal('"update"').code).toBe('STW_ERR_PUSH_SCHEMA');

    let seed = 11;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const bodies: Buffer[] = [];
    for (let i = 0; i <= FIXTURE.length; i += 7) bodies.push(FIXTURE.subarray(0, i));
    for (let i = 0; i < 300; i++) bodies.push(Buffer.from(Array.from({ length: rnd(300) }, () => rnd(256))));
    const values: unknown[] = [null, true, -1, 1e308, Number.MAX_VALUE, '', 'x'.repeat(20_000), [], {}, [null], { a: 1 }];
    for (const key of ['id', 'camera', 'label', 'score', 'top_score', 'current_zones', 'frame_time', 'start_time', 'false_positive']) {
      for (const v of values) {
        bodies.push(Buffer.from(JSON.stringify(eventMsg('update', EVENT.before, { ...EVENT.after, [key]: v }))));
        bodies.push(Buffer.from(JSON.stringify(eventMsg('new', { ...EVENT.before, [key]: v }, EVENT.after))));
      }
    }
    for (const v of values) {
      bodies.push(Buffer.from(JSON.stringify({ ...review({}), type: v })));
      bodies.push(Buffer.from(JSON.stringify({ type: 'new', after: { ...((review({}) as { after: object }).after), data: v } })));
    }
    for (const body of bodies) {
      const r = parse(body);
      if (!r.ok) expect(['STW_ERR_PUSH_MALFORMED', 'STW_ERR_PUSH_SCHEMA']).toContain(r.code);
    }
  });

  it('validates its settings', async () => {
    expect(settings()).toEqual({
      mqttUrl: 'mqtt://192.0.2.20:1883',
      topicPrefix: 'frigate',
      labels: ['person'],
      minScore: 0.6,
      sources: ['events', 'reviews'],
      attachSnapshot: true,
      eventLabel: 'storetwin-alarm',
      eventDurationS: 30,
      timeoutMs: 5000,
    });
    expect(settings({ apiUrl: 'http://frigate:5000/' }).apiUrl).toBe('http://frigate:5000');
    expect(frigate.secretSettings).toEqual(['password']);
    const refused = (extra: Record<string, unknown>): boolean => !frigate.settingsSchema.safeParse({ mqttUrl: 'mqtt://192.0.2.20:1883', ...extra }).success;
    expect(refused({ mqttUrl: 'http://192.0.2.20' })).toBe(true);
    expect(refused({ topicPrefix: 'frigate/#' })).toBe(true);
    expect(refused({ topicPrefix: 'frigate/' })).toBe(true);
    expect(refused({ minScore: 1.5 })).toBe(true);
    expect(refused({ labels: [] })).toBe(true);
    expect(refused({ sources: ['stats'] })).toBe(true);
    expect(refused({ eventLabel: 'has space' })).toBe(true);
    expect(refused({ apiUrl: 'ftp://frigate' })).toBe(true);
    expect(refused({ topic: 'x' })).toBe(true);
    for (const key of ['mqttUrl', 'username', 'password', 'topicPrefix', 'apiUrl', 'labels', 'minScore', 'sources', 'attachSnapshot', 'eventLabel', 'eventDurationS', 'timeoutMs']) {
      for (const v of [null, '', 'x', 'not a url', -1, 1e308, [], [''], {}, true, '\u0000']) expect(() => frigate.settingsSchema.safeParse({ mqttUrl: 'mqtt://192.0.2.20:1883', [key]: v })).not.toThrow();
    }
  });

  it('renders what Frigate would publish, and parses it back', async () => {
    for (const example of frigate.examples) {
      const s = frigate.settingsSchema.parse(example.settings) as FrigateSettings;
      for (const m of example.expect) {
        const req = frigate.render(m, { settings: s, state: {}, now: 0 });
        expect(motions(parse(req.body, s))).toEqual([m]);
      }
    }
    const synthetic: AdapterMessage = { ids: { frigate: 'lobby' }, at: '2026-11-30T02:14:07.250Z', body: { kind: 'events', events: [{ type: 'motion', zone: 'door', label: 'person', confidence: 0.8 }] } };
    const [back] = motions(parse(frigate.render(synthetic, { settings: settings(), state: {}, now: 0 }).body));
    expect(back).toMatchObject({ ids: { frigate: 'lobby' }, at: '2026-11-30T02:14:07.250Z', body: { events: [{ type: 'motion', zone: 'door', label: 'person', confidence: 0.8 }] } });
  });
});

// ---- the connector, on a real broker ----------------------------------------------------------

interface Harness {
  ctx: ConnectorContext<FrigateSettings>;
  delivered: AdapterMessage[];
  refused: { code: ErrorCode; message: string }[];
  logs: string[];
  until(pred: () => boolean, what: string, ms?: number): Promise<void>;
}

function harness(s: FrigateSettings): Harness {
  const delivered: AdapterMessage[] = [];
  const refused: { code: ErrorCode; message: string }[] = [];
  const logs: string[] = [];
  const checks = new Set<() => void>();
  const poke = (): void => checks.forEach((c) => c());
  const ctx: ConnectorContext<FrigateSettings> = {
    integrationId: 'int-frigate',
    site: 'shop',
    settings: s,
    parse: async (req) => frigate.parse(req, { settings: s, state: {}, now: Date.now() }),
    deliver: async (messages) => {
      delivered.push(...messages);
      poke();
    },
    refuse: (code, message) => {
      refused.push({ code, message });
      poke();
    },
    now: () => Date.now(),
    logger: {
      warn: (_o, msg) => {
        logs.push(msg);
        poke();
      },
      info: (_o, msg) => {
        logs.push(msg);
        poke();
      },
      debug: () => undefined,
    },
  };
  const until = (pred: () => boolean, what: string, ms = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (pred()) return resolve();
      const timer = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        checks.delete(check);
        resolve();
      };
      checks.add(check);
    });
  return { ctx, delivered, refused, logs, until };
}

describe('frigate: connector', () => {
  let broker: Mosquitto;
  let api: FrigateApi;
  let frigateClient: MqttClient;
  const stops: (() => Promise<void>)[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    broker = await startMosquitto({ frigate: 'frigate-pw', storetwin: 'storetwin-pw' });
    api = await startFrigateApi({ cameras: ['front_door', 'shop_back'] });
    // Frigate's own client, publishing as Frigate does (QoS 0, not retained).
    frigateClient = await connectAsync(broker.url, { username: 'frigate', password: 'frigate-pw', reconnectPeriod: 500 });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  afterAll(async () => {
    await frigateClient?.endAsync(true);
    await api?.close();
    await broker?.close();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  async function run(extra: Record<string, unknown> = {}): Promise<Harness> {
    const s = frigate.settingsSchema.parse({ mqttUrl: broker.url, username: 'storetwin', password: 'storetwin-pw', apiUrl: api.url, ...extra }) as FrigateSettings;
    const h = harness(s);
    const connector = frigate.connect?.(h.ctx);
    if (!connector) throw new Error('frigate has no connector');
    connector.start();
    stops.push(() => connector.stop());
    return h;
  }

  const publish = (topic: string, body: Buffer | string | object, retain = false): Promise<unknown> =>
    frigateClient.publishAsync(topic, Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body), { qos: 0, retain });

  it("hears frigate/events and frigate/reviews on Frigate's broker and attaches each detection's snapshot", async () => {
    // An old event left retained on the broker comes at subscription with the retain flag [MQTT-3.3.1-6]: not news.
    await publish('frigate/events', { ...EVENT, after: { ...EVENT.after, id: 'retained-old', current_zones: ['porch'] } }, true);
    const h = await run();
    await h.until(() => h.logs.includes('frigate: subscribed'), 'the subscription');
    // Clear it so later tests do not see it.
    await publish('frigate/events', '', true);
    const detectionJpeg = api.addDetection('1607123955.475377-mxklsc', 'front_door');
    await publish('frigate/events', FIXTURE);
    await h.until(() => h.delivered.length >= 1, 'the motion');
    expect(h.delivered[0]).toMatchObject({ ids: { frigate: 'front_door' }, dedupeKey: '1607123955.475377-mxklsc:yard', body: { kind: 'events', events: [{ type: 'motion', zone: 'yard', label: 'person' }] } });
    expect(h.delivered[0]?.picture?.equals(detectionJpeg)).toBe(true);
    expect(api.calls.at(-1)).toMatchObject({ method: 'GET', path: '/api/events/1607123955.475377-mxklsc/snapshot.jpg?bbox=1' });

    // Frames that add nothing and garbage: nothing delivered; the garbage refused with a code.
    const still = { ...EVENT, before: EVENT.after };
    await publish('frigate/events', still);
    await publish('frigate/events', still);
    await publish('frigate/events', '{"type": "new", "after": ');
    await publish('frigate/events', Buffer.alloc(300 * 1024, 0x20));
    // A review alert (its first detection's picture is not there: delivered without one).
    await publish('frigate/reviews', review({ id: 'r-1' }));
    await h.until(() => h.delivered.length >= 2, 'the review motion');
    expect(h.delivered.map((m) => m.dedupeKey)).toEqual(['1607123955.475377-mxklsc:yard', 'review:r-1']);
    expect(h.delivered[1]?.picture).toBeUndefined();
    expect(h.refused).toEqual([
      { code: 'STW_ERR_PUSH_MALFORMED', message: expect.stringContaining('frigate/events: the message is not JSON') },
      { code: 'STW_ERR_PUSH_TOO_LARGE', message: expect.stringContaining('a 307200-byte message') },
    ]);
  });

  it('listens to a custom topic prefix and only the sources asked for, without touching the API when pictures are off', async () => {
    const h = await run({ topicPrefix: 'nvr2', sources: ['events'], attachSnapshot: false });
    await h.until(() => h.logs.includes('frigate: subscribed'), 'the subscription');
    const calls = api.calls.length;
    await publish('frigate/events', { ...EVENT, after: { ...EVENT.after, id: 'other-prefix' } });
    await publish('nvr2/reviews', review({ id: 'r-2' }));
    await publish('nvr2/events', { ...EVENT, after: { ...EVENT.after, id: 'e-nvr2' } });
    await h.until(() => h.delivered.length >= 1, 'the motion');
    expect(h.delivered.map((m) => m.dedupeKey)).toEqual(['e-nvr2:yard']);
    expect(h.delivered[0]?.picture).toBeUndefined();
    expect(api.calls.length).toBe(calls);
  });

  it('rides out a broker restart: mqtt.js reconnects and resubscribes', async () => {
    const h = await run();
    await h.until(() => h.logs.includes('frigate: subscribed'), 'the subscription');
    const connects = (): number => h.logs.filter((l) => l === 'frigate: connected to the broker').length;
    expect(connects()).toBe(1);
    await broker.stop();
    await broker.restart();
    // mqtt.js retries every 5 s (reconnectPeriod).
    await h.until(() => connects() >= 2, 'the reconnection', 20_000);
    await frigateClient.endAsync(true);
    frigateClient = await connectAsync(broker.url, { username: 'frigate', password: 'frigate-pw', reconnectPeriod: 500 });
    // Resubscribed: publish until heard (the SUBACK after a reconnect is not logged by mqtt.js's resubscribe).
    const deadline = Date.now() + 10_000;
    while (h.delivered.length === 0 && Date.now() < deadline) {
      await publish('frigate/events', { ...EVENT, after: { ...EVENT.after, id: 'after-restart' } });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(h.delivered[0]?.dedupeKey).toBe('after-restart:yard');
    expect(h.refused.every((r) => r.code === 'STW_ERR_UPSTREAM_FAILED')).toBe(true);
  }, 45_000);

  it('refuses with a code when the broker refuses the login or cannot be reached, and stops cleanly', async () => {
    const wrong = await run({ password: 'wrong' });
    await wrong.until(() => wrong.refused.length >= 1, 'a refusal');
    expect(wrong.refused[0]).toEqual({ code: 'STW_ERR_UPSTREAM_FAILED', message: expect.stringMatching(/Frigate broker mqtt:\/\/127\.0\.0\.1:\d+: .*(Not authorized|Bad username or password)/) });
    expect(wrong.refused[0]?.message).not.toContain('wrong');
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const down = await run({ mqttUrl: `mqtt://127.0.0.1:${port}` });
    await down.until(() => down.refused.length >= 1, 'a refusal');
    expect(down.refused[0]).toEqual({ code: 'STW_ERR_UPSTREAM_FAILED', message: expect.stringContaining('ECONNREFUSED') });
    const started = Date.now();
    for (const stop of stops.splice(0)) await stop();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('hears nothing after stop()', async () => {
    const s = frigate.settingsSchema.parse({ mqttUrl: broker.url, username: 'storetwin', password: 'storetwin-pw' }) as FrigateSettings;
    const h = harness(s);
    const connector = frigate.connect?.(h.ctx);
    if (!connector) throw new Error('no connector');
    connector.start();
    await h.until(() => h.logs.includes('frigate: subscribed'), 'the subscription');
    await connector.stop();
    // A second listener proves the message went out: once it has it, the stopped one would have too.
    const probe = await connectAsync(broker.url, { username: 'storetwin', password: 'storetwin-pw', reconnectPeriod: 0 });
    const heard = new Promise<void>((resolve) => probe.on('message', () => resolve()));
    await probe.subscribeAsync('frigate/events');
    await publish('frigate/events', { ...EVENT, after: { ...EVENT.after, id: 'after-stop' } });
    await heard;
    await probe.endAsync();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.delivered).toEqual([]);
  });
});

// ---- snapshot() through Frigate's HTTP API ---------------------------------------------------

describe('frigate: snapshot', () => {
  const apis: FrigateApi[] = [];
  afterEach(async () => {
    for (const a of apis.splice(0)) await a.close();
  });
  async function apiWith(opts: Parameters<typeof startFrigateApi>[0]): Promise<FrigateApi> {
    const a = await startFrigateApi(opts);
    apis.push(a);
    return a;
  }
  const request = (camera: string | undefined, title = 'Door opened in armed zone cash-room'): SnapshotRequest => ({
    device: { id: 'cam-cash', site: 'shop', zone: 'cash-room', externalIds: camera === undefined ? {} : { frigate: camera } },
    alarm: { id: 'al-1', ruleId: 'intrusion-confirmed', severity: 'critical', title },
  });
  const snap = (api: string | undefined, req: SnapshotRequest, extra: Record<string, unknown> = {}): Promise<Buffer | null> => {
    const s = settings({ ...(api !== undefined ? { apiUrl: api } : {}), ...extra });
    if (!frigate.snapshot) throw new Error('frigate has no snapshot');
    return frigate.snapshot(req, { settings: s, now: Date.now() });
  };

  it("creates a manual event titled with the alarm, then answers that event's snapshot once Frigate has written it", async () => {
    const api = await apiWith({ cameras: ['front_door'], snapshotDelayGets: 2 });
    const jpeg = await snap(api.url, request('front_door'));
    const create = api.calls[0];
    expect(create).toMatchObject({ method: 'POST', path: '/api/events/front_door/storetwin-alarm/create', body: { sub_label: 'Door opened in armed zone cash-room', duration: 30, include_recording: true } });
    const eventId = create?.eventId ?? '';
    // Two 404s while Frigate writes it, then the picture.
    expect(api.calls.slice(1).map((c) => c.path)).toEqual(Array(3).fill(`/api/events/${eventId}/snapshot.jpg`));
    expect(jpeg?.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(jpeg?.equals(api.pictureOf(eventId) as Buffer)).toBe(true);
  });

  it("keeps Frigate's 100-character sub label, uses the configured label and duration", async () => {
    const api = await apiWith({ cameras: ['lobby'] });
    await snap(api.url, request('lobby', 'x'.repeat(150)), { eventLabel: 'intrusion', eventDurationS: 90 });
    expect(api.calls[0]).toMatchObject({ path: '/api/events/lobby/intrusion/create', body: { sub_label: 'x'.repeat(100), duration: 90 } });
  });

  it("falls back to the camera's latest frame when the event's snapshot never comes, and answers null when Frigate has no picture", async () => {
    const api = await apiWith({ cameras: ['front_door'], noEventSnapshots: true });
    const jpeg = await snap(api.url, request('front_door'));
    expect(jpeg?.equals(api.latestOf('front_door'))).toBe(true);
    expect(api.calls.at(-1)?.path).toBe('/api/front_door/latest.jpg');
    const none = await apiWith({ cameras: ['front_door'], noEventSnapshots: true, noLatest: true });
    expect(await snap(none.url, request('front_door'))).toBeNull();
  });

  it('answers null without an API or a camera name, and rejects for an unknown camera or an unreachable Frigate', async () => {
    const api = await apiWith({ cameras: ['front_door'] });
    expect(await snap(undefined, request('front_door'))).toBeNull();
    expect(await snap(api.url, request(undefined))).toBeNull();
    await expect(snap(api.url, request('garage'))).rejects.toThrow('Frigate does not know camera "garage": garage is not a valid camera.');
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    await expect(snap(`http://127.0.0.1:${port}`, request('front_door'))).rejects.toThrow();
  });
});

// ---- through the real app ------------------------------------------------------------------------

describe('frigate: through the real app', () => {
  const SHOP = 'demo-shop';
  let t: TestApp;
  let admin: string;
  let broker: Mosquitto;
  let nvr: FrigateApi;
  let frigateClient: MqttClient;
  const doors: MqttClient[] = [];
  const alarms: Alarm[] = [];

  const api = async (method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(`${t.httpUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const register = async (id: string, type: string, zone: string, externalIds?: Record<string, string>): Promise<string> => {
    const res = await api('POST', '/api/devices', { id, site: SHOP, type, zone, ...(externalIds ? { externalIds } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.secret as string;
  };
  /** A tracked person Frigate has just seen, in `zones`, now. */
  const person = (id: string, camera: string, zones: string[]): object => {
    const now = Date.now() / 1000;
    const o = tracked({ id, camera, frame_time: now, start_time: now - 0.4, current_zones: zones, entered_zones: zones, top_score: 0.83, score: 0.8 });
    return { type: 'new', before: o, after: o };
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t.app);
    t.app.bus.on('alarm.changed', ({ alarm }) => alarms.push(alarm));
    broker = await startMosquitto({ frigate: 'frigate-pw', storetwin: 'storetwin-pw' });
    nvr = await startFrigateApi({ cameras: ['cash_cam', 'office_cam'] });
    frigateClient = await connectAsync(broker.url, { username: 'frigate', password: 'frigate-pw', reconnectPeriod: 500 });
  });

  /** A door sensor on our broker, in `zone`. */
  async function doorIn(id: string, zone: string): Promise<MqttClient> {
    const client = await connectDevice(t.mqttUrl, id, await register(id, 'door-sensor', zone));
    doors.push(client);
    return client;
  }
  afterAll(async () => {
    for (const d of doors) await d.endAsync(true);
    await frigateClient?.endAsync(true);
    await t?.stop();
    await nvr?.close();
    await broker?.close();
  });

  /** Creates the integration and waits until its connector hears the broker (a probe from an unknown camera gets listed). */
  async function integrate(settingsExtra: Record<string, unknown>): Promise<string> {
    const res = await api('POST', '/api/integrations', { adapter: 'frigate', site: SHOP, settings: { mqttUrl: broker.url, username: 'storetwin', password: 'storetwin-pw', apiUrl: nvr.url, ...settingsExtra } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.integration.id as string;
    const probeCamera = `probe_${id.replace(/[^a-z0-9]/gi, '').slice(-6)}`;
    await eventually(async () => {
      await frigateClient.publishAsync('frigate/events', JSON.stringify(person(`probe-${Date.now()}`, probeCamera, [])));
      const unknown = await api('GET', `/api/integrations/unknown-devices?site=${SHOP}`);
      return (unknown.body.items as { integration: string; ids: Record<string, string> }[]).some((u) => u.integration === id && u.ids['frigate'] === probeCamera);
    }, 10_000, 200);
    return id;
  }

  it('a person Frigate sees in the armed cash room after its door opened raises intrusion-confirmed, with the detection snapshot attached', async () => {
    await register('cam-cash-frigate', 'camera', 'cash-room', { frigate: 'cash_cam' });
    const door = await doorIn('door-cash-frigate', 'cash-room');
    const integration = await integrate({});
    expect((await api('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, {})).status).toBe(200);

    await door.publishAsync(`storetwin/${SHOP}/door-cash-frigate/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    const detection = nvr.addDetection('1764470047.331907-cashp1', 'cash_cam');
    await frigateClient.publishAsync('frigate/events', JSON.stringify(person('1764470047.331907-cashp1', 'cash_cam', ['till'])));

    const intrusion = await eventually(() => alarms.find((a) => a.rule === 'shop-intrusion-confirmed' && a.zone === 'cash-room'), 10_000);
    const attached = await eventually(async () => {
      const a = await t.app.alarms.get(intrusion.id);
      return a?.snapshot?.status === 'attached' ? a.snapshot : null;
    }, 10_000);
    // The picture is the detection's own snapshot that came with the motion, not a new one.
    expect(attached).toMatchObject({ camera: 'cam-cash-frigate', id: snapshotId(SHOP, detection) });
    expect(nvr.calls.filter((c) => c.path.endsWith('/create')).map((c) => (c.body as { sub_label: string }).sub_label)).not.toContainEqual(expect.stringContaining('Intrusion'));
    // The door's own alarm came first, before any motion: its picture is a Frigate event made for it.
    const doorAlarm = await eventually(() => alarms.find((a) => a.rule === 'door-opened-armed' && a.zone === 'cash-room' && a.snapshot?.status === 'attached'), 10_000);
    const made = nvr.calls.find((c) => c.path === '/api/events/cash_cam/storetwin-alarm/create');
    expect((made?.body as { sub_label?: string } | undefined)?.sub_label).toContain('Door opened in armed zone Cash room');
    const doorSnapshot = doorAlarm.snapshot?.status === 'attached' ? doorAlarm.snapshot.id : null;
    expect(doorSnapshot).toBe(snapshotId(SHOP, nvr.pictureOf(made?.eventId ?? '') as Buffer));
    const pic = await fetch(`${t.httpUrl}/api/snapshots/${attached.id}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(Buffer.from(await pic.arrayBuffer()).equals(detection)).toBe(true);

    // The motion is the camera's event with Frigate's label, score and zone.
    const events = await api('GET', `/api/events?device=cam-cash-frigate&limit=10`);
    expect((events.body.items as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === 'motion')?.data).toMatchObject({ label: 'person', confidence: 0.83, zone: 'till' });
    // And the integration's password is never shown again.
    expect(JSON.stringify((await api('GET', `/api/integrations/${integration}`)).body)).not.toContain('storetwin-pw');
    await api('DELETE', `/api/integrations/${integration}`);
  });

  it("without the detection's picture, the alarm's snapshot is a Frigate event created for it, titled with the alarm", async () => {
    await register('cam-office-frigate', 'camera', 'back-office', { frigate: 'office_cam' });
    const officeDoor = await doorIn('door-office-frigate', 'back-office');
    await integrate({ attachSnapshot: false });
    expect((await api('POST', `/api/sites/${SHOP}/zones/back-office/arm`, {})).status).toBe(200);

    await officeDoor.publishAsync(`storetwin/${SHOP}/door-office-frigate/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await frigateClient.publishAsync('frigate/events', JSON.stringify(person('1764470112.004211-offp1', 'office_cam', ['desk'])));
    const intrusion = await eventually(() => alarms.find((a) => a.rule === 'shop-intrusion-confirmed' && a.zone === 'back-office'), 10_000);
    const attached = await eventually(async () => {
      const a = await t.app.alarms.get(intrusion.id);
      return a?.snapshot?.status === 'attached' ? a.snapshot : null;
    }, 10_000);
    // One Frigate event per alarm (the door's, then the intrusion's), each titled with its alarm.
    const created = nvr.calls.filter((c) => c.path === '/api/events/office_cam/storetwin-alarm/create');
    expect(created.map((c) => c.body)).toEqual([
      { sub_label: 'Door opened in armed zone Back office (Demo Shop)', duration: 30, include_recording: true },
      { sub_label: 'Intrusion confirmed in Back office: door opened and motion seen within 60 s', duration: 30, include_recording: true },
    ]);
    // The intrusion's picture is the snapshot of the event made for it.
    expect(attached).toMatchObject({ camera: 'cam-office-frigate', id: snapshotId(SHOP, nvr.pictureOf(created[1]?.eventId ?? '') as Buffer) });
    // No detection picture was fetched: attachSnapshot is off.
    expect(nvr.calls.some((c) => c.path.includes('offp1'))).toBe(false);
  });
});
