/**
 * The manager's phone page (/m): open alarms of every visible site, newest critical first,
 * one tap to acknowledge, the snapshot inline, the account. Live over the same socket feed.
 */
import type { Alarm } from '../../../server/alarms/types.ts';
import type { Localized } from '../../../server/sites/model.ts';
import type { Api, Me } from '../api.ts';
import { AlarmNotifier } from '../alarm-notify.ts';
import { isOpen, sortAlarms } from '../alarm-order.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';
import { connectLive, reconnectLive, type LiveSocket } from '../live.ts';
import { AccountPanel } from '../panels/account.ts';
import { snapshotView } from '../panels/snapshot.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

export async function renderManager(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const alarms = new Map<string, Alarm>();
  const notifier = new AlarmNotifier();
  const sites = await api.sites();
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  const siteZone = new Map(sites.map((s) => [s.id, s.timezone]));
  // Zone names for the list ("214房", not "2-14"): one site model per visible site, once.
  const zoneName = new Map<string, Localized>();
  for (const model of await Promise.all(sites.map((s) => api.site(s.id)))) {
    for (const floor of model.floors) for (const z of floor.zones) zoneName.set(`${model.id}/${z.id}`, z.name);
  }
  const zoneLabel = (a: Alarm) => (a.zone === null ? '' : i18n.pick(zoneName.get(`${a.site}/${a.zone}`) ?? { en: a.zone, 'zh-CN': a.zone }));
  const list = h('ul', { class: 'm-alarms', 'data-testid': 'alarm-console' });
  const canAck = me.permissions.includes('alarms:ack');

  const render = () => {
    const t = i18n.t;
    const open = sortAlarms([...alarms.values()].filter(isOpen));
    replace(
      list,
      ...open.map((a) =>
        h(
          'li',
          { class: `alarm sev-${a.severity} state-${a.state}`, 'data-alarm': a.id },
          h('div', { class: 'row' }, h('span', { class: `sev sev-${a.severity}` }, t.severity[a.severity]), h('strong', {}, i18n.pick(a.message))),
          h('div', { class: 'meta' }, `${i18n.pick(siteName.get(a.site))} · ${zoneLabel(a)} · ${i18n.dateTime(a.firstAt, siteZone.get(a.site) ?? 'Asia/Shanghai')}`),
          snapshotView(a, t),
          canAck && a.state === 'active'
            ? h('button', { class: 'primary big', 'data-testid': 'alarm-ack', onclick: async () => upsert(await api.ack(a.id)) }, t.ack)
            : h('span', { class: 'state' }, t.alarmState[a.state]),
        ),
      ),
    );
    if (!open.length) list.append(h('li', { class: 'empty' }, t.noAlarms));
  };
  const upsert = (a: Alarm) => {
    const isNew = !alarms.has(a.id);
    alarms.set(a.id, a);
    if (isNew && isOpen(a) && a.severity === 'critical') notifier.critical(i18n.t.speakAlarm(zoneLabel(a), i18n.pick(a.message)), i18n.language);
    render();
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
  const header = h('header', { class: 'app-header' });
  const renderHeader = () => {
    const t = i18n.t;
    replace(
      header,
      h('strong', {}, t.manager),
      h('a', { href: '/' }, t.live),
      h('button', { class: 'user', title: t.account, 'aria-haspopup': 'dialog', 'data-testid': 'account-open', onclick: openAccount }, h('span', { 'data-testid': 'user' }, me.user.username)),
      h('button', { 'data-testid': 'logout', onclick: async () => (socket?.disconnect(), await api.logout().catch(() => undefined), toLogin()) }, t.logout),
    );
  };
  const page = h('div', { class: 'manager' }, header, list);
  replace(root, page);
  renderHeader();
  if (me.permissions.includes('alarms:read')) for (const a of await api.alarms({ state: 'open', limit: 200 })) alarms.set(a.id, a);
  render();
  const live = connectLive({ token: () => api.settledToken(), onAuthFailed: toLogin, onConnectionChange: () => undefined });
  socket = live;
  // A password change ended the token the socket connected with: connect again with the new one.
  api.onTokenChange(() => reconnectLive(live));
  live.on('alarm', upsert);
  i18n.onChange(render);
  i18n.onChange(renderHeader);
  exposeForTests({ alarms: () => [...alarms.values()], state: null, twinStats: () => null });
  markReady();
}
