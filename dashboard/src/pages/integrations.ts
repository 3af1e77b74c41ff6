/**
 * Integrations (/integrations, issue 10). Admins (`integrations:manage`) see the integrations
 * of their sites — last message, counters, last error, an on/off switch — and create, edit,
 * re-key and delete them; a new token and its push URL are shown once, in a dialog with copy
 * buttons. Admins and technicians (`devices:write`) see the unknown devices the integrations
 * heard and register them from a prefilled form. Other roles are told the page is not theirs.
 * `?site=` narrows both lists to one site (kept in the URL). A table on a desktop, one card per
 * row on a phone.
 */
import { ApiError, type Api, type DeviceTypeInfo, type IntegrationWithToken, type Me, type PublicIntegration, type UnknownDeviceInfo } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import { CopyField, Dialog, type DialogContent } from '../panels/integration-dialog.ts';
import { IntegrationForm } from '../panels/integration-form.ts';
import { integrationTable, type IntegrationRowActions } from '../panels/integration-table.ts';
import { loadDeviceTypes, RegisterForm, unknownTable } from '../panels/integration-unknown.ts';
import { pageHeader } from '../panels/page-header.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

type Text = (t: Strings) => string;
type Message = { kind: 'ok' | 'error'; text: Text } | null;

function failure(err: unknown): Text {
  const message = err instanceof Error ? err.message : String(err);
  return (t) => t.failed(message);
}

/** The dialog after a create or a new token: the push URL and the token, shown this once. */
function tokenDialog(i18n: I18n, answer: IntegrationWithToken, kind: 'created' | 'rotated'): DialogContent {
  const url = answer.pushUrl === null ? null : new CopyField(i18n, answer.pushUrl, 'once-url');
  const token = new CopyField(i18n, answer.token, 'once-token');
  return {
    testid: 'token-dialog',
    sticky: () => true,
    title: (t) => (kind === 'created' ? t.integrations.createdTitle(answer.integration.name) : t.integrations.rotatedTitle(answer.integration.name)),
    body: (t) => [
      h(
        'div',
        { class: 'token-once', 'data-testid': 'token-once' },
        h('p', { class: 'warning' }, t.integrations.shownOnce),
        url ? url.render(t.integrations.pushUrl) : null,
        url ? h('p', { class: 'hint' }, t.integrations.pasteUrl) : null,
        token.render(t.integrations.token),
        h('p', { class: 'hint' }, t.integrations.bearerHint),
      ),
    ],
  };
}

