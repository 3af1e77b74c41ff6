/**
 * The contract every integration adapter fulfils. An adapter turns what a platform or a vendor
 * device sends (a CTWing or OneNET HTTP push, a Hikvision ISAPI alert, an Axis counter's
 * live-sum.json, a Frigate MQTT event) into canonical device messages; it knows nothing of
 * storage, the twin or HTTP. server/integrations/ does the rest for every adapter alike:
 * authenticate the push, match each message's device by its `externalIds`, decode frames with
 * the device type's codec, drop retransmissions, and hand events to ingest.
 *
 * An adapter is one module in server/integrations/adapters/ exporting one `Adapter`;
 * adapters/index.ts lists them; tests/integrations/contract.test.ts walks every one.
 */
import type { z } from 'zod';
import type { DeviceEvent } from '../../../devices/types.ts';
import type { ErrorCode } from '../../errors.ts';
import type { EXTERNAL_ID_PLATFORMS } from '../../registry/types.ts';

/** The keys of a device's `externalIds` (DESIGN.md): the device's id on each platform. */
export type ExternalIdKey = (typeof EXTERNAL_ID_PLATFORMS)[number];

/** An HTTP push as the adapter sees it: raw bytes, nothing parsed yet. */
export interface PushRequest {
  method: 'GET' | 'POST';
  /** The raw body (empty for GET). Already capped in size by the caller. */
  body: Buffer;
  /**
   * `Content-Type` header: the media type lower-cased, its parameters as sent (a multipart
   * boundary is case-sensitive): `multipart/form-data; boundary=MIME_boundary`.
   */
  contentType: string;
  /** Query-string parameters, first value of each, URL-decoded; `token` removed. */
  query: Readonly<Record<string, string>>;
}

/**
 * What happened to one device, in canonical form:
 * - `events`: canonical events (already mapped from the platform's fields);
 * - `frame`: the device's own bytes (CTWing APPdata, a OneNET opaque data point): the core
 *   decodes them with the matched device type's codec, exactly as if sent over MQTT;
 * - `status`: the platform saw the device come online or go offline.
 */
export type MessageBody =
  | { kind: 'events'; events: DeviceEvent[] }
  | { kind: 'frame'; payload: Buffer }
  | { kind: 'status'; online: boolean };

/** One device message found in a push (a push may carry several). */
export interface AdapterMessage {
  /**
   * The ids naming the device on the platform, tried in order against devices' `externalIds`
   * (CTWing: `ctwing` deviceId, then `imei`). Values as the platform sends them; the core
   * normalises (see normalizeExternalId).
   */
  ids: Partial<Record<ExternalIdKey, string>>;
  /**
   * When no device has one of `ids`: the device the integration's configuration maps this
   * message to (Hikvision: a channel number → device id). Undefined when there is no mapping.
   */
  fallbackDevice?: string;
  body: MessageBody;
  /** When it happened according to the platform (ISO 8601); events without `ts` get it. */
  at?: string;
  /**
   * Same key for the same device = a retransmission, stored once (CTWing: `upPacketSN`, or the
   * platform `timestamp` when the SN is -1). Undefined: never deduplicated.
   */
  dedupeKey?: string;
  /** A JPEG that came with the message (Hikvision multipart, Frigate): can serve as a snapshot. */
  picture?: Buffer;
  /** For the "unknown device" list: what the platform said the device is (product, model, name). */
  describe?: Readonly<Record<string, string>>;
}

/** An adapter's refusal: coded, counted by the core, answered with `status` (default the code's). */
export interface AdapterRefusal {
  ok: false;
  code: ErrorCode;
  message: string;
}

export function refuse(code: ErrorCode, message: string): AdapterRefusal {
  return { ok: false, code, message };
}

export type ParseResult =
  | {
      ok: true;
      messages: AdapterMessage[];
      /**
       * Set when the push is valid but carries nothing StoreTwin uses (a CTWing command
       * response, a Hikvision heartbeat alert): answered 200, counted as `ignored` with this reason.
       */
      ignored?: string;
      /** The answer the platform expects when not a plain 200 JSON (OneNET handshake: the echo). */
      reply?: { status: number; contentType: string; body: string };
    }
  | AdapterRefusal;

/**
 * Per-adapter state that lives as long as the integration (Axis: the last cumulative counts, to
 * turn them into deltas). The core keeps one per integration and passes it back each time.
 */
export type AdapterState = Record<string, unknown>;

