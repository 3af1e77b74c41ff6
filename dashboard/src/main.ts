/**
 * Entry: one page, routed by path. /login, /m (manager's phone page), /replay, /kpis (response
 * KPIs), /audit, /integrations (integrations and unknown devices), /overview (every site in one
 * table), /devices (the technician's device page), and / (the operator's twin).
 * Without a valid session every route lands on /login.
 */
import './style.css';
import { Api } from './api.ts';
import { loginReturn, loginTarget } from './deep-link.ts';
import { h, replace } from './dom.ts';
import { I18n } from './i18n.ts';
import { renderAudit } from './pages/audit.ts';
import { renderDevices } from './pages/devices.ts';
import { renderIntegrations } from './pages/integrations.ts';
import { renderKpis } from './pages/kpis.ts';
import { renderLogin } from './pages/login.ts';
import { renderMain } from './pages/main.ts';
import { renderManager } from './pages/manager.ts';
import { renderOverview } from './pages/overview.ts';

const root = document.getElementById('app') as HTMLElement;
const api = new Api();
const i18n = new I18n();

function toLogin(): void {
  // The query too: a notification's link (/?alarm=…) opens that alarm after login.
  if (location.pathname !== '/login') location.assign(loginTarget());
}

async function start(): Promise<void> {
  api.setUnauthorizedHandler(toLogin);
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/login' || !api.token) {
    if (path !== '/login') return toLogin();
    const next = loginReturn(new URLSearchParams(location.search).get('next'));
    renderLogin(root, api, i18n, next);
    i18n.onChange(() => renderLogin(root, api, i18n, next));
    return;
  }
  const me = await api.me();
  if (path === '/m') await renderManager(root, api, i18n, me, toLogin);
  else if (path === '/kpis') await renderKpis(root, api, i18n, me, toLogin);
  else if (path === '/audit') await renderAudit(root, api, i18n, me, toLogin);
  else if (path === '/integrations') await renderIntegrations(root, api, i18n, me, toLogin);
  else if (path === '/overview') await renderOverview(root, api, i18n, me, toLogin);
  else if (path === '/devices') await renderDevices(root, api, i18n, me, toLogin);
  else await renderMain(root, api, i18n, me, path === '/replay' ? 'replay' : 'live', toLogin);
}

start().catch((err: unknown) => {
  replace(root, h('p', { class: 'error', role: 'alert' }, String((err as Error).message ?? err)));
});
