/**
 * The live list of open alarms, by severity then age. An alarm stays until it is closed out
 * (acknowledged and cleared): a door opened and closed again is still listed, marked restored,
 * until someone acknowledges it. Each row says where it stands (unacknowledged, restored,
 * acknowledged, cleared but not acknowledged), whether it chatters, how often it happened (×3)
 * and how long ago. The badge counts the unacknowledged; the tone repeats while one of them is
 * critical or major (alarm-notify.ts), with a mute for this browser session.
 *
 * A new critical alarm is also spoken, flashes its zone and flies the twin to it. A click opens
 * the detail drawer (alarm-detail.ts). In replay the same list shows the alarms open at the
 * replayed instant instead (setReplay), with their times as the site's clocks read them.
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import { categoryOf } from '../../../server/alarms/category.ts';
import { needsTone, phaseOf, sortAlarms, unacknowledged } from '../alarm-order.ts';
import type { AlarmNotifier } from '../alarm-notify.ts';
import { h, replace } from '../dom.ts';
import type { TwinView } from '../twin/types.ts';
import { AlarmDetail, type AlarmCtx } from './alarm-detail.ts';

/** Relative times ("2 min ago") move on by themselves. */
const RELATIVE_REFRESH_MS = 30_000;

export class AlarmConsole {
  readonly el = h('section', { class: 'alarm-console', 'data-testid': 'alarm-console' });
  private readonly head = h('div', { class: 'console-head' });
  private readonly body = h('div', { class: 'console-body' });
  private detail: AlarmDetail | null = null;
  private replayAlarms: Alarm[] | null = null;
  private offs: Array<() => void> = [];

  constructor(
    private readonly ctx: AlarmCtx,
    private readonly twin: Pick<TwinView, 'setAlarms' | 'flyTo'>,
    private readonly notifier: AlarmNotifier,
  ) {
    this.el.append(this.head, this.body);
    this.offs.push(ctx.store.on('alarms', () => this.render()));
    this.offs.push(ctx.i18n.onChange(() => this.render()));
    this.offs.push(notifier.onMutedChange(() => this.render()));
    const timer = setInterval(() => this.render(), RELATIVE_REFRESH_MS);
    this.offs.push(() => clearInterval(timer));
    this.render();
  }

  /** A pushed alarm: store it, and call attention to it if it is new and loud. */
  receive(alarm: Alarm): void {
    const { isNew } = this.ctx.store.upsertAlarm(alarm);
    if (!isNew || !needsTone(alarm) || this.replayAlarms !== null) return;
    const { i18n } = this.ctx;
    const critical = alarm.severity === 'critical';
    this.notifier.alert(critical ? { text: i18n.t.speakAlarm(this.ctx.place(alarm), i18n.pick(alarm.message)), language: i18n.language } : null);
    if (critical && alarm.zone) this.twin.flyTo(alarm.zone);
  }

  setReplay(alarms: Alarm[] | null): void {
    this.replayAlarms = alarms;
    this.ctx.store.replayAlarms = alarms;
    this.render();
    this.ctx.store.emit('alarms');
  }

  closeDetail(): void {
    this.detail?.dispose();
    this.detail = null;
  }

  open(alarm: Alarm): void {
    this.closeDetail();
    this.detail = new AlarmDetail(this.ctx, alarm, () => this.closeDetail());
    this.el.append(this.detail.el);
    this.detail.focus();
    if (alarm.zone) this.twin.flyTo(alarm.zone);
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
    this.notifier.setRinging(false);
    this.closeDetail();
  }

  private render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const live = this.replayAlarms === null;
    const alarms = sortAlarms(this.replayAlarms ?? store.openAlarms());
    if (live) this.twin.setAlarms(alarms.filter((a) => a.zone).map((a) => ({ zone: a.zone as string, severity: a.severity })));
    // The tone follows the live alarms, replay or not: someone must still acknowledge them.
    const liveAlarms = [...store.alarms.values()];
    this.notifier.setRinging(liveAlarms.some(needsTone));
    const pending = unacknowledged(liveAlarms);
    document.title = pending > 0 ? `(${pending}) ${t.appTitle}` : t.appTitle;

    const now = Date.now();
    const muted = this.notifier.muted;
    replace(
      this.head,
      h('h2', {}, live ? t.alarms : t.openAtInstant),
      live
        ? h('span', { class: `badge-count${pending ? '' : ' zero'}`, 'data-testid': 'alarm-unacked', title: t.unacknowledgedCount(pending), 'aria-label': t.unacknowledgedCount(pending) }, String(pending))
        : null,
      h('span', { class: 'total', 'data-testid': 'alarm-count', 'data-count': alarms.length }, t.openCount(alarms.length)),
      live
        ? h(
            'button',
            {
              class: `mute${muted ? ' on' : ''}`,
              'data-testid': 'alarm-mute',
              'aria-pressed': muted ? 'true' : 'false',
              title: muted ? t.mutedHint : t.muteHint(this.notifier.repeatMs / 1000),
              onclick: () => this.notifier.setMuted(!muted),
            },
            muted ? t.unmute : t.mute,
          )
        : null,
    );
    const list = h(
      'ul',
      { class: 'alarm-list' },
      ...alarms.map((a) => {
        const phase = phaseOf(a);
        const when = live ? t.ago(Math.floor((now - Date.parse(a.firstAt)) / 60000)) : i18n.dateTime(a.firstAt, this.ctx.timeZone(a));
        return h(
          'li',
          {
            class: `alarm sev-${a.severity} state-${a.state} phase-${phase}`,
            'data-alarm': a.id,
            'data-phase': phase,
            tabindex: 0,
            role: 'button',
            onclick: () => this.open(a),
            onkeydown: (ev: Event) => {
              if ((ev as KeyboardEvent).key === 'Enter') this.open(a);
            },
          },
          h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]),
          h('span', { class: 'where' }, this.ctx.place(a)),
          h('time', { class: 'when', datetime: a.firstAt, title: i18n.dateTime(a.firstAt, this.ctx.timeZone(a)) }, when),
          h('span', { class: 'what' }, i18n.pick(a.message)),
          h(
            'span',
            { class: 'chips' },
            h('span', { class: `chip phase-${phase}` }, t.phase[phase]),
            a.count > 1 ? h('span', { class: 'chip count-chip', title: `${a.count}` }, `×${a.count}`) : null,
            a.chattering ? h('span', { class: 'chip chattering', title: t.chatteringHint }, t.chattering) : null,
            // Replayed alarms carry no details: their category is not known there.
            live ? h('span', { class: 'chip category' }, t.category[categoryOf(a)]) : null,
          ),
        );
      }),
    );
    replace(this.body, alarms.length ? list : h('p', { class: 'empty' }, t.noAlarms));
  }
}
