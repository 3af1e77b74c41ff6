/**
 * Replay history of a site: the twin's state at `from` and every change of it in (from, to],
 * folded from stored events with the live twin's own reduction (server/twin/reduce.ts), so
 * the replayed twin at an instant is what the live twin showed then.
 *
 * State at `from` is folded from a bounded lookback rather than from the beginning of time:
 * - doors, battery, signal, tamper, online: the events of the STATE_LOOKBACK_MS before `from`.
 *   Door sensors repeat the contact state, battery and signal in every hourly heartbeat and
 *   cameras and counters heartbeat every 10 minutes, so two hours cover every live device
 *   twice; a device silent for longer shows `null` (unknown) at `from`, as it would be offline.
 * - occupancy: the counts since the start of the site's local day holding `from` (local
 *   midnight in the site's time zone). A day starts empty: shops are closed at night, and a
 *   counter's drift (missed crossings) does not pile up over weeks as it would in a running
 *   sum. The live twin keeps a running sum since it started, so around midnight the two may
 *   differ by the drift of the day before.
 * - tamper starts `false`, like the live twin's.
 *
 * Cost: one pass over the window's events in (ts, id) order through the store's keyset pages,
 * plus each counter's counts since local midnight by its device index. The answer is compact:
 * state once, then only fields that really changed, as arrays.
 *
 * A week of a busy site is ~150k events and seconds of synchronous work (SQLite, the fold, the
 * JSON): it runs in slices that hand the event loop back every few ms (server/storage/yield.ts),
 * writes the changes as JSON as it goes (buildHistoryJson), and reads at most `maxEvents`
 * events, else 413 STW_ERR_QUERY_TOO_LARGE (a shorter window).
 */
import { deviceTypeHas } from '../../devices/index.ts';
import { StoreTwinError } from '../errors.ts';
import type { Site } from '../sites/model.ts';
import type { DeviceLookup } from '../registry/directory.ts';
import type { EventStore, StoredEvent } from '../storage/types.ts';
import { countsWiring, emptyDeviceState, emptyZoneStates, reduceEvent, type TwinWorld } from '../twin/reduce.ts';
import type { DeviceState, ZoneState } from '../twin/types.ts';
import type { AlarmWindowReader, HistoryAlarm } from './alarms.ts';
import { localDayStart } from './local-time.ts';
import { EventLoopSlicer } from '../storage/yield.ts';
import { scanEvents } from './scan.ts';

export const HOUR_MS = 3_600_000;
/** See the file comment: two hourly door-sensor heartbeats. */
export const STATE_LOOKBACK_MS = 2 * HOUR_MS;
export const DEFAULT_WINDOW_MS = 24 * HOUR_MS;
/** A week of the demo hotel is ~7× the 24 h answer (a few MB); longer windows are paged by the caller. */
export const MAX_WINDOW_MS = 7 * 24 * HOUR_MS;
/** Alarms in one answer; a site with more in a week has a rule to fix first. */
export const MAX_HISTORY_ALARMS = 5000;
/**
 * Events one history may read (lookback included) unless configured otherwise (config
 * `limits.historyMaxEvents`): a week of a site reporting ~70k events a day. More is seconds of
 * CPU and tens of MB of answer for one request; the caller asks for a shorter window instead.
 */
export const DEFAULT_HISTORY_MAX_EVENTS = 500_000;
/** Events folded between two looks at the slice clock (~15 µs each with their read). */
const CHECK_EVERY = 16;
/** Changes per off-heap JSON chunk (~32 KB). */
const JSON_CHUNK = 512;

/** Device fields the replay shows, in the order they are compared. */
export const HISTORY_DEVICE_FIELDS = ['online', 'door', 'battery', 'batteryPct', 'rsrp', 'tamper', 'lastSeen'] as const;
export const HISTORY_ZONE_FIELDS = ['door', 'occupancy'] as const;

