/**
 * Unknown devices (admins and technicians, `devices:write`): what integrations heard from
 * devices nobody registered — the platform's ids, what it said about the device, first and
 * last time, how many messages — each with "Register", which opens a form prefilled from the
 * row: a device id made from its type and the ids, the integration's site (its messages match
 * devices of that site only), a type (suggested by what the platform delivers) and a zone of
 * that site, its platform ids as external ids. The answer's secret is shown once.
 */
import type { AdapterInfo, Api, DeviceTypeInfo, SiteSummary, UnknownDeviceInfo } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import type { SiteModel } from '../twin/types.ts';
import { adapterLabel, siteLabel, siteTimeZone, when } from './integration-table.ts';
import { CopyField } from './integration-dialog.ts';

/** Device ids: server/sites/model.ts ID_PATTERN. */
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LABEL_MAX = 80;
/** If GET /api/device-types cannot be read: the catalogue's types as of writing. */
const FALLBACK_TYPES: DeviceTypeInfo[] = [
  { id: 'door-sensor', label: { en: 'door-sensor', 'zh-CN': 'door-sensor' }, idPrefix: 'door', capabilities: ['door'], events: [], formats: [], heartbeatIntervalS: 0, placement: [] },
  { id: 'camera', label: { en: 'camera', 'zh-CN': 'camera' }, idPrefix: 'cam', capabilities: ['motion'], events: [], formats: [], heartbeatIntervalS: 0, placement: [] },
  { id: 'footfall-counter', label: { en: 'footfall-counter', 'zh-CN': 'footfall-counter' }, idPrefix: 'counter', capabilities: ['count'], events: [], formats: [], heartbeatIntervalS: 0, placement: [] },
];
/**
 * Only a suggestion for the type select: what a device heard under this kind of id usually is
 * (carrier platforms carry NB-IoT door magnets, Axis and Hikvision push counts, Frigate names
 * cameras). The technician picks the type; nothing depends on this guess.
 */
const LIKELY_CAPABILITY: Record<string, string> = { imei: 'door', ctwing: 'door', onenet: 'door', hikvision: 'count', axis: 'count', frigate: 'motion' };

export async function loadDeviceTypes(api: Api): Promise<DeviceTypeInfo[]> {
  try {
    const types = await api.deviceTypes();
    return types.length > 0 ? types : FALLBACK_TYPES;
  } catch {
    return FALLBACK_TYPES;
  }
}

/** The id the form suggests: the type's prefix and the end of the most readable platform id. */
export function suggestId(prefix: string, ids: Readonly<Record<string, string>>): string {
  const raw = ids.imei ?? ids.frigate ?? ids.axis ?? ids.hikvision ?? Object.values(ids)[0] ?? '';
  let tail = raw.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  // A 15-digit IMEI, a 32-hex CTWing id, a MAC: the last six characters tell them apart.
  if (tail.length > 12) tail = tail.replace(/-/g, '').slice(-6);
  const id = `${prefix}-${tail}`.slice(0, 63).replace(/-+$/, '');
  return ID_PATTERN.test(id) ? id : prefix;
}

function pairs(values: Readonly<Record<string, string>> | null, cls: string, testid: string): HTMLElement {
  return h('dl', { class: `pairs ${cls}`, 'data-testid': testid }, ...Object.entries(values ?? {}).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))]));
}

export interface UnknownTableCtx {
  i18n: I18n;
  adapters: readonly AdapterInfo[];
  sites: readonly SiteSummary[];
  /** Integration names by id (admins); technicians see the adapter only. */
  integrationName(id: string): string | null;
  now(): number;
}

