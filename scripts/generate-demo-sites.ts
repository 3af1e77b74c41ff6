/**
 * Writes the two demo sites, sites/demo-hotel.yaml and sites/demo-shop.yaml. They are
 * generated because the hotel's 120 rooms, doors and sensors follow one grid, and hand-typing
 * them would drift. Deterministic: run it twice and git sees no change; tests/sites checks
 * the committed files match.
 *
 *   npx tsx scripts/generate-demo-sites.ts
 *
 * Coordinates are metres, x east and y north, polygons counter-clockwise from the south-west
 * corner.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COLLECTION_STYLE, dump, visit } from 'js-yaml';
import type { Node } from 'js-yaml';
import type { SiteInput } from '../server/sites/model.ts';
import { formatProblems, validateSite } from '../server/sites/validate.ts';

type P = [number, number];
type ZoneIn = SiteInput['floors'][number]['zones'][number];
type DoorIn = NonNullable<SiteInput['floors'][number]['doors']>[number];
type DeviceIn = NonNullable<SiteInput['devices']>[number];
type FloorIn = SiteInput['floors'][number];

/** Rounds to the centimetre so that sums like 4 * 7 + 0.3 do not print as 28.299999999999997. */
const cm = (n: number): number => Math.round(n * 100) / 100;

/** Counter-clockwise axis-aligned rectangle from the south-west corner. */
function rect(x0: number, y0: number, x1: number, y1: number): P[] {
  return [
    [cm(x0), cm(y0)],
    [cm(x1), cm(y0)],
    [cm(x1), cm(y1)],
    [cm(x0), cm(y1)],
  ];
}

const p = (x: number, y: number): P => [cm(x), cm(y)];
const p3 = (x: number, y: number, z: number): [number, number, number] => [cm(x), cm(y), cm(z)];

/** Every night, for schedules that arm a zone out of hours. */
const nights = (from: string, to: string): NonNullable<ZoneIn['armedDuring']> => [{ from, to }];

// ---------------------------------------------------------------------------------------------
// Demo hotel: 5 floors on a 66 m × 14 m footprint. Upper floors: 15 rooms south (y 0–6) and
// 15 north (y 8–14) of a 2 m corridor (y 6–8), odd numbers south and even north as hotels
// usually do; stairs core (x 60–66, south) and linen room (north) at the east end, aligned on
// every floor so the 3D twin stacks them.
// ---------------------------------------------------------------------------------------------

const HOTEL = {
  roomWidth: 4,
  roomDepth: 6,
  corridorWidth: 2,
  roomsPerSide: 15,
  guestFloors: [2, 3, 4, 5],
  /** Door leaf: 0.9 m wide, 0.3 m from the room's west wall. */
  doorOffset: 0.3,
  doorWidth: 0.9,
  /** Door sensors sit on the frame head, 10 cm inside the room. */
  sensorInset: 0.1,
  sensorHeight: 2.1,
  cameraHeight: 2.6,
} as const;

const corridorSouth = HOTEL.roomDepth; // 6
const corridorNorth = HOTEL.roomDepth + HOTEL.corridorWidth; // 8
const buildingNorth = corridorNorth + HOTEL.roomDepth; // 14
const coreWest = HOTEL.roomsPerSide * HOTEL.roomWidth; // 60
const buildingEast = coreWest + 6; // 66

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Stairs and linen room, the same on every floor. */
function core(level: number, zones: ZoneIn[], doors: DoorIn[]): void {
  zones.push(
    {
      id: `${level}-stairs`,
      name: { en: `Stairs ${level}F`, 'zh-CN': `${level}层楼梯间` },
      kind: 'stairs',
      polygon: rect(coreWest, 0, buildingEast, corridorSouth),
    },
    {
      id: `${level}-service`,
      name: { en: `Linen room ${level}F`, 'zh-CN': `${level}层布草间` },
      kind: 'service',
      polygon: rect(coreWest, corridorNorth, buildingEast, buildingNorth),
      // Housekeeping goes in and out all day: not monitored, never armed by schedule.
      armedDuring: [],
    },
  );
  doors.push(
    { id: `d-${level}-stairs`, zone: `${level}-stairs`, from: p(coreWest + 2, corridorSouth), to: p(coreWest + 3.2, corridorSouth) },
    { id: `d-${level}-service`, zone: `${level}-service`, from: p(coreWest + 2, corridorNorth), to: p(coreWest + 3, corridorNorth) },
  );
}

