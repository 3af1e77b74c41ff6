/**
 * Hikvision ISAPI event push ("HTTP listening host" / alarm server): a camera, NVR or people
 * counter POSTs an XML `EventNotificationAlert` for each event, as the raw body
 * (`application/xml`) or as one part of a `multipart/form-data` body whose other parts are the
 * event's JPEG pictures.
 *
 * - `PeopleCounting`: `timeRange` counts (enter/exit within a window) become a `count` event;
 *   `realTime` running totals (since the counter's daily reset) become deltas against the last
 *   totals kept in the integration state. `pass` (walked past without entering) is not footfall.
 * - `linedetection`, `fielddetection`, `regionEntrance`, `regionExiting`, `VMD` while active
 *   become camera `motion` labelled with the event type, zoned by the region/line id.
 * - Anything else (heartBeat, videoloss, inactive states…) is answered 200 and ignored, so the
 *   device does not retry it.
 *
 * The device is named by its MAC (`hikvision` external id, normalised by `normalizeMac`); an
 * NVR pushes for all its cameras with its own MAC, so the integration may map channel numbers
 * to device ids (`settings.channels`), used when no device has the MAC.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { DeviceEvent, MotionEvent } from '../../../devices/types.ts';
import { normalizeMac } from '../../registry/external-ids.ts';
import { describeIssues, tsSchema } from '../../../devices/shared/json.ts';
import { buildMultipart, multipartBoundary, parseMultipart, type MultipartPart } from './multipart.ts';
import {
  defineAdapter,
  type AdapterMessage,
  type AdapterRefusal,
  type ParseContext,
  type ParseResult,
  type PushRequest,
} from './types.ts';

export interface HikvisionSettings {
  /** ISAPI `channelID` → StoreTwin device id, for pushes whose MAC names no device (an NVR's). */
  channels?: Record<string, string>;
}

const settingsSchema = z
  .object({
    channels: z
      .record(
        z.string().regex(/^\d{1,6}$/, 'channel ids are the ISAPI channelID numbers, e.g. "1" or "33"'),
        z.string().regex(/^[a-z0-9-]+$/, 'a StoreTwin device id ([a-z0-9-]+)'),
      )
      .optional(),
  })
  .strict();

/**
 * The `hikvision` external id's one spelling (`44:47:cc:50:00:c1` for `44-47-CC-50-00-C1`,
 * `4447cc5000c1`…): the registry's, so that what a technician typed and what a device sends
 * match. Re-exported here because it is this platform's id.
 */
export { normalizeMac };

/** What `normalizeMac` makes of a real MAC address. */
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

// ---------------------------------------------------------------------------------------------
// XML

const parser = new XMLParser({
  ignoreAttributes: true,
  // `<ns:EventNotificationAlert>` and the default namespace (psialliance or hikvision.com) alike.
  removeNSPrefix: true,
  // Every value stays text: counts and ids are checked here, not guessed by the parser.
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Only the five predefined entities: documents with a DTD are refused before parsing.
  processEntities: true,
  htmlEntities: false,
});

/** XML tree with element names lower-cased: firmwares differ in case (`TimeRange`, `timeRange`). */
type Tree = { [name: string]: Tree | Tree[] | string | string[] };

function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (key === '__proto__' || key === '#text') continue;
    const existing = out[key];
    // Two spellings of one element (`enter` and `Enter`) read as a repeated element.
    out[key] = existing === undefined ? lowerKeys(v) : ([] as unknown[]).concat(existing, lowerKeys(v));
  }
  return out;
}

function refuse(code: AdapterRefusal['code'], message: string): AdapterRefusal {
  return { ok: false, code, message };
}

