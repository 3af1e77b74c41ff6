/**
 * CTWing (AEP) HTTP push adapter: the published pushes as they are, what they must become, the
 * device codec on the bytes they carry, refusals, retransmissions, render round trips, fuzz.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { doorSensor } from '../../devices/door-sensor.ts';
import type { DeviceEvent } from '../../devices/types.ts';
import { ctwing } from '../../server/integrations/adapters/ctwing.ts';
import { getAdapter } from '../../server/integrations/adapters/index.ts';
import type { AdapterMessage, ParseResult, PushRequest } from '../../server/integrations/adapters/types.ts';
import { emptyDeviceState, reduceEvent, type TwinWorld } from '../../server/twin/reduce.ts';
import { assertWellFormed, jsonMutations, randomBodies, truncations } from '../helpers/push-fuzz.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/platforms/${name}`, import.meta.url));
const PASSTHROUGH = fixture('ctwing-datareport-passthrough.json');
const DECODED = fixture('ctwing-datareport-decoded.json');

const post = (body: Buffer | string): PushRequest => ({ method: 'POST', body: Buffer.from(body), contentType: 'application/json', query: {} });
const postJson = (value: unknown): PushRequest => post(JSON.stringify(value));

/** parse with settings as an operator would write them (through the adapter's schema). */
async function parse(req: PushRequest, settings: unknown = {}): Promise<ParseResult> {
  return ctwing.parse(req, { settings: ctwing.settingsSchema.parse(settings), state: {}, now: Date.UTC(2026, 0, 1) });
}

async function accepted(req: PushRequest, settings: unknown = {}): Promise<AdapterMessage[]> {
  const result = await parse(req, settings);
  if (!result.ok) throw new Error(`refused: ${result.code} ${result.message}`);
  return result.messages;
}

