/**
 * China Telecom CTWing (AEP) HTTP push. A subscription on the platform POSTs one JSON message
 * per event to `/api/ingest/ctwing?token=…`:
 * - `dataReport`: the device's uplink. A transparent product carries the device's own bytes as
 *   base64 in `payload.APPdata` (→ a `frame`, decoded by the device type's codec, e.g. AA55;
 *   or, with `appData: 'datapoints'`, a DTU's JSON data-point list read through `dataPoints`);
 *   a product with a profile carries decoded fields in `payload.serviceData` (→ canonical
 *   events through `fields`).
 * - `deviceOnlineOfflineReport`: `eventType` 1 online, 0 offline (→ `status`).
 * - `eventReport`: a profile event; its `eventContent` goes through `fields` like serviceData.
 * - `commandResponse` and the rest: valid, nothing to use (answered 200, counted as ignored).
 *
 * The platform retries a push that does not get 200 (up to three times) and cools a
 * subscription down after repeated failures, so every valid push is answered 200, even one
 * carrying nothing StoreTwin uses. A retransmission keeps its `upPacketSN` (the device's
 * uplink counter; -1 or "" when the product has none) and the platform `timestamp`: that pair
 * is the dedupe key.
 */
import { describeIssues, isRecord } from '../../../devices/shared/json.ts';
import { z } from 'zod';
import type { AdapterMessage, AdapterRefusal, ExternalIdKey, ParseContext, ParseResult, PushRequest } from './types.ts';
import { defineAdapter, refuse } from './types.ts';
import { fieldMapOver, fieldMapSchema, listFields, mapFields, unmapEvents, type FieldMap } from './platform-fields.ts';

/**
 * The common NB-IoT door-magnet profile (the fields of the published decoded push,
 * tests/fixtures/platforms/ctwing-datareport-decoded.json). `Alarm_Status`: published profiles
 * disagree on its values (0/1 in some, 1 = alarm and 2 = restored in others), and 1 is the alarm
 * — the magnet parted — in all of them, so 1 is open and both 0 and 2 are closed; any other
 * value is skipped, never guessed. `RSRP` is a magnitude (114 = -114 dBm). `Cell_ID` is read in
 * decimal: the published "38848339" in hex would be above the 28 bits an E-UTRAN cell id has.
 * `Battery_Level` is a percentage.
 */
export const CTWING_DEFAULT_FIELDS: FieldMap = {
  Alarm_Status: { to: 'door', values: { '0': 'closed', '1': 'open', '2': 'closed' } },
  Battery_Level: { to: 'batteryPct' },
  RSRP: { to: 'rsrp', negative: true },
  SNR: { to: 'snr' },
  CSQ: { to: 'csq' },
  Cell_ID: { to: 'cellId' },
};

const settingsSchema = z
  .object({
    /**
     * What `APPdata` holds: `device` — the device's own bytes, decoded by its device type's
     * codec (AA55 frames, JSON events); `datapoints` — a DTU's JSON data-point list
     * `{"b":[{"id":"222","v":"1"}],…}`, read through `dataPoints`.
     */
    appData: z.enum(['device', 'datapoints']).default('device').describe("what APPdata holds: 'device' = the device's own bytes (AA55 frames, JSON), 'datapoints' = a DTU's data-point list read through dataPoints"),
    /** Data-point id → canonical value, for `appData: 'datapoints'`. Nothing built in. */
    dataPoints: fieldMapSchema.default({}),
    /** serviceData / eventContent field → canonical value, over CTWING_DEFAULT_FIELDS. */
    fields: fieldMapOver(CTWING_DEFAULT_FIELDS),
  })
  .strict();
type Settings = z.output<typeof settingsSchema>;

/** Milliseconds a Date can hold; a larger "timestamp" would make toISOString throw. */
const MAX_MS = 8.64e15;
const msSchema = z.union([z.number(), z.string().regex(/^\d{1,16}$/).transform(Number)]).pipe(z.number().int().min(0).max(MAX_MS));

/** `upPacketSN`: a number, "" when the product has none, sometimes a numeric string. */
const snSchema = z
  .union([z.number().int(), z.string().regex(/^-?\d{0,12}$/)])
  .optional()
  .transform((v) => (v === undefined || v === '' ? -1 : Number(v)));

const envelopeSchema = z.object({
  messageType: z.string().min(1).max(64),
  timestamp: msSchema,
});