export function unknownTable(ctx: UnknownTableCtx, items: readonly UnknownDeviceInfo[], register: (u: UnknownDeviceInfo) => void): HTMLTableElement {
  const { i18n } = ctx;
  const t = i18n.t;
  const col = t.integrations.unknownCol;
  return h(
    'table',
    { class: 'integ-table unknown-table', 'data-testid': 'unknown-table' },
    h('thead', {}, h('tr', {}, ...[col.ids, col.heardBy, col.site, col.said, col.firstSeen, col.lastSeen, col.messages, ''].map((label) => h('th', { scope: 'col' }, label)))),
    h(
      'tbody',
      {},
      ...items.map((u) => {
        const tz = siteTimeZone(ctx.sites, u.site);
        const name = ctx.integrationName(u.integration);
        return h(
          'tr',
          { 'data-integration': u.integration, 'data-ids': Object.entries(u.ids).map(([k, v]) => `${k}=${v}`).join(';') },
          h('th', { scope: 'row', 'data-label': col.ids }, pairs(u.ids, 'ids', 'unknown-ids')),
          h('td', { 'data-label': col.heardBy }, h('div', {}, name ? h('strong', {}, name) : null, h('span', { class: 'adapter' }, adapterLabel(i18n, ctx.adapters, u.adapter)))),
          h('td', { 'data-label': col.site }, siteLabel(i18n, ctx.sites, u.site)),
          h('td', { class: u.describe ? '' : 'none', 'data-label': col.said }, u.describe ? pairs(u.describe, 'said', 'unknown-said') : '—'),
          h('td', { 'data-label': col.firstSeen }, when(i18n, u.firstSeen, tz, ctx.now())),
          h('td', { 'data-label': col.lastSeen }, when(i18n, u.lastSeen, tz, ctx.now())),
          h('td', { class: 'num', 'data-label': col.messages }, String(u.messages)),
          h('td', { class: 'row-actions', 'data-label': '' }, h('button', { class: 'primary', 'data-testid': 'unknown-register', onclick: () => register(u) }, t.integrations.register)),
        );
      }),
    ),
  );
}

type Text = (t: Strings) => string;

/**
 * The register form, as a dialog's body: prefilled from the unknown device; after the answer,
 * the device's secret once. `site()` loads the site model for the zone select.
 */
