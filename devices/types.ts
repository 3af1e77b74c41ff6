/**
 * The contract every device type fulfils. A device type is one module in devices/ that
 * exports one `DeviceType`; devices/index.ts lists them. Server (ingest, twin) and
 * simulators use only this description, so adding a type changes nothing else.
 */
import type { z } from 'zod';
import type { SnapshotPlan } from './shared/snapshot.ts';

export type DoorState = 'open' | 'closed';

/** Canonical events, whatever the wire format (JSON or a binary frame) they arrived in. */
export interface DoorEvent {
  type: 'door';
  state: DoorState;
  /** Battery voltage in volts when the frame carries it. */
  battery?: number;
  seq?: number;
  ts?: string;
}

export interface HeartbeatEvent {
  type: 'heartbeat';
  /** Volts. */
  battery?: number;
  /**
   * Charge in percent (0..100) when the device or its platform reports a percentage rather
   * than volts (a CTWing profile's `Battery_Level`). The twin uses it when the volts are unknown.
   */
  batteryPct?: number;
  /** Reference signal received power, dBm (NB-IoT: about -140..-44). */
  rsrp?: number;
  /** Signal to noise ratio, dB. */
  snr?: number;
  /** Door sensors report the contact state in every heartbeat. */
  door?: DoorState;
  cellId?: number;
  pci?: number;
  /** NB-IoT coverage enhancement level 0..2. */
  ecl?: number;
  csq?: number;
  seq?: number;
  ts?: string;
}

export interface TamperEvent {
  type: 'tamper';
  /** true when the enclosure was opened or the device moved; false when restored. */
  active: boolean;
  seq?: number;
  ts?: string;
}

export interface RegisterEvent {
  type: 'register';
  model?: number;
  protocolVersion?: string;
  imsi?: string;
  iccid?: string;
  hardwareVersion?: number;
  softwareVersion?: number;
  /** Radio module code as the AA55 register frame reports it (e.g. Quectel BC26). */
  module?: number;
  /** Vendor code as the AA55 register frame reports it. */
  vendor?: number;
  seq?: number;
  ts?: string;
}

export interface MotionEvent {
  type: 'motion';
  /** Detection area within the camera's view, as the camera names it. */
  zone?: string;
  /** 0..1 */
  confidence?: number;
  label?: string;
  seq?: number;
  ts?: string;
}

export interface CountEvent {
  type: 'count';
  in: number;
  out: number;
  /** Length of the counting period in seconds. */
  period: number;
  seq?: number;
  ts?: string;
}

export type DeviceEvent = DoorEvent | HeartbeatEvent | TamperEvent | RegisterEvent | MotionEvent | CountEvent;
export type DeviceEventType = DeviceEvent['type'];

/**
 * What a device type can do. The server and the dashboard ask these (devices/index.ts
 * `deviceTypeHas`), never a type's id, so a new model (another vendor's counter or camera) is
 * handled like the built-in ones by declaring what it can do:
 * - `door`: senses a door's contact. Sends `door` events (open/closed); a placement names the
 *   `door` it watches. The twin keeps its zone's door state; door-open rules fire on it.
 * - `battery`: runs on a battery and reports its voltage (`battery` in volts); the type's
 *   `batteryPercent` turns volts into charge (the twin's `batteryPct`, the low-battery rule).
 * - `signal`: reports its radio link (`rsrp`, `snr`) in heartbeats.
 * - `tamper`: reports its enclosure opened or the device moved (`tamper` events).
 * - `heartbeat`: sends a `heartbeat` at least every `heartbeatIntervalS` when nothing else
 *   happens; silence past that is the device-silent alarm.
 * - `motion`: detects motion in the zones it watches. Sends `motion` events; a placement names
 *   the zones in view (`watches`) and its view cone (`fov`); a motion counts for its own zone
 *   and each watched zone (the rules' correlations, e.g. door opened + person seen).
 * - `snapshot`: takes a picture on command. Answers `{"id","cmd":"snapshot"}` on its `cmd`
 *   topic with a JPEG on `snapshot/{id}`; an alarm in a zone it sits in or watches asks it.
 * - `count`: counts footfall at an entrance. Sends `count` events (people in and out over a
 *   period); a placement may name the hall it `counts` into (else its own zone), whose
 *   occupancy is the running sum of in − out; its counts make the footfall series.
 */