const deviceSchema = z.object({
  deviceId: z.string().min(1).max(128),
  IMEI: z.unknown().optional(),
  productId: z.union([z.string().max(64), z.number()]).optional(),
  protocol: z.string().max(32).optional(),
});

const dataReportSchema = deviceSchema.extend({
  upPacketSN: snSchema,
  payload: z.record(z.string(), z.unknown()),
});

const onlineSchema = deviceSchema.extend({
  eventType: z.union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1')]),
});

const eventReportSchema = deviceSchema.extend({
  eventContent: z.record(z.string(), z.unknown()).optional(),
  eventType: z.union([z.number(), z.string()]).optional(),
  serviceId: z.union([z.number(), z.string()]).optional(),
});

/** Base64 as the platform writes it (standard alphabet, padded); whitespace is not expected. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A DTU's data-point list inside APPdata: `{"b":[{"id":"222","v":"1"}],"c":27,"id":…,"tm":…}`. */
const dataPointsSchema = z.object({
  b: z
    .array(z.object({ id: z.union([z.string().min(1).max(64), z.number()]), v: z.unknown() }))
    .min(1)
    .max(256),
});

/** An IMEI is 15 digits; the platform writes "" or "undefined" when it has none. */
const imeiOf = (v: unknown): string | undefined => (typeof v === 'string' && /^\d{15}$/.test(v) ? v : undefined);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Buffer): { ok: true; value: unknown } | AdapterRefusal {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return refuse('STW_ERR_PUSH_MALFORMED', 'body is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return refuse('STW_ERR_PUSH_MALFORMED', `body is not JSON: ${(err instanceof Error ? err.message : 'parse error').slice(0, 120)}`);
  }
}

interface Common {
  ids: Partial<Record<ExternalIdKey, string>>;
  at: string;
  describe: Record<string, string>;
}

function common(device: z.output<typeof deviceSchema>, timestamp: number, fallbackImei?: unknown): Common {
  const ids: Partial<Record<ExternalIdKey, string>> = { ctwing: device.deviceId };
  const imei = imeiOf(device.IMEI) ?? imeiOf(fallbackImei);
  if (imei) ids.imei = imei;
  const describe: Record<string, string> = { platform: 'CTWing' };
  if (device.productId !== undefined && device.productId !== '') describe.productId = String(device.productId);
  if (device.protocol) describe.protocol = device.protocol;
  return { ids, at: new Date(timestamp).toISOString(), describe };
}

/** Profile fields (serviceData, eventContent) → one events message, or why there is none. */
function fieldsMessage(what: string, fields: Record<string, unknown>, map: FieldMap, base: Common, dedupeKey: string): ParseResult {
  const { events, skipped } = mapFields(fields, map);
  if (events.length === 0) {
    const why = skipped.length > 0 ? skipped.join('; ') : `no field is in the field map (fields: ${listFields(fields)})`;
    return { ok: true, messages: [], ignored: `${what}: ${why}` };
  }
  return { ok: true, messages: [{ ...base, body: { kind: 'events', events }, dedupeKey }] };
}

function parseDataReport(push: Record<string, unknown>, timestamp: number, settings: Settings): ParseResult {
  const parsed = dataReportSchema.safeParse(push);
  if (!parsed.success) return refuse('STW_ERR_PUSH_SCHEMA', `dataReport: ${describeIssues(parsed.error, 4)}`);
  const report = parsed.data;
  const serviceData = isRecord(report.payload.serviceData) ? report.payload.serviceData : undefined;
  const base = common(report, timestamp, serviceData?.IMEI);
  // A device's uplink counter survives the platform's retries; a product without one (-1) is
  // keyed by the platform's receive time, which its retries keep too.
  const dedupeKey = report.upPacketSN >= 0 ? `sn:${report.upPacketSN}` : `ts:${timestamp}`;

  if (Object.hasOwn(report.payload, 'APPdata')) {
    const appData = report.payload.APPdata;
    if (typeof appData !== 'string' || appData.length === 0 || !BASE64.test(appData)) {
      return refuse('STW_ERR_PUSH_SCHEMA', 'dataReport: payload.APPdata must be non-empty base64 text');
    }
    const bytes = Buffer.from(appData, 'base64');
    if (settings.appData === 'device') return { ok: true, messages: [{ ...base, body: { kind: 'frame', payload: bytes }, dedupeKey }] };
    const json = parseJson(bytes);
    if (!json.ok) return refuse('STW_ERR_PUSH_SCHEMA', `dataReport: APPdata is not a JSON data-point list (${json.message})`);
    const list = dataPointsSchema.safeParse(json.value);
    if (!list.success) return refuse('STW_ERR_PUSH_SCHEMA', `dataReport: APPdata is not a data-point list {"b":[{"id","v"}]}: ${describeIssues(list.error, 4)}`);
    const fields: Record<string, unknown> = {};
    for (const point of list.data.b) fields[String(point.id)] ??= point.v;
    return fieldsMessage('dataReport data points', fields, settings.dataPoints, base, dedupeKey);
  }
  // LwM2M profiles nest the decoded fields in serviceData; MQTT/TCP profiles put them in
  // payload itself.
  return fieldsMessage('dataReport', serviceData ?? report.payload, settings.fields, base, dedupeKey);
}