export class RegisterForm {
  private readonly form: HTMLFormElement;
  private readonly idInput = h('input', { name: 'id', maxlength: 63, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'register-id' });
  private readonly typeSelect = h('select', { name: 'type', 'data-testid': 'register-type' });
  private readonly zoneSelect = h('select', { name: 'zone', 'data-testid': 'register-zone' });
  private readonly labelInput = h('input', { name: 'label', maxlength: LABEL_MAX, autocomplete: 'off', 'data-testid': 'register-label' });
  private model: SiteModel | null = null;
  private problem: Text | null = null;
  /** Made once: a correction clears it without re-rendering the fields being typed in. */
  private readonly problemEl = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'register-problem' });
  private busy = false;
  /** The id was typed by hand: a type change no longer rewrites it. */
  private idTouched = false;
  private done: { id: string; secret: CopyField } | null = null;

  constructor(
    private readonly ctx: { api: Api; i18n: I18n },
    private readonly unknown: UnknownDeviceInfo,
    private readonly types: readonly DeviceTypeInfo[],
    private readonly sites: readonly SiteSummary[],
    private readonly events: { registered(id: string): void; rerender(): void; close(): void },
  ) {
    this.form = h('form', { class: 'register-form', novalidate: true, 'data-testid': 'register-form' });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    const likely = Object.keys(unknown.ids)
      .map((k) => LIKELY_CAPABILITY[k])
      .find((c) => c !== undefined);
    const type = types.find((x) => likely !== undefined && x.capabilities.includes(likely as DeviceTypeInfo['capabilities'][number])) ?? types[0];
    this.typeSelect.append(...types.map((x) => h('option', { value: x.id }, x.id)));
    if (type) this.typeSelect.value = type.id;
    this.idInput.value = suggestId(type?.idPrefix ?? 'device', unknown.ids);
    this.idInput.addEventListener('input', () => {
      this.idTouched = true;
      this.clearProblem();
    });
    this.zoneSelect.addEventListener('change', () => this.clearProblem());
    this.typeSelect.addEventListener('change', () => {
      const prefix = types.find((x) => x.id === this.typeSelect.value)?.idPrefix;
      if (!this.idTouched && prefix) this.idInput.value = suggestId(prefix, unknown.ids);
    });
  }

  private clearProblem(): void {
    this.problem = null;
    this.problemEl.hidden = true;
  }

  /** Loads the zones of the device's site. */
  async load(): Promise<void> {
    try {
      this.model = await this.ctx.api.site(this.unknown.site);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.problem = (t) => t.failed(message);
    }
    this.events.rerender();
  }

  /** Secret not copied yet: only "Done" closes. */
  get sticky(): boolean {
    return this.done !== null;
  }

  title(t: Strings): string {
    return this.done ? t.integrations.registered(this.done.id) : t.integrations.registerTitle;
  }

  body(t: Strings): HTMLElement[] {
    const T = t.integrations;
    if (this.done) {
      return [
        h(
          'div',
          { class: 'token-once', 'data-testid': 'register-done' },
          h('p', { class: 'warning' }, T.secretOnce),
          this.done.secret.render(T.secret),
          h('p', { class: 'hint' }, T.secretNote),
          h('div', { class: 'buttons' }, h('button', { class: 'primary', 'data-testid': 'register-finish', onclick: () => this.events.close() }, t.done)),
        ),
      ];
    }
    const i18n = this.ctx.i18n;
    for (const option of Array.from(this.typeSelect.options)) {
      const type = this.types.find((x) => x.id === option.value);
      option.textContent = type ? `${i18n.pick(type.label)} (${type.id})` : option.value;
    }
    const zone = this.zoneSelect.value;
    replace(
      this.zoneSelect,
      h('option', { value: '' }, this.model ? T.chooseZone : t.loading),
      ...(this.model?.floors ?? []).map((f) => h('optgroup', { label: i18n.pick(f.name) }, ...f.zones.map((z) => h('option', { value: z.id }, `${i18n.pick(z.name)} (${z.id})`)))),
    );
    this.zoneSelect.value = zone;
    this.labelInput.placeholder = T.labelOptional;
    this.problemEl.textContent = this.problem?.(t) ?? '';
    this.problemEl.hidden = this.problem === null;
    replace(
      this.form,
      h('label', {}, T.deviceId, this.idInput, h('span', { class: 'help' }, T.deviceIdHint)),
      h('div', { class: 'fixed' }, h('span', { class: 'label' }, T.site), h('strong', { 'data-testid': 'register-site' }, siteLabel(i18n, this.sites, this.unknown.site)), h('span', { class: 'help' }, T.siteFixed)),
      h('label', {}, T.type, this.typeSelect),
      h('label', {}, T.zone, this.zoneSelect),
      h('label', {}, T.label, this.labelInput),
      h('div', { class: 'fixed' }, h('span', { class: 'label' }, T.externalIdsWill), pairs(this.unknown.ids, 'ids', 'register-ids')),
      this.problemEl,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', disabled: this.busy, 'data-testid': 'register-submit' }, T.register), h('button', { type: 'button', onclick: () => this.events.close() }, t.cancel)),
    );
    return [this.form];
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const id = this.idInput.value.trim();
    const label = this.labelInput.value.trim();
    this.problem = !ID_PATTERN.test(id) ? (t) => t.integrations.deviceIdInvalid : this.zoneSelect.value === '' ? (t) => t.integrations.zoneRequired : null;
    if (this.problem) return this.events.rerender();
    this.busy = true;
    this.events.rerender();
    try {
      const { device, secret } = await this.ctx.api.registerDevice({ id, site: this.unknown.site, type: this.typeSelect.value, zone: this.zoneSelect.value, externalIds: { ...this.unknown.ids }, ...(label ? { label } : {}) });
      this.done = { id: device.id, secret: new CopyField(this.ctx.i18n, secret, 'register-secret') };
      this.events.registered(device.id);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.problem = (t) => t.failed(message);
    } finally {
      this.busy = false;
    }
    this.events.rerender();
  }
}