export const CAPABILITIES = ['door', 'battery', 'signal', 'tamper', 'heartbeat', 'motion', 'snapshot', 'count'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Site-file fields a placement may carry beyond id, type, zone, position and label. */
export type PlacementField = 'door' | 'watches' | 'fov' | 'counts';

/**
 * Which placement fields each capability gives a type: what a device can do decides what a
 * site file may say about it (a `counts` on a door sensor is a copy-paste slip, refused).
 */
export const PLACEMENT_FIELDS: Readonly<Record<Capability, readonly PlacementField[]>> = {
  door: ['door'],
  battery: [],
  signal: [],
  tamper: [],
  heartbeat: [],
  motion: ['watches', 'fov'],
  snapshot: ['watches', 'fov'],
  count: ['counts'],
};

export type PayloadFormat = 'json' | 'binary';

/** A command sent to a device on its `cmd` topic. */
export interface DeviceCommand {
  id: string;
  cmd: string;
  [key: string]: unknown;
}

/** A message a simulated device sends: an event on `up`, or raw bytes on a sub-topic (snapshot/{id}). */
export type SimOutput =
  | { kind: 'event'; event: DeviceEvent; format: PayloadFormat }
  | { kind: 'raw'; subtopic: string; payload: Buffer }
  /** Bytes still being made off the simulator's thread (a camera picture: SimEnvironment.pictures). */
  | { kind: 'raw-pending'; subtopic: string; payload: Promise<Buffer> };

/** Renders camera pictures somewhere else than the caller's thread (simulators/picture-thread.ts). */
export interface PictureRenderer {
  render(plan: SnapshotPlan): Promise<Buffer>;
}

/** What a simulated device knows about the world around it. */
export interface SimEnvironment {
  deviceId: string;
  siteId: string;
  zoneId: string;
  /** Zone kind from the site model: room, corridor, hall, lobby, office, cash-room, entrance… */
  zoneKind: string;
  /** Opening hours of the site in local hours, [open, close), e.g. [9, 21]; hotels are [0, 24). */
  openingHours: [number, number];
  /** A human label, e.g. the camera's name drawn on its snapshot. */
  label: string;
  /** Uniform random in [0, 1); seeded by the simulator so runs can be repeated. */
  random: () => number;
  /**
   * IANA time zone of the site (site model `timezone`); opening hours and daily routines are
   * read in it. Without it the process's own time zone is used.
   */
  timeZone?: string;
  /**
   * Types that count footfall (`count`): this counter's share of the people the zone it counts
   * into holds (the zone's capacity over the counters feeding it), so the simulated crowd fits
   * the place. Absent: the zone has no capacity.
   */
  countsCapacity?: number;
  /**
   * Types that count footfall: people inside the counted zone who came through this counter
   * when the simulation starts (the demo, restarted, continues from the twin's occupancy), so
   * they leave through it again. Absent: nobody.
   */
  countsCrowd?: number;
  /**
   * Where a camera renders its pictures. A 320×240 JPEG costs 60–125 ms of CPU in jpeg-js; the
   * demo, whose simulators share the server's event loop, renders in a worker thread so the
   * alarms do not wait behind a picture. Absent: rendered synchronously.
   */
  pictures?: PictureRenderer;
}

/**
 * A running simulated device. The simulator engine calls `advance` on every tick with the
 * simulated clock; the device returns what it sends in that interval.
 */
export interface SimulatedDevice {
  /** Sent right after connecting (a register frame, a first heartbeat…). */
  boot(simNow: Date): SimOutput[];
  /** Called with the simulated time now and the simulated milliseconds since the last call. */
  advance(simNow: Date, elapsedMs: number): SimOutput[];
  /**
   * Answers a command from the server (e.g. a camera's snapshot). The simulated clock drives
   * what the device sees; `takenAt` is the real time of the answer (default `simNow`), which a
   * camera burns into its picture: the same clock as the alarm the picture belongs to, however
   * fast the simulation runs.
   */
  command(cmd: DeviceCommand, simNow: Date, takenAt?: Date): SimOutput[];
  /** Manual actions a technician triggers (`storetwin simulate --device X --open`). */
  act(action: SimAction, simNow: Date): SimOutput[];
}

export type SimAction = 'open' | 'close' | 'tamper' | 'heartbeat' | 'motion';

/** A decode result: the events in the payload, or a coded refusal. */
export type DecodeResult =
  | { ok: true; events: DeviceEvent[]; format: PayloadFormat }
  | { ok: false; code: DecodeErrorCode; message: string };

export type DecodeErrorCode =
  | 'STW_ERR_PAYLOAD_MALFORMED_JSON'
  | 'STW_ERR_PAYLOAD_SCHEMA'
  | 'STW_ERR_PAYLOAD_TOO_MANY_EVENTS'
  | 'STW_ERR_FRAME_CHECKSUM'
  | 'STW_ERR_FRAME_LENGTH'
  | 'STW_ERR_FRAME_UNKNOWN_COMMAND'
  | 'STW_ERR_FRAME_MALFORMED'
  | 'STW_ERR_EVENT_UNSUPPORTED';

/**
 * How many events a device may send: a token bucket holding `burst` events, refilled at
 * `perSecond` (server/ingest/rate-budget.ts). Ingest keeps one bucket per device; a message
 * arriving when it is empty is acknowledged and dropped (STW_ERR_DEVICE_RATE_LIMITED).
 */
export interface RateBudget {
  /** Sustained events per second. */
  perSecond: number;
  /** Events the device may send at once after a quiet spell (the bucket's capacity). */
  burst: number;
}

/** One event in one wire format that survives encode → decode unchanged (catalogue tests, docs). */
export interface DeviceExample {
  format: PayloadFormat;
  event: DeviceEvent;
}

export interface DeviceType {
  id: string;
  label: { en: string; 'zh-CN': string };
  /**
   * Short lowercase prefix of the ids the CLI makes up (`storetwin device add` without `--id`
   * names a device `{idPrefix}-{zone}`, e.g. `door-2-14`); unique in the catalogue.
   */
  idPrefix: string;
  /** What the type can do (see Capability); everything outside devices/ asks these. */
  capabilities: readonly Capability[];
  /** Events this type produces. */
  events: readonly DeviceEventType[];
  /** Schema of the JSON form of one event from this type. */
  schema: z.ZodType<DeviceEvent>;
  /** Wire formats the type speaks; the first is what it sends by default. */
  formats: readonly PayloadFormat[];
  /** How often the device reports when nothing happens, seconds (NB-IoT: hours). */
  heartbeatIntervalS: number;
  /**
   * Default event rate budget of one device of this type, far above what a healthy device
   * sends so that only a broken or hostile one meets it; `ingest.rateBudgets` overrides it.
   */
  rateBudget: RateBudget;
  /** Payload bytes of an `up` message → events. Never throws. */
  decode(payload: Buffer): DecodeResult;
  /** One event → payload bytes in the given format. Throws if the type cannot encode it so. */
  encode(event: DeviceEvent, format: PayloadFormat): Buffer;
  simulate(env: SimEnvironment): SimulatedDevice;
  /**
   * Canonical events per format. An (event type, format) pair with no example is one the
   * format cannot carry: `encode` throws for it (e.g. AA55 frames have no tamper message).
   */
  examples?: readonly DeviceExample[];
  /** Battery-powered types: volts → estimated charge 0..100 for the type's cell chemistry. */
  batteryPercent?(volts: number): number;
}
