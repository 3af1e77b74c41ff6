/**
 * `storetwin simulate --via ADAPTER`: the same simulated devices, heard the way an integration
 * hears them. One transport for every adapter; what differs is the wire, by how the platform
 * delivers:
 * - a push adapter (CTWing, OneNET, Hikvision): each message POSTed to StoreTwin's push
 *   endpoint with the integration's token (push.ts);
 * - a polled device system (Axis): the simulator serves what the device would answer (serve.ts);
 * - a subscribed device system (Frigate): the simulator publishes what it would (publish.ts).
 */
import { deviceTypeHas, getDeviceType } from '../../devices/index.ts';
import type { Capability, DeviceType } from '../../devices/types.ts';
import { adapters, getAdapter } from '../../server/integrations/adapters/index.ts';
import type { Adapter, AdapterState, ExternalIdKey } from '../../server/integrations/adapters/types.ts';
import type { Site } from '../../server/sites/model.ts';
import type { DeliveryTotals, DeviceLink, LinkHooks, SimulatedDeviceSpec, Transport } from '../link.ts';
import { derivedExternalId, type ExternalIds } from './external-ids.ts';
import { eventTypesOf, profileOf, Stamps, ViaLink, type ViaContext, type ViaProfile, type ViaWire } from './link.ts';
import { PublishWire } from './publish.ts';
import { PushWire } from './push.ts';
import { ServeWire } from './serve.ts';

export type ViaStyle = 'push' | 'serve' | 'publish';

/**
 * Connector adapters the simulator can stand in for, and what their devices must be able to
 * do. StoreTwin reaches out to these systems, so the simulator becomes the system: the Axis
 * counter it polls, the Frigate whose broker it subscribes to.
 */
const CONNECTOR_STYLES: Readonly<Record<string, { style: Exclude<ViaStyle, 'push'>; needs: Capability; events: readonly string[] }>> = {
  axis: { style: 'serve', needs: 'count', events: ['count'] },
  frigate: { style: 'publish', needs: 'motion', events: ['motion'] },
};

/** The adapter ids `--via` takes. */
export function viaAdapterIds(): string[] {
  return adapters.filter((a) => a.delivery === 'push' || CONNECTOR_STYLES[a.id] !== undefined).map((a) => a.id);
}

export function viaStyleOf(adapterId: string): ViaStyle | undefined {
  const adapter = getAdapter(adapterId);
  if (!adapter) return undefined;
  if (adapter.delivery === 'push') return 'push';
  return CONNECTOR_STYLES[adapter.id]?.style;
}

export class ViaError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'ViaError';
  }
}

export interface ViaOptions {
  adapter: string;
  site: Site;
  /** The devices asked for (a whole site, or one). */
  devices: readonly SimulatedDeviceSpec[];
  /** `--settings`: the adapter's settings as the integration has them (OneNET's token…). */
  settings?: Record<string, unknown>;
  /** `externalIds` as registered on the server (`--api-token`), by device id. */
  registered?: ReadonlyMap<string, ExternalIds>;
  /** `--external-id` for the one `--device`. */
  externalId?: string;
  /** StoreTwin's HTTP base URL (push adapters). */
  url: string;
  /** The integration's token (push adapters). */
  token?: string;
  /** Where the Axis stand-in listens. */
  listen?: { host: string; port: number };
  username?: string;
  password?: string;
  /** Frigate's broker. */
  frigateMqtt?: string;
  qos: 0 | 1;
  /** Devices report online/offline around their run (off for one-shot actions). */
  presence: boolean;
}

export interface ViaPlan {
  transport: ViaTransport;
  /** The devices this platform can carry. */
  devices: SimulatedDeviceSpec[];
  /** The devices left out, and why. */
  leftOut: { id: string; type: string; reason: string }[];
  /** Problems worth a line before starting (ids derived where the server had none…). */
  warnings: string[];
}

