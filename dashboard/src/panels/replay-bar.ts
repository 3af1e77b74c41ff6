/**
 * Replay (复盘): a scrubber over a chosen window of the past (last hour, last 24 h, today,
 * yesterday or custom from/to, days on the site's clock: replay-window.ts). The twin shows the
 * state at the chosen instant, the console shows the alarms open then. Under the scrubber a
 * time axis labelled in the site's time zone (time-axis.ts); over it the alarms and door
 * openings as marks, merged into one mark "×N" when they would be drawn closer than a few
 * pixels (replay-core.ts clusterByPixels), their times listed on hover and on click. The part
 * of the window before the first recorded event is hatched "no data", and while the instant is
 * in it the twin is covered by a "no data" veil: an unknown twin must not look like a quiet,
 * all-closed one. Every time shown is absolute, in the site's zone.
 *
 * Playing forward applies only the changes since the last instant; scrubbing back recomputes
 * from the window start.
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import type { SiteState } from '../../../server/twin/types.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import { applyChange, changesUpTo, clusterByPixels, noDataUntil, openAt, SPEEDS, stateAt, type Cluster, type History, type HistoryChange, type ReplayAlarm } from '../replay-core.ts';
import { customWindow, localInputValue, presetWindow, WINDOW_CHOICES, type ReplayWindow, type WindowChoice } from '../replay-window.ts';
import { timeTicks } from '../time-axis.ts';

export interface ReplayTarget {
  /** The state to show at the instant, and what changed since the previous one (null = everything). */
  show(state: SiteState, changed: { devices: Set<string>; zones: Set<string> } | null): void;
  showAlarms(open: Alarm[]): void;
}

/** Door openings listed as marks: the events an operator looks for; the newest 500 keep the bar light. */
const MAX_DOOR_MARKS = 500;
/** Times listed in a mark's tooltip and its popover. */
const MAX_LISTED = 12;
/** Door marks are thin: they merge only when nearly on top of each other. */
const DOOR_CLUSTER_PX = 6;
const SEVERITY_RANK: Record<string, number> = { critical: 0, major: 1, minor: 2, warning: 3, info: 4 };

export interface ReplayView {
  choice: WindowChoice;
  from: number;
  to: number;
  /** The instant shown. */
  at: number;
}

export class ReplayBar {
  readonly el = h('section', { class: 'replay-bar', 'data-testid': 'replay-bar' });
  /** Laid over the twin by the page: shown while the instant has no data. */
  readonly veil = h('div', { class: 'replay-veil', 'data-testid': 'replay-veil', hidden: true });
  private history: History | null = null;
  private choice: WindowChoice = 'day';
  private from = 0;
  private to = 0;
  private dataFrom = 0;
  /** The window holds no recorded event at all: no data up to and including its end. */
  private empty = false;
  private t = 0;
  private state: SiteState | null = null;
  private applied = 0;
  private speed: number = SPEEDS[2];
  private playing = false;
  private lastTick = 0;
  private raf = 0;
  private loadSeq = 0;
  private scrubber = h('input', { type: 'range', min: 0, max: 1000, step: 1, 'data-testid': 'replay-scrubber', 'aria-label': 'time' });
  private clock = h('output', { class: 'clock', 'data-testid': 'replay-time' });
  private controls = h('div', { class: 'controls' });
  private custom = h('span', { class: 'custom', hidden: true });
  private problem = h('span', { class: 'error', role: 'alert', 'data-testid': 'replay-problem' });
  private track = h('div', { class: 'track' });
  private axis = h('div', { class: 'axis', 'data-testid': 'replay-axis' });
  private timeline = h('div', { class: 'timeline' }, this.track, this.scrubber, this.axis);
  private pop = h('div', { class: 'cluster-pop', 'data-testid': 'replay-cluster-list', hidden: true });
  private playButton = h('button', { 'data-testid': 'replay-play' });
  private resize: ResizeObserver | null = null;
  private width = 0;