function parse(req: PushRequest, ctx: ParseContext<Settings>): ParseResult {
  if (req.method !== 'POST') return refuse('STW_ERR_PUSH_SCHEMA', 'CTWing pushes are POSTs with a JSON body');
  const json = parseJson(req.body);
  if (!json.ok) return json;
  if (!isRecord(json.value)) return refuse('STW_ERR_PUSH_SCHEMA', 'a CTWing push is one JSON object');
  const push = json.value;
  const envelope = envelopeSchema.safeParse(push);
  if (!envelope.success) return refuse('STW_ERR_PUSH_SCHEMA', `not a CTWing push: ${describeIssues(envelope.error, 4)}`);
  const { messageType, timestamp } = envelope.data;

  switch (messageType) {
    case 'dataReport':
      return parseDataReport(push, timestamp, ctx.settings);
    case 'deviceOnlineOfflineReport': {
      const parsed = onlineSchema.safeParse(push);
      if (!parsed.success) return refuse('STW_ERR_PUSH_SCHEMA', `deviceOnlineOfflineReport: ${describeIssues(parsed.error, 4)}`);
      const online = Number(parsed.data.eventType) === 1;
      const message: AdapterMessage = {
        ...common(parsed.data, timestamp),
        body: { kind: 'status', online },
        dedupeKey: `${online ? 'online' : 'offline'}:${timestamp}`,
      };
      return { ok: true, messages: [message] };
    }
    case 'eventReport': {
      const parsed = eventReportSchema.safeParse(push);
      if (!parsed.success) return refuse('STW_ERR_PUSH_SCHEMA', `eventReport: ${describeIssues(parsed.error, 4)}`);
      const content = parsed.data.eventContent ?? {};
      const base = common(parsed.data, timestamp, content.IMEI);
      return fieldsMessage(`eventReport ${String(parsed.data.serviceId ?? '')}`.trim(), content, ctx.settings.fields, base, `event:${timestamp}`);
    }
    case 'commandResponse':
      return { ok: true, messages: [], ignored: 'commandResponse: the answer to a command, no device state' };
    default:
      return { ok: true, messages: [], ignored: `${messageType.slice(0, 64)}: a message type StoreTwin does not use` };
  }
}

function timestampOf(message: AdapterMessage, now: number): number {
  const ts = message.at ?? (message.body.kind === 'events' ? message.body.events.find((e) => e.ts)?.ts : undefined);
  const ms = ts === undefined ? NaN : Date.parse(ts);
  return Number.isFinite(ms) ? ms : now;
}

/** What the platform says about a device in every push, from the message (what a parse gave). */
interface Head {
  deviceId: string;
  imei: string;
  timestamp: number;
  tenantId: string;
  productId: string;
  protocol: string;
}

/** A dataReport, fields in the order of the published pushes. */
function dataReport(head: Head, upPacketSN: number, payload: Record<string, unknown>): Record<string, unknown> {
  return {
    upPacketSN,
    upDataSN: upPacketSN,
    topic: 'v1/up/ad',
    timestamp: head.timestamp,
    tenantId: head.tenantId,
    serviceId: '',
    protocol: head.protocol,
    productId: head.productId,
    payload,
    messageType: 'dataReport',
    deviceType: '',
    deviceId: head.deviceId,
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: head.imei,
  };
}

