/**
 * The live list of open alarms, by severity then age. A new critical alarm beeps, is spoken,
 * flashes its zone and flies the twin to it. In replay the same list shows the alarms open at
 * the replayed instant instead (setReplay).
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import { isOpen, sortAlarms } from '../alarm-order.ts';
import type { AlarmNotifier } from '../alarm-notify.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import type { TwinView } from '../twin/types.ts';
import { AlarmDetail } from './alarm-detail.ts';

export class AlarmConsole {
  readonly el = h('section', { class: 'alarm-console', 'data-testid': 'alarm-console' });
  private list = h('ul', { class: 'alarm-list' });
  private detail: AlarmDetail | null = null;
  private replayAlarms: Alarm[] | null = null;
  private offs: Array<() => void> = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly twin: Pick<TwinView, 'setAlarms' | 'flyTo'>,
    private readonly notifier: AlarmNotifier,
  ) {
    this.offs.push(ctx.store.on('alarms', () => this.render()));
    this.offs.push(ctx.i18n.onChange(() => this.render()));
    this.render();
  }

  /** A pushed alarm: store it, and call attention to it if it is new and critical. */
  receive(alarm: Alarm): void {
    const { isNew } = this.ctx.store.upsertAlarm(alarm);
    if (isNew && alarm.severity === 'critical' && this.replayAlarms === null) {
      const { i18n, store } = this.ctx;
      this.notifier.critical(i18n.t.speakAlarm(store.zoneName(alarm.zone, (v) => i18n.pick(v)), i18n.pick(alarm.message)), i18n.language);
      if (alarm.zone) this.twin.flyTo(alarm.zone);
    }
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
    this.detail?.dispose();
    this.detail = new AlarmDetail(this.ctx, alarm, () => {
      this.detail?.dispose();
      this.detail = null;
    });
    this.el.append(this.detail.el);
    if (alarm.zone) this.twin.flyTo(alarm.zone);
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.detail?.dispose();
  }

  private render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const alarms = sortAlarms(this.replayAlarms ?? [...store.alarms.values()].filter(isOpen));
    if (this.replayAlarms === null) this.twin.setAlarms(alarms.filter((a) => a.zone).map((a) => ({ zone: a.zone as string, severity: a.severity })));
    const now = Date.now();
    replace(
      this.list,
      ...alarms.map((a) =>
        h(
          'li',
          { class: `alarm sev-${a.severity} state-${a.state}`, 'data-alarm': a.id, onclick: () => this.open(a) },
          h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]),
          h('span', { class: 'where' }, store.zoneName(a.zone, (v) => i18n.pick(v))),
          h('span', { class: 'what' }, i18n.pick(a.message)),
          h('span', { class: 'when', title: i18n.dateTime(a.firstAt, store.timeZone) }, t.ago(Math.floor((now - Date.parse(a.firstAt)) / 60000))),
          h('span', { class: 'state' }, t.alarmState[a.state]),
        ),
      ),
    );
    const title = this.replayAlarms === null ? t.alarms : t.openAtInstant;
    replace(this.el, h('h2', {}, title, h('span', { class: 'count', 'data-testid': 'alarm-count' }, String(alarms.length))), alarms.length ? this.list : h('p', { class: 'empty' }, t.noAlarms), this.detail?.el ?? null);
  }
}
