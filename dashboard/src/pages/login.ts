/** The login page. On success the app reloads into the page the user came for. */
import type { Api } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';

export function renderLogin(root: HTMLElement, api: Api, i18n: I18n, next: string): void {
  const t = i18n.t;
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'login' },
    h('h1', {}, t.appTitle),
    h('label', {}, t.username, username),
    h('label', {}, t.password, password),
    h('button', { type: 'submit', class: 'primary' }, t.login),
    error,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      await api.login(username.value, password.value);
      location.assign(next.startsWith('/') && !next.startsWith('//') && next !== '/login' ? next : '/');
    } catch (err) {
      error.textContent = `${t.loginFailed}: ${(err as Error).message}`;
    }
  });
  replace(root, form);
  username.focus();
}
