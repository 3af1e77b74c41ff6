/**
 * Frigate NVR: StoreTwin subscribes to the MQTT broker Frigate publishes to and hears two topics:
 * - `frigate/events`: one message per change of a tracked object, `{type: new|update|end,
 *   before, after}` (after.id, camera, label, score, top_score, current_zones, frame_time…);
 * - `frigate/reviews` (Frigate 0.14+): one per change of a review item, `{type, before, after:
 *   {id, camera, start_time, severity: alert|detection, data: {detections, objects, zones…}}}`.
 * A person walking through a camera's view is one tracked object with many `update`s; parse()
 * makes it one `motion` event when it appears (`new`) and one more each time it enters a zone it
 * was not in, so a walk is a few motions, not one per frame. Labels not in `labels`, scores under
 * `minScore`, false positives and `end` messages are ignored; a review becomes a motion when it
 * is (or turns into) an alert. The camera is named by `ids.frigate` = Frigate's camera name.
 *
 * With `apiUrl` (Frigate's HTTP API), the connector attaches the detection's own snapshot to the
 * motion (`GET /api/events/{id}/snapshot.jpg`), which the core keeps as the camera's picture for
 * an alarm raised by that motion; `snapshot()` answers a picture on request by creating a
 * manual event (`POST /api/events/{camera}/{label}/create`, its sub label the alarm's title, so
 * the alarm is findable in Frigate with its recording) and fetching that event's snapshot.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { MotionEvent } from '../../../devices/types.ts';
import { defineAdapter, type AdapterMessage, type Connector, type ConnectorContext, type ParseResult, type PushRequest, type SnapshotRequest } from './types.ts';

/** Frigate's sub_label holds at most 100 characters (its API refuses longer ones). */
const SUB_LABEL_MAX = 100;
/** Motion events carry zone and label of at most 64 characters (devices/camera.ts). */
const NAME_MAX = 64;
/** A manual event's snapshot is written a moment after the event is created: try this often… */
const SNAPSHOT_TRIES = 8;
/** …this far apart. */
const SNAPSHOT_RETRY_MS = 250;
/** A picture larger than this is not a camera snapshot. */
const MAX_PICTURE_BYTES = 8 * 1024 * 1024;
/** A frigate/events message is a few KiB; mosquitto would pass up to 256 MiB. */
const MAX_MESSAGE_BYTES = 256 * 1024;
/** The longest a motion waits for its detection's picture before it goes on without. */
const MAX_PICTURE_WAIT_MS = 2000;
/** Pictures fetched at once for motions; beyond this a motion goes on without one. */
const MAX_PICTURE_FETCHES = 8;
/** Years 1970..2100 in seconds: Frigate's times are epoch seconds (floats). */
const epochSeconds = z.number().min(0).max(4_102_444_800);

const topicPrefix = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^#+]+$/, 'must not hold MQTT wildcards')
  // [MQTT-4.7.3-2] topic names must not hold the null character.
  .refine((p) => !p.includes('\u0000'), 'must not hold the null character')
  .refine((p) => !p.endsWith('/'), 'without a trailing /');

const settingsSchema = z.strictObject({
  /** Frigate's MQTT broker (mqtt.host in Frigate's config), e.g. mqtt://192.168.1.20:1883 */
  mqttUrl: z.string().url({ protocol: /^(mqtts?|wss?|tcp|tls)$/, error: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' }),
  username: z.string().min(1).max(200).optional(),
  password: z.string().max(200).optional(),
  /** Frigate's mqtt.topic_prefix. */
  topicPrefix: topicPrefix.default('frigate'),
  /** Frigate's HTTP API (the internal port 5000), e.g. http://frigate:5000; pictures need it. */
  apiUrl: z
    .string()
    .url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Object labels that become motion. */
  labels: z.array(z.string().min(1).max(NAME_MAX)).min(1).max(50).default(['person']),
  /** Lowest score (top_score, else score) a tracked object needs to become motion. */
  minScore: z.number().min(0).max(1).default(0.6),
  /** Topics to hear. Both by default; a tracked object that makes a review alert then gives two motions. */
  sources: z
    .array(z.enum(['events', 'reviews']))
    .min(1)
    .default(['events', 'reviews']),
  /** Attach the detection's snapshot to each motion (needs apiUrl). */
  attachSnapshot: z.boolean().default(true),
  /** Label of the manual events snapshot() creates in Frigate. */
  eventLabel: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,50}$/, 'letters, digits, _ and - only')
    .default('storetwin-alarm'),
  /** Seconds Frigate keeps those events open (and records, with include_recording). */
  eventDurationS: z.number().int().min(1).max(3600).default(30),
  /** Per HTTP request to Frigate's API. */
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
});