export type HistoryDeviceState = Pick<DeviceState, (typeof HISTORY_DEVICE_FIELDS)[number]>;
export type HistoryZoneState = Pick<ZoneState, (typeof HISTORY_ZONE_FIELDS)[number]>;

/** `[t (Unix ms of the event), 'd' device | 'z' zone, id, field, new value]` */
export type HistoryChange = [number, 'd' | 'z', string, string, string | number | boolean | null];

export interface History {
  site: string;
  from: string;
  to: string;
  /** Where the folds for the state at `from` began (see the file comment). */
  lookback: { state: string; occupancy: string };
  /**
   * The time of the first event this history was folded from (lookback included), or null when
   * it read none. Before it the replay has no data: a `dataFrom` after `from` means the twin at
   * `from` is unknown, not "all closed", until that instant.
   */
  dataFrom: string | null;
  state: { devices: Record<string, HistoryDeviceState>; zones: Record<string, HistoryZoneState> };
  changes: HistoryChange[];
  alarms: HistoryAlarm[];
  /** True when the site had more than MAX_HISTORY_ALARMS alarms in the window (the oldest are given). */
  alarmsTruncated: boolean;
}

export interface HistoryDeps {
  events: EventStore;
  registry: Pick<DeviceLookup, 'devicesOfSite'>;
  alarms: AlarmWindowReader;
}

export interface HistoryOptions {
  /** Default DEFAULT_HISTORY_MAX_EVENTS. */
  maxEvents?: number;
  slicer?: EventLoopSlicer;
  /** Aborting stops the fold at its next slice (the promise rejects). */
  signal?: AbortSignal;
  /**
   * The alarm categories the caller may see (server/alarms/category.ts); undefined = all. A
   * technician's replay shows device-health alarms only, like their console.
   */
  alarmCategories?: readonly string[];
}

/** The folding state of one site: the same shapes the live twin keeps. */
class SiteFold implements TwinWorld {
  readonly devices = new Map<string, DeviceState>();
  readonly zones: Map<string, ZoneState>;
  private readonly byZone = new Map<string, DeviceState[]>();
  private readonly wiring: Map<string, string>;

  constructor(readonly site: Site) {
    this.zones = emptyZoneStates(site);
    this.wiring = countsWiring(site);
  }

  add(device: { id: string; site: string; zone: string; type: string }): DeviceState {
    const state = emptyDeviceState(device);
    this.devices.set(device.id, state);
    const list = this.byZone.get(device.zone) ?? [];
    list.push(state);
    this.byZone.set(device.zone, list);
    return state;
  }

  /** A device that reported but is no longer registered keeps its history, in the zone it reported from. */
  deviceOf(e: StoredEvent): DeviceState {
    return this.devices.get(e.device) ?? this.add({ id: e.device, site: e.site, zone: e.zone, type: e.deviceType });
  }

  zone(_site: string, zone: string): ZoneState | undefined {
    return this.zones.get(zone);
  }

  devicesIn(_site: string, zone: string): Iterable<DeviceState> {
    return this.byZone.get(zone) ?? [];
  }

  countsInto(device: string): string | undefined {
    return this.wiring.get(device);
  }
}

export function historyWindow(q: { from?: string; to?: string }, now: number): { fromMs: number; toMs: number } {
  const toMs = q.to === undefined ? now : Date.parse(q.to);
  const fromMs = q.from === undefined ? toMs - DEFAULT_WINDOW_MS : Date.parse(q.from);
  if (fromMs > toMs) throw new StoreTwinError('STW_ERR_VALIDATION', 'from must not be after to', [{ path: ['from'], message: 'after to' }]);
  if (toMs - fromMs > MAX_WINDOW_MS) {
    throw new StoreTwinError('STW_ERR_VALIDATION', 'the window is at most 7 days', [{ path: ['from'], message: 'more than 7 days before to' }]);
  }
  return { fromMs, toMs };
}