function render(message: AdapterMessage, ctx: ParseContext<Settings>): PushRequest {
  const deviceId = message.ids.ctwing;
  if (!deviceId) throw new RangeError('a CTWing push names its device by ids.ctwing (the deviceId)');
  const head: Head = {
    deviceId,
    imei: message.ids.imei ?? '',
    timestamp: timestampOf(message, ctx.now),
    tenantId: '10461180',
    productId: message.describe?.productId ?? '',
    protocol: message.describe?.protocol ?? 'lwm2m',
  };
  // `sn:N` came from the device's uplink counter; anything else renders as "no counter" (-1).
  const sn = /^sn:(\d{1,12})$/.exec(message.dedupeKey ?? '')?.[1];
  const upPacketSN = sn === undefined ? -1 : Number(sn);
  let push: Record<string, unknown>;
  switch (message.body.kind) {
    case 'status':
      push = {
        timestamp: head.timestamp,
        tenantId: head.tenantId,
        protocol: head.protocol,
        productId: head.productId,
        messageType: 'deviceOnlineOfflineReport',
        iccid: 'undefined',
        eventType: message.body.online ? 1 : 0,
        deviceId,
        ...(head.imei ? { IMEI: head.imei } : {}),
      };
      break;
    case 'frame':
      push = dataReport(head, upPacketSN, { APPdata: message.body.payload.toString('base64') });
      break;
    case 'events':
      if (ctx.settings.appData === 'datapoints') {
        const points = unmapEvents(message.body.events, ctx.settings.dataPoints);
        const list = { b: Object.entries(points).map(([id, v]) => ({ id, v: String(v) })), c: Object.keys(points).length, id: head.timestamp, tm: head.timestamp };
        push = dataReport(head, upPacketSN, { APPdata: Buffer.from(JSON.stringify(list), 'utf8').toString('base64') });
      } else {
        push = dataReport(head, upPacketSN, { serviceId: 'notification', serviceData: unmapEvents(message.body.events, ctx.settings.fields) });
      }
      break;
  }
  return { method: 'POST', body: Buffer.from(JSON.stringify(push), 'utf8'), contentType: 'application/json', query: {} };
}

// ---- examples: the published pushes as they are, and pushes built to the same shapes ----

/** tests/fixtures/platforms/ctwing-datareport-passthrough.json, byte for byte. */
export const CTWING_PASSTHROUGH_FIXTURE =
  '{"upPacketSN":-1,"upDataSN":-1,"topic":"ad","timestamp":1609231209882,"tenantId":"10461180","serviceId":"","protocol":"tcp","productId":"15017085","payload":{"APPdata":"ewogICAiYiIgOiBbCiAgICAgIHsKICAgICAgICAgImlkIiA6ICIyMjIiLAogICAgICAgICAidiIgOiAiMSIKICAgICAgfQogICBdLAogICAiYyIgOiAyNywKICAgImlkIiA6IDE2MDkyMzEyMDk3NjcsCiAgICJ0bSIgOiAxNjA5MjMxMjA5NzY3Cn0="},"messageType":"dataReport","deviceType":"","deviceId":"1501708501","assocAssetId":"","IMSI":"","IMEI":""}\n';
/** tests/fixtures/platforms/ctwing-datareport-decoded.json, byte for byte. */
export const CTWING_DECODED_FIXTURE =
  '{"upPacketSN":-1,"upDataSN":-1,"topic":"v1/up/ad19prof","timestamp":1606982320277,"tenantId":"10461180","serviceId":"","protocol":"lwm2m","productId":"15014772","payload":{"serviceId":"notification","serviceData":{"TData":30,"SNR":1,"RSRP":114,"IMEI":"860374051096202","Cell_ID_Length":8,"Cell_ID":"38848339","CSQ":5,"Battery_Level":100,"Alarm_Status":2,"AlarmLevel":100}},"messageType":"dataReport","deviceType":"","deviceId":"acf7baaee65e431eadfb8f5fe50e8b81","assocAssetId":"","IMSI":"undefined","IMEI":"860374051096202"}\n';

const post = (text: string): PushRequest => ({ method: 'POST', body: Buffer.from(text, 'utf8'), contentType: 'application/json', query: {} });

const PASSTHROUGH_APPDATA = Buffer.from(
  'ewogICAiYiIgOiBbCiAgICAgIHsKICAgICAgICAgImlkIiA6ICIyMjIiLAogICAgICAgICAidiIgOiAiMSIKICAgICAgfQogICBdLAogICAiYyIgOiAyNywKICAgImlkIiA6IDE2MDkyMzEyMDk3NjcsCiAgICJ0bSIgOiAxNjA5MjMxMjA5NzY3Cn0=',
  'base64',
);
/** The AA55 alarm frame of tests/fixtures/door-magnet-aa55.md: door open, 3112 mV. */
const AA55_OPEN = Buffer.from('AA5501030A010000000000280C000043', 'hex');