export type FrigateSettings = z.infer<typeof settingsSchema>;

/** A tracked object as `frigate/events` carries it (extra fields tolerated). */
const trackedObject = z.object({
  id: z.string().min(1).max(200),
  camera: z.string().min(1).max(200),
  label: z.string().min(1).max(200),
  score: z.number().min(0).max(1).nullish(),
  top_score: z.number().min(0).max(1).nullish(),
  false_positive: z.boolean().nullish(),
  current_zones: z.array(z.string().max(200)).max(100).nullish(),
  frame_time: epochSeconds.nullish(),
  start_time: epochSeconds,
  end_time: epochSeconds.nullish(),
});
type TrackedObject = z.infer<typeof trackedObject>;

/** A review item as `frigate/reviews` carries it. */
const reviewItem = z.object({
  id: z.string().min(1).max(200),
  camera: z.string().min(1).max(200),
  start_time: epochSeconds,
  end_time: epochSeconds.nullish(),
  severity: z.string().max(50),
  data: z.object({
    detections: z.array(z.string().max(200)).max(1000).nullish(),
    objects: z.array(z.string().max(200)).max(1000).nullish(),
    zones: z.array(z.string().max(200)).max(100).nullish(),
  }),
});

// `type` is a string, not an enum: a type a newer Frigate adds is ignored, not refused.
const eventMessage = z.object({ type: z.string().max(50), before: trackedObject.nullish(), after: trackedObject });
const reviewMessage = z.object({ type: z.string().max(50), before: reviewItem.nullish(), after: reviewItem });

/** What reading one message gives: the result, and the Frigate event whose picture suits it. */
interface Reading {
  result: ParseResult;
  pictureOf?: string;
}

const ignored = (reason: string): Reading => ({ result: { ok: true, messages: [], ignored: reason } });

function schemaProblem(kind: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `not a ${kind} message`;
  return `not a ${kind} message: ${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`;
}

const scoreOf = (o: TrackedObject): number => o.top_score ?? o.score ?? 0;
const isoOf = (seconds: number): string => new Date(Math.round(seconds * 1000)).toISOString();

/** Whether `o` on its own would become motion (label, score, not a false positive). */
function qualifies(o: TrackedObject, s: FrigateSettings): boolean {
  return s.labels.includes(o.label) && o.false_positive !== true && scoreOf(o) >= s.minScore;
}

function motionMessage(camera: string, motion: MotionEvent, at: string, dedupeKey: string, describe: Record<string, string>): AdapterMessage {
  return { ids: { frigate: camera }, body: { kind: 'events', events: [motion] }, at, dedupeKey, describe };
}

function readEvent(msg: z.infer<typeof eventMessage>, s: FrigateSettings): Reading {
  const { after, before } = msg;
  if (msg.type === 'end') return ignored(`tracked object ${after.id} ended`);
  if (msg.type !== 'new' && msg.type !== 'update') return ignored(`event type "${msg.type.slice(0, 50)}" is not used`);
  if (!s.labels.includes(after.label)) return ignored(`label "${after.label.slice(0, NAME_MAX)}" is not one of labels`);
  if (after.false_positive === true) return ignored(`tracked object ${after.id} is a false positive`);
  const score = scoreOf(after);
  if (score < s.minScore) return ignored(`score ${score} is under minScore ${s.minScore}`);
  const zones = after.current_zones ?? [];
  let zone: string | undefined;
  if (msg.type === 'new' || !before || !qualifies(before, s)) {
    // Newly seen, or qualifying only now (its score rose past minScore): one motion where it is.
    zone = zones[0];
  } else {
    const was = before.current_zones ?? [];
    zone = zones.find((z) => !was.includes(z));
    if (zone === undefined) return ignored(`tracked object ${after.id} entered no new zone`);
  }
  const at = isoOf(after.frame_time ?? after.start_time);
  const motion: MotionEvent = {
    type: 'motion',
    label: after.label.slice(0, NAME_MAX),
    confidence: score,
    ...(zone !== undefined ? { zone: zone.slice(0, NAME_MAX) } : {}),
    ts: at,
  };
  return {
    result: { ok: true, messages: [motionMessage(after.camera, motion, at, `${after.id}:${zone ?? ''}`, { camera: after.camera, label: after.label })] },
    pictureOf: after.id,
  };
}

