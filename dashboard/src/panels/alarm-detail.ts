/**
 * One alarm, in a drawer on the right over the console (full screen on a phone): message,
 * place, standing, snapshot, then Acknowledge / Clear / Comment, then the history. The history
 * is the part that grows, so it is last and scrolls by itself: the picture and the actions stay
 * in view at 1280×720 and on a phone, however many alarms the console lists.
 *
 * Not modal: the twin (flown to the alarm's zone), the header and the side panel stay usable
 * beside it. Keeps itself current: a pushed alarm with the same id (the snapshot arriving,
 * someone else acknowledging) re-reads it. Escape and the × close it.
 */
import { categoryOf, mayActOnAlarm } from '../../../server/alarms/category.ts';
import type { Alarm } from '../../../server/alarms/types.ts';
import { phaseOf } from '../alarm-order.ts';
import { describeStep, type RuleNames } from '../alarm-text.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import type { Strings } from '../i18n.ts';
import { snapshotView } from './snapshot.ts';

/** What the alarm views need beyond the Ctx: names of rules, places and time zones. */
export interface AlarmCtx extends Ctx {
  names: RuleNames;
  /** Where, in words: the zone's name (on /m with the site's). */
  place(alarm: Alarm): string;
  /** The IANA time zone of the alarm's site: times are shown as the site's clocks read. */
  timeZone(alarm: Alarm): string;
}

/**
 * The snapshot, or for a caller who may not fetch pictures (`GET /api/snapshots` needs
 * alarms:read: a technician looking at a tamper alarm) a word that one exists, not a broken image.
 */
export function pictureView(alarm: Alarm, can: (action: 'alarms:read') => boolean, t: Strings): HTMLElement {
  if (alarm.snapshot?.status === 'attached' && !can('alarms:read')) return h('figure', { class: 'snapshot snapshot-restricted' }, h('figcaption', {}, t.snapshotForDesk));
  return snapshotView(alarm, t);
}

export class AlarmDetail {
  readonly el = h('div', { class: 'drawer-backdrop', 'data-testid': 'alarm-drawer' });
  private readonly panel = h('section', { class: 'alarm-detail', role: 'dialog', 'aria-modal': 'false', tabindex: -1, 'data-testid': 'alarm-detail' });
  private alarm: Alarm;
  private busy = false;
  private error = '';
  private offs: Array<() => void> = [];

  constructor(
    private readonly ctx: AlarmCtx,
    alarm: Alarm,
    private readonly onClose: () => void,
  ) {
    this.alarm = alarm;
    this.el.append(this.panel);
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape') this.onClose();
    };
    document.addEventListener('keydown', onKey);
    this.offs.push(() => document.removeEventListener('keydown', onKey));
    this.offs.push(
      ctx.store.on('alarms', () => {
        const pushed = ctx.store.alarms.get(this.alarm.id);
        if (pushed && (pushed.lastAt !== this.alarm.lastAt || pushed.state !== this.alarm.state || pushed.acknowledged !== this.alarm.acknowledged || pushed.restoredAt !== this.alarm.restoredAt || JSON.stringify(pushed.snapshot) !== JSON.stringify(this.alarm.snapshot))) void this.refresh();
      }),
    );
    this.offs.push(ctx.i18n.onChange(() => this.render()));
    this.render();
    void this.refresh();
  }

  get alarmId(): string {
    return this.alarm.id;
  }

  /** Puts the keyboard in the drawer (call once it is in the document). */
  focus(): void {
    this.panel.focus({ preventScroll: true });
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
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
    if (this.busy) return;
    this.busy = true;
    this.error = '';
    try {
      const alarm = action === 'ack' ? await api.ack(this.alarm.id, text) : action === 'clear' ? await api.clear(this.alarm.id, text) : await api.comment(this.alarm.id, text ?? '');
      this.alarm = alarm;
      store.upsertAlarm(alarm);
    } catch (err) {
      this.error = this.ctx.i18n.t.failed((err as Error).message);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private render(): void {
    const { i18n, store, names } = this.ctx;
    const t = i18n.t;
    const a = this.alarm;
    const tz = this.ctx.timeZone(a);
    const phase = phaseOf(a);
    const titleId = `alarm-title-${a.id}`;
    this.panel.setAttribute('aria-labelledby', titleId);
    const comment = h('input', { type: 'text', placeholder: t.addComment, maxlength: 500, 'aria-label': t.addComment, 'data-testid': 'alarm-comment' });
    const withComment = () => comment.value.trim() || undefined;
    const actions = mayActOnAlarm((action) => store.can(action), a)
      ? h(
          'div',
          { class: 'actions' },
          h('button', { class: 'primary', disabled: a.acknowledged || this.busy, 'data-testid': 'alarm-ack', onclick: () => void this.act('ack', withComment()) }, t.ack),
          h('button', { disabled: a.state === 'cleared' || this.busy, 'data-testid': 'alarm-clear', onclick: () => void this.act('clear', withComment()) }, t.clear),
          h('div', { class: 'comment-row' }, comment, h('button', { 'data-testid': 'alarm-comment-send', disabled: this.busy, onclick: () => withComment() && void this.act('comment', withComment()) }, t.comment)),
        )
      : null;
    comment.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && withComment()) void this.act('comment', withComment());
    });
    replace(
      this.panel,
      h(
        'header',
        {},
        h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]),
        h('h3', { id: titleId }, i18n.pick(a.message)),
        h('button', { class: 'close', onclick: () => this.onClose(), 'aria-label': t.close, 'data-testid': 'alarm-detail-close' }, '×'),
      ),
      h('p', { class: 'meta' }, [this.ctx.place(a), a.device, t.category[categoryOf(a)]].filter(Boolean).join(' · ')),
      h(
        'p',
        { class: 'meta times' },
        `${t.firstAt} ${i18n.dateTime(a.firstAt, tz)}`,
        a.lastAt !== a.firstAt ? ` · ${t.lastAt} ${i18n.dateTime(a.lastAt, tz)}` : '',
        h('span', { class: 'tz' }, ` (${t.timesIn(tz)})`),
      ),
      h(
        'p',
        { class: 'chips' },
        h('span', { class: `chip phase-${phase}`, 'data-testid': 'alarm-state', 'data-phase': phase }, t.phase[phase]),
        a.count > 1 ? h('span', { class: 'chip count-chip', 'data-testid': 'alarm-count-chip' }, `×${a.count}`) : null,
        a.chattering ? h('span', { class: 'chip chattering', title: t.chatteringHint }, t.chattering) : null,
      ),
      pictureView(a, (action) => store.can(action), t),
      actions,
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : null,
      h(
        'section',
        { class: 'history' },
        h('h4', {}, t.history),
        h(
          'ol',
          { 'data-testid': 'alarm-history' },
          ...(a.history ?? []).map((step) =>
            h(
              'li',
              { class: `step step-${step.action}`, 'data-action': step.action },
              h('time', { datetime: step.at }, i18n.dateTime(step.at, tz)),
              h('span', { class: 'what' }, describeStep(step, names, i18n)),
              step.comment ? h('blockquote', { class: 'comment' }, step.comment) : null,
            ),
          ),
        ),
      ),
    );
  }
}
