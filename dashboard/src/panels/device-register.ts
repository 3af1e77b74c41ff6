/**
 * "Register a device" on the device page, as a dialog's body: id (suggested from the type's
 * prefix and the zone until typed by hand, as `storetwin device add` does), type from the
 * catalogue, zone of the page's site, label, and the external ids for devices that report
 * through a platform. The answer's secret is shown once, with a Copy button and a clear
 * warning; until Done the dialog does not close on Escape.
 */
import { EXTERNAL_ID_COLUMNS } from '../../../protocol/devices.ts';
import type { Api, DeviceTypeInfo } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import type { SiteModel } from '../twin/types.ts';
import { CopyField } from './integration-dialog.ts';

/** Device ids: server/sites/model.ts ID_PATTERN. */
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
type Text = (t: Strings) => string;

export interface RegisterEvents {
  registered(id: string): void;
  rerender(): void;
  close(): void;
}

export class DeviceRegisterForm {
  private readonly form = h('form', { class: 'register-form', novalidate: true, 'data-testid': 'register-form' });
  private readonly idInput = h('input', { name: 'id', maxlength: 63, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'register-id' });
  private readonly typeSelect = h('select', { name: 'type', 'data-testid': 'register-type' });
  private readonly zoneSelect = h('select', { name: 'zone', 'data-testid': 'register-zone' });
  private readonly labelInput = h('input', { name: 'label', maxlength: 80, autocomplete: 'off', 'data-testid': 'register-label' });
  private readonly externalInputs = new Map(EXTERNAL_ID_COLUMNS.map((k) => [k, h('input', { name: k, maxlength: 128, autocomplete: 'off', spellcheck: 'false', 'data-testid': `register-ext-${k}` })]));
  private readonly problemEl = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'register-problem' });
  private problem: Text | null = null;
  private busy = false;
  private idTouched = false;
  private done: { id: string; secret: CopyField } | null = null;

  constructor(
    private readonly ctx: { api: Api; i18n: I18n },
    private readonly site: { id: string; name: string },
    private readonly model: SiteModel,
    private readonly types: readonly DeviceTypeInfo[],
    private readonly events: RegisterEvents,
  ) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    this.typeSelect.append(...types.map((x) => h('option', { value: x.id }, x.id)));
    this.idInput.addEventListener('input', () => {
      this.idTouched = this.idInput.value !== '';
      this.clearProblem();
    });
    const suggest = () => {
      const prefix = types.find((x) => x.id === this.typeSelect.value)?.idPrefix;
      if (!this.idTouched && prefix && this.zoneSelect.value) this.idInput.value = `${prefix}-${this.zoneSelect.value}`;
      this.clearProblem();
    };
    this.typeSelect.addEventListener('change', suggest);
    this.zoneSelect.addEventListener('change', suggest);
  }

  /** While the secret is on screen only Done or × close it. */
  get sticky(): boolean {
    return this.done !== null;
  }

  title(t: Strings): string {
    return this.done ? t.devicePage.registered(this.done.id) : t.devicePage.registerTitle;
  }

  private clearProblem(): void {
    this.problem = null;
    this.problemEl.hidden = true;
  }

  body(t: Strings): HTMLElement[] {
    const T = t.devicePage;
    const i18n = this.ctx.i18n;
    if (this.done) {
      return [
        h(
          'div',
          { class: 'token-once', 'data-testid': 'register-done' },
          h('p', { class: 'warning', 'data-testid': 'secret-once' }, T.secretOnce),
          this.done.secret.render(T.secret),
          h('p', { class: 'hint' }, T.secretNote(this.site.id, this.done.id)),
          h('div', { class: 'buttons' }, h('button', { class: 'primary', 'data-testid': 'register-finish', onclick: () => this.events.close() }, t.done)),
        ),
      ];
    }
    for (const option of Array.from(this.typeSelect.options)) {
      const type = this.types.find((x) => x.id === option.value);
      option.textContent = type ? `${i18n.pick(type.label)} (${type.id})` : option.value;
    }
    const zone = this.zoneSelect.value;
    replace(
      this.zoneSelect,
      h('option', { value: '' }, T.chooseZone),
      ...this.model.floors.map((f) => h('optgroup', { label: i18n.pick(f.name) }, ...f.zones.map((z) => h('option', { value: z.id }, `${i18n.pick(z.name)} (${z.id})`)))),
    );
    this.zoneSelect.value = zone;
    this.labelInput.placeholder = T.labelOptional;
    this.problemEl.textContent = this.problem?.(t) ?? '';
    this.problemEl.hidden = this.problem === null;
    replace(
      this.form,
      h('div', { class: 'fixed' }, h('span', { class: 'label' }, T.site), h('strong', { 'data-testid': 'register-site' }, this.site.name)),
      h('label', {}, T.type, this.typeSelect),
      h('label', {}, T.zone, this.zoneSelect),
      h('label', {}, T.deviceId, this.idInput, h('span', { class: 'help' }, T.deviceIdHint)),
      h('label', {}, T.label, this.labelInput),
      h(
        'fieldset',
        { class: 'dev-ext-ids' },
        h('legend', {}, T.externalIds),
        h('p', { class: 'help' }, T.externalIdsHint),
        h('div', { class: 'dev-ext-grid' }, ...EXTERNAL_ID_COLUMNS.map((k) => h('label', {}, k, this.externalInputs.get(k)!))),
      ),
      this.problemEl,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', disabled: this.busy, 'data-testid': 'register-submit' }, T.submit), h('button', { type: 'button', onclick: () => this.events.close() }, t.cancel)),
    );
    return [this.form];
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const id = this.idInput.value.trim();
    const label = this.labelInput.value.trim();
    this.problem = !ID_PATTERN.test(id) ? (t) => t.devicePage.deviceIdInvalid : this.zoneSelect.value === '' ? (t) => t.devicePage.zoneRequired : null;
    if (this.problem) return this.events.rerender();
    const externalIds = Object.fromEntries([...this.externalInputs].map(([k, input]) => [k, input.value.trim()]).filter(([, v]) => v !== ''));
    this.busy = true;
    this.events.rerender();
    try {
      const { device, secret } = await this.ctx.api.registerDevice({ id, site: this.site.id, type: this.typeSelect.value, zone: this.zoneSelect.value, ...(label ? { label } : {}), ...(Object.keys(externalIds).length ? { externalIds } : {}) });
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
