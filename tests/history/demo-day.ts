/**
 * A realistic stretch of the demo hotel's life, written into a real event store: every device
 * placed in sites/demo-hotel.yaml runs its device type's own simulator (`DeviceType.simulate`,
 * the same behaviour the demo and `storetwin simulate` use) with a seeded random and a
 * simulated clock, and each message becomes the event ingest would store: JSON events keep
 * their `seq` and `ts`, AA55 frames (no clock on board) are stamped with their arrival.
 */
import { type SqliteStorage } from '../../server/sqlite-storage.ts';
import { getDeviceType } from '../../devices/index.ts';
import type { DeviceEvent } from '../../devices/types.ts';
import { seededRandom } from '../../simulators/site-simulator.ts';
import type { Site } from '../../server/sites/model.ts';

import type { DeviceDirectory } from '../../server/registry/directory.ts';
import type { DeviceRecord, NewEvent } from '../../server/storage/types.ts';

export interface GenerateOptions {
  fromMs: number;
  toMs: number;
  /** Simulated ms per tick: a message is stamped with the end of its tick (≈ network delay). */
  tickMs?: number;
  seed?: number;
}

/**
 * Registers every placed device (fake secret hash: nothing authenticates here), in the store and
 * in `directory` when one is given (a harness's, loaded before).
 */
export async function registerSiteDevices(storage: SqliteStorage, site: Site, directory?: DeviceDirectory, at = '2026-01-01T00:00:00.000Z'): Promise<void> {
  for (const p of site.devices) {
    if (await storage.devices.get(p.id)) continue;
    const rec: DeviceRecord = {
      id: p.id,
      site: site.id,
      type: p.type,
      zone: p.zone,
      label: p.label ?? null,
      position: p.position ?? null,
      externalIds: {},
      secretHash: 'test',
      enabled: true,
      createdAt: at,
      updatedAt: at,
    };
    await storage.devices.register([rec]);
    directory?.put(rec);
  }
}

function hours(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) + Number(m) / 60;
}

/** Runs the site's simulators over [fromMs, toMs) and appends what they send; returns the count. */
export async function generateSiteEvents(storage: SqliteStorage, site: Site, opts: GenerateOptions): Promise<number> {
  const tickMs = opts.tickMs ?? 30_000;
  const zones = new Map(site.floors.flatMap((f) => f.zones.map((z) => [z.id, z] as const)));
  const openingHours: [number, number] = [hours(site.openingHours.open), hours(site.openingHours.close)];
  const sims = site.devices.map((p) => {
    const type = getDeviceType(p.type);
    const zone = zones.get(p.zone);
    if (!type || !zone) throw new Error(`cannot simulate ${p.id}`);
    const sim = type.simulate({
      deviceId: p.id,
      siteId: site.id,
      zoneId: zone.id,
      zoneKind: zone.kind,
      openingHours,
      label: p.label ?? p.id,
      random: seededRandom(`${opts.seed ?? 1}:${site.id}:${p.id}`),
      timeZone: site.timezone,
    });
    return { p, sim };
  });

  let total = 0;
  let batch: NewEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await storage.events.append(batch);
    total += batch.length;
    batch = [];
  };
  const push = (device: (typeof sims)[number]['p'], event: DeviceEvent | { type: 'status'; online: boolean; source: 'broker' }, arrival: number) => {
    const ts = 'ts' in event && typeof event.ts === 'string' ? event.ts : new Date(arrival).toISOString();
    batch.push({
      site: site.id,
      device: device.id,
      deviceType: device.type,
      zone: device.zone,
      type: event.type,
      seq: 'seq' in event && typeof event.seq === 'number' ? event.seq : null,
      ts,
      receivedAt: new Date(Math.max(arrival, Date.parse(ts))).toISOString(),
      data: event,
    });
  };

  const start = new Date(opts.fromMs);
  for (const { p, sim } of sims) {
    push(p, { type: 'status', online: true, source: 'broker' }, opts.fromMs);
    for (const out of sim.boot(start)) if (out.kind === 'event') push(p, out.event, opts.fromMs);
  }
  for (let t = opts.fromMs + tickMs; t <= opts.toMs; t += tickMs) {
    const now = new Date(t);
    for (const { p, sim } of sims) {
      for (const out of sim.advance(now, tickMs)) if (out.kind === 'event') push(p, out.event, t);
    }
    if (batch.length >= 5000) await flush();
  }
  await flush();
  return total;
}
