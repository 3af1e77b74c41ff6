/**
 * China Mobile OneNET HTTP push (plaintext mode). The platform first checks the URL with a GET
 * `?msg=…&nonce=…&signature=…` and expects `msg` echoed as the body when
 * base64(md5(token + nonce + msg)) equals `signature`; then it POSTs
 * `{"msg": …, "msg_signature": "…", "nonce": "…"}` where `msg_signature` is
 * base64(md5(token + nonce + the text of `msg` exactly as sent)) and `msg` is one message or an
 * array of them:
 * - `type` 1, a data point (`dev_id`, `ds_id`, `value`, `at` ms): the stream named in
 *   `frameStreams` (default the LwM2M resource 3200/0/5750, `3200_0_5750`) carries the
 *   device's own bytes as hex text (→ a `frame` for the device type's codec); other streams go
 *   through the `fields` map, the data points of one device at one `at` together;
 * - `type` 2, online/offline (`status` 1/0, → `status`);
 * - `type` 7 (a cached command's result) and the rest: valid, nothing to use.
 * The platform retries a push that does not get 200, so a retry is the same message again:
 * dev_id, `at` and stream make the dedupe key. The encrypted mode (`enc_msg`, AES) is not
 * supported: such a push is refused with a message saying so.
 */
import { describeIssues, isRecord } from '../../../devices/shared/json.ts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { AdapterMessage, ExternalIdKey, ParseContext, ParseResult, PushRequest } from './types.ts';
import { defineAdapter, refuse } from './types.ts';
import { fieldMapSchema, listFields, mapFields, unmapEvents } from './platform-fields.ts';

/** IPSO/LwM2M object 3200 instance 0 resource 5750, where NB-IoT door magnets put their frames. */
export const ONENET_FRAME_STREAM = '3200_0_5750';

const settingsSchema = z
  .object({
    /** The push instance's token (OneNET 推送 "Token"): every push and the URL check are signed with it. */
    token: z.string().min(1).max(128).describe("the Token of OneNET's HTTP push (not StoreTwin's integration token): OneNET signs every push with it"),
    /** Data streams whose value is the device's own bytes as hex text. */
    frameStreams: z.array(z.string().min(1).max(64)).min(1).max(16).default([ONENET_FRAME_STREAM]),
    /** Other data streams (`ds_id`) → canonical values. Nothing built in. */
    fields: fieldMapSchema.default({}),
  })
  .strict();
type Settings = z.output<typeof settingsSchema>;

// ---- the signature ------------------------------------------------------------------------

/** base64(md5(token + nonce + text)), the digest OneNET signs pushes and the URL check with. */
export function onenetSignature(token: string, nonce: string, text: string): string {
  return createHash('md5').update(token + nonce + text, 'utf8').digest('base64');
}

/** Compares base64 text in constant time (for equal lengths; the length of a digest is public). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const JSON_SPACE = new Set([' ', '\t', '\n', '\r']);

function skipSpace(text: string, i: number): number {
  while (i < text.length && JSON_SPACE.has(text[i] ?? '')) i++;
  return i;
}

/** Index after the string starting at `i` (a `"`). */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  return text.length;
}

/** Index after the JSON value starting at `i`. */
function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; ) {
      const d = text[j];
      if (d === '"') {
        j = endOfString(text, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !JSON_SPACE.has(text[j] ?? '') && text[j] !== ',' && text[j] !== '}' && text[j] !== ']') j++;
  return j;
}

/**
 * The text of a top-level member's value exactly as it stands in `text`, a JSON object that
 * JSON.parse already accepted (so the scan needs no error handling beyond giving up). The last
 * of duplicate keys wins, as in JSON.parse. The signature is over these characters: re-encoding
 * the parsed value could reorder, re-space or re-escape them.
 */
export function rawMemberText(text: string, key: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return undefined;
  let found: string | undefined;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = endOfString(text, i);
    const name: unknown = JSON.parse(text.slice(i, keyEnd));
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const start = skipSpace(text, i + 1);
    const end = endOfValue(text, start);
    if (name === key) found = text.slice(start, end);
    i = skipSpace(text, end);
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      continue;
    }
    return text[i] === '}' ? found : undefined;
  }
}

// ---- messages -----------------------------------------------------------------------------

const MAX_MS = 8.64e15;
const msSchema = z.union([z.number(), z.string().regex(/^\d{1,16}$/).transform(Number)]).pipe(z.number().int().min(0).max(MAX_MS));

