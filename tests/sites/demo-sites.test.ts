import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SiteCatalog } from '../../server/sites/catalog.ts';
import { polygonBounds, pointInPolygon } from '../../server/sites/geometry.ts';
import type { Site } from '../../server/sites/model.ts';
import { DEMO_SITES, DEMO_SITES_DIR, renderSiteYaml } from '../../scripts/generate-demo-sites.ts';

let catalog: SiteCatalog;
beforeAll(async () => {
  catalog = await SiteCatalog.load([DEMO_SITES_DIR]);
});

function site(id: string): Site {
  const s = catalog.get(id);
  if (!s) throw new Error(`no site ${id}`);
  return s;
}

describe('demo sites', () => {
  it('load and validate', () => {
    expect(catalog.list().map((s) => s.id)).toEqual(['demo-hotel', 'demo-shop']);
  });

  it('are what the generator writes today (run: npx tsx scripts/generate-demo-sites.ts)', () => {
    for (const { file, build } of DEMO_SITES) {
      expect(readFileSync(join(DEMO_SITES_DIR, file), 'utf8'), file).toBe(renderSiteYaml(build()));
    }
  });

  it('lay zones out without overlaps, as axis-aligned rectangles', () => {
    // The generator only draws rectangles, which makes an exact overlap test easy.
    for (const s of catalog.list()) {
      for (const floor of s.floors) {
        const boxes = floor.zones.map((z) => {
          expect(z.polygon, `${s.id}/${z.id}`).toHaveLength(4);
          const b = polygonBounds(z.polygon);
          for (const [x, y] of z.polygon) {
            expect(x === b.minX || x === b.maxX, `${s.id}/${z.id}`).toBe(true);
            expect(y === b.minY || y === b.maxY, `${s.id}/${z.id}`).toBe(true);
          }
          return { id: z.id, ...b };
        });
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!;
            const b = boxes[j]!;
            const overlap = Math.min(a.maxX, b.maxX) > Math.max(a.minX, b.minX) && Math.min(a.maxY, b.maxY) > Math.max(a.minY, b.minY);
            expect(overlap, `${s.id}: ${a.id} overlaps ${b.id}`).toBe(false);
          }
        }
      }
    }
  });

  it('have unique device ids across sites', () => {
    const ids = catalog.list().flatMap((s) => s.devices.map((d) => d.id));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('demo hotel', () => {
  it('has over 100 monitored guest rooms, each with a door and a door sensor on it', () => {
    const hotel = site('demo-hotel');
    expect(hotel.kind).toBe('hotel');
    expect(hotel.timezone).toBe('Asia/Shanghai');
    expect(hotel.openingHours).toEqual({ open: '00:00', close: '24:00' });
    const rooms = hotel.floors.flatMap((f) => f.zones.filter((z) => z.kind === 'room' && z.monitored));
    expect(rooms.length).toBeGreaterThanOrEqual(100);
    expect(rooms).toHaveLength(120);
    for (const room of rooms) {
      const sensor = catalog.placement('demo-hotel', `door-${room.id}`);
      expect(sensor?.type, room.id).toBe('door-sensor');
      expect(sensor?.zone).toBe(room.id);
      const { floor } = catalog.zone('demo-hotel', room.id)!;
      const door = floor.doors.find((d) => d.id === sensor?.door);
      expect(door?.zone).toBe(room.id);
    }
    expect(hotel.devices.filter((d) => d.type === 'door-sensor').length).toBeGreaterThanOrEqual(120);
  });

  it('names rooms like 201 / 201房 and covers each corridor with two cameras', () => {
    expect(catalog.zone('demo-hotel', '2-01')?.zone.name).toEqual({ en: '201', 'zh-CN': '201房' });
    expect(catalog.zone('demo-hotel', '5-30')?.floor.id).toBe('f5');
    for (const level of [2, 3, 4, 5]) {
      const a = catalog.placement('demo-hotel', `cam-${level}-a`);
      const b = catalog.placement('demo-hotel', `cam-${level}-b`);
      expect(a?.watches).toContain(`${level}-corridor`);
      expect(b?.watches).toContain(`${level}-corridor`);
      expect(a?.fov).toBeDefined();
      // Between them, every room of the floor, each exactly once.
      const watched = [...a!.watches, ...b!.watches].filter((z) => z !== `${level}-corridor`).sort();
      const rooms = Array.from({ length: 30 }, (_, i) => `${level}-${String(i + 1).padStart(2, '0')}`);
      expect(watched).toEqual(rooms);
    }
  });

  it('counts lobby footfall at the entrance and arms the office at night', () => {
    const counter = site('demo-hotel').devices.find((d) => d.type === 'footfall-counter');
    expect(counter).toMatchObject({ zone: 'entrance', counts: 'lobby' });
    expect(catalog.zone('demo-hotel', 'lobby')?.zone.capacity).toBe(80);
    const office = catalog.zone('demo-hotel', 'office')!.zone;
    expect(office.monitored).toBe(true);
    expect(office.armedDuring).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '22:00', to: '07:00' }]);
    expect(catalog.placement('demo-hotel', 'door-1-office')?.door).toBe('d-office');
  });
});