function readReview(msg: z.infer<typeof reviewMessage>, s: FrigateSettings): Reading {
  const { after, before } = msg;
  if (after.severity !== 'alert') return ignored(`review ${after.id} is a ${after.severity.slice(0, 50)}, not an alert`);
  // An alert when it starts, or a detection that became one (an object entered a required zone).
  const becameAlert = msg.type === 'new' || (msg.type === 'update' && before?.severity !== 'alert');
  if (!becameAlert) return ignored(msg.type === 'end' ? `review ${after.id} ended` : `review ${after.id} was already an alert`);
  const label = (after.data.objects ?? []).find((o) => s.labels.includes(o));
  if (label === undefined) return ignored(`review ${after.id} holds none of labels`);
  const zone = after.data.zones?.[0];
  const at = isoOf(after.start_time);
  const motion: MotionEvent = { type: 'motion', label: label.slice(0, NAME_MAX), ...(zone !== undefined ? { zone: zone.slice(0, NAME_MAX) } : {}), ts: at };
  const detection = after.data.detections?.[0];
  return {
    result: { ok: true, messages: [motionMessage(after.camera, motion, at, `review:${after.id}`, { camera: after.camera, label })] },
    ...(detection !== undefined ? { pictureOf: detection } : {}),
  };
}

/** One `frigate/events` or `frigate/reviews` message body, told apart by its shape. */
function read(body: Buffer, s: FrigateSettings): Reading {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { result: { ok: false, code: 'STW_ERR_PUSH_MALFORMED', message: 'the message is not JSON' } };
  }
  const after = typeof json === 'object' && json !== null ? (json as { after?: unknown }).after : undefined;
  const isReview = typeof after === 'object' && after !== null && ('severity' in after || 'data' in after);
  if (isReview) {
    if (!s.sources.includes('reviews')) return ignored('reviews are not in sources');
    const checked = reviewMessage.safeParse(json);
    if (!checked.success) return { result: { ok: false, code: 'STW_ERR_PUSH_SCHEMA', message: schemaProblem('frigate/reviews', checked.error) } };
    return readReview(checked.data, s);
  }
  if (!s.sources.includes('events')) return ignored('events are not in sources');
  const checked = eventMessage.safeParse(json);
  if (!checked.success) return { result: { ok: false, code: 'STW_ERR_PUSH_SCHEMA', message: schemaProblem('frigate/events', checked.error) } };
  return readEvent(checked.data, s);
}

/**
 * The message Frigate would publish for a motion: a `new` tracked object in the motion's zone
 * (`frigate/events`), or for a motion read from a review (dedupeKey `review:…`) a new alert
 * (`frigate/reviews`). The Frigate id is taken back from the dedupeKey.
 */