async function refusal(req: PushRequest, settings: unknown = {}): Promise<{ code: string; message: string }> {
  const result = await parse(req, settings);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result)}`);
  return { code: result.code, message: result.message };
}

const decodedPush = (): Record<string, unknown> => JSON.parse(DECODED.toString('utf8')) as Record<string, unknown>;
const AA55_OPEN = Buffer.from('AA5501030A010000000000280C000043', 'hex');

function aa55Push(frame: Buffer, upPacketSN: number | string, timestamp = 1606982400123): Record<string, unknown> {
  return {
    upPacketSN,
    upDataSN: upPacketSN,
    topic: 'v1/up/ad',
    timestamp,
    tenantId: '10461180',
    serviceId: '',
    protocol: 'lwm2m',
    productId: '15014772',
    payload: { APPdata: frame.toString('base64') },
    messageType: 'dataReport',
    deviceType: '',
    deviceId: 'acf7baaee65e431eadfb8f5fe50e8b81',
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: '860374051096202',
  };
}

/** A twin world with one zone, for folding events into a device state. */
function twinOf(): { world: TwinWorld; fold(events: DeviceEvent[]): ReturnType<typeof emptyDeviceState> } {
  const state = emptyDeviceState({ id: 'door-1', site: 's', zone: 'z', type: 'door-sensor' });
  const zone = { id: 'z', site: 's', floor: 'f', door: null, doorChangedAt: null, occupancy: null, capacity: null, lastMotionAt: null };
  const world: TwinWorld = { zone: () => zone, devicesIn: () => [state], countsInto: () => undefined };
  return {
    world,
    fold(events) {
      for (const data of events) reduceEvent(world, state, { type: data.type, ts: '2020-12-03T07:58:40.277Z', receivedAt: '2020-12-03T07:58:41.000Z', seq: null, data });
      return state;
    },
  };
}

describe('CTWing adapter', () => {
  it('is in the catalogue, matched by deviceId then IMEI', () => {
    expect(getAdapter('ctwing')).toBe(ctwing);
    expect(ctwing.externalIdKeys).toEqual(['ctwing', 'imei']);
    expect(ctwing.delivery).toBe('push');
  });

  it("its examples are the published pushes byte for byte, and parse to what they say", async () => {
    const bodies = ctwing.examples.map((e) => e.request.body);
    expect(bodies.some((b) => b.equals(PASSTHROUGH))).toBe(true);
    expect(bodies.some((b) => b.equals(DECODED))).toBe(true);
    for (const example of ctwing.examples) {
      const result = await parse(example.request, example.settings);
      expect(result.ok, example.name).toBe(true);
      if (result.ok) expect(result.messages, example.name).toEqual(example.expect);
    }
  });

  describe('dataReport, transparent APPdata (ctwing-datareport-passthrough.json)', () => {
    it("hands the device's bytes to the core untouched, as a frame", async () => {
      const [message, ...rest] = await accepted(post(PASSTHROUGH));
      expect(rest).toEqual([]);
      expect(message?.ids).toEqual({ ctwing: '1501708501' }); // IMEI "" is no IMEI
      expect(message?.at).toBe('2020-12-29T08:40:09.882Z');
      expect(message?.dedupeKey).toBe('ts:1609231209882'); // upPacketSN -1: keyed by the platform time
      if (message?.body.kind !== 'frame') throw new Error('not a frame');
      const push = JSON.parse(PASSTHROUGH.toString('utf8')) as { payload: { APPdata: string } };
      expect(message.body.payload.equals(Buffer.from(push.payload.APPdata, 'base64'))).toBe(true);
      // This DTU sends a JSON data-point list, not a door sensor's event: the door sensor's
      // codec refuses it, coded — which is why the datapoints setting exists.
      const decoded = doorSensor.decode(message.body.payload);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.code).toBe('STW_ERR_PAYLOAD_SCHEMA');
    });

    it("reads the DTU's data points when told to, data point 222 mapped to the door", async () => {
      const settings = { appData: 'datapoints', dataPoints: { '222': { to: 'door', values: { '1': 'open', '0': 'closed' } } } };
      const [message] = await accepted(post(PASSTHROUGH), settings);
      expect(message?.body).toEqual({ kind: 'events', events: [{ type: 'door', state: 'open' }] });
      expect(message?.dedupeKey).toBe('ts:1609231209882');
      // The door sensor type accepts what the mapping made (the core checks it again).
      expect(doorSensor.schema.safeParse({ type: 'door', state: 'open' }).success).toBe(true);
    });

    it('datapoints with nothing mapped is ignored (answered 200), naming what was there', async () => {
      const result = await parse(post(PASSTHROUGH), { appData: 'datapoints' });
      expect(result).toMatchObject({ ok: true, messages: [] });
      if (result.ok) expect(result.ignored).toContain('222');
      const unknownValue = await parse(post(PASSTHROUGH), { appData: 'datapoints', dataPoints: { '222': { to: 'door', values: { '0': 'closed' } } } });
      if (unknownValue.ok) expect(unknownValue.ignored).toBe('dataReport data points: 222: "1" is not in its value map');
      else throw new Error('refused');
    });

    it('datapoints mode refuses APPdata that is not a data-point list', async () => {
      const frame = aa55Push(AA55_OPEN, 3);
      const r = await refusal(postJson(frame), { appData: 'datapoints' });
      expect(r.code).toBe('STW_ERR_PUSH_SCHEMA');
      expect(r.message).toContain('data-point list');
    });

    it('an AA55 frame in APPdata decodes with the door sensor codec to the door event', async () => {
      const [message] = await accepted(postJson(aa55Push(AA55_OPEN, 17)));
      expect(message?.ids).toEqual({ ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81', imei: '860374051096202' });
      expect(message?.dedupeKey).toBe('sn:17');
      if (message?.body.kind !== 'frame') throw new Error('not a frame');
      expect(message.body.payload.equals(AA55_OPEN)).toBe(true);
      expect(doorSensor.decode(message.body.payload)).toEqual({ ok: true, events: [{ type: 'door', state: 'open', battery: 3.112 }], format: 'binary' });
    });

    it('a bad checksum inside APPdata passes through untouched and the codec refuses it', async () => {
      const bad = Buffer.from(AA55_OPEN);
      bad[bad.length - 1] = 0x44;
      const [message] = await accepted(postJson(aa55Push(bad, 18)));
      if (message?.body.kind !== 'frame') throw new Error('not a frame');
      expect(message.body.payload.equals(bad)).toBe(true);
      const decoded = doorSensor.decode(message.body.payload);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.code).toBe('STW_ERR_FRAME_CHECKSUM');
    });
  });

  describe('dataReport, profile-decoded serviceData (ctwing-datareport-decoded.json)', () => {
    it('maps the door-magnet profile: door, RSRP as -dBm, SNR, CSQ, cell id, battery percent', async () => {
      const [message] = await accepted(post(DECODED));
      expect(message?.ids).toEqual({ ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81', imei: '860374051096202' });
      expect(message?.at).toBe('2020-12-03T07:58:40.277Z');
      expect(message?.body).toEqual({
        kind: 'events',
        events: [
          { type: 'door', state: 'closed' },
          { type: 'heartbeat', rsrp: -114, snr: 1, csq: 5, cellId: 38848339, batteryPct: 100 },
        ],
      });
    });

    it('what it maps passes the door sensor schema and shows in the twin (battery percent without volts)', async () => {
      const [message] = await accepted(post(DECODED));
      if (message?.body.kind !== 'events') throw new Error('not events');
      const checked = message.body.events.map((e) => doorSensor.schema.safeParse(e));
      expect(checked.every((c) => c.success)).toBe(true);
      // The schema keeps batteryPct (zod drops unknown keys: this fails if it is not declared).
      expect(checked.map((c) => c.data)).toEqual(message.body.events);
      const state = twinOf().fold(message.body.events);
      expect(state).toMatchObject({ door: 'closed', rsrp: -114, snr: 1, batteryPct: 100, battery: null, online: true });
    });

    it('volts, when a heartbeat has them, decide the twin percentage over a reported one', () => {
      const state = twinOf().fold([{ type: 'heartbeat', battery: 2.7, batteryPct: 100 }]);
      expect(state.battery).toBe(2.7);
      expect(state.batteryPct).toBe(doorSensor.batteryPercent?.(2.7));
      expect(state.batteryPct).not.toBe(100);
    });

    it("an operator's field map replaces a default, null removes one, the rest stay", async () => {
      const [opened] = await accepted(post(DECODED), { fields: { Alarm_Status: { to: 'door', values: { '2': 'open' } }, CSQ: null } });
      expect(opened?.body).toEqual({
        kind: 'events',
        events: [
          { type: 'door', state: 'open' },
          { type: 'heartbeat', rsrp: -114, snr: 1, cellId: 38848339, batteryPct: 100 },
        ],
      });
    });

    it('a value outside its map or range is skipped, never guessed; the rest still counts', async () => {
      const push = decodedPush();
      const payload = push.payload as { serviceData: Record<string, unknown> };
      payload.serviceData.Alarm_Status = 7;
      payload.serviceData.RSRP = 0; // "unknown" on some modules: -0 dBm is no reading
      const [message] = await accepted(postJson(push));
      expect(message?.body).toEqual({ kind: 'events', events: [{ type: 'heartbeat', snr: 1, csq: 5, cellId: 38848339, batteryPct: 100 }] });
    });

    it('reads numbers sent as text, hex cell ids and scaled values when the map says so', async () => {
      const push = { ...decodedPush(), payload: { serviceId: 'x', serviceData: { Cell_ID: '0A1B2C3', RSRP: '-1140', Battery_Voltage: 3012 } } };
      const fields = { Cell_ID: { to: 'cellId', radix: 16 }, RSRP: { to: 'rsrp', scale: 0.1, negative: true }, Battery_Voltage: { to: 'battery', scale: 0.001 } };
      const [message] = await accepted(postJson(push), { fields });
      expect(message?.body).toEqual({ kind: 'events', events: [{ type: 'heartbeat', battery: 3.012, rsrp: -114, cellId: 0x0a1b2c3 }] });
    });

    it('a profile with none of the mapped fields is ignored, not refused, naming its fields', async () => {
      const push = { ...decodedPush(), payload: { serviceId: 'temp', serviceData: { temperature: 21.5, humidity: 40 } } };
      const result = await parse(postJson(push));
      expect(result).toEqual({ ok: true, messages: [], ignored: 'dataReport: no field is in the field map (fields: temperature, humidity)' });
    });

    it('MQTT/TCP profiles put the fields in payload itself', async () => {
      const push = { ...decodedPush(), protocol: 'mqtt', payload: { Alarm_Status: 1, Battery_Level: 80 } };
      const [message] = await accepted(postJson(push));
      expect(message?.body).toEqual({ kind: 'events', events: [{ type: 'door', state: 'open' }, { type: 'heartbeat', batteryPct: 80 }] });
    });
  });

  describe('retransmissions', () => {
    it('a retransmission has the same dedupe key; the next packet does not', async () => {
      const first = await accepted(postJson(aa55Push(AA55_OPEN, 41, 1606982400000)));
      const again = await accepted(postJson(aa55Push(AA55_OPEN, 41, 1606982403000))); // the device resent: new platform time
      const next = await accepted(postJson(aa55Push(AA55_OPEN, 42, 1606982403000)));
      expect(first[0]?.dedupeKey).toBe('sn:41');
      expect(again[0]?.dedupeKey).toBe(first[0]?.dedupeKey);
      expect(next[0]?.dedupeKey).not.toBe(first[0]?.dedupeKey);
    });

    it('without an uplink counter (-1, "", "-1") the platform timestamp is the key', async () => {
      for (const sn of [-1, '', '-1']) {
        const [message] = await accepted(postJson(aa55Push(AA55_OPEN, sn, 1606982400999)));
        expect(message?.dedupeKey, String(sn)).toBe('ts:1606982400999');
      }
      const [numericText] = await accepted(postJson(aa55Push(AA55_OPEN, '12')));
      expect(numericText?.dedupeKey).toBe('sn:12');
    });
  });

  describe('other message types', () => {
    const online = (eventType: unknown): Record<string, unknown> => ({
      timestamp: 1606982460456,
      tenantId: '10461180',
      protocol: 'lwm2m',
      productId: '15014772',
      messageType: 'deviceOnlineOfflineReport',
      iccid: 'undefined',
      eventType,
      deviceId: 'acf7baaee65e431eadfb8f5fe50e8b81',
    });

    it('deviceOnlineOfflineReport: eventType 1 is online, 0 offline', async () => {
      const [up] = await accepted(postJson(online(1)));
      const [down] = await accepted(postJson(online(0)));
      expect(up).toMatchObject({ ids: { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81' }, body: { kind: 'status', online: true }, at: '2020-12-03T08:01:00.456Z' });
      expect(down?.body).toEqual({ kind: 'status', online: false });
      expect(up?.dedupeKey).not.toBe(down?.dedupeKey);
      expect((await refusal(postJson(online(2)))).code).toBe('STW_ERR_PUSH_SCHEMA');
    });

    it('eventReport: its eventContent goes through the field map; unmapped content is ignored', async () => {
      const event = {
        timestamp: 1619523767263,
        tenantId: '2000033827',
        serviceId: 1002,
        protocol: 'lwm2m',
        productId: '15045240',
        messageType: 'eventReport',
        eventType: 2,
        eventContent: { battery_voltage: 1, battery_state: 1 },
        deviceSn: '',
        deviceId: 'd01308047f864601a821e02dc328eab4',
        IMSI: 'undefined',
        IMEI: '161941770261953',
      };
      const ignored = await parse(postJson(event));
      expect(ignored).toMatchObject({ ok: true, messages: [] });
      if (ignored.ok) expect(ignored.ignored).toContain('eventReport 1002');
      const [tamper] = await accepted(postJson({ ...event, eventContent: { tamper_alarm: 1 } }), { fields: { tamper_alarm: { to: 'tamper', values: { '1': true, '0': false } } } });
      expect(tamper).toMatchObject({ ids: { ctwing: 'd01308047f864601a821e02dc328eab4', imei: '161941770261953' }, body: { kind: 'events', events: [{ type: 'tamper', active: true }] } });
    });

    it('commandResponse, dataReportTupUnion and unknown types are ignored with the type named', async () => {
      const base = { timestamp: 1606982470000, deviceId: 'acf7baaee65e431eadfb8f5fe50e8b81' };
      for (const messageType of ['commandResponse', 'dataReportTupUnion', 'deviceDataChanged']) {
        const result = await parse(postJson({ ...base, messageType }));
        expect(result.ok).toBe(true);
        if (result.ok) {
          expect(result.messages).toEqual([]);
          expect(result.ignored).toContain(messageType);
        }
      }
    });
  });

  describe('refusals', () => {
    it('truncated JSON is malformed', async () => {
      const r = await refusal(post(DECODED.subarray(0, DECODED.length - 40)));
      expect(r.code).toBe('STW_ERR_PUSH_MALFORMED');
      expect((await refusal(post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))).code).toBe('STW_ERR_PUSH_MALFORMED');
    });

    it('JSON that is not a CTWing push is a schema refusal with the problem named', async () => {
      const cases: Array<[unknown, string]> = [
        [[1, 2], 'one JSON object'],
        [{ hello: 'world' }, 'messageType'],
        [{ ...decodedPush(), timestamp: 'yesterday' }, 'timestamp'],
        [{ ...decodedPush(), timestamp: 1e300 }, 'timestamp'],
        [{ ...decodedPush(), deviceId: 42 }, 'deviceId'],
        [{ ...decodedPush(), payload: 'x' }, 'payload'],
        [{ ...decodedPush(), payload: { APPdata: 12 } }, 'APPdata'],
        [{ ...decodedPush(), payload: { APPdata: 'not base64!' } }, 'APPdata'],
        [{ ...decodedPush(), payload: { APPdata: '' } }, 'APPdata'],
        [{ ...decodedPush(), upPacketSN: 'abc' }, 'upPacketSN'],
      ];
      for (const [body, names] of cases) {
        const r = await refusal(postJson(body));
        expect(r.code, JSON.stringify(body).slice(0, 80)).toBe('STW_ERR_PUSH_SCHEMA');
        expect(r.message).toContain(names);
      }
    });

    it('a GET is not a CTWing push', async () => {
      const r = await refusal({ method: 'GET', body: Buffer.alloc(0), contentType: '', query: {} });
      expect(r.code).toBe('STW_ERR_PUSH_SCHEMA');
    });

    it('settings are checked: unknown keys and rules that are not rules are refused', () => {
      expect(ctwing.settingsSchema.safeParse({ appData: 'frames' }).success).toBe(false);
      expect(ctwing.settingsSchema.safeParse({ fields: { RSRP: { to: 'volume' } } }).success).toBe(false);
      expect(ctwing.settingsSchema.safeParse({ fields: { Alarm_Status: { to: 'door', values: { '1': 'ajar' } } } }).success).toBe(false);
      expect(ctwing.settingsSchema.safeParse({ token: 'x' }).success).toBe(false);
      expect(ctwing.settingsSchema.parse({})).toMatchObject({ appData: 'device', dataPoints: {}, fields: { RSRP: { to: 'rsrp', negative: true } } });
    });
  });

  describe('render', () => {
    it('parse(render(m)) gives m back for every example', async () => {
      for (const example of ctwing.examples) {
        const settings = ctwing.settingsSchema.parse(example.settings);
        for (const message of example.expect) {
          const req = ctwing.render(message, { settings, state: {}, now: 0 });
          const result = await ctwing.parse(req, { settings, state: {}, now: 0 });
          expect(result.ok, example.name).toBe(true);
          if (result.ok) expect(result.messages, example.name).toEqual([message]);
        }
      }
    });

    it('renders the published shapes: APPdata base64, serviceData with RSRP as a magnitude, eventType', () => {
      const settings = ctwing.settingsSchema.parse({});
      const ctx = { settings, state: {}, now: 1606982400000 };
      const ids = { ctwing: 'dev1', imei: '860374051096202' };
      const frame = JSON.parse(ctwing.render({ ids, body: { kind: 'frame', payload: AA55_OPEN }, dedupeKey: 'sn:5' }, ctx).body.toString('utf8')) as Record<string, unknown>;
      expect(frame).toMatchObject({ messageType: 'dataReport', upPacketSN: 5, deviceId: 'dev1', IMEI: '860374051096202', timestamp: 1606982400000, payload: { APPdata: AA55_OPEN.toString('base64') } });
      const events: DeviceEvent[] = [{ type: 'door', state: 'open' }, { type: 'heartbeat', rsrp: -97, snr: 9, battery: 3.02 }];
      const decoded = JSON.parse(ctwing.render({ ids, body: { kind: 'events', events } }, ctx).body.toString('utf8')) as Record<string, unknown>;
      // Volts have no field in this profile and are left out, as the platform would.
      expect(decoded).toMatchObject({ upPacketSN: -1, payload: { serviceData: { Alarm_Status: 1, RSRP: 97, SNR: 9 } } });
      const status = JSON.parse(ctwing.render({ ids, body: { kind: 'status', online: true } }, ctx).body.toString('utf8')) as Record<string, unknown>;
      expect(status).toMatchObject({ messageType: 'deviceOnlineOfflineReport', eventType: 1, deviceId: 'dev1' });
      expect(() => ctwing.render({ ids: { imei: '860374051096202' }, body: { kind: 'status', online: true } }, ctx)).toThrow(RangeError);
    });
  });

  describe('fuzz: parse never throws', () => {
    const check = async (body: Buffer, settings: unknown = {}): Promise<void> => {
      let result: ParseResult;
      try {
        result = await parse(post(body), settings);
      } catch (err) {
        throw new Error(`threw on ${JSON.stringify(body.toString('utf8').slice(0, 120))}: ${String(err)}`);
      }
      assertWellFormed(result);
    };

    it('every truncation of the published pushes, and random bytes', async () => {
      for (const body of [...truncations(PASSTHROUGH), ...truncations(DECODED), ...randomBodies(10, 300)]) await check(body);
    });

    it('every value of the published pushes replaced by one of the wrong kind, in both APPdata modes', async () => {
      const settings = { appData: 'datapoints', dataPoints: { '222': { to: 'door', values: { '1': 'open' } } } };
      for (const source of [PASSTHROUGH, DECODED]) {
        for (const doc of jsonMutations(JSON.parse(source.toString('utf8')))) {
          await check(Buffer.from(JSON.stringify(doc)));
          await check(Buffer.from(JSON.stringify(doc)), settings);
        }
      }
      // The data-point list inside APPdata, mutated the same way.
      const list = JSON.parse(Buffer.from((JSON.parse(PASSTHROUGH.toString('utf8')) as { payload: { APPdata: string } }).payload.APPdata, 'base64').toString('utf8')) as unknown;
      for (const doc of jsonMutations(list)) {
        const push = { ...(JSON.parse(PASSTHROUGH.toString('utf8')) as Record<string, unknown>), payload: { APPdata: Buffer.from(JSON.stringify(doc) ?? '').toString('base64') } };
        await check(Buffer.from(JSON.stringify(push)), settings);
      }
    });
  });
});