export const ctwing = defineAdapter<Settings>({
  id: 'ctwing',
  label: { en: 'CTWing (China Telecom AEP) HTTP push', 'zh-CN': '天翼物联 CTWing (AEP) HTTP 推送' },
  externalIdKeys: ['ctwing', 'imei'],
  settingsSchema,
  delivery: 'push',
  parse,
  render,
  examples: [
    {
      name: 'dataReport with transparent APPdata (published push): the bytes go to the device codec',
      request: post(CTWING_PASSTHROUGH_FIXTURE),
      settings: {},
      expect: [
        {
          ids: { ctwing: '1501708501' },
          body: { kind: 'frame', payload: PASSTHROUGH_APPDATA },
          at: '2020-12-29T08:40:09.882Z',
          dedupeKey: 'ts:1609231209882',
          describe: { platform: 'CTWing', productId: '15017085', protocol: 'tcp' },
        },
      ],
    },
    {
      name: "dataReport with a DTU's data-point list in APPdata (published push), data point 222 mapped to the door",
      request: post(CTWING_PASSTHROUGH_FIXTURE),
      settings: { appData: 'datapoints', dataPoints: { '222': { to: 'door', values: { '1': 'open', '0': 'closed' } } } },
      expect: [
        {
          ids: { ctwing: '1501708501' },
          body: { kind: 'events', events: [{ type: 'door', state: 'open' }] },
          at: '2020-12-29T08:40:09.882Z',
          dedupeKey: 'ts:1609231209882',
          describe: { platform: 'CTWing', productId: '15017085', protocol: 'tcp' },
        },
      ],
    },
    {
      name: 'dataReport with profile-decoded serviceData (published push), default door-magnet field map',
      request: post(CTWING_DECODED_FIXTURE),
      settings: {},
      expect: [
        {
          ids: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81', imei: '860374051096202' },
          body: {
            kind: 'events',
            events: [
              { type: 'door', state: 'closed' },
              { type: 'heartbeat', rsrp: -114, snr: 1, csq: 5, cellId: 38848339, batteryPct: 100 },
            ],
          },
          at: '2020-12-03T07:58:40.277Z',
          dedupeKey: 'ts:1606982320277',
          describe: { platform: 'CTWing', productId: '15014772', protocol: 'lwm2m' },
        },
      ],
    },
    {
      name: "dataReport with an AA55 door frame in APPdata and the device's uplink counter (built to the published shape)",
      request: post(
        JSON.stringify(
          dataReport(
            {
              deviceId: 'acf7baaee65e431eadfb8f5fe50e8b81',
              imei: '860374051096202',
              timestamp: 1606982400123,
              tenantId: '10461180',
              productId: '15014772',
              protocol: 'lwm2m',
            },
            17,
            { APPdata: AA55_OPEN.toString('base64') },
          ),
        ),
      ),
      settings: {},
      expect: [
        {
          ids: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81', imei: '860374051096202' },
          body: { kind: 'frame', payload: AA55_OPEN },
          at: '2020-12-03T08:00:00.123Z',
          dedupeKey: 'sn:17',
          describe: { platform: 'CTWing', productId: '15014772', protocol: 'lwm2m' },
        },
      ],
    },
    {
      name: 'deviceOnlineOfflineReport, eventType 0 = offline (built to the documented shape)',
      request: post(
        '{"timestamp":1606982460456,"tenantId":"10461180","protocol":"lwm2m","productId":"15014772","messageType":"deviceOnlineOfflineReport","iccid":"undefined","eventType":0,"deviceId":"acf7baaee65e431eadfb8f5fe50e8b81"}',
      ),
      settings: {},
      expect: [
        {
          ids: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81' },
          body: { kind: 'status', online: false },
          at: '2020-12-03T08:01:00.456Z',
          dedupeKey: 'offline:1606982460456',
          describe: { platform: 'CTWing', productId: '15014772', protocol: 'lwm2m' },
        },
      ],
    },
    {
      name: 'commandResponse: valid, nothing to use (ignored, answered 200)',
      request: post(
        '{"timestamp":1606982470000,"tenantId":"10461180","taskId":3,"result":{"resultDetail":"","resultCode":"DELIVERED"},"protocol":"lwm2m","productId":"15014772","messageType":"commandResponse","deviceId":"acf7baaee65e431eadfb8f5fe50e8b81"}',
      ),
      settings: {},
      expect: [],
    },
  ],
});