function render(message: AdapterMessage, ctx: { now: number }): PushRequest {
  const camera = message.ids.frigate;
  if (camera === undefined) throw new Error('frigate: render needs ids.frigate, the camera name');
  const motion = message.body.kind === 'events' ? message.body.events.find((e): e is MotionEvent => e.type === 'motion') : undefined;
  if (motion === undefined) throw new Error('frigate: render needs a motion event');
  const atIso = message.at ?? motion.ts;
  const atMs = atIso !== undefined && Number.isFinite(Date.parse(atIso)) ? Date.parse(atIso) : ctx.now;
  const t = atMs / 1000;
  const key = message.dedupeKey;
  const zones = motion.zone !== undefined ? [motion.zone] : [];
  const label = motion.label ?? 'person';
  let body: unknown;
  if (key?.startsWith('review:')) {
    const item = {
      id: key.slice('review:'.length),
      camera,
      start_time: t,
      end_time: null,
      severity: 'alert',
      thumb_path: null,
      data: { detections: [], objects: [label], sub_labels: [], zones, audio: [] },
    };
    body = { type: 'new', before: item, after: item };
  } else {
    const id = key !== undefined && key.includes(':') ? key.slice(0, key.lastIndexOf(':')) : `${t.toFixed(6)}-${randomBytes(3).toString('hex')}`;
    const score = motion.confidence ?? 1;
    const object = {
      id,
      camera,
      frame_time: t,
      snapshot_time: t,
      label,
      sub_label: null,
      top_score: score,
      false_positive: false,
      start_time: t,
      end_time: null,
      score,
      box: [0, 0, 0, 0],
      area: 0,
      ratio: 1,
      region: [0, 0, 0, 0],
      current_zones: zones,
      entered_zones: zones,
      thumbnail: null,
      has_snapshot: true,
      has_clip: false,
      active: true,
      stationary: false,
      motionless_count: 0,
      position_changes: 0,
      attributes: {},
      current_attributes: [],
    };
    body = { type: 'new', before: object, after: object };
  }
  return { method: 'POST', body: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json', query: {} };
}

// ---- Frigate's HTTP API -----------------------------------------------------------------------

const isJpeg = (b: Buffer): boolean => b.length > 3 && b[0] === 0xff && b[1] === 0xd8;

/** GET a JPEG: the bytes, or null when Frigate has none (404, or something not a JPEG). Rejects on transport failure. */
async function fetchJpeg(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Buffer | null> {
  const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.arrayBuffer().catch(() => undefined);
    return null;
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_PICTURE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  return bytes.length <= MAX_PICTURE_BYTES && isJpeg(bytes) ? bytes : null;
}

const createAnswer = z.object({ success: z.boolean(), message: z.string().optional(), event_id: z.string().min(1).max(200).optional() });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A picture for an alarm: a manual Frigate event on the camera (so the alarm is in Frigate's
 * timeline with its recording), then that event's snapshot, retried while Frigate writes it,
 * else the camera's latest frame. Null without apiUrl or a camera name, or when Frigate has no
 * picture; rejects when Frigate cannot be reached or does not know the camera.
 */
async function snapshot(req: SnapshotRequest, ctx: { settings: FrigateSettings; now: number }): Promise<Buffer | null> {
  const s = ctx.settings;
  const camera = req.device.externalIds['frigate'];
  if (s.apiUrl === undefined || camera === undefined || camera === '') return null;
  const api = s.apiUrl;
  const cam = encodeURIComponent(camera);
  const title = req.alarm?.title ?? `StoreTwin ${req.device.id}`;
  const res = await fetch(`${api}/api/events/${cam}/${encodeURIComponent(s.eventLabel)}/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ sub_label: title.slice(0, SUB_LABEL_MAX), duration: s.eventDurationS, include_recording: true }),
    signal: AbortSignal.timeout(s.timeoutMs),
  });
  const text = await res.text();
  let answer: z.infer<typeof createAnswer> | undefined;
  try {
    const checked = createAnswer.safeParse(JSON.parse(text));
    answer = checked.success ? checked.data : undefined;
  } catch {
    answer = undefined;
  }
  if (res.status === 404) throw new Error(`Frigate does not know camera "${camera}": ${answer?.message ?? `HTTP ${res.status}`}`);
  if (res.ok && answer?.success === true && answer.event_id !== undefined) {
    const url = `${api}/api/events/${encodeURIComponent(answer.event_id)}/snapshot.jpg`;
    for (let attempt = 0; attempt < SNAPSHOT_TRIES; attempt++) {
      if (attempt > 0) await sleep(SNAPSHOT_RETRY_MS);
      const jpeg = await fetchJpeg(url, s.timeoutMs);
      if (jpeg) return jpeg;
    }
  }
  // No event (Frigate refused it) or no snapshot for it yet: the camera's latest frame.
  return fetchJpeg(`${api}/api/${cam}/latest.jpg`, s.timeoutMs);
}

// ---- the connector ------------------------------------------------------------------------------

function connectFrigate(ctx: ConnectorContext<FrigateSettings>): Connector {
  const s = ctx.settings;
  const topics = s.sources.map((source) => `${s.topicPrefix}/${source}`);
  const broker = (() => {
    const u = new URL(s.mqttUrl);
    return `${u.protocol}//${u.host}`;
  })();
  let client: MqttClient | undefined;
  const aborter = new AbortController();
  const pending = new Set<Promise<void>>();
  // A motion waits this long at most for its picture: alarms must not wait on a slow Frigate.
  const pictureTimeoutMs = Math.min(s.timeoutMs, MAX_PICTURE_WAIT_MS);

  const picture = async (eventId: string): Promise<Buffer | undefined> => {
    if (s.apiUrl === undefined || !s.attachSnapshot || pending.size > MAX_PICTURE_FETCHES) return undefined;
    try {
      // bbox=1: the detection's box drawn in, as Frigate's own notifications show it.
      return (await fetchJpeg(`${s.apiUrl}/api/events/${encodeURIComponent(eventId)}/snapshot.jpg?bbox=1`, pictureTimeoutMs, aborter.signal)) ?? undefined;
    } catch (err) {
      if (!aborter.signal.aborted) ctx.logger.debug({ err, eventId }, 'frigate: no snapshot for the detection');
      return undefined;
    }
  };

  const handle = async (topic: string, payload: Buffer): Promise<void> => {
    if (payload.length > MAX_MESSAGE_BYTES) {
      ctx.refuse('STW_ERR_PUSH_TOO_LARGE', `Frigate ${broker} ${topic}: a ${payload.length}-byte message, more than ${MAX_MESSAGE_BYTES} (Frigate's are a few KiB)`);
      return;
    }
    // Read here rather than through ctx.parse: Frigate's parse keeps no state, and the reading
    // also names the detection whose picture suits the motion.
    const { result, pictureOf } = read(payload, s);
    if (!result.ok) {
      ctx.refuse(result.code, `Frigate ${broker} ${topic}: ${result.message}`);
      return;
    }
    if (result.messages.length === 0) {
      ctx.logger.debug({ topic, reason: result.ignored }, 'frigate: message ignored');
      return;
    }
    const jpeg = pictureOf !== undefined ? await picture(pictureOf) : undefined;
    if (aborter.signal.aborted) return;
    const messages = jpeg ? result.messages.map((m) => ({ ...m, picture: jpeg })) : result.messages;
    try {
      await ctx.deliver(messages);
    } catch (err) {
      ctx.logger.warn({ err }, 'frigate: delivering motion failed');
    }
  };

  return {
    start() {
      if (client) return;
      client = mqtt.connect(s.mqttUrl, {
        // Unique per run: two StoreTwin workers on one integration must not take each other's session.
        clientId: `storetwin-${ctx.integrationId}-${randomBytes(4).toString('hex')}`.slice(0, 64),
        ...(s.username !== undefined ? { username: s.username, password: s.password ?? '' } : {}),
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 5000,
        connectTimeout: 10_000,
        // Frigate publishes these at QoS 0; mqtt.js resubscribes after a reconnect.
        resubscribe: true,
      });
      client.on('connect', () => ctx.logger.info({ broker }, 'frigate: connected to the broker'));
      // Without a listener an 'error' would throw; the core logs and counts each refusal.
      client.on('error', (err) => ctx.refuse('STW_ERR_UPSTREAM_FAILED', `Frigate broker ${broker}: ${err.message}`));
      client.on('offline', () => ctx.logger.debug({ broker }, 'frigate: broker unreachable, reconnecting'));
      client.on('message', (topic, payload, packet) => {
        // A retained message is an old one replayed at subscription, not something happening now;
        // an empty one is someone clearing a retained message.
        if (packet.retain || payload.length === 0) return;
        const job = handle(topic, payload).catch((err: unknown) => ctx.logger.warn({ err }, 'frigate: handling a message threw'));
        pending.add(job);
        void job.finally(() => pending.delete(job));
      });
      client.subscribe(topics, { qos: 0 }, (err, granted) => {
        if (err) {
          if (!aborter.signal.aborted) ctx.refuse('STW_ERR_UPSTREAM_FAILED', `Frigate broker ${broker}: subscribing failed: ${err.message}`);
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) ctx.refuse('STW_ERR_UPSTREAM_FAILED', `Frigate broker ${broker} refused the subscription to ${refused.join(', ')}`);
        else ctx.logger.info({ broker, topics }, 'frigate: subscribed');
      });
    },
    async stop() {
      aborter.abort();
      const c = client;
      client = undefined;
      if (c) await c.endAsync(true);
      await Promise.allSettled([...pending]);
    },
  };
}

const FIXTURE_EVENT = {
  type: 'update',
  before: {
    id: '1607123955.475377-mxklsc',
    camera: 'front_door',
    frame_time: 1607123961.837752,
    snapshot_time: 1607123961.837752,
    label: 'person',
    sub_label: null,
    top_score: 0.958984375,
    false_positive: false,
    start_time: 1607123955.475377,
    end_time: null,
    score: 0.7890625,
    box: [424, 500, 536, 712],
    area: 23744,
    ratio: 2.113207,
    region: [264, 450, 667, 853],
    current_zones: ['driveway'],
    entered_zones: ['yard', 'driveway'],
    thumbnail: null,
    has_snapshot: false,
    has_clip: false,
    active: true,
    stationary: false,
    motionless_count: 0,
    position_changes: 2,
    attributes: { face: 0.64 },
    current_attributes: [],
  },
  after: {
    id: '1607123955.475377-mxklsc',
    camera: 'front_door',
    frame_time: 1607123962.082975,
    snapshot_time: 1607123961.837752,
    label: 'person',
    sub_label: ['John Smith', 0.79],
    top_score: 0.958984375,
    false_positive: false,
    start_time: 1607123955.475377,
    end_time: null,
    score: 0.87890625,
    box: [432, 496, 544, 854],
    area: 40096,
    ratio: 1.251397,
    region: [218, 440, 693, 915],
    current_zones: ['yard', 'driveway'],
    entered_zones: ['yard', 'driveway'],
    thumbnail: null,
    has_snapshot: false,
    has_clip: false,
    active: true,
    stationary: false,
    motionless_count: 0,
    position_changes: 2,
    attributes: { face: 0.86 },
    current_attributes: [{ label: 'face', box: [442, 506, 534, 524], score: 0.86 }],
  },
};

/** A review turning into an alert as a person reaches the cash desk (Frigate 0.14+ shape). */
const REVIEW_ALERT = {
  type: 'update',
  before: {
    id: '1732875601.517204-q8n2kd',
    camera: 'shop_back',
    start_time: 1732875601.517204,
    end_time: null,
    severity: 'detection',
    thumb_path: '/media/frigate/clips/review/thumb-shop_back-1732875601.517204-q8n2kd.webp',
    data: { detections: ['1732875600.902113-7cx1pe'], objects: ['person'], sub_labels: [], zones: [], audio: [] },
  },
  after: {
    id: '1732875601.517204-q8n2kd',
    camera: 'shop_back',
    start_time: 1732875601.517204,
    end_time: null,
    severity: 'alert',
    thumb_path: '/media/frigate/clips/review/thumb-shop_back-1732875601.517204-q8n2kd.webp',
    data: { detections: ['1732875600.902113-7cx1pe'], objects: ['person'], sub_labels: [], zones: ['cash_desk'], audio: [] },
  },
};

const asPush = (body: unknown, pretty = false): PushRequest => ({
  method: 'POST',
  body: Buffer.from(pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body), 'utf8'),
  contentType: 'application/json',
  query: {},
});

