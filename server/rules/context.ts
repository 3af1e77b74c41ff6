/**
 * What the engine knows of the site model, indexed once: zones (kind, monitored, capacity,
 * names), device placements, and which zones each motion detector (a camera) covers. Plus
 * message rendering.
 */
import { deviceTypeHas } from '../../devices/index.ts';
import type { Localized, Placement, Site, Zone } from '../sites/model.ts';
import type { Condition, Op } from './schema.ts';

export interface SiteLookup {
  list(): Site[];
  get(id: string): Site | undefined;
}

export interface SiteInfo {
  site: Site;
  zones: Map<string, Zone>;
  placements: Map<string, Placement>;
  /**
   * Device id → zones its motion counts for: its own zone and the ones it watches. Every
   * placed device whose type detects motion (capability `motion`), cameras of any make.
   */
  motionZones: Map<string, string[]>;
}

export function indexSites(sites: SiteLookup): Map<string, SiteInfo> {
  const out = new Map<string, SiteInfo>();
  for (const site of sites.list()) {
    const zones = new Map<string, Zone>();
    for (const f of site.floors) for (const z of f.zones) zones.set(z.id, z);
    const placements = new Map(site.devices.map((d) => [d.id, d] as const));
    const motionZones = new Map<string, string[]>();
    for (const d of site.devices) if (deviceTypeHas(d.type, 'motion')) motionZones.set(d.id, [...new Set([d.zone, ...d.watches])]);
    out.set(site.id, { site, zones, placements, motionZones });
  }
  return out;
}

export function compare(actual: unknown, op: Op, expected: unknown): boolean {
  if (actual === undefined || actual === null) return op === 'ne' ? expected !== actual : false;
  switch (op) {
    case 'eq':
      return actual === expected || (expected === 'closed' && actual === 'close');
    case 'ne':
      return actual !== expected;
    default: {
      if (typeof actual !== typeof expected || (typeof actual !== 'number' && typeof actual !== 'string')) return false;
      const a = actual as number | string;
      const b = expected as number | string;
      return op === 'lt' ? a < b : op === 'lte' ? a <= b : op === 'gt' ? a > b : a >= b;
    }
  }
}

/** The value a condition compares with: a literal, or an attribute of the zone. */
export function expectedValue(c: Condition, zone: Zone | undefined, capacity?: number | null): unknown {
  if (typeof c.value === 'object') return capacity ?? zone?.capacity;
  return c.value;
}

export function holds(conds: readonly Condition[], get: (field: string) => unknown, zone: Zone | undefined, capacity?: number | null): boolean {
  for (const c of conds) if (!compare(get(c.field), c.op, expectedValue(c, zone, capacity))) return false;
  return true;
}

export type Vars = Record<string, string | number | Localized | null | undefined>;

/** Fills `{name}` placeholders per locale; localized values pick their locale, unknown names stay as written. */
export function render(template: Localized, vars: Vars): Localized {
  const fill = (text: string, locale: keyof Localized) =>
    text.replace(/\{([a-zA-Z]+)\}/g, (all, name: string) => {
      const v = vars[name];
      if (v === undefined || v === null) return all;
      if (typeof v === 'object') return v[locale];
      return typeof v === 'number' ? String(Math.round(v * 100) / 100) : v;
    });
  return { en: fill(template.en, 'en'), 'zh-CN': fill(template['zh-CN'], 'zh-CN') };
}
