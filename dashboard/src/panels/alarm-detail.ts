/**
 * One alarm: message, place, severity, snapshot, history; acknowledge, clear, comment. Keeps
 * itself current: a pushed alarm with the same id (the snapshot arriving, someone else
 * acknowledging) re-renders it.
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import { snapshotView } from './snapshot.ts';

export class AlarmDetail {
  readonly el = h('section', { class: 'alarm-detail', 'data-testid': 'alarm-detail' });
  private alarm: Alarm;
  private off: () => void;

  constructor(
    private readonly ctx: Ctx,
    alarm: Alarm,
    private readonly onClose: () => void,
  ) {
    this.alarm = alarm;
    this.off = ctx.store.on('alarms', () => {
      const pushed = ctx.store.alarms.get(this.alarm.id);
      if (pushed && (pushed.lastAt !== this.alarm.lastAt || pushed.state !== this.alarm.state || JSON.stringify(pushed.snapshot) !== JSON.stringify(this.alarm.snapshot))) void this.refresh();
    });
    this.render();
    void this.refresh();
  }

  dispose(): void {
    this.off();
    this.el.remove();
  }

  private async refresh(): Promise<void> {
    try {
      this.alarm = await this.ctx.api.alarm(this.alarm.id);
      this.render();
    } catch {
      // Keep what is shown; the next push retries.
    }
  }

  private async act(action: 'ack' | 'clear' | 'comment', text?: string): Promise<void> {
    const { api, store } = this.ctx;
    const alarm = action === 'ack' ? await api.ack(this.alarm.id, text) : action === 'clear' ? await api.clear(this.alarm.id, text) : await api.comment(this.alarm.id, text ?? '');
    this.alarm = alarm;
    store.upsertAlarm(alarm);
    this.render();
  }

  private render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const a = this.alarm;
    const canAck = store.can('alarms:ack');
    const comment = h('input', { type: 'text', placeholder: t.addComment, maxlength: 500, 'data-testid': 'alarm-comment' });
    replace(
      this.el,
      h('header', {}, h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]), h('h3', {}, i18n.pick(a.message)), h('button', { class: 'close', onclick: () => this.onClose(), 'aria-label': t.close }, '×')),
      h('p', { class: 'meta' }, store.zoneName(a.zone, (v) => i18n.pick(v)), a.device ? ` · ${a.device}` : '', ` · ${i18n.dateTime(a.firstAt, store.timeZone)}`, a.count > 1 ? ` · ×${a.count}` : ''),
      h('p', { class: `state state-${a.state}`, 'data-testid': 'alarm-state' }, t.alarmState[a.state]),
      snapshotView(a, t),
      canAck
        ? h(
            'div',
            { class: 'actions' },
            h('button', { class: 'primary', disabled: a.state !== 'active', 'data-testid': 'alarm-ack', onclick: () => void this.act('ack', comment.value.trim() || undefined) }, t.ack),
            h('button', { disabled: a.state === 'cleared', 'data-testid': 'alarm-clear', onclick: () => void this.act('clear', comment.value.trim() || undefined) }, t.clear),
            comment,
            h('button', { onclick: () => comment.value.trim() && void this.act('comment', comment.value.trim()) }, t.comment),
          )
        : null,
      h('h4', {}, t.history),
      h('ol', { class: 'history' }, ...(a.history ?? []).map((step) => h('li', {}, `${i18n.time(step.at, store.timeZone)} ${step.by} ${step.action}`, step.comment ? h('q', {}, step.comment) : null))),
    );
  }
}
