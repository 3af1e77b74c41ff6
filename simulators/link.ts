/**
 * How a simulated device's messages leave the simulator. The engine (site-simulator.ts) owns the
 * clock, the devices and the counting; a `Transport` opens one `DeviceLink` per device and puts
 * its messages on a wire: MQTT to a broker (mqtt-transport.ts, what real StoreTwin devices do),
 * or a platform's own format through an integration adapter (via/: a CTWing push, an Axis
 * counter's live-sum.json, a Frigate MQTT event).
 */
import type { DeviceEvent, DeviceType, PayloadFormat } from '../devices/types.ts';

export interface SimulatedDeviceSpec {
  id: string;
  /** Device type id, e.g. `door-sensor`. */
  type: string;
  zone: string;
  label?: string;
}

/**
 * What a simulated device puts on its link: an event (in the wire format the device chose), raw
 * bytes on a sub-topic (a snapshot), or its presence. `why` tells a link why presence changes:
 * `connect` and `stop` are the device's own goodbyes and greetings; `lost` is the device
 * vanishing (MQTT leaves that to the broker's last will; a platform reports it).
 */
export type LinkMessage =
  | { kind: 'event'; event: DeviceEvent; format: PayloadFormat }
  | { kind: 'raw'; subtopic: string; payload: Buffer }
  | { kind: 'status'; online: boolean; why: 'connect' | 'stop' | 'lost' };

/** One message a simulated device put on the wire. */
export interface SentMessage {
  deviceId: string;
  /** Where it went: the MQTT topic, or what stands for it (`POST /api/ingest/ctwing`). */
  topic: string;
  /** The bytes as sent (the MQTT payload, the HTTP body). */
  payload: Buffer;
  /** The event, for messages that carry one. */
  event?: DeviceEvent;
  retain: boolean;
  qos: 0 | 1;
  /**
   * The message as a person reads it, when the payload is not that by itself (a rendered push:
   * its body on one line, the frame inside it, the event).
   */
  text?: string;
  /** What the receiving end answered, when it answers more than an acknowledgement (a push's tally). */
  answer?: string;
  /** Set when the message did not get through: why. */
  failed?: string;
}

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'offline' | 'stopped';

/** What the engine hears from a link. */
export interface LinkHooks {
  /** The link came up (first time or again): send what a device sends on connecting. Awaited. */
  connected(): Promise<void>;
  /** The link's state changed on its own (lost, retrying): progress is worth reporting. */
  changed(): void;
  /** Bytes on the device's command channel (MQTT `cmd`). */
  command(payload: Buffer): void;
  /** A problem the link met on its own (a refused connection, a failed subscription). */
  error(message: string): void;
}

export interface DeviceLink {
  readonly state: LinkState;
  /** Resolves at the first outcome of opening: `connected`, or `failed` (counted, maybe retried). */
  readonly ready: Promise<'connected' | 'failed'>;
  /**
   * Encodes or renders a message for this wire. `skip` when this wire does not carry it (a
   * heartbeat to a platform that has no heartbeats, an MQTT `lost`, which the broker's will
   * says). Throws when the device type cannot encode the event.
   */
  prepare(message: LinkMessage, qos: 0 | 1): SentMessage | { skip: string };
  /**
   * Puts a prepared message on the wire. Resolves `ok` when the other end took it (MQTT: PUBACK
   * at QoS 1, written at QoS 0; a push: answered 200); never rejects. May fill in
   * `message.answer` and `message.failed`.
   */
  deliver(message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }>;
  /**
   * What the device did without sending it (SiteSimulator.actSilently). A link that re-encodes
   * may learn from it, e.g. the battery voltage a binary frame needs.
   */
  observe?(message: LinkMessage): void;
  /**
   * Ends the link. `drop`: vanish without a goodbye, as a dead battery does (MQTT: no
   * DISCONNECT, so the broker publishes the will). A dropped or closed link stays down. A
   * graceful close gives up waiting for the other end after `timeoutMs`.
   */
  close(options: { drop: boolean; timeoutMs: number }): Promise<void>;
}

/** Counts a transport keeps beyond sent/acknowledged (a push's tallies, polls answered). */
export interface DeliveryTotals {
  /** What the counts are about, e.g. `ctwing`. */
  label: string;
  counts: Record<string, number>;
  /** The last problem the other end reported (an unknown device, a refused frame). */
  lastProblem?: string;
}

export interface OpenOptions {
  /** The device's MQTT password, where the wire has one. */
  password?: string;
  /** How long one connection attempt may take before it counts as failed. */
  connectTimeoutMs: number;
}

export interface Transport {
  /** Where messages go, for messages to a person (`mqtt://…`, `http://…/api/ingest/ctwing`). */
  readonly target: string;
  /** Opens what the devices share (an HTTP server, one MQTT connection); throws when it cannot. */
  start?(): Promise<void>;
  /** A link for one device. It calls `hooks` only after open() returned, never from inside it. */
  open(device: { id: string; site: string; type: DeviceType; spec: SimulatedDeviceSpec }, hooks: LinkHooks, options: OpenOptions): DeviceLink;
  /** Closes what start() opened, after every link closed. */
  stop?(): Promise<void>;
  totals?(): DeliveryTotals;
}

/** Resolves with the promise's value, or undefined once `ms` passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