  constructor(
    private readonly ctx: Ctx,
    private readonly target: ReplayTarget,
  ) {
    this.scrubber.addEventListener('input', () => this.seek(Number(this.scrubber.value)));
    this.playButton.addEventListener('click', () => this.toggle());
    replace(this.el, this.controls, this.timeline, this.pop);
    if (typeof ResizeObserver !== 'undefined') {
      // Clusters and tick spacing depend on the drawn width.
      this.resize = new ResizeObserver(() => {
        const w = this.track.clientWidth;
        if (w > 0 && Math.abs(w - this.width) > 8) this.drawTimeline();
      });
      this.resize.observe(this.timeline);
    }
  }

  /** Loads a window (default: the chosen preset ending now) and shows its end. */
  async load(from?: Date, to?: Date): Promise<void> {
    const { api, store, i18n } = this.ctx;
    if (!store.site) return;
    const win = from && to ? { from: from.getTime(), to: to.getTime() } : this.choice === 'custom' ? { from: this.from, to: this.to } : presetWindow(this.choice, Date.now(), store.timeZone);
    if (from && to) this.choice = 'custom';
    const seq = ++this.loadSeq;
    if (this.playing) this.toggle();
    this.from = win.from;
    this.to = win.to;
    this.renderControls();
    this.problem.textContent = '';
    this.el.dataset.state = 'loading';
    replace(this.track, h('span', { class: 'loading' }, i18n.t.loading));
    replace(this.axis);
    // The live list must not stay up with its "just now" while the window loads.
    this.target.showAlarms([]);
    let history: History;
    try {
      history = await api.history(store.site, new Date(win.from), new Date(win.to));
    } catch (err) {
      if (seq !== this.loadSeq) return;
      replace(this.track);
      this.el.dataset.state = 'failed';
      this.problem.textContent = `${i18n.t.replayView.loadFailed}: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    if (seq !== this.loadSeq) return;
    this.history = history;
    this.from = Date.parse(history.from);
    this.to = Date.parse(history.to);
    this.dataFrom = noDataUntil(history);
    this.empty = history.dataFrom === null;
    this.state = null;
    this.scrubber.max = String(this.to - this.from);
    this.scrubber.step = '1000';
    this.renderControls();
    this.drawTimeline();
    this.seek(this.to - this.from);
    this.el.dataset.state = 'ready';
  }

  /** Moves to `from + offset` ms. */
  seek(offset: number): void {
    const h0 = this.history;
    if (!h0) return;
    const t = Math.max(this.from, Math.min(this.to, this.from + offset));
    let changed: { devices: Set<string>; zones: Set<string> } | null = null;
    if (this.state && t >= this.t) {
      changed = { devices: new Set(), zones: new Set() };
      const end = changesUpTo(h0.changes, t);
      for (; this.applied < end; this.applied++) {
        const c = h0.changes[this.applied];
        if (!c) break;
        applyChange(this.state, c);
        (c[1] === 'd' ? changed.devices : changed.zones).add(c[2]);
      }
    } else {
      this.state = stateAt(h0.state, h0.changes, t);
      this.applied = changesUpTo(h0.changes, t);
    }
    this.t = t;
    this.scrubber.value = String(t - this.from);
    this.showInstant();
    this.target.show(this.state, changed);
    this.target.showAlarms(openAt(h0.alarms, t));
  }

  get windowStart(): number {
    return this.from;
  }

  /** Where the replay stands: the page rebuilds its twin on a language switch and comes back here. */
  get view(): ReplayView {
    return { choice: this.choice, from: this.from, to: this.to, at: this.t };
  }

  /** Loads a window someone was looking at (its choice kept, the same instant shown). */
  async resume(view: ReplayView): Promise<void> {
    await this.load(new Date(view.from), new Date(view.to));
    this.choice = view.choice;
    this.renderControls();
    this.seek(view.at - this.from);
  }

  get windowEnd(): number {
    return this.to;
  }

  get instant(): number {
    return this.t;
  }

  /** Where the window's data begins (= windowStart when it has data from the start). */
  get dataStart(): number {
    return this.dataFrom;
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
    this.loadSeq++;
    this.resize?.disconnect();
    this.el.remove();
    this.veil.remove();
  }

  private tick = (now: number): void => {
    if (!this.playing) return;
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    this.seek(this.t - this.from + elapsed * this.speed);
    if (this.t >= this.to) this.toggle();
    else this.raf = requestAnimationFrame(this.tick);
  };

  private get tz(): string {
    return this.ctx.store.timeZone;
  }

  /** The clock, and the veil while the instant is before the window's data. */
  private showInstant(): void {
    const { i18n } = this.ctx;
    const r = i18n.t.replayView;
    const noData = this.history !== null && (this.empty || this.t < this.dataFrom);
    this.clock.value = i18n.dateTime(this.t, this.tz);
    this.clock.classList.toggle('unknown', noData);
    this.clock.dataset.nodata = noData ? 'true' : 'false';
    this.veil.hidden = !noData;
    if (noData) {
      replace(this.veil, h('strong', {}, this.empty ? r.noDataAtAll : r.noDataBefore(i18n.dateTime(this.dataFrom, this.tz))), h('span', {}, r.noDataHint));
    }
  }

  private renderControls(): void {
    const { i18n } = this.ctx;
    const t = i18n.t;
    const r = t.replayView;
    const picker = h(
      'select',
      { 'data-testid': 'replay-window', 'aria-label': r.window },
      ...WINDOW_CHOICES.map((c) => h('option', { value: c, selected: c === this.choice }, r.choices[c])),
    );
    picker.addEventListener('change', () => {
      this.choice = picker.value as WindowChoice;
      if (this.choice === 'custom') {
        this.custom.hidden = false;
        (this.custom.querySelector('input') as HTMLInputElement | null)?.focus();
      } else void this.load();
    });
    const fromInput = h('input', { type: 'datetime-local', 'data-testid': 'replay-from', 'aria-label': r.from, value: localInputValue(this.from, this.tz) });
    const toInput = h('input', { type: 'datetime-local', 'data-testid': 'replay-to', 'aria-label': r.to, value: localInputValue(this.to, this.tz) });
    const apply = () => {
      const win = customWindow(fromInput.value, toInput.value, Date.now(), this.tz);
      if ('problem' in win) {
        this.problem.textContent = r.problems[win.problem];
        return;
      }
      this.choice = 'custom';
      void this.loadWindow(win);
    };
    replace(
      this.custom,
      h('label', {}, r.from, ' ', fromInput),
      h('label', {}, r.to, ' ', toInput),
      h('button', { 'data-testid': 'replay-apply', onclick: apply }, r.apply),
    );
    this.custom.hidden = this.choice !== 'custom';
    const speed = h('select', { 'data-testid': 'replay-speed', 'aria-label': t.speed }, ...SPEEDS.map((s) => h('option', { value: s, selected: s === this.speed }, `${s}×`)));
    speed.addEventListener('change', () => (this.speed = Number(speed.value)));
    this.playButton.textContent = this.playing ? t.pause : t.play;
    replace(
      this.controls,
      picker,
      this.custom,
      this.playButton,
      speed,
      this.clock,
      h('span', { class: 'tz', title: r.siteTime(this.tz) }, this.tz),
      this.problem,
    );
  }

  private loadWindow(win: ReplayWindow): Promise<void> {
    return this.load(new Date(win.from), new Date(win.to));
  }

  /** The no-data hatch, the marks and the axis, for the width the track has now. */
  private drawTimeline(): void {
    const h0 = this.history;
    if (!h0) return;
    const { i18n, store } = this.ctx;
    const r = i18n.t.replayView;
    const tz = this.tz;
    this.width = this.track.clientWidth || 800;
    const span = Math.max(1, this.to - this.from);
    const pct = (at: number) => `${(((at - this.from) / span) * 100).toFixed(3)}%`;
    const pctOfPx = (x: number) => `${((x / this.width) * 100).toFixed(3)}%`;
    this.pop.hidden = true;

    const parts: HTMLElement[] = [];
    if (this.dataFrom > this.from) {
      parts.push(
        h(
          'div',
          { class: 'nodata', 'data-testid': 'replay-nodata', 'data-until': this.dataFrom, style: `width:${pct(this.dataFrom)}`, title: this.empty ? r.noDataAtAll : r.noDataBefore(i18n.dateTime(this.dataFrom, tz)) },
          h('span', {}, r.noData),
        ),
      );
    }

    const doors = h0.changes.filter((c) => c[1] === 'z' && c[3] === 'door' && c[4] === 'open').slice(-MAX_DOOR_MARKS);
    for (const c of clusterByPixels<HistoryChange>(doors, (d) => d[0], this.from, this.to, this.width, DOOR_CLUSTER_PX)) {
      const lines = c.items.slice(0, MAX_LISTED).map((d) => `${i18n.dateTime(d[0], tz)} ${store.zoneName(d[2], (v) => i18n.pick(v))}`);
      const title = [c.items.length > 1 ? r.doorOpenings(c.items.length) : null, ...lines, c.items.length > MAX_LISTED ? r.more(c.items.length - MAX_LISTED) : null].filter(Boolean).join('\n');
      parts.push(h('button', { class: 'mark mark-event', style: `left:${pctOfPx(c.x)}`, title, 'aria-label': title, 'data-mark': 'event', 'data-t': c.at, 'data-count': c.items.length, onclick: () => this.seek(c.at - this.from) }));
    }

    const alarmAt = (a: ReplayAlarm) => Date.parse(a.firstAt);
    // Alarms raised before the window (still open in it) sit at its start.
    const inWindow = (a: ReplayAlarm) => Math.max(this.from, alarmAt(a));
    for (const c of clusterByPixels<ReplayAlarm>(h0.alarms, inWindow, this.from, this.to, this.width)) parts.push(this.alarmMark(c, pctOfPx(c.x)));
    replace(this.track, ...parts);

    const ticks = timeTicks(this.from, this.to, this.width, tz, i18n.language);
    replace(
      this.axis,
      ...ticks.map((k) => h('span', { class: `tick${k.day ? ' day' : ''}`, style: `left:${pct(k.t)}`, 'data-t': k.t }, k.label)),
    );
    this.axis.setAttribute('aria-label', `${r.axis} · ${r.siteTime(tz)}`);
  }

  private alarmMark(c: Cluster<ReplayAlarm>, left: string): HTMLElement {
    const { i18n } = this.ctx;
    const r = i18n.t.replayView;
    const tz = this.tz;
    const worst = c.items.reduce((w, a) => ((SEVERITY_RANK[a.severity] ?? 9) < (SEVERITY_RANK[w] ?? 9) ? a.severity : w), c.items[0]?.severity ?? 'info');
    const line = (a: ReplayAlarm) => `${i18n.dateTime(a.firstAt, tz)} ${i18n.pick(a.message)}`;
    const n = c.items.length;
    const title = [n > 1 ? r.alarms(n) : null, ...c.items.slice(0, MAX_LISTED).map(line), n > MAX_LISTED ? r.more(n - MAX_LISTED) : null].filter(Boolean).join('\n');
    const mark = h(
      'button',
      { class: `mark mark-alarm sev-${worst}${n > 1 ? ' cluster' : ''}`, style: `left:${left}`, title, 'aria-label': title, 'data-mark': 'alarm', 'data-t': c.at, 'data-count': n },
      n > 1 ? `×${n}` : null,
    );
    mark.addEventListener('click', () => {
      this.seek(c.at - this.from);
      if (n > 1) this.showCluster(c, left);
    });
    return mark;
  }

  /** The alarms of a cluster, each with its absolute time; a click jumps to it. */
  private showCluster(c: Cluster<ReplayAlarm>, left: string): void {
    const { i18n } = this.ctx;
    const r = i18n.t.replayView;
    const tz = this.tz;
    replace(
      this.pop,
      h('header', {}, h('strong', {}, r.alarms(c.items.length)), h('button', { class: 'close', 'aria-label': i18n.t.close, onclick: () => (this.pop.hidden = true) }, '×')),
      h(
        'ul',
        {},
        ...c.items.map((a) =>
          h(
            'li',
            {},
            h(
              'button',
              { title: r.jump, onclick: () => this.seek(Math.max(this.from, Date.parse(a.firstAt)) - this.from) },
              h('span', { class: `sev sev-${a.severity}` }, i18n.t.severity[a.severity]),
              h('time', { datetime: a.firstAt }, i18n.dateTime(a.firstAt, tz)),
              h('span', { class: 'what' }, i18n.pick(a.message)),
            ),
          ),
        ),
      ),
    );
    this.pop.style.left = `min(max(0px, calc(${left} - 160px)), calc(100% - 340px))`;
    this.pop.hidden = false;
  }
}
