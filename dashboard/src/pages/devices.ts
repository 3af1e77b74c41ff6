/**
 * The technician's device page (/devices, issue 8): every registered device of a site with its
 * health — status, battery, signal, last seen, last rejected message — searchable by id, label
 * or external id and filtered to the offline, the low on battery, the never seen or those with
 * rejected messages. A device opens beside the list with its details, firmware and recent
 * messages, and a link to it on the twin. Roles with devices:write register a device (its
 * secret shown once) or import a CSV of them. Site, search, filter and the open device live in
 * the address (?site=&q=&filter=&device=), so a view can be linked. State is re-read every
 * 15 s while the page is visible.
 */
import type { ImportAnswer } from '../../../protocol/devices.ts';
import type { Api, DeviceTypeInfo, Me, SiteSummary } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import { DeviceDetail } from '../panels/device-detail.ts';
import { DeviceImportForm } from '../panels/device-import.ts';
import { DeviceRegisterForm } from '../panels/device-register.ts';
import { DEVICE_FILTERS, deviceRows, filterCounts, matchesFilter, matchesSearch, type DeviceFilter, type DeviceRow } from '../panels/device-rows.ts';
import { deviceTable } from '../panels/device-table.ts';
import { Dialog, type DialogContent } from '../panels/integration-dialog.ts';
import { FALLBACK_TZ } from '../panels/integration-table.ts';
import { loadDeviceTypes } from '../panels/integration-unknown.ts';
import { pageHeader } from '../panels/page-header.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';
import type { SiteModel } from '../twin/types.ts';

const SITE_KEY = 'storetwin.site';
const REFRESH_MS = 15_000;
type Text = (t: Strings) => string;