const itemSchema = z.object({
  type: z.number().int(),
  dev_id: z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)]).transform(String),
  at: msSchema,
  ds_id: z.string().min(1).max(128).optional(),
  value: z.unknown().optional(),
  status: z.union([z.literal(0), z.literal(1)]).optional(),
  login_type: z.number().int().optional(),
  imei: z.unknown().optional(),
});
type Item = z.output<typeof itemSchema>;

/** Messages one push may carry; OneNET batches a few, and the body is capped in size anyway. */
const MAX_ITEMS = 500;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

const envelopeSchema = z.object({
  msg_signature: z.string().min(1).max(128),
  nonce: z.string().min(1).max(128),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

function idsOf(item: Item): Partial<Record<ExternalIdKey, string>> {
  const ids: Partial<Record<ExternalIdKey, string>> = { onenet: item.dev_id };
  if (typeof item.imei === 'string' && /^\d{15}$/.test(item.imei)) ids.imei = item.imei;
  return ids;
}

/** Data points of one device at one instant: read together, as one report. */
interface Group {
  kind: 'group';
  item: Item;
  fields: Record<string, unknown>;
}

function verifyUrl(query: Readonly<Record<string, string>>, token: string): ParseResult {
  const { msg, nonce, signature } = query;
  if (msg === undefined || nonce === undefined || signature === undefined) {
    return refuse('STW_ERR_PUSH_SCHEMA', 'a OneNET GET is the URL check: it carries msg, nonce and signature');
  }
  const expected = onenetSignature(token, nonce, msg);
  // A "+" in the signature that the platform did not percent-encode arrives as a space.
  if (!sameSignature(expected, signature) && !sameSignature(expected, signature.replaceAll(' ', '+'))) {
    return refuse('STW_ERR_PUSH_SIGNATURE', "the URL check's signature does not verify against the integration's token");
  }
  return { ok: true, messages: [], ignored: 'OneNET URL check', reply: { status: 200, contentType: 'text/plain', body: msg } };
}

function parse(req: PushRequest, ctx: ParseContext<Settings>): ParseResult {
  if (req.method === 'GET') return verifyUrl(req.query, ctx.settings.token);
  let text: string;
  try {
    text = utf8.decode(req.body);
  } catch {
    return refuse('STW_ERR_PUSH_MALFORMED', 'body is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return refuse('STW_ERR_PUSH_MALFORMED', `body is not JSON: ${(err instanceof Error ? err.message : 'parse error').slice(0, 120)}`);
  }
  if (!isRecord(body)) return refuse('STW_ERR_PUSH_SCHEMA', 'a OneNET push is one JSON object {msg, msg_signature, nonce}');
  if (Object.hasOwn(body, 'enc_msg')) {
    return refuse('STW_ERR_PUSH_SCHEMA', 'encrypted OneNET pushes (enc_msg, 安全模式) are not supported: set the push instance to plaintext (明文模式)');
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success || !Object.hasOwn(body, 'msg')) {
    return refuse('STW_ERR_PUSH_SCHEMA', `not a OneNET push {msg, msg_signature, nonce}: ${envelope.success ? 'msg: required' : describeIssues(envelope.error, 4)}`);
  }
  const { msg_signature: signature, nonce } = envelope.data;

  // The signature is over the characters of `msg` as sent; a string `msg` (JSON inside JSON)
  // may be signed over its content; a body re-encoded on the way is tried as JSON.stringify
  // would write it. Each is a full digest check, so none weakens it.
  const candidates = new Set<string>();
  const raw = rawMemberText(text, 'msg');
  if (raw !== undefined) candidates.add(raw);
  if (typeof body.msg === 'string') candidates.add(body.msg);
  candidates.add(JSON.stringify(body.msg));
  let verified = false;
  for (const candidate of candidates) {
    if (sameSignature(onenetSignature(ctx.settings.token, nonce, candidate), signature)) verified = true;
  }
  if (!verified) return refuse('STW_ERR_PUSH_SIGNATURE', "msg_signature does not verify against the integration's token");

  let msg: unknown = body.msg;
  if (typeof msg === 'string') {
    try {
      msg = JSON.parse(msg);
    } catch {
      return refuse('STW_ERR_PUSH_SCHEMA', 'msg is text but not JSON');
    }
  }
  const list = Array.isArray(msg) ? msg : [msg];
  if (list.length === 0) return { ok: true, messages: [], ignored: 'an empty msg array' };
  if (list.length > MAX_ITEMS) return refuse('STW_ERR_PUSH_SCHEMA', `msg holds ${list.length} messages; at most ${MAX_ITEMS} are read from one push`);
  return readItems(list, Array.isArray(msg), ctx.settings);
}

function readItems(list: readonly unknown[], isArray: boolean, settings: Settings): ParseResult {
  const where = (i: number): string => (isArray ? `msg[${i}]` : 'msg');
  const ordered: Array<AdapterMessage | Group> = [];
  const groups = new Map<string, Group>();
  const ignored: string[] = [];
  for (const [i, entry] of list.entries()) {
    const parsed = itemSchema.safeParse(entry);
    if (!parsed.success) return refuse('STW_ERR_PUSH_SCHEMA', `${where(i)}: ${describeIssues(parsed.error, 4)}`);
    const item = parsed.data;
    const at = new Date(item.at).toISOString();
    if (item.type === 1) {
      if (item.ds_id === undefined || item.value === undefined) return refuse('STW_ERR_PUSH_SCHEMA', `${where(i)}: a data point (type 1) has ds_id and value`);
      if (settings.frameStreams.includes(item.ds_id)) {
        if (typeof item.value !== 'string' || !HEX.test(item.value)) {
          return refuse('STW_ERR_PUSH_SCHEMA', `${where(i)}: the value of ${item.ds_id} is the device's bytes as hex text`);
        }
        ordered.push({
          ids: idsOf(item),
          body: { kind: 'frame', payload: Buffer.from(item.value, 'hex') },
          at,
          dedupeKey: `${item.dev_id}:${item.at}:${item.ds_id}`,
          describe: { platform: 'OneNET' },
        });
        continue;
      }
      const key = `${item.dev_id}\u0000${item.at}`;
      let group = groups.get(key);
      if (!group) {
        group = { kind: 'group', item, fields: {} };
        groups.set(key, group);
        ordered.push(group);
      }
      group.fields[item.ds_id] ??= item.value;
      continue;
    }
    if (item.type === 2) {
      if (item.status === undefined) return refuse('STW_ERR_PUSH_SCHEMA', `${where(i)}: an online/offline message (type 2) has status 0 or 1`);
      const describe: Record<string, string> = { platform: 'OneNET' };
      if (item.login_type !== undefined) describe.loginType = String(item.login_type);
      ordered.push({
        ids: idsOf(item),
        body: { kind: 'status', online: item.status === 1 },
        at,
        dedupeKey: `${item.dev_id}:${item.at}:status`,
        describe,
      });
      continue;
    }
    ignored.push(item.type === 7 ? 'type 7: a command result, no device state' : `type ${item.type}: a message type StoreTwin does not use`);
  }

  const messages: AdapterMessage[] = [];
  for (const entry of ordered) {
    if (!('kind' in entry)) {
      messages.push(entry);
      continue;
    }
    const { item, fields } = entry;
    const { events, skipped } = mapFields(fields, settings.fields);
    if (events.length === 0) {
      ignored.push(`data streams of ${item.dev_id}: ${skipped.length > 0 ? skipped.join('; ') : `none is in the field map (${listFields(fields)})`}`);
      continue;
    }
    messages.push({
      ids: idsOf(item),
      body: { kind: 'events', events },
      at: new Date(item.at).toISOString(),
      dedupeKey: `${item.dev_id}:${item.at}:${Object.keys(fields).sort().join(',')}`,
      describe: { platform: 'OneNET' },
    });
  }
  if (messages.length === 0) return { ok: true, messages: [], ignored: ignored.join('; ') || 'nothing to use' };
  return { ok: true, messages };
}

// ---- render -------------------------------------------------------------------------------

/** A signed envelope around `msg`, its text written exactly as signed. */
export function onenetEnvelope(token: string, msg: unknown, nonce = randomBytes(6).toString('base64url')): Buffer {
  const text = JSON.stringify(msg);
  const signature = onenetSignature(token, nonce, text);
  return Buffer.from(`{"msg":${text},"msg_signature":${JSON.stringify(signature)},"nonce":${JSON.stringify(nonce)}}`, 'utf8');
}

function render(message: AdapterMessage, ctx: ParseContext<Settings>): PushRequest {
  const devId = message.ids.onenet;
  if (!devId || !/^\d{1,15}$/.test(devId)) throw new RangeError('a OneNET push names its device by ids.onenet, the numeric dev_id');
  const dev_id = Number(devId);
  const parsedAt = message.at === undefined ? NaN : Date.parse(message.at);
  const at = Number.isFinite(parsedAt) ? parsedAt : ctx.now;
  const imei = message.ids.imei ? { imei: message.ids.imei } : {};
  let msg: unknown;
  switch (message.body.kind) {
    case 'frame':
      msg = { at, type: 1, ds_id: ctx.settings.frameStreams[0] ?? ONENET_FRAME_STREAM, value: message.body.payload.toString('hex').toUpperCase(), dev_id, ...imei };
      break;
    case 'status':
      msg = { at, login_type: Number(message.describe?.loginType ?? 10), type: 2, status: message.body.online ? 1 : 0, dev_id, ...imei };
      break;
    case 'events': {
      const points = Object.entries(unmapEvents(message.body.events, ctx.settings.fields)).map(([ds_id, value]) => ({ at, type: 1, ds_id, value, dev_id, ...imei }));
      msg = points.length === 1 ? points[0] : points;
      break;
    }
  }
  return { method: 'POST', body: onenetEnvelope(ctx.settings.token, msg), contentType: 'application/json', query: {} };
}

// ---- examples -----------------------------------------------------------------------------

/** tests/fixtures/platforms/onenet-push-datapoint.json, byte for byte (token `storetwin-onenet-token`). */
export const ONENET_DATAPOINT_FIXTURE =
  '{"msg":{"at":1732857600123,"type":1,"ds_id":"3200_0_5750","value":"AA5501030A010000000000280C000043","dev_id":2016548723},"msg_signature":"lFYZsgwaJBoGaTPXngriag==","nonce":"Zq7pX2aB"}\n';
/** tests/fixtures/platforms/onenet-push-offline.json, byte for byte. */
export const ONENET_OFFLINE_FIXTURE =
  '{"msg":{"at":1732857660456,"login_type":10,"type":2,"status":0,"dev_id":2016548723},"msg_signature":"5Tc7Xk+QYyeAMNK1nY/MTg==","nonce":"Zq7pX2aB"}\n';

const FIXTURE_TOKEN = 'storetwin-onenet-token';
const post = (body: Buffer | string): PushRequest => ({ method: 'POST', body: Buffer.from(body), contentType: 'application/json', query: {} });
const DOOR_STREAMS = { door_state: { to: 'door', values: { '1': 'open', '0': 'closed' } }, rsrp: { to: 'rsrp' } } as const;

export const onenet = defineAdapter<Settings>({
  id: 'onenet',
  label: { en: 'OneNET (China Mobile) HTTP push', 'zh-CN': '中国移动 OneNET HTTP 推送' },
  externalIdKeys: ['onenet', 'imei'],
  settingsSchema,
  secretSettings: ['token'],
  delivery: 'push',
  parse,
  render,
  examples: [
    {
      name: "data point on 3200_0_5750: the door magnet's AA55 frame as hex (fixture)",
      request: post(ONENET_DATAPOINT_FIXTURE),
      settings: { token: FIXTURE_TOKEN },
      expect: [
        {
          ids: { onenet: '2016548723' },
          body: { kind: 'frame', payload: Buffer.from('AA5501030A010000000000280C000043', 'hex') },
          at: '2024-11-29T05:20:00.123Z',
          dedupeKey: '2016548723:1732857600123:3200_0_5750',
          describe: { platform: 'OneNET' },
        },
      ],
    },
    {
      name: 'the device went offline, type 2 status 0 (fixture)',
      request: post(ONENET_OFFLINE_FIXTURE),
      settings: { token: FIXTURE_TOKEN },
      expect: [
        {
          ids: { onenet: '2016548723' },
          body: { kind: 'status', online: false },
          at: '2024-11-29T05:21:00.456Z',
          dedupeKey: '2016548723:1732857660456:status',
          describe: { platform: 'OneNET', loginType: '10' },
        },
      ],
    },
    {
      name: 'URL check: GET ?msg=&nonce=&signature= answered with msg (fixture README)',
      request: { method: 'GET', body: Buffer.alloc(0), contentType: '', query: { msg: 'x7Kq2', nonce: 'n0nceV1', signature: '0OZd638AoYujiULtLRGn9A==' } },
      settings: { token: FIXTURE_TOKEN },
      expect: [],
    },
    {
      name: 'two data streams of one device at one instant, mapped by the fields setting (built, signed with the token)',
      request: post(
        onenetEnvelope(
          FIXTURE_TOKEN,
          [
            { at: 1732857700000, type: 1, ds_id: 'door_state', value: 1, dev_id: 2016548723 },
            { at: 1732857700000, type: 1, ds_id: 'rsrp', value: -97, dev_id: 2016548723 },
          ],
          'Rk3mP0qL',
        ),
      ),
      settings: { token: FIXTURE_TOKEN, fields: DOOR_STREAMS },
      expect: [
        {
          ids: { onenet: '2016548723' },
          body: { kind: 'events', events: [{ type: 'door', state: 'open' }, { type: 'heartbeat', rsrp: -97 }] },
          at: '2024-11-29T05:21:40.000Z',
          dedupeKey: '2016548723:1732857700000:door_state,rsrp',
          describe: { platform: 'OneNET' },
        },
      ],
    },
  ],
});
