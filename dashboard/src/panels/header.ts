/**
 * The top bar: site picker, live/replay/footfall, language switch, the user (opens Account) and
 * logout. It offers only what the user's permissions allow: replay with the reads it shows,
 * footfall with footfall:read, the phone page with some alarms to read.
 */
import { mayReadAnyAlarm } from '../../../server/alarms/category.ts';
import type { SiteSummary } from '../api.ts';
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import type { Language } from '../i18n.ts';

export type Mode = 'live' | 'replay';

/** Replay reads the history (state:read), which lists every alarm of the window (alarms:read). */
export function canReplay(store: { can(action: string): boolean }): boolean {
  return store.can('state:read') && store.can('alarms:read');
}

export interface HeaderActions {
  selectSite(site: string): void;
  setMode(mode: Mode): void;
  toggleFootfall(): void;
  openAccount(): void;
  logout(): void;
}

export class Header {
  readonly el = h('header', { class: 'app-header' });
  mode: Mode = 'live';
  private off: () => void;

  constructor(
    private readonly ctx: Ctx,
    private readonly sites: SiteSummary[],
    private readonly actions: HeaderActions,
    private readonly connection: { connected: boolean },
  ) {
    this.off = ctx.i18n.onChange(() => this.render());
    this.render();
  }

  dispose(): void {
    this.off();
  }

  render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const sitePicker = h('select', { 'data-testid': 'site-picker', 'aria-label': t.site }, ...this.sites.map((s) => h('option', { value: s.id, selected: s.id === store.site }, i18n.pick(s.name))));
    sitePicker.addEventListener('change', () => this.actions.selectSite(sitePicker.value));
    const language = h('select', { 'data-testid': 'language', 'aria-label': 'language' }, h('option', { value: 'zh-CN', selected: i18n.language === 'zh-CN' }, '中文'), h('option', { value: 'en', selected: i18n.language === 'en' }, 'English'));
    language.addEventListener('change', () => i18n.set(language.value as Language));
    const modeButton = (mode: Mode, label: string) => h('button', { class: this.mode === mode ? 'active' : '', 'data-testid': `mode-${mode}`, onclick: () => this.actions.setMode(mode) }, label);
    replace(
      this.el,
      h('strong', { class: 'brand' }, t.appTitle),
      sitePicker,
      h(
        'nav',
        {},
        // Live alone is no choice: the mode buttons come with replay.
        canReplay(store) ? modeButton('live', t.live) : null,
        canReplay(store) ? modeButton('replay', t.replay) : null,
        store.can('footfall:read') ? h('button', { 'data-testid': 'footfall-toggle', onclick: () => this.actions.toggleFootfall() }, t.footfall) : null,
        mayReadAnyAlarm((action) => store.can(action)) ? h('a', { href: '/m', 'data-testid': 'phone-page' }, t.manager) : null,
        // Every site in one table, for those who watch alarms across a chain.
        store.can('alarms:read') ? h('a', { href: '/overview', 'data-testid': 'overview-link' }, t.overview.nav) : null,
        // The technician's page: list, check and register devices.
        store.can('devices:read') ? h('a', { href: '/devices', 'data-testid': 'devices-link' }, t.devicePage.nav) : null,
        // Response KPIs rate people: only for the roles that may read them (kpis:read).
        store.can('kpis:read') ? h('a', { href: '/kpis', 'data-testid': 'kpis-link' }, t.kpiNav) : null,
        // Who did what: admins only (audit:read).
        store.can('audit:read') ? h('a', { href: '/audit', 'data-testid': 'audit-link' }, t.audit.nav) : null,
        // Integrations for admins; their unknown devices also for whoever registers devices.
        store.can('integrations:manage') || store.can('devices:write') ? h('a', { href: '/integrations', 'data-testid': 'integrations-link' }, t.integrations.nav) : null,
        // The API reference (/api/docs, served by the server) for those who wire integrations.
        store.can('integrations:manage') ? h('a', { href: '/api/docs', 'data-testid': 'api-docs-link' }, t.apiDocs) : null,
      ),
      h('span', { class: `conn ${this.connection.connected ? 'on' : 'off'}`, title: this.connection.connected ? '' : t.connectionLost }),
      language,
      h('button', { class: 'user', 'data-testid': 'account-open', title: t.account, 'aria-haspopup': 'dialog', onclick: () => this.actions.openAccount() }, h('span', { 'data-testid': 'user' }, `${store.me.user.username} (${store.me.user.role})`)),
      h('button', { 'data-testid': 'logout', onclick: () => this.actions.logout() }, t.logout),
    );
  }
}
