/**
 * A generated site of any size, for the perf test and the demo page: per floor a hall with a
 * capacity and a footfall counter, a corridor, rooms on both sides of it, a door sensor per
 * room and two cameras looking down the corridor. Plus a plausible state and random changes.
 */
import type { TwinBatch } from '../../../server/live/protocol.ts';
import type { DeviceState, SiteState, ZoneState } from '../../../server/twin/types.ts';
import type { SiteModel } from './types.ts';
import { mulberry32 } from '../../../devices/shared/random.ts';

type Floor = SiteModel['floors'][number];
type Device = SiteModel['devices'][number];

const ROOM_W = 4;
const ROOM_D = 6;
const CORRIDOR = 2;
const HALL_W = 12;

/** The devices' seedable PRNG (mulberry32), so a run can be repeated. */
export const rng = mulberry32;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function syntheticSite(opts: { rooms?: number; floors?: number; id?: string } = {}): SiteModel {
  const rooms = Math.max(1, Math.floor(opts.rooms ?? 1000));
  const nFloors = Math.max(1, Math.min(rooms, Math.floor(opts.floors ?? 10)));
  const id = opts.id ?? 'synthetic';
  const floors: Floor[] = [];
  const devices: Device[] = [];
  let left = rooms;
  const y0 = ROOM_D;
  const y1 = ROOM_D + CORRIDOR;
  const y2 = y1 + ROOM_D;
  for (let f = 0; f < nFloors; f++) {
    const n = Math.ceil(left / (nFloors - f));
    left -= n;
    const fid = `f${pad(f + 1, 2)}`;
    const perSide = Math.ceil(n / 2);
    const length = perSide * ROOM_W;
    const floor: Floor = {
      id: fid,
      name: { en: `Floor ${f + 1}`, 'zh-CN': `${f + 1}层` },
      level: f,
      height: 3,
      zones: [
        {
          id: `${fid}-hall`,
          name: { en: `Hall ${f + 1}F`, 'zh-CN': `${f + 1}层大厅` },
          kind: 'hall',
          polygon: [[-HALL_W, 0], [0, 0], [0, y2], [-HALL_W, y2]],
          monitored: false,
          capacity: 60,
          armedDuring: [],
        },
        {
          id: `${fid}-corridor`,
          name: { en: `Corridor ${f + 1}F`, 'zh-CN': `${f + 1}层走廊` },
          kind: 'corridor',
          polygon: [[0, y0], [length, y0], [length, y1], [0, y1]],
          monitored: false,
          armedDuring: [],
        },
      ],
      doors: [],
    };
    for (let i = 0; i < n; i++) {
      const side = i % 2; // 0: below the corridor, 1: above it
      const x = Math.floor(i / 2) * ROOM_W;
      const num = (f + 1) * 1000 + i + 1;
      const zid = `${fid}-r${pad(i + 1, 3)}`;
      const edge = side === 0 ? y0 : y1;
      floor.zones.push({
        id: zid,
        name: { en: String(num), 'zh-CN': `${num}房` },
        kind: 'room',
        polygon: side === 0 ? [[x, 0], [x + ROOM_W, 0], [x + ROOM_W, y0], [x, y0]] : [[x, y1], [x + ROOM_W, y1], [x + ROOM_W, y2], [x, y2]],
        monitored: true,
        armedDuring: [],
      });
      floor.doors.push({ id: `d-${zid}`, zone: zid, from: [x + 0.5, edge], to: [x + 1.5, edge] });
      devices.push({
        id: `door-${zid}`,
        type: 'door-sensor',
        zone: zid,
        label: null,
        position: [x + 1, side === 0 ? y0 - 0.1 : y1 + 0.1, 2.1],
        door: `d-${zid}`,
      });
    }
    floor.doors.push({ id: `d-${fid}-hall`, zone: `${fid}-hall`, from: [0, y0 + 0.4], to: [0, y1 - 0.4] });
    const mid = (y0 + y1) / 2;
    devices.push(
      { id: `cam-${fid}-a`, type: 'camera', zone: `${fid}-corridor`, label: null, position: [0.3, mid, 2.6], watches: [`${fid}-corridor`], fov: { heading: 0, angle: 40, range: Math.min(40, length) } },
      { id: `cam-${fid}-b`, type: 'camera', zone: `${fid}-corridor`, label: null, position: [length - 0.3, mid, 2.6], watches: [`${fid}-corridor`], fov: { heading: 180, angle: 40, range: Math.min(40, length) } },
      { id: `counter-${fid}`, type: 'footfall-counter', zone: `${fid}-hall`, label: null, position: [-0.4, mid, 2.4], counts: `${fid}-hall` },
    );
    floors.push(floor);
  }
  return {
    id,
    name: { en: `Synthetic ${rooms} rooms`, 'zh-CN': `合成站点 ${rooms} 间` },
    kind: 'hotel',
    timezone: 'Asia/Shanghai',
    openingHours: { open: '00:00', close: '24:00' },
    floors,
    devices,
  };
}

