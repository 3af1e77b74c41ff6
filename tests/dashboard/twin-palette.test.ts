/**
 * The twin's visual language and floor arrangements as numbers (dashboard/src/twin/palette.ts,
 * arrange.ts): alarms are the loudest colours and a critical alarm's pulse never fades towards
 * white; occupancy never borrows an alarm colour; exploded floors clear each other from the
 * view's tilt; the 2D grid picks the columns that show floors largest.
 */
import { describe, expect, it } from 'vitest';
import { bestColumns, explodedStack, gridColumns, sideBySide, stackTilt } from '../../dashboard/src/twin/arrange.ts';
import type { FloorFootprint } from '../../dashboard/src/twin/layout.ts';
import { KIND_COLORS, OCCUPANCY_SCALE, PULSE_COLORS, SEVERITY_COLORS, STATE_COLORS, occupancyColor, pulseColor } from '../../dashboard/src/twin/palette.ts';

const rgb = (c: number) => [(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff] as const;
/** How much a colour stands out: its distance from the canvas' background (0xf1f5f9). */
const salience = (c: number) => Math.hypot(...rgb(c).map((v, i) => v - rgb(0xf1f5f9)[i]!));
/** Saturation-like: how far the colour is from grey. */
const chroma = (c: number) => Math.max(...rgb(c)) - Math.min(...rgb(c));
/** Red or orange: red well above blue, the hue alarms use. */
const alarmHue = (c: number) => {
  const [r, g, b] = rgb(c);
  return r > 150 && r - b > 90 && g < r;
};

const hotel: FloorFootprint[] = [0, 1, 2, 3, 4].map((level) => ({ level, height: level === 0 ? 4 : 3, min: [0, 0], max: [66, 14] }));

describe('twin palette', () => {
  it('a critical alarm pulses between two strong reds, a major one between two oranges', () => {
    for (let k = 0; k <= 1; k += 0.05) {
      const [r, g, b] = rgb(pulseColor('critical', k));
      expect(r).toBeGreaterThan(170);
      expect(r - g).toBeGreaterThan(140);
      expect(r - b).toBeGreaterThan(140);
      expect(alarmHue(pulseColor('major', k))).toBe(true);
    }
    expect(pulseColor('critical', 0)).not.toBe(pulseColor('critical', 1));
    expect(PULSE_COLORS.minor).toBeUndefined();
    expect(pulseColor('minor', 0.5)).toBe(SEVERITY_COLORS.minor);
  });

  it('orders strength: alarm > armed and open > open > armed > normal; offline is grey', () => {
    // Every shade a pulsing alarm passes through, its faintest included.
    const faintestAlarm = Math.min(...[0, 0.25, 0.5, 0.75, 1].flatMap((k) => [salience(pulseColor('critical', k)), salience(pulseColor('major', k))]));
    expect(faintestAlarm).toBeGreaterThan(salience(STATE_COLORS.armedOpen));
    expect(salience(STATE_COLORS.armedOpen)).toBeGreaterThan(salience(STATE_COLORS.doorOpen));
    expect(salience(STATE_COLORS.doorOpen)).toBeGreaterThan(salience(STATE_COLORS.armed));
    for (const c of Object.values(KIND_COLORS)) expect(salience(c)).toBeLessThan(salience(STATE_COLORS.armed) / 2);
    expect(chroma(STATE_COLORS.offline)).toBeLessThan(30);
    // States never wear an alarm's hue.
    for (const c of [STATE_COLORS.armed, STATE_COLORS.armedOpen, STATE_COLORS.doorOpen, STATE_COLORS.offline]) expect(alarmHue(c)).toBe(false);
  });

  it('occupancy runs from pale to deep green and never uses an alarm colour, even past capacity', () => {
    for (let ratio = 0; ratio <= 2; ratio += 0.05) {
      const c = occupancyColor(ratio);
      const [r, g, b] = rgb(c);
      expect(alarmHue(c), `${ratio}: ${c.toString(16)}`).toBe(false);
      expect(g).toBeGreaterThanOrEqual(r);
      expect(g).toBeGreaterThanOrEqual(b);
    }
    expect(occupancyColor(0)).toBe(OCCUPANCY_SCALE[0]);
    expect(occupancyColor(1)).toBe(OCCUPANCY_SCALE[2]);
    expect(occupancyColor(3)).toBe(OCCUPANCY_SCALE[2]);
  });
});

describe('floor arrangements', () => {
  it('pulls floors apart far enough that, from the tilt, no slab covers the one below', () => {
    for (const tilt of [32, 40, 50, 58]) {
      const offsets = explodedStack(tilt, 12)(hotel);
      const rad = (tilt * Math.PI) / 180;
      for (let i = 1; i < offsets.length; i++) {
        const rise = offsets[i]![2] - offsets[i - 1]![2];
        expect(rise).toBeGreaterThanOrEqual(hotel[i - 1]!.height);
        // What the rise uncovers on screen against what the lower floor's depth covers.
        expect(rise * Math.cos(rad)).toBeGreaterThan(14 * Math.sin(rad));
      }
    }
  });

  it('tilts the 3D view between 32° and 58°, whatever the canvas', () => {
    for (const aspect of [0.5, 0.92, 1.26, 3]) {
      for (const side of ['top', 'left'] as const) {
        const tilt = stackTilt(hotel, aspect, 12, side, 12);
        expect(tilt).toBeGreaterThanOrEqual(32);
        expect(tilt).toBeLessThanOrEqual(58);
      }
    }
  });

  it('lays floors side by side in as many columns as show them largest, highest floor first, none overlapping', () => {
    expect(bestColumns(5, 70, 20, 2.5)).toBe(2);
    expect(bestColumns(5, 70, 20, 0.9)).toBe(1);
    expect(bestColumns(4, 10, 10, 1)).toBe(2);
    const columns = gridColumns(hotel, 1.26);
    const offsets = sideBySide(columns)(hotel);
    const boxes = hotel.map((f, i) => ({ x0: f.min[0] + offsets[i]![0], y0: f.min[1] + offsets[i]![1], x1: f.max[0] + offsets[i]![0], y1: f.max[1] + offsets[i]![1] }));
    for (const a of boxes) for (const b of boxes) if (a !== b) expect(a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0).toBe(true);
    // The top floor (level 4) sits in the first cell: top left.
    const top = boxes[4]!;
    for (const b of boxes) {
      expect(top.y1).toBeGreaterThanOrEqual(b.y1);
      expect(top.x0).toBeLessThanOrEqual(b.x0);
    }
  });
});
