/**
 * The manager's phone page (/m): open alarms of every visible site by severity then age, the
 * unacknowledged counted in the header, one tap to acknowledge, the snapshot inline, a tap on
 * the alarm for its detail (the same drawer as the desk's, full screen), the account. The tone
 * repeats like the desk's, with the same mute. Live over the same socket feed.
 */
import { categoryOf, mayActOnAlarm, mayReadAnyAlarm } from '../../../server/alarms/category.ts';
import type { Alarm } from '../../../server/alarms/types.ts';
import type { Localized } from '../../../server/sites/model.ts';
import type { Api, Me } from '../api.ts';
import { AlarmNotifier } from '../alarm-notify.ts';
import { needsTone, phaseOf, sortAlarms, unacknowledged } from '../alarm-order.ts';
import { RuleNames } from '../alarm-text.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';
import { connectLive, reconnectLive, type LiveSocket } from '../live.ts';
import { AccountPanel } from '../panels/account.ts';
import { AlarmDetail, pictureView, type AlarmCtx } from '../panels/alarm-detail.ts';
import { FootfallPanel } from '../panels/footfall.ts';
import { Store } from '../store.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

export async function renderManager(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  // The store keeps the alarms of every visible site until they are closed out.
  const store = new Store(me);
  const notifier = new AlarmNotifier();
  const names = new RuleNames();
  const sites = await api.sites();
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  const siteZone = new Map(sites.map((s) => [s.id, s.timezone]));
  // Zone names for the list ("214房", not "2-14"): one site model per visible site, once.
  const zoneName = new Map<string, Localized>();
  for (const model of await Promise.all(sites.map((s) => api.site(s.id)))) {
    for (const floor of model.floors) for (const z of floor.zones) zoneName.set(`${model.id}/${z.id}`, z.name);
  }
  const zoneLabel = (a: Alarm) => (a.zone === null ? '' : i18n.pick(zoneName.get(`${a.site}/${a.zone}`) ?? { en: a.zone, 'zh-CN': a.zone }));
  const timeZone = (a: Alarm) => siteZone.get(a.site) ?? 'Asia/Shanghai';
  const alarmCtx: AlarmCtx = { api, i18n, store, names, timeZone, place: (a) => [i18n.pick(siteName.get(a.site)), zoneLabel(a)].filter(Boolean).join(' · ') };
  const list = h('ul', { class: 'm-alarms', 'data-testid': 'alarm-console' });
  const mayAct = (a: Alarm) => mayActOnAlarm((action) => store.can(action), a);
  let detail: AlarmDetail | null = null;
  const closeDetail = () => {
    detail?.dispose();
    detail = null;
  };
  const openDetail = (a: Alarm) => {
    closeDetail();
    detail = new AlarmDetail(alarmCtx, a, closeDetail);
    page.append(detail.el);
    detail.focus();
  };

  const render = () => {
    const t = i18n.t;
    const open = sortAlarms(store.openAlarms());
    const now = Date.now();
    replace(
      list,
      ...open.map((a) => {
        const phase = phaseOf(a);
        return h(
          'li',
          { class: `alarm sev-${a.severity} state-${a.state} phase-${phase}`, 'data-alarm': a.id, 'data-phase': phase },
          h(
            'div',
            { class: 'row', role: 'button', tabindex: 0, onclick: () => openDetail(a) },
            h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]),
            h('strong', {}, i18n.pick(a.message)),
          ),
          h('div', { class: 'meta' }, `${alarmCtx.place(a)} · ${t.ago(Math.floor((now - Date.parse(a.firstAt)) / 60000))} · ${i18n.time(a.firstAt, timeZone(a))}`),
          h(
            'div',
            { class: 'chips' },
            h('span', { class: `chip phase-${phase}` }, t.phase[phase]),
            a.count > 1 ? h('span', { class: 'chip count-chip' }, `×${a.count}`) : null,
            a.chattering ? h('span', { class: 'chip chattering', title: t.chatteringHint }, t.chattering) : null,
            h('span', { class: 'chip category' }, t.category[categoryOf(a)]),
          ),
          pictureView(a, (action) => store.can(action), t),
          h(
            'div',
            { class: 'm-actions' },
            mayAct(a) && !a.acknowledged ? h('button', { class: 'primary big', 'data-testid': 'alarm-ack', onclick: async () => upsert(await api.ack(a.id)) }, t.ack) : null,
            h('button', { class: 'big', 'data-testid': 'alarm-open', onclick: () => openDetail(a) }, t.details),
          ),
        );
      }),
    );
    if (!open.length) list.append(h('li', { class: 'empty' }, t.noAlarms));
    notifier.setRinging([...store.alarms.values()].some(needsTone));
    renderHeader();
  };
  const upsert = (a: Alarm) => {
    const { isNew } = store.upsertAlarm(a);
    if (isNew && needsTone(a)) notifier.alert(a.severity === 'critical' ? { text: i18n.t.speakAlarm(zoneLabel(a), i18n.pick(a.message)), language: i18n.language } : null);
  };

  let socket: LiveSocket | null = null;
  let account: AccountPanel | null = null;
  const openAccount = () => {
    if (account) return;
    const panel = new AccountPanel({ api, i18n }, {
      user: me.user,
      timeZone: () => sites[0]?.timezone ?? 'Asia/Shanghai',
      signedOut: () => {
        socket?.disconnect();
        toLogin();
      },
      close: () => {
        panel.dispose();
        account = null;
      },
    });
    account = panel;
    page.append(panel.el);
    void panel.open();
  };
  // Footfall of the visible sites, on demand (the same panel as the desk's column).
  let footfall: FootfallPanel | null = null;
  const toggleFootfall = () => {
    if (footfall) {
      footfall.dispose();
      footfall = null;
    } else {
      footfall = new FootfallPanel({ api, i18n, store }, { sites });
      header.after(footfall.el);
      void footfall.load();
    }
    renderHeader();
  };
  const header = h('header', { class: 'app-header' });
  const renderHeader = () => {
    const t = i18n.t;
    const pending = unacknowledged(store.alarms.values());
    document.title = pending > 0 ? `(${pending}) ${t.appTitle}` : t.appTitle;
    replace(
      header,
      h('strong', {}, t.manager),
      h('span', { class: `badge-count${pending ? '' : ' zero'}`, 'data-testid': 'alarm-unacked', title: t.unacknowledgedCount(pending), 'aria-label': t.unacknowledgedCount(pending) }, String(pending)),
      h(
        'button',
        { class: `mute${notifier.muted ? ' on' : ''}`, 'data-testid': 'alarm-mute', 'aria-pressed': notifier.muted ? 'true' : 'false', title: notifier.muted ? t.mutedHint : t.muteHint(notifier.repeatMs / 1000), onclick: () => notifier.setMuted(!notifier.muted) },
        notifier.muted ? t.unmute : t.mute,
      ),
      store.can('footfall:read') ? h('button', { class: footfall ? 'active' : '', 'data-testid': 'footfall-toggle', 'aria-pressed': footfall ? 'true' : 'false', onclick: toggleFootfall }, t.footfall) : null,
      h('a', { href: '/' }, t.live),
      h('button', { class: 'user', title: t.account, 'aria-haspopup': 'dialog', 'data-testid': 'account-open', onclick: openAccount }, h('span', { 'data-testid': 'user' }, me.user.username)),
      h('button', { 'data-testid': 'logout', onclick: async () => (socket?.disconnect(), await api.logout().catch(() => undefined), toLogin()) }, t.logout),
    );
  };
  const page = h('div', { class: 'manager' }, header, list);
  replace(root, page);
  renderHeader();
  await names.load(api, sites.map((s) => s.id));
  // The server answers each role the alarms it may see (a technician: device-health ones).
  if (mayReadAnyAlarm((action) => store.can(action))) for (const a of await api.alarms({ state: 'open', limit: 200 })) store.upsertAlarm(a);
  store.on('alarms', render);
  notifier.onMutedChange(renderHeader);
  // Relative times ("2 min ago") move on by themselves.
  setInterval(render, 30_000);
  render();
  const live = connectLive({ token: () => api.settledToken(), onAuthFailed: toLogin, onConnectionChange: () => undefined });
  socket = live;
  // A password change ended the token the socket connected with: connect again with the new one.
  api.onTokenChange(() => reconnectLive(live));
  live.on('alarm', upsert);
  i18n.onChange(render);
  i18n.onChange(renderHeader);
  exposeForTests({ alarms: () => [...store.alarms.values()], state: null, twinStats: () => null, notified: () => notifier.notified, tones: () => notifier.tones, ringing: () => notifier.ringing });
  markReady();
}