function guestFloor(level: number, devices: DeviceIn[]): FloorIn {
  const zones: ZoneIn[] = [];
  const doors: DoorIn[] = [];
  const corridorId = `${level}-corridor`;
  zones.push({
    id: corridorId,
    name: { en: `Corridor ${level}F`, 'zh-CN': `${level}层走廊` },
    kind: 'corridor',
    polygon: rect(0, corridorSouth, buildingEast, corridorNorth),
  });

  const halfA: string[] = [];
  const halfB: string[] = [];
  for (let n = 1; n <= 2 * HOTEL.roomsPerSide; n++) {
    const column = Math.floor((n - 1) / 2);
    const south = n % 2 === 1;
    const x0 = column * HOTEL.roomWidth;
    const [y0, y1] = south ? [0, corridorSouth] : [corridorNorth, buildingNorth];
    // The corridor-facing wall: north wall for south rooms, south wall for north rooms.
    const doorY = south ? corridorSouth : corridorNorth;
    const inward = south ? -HOTEL.sensorInset : HOTEL.sensorInset;
    const id = `${level}-${pad2(n)}`;
    const number = `${level}${pad2(n)}`;
    zones.push({
      id,
      name: { en: number, 'zh-CN': `${number}房` },
      kind: 'room',
      polygon: rect(x0, y0, x0 + HOTEL.roomWidth, y1),
      // Guest rooms are armed by the front desk through the API when vacant, not by schedule.
      monitored: true,
    });
    const doorFrom = x0 + HOTEL.doorOffset;
    const doorTo = doorFrom + HOTEL.doorWidth;
    doors.push({ id: `d-${id}`, zone: id, from: p(doorFrom, doorY), to: p(doorTo, doorY) });
    devices.push({
      id: `door-${id}`,
      type: 'door-sensor',
      zone: id,
      door: `d-${id}`,
      position: p3((doorFrom + doorTo) / 2, doorY + inward, HOTEL.sensorHeight),
    });
    (x0 < buildingEast / 2 ? halfA : halfB).push(id);
  }
  core(level, zones, doors);

  // One camera at each end of the corridor, looking along it; each covers the doors of its half.
  devices.push(
    {
      id: `cam-${level}-a`,
      type: 'camera',
      zone: corridorId,
      position: p3(0.5, (corridorSouth + corridorNorth) / 2, HOTEL.cameraHeight),
      watches: [corridorId, ...halfA],
      fov: { heading: 0, angle: 60, range: 36 },
      label: `${level}F corridor west`,
    },
    {
      id: `cam-${level}-b`,
      type: 'camera',
      zone: corridorId,
      position: p3(buildingEast - 0.5, (corridorSouth + corridorNorth) / 2, HOTEL.cameraHeight),
      watches: [corridorId, ...halfB],
      fov: { heading: 180, angle: 60, range: 36 },
      label: `${level}F corridor east`,
    },
  );

  return {
    id: `f${level}`,
    name: { en: `Floor ${level}`, 'zh-CN': `${level}层` },
    level: level - 1,
    height: 3,
    zones,
    doors,
  };
}

function groundFloor(devices: DeviceIn[]): FloorIn {
  const zones: ZoneIn[] = [
    {
      id: 'entrance',
      name: { en: 'Entrance', 'zh-CN': '入口' },
      kind: 'entrance',
      polygon: rect(0, 4, 4, 10),
    },
    {
      id: 'lobby',
      name: { en: 'Lobby', 'zh-CN': '大堂' },
      kind: 'lobby',
      polygon: rect(4, 0, 40, buildingNorth),
      capacity: 80,
    },
    {
      id: 'reception',
      name: { en: 'Reception', 'zh-CN': '前台' },
      kind: 'office',
      polygon: rect(40, corridorNorth, 48, buildingNorth),
    },
    {
      id: 'office',
      name: { en: 'Back office', 'zh-CN': '办公室' },
      kind: 'office',
      polygon: rect(48, corridorNorth, coreWest, buildingNorth),
      monitored: true,
      armedDuring: nights('22:00', '07:00'),
    },
    {
      id: 'luggage',
      name: { en: 'Luggage room', 'zh-CN': '行李房' },
      kind: 'storage',
      polygon: rect(40, 0, coreWest, corridorSouth),
    },
    {
      id: '1-corridor',
      name: { en: 'Corridor 1F', 'zh-CN': '1层走廊' },
      kind: 'corridor',
      polygon: rect(40, corridorSouth, buildingEast, corridorNorth),
    },
  ];
  const doors: DoorIn[] = [
    { id: 'd-entrance', zone: 'entrance', from: p(0, 6), to: p(0, 8) },
    { id: 'd-reception', zone: 'reception', from: p(43, corridorNorth), to: p(44, corridorNorth) },
    { id: 'd-office', zone: 'office', from: p(49, corridorNorth), to: p(49.9, corridorNorth) },
    { id: 'd-luggage', zone: 'luggage', from: p(41, corridorSouth), to: p(42.2, corridorSouth) },
  ];
  core(1, zones, doors);
  devices.push(
    {
      id: 'counter-1-entrance',
      type: 'footfall-counter',
      zone: 'entrance',
      // Over the passage into the lobby, so that it counts people entering the hotel proper.
      position: p3(3.8, 7, 2.5),
      counts: 'lobby',
    },
    {
      id: 'cam-1-lobby',
      type: 'camera',
      zone: 'lobby',
      position: p3(39.5, 0.5, 3.6),
      watches: ['lobby', 'entrance'],
      fov: { heading: 160, angle: 90, range: 40 },
      label: 'Lobby',
    },
    {
      id: 'door-1-office',
      type: 'door-sensor',
      zone: 'office',
      door: 'd-office',
      position: p3(49.45, corridorNorth + HOTEL.sensorInset, HOTEL.sensorHeight),
    },
    {
      id: 'cam-1-office',
      type: 'camera',
      zone: 'office',
      position: p3(coreWest - 0.5, buildingNorth - 0.5, 2.6),
      watches: ['office'],
      fov: { heading: 225, angle: 90, range: 15 },
      label: 'Back office',
    },
  );
  return {
    id: 'f1',
    name: { en: 'Floor 1', 'zh-CN': '1层' },
    level: 0,
    // The lobby is taller than the guest floors.
    height: 4,
    zones,
    doors,
  };
}