/** Where the fold's changes go: an array (buildHistory) or JSON text (buildHistoryJson). */
type ChangeSink = (t: number, kind: 'd' | 'z', id: string, field: string, value: HistoryChange[4]) => void;

export async function buildHistory(deps: HistoryDeps, site: Site, fromMs: number, toMs: number, opts: HistoryOptions = {}): Promise<History> {
  const changes: HistoryChange[] = [];
  const rest = await foldHistory(deps, site, fromMs, toMs, opts, (t, kind, id, field, value) => changes.push([t, kind, id, field, value]));
  return { ...rest, changes };
}

/**
 * The answer as JSON bytes, for the route: the same value as JSON.stringify(buildHistory(…)),
 * with `changes` as the last key. A week of a busy site is ~175k changes and 11 MB of JSON. Held
 * as arrays they would survive young-generation collections by the hundred thousand, and four
 * such histories at once made scavenges of 40–190 ms (GC pauses no slicing can split); here each
 * change is written as JSON text at once and kept only in off-heap buffers.
 */
export async function buildHistoryJson(deps: HistoryDeps, site: Site, fromMs: number, toMs: number, opts: HistoryOptions = {}): Promise<Buffer> {
  const writer = new JsonChangeWriter();
  const rest = await foldHistory(deps, site, fromMs, toMs, opts, writer.add);
  const head = JSON.stringify(rest);
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"changes":[`, 'utf8'), ...writer.finish(), Buffer.from(']}', 'utf8')]);
}

/** Changes as JSON array elements, in chunks of JSON_CHUNK, each a Buffer (off the V8 heap). */
class JsonChangeWriter {
  private parts: string[] = [];
  private readonly chunks: Buffer[] = [];
  /** Ids repeat (a few hundred devices and zones): quote each once. */
  private readonly quoted = new Map<string, string>();

  readonly add: ChangeSink = (t, kind, id, field, value) => {
    let q = this.quoted.get(id);
    if (q === undefined) {
      q = JSON.stringify(id);
      this.quoted.set(id, q);
    }
    // `field` is one of HISTORY_*_FIELDS: plain identifiers, nothing to escape.
    const comma = this.parts.length > 0 || this.chunks.length > 0 ? ',' : '';
    this.parts.push(`${comma}[${t},"${kind}",${q},"${field}",${value === undefined ? 'null' : JSON.stringify(value)}]`);
    if (this.parts.length >= JSON_CHUNK) this.flush();
  };

  finish(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(Buffer.from(this.parts.join(''), 'utf8'));
    this.parts = [];
  }
}

async function foldHistory(deps: HistoryDeps, site: Site, fromMs: number, toMs: number, opts: HistoryOptions, change: ChangeSink): Promise<Omit<History, 'changes'>> {
  const slicer = opts.slicer ?? new EventLoopSlicer();
  // Wait for a turn before starting, like every later slice (see server/storage/yield.ts).
  await slicer.yield();
  const maxEvents = opts.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
  let read = 0;
  /** Counts a page read; past the bound the request is refused rather than answered in part. */
  const count = (n: number) => {
    read += n;
    if (read > maxEvents) {
      throw new StoreTwinError('STW_ERR_QUERY_TOO_LARGE', `the window holds more than ${maxEvents} events: ask for a shorter one`, { maxEvents });
    }
  };
  const fold = new SiteFold(site);
  const counters: string[] = [];
  for (const d of deps.registry.devicesOfSite(site.id)) {
    fold.add(d);
    if (deviceTypeHas(d.type, 'count')) counters.push(d.id);
  }

  const stateStart = fromMs - STATE_LOOKBACK_MS;
  const occupancyStart = localDayStart(fromMs, site.timezone);
  const iso = (ms: number) => new Date(ms).toISOString();
  /** The earliest event read (see History.dataFrom). */
  let firstMs = Infinity;

  // 1. Counts between local midnight and the lookback, counter by counter (device index).
  if (occupancyStart < stateStart) {
    const early: StoredEvent[] = [];
    for (const device of counters) {
      for await (const page of scanEvents(deps.events, { device, type: 'count', from: iso(occupancyStart), to: iso(stateStart) }, { slicer })) {
        count(page.length);
        early.push(...page);
      }
    }
    early.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || a.id - b.id);
    if (early[0]) firstMs = Date.parse(early[0].ts);
    for (const e of early) reduceEvent(fold, fold.deviceOf(e), e);
  }

  // 2. The lookback and the window in one ordered pass; `to` is inclusive, the store's is exclusive.
  let snapshot: History['state'] | null = null;
  let lastZone = new Map<string, HistoryZoneState>();
  const before: Array<HistoryDeviceState[keyof HistoryDeviceState]> = [];
  let seen = 0;
  for await (const page of scanEvents(deps.events, { site: site.id, from: iso(stateStart), to: iso(toMs + 1) }, { slicer })) {
    count(page.length);
    for (const e of page) {
      if (++seen % CHECK_EVERY === 0) {
        await slicer.pause();
        opts.signal?.throwIfAborted();
      }
      const t = Date.parse(e.ts);
      if (t < firstMs) firstMs = t;
      // Occupancy starts at local midnight even when the lookback reaches back before it.
      if (e.type === 'count' && t < occupancyStart) continue;
      if (snapshot === null && t > fromMs) {
        snapshot = snapshotOf(fold);
        lastZone = new Map(Object.entries(snapshot.zones).map(([id, z]) => [id, { ...z }]));
      }
      const device = fold.deviceOf(e);
      if (snapshot === null) {
        reduceEvent(fold, device, e);
        continue;
      }
      for (let i = 0; i < HISTORY_DEVICE_FIELDS.length; i++) before[i] = device[HISTORY_DEVICE_FIELDS[i] as keyof HistoryDeviceState];
      const { zones } = reduceEvent(fold, device, e);
      for (let i = 0; i < HISTORY_DEVICE_FIELDS.length; i++) {
        const field = HISTORY_DEVICE_FIELDS[i] as keyof HistoryDeviceState;
        const value = device[field];
        if (value !== before[i]) change(t, 'd', device.id, field, value);
      }
      for (const { zone } of zones) {
        const last = lastZone.get(zone.id) ?? { door: null, occupancy: null };
        for (const field of HISTORY_ZONE_FIELDS) {
          if (zone[field] === last[field]) continue;
          change(t, 'z', zone.id, field, zone[field]);
          (last as Record<string, unknown>)[field] = zone[field];
        }
        lastZone.set(zone.id, last);
      }
    }
  }
  snapshot ??= snapshotOf(fold);

  const alarms = await deps.alarms.overlapping(site.id, fromMs, toMs, MAX_HISTORY_ALARMS + 1, opts.alarmCategories);
  const alarmsTruncated = alarms.length > MAX_HISTORY_ALARMS;
  if (alarmsTruncated) alarms.length = MAX_HISTORY_ALARMS;
  return {
    site: site.id,
    from: iso(fromMs),
    to: iso(toMs),
    lookback: { state: iso(stateStart), occupancy: iso(occupancyStart) },
    dataFrom: firstMs === Infinity ? null : iso(firstMs),
    state: snapshot,
    alarms,
    alarmsTruncated,
  };
}

function snapshotOf(fold: SiteFold): History['state'] {
  const devices: Record<string, HistoryDeviceState> = {};
  for (const d of fold.devices.values()) {
    devices[d.id] = { online: d.online, door: d.door, battery: d.battery, batteryPct: d.batteryPct, rsrp: d.rsrp, tamper: d.tamper, lastSeen: d.lastSeen };
  }
  const zones: Record<string, HistoryZoneState> = {};
  for (const z of fold.zones.values()) zones[z.id] = { door: z.door, occupancy: z.occupancy };
  return { devices, zones };
}
