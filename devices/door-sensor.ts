/**
 * NB-IoT magnetic door sensor. Speaks JSON (`door`, `heartbeat`, `tamper`, `register`) and the
 * binary AA55 frames of the MC-N01 family (register, heartbeat, alarm = door change), raw or
 * as hex text; both decode to the same events. Battery-powered (3 V lithium), reports hourly.
 */
import { z } from 'zod';
import { StoreTwinError } from '../server/errors.ts';
import {
  aa55Bytes,
  AA55_STATUS_OPEN,
  decodeAa55,
  encodeAa55,
  formatProtocolVersion,
  parseProtocolVersion,
  type Aa55Message,
} from './shared/aa55.ts';
import { batteryField, batteryPercent, BatteryModel } from './shared/battery.ts';
import { doorEventSchema, doorStateSchema } from './shared/door.ts';
import { doorOpenRate, DoorUsage } from './shared/door-usage.ts';
import { batteryPctField, heartbeatSchema, Periodic } from './shared/heartbeat.ts';
import { decodeJson, describeIssues, encodeJson, eventFields, refuse, type JsonCodec } from './shared/json.ts';
import { Outbox, type Timed } from './shared/outbox.ts';
import { randomDigits, randomInt, uniform } from './shared/random.ts';
import { signalFields, SignalModel } from './shared/signal.ts';
import { TamperModel, tamperEventSchema } from './shared/tamper.ts';
import { HOUR_MS, localTime } from './shared/time.ts';
import type {
  DecodeResult,
  DeviceEvent,
  DeviceType,
  DoorState,
  HeartbeatEvent,
  PayloadFormat,
  RegisterEvent,
  SimEnvironment,
  SimulatedDevice,
} from './types.ts';

const ID = 'door-sensor';
const EVENTS = ['door', 'heartbeat', 'tamper', 'register'] as const;

const registerEventSchema = z.object({
  type: z.literal('register'),
  model: z.number().int().min(0).optional(),
  protocolVersion: z.string().max(16).optional(),
  imsi: z.string().regex(/^\d{5,15}$/, 'IMSI is 5 to 15 digits').optional(),
  // ICCIDs are 19–20 digits; some operators' ICCIDs hold hex letters, so those are let through.
  iccid: z.string().regex(/^[0-9A-Fa-f]{18,20}$/, 'ICCID is 18 to 20 digits').optional(),
  hardwareVersion: z.number().int().min(0).optional(),
  softwareVersion: z.number().int().min(0).optional(),
  module: z.number().int().min(0).optional(),
  vendor: z.number().int().min(0).optional(),
  ...eventFields,
});

const schema = z.discriminatedUnion('type', [
  doorEventSchema,
  heartbeatSchema({ battery: batteryField, batteryPct: batteryPctField, door: doorStateSchema.optional(), ...signalFields }),
  tamperEventSchema,
  registerEventSchema,
]);

const codec: JsonCodec = { typeId: ID, events: EVENTS, schema };

const toMv = (volts: number): number => Math.round(volts * 1000);
const toVolts = (mv: number): number => mv / 1000;
const doorOf = (status: number): DoorState => (status & AA55_STATUS_OPEN ? 'open' : 'closed');

