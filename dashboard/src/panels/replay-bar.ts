/**
 * Replay (复盘): a scrubber over a past window (default the last 24 h). The twin shows the
 * state at the chosen instant, the console shows the alarms open then; alarms and door
 * events are marks on the timeline, and clicking one jumps there. Playing forward applies
 * only the changes since the last instant; scrubbing back recomputes from the window start.
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import type { SiteState } from '../../../server/twin/types.ts';
import type { History } from '../replay-core.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import { applyChange, changesUpTo, openAt, SPEEDS, stateAt } from '../replay-core.ts';

export interface ReplayTarget {
  /** The state to show at the instant, and what changed since the previous one (null = everything). */
  show(state: SiteState, changed: { devices: Set<string>; zones: Set<string> } | null): void;
  showAlarms(open: Alarm[]): void;
}

const HOUR = 3600_000;

export class ReplayBar {
  readonly el = h('section', { class: 'replay-bar', 'data-testid': 'replay-bar' });
  private history: History | null = null;
  private from = 0;
  private to = 0;
  private t = 0;
  private state: SiteState | null = null;
  private applied = 0;
  private speed: number = SPEEDS[2];
  private playing = false;
  private lastTick = 0;
  private raf = 0;
  private scrubber = h('input', { type: 'range', min: 0, max: 1000, step: 1, 'data-testid': 'replay-scrubber', 'aria-label': 'time' });
  private clock = h('output', { class: 'clock', 'data-testid': 'replay-time' });
  private marks = h('div', { class: 'marks' });
  private playButton = h('button', { 'data-testid': 'replay-play' });

  constructor(
    private readonly ctx: Ctx,
    private readonly target: ReplayTarget,
  ) {
    this.scrubber.addEventListener('input', () => this.seek(Number(this.scrubber.value)));
    this.playButton.addEventListener('click', () => this.toggle());
  }

  /** Loads the window and shows its end. */
  async load(from = new Date(Date.now() - 24 * HOUR), to = new Date()): Promise<void> {
    const { api, store, i18n } = this.ctx;
    if (!store.site) return;
    replace(this.el, i18n.t.loading);
    this.history = await api.history(store.site, from, to);
    this.from = Date.parse(this.history.from);
    this.to = Date.parse(this.history.to);
    this.scrubber.max = String(this.to - this.from);
    this.scrubber.step = '1000';
    this.render();
    this.seek(this.to - this.from);
  }

  /** Moves to `from + offset` ms. */
  seek(offset: number): void {
    const h = this.history;
    if (!h) return;
    const t = Math.max(this.from, Math.min(this.to, this.from + offset));
    let changed: { devices: Set<string>; zones: Set<string> } | null = null;
    if (this.state && t >= this.t) {
      changed = { devices: new Set(), zones: new Set() };
      const end = changesUpTo(h.changes, t);
      for (; this.applied < end; this.applied++) {
        const c = h.changes[this.applied];
        if (!c) break;
        applyChange(this.state, c);
        (c[1] === 'd' ? changed.devices : changed.zones).add(c[2]);
      }
    } else {
      this.state = stateAt(h.state, h.changes, t);
      this.applied = changesUpTo(h.changes, t);
    }
    this.t = t;
    this.scrubber.value = String(t - this.from);
    this.clock.value = this.ctx.i18n.dateTime(t, this.ctx.store.timeZone);
    this.target.show(this.state, changed);
    this.target.showAlarms(openAt(h.alarms, t));
  }

  get windowStart(): number {
    return this.from;
  }

  get windowEnd(): number {
    return this.to;
  }

  get instant(): number {
    return this.t;
  }

  toggle(): void {
    this.playing = !this.playing;
    this.playButton.textContent = this.playing ? this.ctx.i18n.t.pause : this.ctx.i18n.t.play;
    if (this.playing) {
      if (this.t >= this.to) this.seek(0);
      this.lastTick = performance.now();
      this.raf = requestAnimationFrame(this.tick);
    } else cancelAnimationFrame(this.raf);
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.playing = false;
    this.el.remove();
  }

  private tick = (now: number): void => {
    if (!this.playing) return;
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    this.seek(this.t - this.from + elapsed * this.speed);
    if (this.t >= this.to) this.toggle();
    else this.raf = requestAnimationFrame(this.tick);
  };

  private render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const h0 = this.history;
    if (!h0) return;
    const span = Math.max(1, this.to - this.from);
    const mark = (at: number, kind: string, title: string) =>
      h('button', { class: `mark mark-${kind}`, style: `left:${(((at - this.from) / span) * 100).toFixed(3)}%`, title, 'data-mark': kind, 'data-t': at, onclick: () => this.seek(at - this.from) });
    const alarmMarks = h0.alarms.map((a) => mark(Date.parse(a.firstAt), `alarm sev-${a.severity}`, `${i18n.time(a.firstAt, store.timeZone)} ${i18n.pick(a.message)}`));
    // Door openings are the events an operator looks for; at most 500 marks keep the bar light.
    const doorMarks = h0.changes.filter((c) => c[3] === 'door' && c[4] === 'open' && c[1] === 'z').slice(-500).map((c) => mark(c[0], 'event', `${i18n.time(c[0], store.timeZone)} ${store.zoneName(c[2], (v) => i18n.pick(v))}`));
    replace(this.marks, ...doorMarks, ...alarmMarks);
    const speed = h('select', { 'data-testid': 'replay-speed', 'aria-label': t.speed }, ...SPEEDS.map((s) => h('option', { value: s, selected: s === this.speed }, `${s}×`)));
    speed.addEventListener('change', () => (this.speed = Number(speed.value)));
    this.playButton.textContent = this.playing ? t.pause : t.play;
    replace(this.el, h('div', { class: 'controls' }, this.playButton, speed, this.clock), h('div', { class: 'timeline' }, this.marks, this.scrubber));
  }
}
