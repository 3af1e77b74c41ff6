/**
 * Creating an integration (adapter, site, name, the adapter's settings) and editing one (name,
 * settings). The adapter's choice says how it delivers — the platform pushes to a URL, or
 * StoreTwin connects out — and which external ids its devices are registered with. Settings
 * are checked here first (integration-settings.ts); what the server still refuses
 * (400 STW_ERR_INTEGRATION_SETTINGS_INVALID with its issues) is listed above the buttons and
 * marked beside each field.
 */
import { ApiError, type AdapterInfo, type Api, type IntegrationWithToken, type PublicIntegration, type SiteSummary } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import { issuePath, issuesOf, SettingsForm, type Issue, type JsonSchema } from './integration-settings.ts';

const NAME_MAX = 80;

type Text = (t: Strings) => string;

export type IntegrationFormMode = { kind: 'create'; adapters: readonly AdapterInfo[]; sites: readonly SiteSummary[]; site: string } | { kind: 'edit'; adapter: AdapterInfo; integration: PublicIntegration };

export interface IntegrationFormEvents {
  created?(answer: IntegrationWithToken): void;
  saved?(integration: PublicIntegration): void;
  cancel(): void;
}

export class IntegrationForm {
  readonly el: HTMLFormElement;
  private readonly adapterSelect = h('select', { name: 'adapter', 'data-testid': 'integ-adapter' });
  private readonly siteSelect = h('select', { name: 'site', 'data-testid': 'integ-site' });
  private readonly nameInput = h('input', { name: 'name', maxlength: NAME_MAX, autocomplete: 'off', 'data-testid': 'integ-name-input' });
  /** One settings form per adapter, so switching back and forth keeps what was typed. */
  private readonly settings = new Map<string, SettingsForm>();
  private problem: Text | null = null;
  private issues: Issue[] = [];
  private busy = false;

  constructor(
    private readonly ctx: { api: Api; i18n: I18n },
    private readonly mode: IntegrationFormMode,
    private readonly events: IntegrationFormEvents,
  ) {
    this.el = h('form', { class: `integ-form ${mode.kind}`, novalidate: true, 'data-testid': mode.kind === 'create' ? 'integ-create-form' : 'integ-edit-form' });
    this.el.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    if (mode.kind === 'create') {
      this.adapterSelect.addEventListener('change', () => this.render());
      this.siteSelect.addEventListener('change', () => this.render());
    } else {
      this.nameInput.value = mode.integration.name;
    }
  }

  private adapter(): AdapterInfo | undefined {
    if (this.mode.kind === 'edit') return this.mode.adapter;
    return this.mode.adapters.find((a) => a.id === this.adapterSelect.value) ?? this.mode.adapters[0];
  }

  private settingsOf(adapter: AdapterInfo): SettingsForm {
    let form = this.settings.get(adapter.id);
    if (!form) {
      const initial = this.mode.kind === 'edit' ? this.mode.integration.settings : null;
      form = new SettingsForm(adapter.settingsSchema as JsonSchema, adapter.secretSettings, initial, this.mode.kind === 'edit' ? 'edit-setting' : 'setting');
      this.settings.set(adapter.id, form);
    }
    return form;
  }

  render(): HTMLFormElement {
    const { i18n } = this.ctx;
    const t = i18n.t;
    const T = t.integrations;
    const mode = this.mode;
    if (mode.kind === 'create') {
      const adapterValue = this.adapterSelect.value || mode.adapters[0]?.id || '';
      replace(this.adapterSelect, ...mode.adapters.map((a) => h('option', { value: a.id }, i18n.pick(a.label))));
      this.adapterSelect.value = adapterValue;
      const siteValue = this.siteSelect.value || mode.site || mode.sites[0]?.id || '';
      replace(this.siteSelect, ...mode.sites.map((s) => h('option', { value: s.id }, i18n.pick(s.name))));
      this.siteSelect.value = siteValue;
    }
    const adapter = this.adapter();
    if (!adapter) {
      replace(this.el, h('p', { class: 'hint' }, T.noAdapters));
      return this.el;
    }
    // The server's default name: the adapter's English label and the site.
    this.nameInput.placeholder = mode.kind === 'create' ? T.nameDefault(`${adapter.label.en} (${this.siteSelect.value})`) : '';
    const settings = this.settingsOf(adapter);
    replace(
      this.el,
      mode.kind === 'create'
        ? h(
            'div',
            { class: 'integ-form-head' },
            h('label', {}, T.adapter, this.adapterSelect),
            h('label', {}, T.site, this.siteSelect),
            h('label', {}, T.name, this.nameInput),
          )
        : h('label', { class: 'integ-form-name' }, T.name, this.nameInput),
      h(
        'p',
        { class: `delivery delivery-${adapter.delivery}`, 'data-testid': 'integ-delivery' },
        h('span', { class: `chip delivery-${adapter.delivery}` }, T.deliveryShort[adapter.delivery]),
        ' ',
        T.delivery[adapter.delivery],
        ' ',
        h('span', { class: 'ids' }, T.externalIds(adapter.externalIdKeys.join(', '))),
      ),
      h('fieldset', { class: 'integ-settings-set' }, h('legend', {}, T.settings), settings.render(t)),
      this.summary(t),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary', disabled: this.busy, 'data-testid': mode.kind === 'create' ? 'integ-create' : 'integ-save' }, mode.kind === 'create' ? T.create : T.save),
        h('button', { type: 'button', 'data-testid': mode.kind === 'create' ? 'integ-create-cancel' : 'integ-edit-cancel', onclick: () => this.events.cancel() }, t.cancel),
      ),
    );
    return this.el;
  }

  private summary(t: Strings): HTMLElement | null {
    if (!this.problem && this.issues.length === 0) return null;
    return h(
      'div',
      { class: 'form-problems', role: 'alert', 'data-testid': 'integ-form-problems' },
      this.problem ? h('p', {}, this.problem(t)) : null,
      this.issues.length > 0 ? h('ul', {}, ...this.issues.map((i) => h('li', {}, i.path.length > 0 ? h('code', {}, issuePath(i.path)) : null, i.path.length > 0 ? ': ' : null, i.message))) : null,
    );
  }

  private async submit(): Promise<void> {
    const adapter = this.adapter();
    if (!adapter || this.busy) return;
    const settings = this.settingsOf(adapter);
    const read = settings.read();
    this.issues = [];
    if (!read.ok) {
      this.problem = (t) => t.integrations.fixFields;
      this.render();
      return;
    }
    const name = this.nameInput.value.trim();
    if (this.mode.kind === 'edit' && name === '') {
      this.problem = (t) => t.integrations.nameRequired;
      this.render();
      return;
    }
    this.busy = true;
    this.problem = null;
    this.render();
    try {
      if (this.mode.kind === 'create') {
        const answer = await this.ctx.api.createIntegration({ adapter: adapter.id, site: this.siteSelect.value, ...(name ? { name } : {}), settings: read.value });
        this.busy = false;
        this.events.created?.(answer);
      } else {
        const integration = await this.ctx.api.updateIntegration(this.mode.integration.id, { name, settings: read.value });
        this.busy = false;
        this.events.saved?.(integration);
      }
      return;
    } catch (err) {
      this.busy = false;
      if (err instanceof ApiError && err.code === 'STW_ERR_INTEGRATION_SETTINGS_INVALID') {
        this.issues = issuesOf(err.detail);
        settings.showIssues(this.issues);
        this.problem = (t) => t.integrations.serverRefused;
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.problem = (t) => t.failed(message);
      }
    }
    this.render();
  }
}
