import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dump } from 'js-yaml';
import { isStoreTwinError, type StoreTwinError } from '../../server/errors.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';
import type { SiteInput } from '../../server/sites/model.ts';
import { validateSite, type SiteProblem } from '../../server/sites/validate.ts';

/** A small valid site: one floor, a hall and an office with a door, a sensor and a camera. */
function smallSite(): SiteInput {
  return {
    id: 'test-site',
    name: { en: 'Test', 'zh-CN': '测试' },
    kind: 'shop',
    timezone: 'Europe/Berlin',
    openingHours: { open: '08:00', close: '20:00' },
    floors: [
      {
        id: 'f1',
        name: { en: 'Ground', 'zh-CN': '1层' },
        level: 0,
        zones: [
          { id: 'hall', name: { en: 'Hall', 'zh-CN': '大厅' }, kind: 'hall', polygon: [[0, 0], [10, 0], [10, 10], [0, 10]], capacity: 30 },
          {
            id: 'office',
            name: { en: 'Office', 'zh-CN': '办公室' },
            kind: 'office',
            polygon: [[10, 0], [14, 0], [14, 5], [10, 5]],
            monitored: true,
            armedDuring: [{ from: '20:00', to: '08:00' }],
          },
        ],
        doors: [{ id: 'd-office', zone: 'office', from: [10, 1], to: [10, 2] }],
      },
    ],
    devices: [
      { id: 't-door', type: 'door-sensor', zone: 'office', door: 'd-office', position: [10.1, 1.5, 2] },
      { id: 't-cam', type: 'camera', zone: 'hall', watches: ['hall', 'office'], fov: { heading: 0, angle: 90, range: 12 } },
    ],
  };
}

function problemsOf(input: unknown): SiteProblem[] {
  const result = validateSite(input);
  if (result.ok) throw new Error('expected the site to be invalid');
  return result.problems;
}

function paths(problems: SiteProblem[]): string[] {
  return problems.map((p) => p.path);
}

describe('validateSite', () => {
  it('accepts a valid site and fills defaults', () => {
    const result = validateSite(smallSite());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.site.floors[0]!.height).toBe(3);
    expect(result.site.floors[0]!.zones[0]!.monitored).toBe(false);
    expect(result.site.floors[0]!.zones[1]!.armedDuring[0]!.days).toHaveLength(7);
    expect(result.site.devices[0]!.watches).toEqual([]);
  });

  it('accepts clockwise polygons and a sensor mounted on the wall line', () => {
    const site = smallSite();
    site.floors[0]!.zones[0]!.polygon.reverse();
    site.devices![0]!.position = [10, 1.5, 2];
    expect(validateSite(site).ok).toBe(true);
  });

  it('reports a non-object and a missing field', () => {
    expect(paths(problemsOf('nope'))).toEqual(['']);
    const { floors: _floors, ...noFloors } = smallSite();
    expect(paths(problemsOf(noFloors))).toEqual(['floors']);
  });

  it('refuses unknown keys, since a misspelt key would be dropped silently', () => {
    const site = smallSite() as unknown as { floors: Array<{ zones: Array<Record<string, unknown>> }> };
    site.floors[0]!.zones[1]!['armedDurring'] = [];
    const problems = problemsOf(site);
    expect(paths(problems)).toEqual(['floors[0].zones[1]']);
    expect(problems[0]!.message).toContain('armedDurring');
  });

  it('reports every structural and cross-reference problem at once, with paths', () => {
    const site = smallSite() as unknown as Record<string, unknown> & SiteInput;
    site.timezone = 'Mars/Olympus_Mons';
    site.openingHours = { open: '09:00', close: '09:00' };
    const zones = site.floors[0]!.zones;
    // Schema problems: a bad id, a bad time.
    zones.push({ id: 'Bad Id', name: { en: 'x', 'zh-CN': 'x' }, kind: 'room', polygon: [[20, 0], [21, 0], [21, 1]] });
    zones[1]!.armedDuring = [{ from: '25:00', to: '08:00' }];
    // Geometry: a bow tie, a duplicate zone id, a collinear "polygon".
    zones.push({ id: 'bow', name: { en: 'Bow', 'zh-CN': '弓' }, kind: 'room', polygon: [[0, 20], [4, 24], [4, 20], [0, 24]] });
    zones.push({ id: 'hall', name: { en: 'Hall again', 'zh-CN': '大厅' }, kind: 'room', polygon: [[30, 0], [31, 0], [31, 1]] });
    zones.push({ id: 'line', name: { en: 'Line', 'zh-CN': '线' }, kind: 'room', polygon: [[0, 30], [1, 30], [2, 30]] });
    // Doors: unknown zone, end off the edge, duplicate id.
    site.floors[0]!.doors!.push(
      { id: 'd-ghost', zone: 'ghost', from: [0, 0], to: [1, 0] },
      { id: 'd-hall', zone: 'hall', from: [3, 0], to: [5, 0.5] },
      { id: 'd-office', zone: 'office', from: [12, 0], to: [13, 0] },
    );
    // Devices: door of another zone, unknown watched zone, unknown counts, outside position,
    // field of another type, duplicate id.
    site.devices!.push(
      { id: 't-door2', type: 'door-sensor', zone: 'hall', door: 'd-office' },
      { id: 't-cam2', type: 'camera', zone: 'hall', watches: ['nowhere'], position: [50, 50, 2] },
      { id: 't-counter', type: 'footfall-counter', zone: 'hall', counts: 'lobby', fov: { heading: 0, angle: 10, range: 1 } },
      { id: 't-door', type: 'door-sensor', zone: 'office' },
    );

    const problems = problemsOf(site);
    expect(paths(problems).sort()).toEqual(
      [
        'timezone',
        'openingHours',
        'floors[0].zones[2].id',
        'floors[0].zones[1].armedDuring[0].from',
        'floors[0].zones[3].polygon',
        'floors[0].zones[4].id',
        'floors[0].zones[5].polygon',
        'floors[0].doors[1].zone',
        'floors[0].doors[2].to',
        'floors[0].doors[3].id',
        'devices[2].door',
        'devices[3].watches[0]',
        'devices[3].position',
        'devices[4].counts',
        'devices[4].fov',
        'devices[5].id',
      ].sort(),
    );
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    expect(byPath.get('floors[0].zones[3].polygon')).toMatch(/not simple/);
    expect(byPath.get('floors[0].zones[4].id')).toMatch(/"hall" is already used at floors\[0\]\.zones\[0\]/);
    expect(byPath.get('floors[0].zones[5].polygon')).toMatch(/zero area/);
    expect(byPath.get('floors[0].doors[1].zone')).toMatch(/"ghost" does not exist/);
    expect(byPath.get('devices[2].door')).toMatch(/belongs to zone "office"/);
    expect(byPath.get('timezone')).toMatch(/IANA/);
  });

  it('does not report references to an element whose own definition is broken', () => {
    const site = smallSite();
    // The office's polygon is malformed: that is one problem, not also "zone does not exist".
    (site.floors[0]!.zones[1] as { polygon: unknown }).polygon = [[10, 0], [14, 0]];
    expect(paths(problemsOf(site))).toEqual(['floors[0].zones[1].polygon']);
  });

  it('checks doors lie along one edge and devices sit on their floor', () => {
    const site = smallSite();
    site.floors[0]!.doors![0] = { id: 'd-office', zone: 'office', from: [10, 4], to: [11, 5] };
    site.devices![0]!.position = [10.1, 1.5, 3.5];
    const problems = problemsOf(site);
    expect(paths(problems)).toEqual(['floors[0].doors[0]', 'devices[0].position']);
    expect(problems[0]!.message).toMatch(/different edges/);
    expect(problems[1]!.message).toMatch(/height 3.5/);
  });

  it('refuses a camera watching a zone on another floor and a repeated closing point', () => {
    const site = smallSite();
    site.floors.push({
      id: 'f2',
      name: { en: 'Upper', 'zh-CN': '2层' },
      level: 1,
      zones: [{ id: 'up', name: { en: 'Up', 'zh-CN': '上' }, kind: 'room', polygon: [[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]] }],
    });
    site.devices![1]!.watches!.push('up');
    expect(problemsOf(site)).toEqual([
      { path: 'floors[1].zones[0].polygon', message: expect.stringMatching(/repeats its first point/) as string },
      { path: 'devices[1].watches[2]', message: expect.stringMatching(/another floor/) as string },
    ]);
  });

  it('labels problems with the source when given', () => {
    const result = validateSite({}, 'x.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.every((p) => p.source === 'x.yaml')).toBe(true);
  });
});

