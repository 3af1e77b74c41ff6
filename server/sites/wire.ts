/**
 * Sites as the API answers them (`GET /api/sites`, the devices of `GET /api/sites/{site}`):
 * wire shapes, shared by the route that builds them and the API description that documents them.
 */
import type { Placement, Site } from './model.ts';

export interface SiteSummary {
  id: string;
  name: Site['name'];
  kind: Site['kind'];
  /** IANA time zone: clients show times in the site's zone. */
  timezone: string;
  floors: number;
  zones: number;
  devices: number;
}

export interface SiteDevice {
  id: string;
  type: string;
  zone: string;
  label: string | null;
  /** Metres [x, y, z]: the registered position, else the site file's placement, else null (zone centroid). */
  position: [number, number, number] | null;
  enabled: boolean;
  door?: string;
  watches?: string[];
  fov?: Placement['fov'];
  counts?: string;
}