export function buildDemoHotel(): SiteInput {
  const devices: DeviceIn[] = [];
  const floors = [groundFloor(devices), ...HOTEL.guestFloors.map((level) => guestFloor(level, devices))];
  return {
    id: 'demo-hotel',
    name: { en: 'Demo Hotel', 'zh-CN': '演示酒店' },
    kind: 'hotel',
    timezone: 'Asia/Shanghai',
    openingHours: { open: '00:00', close: '24:00' },
    floors,
    devices,
  };
}

// ---------------------------------------------------------------------------------------------
// Demo shop: one floor. Sales hall 22 m × 14 m (x 0–22, y 3–17) with a vestibule entrance
// protruding on its south and north sides; back of house to the east: a 2 m corridor, the cash
// room and storage off it, the back office north of them.
// ---------------------------------------------------------------------------------------------

export function buildDemoShop(): SiteInput {
  const closedAtNight = nights('21:00', '09:00');
  const zones: ZoneIn[] = [
    {
      id: 'sales-hall',
      name: { en: 'Sales hall', 'zh-CN': '卖场' },
      kind: 'hall',
      polygon: rect(0, 3, 22, 17),
      capacity: 60,
    },
    {
      id: 'entrance-south',
      name: { en: 'South entrance', 'zh-CN': '南入口' },
      kind: 'entrance',
      polygon: rect(8, 0, 12, 3),
      monitored: true,
      armedDuring: closedAtNight,
    },
    {
      id: 'entrance-north',
      name: { en: 'North entrance', 'zh-CN': '北入口' },
      kind: 'entrance',
      polygon: rect(8, 17, 12, 20),
      monitored: true,
      armedDuring: closedAtNight,
    },
    {
      id: 'back-corridor',
      name: { en: 'Back corridor', 'zh-CN': '后区走廊' },
      kind: 'corridor',
      polygon: rect(22, 3, 24, 11),
    },
    {
      id: 'cash-room',
      name: { en: 'Cash room', 'zh-CN': '收银室' },
      kind: 'cash-room',
      polygon: rect(24, 3, 30, 7),
      monitored: true,
      armedDuring: closedAtNight,
    },
    {
      id: 'storage',
      name: { en: 'Storage', 'zh-CN': '仓库' },
      kind: 'storage',
      polygon: rect(24, 7, 30, 11),
    },
    {
      id: 'back-office',
      name: { en: 'Back office', 'zh-CN': '办公室' },
      kind: 'office',
      polygon: rect(22, 11, 30, 17),
      monitored: true,
      armedDuring: closedAtNight,
    },
  ];
  const doors: DoorIn[] = [
    // Double doors, 2 m, in the outer wall of each vestibule.
    { id: 'd-entrance-south', zone: 'entrance-south', from: p(9, 0), to: p(11, 0) },
    { id: 'd-entrance-north', zone: 'entrance-north', from: p(11, 20), to: p(9, 20) },
    { id: 'd-back-corridor', zone: 'back-corridor', from: p(22, 9), to: p(22, 10) },
    { id: 'd-cash-room', zone: 'cash-room', from: p(24, 4), to: p(24, 5) },
    { id: 'd-storage', zone: 'storage', from: p(24, 9), to: p(24, 10.2) },
    { id: 'd-back-office', zone: 'back-office', from: p(22.5, 11), to: p(23.4, 11) },
  ];
  const devices: DeviceIn[] = [
    {
      id: 'shop-counter-south',
      type: 'footfall-counter',
      zone: 'entrance-south',
      position: p3(10, 2.7, 2.4),
      counts: 'sales-hall',
    },
    {
      id: 'shop-counter-north',
      type: 'footfall-counter',
      zone: 'entrance-north',
      position: p3(10, 17.3, 2.4),
      counts: 'sales-hall',
    },
    { id: 'shop-door-south', type: 'door-sensor', zone: 'entrance-south', door: 'd-entrance-south', position: p3(10, 0.1, 2.2) },
    { id: 'shop-door-north', type: 'door-sensor', zone: 'entrance-north', door: 'd-entrance-north', position: p3(10, 19.9, 2.2) },
    { id: 'shop-door-office', type: 'door-sensor', zone: 'back-office', door: 'd-back-office', position: p3(22.95, 11.1, 2.1) },
    { id: 'shop-door-cash', type: 'door-sensor', zone: 'cash-room', door: 'd-cash-room', position: p3(24.1, 4.5, 2.1) },
    {
      id: 'shop-cam-hall-sw',
      type: 'camera',
      zone: 'sales-hall',
      position: p3(0.5, 3.5, 3.2),
      watches: ['sales-hall', 'entrance-south'],
      fov: { heading: 35, angle: 90, range: 26 },
      label: 'Sales hall south-west',
    },
    {
      id: 'shop-cam-hall-ne',
      type: 'camera',
      zone: 'sales-hall',
      position: p3(21.5, 16.5, 3.2),
      watches: ['sales-hall', 'entrance-north'],
      fov: { heading: 215, angle: 90, range: 26 },
      label: 'Sales hall north-east',
    },
    {
      id: 'shop-cam-office',
      type: 'camera',
      zone: 'back-office',
      position: p3(29.5, 16.5, 2.6),
      watches: ['back-office'],
      fov: { heading: 215, angle: 90, range: 10 },
      label: 'Back office',
    },
    {
      id: 'shop-cam-cash',
      type: 'camera',
      zone: 'cash-room',
      position: p3(29.5, 6.5, 2.6),
      watches: ['cash-room'],
      fov: { heading: 200, angle: 90, range: 8 },
      label: 'Cash room',
    },
  ];
  return {
    id: 'demo-shop',
    name: { en: 'Demo Shop', 'zh-CN': '演示商店' },
    kind: 'shop',
    timezone: 'Asia/Shanghai',
    openingHours: { open: '09:00', close: '21:00' },
    floors: [{ id: 'f1', name: { en: 'Ground floor', 'zh-CN': '1层' }, level: 0, height: 4, zones, doors }],
    devices,
  };
}