function fromFrame(message: Aa55Message): DeviceEvent {
  switch (message.command) {
    case 'alarm':
      return { type: 'door', state: doorOf(message.status), battery: toVolts(message.batteryMv) };
    case 'heartbeat':
      return {
        type: 'heartbeat',
        door: doorOf(message.status),
        battery: toVolts(message.batteryMv),
        cellId: message.cellId,
        rsrp: message.rsrp,
        pci: message.pci,
        snr: message.sinr,
        ecl: message.ecl,
        csq: message.csq,
      };
    case 'register':
      return {
        type: 'register',
        model: message.model,
        protocolVersion: formatProtocolVersion(message.protocolVersion),
        module: message.module,
        imsi: message.imsi,
        vendor: message.vendor,
        hardwareVersion: message.hardwareVersion,
        softwareVersion: message.softwareVersion,
        iccid: message.iccid,
      };
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new StoreTwinError('STW_ERR_PAYLOAD_SCHEMA', `an AA55 frame needs ${what}`);
  return value;
}

/** Fields the frame has but the event lacks are sent as 0; seq and ts have no place in a frame. */
function toFrame(event: DeviceEvent): Aa55Message {
  switch (event.type) {
    case 'door':
      return {
        command: 'alarm',
        status: event.state === 'open' ? AA55_STATUS_OPEN : 0,
        sensorParams: 0,
        batteryMv: toMv(required(event.battery, 'the battery voltage')),
        reserved: 0,
      };
    case 'heartbeat':
      return {
        command: 'heartbeat',
        status: required(event.door, 'the door state') === 'open' ? AA55_STATUS_OPEN : 0,
        sensorParams: 0,
        batteryMv: toMv(required(event.battery, 'the battery voltage')),
        cellId: event.cellId ?? 0,
        rsrp: event.rsrp ?? 0,
        pci: event.pci ?? 0,
        sinr: event.snr ?? 0,
        ecl: event.ecl ?? 0,
        csq: event.csq ?? 0,
      };
    case 'register':
      return {
        command: 'register',
        model: event.model ?? 0,
        protocolVersion: parseProtocolVersion(event.protocolVersion ?? '1.0'),
        module: event.module ?? 0,
        imsi: event.imsi ?? '',
        vendor: event.vendor ?? 0,
        hardwareVersion: event.hardwareVersion ?? 0,
        softwareVersion: event.softwareVersion ?? 0,
        iccid: event.iccid ?? '',
      };
    default:
      throw new StoreTwinError('STW_ERR_EVENT_UNSUPPORTED', `AA55 frames have no ${event.type} message`);
  }
}

function decode(payload: Buffer): DecodeResult {
  try {
    const frame = aa55Bytes(payload);
    if (frame === null) return decodeJson(payload, codec);
    if (!frame.ok) return frame;
    const decoded = decodeAa55(frame.bytes);
    return decoded.ok ? { ok: true, events: [fromFrame(decoded.message)], format: 'binary' } : decoded;
  } catch (err) {
    // Decode must never throw; anything that slips through the checks above is a refusal.
    return refuse('STW_ERR_PAYLOAD_SCHEMA', `payload could not be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function encode(event: DeviceEvent, format: PayloadFormat): Buffer {
  if (format === 'json') return encodeJson(event, codec);
  const checked = schema.safeParse(event);
  if (!checked.success) {
    throw new StoreTwinError('STW_ERR_PAYLOAD_SCHEMA', `cannot encode ${event.type} event as a frame: ${describeIssues(checked.error)}`);
  }
  return encodeAa55(toFrame(checked.data));
}

/** Share of simulated door sensors that speak AA55 frames rather than JSON. */
const BINARY_SHARE = 0.4;
/** Tamper trips per device per day: a few a year. */
const TAMPER_PER_DAY = 1 / 120;

function simulate(env: SimEnvironment): SimulatedDevice {
  const { random } = env;
  const format: PayloadFormat = random() < BINARY_SHARE ? 'binary' : 'json';
  const battery = new BatteryModel(random);
  const signal = new SignalModel(random);
  // Guest rooms are not let every night; an empty room's door hardly moves.
  const occupied = env.zoneKind === 'room' ? uniform(random, 0.4, 1) : 1;
  const door = new DoorUsage(random, (ms) => doorOpenRate(env.zoneKind, localTime(ms, env.timeZone).hour, env.openingHours, occupied));
  const tamper = new TamperModel(random, TAMPER_PER_DAY);
  const heartbeat = new Periodic(HOUR_MS, uniform(random, 0, HOUR_MS));
  const outbox = new Outbox(format, random, () => battery.transmit());
  const identity: RegisterEvent = {
    type: 'register',
    model: 1,
    protocolVersion: '1.0',
    // 0x1A: Quectel BC26, as the vendor's register frames name it.
    module: 0x1a,
    // 460-11: China Telecom, the usual NB-IoT carrier of this sensor family.
    imsi: `46011${randomDigits(random, 10)}`,
    vendor: 1,
    hardwareVersion: randomInt(random, 1, 3),
    softwareVersion: randomInt(random, 10, 25),
    iccid: `898611${randomDigits(random, 14)}`,
  };

  const heartbeatEvent = (at: number, state: DoorState): HeartbeatEvent => {
    const volts = battery.read(at);
    const radio = signal.read(at);
    if (format === 'binary') {
      const { rsrp, snr, cellId, pci, ecl, csq } = radio;
      return { type: 'heartbeat', door: state, battery: volts, cellId, rsrp, pci, snr, ecl, csq };
    }
    // JSON firmware reports volts to 10 mV, as in `{"battery":3.02}`.
    return { type: 'heartbeat', battery: Math.round(volts * 100) / 100, rsrp: radio.rsrp, snr: radio.snr, door: state };
  };
  const doorEvent = (at: number, state: DoorState): DeviceEvent =>
    format === 'binary' ? { type: 'door', state, battery: battery.read(at) } : { type: 'door', state };

  return {
    boot(simNow) {
      const at = simNow.getTime();
      heartbeat.start(at);
      return outbox.send([
        { at, event: identity },
        { at, event: heartbeatEvent(at, door.state) },
      ]);
    },
    advance(simNow, elapsedMs) {
      if (!(elapsedMs > 0)) return [];
      const to = simNow.getTime();
      const from = to - elapsedMs;
      const before = door.state;
      const changes = door.advance(from, to);
      const items: Timed[] = changes.map((c) => ({ at: c.at, event: doorEvent(c.at, c.state) }));
      for (const at of heartbeat.due(from, to)) {
        // The heartbeat reports the contact as it was at that moment, between the changes.
        const state = changes.filter((c) => c.at <= at).at(-1)?.state ?? before;
        items.push({ at, event: heartbeatEvent(at, state) });
      }
      // The AA55 protocol has no tamper message, so only JSON sensors report one.
      if (format === 'json') {
        for (const c of tamper.advance(from, to)) items.push({ at: c.at, event: { type: 'tamper', active: c.active } });
      }
      return outbox.send(items);
    },
    command() {
      return [];
    },
    act(action, simNow) {
      const at = simNow.getTime();
      switch (action) {
        case 'open':
        case 'close': {
          const change = door.force(action === 'open' ? 'open' : 'closed', at);
          return change ? outbox.send([{ at, event: doorEvent(at, change.state) }]) : [];
        }
        case 'tamper': {
          const trip = format === 'json' ? tamper.trip(at) : null;
          return trip ? outbox.send([{ at, event: { type: 'tamper', active: true } }]) : [];
        }
        case 'heartbeat':
          return outbox.send([{ at, event: heartbeatEvent(at, door.state) }]);
        default:
          return [];
      }
    },
  };
}

export const doorSensor: DeviceType = {
  id: ID,
  label: { en: 'NB-IoT door sensor', 'zh-CN': 'NB-IoT 门磁' },
  idPrefix: 'door',
  capabilities: ['door', 'battery', 'signal', 'tamper', 'heartbeat'],
  events: EVENTS,
  schema,
  formats: ['json', 'binary'],
  heartbeatIntervalS: 3600,
  // A busy entrance door opens about once a minute (two events) plus an hourly heartbeat; 5/s
  // sustained is hundreds of times that, and 60 at once covers a sensor emptying its outbox
  // after a long radio outage (it may also send one full batch of 32).
  rateBudget: { perSecond: 5, burst: 60 },
  decode,
  encode,
  simulate,
  batteryPercent,
  examples: [
    { format: 'json', event: { type: 'door', state: 'open', seq: 41, ts: '2026-11-23T02:14:07Z' } },
    { format: 'json', event: { type: 'door', state: 'closed', seq: 42, ts: '2026-11-23T02:14:19Z' } },
    { format: 'json', event: { type: 'heartbeat', battery: 3.02, rsrp: -97, snr: 9, door: 'closed', seq: 43 } },
    { format: 'json', event: { type: 'tamper', active: true, seq: 44, ts: '2026-11-23T02:20:00+08:00' } },
    {
      format: 'json',
      event: { type: 'register', model: 1, protocolVersion: '1.0', imsi: '460111234567890', iccid: '89861121234567890123', seq: 0 },
    },
    { format: 'binary', event: { type: 'door', state: 'open', battery: 3.112 } },
    { format: 'binary', event: { type: 'door', state: 'closed', battery: 2.998 } },
    {
      format: 'binary',
      event: { type: 'heartbeat', door: 'open', battery: 3.155, cellId: 0x009c6453, rsrp: -78, pci: 173, snr: 17, ecl: 0, csq: 19 },
    },
    {
      format: 'binary',
      event: { type: 'heartbeat', door: 'closed', battery: 2.705, cellId: 0x0a1b2c3, rsrp: -121, pci: 3, snr: -4, ecl: 2, csq: 0 },
    },
    {
      format: 'binary',
      event: {
        type: 'register',
        model: 1,
        protocolVersion: '1.0',
        module: 0x1a,
        imsi: '460111234567890',
        vendor: 1,
        hardwareVersion: 2,
        softwareVersion: 17,
        iccid: '8986112123456789012',
      },
    },
  ],
};