/** XML text → the alert's element tree, or a refusal. */
function readAlert(text: string): { ok: true; alert: Tree } | AdapterRefusal {
  // XXE and billion laughs: an ISAPI alert never has a DTD, so no DTD is ever read.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return refuse('STW_ERR_PUSH_MALFORMED', 'XML with a DOCTYPE or entity declarations is refused');
  const valid = XMLValidator.validate(text);
  if (valid !== true) return refuse('STW_ERR_PUSH_MALFORMED', `XML: ${valid.err.msg} (line ${valid.err.line})`);
  let tree: unknown;
  try {
    tree = lowerKeys(parser.parse(text));
  } catch (err) {
    return refuse('STW_ERR_PUSH_MALFORMED', `XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const roots = Object.keys(tree as Record<string, unknown>);
  if (roots.length !== 1) return refuse('STW_ERR_PUSH_MALFORMED', 'XML must have exactly one root element');
  if (roots[0] !== 'eventnotificationalert') {
    return refuse('STW_ERR_PUSH_SCHEMA', `not an ISAPI EventNotificationAlert (root element <${roots[0]!.slice(0, 40)}>)`);
  }
  const alert = (tree as Record<string, unknown>).eventnotificationalert;
  if (Array.isArray(alert)) return refuse('STW_ERR_PUSH_MALFORMED', 'XML must have exactly one root element');
  if (typeof alert !== 'object' || alert === null) {
    return refuse('STW_ERR_PUSH_SCHEMA', 'EventNotificationAlert must hold elements');
  }
  return { ok: true, alert: alert as Tree };
}

// ---------------------------------------------------------------------------------------------
// The alert's shape (element names lower-cased)

/** Whole numbers as counters send them; nine digits is beyond any day of footfall. */
const countText = z.string().regex(/^\s*\d{1,9}\s*$/, 'must be a whole number (at most 9 digits)').transform(Number);
const idText = z.string().trim().regex(/^\d{1,6}$/, 'must be a channel number');
/** ISAPI date-times: ISO 8601 with an offset (`+08:00`, `+0800` or `Z`), or local time without one. */
const dateText = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/i, 'must be an ISO 8601 date-time')
  .refine((s) => Number.isFinite(Date.parse(s)), 'must be a real date-time');
const text = z.string().trim().max(256);

const alertSchema = z.looseObject({
  macaddress: text.optional(),
  ipaddress: text.optional(),
  channelid: idText.optional(),
  dynchannelid: idText.optional(),
  channelname: text.optional(),
  datetime: dateText,
  eventtype: z.string().trim().min(1).max(64),
  eventstate: text.optional(),
});

const peopleCountingSchema = z.looseObject({
  statisticalmethods: z.string().trim().min(1).max(64),
  timerange: z.looseObject({ starttime: dateText, endtime: dateText }).optional(),
  realtime: z.looseObject({ time: dateText.optional() }).optional(),
  enter: countText,
  exit: countText,
  pass: countText.optional(),
  regionsid: text.optional(),
});

const regionEntrySchema = z.looseObject({ regionid: text.optional() });

/** Motion-like smart events, by lower-cased eventType → the canonical spelling used as the label. */
const MOTION_TYPES: Readonly<Record<string, string>> = {
  linedetection: 'linedetection',
  fielddetection: 'fielddetection',
  regionentrance: 'regionEntrance',
  regionexiting: 'regionExiting',
  vmd: 'VMD',
};

/** Offsets as `+08:00` (ISO 8601 extended); undefined for a local time without one. */
function isoWithOffset(value: string): string | undefined {
  const v = value.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/z$/, 'Z');
  return tsSchema.safeParse(v).success ? v : undefined;
}

/** Seconds since the device's own midnight, read from the wall time it wrote. */
function secondsSinceLocalMidnight(value: string): number {
  const m = /T(\d{2}):(\d{2}):(\d{2})/.exec(value);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------
// realTime counting: running totals → deltas

/**
 * The first realTime report heard for a counter only sets the baseline (its totals may already
 * have been counted before StoreTwin restarted), unless it comes within this long after the
 * device's midnight: the totals then cover minutes since the daily reset and are counted whole.
 */
export const REALTIME_FRESH_S = 600;

interface Totals {
  enter: number;
  exit: number;
  /** Device time of the report, ms since the epoch. */
  at: number;
}

function totalsStore(state: Record<string, unknown>): Record<string, Totals> {
  const existing = state.realTime;
  if (typeof existing === 'object' && existing !== null) return existing as Record<string, Totals>;
  const created: Record<string, Totals> = {};
  state.realTime = created;
  return created;
}

type CountOutcome = { count: { in: number; out: number; period: number } } | { ignored: string };

function realTimeDelta(state: Record<string, unknown>, key: string, enter: number, exit: number, time: string): CountOutcome {
  const store = totalsStore(state);
  const at = Date.parse(time);
  const prev = store[key];
  if (!prev) {
    store[key] = { enter, exit, at };
    const sinceMidnight = secondsSinceLocalMidnight(time);
    if (sinceMidnight <= REALTIME_FRESH_S) return { count: { in: enter, out: exit, period: Math.max(1, sinceMidnight) } };
    return { ignored: `realTime baseline set (enter ${enter}, exit ${exit}): the first report only starts the running totals` };
  }
  // A report older than the last one (a retransmission after an outage) would look like a reset.
  if (at < prev.at) return { ignored: 'realTime report older than the last one heard' };
  store[key] = { enter, exit, at };
  const period = Math.max(1, Math.round((at - prev.at) / 1000));
  // A total that went down means the counter restarted from zero (its daily reset, a reboot):
  // everything it shows now was counted since, and nothing is ever negative.
  if (enter < prev.enter || exit < prev.exit) return { count: { in: enter, out: exit, period } };
  return { count: { in: enter - prev.enter, out: exit - prev.exit, period } };
}

// ---------------------------------------------------------------------------------------------
// parse

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function isJpeg(bytes: Buffer): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

const XML_START = /^\s*</;

function isXmlPart(part: MultipartPart): boolean {
  if (part.contentType?.includes('xml')) return true;
  if (/\.xml$/i.test(part.filename ?? part.name ?? '')) return true;
  return !part.contentType?.startsWith('image/') && XML_START.test(part.body.subarray(0, 64).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, ''));
}

function isPicturePart(part: MultipartPart): boolean {
  return part.contentType?.startsWith('image/') === true || /\.jpe?g$/i.test(part.filename ?? part.name ?? '');
}

/** The body's alert text and the best picture with it (the largest JPEG), or a refusal. */
function unwrap(req: PushRequest): { ok: true; xml: string; picture?: Buffer } | AdapterRefusal | { ok: true; empty: true } {
  const boundary =
    multipartBoundary(req.contentType) ??
    // A device that posts multipart without saying so: the body opens with its delimiter line.
    (/^\s*multipart\//i.test(req.contentType) ? undefined : /^--([^\r\n]{1,70})\r?\n/.exec(req.body.subarray(0, 80).toString('latin1'))?.[1]);
  if (/^\s*multipart\//i.test(req.contentType) && boundary === undefined) {
    return refuse('STW_ERR_PUSH_MALFORMED', 'multipart Content-Type without a boundary');
  }
  if (boundary === undefined) {
    const xml = req.body.toString('utf8').replace(/^\uFEFF/, '');
    if (xml.trim() === '') return { ok: true, empty: true };
    return { ok: true, xml };
  }
  const split = parseMultipart(req.body, boundary);
  if (!split.ok) return refuse('STW_ERR_PUSH_MALFORMED', split.message);
  const xmlPart = split.parts.find(isXmlPart);
  if (!xmlPart) return refuse('STW_ERR_PUSH_SCHEMA', 'multipart push has no XML part (the EventNotificationAlert)');
  // Pictures that are not JPEG (or are cut short at the start) are dropped, not fatal.
  const jpegs = split.parts.filter((p) => p !== xmlPart && isPicturePart(p) && isJpeg(p.body));
  const picture = jpegs.reduce<Buffer | undefined>((best, p) => (!best || p.body.length > best.length ? p.body : best), undefined);
  const xml = xmlPart.body.toString('utf8').replace(/^\uFEFF/, '');
  return picture ? { ok: true, xml, picture: Buffer.from(picture) } : { ok: true, xml };
}

function parsePush(req: PushRequest, ctx: ParseContext<HikvisionSettings>): ParseResult {
  if (req.method === 'GET') return { ok: true, messages: [], ignored: 'GET carries no alert' };
  const unwrapped = unwrap(req);
  if (!unwrapped.ok) return unwrapped;
  // The device's "test" of the listening host may post nothing: answered 200.
  if ('empty' in unwrapped) return { ok: true, messages: [], ignored: 'empty push' };
  const read = readAlert(unwrapped.xml);
  if (!read.ok) return read;
  const parsed = alertSchema.safeParse(read.alert);
  if (!parsed.success) return refuse('STW_ERR_PUSH_SCHEMA', `EventNotificationAlert: ${describeIssues(parsed.error)}`);
  const alert = parsed.data;

  let mac: string | undefined;
  if (alert.macaddress !== undefined && alert.macaddress !== '') {
    mac = normalizeMac(alert.macaddress);
    if (!MAC.test(mac)) return refuse('STW_ERR_PUSH_SCHEMA', `EventNotificationAlert: macAddress "${alert.macaddress.slice(0, 40)}" is not a MAC address`);
  }
  const channel = alert.channelid ?? alert.dynchannelid;
  const base: Omit<AdapterMessage, 'body'> = { ids: mac ? { hikvision: mac } : {} };
  const fallback = channel === undefined ? undefined : ctx.settings.channels?.[channel];
  if (fallback !== undefined) base.fallbackDevice = fallback;
  const at = isoWithOffset(alert.datetime);
  if (at !== undefined) base.at = at;
  if (unwrapped.picture) base.picture = unwrapped.picture;
  const describe: Record<string, string> = {};
  if (alert.ipaddress) describe.ipAddress = alert.ipaddress;
  if (channel !== undefined) describe.channelID = channel;
  if (alert.channelname) describe.channelName = alert.channelname;
  if (Object.keys(describe).length > 0) base.describe = describe;
  const who = `${mac ?? ''}:${channel ?? ''}`;

  const type = alert.eventtype.toLowerCase();
  if (type === 'peoplecounting') {
    const pc = peopleCountingSchema.safeParse(read.alert.peoplecounting);
    if (!pc.success) return refuse('STW_ERR_PUSH_SCHEMA', `peopleCounting: ${describeIssues(pc.error)}`);
    const { statisticalmethods: method, enter, exit, regionsid: region } = pc.data;
    // Counters with several counting regions report each apart: the region keeps them apart.
    const suffix = region ? `:${region}` : '';
    if (method.toLowerCase() === 'timerange') {
      const range = pc.data.timerange;
      if (!range) return refuse('STW_ERR_PUSH_SCHEMA', 'peopleCounting: timeRange counts need TimeRange startTime and endTime');
      const period = Math.round((Date.parse(range.endtime) - Date.parse(range.starttime)) / 1000);
      if (!(period > 0)) return refuse('STW_ERR_PUSH_SCHEMA', 'peopleCounting: TimeRange endTime must be after startTime');
      const event: DeviceEvent = { type: 'count', in: enter, out: exit, period };
      const ts = isoWithOffset(range.endtime);
      if (ts !== undefined) event.ts = ts;
      return { ok: true, messages: [{ ...base, body: { kind: 'events', events: [event] }, dedupeKey: `${who}:${range.endtime}:timeRange${suffix}` }] };
    }
    if (method.toLowerCase() === 'realtime') {
      const time = pc.data.realtime?.time ?? alert.datetime;
      const outcome = realTimeDelta(ctx.state, `${who}${suffix}`, enter, exit, time);
      if ('ignored' in outcome) return { ok: true, messages: [], ignored: outcome.ignored };
      const event: DeviceEvent = { type: 'count', ...outcome.count };
      const ts = isoWithOffset(time);
      if (ts !== undefined) event.ts = ts;
      return { ok: true, messages: [{ ...base, body: { kind: 'events', events: [event] }, dedupeKey: `${who}:${time}:realTime${suffix}` }] };
    }
    return { ok: true, messages: [], ignored: `peopleCounting statisticalMethods "${method.slice(0, 40)}" is not used` };
  }

  const label = MOTION_TYPES[type];
  if (label === undefined) return { ok: true, messages: [], ignored: `eventType ${alert.eventtype.slice(0, 64)} is not used` };
  const state = (alert.eventstate ?? 'active').toLowerCase();
  if (state !== 'active') return { ok: true, messages: [], ignored: `${label} ${state.slice(0, 20)}` };

  const list = read.alert.detectionregionlist;
  const entries = typeof list === 'object' && !Array.isArray(list) ? asList(list.detectionregionentry) : [];
  const zones = new Set<string>();
  for (const entry of entries) {
    const region = regionEntrySchema.safeParse(entry);
    if (!region.success) return refuse('STW_ERR_PUSH_SCHEMA', `DetectionRegionEntry: ${describeIssues(region.error)}`);
    if (region.data.regionid) zones.add(region.data.regionid);
  }
  if (zones.size === 0 && alert.channelname) zones.add(alert.channelname);
  const events: MotionEvent[] =
    zones.size === 0 ? [{ type: 'motion', label }] : [...zones].slice(0, 16).map((zone) => ({ type: 'motion', label, zone }));
  return {
    ok: true,
    messages: [{ ...base, body: { kind: 'events', events }, dedupeKey: `${who}:${alert.datetime}:${label}:${[...zones].join(',')}` }],
  };
}

// ---------------------------------------------------------------------------------------------
// render: what a device would push for a message (simulators, the contract suite)

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** `ms` as the wall time at a fixed offset (`+02:00`, `Z`), the way the device writes dates. */
/** Local time at `offset`; milliseconds only when there are some (devices send whole seconds). */
function formatAtOffset(ms: number, offset: string): string {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  const shift = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
  const text = new Date(ms + shift).toISOString();
  return (ms % 1000 === 0 ? text.slice(0, 19) : text.slice(0, 23)) + (m ? offset : 'Z');
}

function offsetOf(iso: string): string {
  return /([+-]\d{2}:\d{2})$/.exec(iso)?.[1] ?? 'Z';
}

function renderPush(message: AdapterMessage, ctx: ParseContext<HikvisionSettings>): PushRequest {
  if (message.body.kind !== 'events' || message.body.events.length === 0) {
    throw new Error('hikvision: only count and motion events can be rendered as an ISAPI alert');
  }
  const events = message.body.events;
  const first = events[0]!;
  const mac = message.ids.hikvision === undefined ? undefined : normalizeMac(message.ids.hikvision);
  const channel =
    Object.entries(ctx.settings.channels ?? {}).find(([, device]) => device === message.fallbackDevice)?.[0] ?? message.describe?.channelID ?? '1';
  const dateTime = message.at ?? first.ts ?? new Date(ctx.now).toISOString().slice(0, 19) + 'Z';
  const ip = escapeXml(message.describe?.ipAddress ?? '127.0.0.1');
  const macLine = mac === undefined ? [] : [`<macAddress>${escapeXml(mac)}</macAddress>`];

  let lines: string[];
  let eventType: string;
  if (first.type === 'count') {
    if (events.length !== 1) throw new Error('hikvision: one count per people-counting alert');
    // The shape of the published people-counting example (tests/fixtures/platforms).
    eventType = 'PeopleCounting';
    // Both ends written the same way (whole seconds as devices send them, or to the millisecond for
    // a simulated count that has them), so the range is the period exactly.
    const endMs = Date.parse(first.ts ?? dateTime);
    const end = formatAtOffset(endMs, offsetOf(first.ts ?? dateTime));
    const start = formatAtOffset(endMs - first.period * 1000, offsetOf(first.ts ?? dateTime));
    lines = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<EventNotificationAlert version="1.0" xmlns="urn:psialliance-org">',
      `<ipAddress>${ip}</ipAddress>`,
      '<protocolType>HTTP</protocolType>',
      ...macLine,
      `<channelID>${escapeXml(channel)}</channelID>`,
      `<dateTime>${escapeXml(dateTime)}</dateTime>`,
      '<activePostCount>1</activePostCount>',
      '<eventType>PeopleCounting</eventType>',
      '<eventState>active</eventState>',
      '<eventDescription>peopleCounting alarm</eventDescription>',
      `<channelName>${escapeXml(message.describe?.channelName ?? 'Camera 01')}</channelName>`,
      '<peopleCounting>',
      '<statisticalMethods>timeRange</statisticalMethods>',
      '<TimeRange>',
      `<startTime>${escapeXml(start)}</startTime>`,
      `<endTime>${escapeXml(end)}</endTime>`,
      '</TimeRange>',
      `<enter>${first.in}</enter>`,
      `<exit>${first.out}</exit><pass>0</pass>`,
      '</peopleCounting>',
      '</EventNotificationAlert>',
      '',
    ];
  } else if (first.type === 'motion') {
    if (!events.every((e) => e.type === 'motion' && e.label === first.label)) throw new Error('hikvision: one event type per alert');
    // The shape of current firmware's smart events (version 2.0, hikvision.com namespace).
    const label = first.label ?? 'VMD';
    // A label ISAPI has no event type for (a simulated camera's `person`) is an intrusion alert.
    eventType = MOTION_TYPES[label.toLowerCase()] ?? 'fielddetection';
    const zones = events.map((e) => (e as MotionEvent).zone).filter((z): z is string => z !== undefined);
    const regions = zones.filter((z) => /^\d+$/.test(z));
    // A zone that is not a region number is how the camera names itself (channelName).
    const channelName = zones.find((z) => !/^\d+$/.test(z)) ?? (regions.length > 0 ? message.describe?.channelName : undefined);
    lines = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">',
      `<ipAddress>${ip}</ipAddress>`,
      '<portNo>80</portNo>',
      '<protocol>HTTP</protocol>',
      ...macLine,
      `<channelID>${escapeXml(channel)}</channelID>`,
      `<dateTime>${escapeXml(dateTime)}</dateTime>`,
      '<activePostCount>1</activePostCount>',
      `<eventType>${escapeXml(eventType)}</eventType>`,
      '<eventState>active</eventState>',
      `<eventDescription>${escapeXml(eventType)} alarm</eventDescription>`,
    ];
    if (regions.length > 0) {
      lines.push('<DetectionRegionList>');
      for (const region of regions) lines.push('<DetectionRegionEntry>', `<regionID>${region}</regionID>`, '<sensitivityLevel>50</sensitivityLevel>', '</DetectionRegionEntry>');
      lines.push('</DetectionRegionList>');
    }
    if (channelName !== undefined) lines.push(`<channelName>${escapeXml(channelName)}</channelName>`);
    if (message.picture) lines.push('<detectionPictureTransType>binary</detectionPictureTransType>', '<detectionPicturesNumber>1</detectionPicturesNumber>');
    lines.push('<isDataRetransmission>false</isDataRetransmission>', '</EventNotificationAlert>', '');
  } else {
    throw new Error(`hikvision: a ${first.type} event has no ISAPI alert`);
  }
  const xml = Buffer.from(lines.join('\n'), 'utf8');
  if (!message.picture) return { method: 'POST', body: xml, contentType: 'application/xml', query: {} };
  // Devices send the alert as a part named after the event type and the picture beside it.
  const multipart = buildMultipart([
    { name: eventType, contentType: 'application/xml; charset="UTF-8"', body: xml },
    { name: `${eventType}Image`, filename: `${eventType}Image.jpg`, contentType: 'image/jpeg', body: message.picture },
  ]);
  return { method: 'POST', body: multipart.body, contentType: multipart.contentType, query: {} };
}

// ---------------------------------------------------------------------------------------------
// Examples (the contract suite parses each to its `expect`)

/** tests/fixtures/platforms/hikvision-isapi-peoplecounting.xml, byte for byte. */
export const PEOPLE_COUNTING_FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="1.0" xmlns="urn:psialliance-org">
<ipAddress>10.60.108.22</ipAddress>
<protocolType>HTTP</protocolType>
<macAddress>44:47:cc:50:00:c1</macAddress>
<channelID>1</channelID>
<dateTime>2020-04-19T19:35:00+02:00</dateTime>
<activePostCount>1560</activePostCount>
<eventType>PeopleCounting</eventType>
<eventState>active</eventState>
<eventDescription>peopleCounting alarm</eventDescription>
<channelName>Camera 01</channelName>
<peopleCounting>
<statisticalMethods>timeRange</statisticalMethods>
<TimeRange>
<startTime>2020-04-19T19:33:00+02:00</startTime>
<endTime>2020-04-19T19:35:00+02:00</endTime>
</TimeRange>
<enter>0</enter>
<exit>0</exit><pass>0</pass>
</peopleCounting>
</EventNotificationAlert>
`;

const LINE_CROSSING_XML = `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>192.168.1.64</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>BC-AD-28-4F-1E-07</macAddress>
<channelID>1</channelID>
<dateTime>2026-11-23T02:14:07+08:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>linedetection</eventType>
<eventState>active</eventState>
<eventDescription>linedetection alarm</eventDescription>
<DetectionRegionList>
<DetectionRegionEntry>
<regionID>2</regionID>
<sensitivityLevel>50</sensitivityLevel>
<RegionCoordinatesList>
<RegionCoordinates><positionX>210</positionX><positionY>640</positionY></RegionCoordinates>
<RegionCoordinates><positionX>780</positionX><positionY>610</positionY></RegionCoordinates>
</RegionCoordinatesList>
<detectionTarget>human</detectionTarget>
</DetectionRegionEntry>
</DetectionRegionList>
<channelName>Back door</channelName>
<detectionPictureTransType>binary</detectionPictureTransType>
<detectionPicturesNumber>1</detectionPicturesNumber>
<isDataRetransmission>false</isDataRetransmission>
</EventNotificationAlert>
`;

/**
 * A 16×8 baseline JPEG (made with jpeg-js) standing in for the camera's picture: small, and
 * free at import (encoding a full simulated snapshot here would cost every start a second).
 */
const EXAMPLE_PICTURE = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//AABEIAAgAEAMBEQACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/AJZBHEFN1p4RVGd0fCjPHJXj868VXl8E/wCvmerFylpTnf1/4IkSoeba9Zfl4WQZyfqMYH4U5N/bj9w5N/bh9x//2Q==',
  'base64',
);

const lineCrossing = buildMultipart([
  { name: 'linedetection', contentType: 'application/xml; charset="UTF-8"', body: Buffer.from(LINE_CROSSING_XML) },
  { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: EXAMPLE_PICTURE },
]);

const NVR_MOTION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>192.168.1.20</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>c0:56:e3:0a:91:5b</macAddress>
<channelID>34</channelID>
<dateTime>2026-11-23T02:15:30+08:00</dateTime>
<activePostCount>3</activePostCount>
<eventType>VMD</eventType>
<eventState>active</eventState>
<eventDescription>Motion alarm</eventDescription>
<channelName>Cash room</channelName>
</EventNotificationAlert>
`;

const REAL_TIME_XML = `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="1.0" xmlns="urn:psialliance-org">
<ipAddress>10.60.108.22</ipAddress>
<protocolType>HTTP</protocolType>
<macAddress>44:47:cc:50:00:c1</macAddress>
<channelID>1</channelID>
<dateTime>2020-04-20T00:05:00+02:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>PeopleCounting</eventType>
<eventState>active</eventState>
<eventDescription>peopleCounting alarm</eventDescription>
<channelName>Camera 01</channelName>
<peopleCounting>
<statisticalMethods>realTime</statisticalMethods>
<RealTime>
<time>2020-04-20T00:05:00+02:00</time>
</RealTime>
<enter>3</enter>
<exit>1</exit>
<pass>7</pass>
</peopleCounting>
</EventNotificationAlert>
`;

const xmlPush = (body: string): PushRequest => ({ method: 'POST', body: Buffer.from(body, 'utf8'), contentType: 'application/xml', query: {} });
const counter = { ipAddress: '10.60.108.22', channelID: '1', channelName: 'Camera 01' };

export const hikvision = defineAdapter<HikvisionSettings>({
  id: 'hikvision',
  label: { en: 'Hikvision ISAPI (event push)', 'zh-CN': '海康威视 ISAPI（事件推送）' },
  externalIdKeys: ['hikvision'],
  settingsSchema,
  delivery: 'push',
  parse(req, ctx) {
    try {
      return parsePush(req, ctx);
    } catch (err) {
      // parse never throws: anything unforeseen in the bytes is a coded refusal.
      return refuse('STW_ERR_PUSH_MALFORMED', `unreadable push: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
    }
  },
  render: renderPush,
  examples: [
    {
      name: 'People counting, timeRange (published example)',
      request: xmlPush(PEOPLE_COUNTING_FIXTURE),
      settings: {},
      expect: [
        {
          ids: { hikvision: '44:47:cc:50:00:c1' },
          at: '2020-04-19T19:35:00+02:00',
          body: { kind: 'events', events: [{ type: 'count', in: 0, out: 0, period: 120, ts: '2020-04-19T19:35:00+02:00' }] },
          dedupeKey: '44:47:cc:50:00:c1:1:2020-04-19T19:35:00+02:00:timeRange',
          describe: counter,
        },
      ],
    },
    {
      name: 'People counting, realTime totals five minutes after the daily reset',
      request: xmlPush(REAL_TIME_XML),
      settings: {},
      expect: [
        {
          ids: { hikvision: '44:47:cc:50:00:c1' },
          at: '2020-04-20T00:05:00+02:00',
          body: { kind: 'events', events: [{ type: 'count', in: 3, out: 1, period: 300, ts: '2020-04-20T00:05:00+02:00' }] },
          dedupeKey: '44:47:cc:50:00:c1:1:2020-04-20T00:05:00+02:00:realTime',
          describe: counter,
        },
      ],
    },
    {
      name: 'Line crossing with its picture (multipart/form-data)',
      request: { method: 'POST', body: lineCrossing.body, contentType: lineCrossing.contentType, query: {} },
      settings: {},
      expect: [
        {
          ids: { hikvision: 'bc:ad:28:4f:1e:07' },
          at: '2026-11-23T02:14:07+08:00',
          body: { kind: 'events', events: [{ type: 'motion', label: 'linedetection', zone: '2' }] },
          dedupeKey: 'bc:ad:28:4f:1e:07:1:2026-11-23T02:14:07+08:00:linedetection:2',
          picture: EXAMPLE_PICTURE,
          describe: { ipAddress: '192.168.1.64', channelID: '1', channelName: 'Back door' },
        },
      ],
    },
    {
      name: 'Motion on an NVR channel mapped to a device',
      request: xmlPush(NVR_MOTION_XML),
      settings: { channels: { '34': 'cash-room-cam' } },
      expect: [
        {
          ids: { hikvision: 'c0:56:e3:0a:91:5b' },
          fallbackDevice: 'cash-room-cam',
          at: '2026-11-23T02:15:30+08:00',
          body: { kind: 'events', events: [{ type: 'motion', label: 'VMD', zone: 'Cash room' }] },
          dedupeKey: 'c0:56:e3:0a:91:5b:34:2026-11-23T02:15:30+08:00:VMD:Cash room',
          describe: { ipAddress: '192.168.1.20', channelID: '34', channelName: 'Cash room' },
        },
      ],
    },
  ],
});