const EXAMPLE_SETTINGS = { mqttUrl: 'mqtt://192.0.2.20:1883' };

export const frigate = defineAdapter<FrigateSettings>({
  id: 'frigate',
  label: { en: 'Frigate NVR', 'zh-CN': 'Frigate 录像机' },
  externalIdKeys: ['frigate'],
  settingsSchema,
  secretSettings: ['password'],
  delivery: 'connector',
  parse: (req, ctx) => read(req.body, ctx.settings).result,
  render: (message, ctx) => render(message, ctx),
  connect: connectFrigate,
  snapshot,
  examples: [
    {
      // Frigate's documented frigate/events message (tests/fixtures/platforms/frigate-event.json):
      // the person, already in the driveway, entered the yard.
      name: 'frigate/events update: a person entered a zone',
      request: asPush(FIXTURE_EVENT, true),
      settings: EXAMPLE_SETTINGS,
      expect: [
        {
          ids: { frigate: 'front_door' },
          at: '2020-12-04T23:19:22.083Z',
          dedupeKey: '1607123955.475377-mxklsc:yard',
          describe: { camera: 'front_door', label: 'person' },
          body: { kind: 'events', events: [{ type: 'motion', label: 'person', confidence: 0.958984375, zone: 'yard', ts: '2020-12-04T23:19:22.083Z' }] },
        },
      ],
    },
    {
      name: 'frigate/reviews update: a detection became an alert',
      request: asPush(REVIEW_ALERT),
      settings: EXAMPLE_SETTINGS,
      expect: [
        {
          ids: { frigate: 'shop_back' },
          at: '2024-11-29T10:20:01.517Z',
          dedupeKey: 'review:1732875601.517204-q8n2kd',
          describe: { camera: 'shop_back', label: 'person' },
          body: { kind: 'events', events: [{ type: 'motion', label: 'person', zone: 'cash_desk', ts: '2024-11-29T10:20:01.517Z' }] },
        },
      ],
    },
  ],
});