/** What the core passes to `parse`. */
export interface ParseContext<C> {
  /** The integration's validated settings (`settingsSchema` output). */
  settings: C;
  /** The integration's state, kept between calls (mutable). */
  state: AdapterState;
  /** Now, ms since the epoch (the server clock). */
  now: number;
}

/**
 * A connector pulls from or subscribes to a device system instead of waiting for a push (Axis
 * polls `live-sum.json`, Frigate subscribes to its MQTT broker). The core starts one per enabled
 * integration of the adapter and stops it when the integration is disabled, changed or removed.
 */
export interface Connector {
  start(): void;
  stop(): Promise<void>;
}

export interface ConnectorContext<C> {
  integrationId: string;
  site: string;
  settings: C;
  /** Hands messages to the core (matched, decoded, stored like pushed ones). */
  deliver(messages: AdapterMessage[]): Promise<void>;
  /**
   * The adapter's own `parse`, with the integration's state kept by the core between calls
   * (Axis' running totals): feed what was fetched or received through it, then `deliver`.
   */
  parse(req: PushRequest): Promise<ParseResult>;
  /** Records a coded refusal against the integration (bad answer from the device, timeout…). */
  refuse(code: ErrorCode, message: string): void;
  now(): number;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

export interface Adapter<C = unknown> {
  /** `POST /api/ingest/{id}`; also the integration's `adapter`. */
  id: string;
  label: { en: string; 'zh-CN': string };
  /** Which `externalIds` keys this adapter matches devices by, in order. */
  externalIdKeys: readonly ExternalIdKey[];
  /**
   * The integration's settings (`POST /api/integrations` body `settings`): OneNET's token,
   * Hikvision's channel map, Axis' URL and credentials… Secrets in it are never shown again:
   * `secretSettings` names them so listings mask them.
   */
  settingsSchema: z.ZodType<C>;
  secretSettings?: readonly string[];
  /**
   * How the platform delivers: 'push' to `POST /api/ingest/{id}`, or 'connector' (the server
   * reaches out). A push adapter may also answer a GET (URL verification).
   */
  delivery: 'push' | 'connector';
  /**
   * A push (or a GET handshake) → device messages, or a coded refusal. Never throws. Every
   * push carries the integration's token besides (checked by the core before `parse`); a
   * platform signature (OneNET) is verified here. A connector feeds what it fetched or received
   * (Axis: one live-sum.json answer; Frigate: one MQTT message) through `parse` too, as a POST
   * with that body, so every adapter is tested the same way.
   */
  parse(req: PushRequest, ctx: ParseContext<C>): ParseResult | Promise<ParseResult>;
  /**
   * The inverse of `parse`: what the platform would send for this message. Simulators use it
   * (`storetwin simulate --via ADAPTER`), and the contract suite checks parse(render(m)) ≈ m.
   * Stateful formats (Axis' running totals) keep their running state in `ctx.state`.
   */
  render(message: AdapterMessage, ctx: ParseContext<C>): PushRequest;
  /** Connector adapters: the loop that fetches or subscribes, started per enabled integration. */
  connect?(ctx: ConnectorContext<C>): Connector;
  /**
   * A picture on request for a camera this integration hears (the linker's `snapshot` command
   * for a device not on our broker): Frigate creates an event and returns its snapshot. The
   * core answers from a picture that came with a recent message (Hikvision, Frigate) first.
   * Resolves null when the system has none; rejects on a transport failure.
   */
  snapshot?(req: SnapshotRequest, ctx: { settings: C; now: number }): Promise<Buffer | null>;
  /** One real example per message kind, for the contract suite and the API docs. */
  examples: readonly AdapterExample[];
}

export interface SnapshotRequest {
  device: { id: string; site: string; zone: string; externalIds: Readonly<Record<string, string>> };
  /** The alarm the picture is for, when there is one. */
  alarm?: { id: string; ruleId: string; severity: string; title: string };
}

/** A sample push and what it must become (contract suite, OpenAPI examples, simulators). */
export interface AdapterExample {
  name: string;
  request: PushRequest;
  settings: unknown;
  /** The messages it must parse to, compared field by field (`picture` by length). */
  expect: readonly AdapterMessage[];
}

/**
 * Declares an adapter with its own settings type and erases that type for the catalogue. Safe
 * because the core hands `parse`, `render`, `connect` and `snapshot` only settings that went
 * through the adapter's own `settingsSchema`.
 */
export function defineAdapter<C>(adapter: Adapter<C>): Adapter<unknown> {
  return adapter as unknown as Adapter<unknown>;
}