/** Builds the transport for `--via`: the adapter, its settings, which devices, their ids. */
export function planVia(o: ViaOptions): ViaPlan {
  const adapter = getAdapter(o.adapter);
  const style = viaStyleOf(o.adapter);
  if (!adapter || !style) throw new ViaError(`--via ${o.adapter}: not one of ${viaAdapterIds().join(', ')}`, 2);
  const key = adapter.externalIdKeys[0];
  if (!key) throw new ViaError(`--via ${o.adapter}: the adapter names no external id`, 2);
  const settings = settingsFor(adapter, style, o);
  const profile = profileOf(adapter);

  // Which devices the platform hears: a carrier platform carries any device's own bytes;
  // another carries the events its examples show (Hikvision: counts and motion); a connector's
  // devices must be able to do what it is about (Axis: count; Frigate: motion).
  const connector = CONNECTOR_STYLES[adapter.id];
  const eventTypes = profile.frames ? undefined : connector ? new Set(connector.events) : eventTypesOf(adapter);
  const devices: SimulatedDeviceSpec[] = [];
  const leftOut: ViaPlan['leftOut'] = [];
  for (const spec of o.devices) {
    const type = getDeviceType(spec.type);
    const reason = type === undefined ? `unknown device type "${spec.type}"` : carries(adapter, profile, connector?.needs, eventTypes, type);
    if (reason === null) devices.push(spec);
    else leftOut.push({ id: spec.id, type: spec.type, reason });
  }

  const warnings: string[] = [];
  const ids = new Map<string, ExternalIds>();
  for (const spec of devices) {
    const registered = o.registered?.get(spec.id);
    const chosen: ExternalIds = {};
    if (o.externalId !== undefined && o.devices.length === 1) chosen[key] = o.externalId;
    else if (registered?.[key] !== undefined) chosen[key] = registered[key];
    else {
      chosen[key] = derivedExternalId(key, spec.id);
      if (o.registered) {
        warnings.push(
          registered === undefined
            ? `${spec.id} is not registered on the server: pushes for it will count as an unknown device`
            : `${spec.id} is registered without a ${key} id: using ${key} "${chosen[key]}" (add it to the device's externalIds)`,
        );
      }
    }
    // A carrier platform also names the device by its IMEI when the server has one.
    if (registered?.imei !== undefined && adapter.externalIdKeys.includes('imei')) chosen.imei = registered.imei;
    ids.set(spec.id, chosen);
  }

  const state: AdapterState = {};
  const idsOf = (deviceId: string): ExternalIds => ids.get(deviceId) ?? {};
  const describeIds = (deviceId: string): string => `${key} "${idsOf(deviceId)[key] ?? ''}"`;
  let wire: ViaWire & { totals(): DeliveryTotals };
  let topic: string;
  let lifecycle: { start(): Promise<void>; stop(): Promise<void> };
  let target: () => string;
  let intro: () => string[];
  switch (style) {
    case 'push': {
      if (!o.token) throw new ViaError(`--via ${adapter.id} needs --token: the integration's token (POST /api/integrations answers it)`, 2);
      const push = new PushWire({ adapter: adapter.id, url: o.url, token: o.token, describeIds });
      wire = push;
      topic = `POST /api/ingest/${adapter.id}`;
      target = () => push.endpoint;
      lifecycle = { start: () => push.check(), stop: async () => {} };
      intro = () => [`pushing as ${adapter.label.en} to ${push.endpoint}?token=…`, ...idLines(devices, idsOf, key)];
      break;
    }
    case 'serve': {
      const listen = o.listen ?? { host: '127.0.0.1', port: 8091 };
      const serve = new ServeWire({
        adapter,
        settings,
        state,
        host: listen.host,
        port: listen.port,
        devices,
        idsOf,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
      });
      wire = serve;
      topic = 'live-sum.json';
      target = () => `${serve.baseUrl}/{device}/local/tvpc/.api?live-sum.json`;
      lifecycle = serve;
      intro = () => [
        `serving live-sum.json as ${adapter.label.en}s: create one ${adapter.id} integration per counter with its url` +
          ` (settings {"url": URL, "timeZone": "${(settings as { timeZone?: string }).timeZone ?? 'UTC'}"${o.username !== undefined ? ', "username", "password"' : ''}}):`,
        ...devices.map((d) => `  ${d.id}  ${key} ${idsOf(d.id)[key] ?? ''}  ${serve.urlOf(d.id)}`),
      ];
      break;
    }
    case 'publish': {
      if (!o.frigateMqtt) throw new ViaError(`--via ${adapter.id} needs --frigate-mqtt: the MQTT broker Frigate publishes to (mqtt://host:1883)`, 2);
      const prefix = (settings as { topicPrefix?: string }).topicPrefix ?? 'frigate';
      const publish = new PublishWire({ url: o.frigateMqtt, topic: `${prefix}/events`, qos: o.qos });
      wire = publish;
      topic = `${prefix}/events`;
      target = () => publish.target;
      lifecycle = publish;
      intro = () => [`publishing as ${adapter.label.en} to ${publish.target}`, ...idLines(devices, idsOf, key)];
      break;
    }
  }

  const ctx: ViaContext = {
    adapter,
    settings,
    state,
    profile,
    idsOf,
    ...(eventTypes ? { eventTypes } : {}),
    presence: o.presence,
    topic,
    wire,
  };
  return { transport: new ViaTransport(target, ctx, wire, lifecycle, intro), devices, leftOut, warnings };
}

