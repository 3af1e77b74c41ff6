/**
 * The 3D twin as the rest of the dashboard uses it (dashboard/src/twin/twin-view.ts implements
 * it). The app shell never touches three.js: it hands the view a site model and state, and
 * listens for picks.
 */
import type { Site } from '../../../server/sites/model.ts';
import type { SiteState } from '../../../server/twin/types.ts';
import type { TwinBatch } from '../../../server/live/protocol.ts';
import type { Severity } from '../../../server/alarms/types.ts';

/** The site model as GET /api/sites/{site} returns it: the file's model plus registered devices. */
export type SiteModel = Omit<Site, 'devices'> & {
  devices: Array<{
    id: string;
    type: string;
    zone: string;
    label: string | null;
    position: [number, number, number] | null;
    door?: string;
    watches?: string[];
    fov?: { heading: number; angle: number; range: number };
    counts?: string;
  }>;
};

export type Pick = { kind: 'zone'; id: string } | { kind: 'device'; id: string };

export interface TwinStats {
  drawCalls: number;
  triangles: number;
  /** Mean frame time over the last second, ms. */
  frameMs: number;
  /** State updates applied in the last second. */
  updatesPerSecond: number;
}

/** Where a floor is drawn on the canvas now: its box's projected bounds, CSS pixels from the canvas' top left. */
export interface FloorBox {
  floor: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** The floor's front edge at its slab ([left, right] ends) and its back edge at its walls' tops, as [x, y]. */
  front: [[number, number], [number, number]];
  back: [[number, number], [number, number]];
}

export interface TwinView {
  /** Full state (at load, after a reconnect, or a replay instant). */
  setState(state: SiteState): void;
  /** Live changes; applied on the next animation frame, colours only where state changed. */
  applyChanges(batch: TwinBatch): void;
  /** Zones with an open alarm pulse in the severity's colour; call with every open alarm's zone. */
  setAlarms(zones: ReadonlyArray<{ zone: string; severity: Severity }>): void;
  /**
   * Zones armed now (armed state is not part of SiteState: the app shell knows it from the
   * arm/disarm API and schedules). Optional: armed zones are tinted.
   */
  setArmed?(zones: string[]): void;
  /** Flies the camera to a zone (new critical alarm, a click in the console). */
  flyTo(zone: string): void;
  /** 'all' shows every floor (pulled apart in 3D, side by side in 2D); a floor id shows that one. */
  showFloor(floor: string | 'all'): void;
  setMode(mode: '3d' | '2d'): void;
  /** Frames what is shown (every floor, or the selected one) with margins, from the default angle. */
  fitToFloor(): void;
  /** What the page's overlays (toolbar, legend) cover of the canvas, CSS px: fits keep clear of it. */
  setInsets?(insets: Partial<Record<'top' | 'right' | 'bottom' | 'left', number>>): void;
  /** Every camera's coverage fan, faint (off by default; a selected camera's fan shows anyway). */
  setCoverage?(on: boolean): void;
  /** For tests and tools: each shown floor's projected box, and the canvas size (CSS pixels). */
  floorBoxes?(): { width: number; height: number; floors: FloorBox[] };
  /** For tests and tools: a zone's centre on the canvas (CSS pixels) and the colour it is drawn in now. */
  zoneProbe?(zone: string): { x: number; y: number; color: number } | null;
  onPick(listener: (pick: Pick) => void): () => void;
  stats(): TwinStats;
  dispose(): void;
}
