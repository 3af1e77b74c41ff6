/**
 * The site catalogue: every site file of the configured directories, validated together and
 * indexed for lookups. Loading is all-or-nothing: one StoreTwinError lists every problem of
 * every file, so a broken deployment is fixed in one pass. The catalogue is read-only after
 * load (the sites are deep-frozen); editing goes through a new load.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { load as loadYaml, YAMLException } from 'js-yaml';
import { StoreTwinError } from '../errors.ts';
import { polygonCentroid } from './geometry.ts';
import type { Floor, Placement, Site, Zone } from './model.ts';
import { formatProblems, validateSite, type SiteProblem } from './validate.ts';

export const SITE_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** One site document before validation, and where it came from (a file name, usually). */
export interface SiteSource {
  source: string;
  input: unknown;
}

interface SiteIndex {
  site: Site;
  source: string;
  zones: Map<string, { zone: Zone; floor: Floor; centroid: [number, number] }>;
  devices: Map<string, Placement>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

/** Parses one file's text; a syntax error becomes a problem at the file level. */
export function parseSiteText(text: string, source: string): { ok: true; input: unknown } | { ok: false; problem: SiteProblem } {
  try {
    if (extname(source).toLowerCase() === '.json') return { ok: true, input: JSON.parse(text) };
    return { ok: true, input: loadYaml(text) };
  } catch (err) {
    const where = err instanceof YAMLException && err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    const reason = err instanceof YAMLException ? err.reason : err instanceof Error ? err.message : String(err);
    return { ok: false, problem: { source, path: '', message: `cannot be parsed${where}: ${reason}` } };
  }
}

export class SiteCatalog {
  private readonly index: ReadonlyMap<string, SiteIndex>;
  private readonly deviceSites: ReadonlyMap<string, string>;

  private constructor(index: Map<string, SiteIndex>) {
    this.index = index;
    const deviceSites = new Map<string, string>();
    for (const [siteId, s] of index) for (const id of s.devices.keys()) deviceSites.set(id, siteId);
    this.deviceSites = deviceSites;
  }

  /**
   * Loads every `*.yaml`, `*.yml` and `*.json` directly inside each directory (not recursively;
   * files starting with a dot are skipped). Throws STW_ERR_SITE_INVALID listing every problem.
   */
  static async load(dirs: readonly string[]): Promise<SiteCatalog> {
    const sources: SiteSource[] = [];
    const problems: SiteProblem[] = [];
    for (const dir of dirs) {
      let names: string[];
      try {
        if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        names = await readdir(dir);
      } catch (err) {
        if (!isMissing(err)) throw err;
        problems.push({ source: dir, path: '', message: 'site directory does not exist' });
        continue;
      }
      // Sorted so that "already defined in" messages and list() order do not depend on the file system.
      const files = names
        .filter((n) => !n.startsWith('.') && (SITE_FILE_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase()))
        .sort();
      for (const name of files) {
        const file = join(dir, name);
        const parsed = parseSiteText(await readFile(file, 'utf8'), file);
        if (parsed.ok) sources.push({ source: file, input: parsed.input });
        else problems.push(parsed.problem);
      }
    }
    return SiteCatalog.from(sources, problems);
  }

  /**
   * Builds a catalogue from documents already in memory (tests, the API's edits). Same checks
   * and same all-or-nothing error as load(); `earlier` are problems found before parsing.
   */
  static from(sources: readonly SiteSource[], earlier: readonly SiteProblem[] = []): SiteCatalog {
    const problems: SiteProblem[] = [...earlier];
    const index = new Map<string, SiteIndex>();
    // Device ids are global: a device logs in to MQTT with its id as client id, whatever its site.
    const deviceOwners = new Map<string, string>();

    for (const { source, input } of sources) {
      const result = validateSite(input, source);
      if (!result.ok) {
        problems.push(...result.problems);
        continue;
      }
      const site = deepFreeze(result.site);
      const first = index.get(site.id);
      if (first) {
        problems.push({ source, path: 'id', message: `site id "${site.id}" is already defined in ${first.source}` });
        continue;
      }
      site.devices.forEach((d, i) => {
        const owner = deviceOwners.get(d.id);
        if (owner !== undefined) {
          problems.push({ source, path: `devices[${i}].id`, message: `device id "${d.id}" is already used in ${owner}` });
        } else {
          deviceOwners.set(d.id, source);
        }
      });
      index.set(site.id, indexSite(site, source));
    }

    if (problems.length > 0) {
      const files = new Set(problems.map((p) => p.source)).size;
      throw new StoreTwinError(
        'STW_ERR_SITE_INVALID',
        `${problems.length} problem(s) in ${files} site file(s):\n${formatProblems(problems)}`,
        problems,
      );
    }
    return new SiteCatalog(index);
  }

  /** Every site, in file order. */
  list(): Site[] {
    return [...this.index.values()].map((s) => s.site);
  }

  get(siteId: string): Site | undefined {
    return this.index.get(siteId)?.site;
  }

  /** The file (or source name) the site was loaded from. */
  source(siteId: string): string | undefined {
    return this.index.get(siteId)?.source;
  }

  zone(siteId: string, zoneId: string): { zone: Zone; floor: Floor } | undefined {
    const found = this.index.get(siteId)?.zones.get(zoneId);
    return found ? { zone: found.zone, floor: found.floor } : undefined;
  }

  placement(siteId: string, deviceId: string): Placement | undefined {
    return this.index.get(siteId)?.devices.get(deviceId);
  }

  /** The site a device id is placed in (ids are unique across the catalogue). */
  siteOfDevice(deviceId: string): Site | undefined {
    const siteId = this.deviceSites.get(deviceId);
    return siteId === undefined ? undefined : this.get(siteId);
  }

  /** The zone's area centroid, [x, y] in metres. Throws STW_ERR_ZONE_NOT_FOUND for an unknown zone. */
  centroid(siteId: string, zoneId: string): [number, number] {
    const found = this.index.get(siteId)?.zones.get(zoneId);
    if (!found) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${zoneId}" in site "${siteId}"`);
    return [found.centroid[0], found.centroid[1]];
  }

  /**
   * Where a device is drawn: its position, or its zone's centroid at half the floor height when
   * the file gives none (model.ts: "Defaults to the zone's centroid"). Undefined if unknown.
   */
  devicePosition(siteId: string, deviceId: string): [number, number, number] | undefined {
    const s = this.index.get(siteId);
    const device = s?.devices.get(deviceId);
    if (!s || !device) return undefined;
    if (device.position) return [device.position[0], device.position[1], device.position[2]];
    const zone = s.zones.get(device.zone);
    if (!zone) return undefined;
    return [zone.centroid[0], zone.centroid[1], zone.floor.height / 2];
  }
}

function indexSite(site: Site, source: string): SiteIndex {
  const zones: SiteIndex['zones'] = new Map();
  for (const floor of site.floors) {
    for (const zone of floor.zones) zones.set(zone.id, { zone, floor, centroid: polygonCentroid(zone.polygon) });
  }
  const devices = new Map(site.devices.map((d) => [d.id, d] as const));
  return { site, source, zones, devices };
}
