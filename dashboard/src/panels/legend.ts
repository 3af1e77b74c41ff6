/**
 * The twin's legend: every colour and symbol the twin draws, swatch by swatch from the same
 * palette (twin/palette.ts), so the two cannot drift apart. A toolbar button opens and closes
 * it; the choice is remembered in this browser (localStorage `storetwin.legend`).
 */
import type { I18n } from '../i18n.ts';
import { h, replace, svg } from '../dom.ts';
import { KIND_COLORS, OCCUPANCY_SCALE, PULSE_COLORS, SEVERITY_COLORS, STATE_COLORS, css } from '../twin/palette.ts';

const KEY = 'storetwin.legend';

type Shape = 'slab' | 'triangle' | 'box' | 'disc' | 'diamond' | 'leaf' | 'fan';

function symbol(shape: Shape, fill: string, extra: { pulse?: string } = {}): SVGSVGElement {
  const paint = { fill, stroke: '#94a3b8', 'stroke-width': 1 };
  const body = {
    slab: () => svg('rect', { x: 2, y: 4, width: 20, height: 12, rx: 2, ...paint }),
    triangle: () => svg('polygon', { points: '12,3 21,17 3,17', ...paint }),
    box: () => svg('rect', { x: 5, y: 6, width: 14, height: 8, ...paint }),
    disc: () => svg('circle', { cx: 12, cy: 10, r: 7, ...paint }),
    diamond: () => svg('polygon', { points: '12,2 19,10 12,18 5,10', ...paint }),
    leaf: () => svg('rect', { x: 9, y: 2, width: 6, height: 16, ...paint }),
    fan: () => svg('path', { d: 'M12 18 L2 4 Q12 0 22 4 Z', fill, 'fill-opacity': 0.35, stroke: fill, 'stroke-width': 1 }),
  }[shape]();
  const el = svg('svg', { class: 'legend-symbol', viewBox: '0 0 24 20', width: 24, height: 20, 'aria-hidden': 'true' }, body);
  // A pulsing alarm's two ends, side by side: both are what the twin shows.
  if (extra.pulse) el.append(svg('rect', { x: 12, y: 4, width: 10, height: 12, rx: 2, fill: extra.pulse, stroke: '#94a3b8', 'stroke-width': 1 }));
  return el;
}

export class Legend {
  readonly el = h('aside', { class: 'twin-legend', 'data-testid': 'twin-legend' });
  readonly button = h('button', { 'data-testid': 'legend-toggle', 'aria-expanded': 'false', onclick: () => this.toggle() });
  private open = localStorage.getItem(KEY) === '1';

  constructor(private readonly i18n: I18n) {
    this.render();
  }

  toggle(): void {
    this.open = !this.open;
    localStorage.setItem(KEY, this.open ? '1' : '0');
    this.render();
  }

  render(): void {
    const t = this.i18n.t.legend;
    this.el.hidden = !this.open;
    this.button.textContent = t.show;
    this.button.setAttribute('aria-expanded', String(this.open));
    this.button.classList.toggle('on', this.open);
    if (!this.open) return;
    const row = (key: string, sym: SVGSVGElement, label: string) => h('li', { 'data-state': key }, sym, h('span', {}, label));
    const [low, mid, high] = OCCUPANCY_SCALE;
    const scale = h('span', { class: 'legend-scale' });
    scale.style.background = `linear-gradient(90deg, ${css(low)}, ${css(mid)}, ${css(high)})`;
    replace(
      this.el,
      h('header', {}, h('h3', {}, t.title), h('button', { class: 'close', 'aria-label': t.close, onclick: () => this.toggle() }, '×')),
      h('h4', {}, t.zones),
      h(
        'ul',
        {},
        row('critical', symbol('slab', css(PULSE_COLORS.critical![0]), { pulse: css(PULSE_COLORS.critical![1]) }), t.critical),
        row('major', symbol('slab', css(PULSE_COLORS.major![0]), { pulse: css(PULSE_COLORS.major![1]) }), t.major),
        row('minor', symbol('slab', css(SEVERITY_COLORS.minor), { pulse: css(SEVERITY_COLORS.warning) }), t.minor),
        row('info', symbol('slab', css(SEVERITY_COLORS.info)), t.info),
        row('offline', symbol('slab', css(STATE_COLORS.offline)), t.offline),
        row('armed-open', symbol('slab', css(STATE_COLORS.armedOpen)), t.armedOpen),
        row('open', symbol('slab', css(STATE_COLORS.doorOpen)), t.open),
        row('armed', symbol('slab', css(STATE_COLORS.armed)), t.armed),
        h('li', { 'data-state': 'occupancy' }, scale, h('span', {}, t.occupancy)),
        row('normal', symbol('slab', css(KIND_COLORS.room), { pulse: css(KIND_COLORS.hall) }), t.normal),
      ),
      h('h4', {}, t.devices),
      h(
        'ul',
        {},
        row('sensor', symbol('triangle', css(STATE_COLORS.deviceOnline)), t.sensor),
        row('sensor-unknown', symbol('triangle', css(STATE_COLORS.deviceUnknown)), t.sensorUnknown),
        row('device-offline', symbol('triangle', css(STATE_COLORS.deviceOffline)), t.deviceOffline),
        row('tamper', symbol('triangle', css(STATE_COLORS.tamper)), t.tamper),
        row('camera', symbol('box', css(STATE_COLORS.camera)), t.camera),
        row('counter', symbol('disc', css(STATE_COLORS.counter)), t.counter),
        row('low-battery', symbol('diamond', css(STATE_COLORS.lowBattery)), t.lowBattery),
        row('weak-signal', symbol('diamond', css(STATE_COLORS.weakSignal)), t.weakSignal),
        row('door-closed', symbol('leaf', css(STATE_COLORS.doorClosed)), t.doorClosed),
        row('door-open', symbol('leaf', css(STATE_COLORS.doorLeafOpen)), t.doorOpen),
        row('coverage', symbol('fan', css(STATE_COLORS.coneSelected)), t.cone),
      ),
    );
  }
}