export class ViaTransport implements Transport {
  private readonly stamps = new Stamps();

  constructor(
    private readonly where: () => string,
    private readonly ctx: ViaContext,
    private readonly wire: { totals(): DeliveryTotals },
    private readonly lifecycle: { start(): Promise<void>; stop(): Promise<void> },
    private readonly intro: () => string[],
  ) {}

  get target(): string {
    return this.where();
  }

  start(): Promise<void> {
    return this.lifecycle.start();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  open(device: { id: string; type: DeviceType }, hooks: LinkHooks): DeviceLink {
    return new ViaLink(device, this.ctx, this.stamps, hooks);
  }

  totals(): DeliveryTotals {
    return this.wire.totals();
  }

  /** Lines for a person once started: where it goes and each device's id there. */
  describe(): string[] {
    return this.intro();
  }
}

/** null when the platform carries something of this type; else why not. */
function carries(adapter: Adapter<unknown>, profile: ViaProfile, needs: Capability | undefined, eventTypes: ReadonlySet<string> | undefined, type: DeviceType): string | null {
  if (needs !== undefined) return deviceTypeHas(type.id, needs) ? null : `${adapter.label.en} is about devices that can ${needs}; a ${type.id} cannot`;
  if (profile.frames || eventTypes === undefined) return null;
  return type.events.some((e) => eventTypes.has(e)) ? null : `${adapter.label.en} carries ${[...eventTypes].join(' and ')} events; a ${type.id} sends none`;
}

/** The adapter's settings for render: what the user gave, over what the simulator knows. */
function settingsFor(adapter: Adapter<unknown>, style: ViaStyle, o: ViaOptions): unknown {
  const defaults: Record<string, unknown> =
    style === 'serve'
      ? // Render only reads the zone of the counter's clock; the URL is each device's own.
        { url: 'http://127.0.0.1/local/tvpc/.api?live-sum.json', ...(o.site.timezone ? { timeZone: o.site.timezone } : {}) }
      : style === 'publish' && o.frigateMqtt
        ? { mqttUrl: o.frigateMqtt }
        : {};
  const parsed = adapter.settingsSchema.safeParse({ ...defaults, ...(o.settings ?? {}) });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  --settings ${i.path.length > 0 ? i.path.join('.') : '(settings)'}: ${i.message}`);
  const hint = adapter.secretSettings?.length ? `\n  (the same ${adapter.secretSettings.join(', ')} as the integration's settings, e.g. --settings '{"${adapter.secretSettings[0]}":"…"}')` : '';
  throw new ViaError(`invalid settings for ${adapter.id}:\n${problems.join('\n')}${hint}`, 2);
}

function idLines(devices: readonly SimulatedDeviceSpec[], idsOf: (id: string) => ExternalIds, key: ExternalIdKey): string[] {
  return devices.map((d) => `  ${d.id}  externalIds ${JSON.stringify(idsOf(d.id))}${idsOf(d.id)[key] === undefined ? ` (no ${key} id)` : ''}`);
}