describe('SiteCatalog with broken files', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reports every problem of every file in one STW_ERR_SITE_INVALID', async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-sites-'));
    const broken = smallSite();
    broken.timezone = 'Nowhere/Special';
    broken.floors[0]!.doors![0]!.zone = 'missing';
    broken.devices![1]!.watches = ['hall', 'attic'];
    await writeFile(join(dir, 'a-broken.yaml'), dump(broken));
    await writeFile(join(dir, 'b-syntax.yml'), 'id: [unclosed\n');
    await writeFile(join(dir, 'c-good.json'), JSON.stringify(smallSite()));
    // Same site id and device ids as c-good.json.
    await writeFile(join(dir, 'd-duplicate.json'), JSON.stringify(smallSite()));
    await writeFile(join(dir, 'notes.txt'), 'not a site');

    const err = await SiteCatalog.load([dir, join(dir, 'does-not-exist')]).catch((e: unknown) => e);
    expect(isStoreTwinError(err)).toBe(true);
    const e = err as StoreTwinError;
    expect(e.code).toBe('STW_ERR_SITE_INVALID');
    expect(e.status).toBe(400);
    const problems = e.detail as SiteProblem[];
    const summary = problems.map((p) => `${p.source?.replace(dir!, '<dir>')}: ${p.path}`);
    expect(summary).toEqual([
      '<dir>/b-syntax.yml: ',
      '<dir>/does-not-exist: ',
      '<dir>/a-broken.yaml: timezone',
      '<dir>/a-broken.yaml: floors[0].doors[0].zone',
      '<dir>/a-broken.yaml: devices[1].watches[1]',
      '<dir>/d-duplicate.json: id',
    ]);
    // The message names every file and path so a log line alone is enough to fix them.
    expect(e.message).toContain('a-broken.yaml: floors[0].doors[0].zone: zone "missing" does not exist');
    expect(e.message).toContain('a-broken.yaml: devices[1].watches[1]');
    expect(e.message).toContain('b-syntax.yml: (file): cannot be parsed at line');
    expect(e.message).toContain('d-duplicate.json: id: site id "test-site" is already defined in');
  });

  it('refuses the same device id in two sites', () => {
    const other = smallSite();
    other.id = 'other-site';
    expect(() => SiteCatalog.from([{ source: 'one', input: smallSite() }, { source: 'two', input: other }])).toThrow(
      /two: devices\[0\]\.id: device id "t-door" is already used in one/,
    );
  });
});