export async function renderIntegrations(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const mayManage = me.permissions.includes('integrations:manage');
  const mayRegister = me.permissions.includes('devices:write');
  const header = pageHeader({ api, i18n }, me, { href: '/integrations', label: (t) => t.integrations.nav, toLogin });
  const intro = h('div', { class: 'integ-intro' });
  const toolbar = h('div', { class: 'integ-toolbar' });
  const status = h('p', { class: 'integ-status', role: 'status', 'data-testid': 'integ-status' });
  const listSection = h('section', { class: 'integ-list', 'data-testid': 'integ-list' });
  const unknownSection = h('section', { class: 'integ-unknown', 'data-testid': 'unknown-devices' });
  const main = h('main', { class: 'integ-main' }, intro, mayManage || mayRegister ? toolbar : null, status, mayManage ? listSection : null, mayRegister ? unknownSection : null);
  replace(root, h('div', { class: 'integrations' }, header.el, main));

  if (!mayManage && !mayRegister) {
    // The header does not offer this page to such roles; someone typing the address learns why it is empty.
    const forbidden = () => replace(intro, h('h1', {}, i18n.t.integrations.title), h('p', { class: 'hint', 'data-testid': 'integ-forbidden' }, i18n.t.integrations.forbidden));
    forbidden();
    i18n.onChange(forbidden);
    exposeForTests({ integrations: () => [], unknownDevices: () => [], integrationLoads: () => 0 });
    markReady();
    return;
  }

  const [sites, adapters] = await Promise.all([api.sites(), api.integrationAdapters()]);
  let types: DeviceTypeInfo[] | null = null;
  const q = new URLSearchParams(location.search).get('site') ?? '';
  let site = sites.some((s) => s.id === q) ? q : '';
  let integrations: PublicIntegration[] = [];
  let unknown: UnknownDeviceInfo[] = [];
  let listError: Text | null = null;
  let unknownError: Text | null = null;
  let message: Message = null;
  let adding: IntegrationForm | null = null;
  let dialog: Dialog | null = null;
  let loading = false;
  let loads = 0;
  let generation = 0;
  const busy = new Set<string>();

  /**
   * One site, or all of them: a user limited to several sites must name one per request
   * (server/auth/roles.ts scopeSite), so such a user's lists are asked for site by site.
   */
  async function scoped<T>(fetch: (site?: string) => Promise<T[]>): Promise<T[]> {
    if (site) return fetch(site);
    if (me.user.sites.length === 0) return fetch();
    return (await Promise.all(sites.map((s) => fetch(s.id)))).flat();
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    loading = true;
    render();
    const [list, heard] = await Promise.allSettled([mayManage ? scoped((s) => api.integrations(s)) : Promise.resolve([]), mayRegister ? scoped((s) => api.unknownDevices(s)) : Promise.resolve([])]);
    if (mine !== generation) return;
    loading = false;
    if (list.status === 'fulfilled') {
      integrations = list.value;
      listError = null;
    } else listError = failure(list.reason);
    if (heard.status === 'fulfilled') {
      unknown = heard.value;
      unknownError = null;
    } else unknownError = failure(heard.reason);
    loads++;
    render();
  }

  function say(kind: 'ok' | 'error', text: Text): void {
    message = { kind, text };
    render();
  }

  function openDialog(content: DialogContent): Dialog {
    dialog?.close();
    const d = new Dialog(i18n, content, () => {
      if (dialog === d) dialog = null;
    });
    dialog = d;
    d.open(document.body);
    return d;
  }

  /** A question with one button that does it; the answer replaces the question in the same dialog. */
  function confirmDialog(opts: { testid: string; title: Text; text: Text; confirm: Text; danger?: boolean; run(): Promise<void> }): void {
    let problem: Text | null = null;
    let working = false;
    const d = openDialog({
      testid: opts.testid,
      title: opts.title,
      body: (t) => [
        h('p', {}, opts.text(t)),
        problem ? h('p', { class: 'error', role: 'alert' }, problem(t)) : null,
        h(
          'div',
          { class: 'buttons' },
          h(
            'button',
            {
              class: opts.danger ? 'danger' : 'primary',
              disabled: working,
              'data-testid': `${opts.testid}-confirm`,
              onclick: async () => {
                working = true;
                d.render();
                try {
                  await opts.run();
                } catch (err) {
                  working = false;
                  problem = failure(err);
                  d.render();
                }
              },
            },
            opts.confirm(t),
          ),
          h('button', { 'data-testid': `${opts.testid}-cancel`, onclick: () => d.close() }, t.cancel),
        ),
      ],
    });
  }

  function replaceItem(next: PublicIntegration): void {
    integrations = integrations.map((i) => (i.id === next.id ? next : i));
  }

  const actions: IntegrationRowActions = {
    async setEnabled(i, enabled) {
      busy.add(i.id);
      render();
      try {
        replaceItem(await api.updateIntegration(i.id, { enabled }));
        message = { kind: 'ok', text: (t) => (enabled ? t.integrations.enabledNow(i.name) : t.integrations.disabledNow(i.name)) };
      } catch (err) {
        message = { kind: 'error', text: failure(err) };
      } finally {
        busy.delete(i.id);
      }
      render();
    },
    edit(i) {
      const adapter = adapters.find((a) => a.id === i.adapter);
      if (!adapter) return say('error', (t) => t.integrations.adapterGone(i.adapter));
      const form: IntegrationForm = new IntegrationForm({ api, i18n }, { kind: 'edit', adapter, integration: i }, {
        saved(next) {
          replaceItem(next);
          d.close();
          say('ok', (t) => t.integrations.savedNow(next.name));
        },
        cancel: () => d.close(),
      });
      const d = openDialog({ testid: 'integ-edit', title: (t) => t.integrations.editTitle(i.name), body: () => [form.render()] });
    },
    rotate(i) {
      confirmDialog({
        testid: 'integ-rotate',
        title: (t) => t.integrations.rotateTitle(i.name),
        text: (t) => t.integrations.rotateText,
        confirm: (t) => t.integrations.rotateConfirm,
        async run() {
          const answer = await api.rotateIntegrationToken(i.id);
          replaceItem(answer.integration);
          openDialog(tokenDialog(i18n, answer, 'rotated'));
          render();
        },
      });
    },
    remove(i) {
      confirmDialog({
        testid: 'integ-remove',
        title: (t) => t.integrations.removeTitle(i.name),
        text: (t) => t.integrations.removeText,
        confirm: (t) => t.integrations.removeConfirm,
        danger: true,
        async run() {
          try {
            await api.deleteIntegration(i.id);
          } catch (err) {
            // Gone already (another admin): what the list says next is what holds.
            if (!(err instanceof ApiError && err.code === 'STW_ERR_INTEGRATION_NOT_FOUND')) throw err;
          }
          dialog?.close();
          message = { kind: 'ok', text: (t) => t.integrations.removedNow(i.name) };
          await load();
        },
      });
    },
  };

  function startAdding(): void {
    if (adding) return;
    adding = new IntegrationForm({ api, i18n }, { kind: 'create', adapters, sites, site: site || sites[0]?.id || '' }, {
      created(answer) {
        adding = null;
        integrations = [...integrations.filter((i) => i.id !== answer.integration.id), answer.integration];
        if (answer.pushUrl !== null) {
          message = null;
          openDialog(tokenDialog(i18n, answer, 'created'));
        } else message = { kind: 'ok', text: (t) => t.integrations.connectorCreated(answer.integration.name) };
        render();
      },
      cancel() {
        adding = null;
        render();
      },
    });
    message = null;
    render();
    adding.el.querySelector<HTMLElement>('select, input')?.focus();
  }

  async function register(u: UnknownDeviceInfo): Promise<void> {
    types ??= await loadDeviceTypes(api);
    const form = new RegisterForm({ api, i18n }, u, types, sites, {
      registered(id) {
        message = { kind: 'ok', text: (t) => t.integrations.registeredNow(id) };
        // It matches from now on: the unknown list drops it.
        void load();
      },
      rerender: () => d.render(),
      close: () => d.close(),
    });
    const d = openDialog({ testid: 'register-dialog', title: (t) => form.title(t), body: (t) => form.body(t), sticky: () => form.sticky });
    await form.load();
  }

  function setSite(next: string): void {
    site = next;
    const search = site ? `?site=${encodeURIComponent(site)}` : '';
    history.replaceState(null, '', `/integrations${search}`);
    void load();
  }

  function renderToolbar(t: Strings): void {
    const T = t.integrations;
    const picker =
      sites.length > 1
        ? h('select', { 'data-testid': 'integ-site-filter', 'aria-label': t.site }, h('option', { value: '', selected: site === '' }, T.allSites), ...sites.map((s) => h('option', { value: s.id, selected: s.id === site }, i18n.pick(s.name))))
        : null;
    picker?.addEventListener('change', () => setSite(picker.value));
    replace(
      toolbar,
      picker ? h('label', { class: 'site-filter' }, t.site, picker) : null,
      h('button', { 'data-testid': 'integ-refresh', disabled: loading, onclick: () => void load() }, T.refresh),
      mayManage ? h('button', { class: 'primary', 'data-testid': 'integ-add', disabled: adding !== null, onclick: startAdding }, T.add) : null,
    );
  }

  function renderList(t: Strings): void {
    const T = t.integrations;
    const shown = integrations.filter((i) => !site || i.site === site);
    const content = listError
      ? h('p', { class: 'error', role: 'alert' }, listError(t))
      : shown.length === 0
        ? h('p', { class: 'empty', 'data-testid': 'integ-empty' }, loading && loads === 0 ? t.loading : T.empty)
        : integrationTable({ i18n, adapters, sites, now: Date.now, busy: (id) => busy.has(id) }, shown, actions);
    replace(listSection, h('h2', {}, T.listTitle), adding ? h('div', { class: 'integ-add-panel' }, h('h3', {}, T.add), adding.render()) : null, content);
  }

  function renderUnknown(t: Strings): void {
    const T = t.integrations;
    const names = new Map(integrations.map((i) => [i.id, i.name]));
    const content = unknownError
      ? h('p', { class: 'error', role: 'alert' }, unknownError(t))
      : unknown.length === 0
        ? h('p', { class: 'empty', 'data-testid': 'unknown-empty' }, loading && loads === 0 ? t.loading : T.unknownEmpty)
        : unknownTable({ i18n, adapters, sites, integrationName: (id) => names.get(id) ?? null, now: Date.now }, unknown, (u) => void register(u));
    replace(unknownSection, h('h2', {}, T.unknownTitle), h('p', { class: 'hint' }, T.unknownHint), content);
  }

  function render(): void {
    const t = i18n.t;
    replace(intro, h('h1', {}, t.integrations.title), h('p', { class: 'hint' }, mayManage ? t.integrations.hint : t.integrations.hintTechnician));
    renderToolbar(t);
    status.className = message?.kind === 'error' ? 'integ-status error' : 'integ-status ok';
    status.textContent = message ? message.text(t) : '';
    if (mayManage) renderList(t);
    if (mayRegister) renderUnknown(t);
  }

  i18n.onChange(render);
  exposeForTests({ integrations: () => integrations, unknownDevices: () => unknown, integrationLoads: () => loads });
  await load();
  markReady();
}
