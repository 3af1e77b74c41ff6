/**
 * The top bar of a page outside the twin (the audit log): the brand, a way back to the live
 * view, this page marked as current, the language switch, the user and logout. Re-renders
 * itself on a language change.
 */
import type { Api, Me } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Language, Strings } from '../i18n.ts';

export interface PageHeaderOptions {
  /** This page: its path and its name in the current language. */
  href: string;
  label(t: Strings): string;
  /** Before leaving for the login page (close sockets and the like). */
  beforeLogout?(): void;
  toLogin(): void;
}

export function pageHeader(ctx: { api: Api; i18n: I18n }, me: Me, opts: PageHeaderOptions): { el: HTMLElement; dispose(): void } {
  const { api, i18n } = ctx;
  const el = h('header', { class: 'app-header' });
  const render = () => {
    const t = i18n.t;
    const language = h('select', { 'data-testid': 'language', 'aria-label': 'language' }, h('option', { value: 'zh-CN', selected: i18n.language === 'zh-CN' }, '中文'), h('option', { value: 'en', selected: i18n.language === 'en' }, 'English'));
    language.addEventListener('change', () => i18n.set(language.value as Language));
    replace(
      el,
      h('strong', { class: 'brand' }, t.appTitle),
      h('nav', {}, h('a', { href: '/' }, t.live), h('a', { href: opts.href, class: 'active', 'aria-current': 'page' }, opts.label(t))),
      language,
      h('span', { class: 'user', 'data-testid': 'user' }, me.user.username),
      h(
        'button',
        {
          'data-testid': 'logout',
          onclick: async () => {
            opts.beforeLogout?.();
            await api.logout().catch(() => undefined);
            opts.toLogin();
          },
        },
        t.logout,
      ),
    );
  };
  render();
  return { el, dispose: i18n.onChange(render) };
}