describe('demo shop', () => {
  it('has two entrance counters feeding the sales hall, each entrance with a door sensor', () => {
    const shop = site('demo-shop');
    expect(shop.kind).toBe('shop');
    expect(shop.openingHours).toEqual({ open: '09:00', close: '21:00' });
    const counters = shop.devices.filter((d) => d.type === 'footfall-counter');
    expect(counters.map((c) => c.zone).sort()).toEqual(['entrance-north', 'entrance-south']);
    expect(counters.every((c) => c.counts === 'sales-hall')).toBe(true);
    for (const zone of ['entrance-north', 'entrance-south']) {
      expect(shop.devices.some((d) => d.type === 'door-sensor' && d.zone === zone && d.door !== undefined)).toBe(true);
    }
    expect(catalog.zone('demo-shop', 'sales-hall')?.zone.capacity).toBe(60);
  });

  it('monitors the back office and cash room with a sensor, a camera and a night schedule', () => {
    const shop = site('demo-shop');
    for (const id of ['back-office', 'cash-room']) {
      const zone = catalog.zone('demo-shop', id)!.zone;
      expect(zone.monitored).toBe(true);
      expect(zone.armedDuring.map((w) => `${w.from}-${w.to}/${w.days.length}`)).toEqual(['21:00-09:00/7']);
      expect(shop.devices.some((d) => d.type === 'door-sensor' && d.zone === id)).toBe(true);
      expect(shop.devices.some((d) => d.type === 'camera' && d.watches.includes(id))).toBe(true);
    }
    expect(catalog.placement('demo-shop', 'shop-door-office')?.zone).toBe('back-office');
    expect(catalog.zone('demo-shop', 'storage')?.zone.kind).toBe('storage');
  });
});

describe('SiteCatalog lookups', () => {
  it('finds zones, placements and centroids', () => {
    expect(catalog.zone('demo-shop', 'cash-room')?.floor.id).toBe('f1');
    expect(catalog.zone('demo-shop', 'nowhere')).toBeUndefined();
    expect(catalog.zone('nowhere', 'cash-room')).toBeUndefined();
    expect(catalog.centroid('demo-shop', 'cash-room')).toEqual([27, 5]);
    expect(() => catalog.centroid('demo-shop', 'nowhere')).toThrow(expect.objectContaining({ code: 'STW_ERR_ZONE_NOT_FOUND' }));
    expect(catalog.placement('demo-shop', 'shop-cam-cash')?.type).toBe('camera');
    expect(catalog.placement('demo-hotel', 'shop-cam-cash')).toBeUndefined();
    expect(catalog.siteOfDevice('door-3-17')?.id).toBe('demo-hotel');
    expect(catalog.devicePosition('demo-shop', 'shop-cam-cash')).toEqual([29.5, 6.5, 2.6]);
  });

  it('puts every positioned device inside its zone', () => {
    for (const s of catalog.list()) {
      for (const d of s.devices) {
        const [x, y] = catalog.devicePosition(s.id, d.id)!;
        expect(pointInPolygon([x, y], catalog.zone(s.id, d.zone)!.zone.polygon), `${s.id}/${d.id}`).toBe(true);
      }
    }
  });

  it('defaults a position to the zone centroid at half the floor height', () => {
    const input = structuredClone(site('demo-shop')) as Site;
    input.devices = [{ id: 'x-cam', type: 'camera', zone: 'storage', watches: [] }];
    const one = SiteCatalog.from([{ source: 'mem', input }]);
    expect(one.devicePosition('demo-shop', 'x-cam')).toEqual([27, 9, 2]);
  });

  it('is read-only after load', () => {
    const hotel = site('demo-hotel');
    expect(() => {
      hotel.floors[0]!.zones[0]!.monitored = true;
    }).toThrow(TypeError);
    expect(Object.isFrozen(hotel.devices[0]!.position)).toBe(true);
  });
});