// ---------------------------------------------------------------------------------------------

const isScalar = (n: Node): boolean => n.kind === 'scalar';

/**
 * YAML text of a site. `flowLevel` alone cannot target polygons (they sit deeper than whole
 * floors), so the AST transform puts every short leaf collection — points, polygons, names,
 * fov, schedule windows, watch lists — on one line, and leaves the structure in block style.
 */
export function renderSiteYaml(site: SiteInput): string {
  const header = '# Generated by scripts/generate-demo-sites.ts; edit the script and run it again.\n';
  return (
    header +
    dump(site, {
      lineWidth: -1,
      noRefs: true,
      flowLevel: -1,
      transform: (docs) =>
        visit(docs, (node) => {
          if (node.kind === 'sequence' && node.items.every((i) => isScalar(i) || (i.kind === 'sequence' && i.items.every(isScalar)))) {
            node.style = COLLECTION_STYLE.FLOW;
          } else if (node.kind === 'mapping' && node.items.every((i) => isScalar(i.value) || (i.value.kind === 'sequence' && i.value.items.every(isScalar)))) {
            node.style = COLLECTION_STYLE.FLOW;
          }
        }),
    })
  );
}

export const DEMO_SITES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'sites');

export const DEMO_SITES: ReadonlyArray<{ file: string; build: () => SiteInput }> = [
  { file: 'demo-hotel.yaml', build: buildDemoHotel },
  { file: 'demo-shop.yaml', build: buildDemoShop },
];

function main(): void {
  for (const { file, build } of DEMO_SITES) {
    const site = build();
    // Refuse to write a file the server would refuse to load.
    const result = validateSite(site, file);
    if (!result.ok) throw new Error(`generated ${file} is invalid:\n${formatProblems(result.problems)}`);
    const target = join(DEMO_SITES_DIR, file);
    writeFileSync(target, renderSiteYaml(site));
    console.log(`wrote ${target}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