export function syntheticState(site: SiteModel, seed = 1): SiteState {
  const rand = rng(seed);
  const now = new Date().toISOString();
  const zones: Record<string, ZoneState> = {};
  const devices: Record<string, DeviceState> = {};
  for (const f of site.floors) {
    for (const z of f.zones) {
      zones[z.id] = {
        id: z.id,
        site: site.id,
        floor: f.id,
        door: z.monitored ? 'closed' : null,
        doorChangedAt: null,
        occupancy: z.capacity ? Math.floor(rand() * z.capacity * 0.6) : null,
        capacity: z.capacity ?? null,
        lastMotionAt: null,
      };
    }
  }
  for (const d of site.devices) {
    devices[d.id] = {
      id: d.id,
      site: site.id,
      zone: d.zone,
      type: d.type,
      online: true,
      lastSeen: now,
      lastEvent: null,
      battery: d.type === 'door-sensor' ? 3 : null,
      batteryPct: d.type === 'door-sensor' ? 40 + Math.floor(rand() * 60) : null,
      rsrp: d.type === 'door-sensor' ? -75 - Math.floor(rand() * 30) : null,
      snr: d.type === 'door-sensor' ? 10 : null,
      door: d.type === 'door-sensor' ? 'closed' : null,
      tamper: false,
      rejected: 0,
      lastRejection: null,
    };
  }
  return { site: site.id, zones, devices };
}

/**
 * At least `n` changed entities (devices + zones) as one batch: mostly doors opening and
 * closing (the sensor and its zone), some battery, signal, online and occupancy changes.
 * Mutates `state` (a syntheticState) so successive batches are consistent.
 */
export function randomChanges(site: SiteModel, n: number, state: SiteState = syntheticState(site), rand: () => number = Math.random): TwinBatch {
  const batch: TwinBatch = { site: site.id, devices: {}, zones: {} };
  const devices = site.devices;
  if (devices.length === 0) return batch;
  const now = new Date().toISOString();
  let count = 0;
  let guard = n * 4;
  while (count < n && guard-- > 0) {
    const d = devices[Math.floor(rand() * devices.length)]!;
    const st = state.devices[d.id];
    if (!st) continue;
    const r = rand();
    const next: DeviceState = { ...st, lastSeen: now };
    if (d.type === 'door-sensor' && r < 0.8) {
      next.door = st.door === 'open' ? 'closed' : 'open';
      const zs = state.zones[d.zone];
      if (zs) {
        const z: ZoneState = { ...zs, door: next.door, doorChangedAt: now };
        state.zones[d.zone] = z;
        if (!batch.zones[d.zone]) count++;
        batch.zones[d.zone] = z;
      }
    } else if (r < 0.88) {
      next.batteryPct = Math.floor(rand() * 100);
    } else if (r < 0.95) {
      next.rsrp = -125 + Math.floor(rand() * 50);
    } else if (r < 0.98) {
      next.online = !st.online;
    } else {
      const zs = state.zones[d.zone];
      if (zs?.capacity) {
        const z: ZoneState = { ...zs, occupancy: Math.floor(rand() * zs.capacity * 1.2) };
        state.zones[d.zone] = z;
        if (!batch.zones[d.zone]) count++;
        batch.zones[d.zone] = z;
      }
      continue;
    }
    state.devices[d.id] = next;
    if (!batch.devices[d.id]) count++;
    batch.devices[d.id] = next;
  }
  return batch;
}