export async function renderDevices(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const mayRead = me.permissions.includes('devices:read') && me.permissions.includes('state:read');
  const mayWrite = me.permissions.includes('devices:write');
  const header = pageHeader({ api, i18n }, me, { href: '/devices', label: (t) => t.devicePage.nav, toLogin });
  const intro = h('div', { class: 'integ-intro' });
  const toolbar = h('div', { class: 'integ-toolbar dev-toolbar' });
  const chips = h('div', { class: 'dev-chips', role: 'group' });
  const status = h('p', { class: 'integ-status', role: 'status', 'data-testid': 'devices-status' });
  const list = h('section', { class: 'dev-list', 'data-testid': 'device-list' });
  const content = h('div', { class: 'dev-content' }, list);
  const main = h('main', { class: 'integ-main dev-main' }, intro, toolbar, chips, status, content);
  replace(root, h('div', { class: 'integrations devices-page' }, header.el, main));

  const params = new URLSearchParams(location.search);
  const sites: SiteSummary[] = mayRead ? await api.sites() : [];
  if (!mayRead || sites.length === 0) {
    const say = () => replace(intro, h('h1', {}, i18n.t.devicePage.title), h('p', { class: 'hint', 'data-testid': 'devices-forbidden' }, mayRead ? i18n.t.devicePage.noSites : i18n.t.devicePage.forbidden));
    say();
    i18n.onChange(say);
    exposeForTests({ deviceRows: () => [], deviceLoads: () => 0 });
    markReady();
    return;
  }

  const types: DeviceTypeInfo[] = await loadDeviceTypes(api);
  const asked = params.get('site') ?? localStorage.getItem(SITE_KEY);
  let site: SiteSummary = sites.find((s) => s.id === asked) ?? sites[0]!;
  let search = params.get('q') ?? '';
  let filter: DeviceFilter = DEVICE_FILTERS.includes(params.get('filter') as DeviceFilter) ? (params.get('filter') as DeviceFilter) : 'all';
  let selected: string | null = params.get('device');
  let model: SiteModel | null = null;
  let rows: DeviceRow[] = [];
  let loadError: Text | null = null;
  let message: { kind: 'ok' | 'error'; text: Text } | null = null;
  let loading = false;
  let loads = 0;
  let generation = 0;
  let dialog: Dialog | null = null;

  const detail = new DeviceDetail({
    api,
    i18n,
    get site() {
      return site.id;
    },
    get tz() {
      return site.timezone || FALLBACK_TZ;
    },
    now: Date.now,
    zoneName: (zone) => zoneName(zone),
    close: () => select(null),
  });

  function zoneName(zone: string): string | null {
    for (const f of model?.floors ?? []) for (const z of f.zones) if (z.id === zone) return i18n.pick(z.name);
    return null;
  }

  function keepInAddress(): void {
    const q = new URLSearchParams({ site: site.id });
    if (search) q.set('q', search);
    if (filter !== 'all') q.set('filter', filter);
    if (selected) q.set('device', selected);
    history.replaceState(null, '', `/devices?${q.toString()}`);
  }

  async function load(opts: { model?: boolean } = {}): Promise<void> {
    const mine = ++generation;
    const forSite = site.id;
    loading = true;
    renderToolbar(i18n.t);
    try {
      const [devices, state, m] = await Promise.all([api.siteDevices(forSite), api.state(forSite), opts.model || !model ? api.site(forSite) : Promise.resolve(model)]);
      if (mine !== generation) return;
      model = m;
      rows = deviceRows(devices, state.devices, types, Date.now());
      loadError = null;
    } catch (err) {
      if (mine !== generation) return;
      const text = err instanceof Error ? err.message : String(err);
      loadError = (t) => t.failed(text);
    }
    loading = false;
    loads++;
    render();
  }

  function select(id: string | null): void {
    selected = id;
    keepInAddress();
    render();
    // On a phone the detail sits above the list: focusing it brings it into view.
    if (id) detail.el.focus();
  }

  function setSite(id: string): void {
    const next = sites.find((s) => s.id === id);
    if (!next || next.id === site.id) return;
    site = next;
    localStorage.setItem(SITE_KEY, site.id);
    selected = null;
    model = null;
    rows = [];
    message = null;
    keepInAddress();
    render();
    void load({ model: true });
  }

  function openDialog(content: DialogContent, onClose?: () => void): Dialog {
    dialog?.close();
    const d = new Dialog(i18n, content, () => {
      onClose?.();
      if (dialog === d) dialog = null;
    });
    dialog = d;
    d.open(document.body);
    return d;
  }

  function openRegister(): void {
    if (!model) return;
    const siteRef = { id: site.id, name: i18n.pick(site.name) || site.id };
    const form: DeviceRegisterForm = new DeviceRegisterForm({ api, i18n }, siteRef, model, types, {
      registered(id) {
        message = { kind: 'ok', text: (t) => t.devicePage.registered(id) };
        selected = id;
        keepInAddress();
        void load();
      },
      rerender: () => d.render(),
      close: () => d.close(),
    });
    const d = openDialog({ testid: 'register-dialog', title: (t) => form.title(t), body: (t) => form.body(t), sticky: () => form.sticky });
  }

  function openImport(): void {
    const siteRef = { id: site.id, name: i18n.pick(site.name) || site.id };
    const form: DeviceImportForm = new DeviceImportForm({ api, i18n }, siteRef, {
      imported(answer: ImportAnswer) {
        message = { kind: 'ok', text: (t) => t.devicePage.imported(answer.devices.length) };
        void load();
      },
      rerender: () => d.render(),
      close: () => d.close(),
    });
    const d = openDialog({ testid: 'import-dialog', title: (t) => form.title(t), body: (t) => form.body(t), sticky: () => form.sticky }, () => form.dispose());
  }

  const searchInput = h('input', { type: 'search', class: 'dev-search', 'data-testid': 'device-search', autocomplete: 'off', spellcheck: 'false' });
  searchInput.value = search;
  searchInput.addEventListener('input', () => {
    search = searchInput.value;
    keepInAddress();
    renderChips(i18n.t);
    renderList(i18n.t);
  });

  function renderToolbar(t: Strings): void {
    const T = t.devicePage;
    const picker = h('select', { 'data-testid': 'device-site', 'aria-label': t.site }, ...sites.map((s) => h('option', { value: s.id, selected: s.id === site.id }, i18n.pick(s.name) || s.id)));
    picker.addEventListener('change', () => setSite(picker.value));
    searchInput.placeholder = T.searchPlaceholder;
    searchInput.setAttribute('aria-label', T.search);
    replace(
      toolbar,
      h('label', { class: 'site-filter' }, t.site, picker),
      h('label', { class: 'site-filter dev-search-label' }, T.search, searchInput),
      h('button', { 'data-testid': 'device-refresh', disabled: loading, onclick: () => void load() }, T.refresh),
      mayWrite ? h('button', { class: 'primary', 'data-testid': 'device-register', disabled: model === null, onclick: openRegister }, T.register) : null,
      mayWrite ? h('button', { 'data-testid': 'device-import', onclick: openImport }, T.importCsv) : null,
    );
  }

  function renderChips(t: Strings): void {
    const counts = filterCounts(rows, search);
    replace(
      chips,
      ...DEVICE_FILTERS.map((f) =>
        h(
          'button',
          {
            class: `dev-chip${filter === f ? ' on' : ''}${f !== 'all' && counts[f] > 0 ? ' some' : ''}`,
            'aria-pressed': String(filter === f),
            'data-filter': f,
            'data-testid': `filter-${f}`,
            onclick: () => {
              filter = f;
              keepInAddress();
              renderChips(i18n.t);
              renderList(i18n.t);
            },
          },
          t.devicePage.filters[f],
          h('span', { class: 'count' }, String(counts[f])),
        ),
      ),
    );
  }

  function renderList(t: Strings): void {
    const T = t.devicePage;
    const shown = rows.filter((r) => matchesSearch(r, search) && matchesFilter(r, filter));
    const tz = site.timezone || FALLBACK_TZ;
    const body = loadError
      ? h('p', { class: 'error', role: 'alert' }, loadError(t))
      : rows.length === 0
        ? h('p', { class: 'empty', 'data-testid': 'devices-empty' }, loads === 0 ? t.loading : T.noDevices)
        : shown.length === 0
          ? h('p', { class: 'empty', 'data-testid': 'devices-empty' }, T.empty)
          : deviceTable({ i18n, site: site.id, tz, now: Date.now, zoneName, selected, select: (id) => select(id) }, shown);
    replace(list, h('p', { class: 'dev-count', 'data-testid': 'device-count' }, T.shown(shown.length, rows.length)), body);
    const row = selected ? rows.find((r) => r.device.id === selected) : undefined;
    if (row) {
      detail.show(row);
      if (detail.el.parentElement !== content) content.append(detail.el);
    } else detail.el.remove();
    content.classList.toggle('with-detail', row !== undefined);
  }

  function render(): void {
    const t = i18n.t;
    replace(intro, h('h1', {}, t.devicePage.title), h('p', { class: 'hint' }, t.devicePage.hint));
    renderToolbar(t);
    renderChips(t);
    status.className = message?.kind === 'error' ? 'integ-status error' : 'integ-status ok';
    status.textContent = message ? message.text(t) : '';
    renderList(t);
    detail.render();
  }

  i18n.onChange(render);
  exposeForTests({
    deviceRows: () => rows.map((r) => ({ id: r.device.id, status: r.status, battery: r.state?.battery ?? null, batteryPct: r.state?.batteryPct ?? null })),
    deviceLoads: () => loads,
    selectedDevice: () => detail.deviceId,
  });
  keepInAddress();
  render();
  await load({ model: true });
  window.setInterval(() => {
    if (!document.hidden && !loading) void load();
  }, REFRESH_MS);
  markReady();
}
