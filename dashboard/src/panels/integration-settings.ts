/**
 * An integration's settings as a form, generated from the adapter's `settingsSchema` (JSON
 * Schema, as `GET /api/integrations/adapters` serves it, `io: input`): strings, numbers,
 * booleans and enums become inputs (a secret setting a password input), everything else
 * (objects, arrays, records, unions) a JSON text area parsed before anything is sent. A field
 * left empty is left out, so the server applies the adapter's default (named in the field).
 * Editing, a secret is never shown (the API masks it): empty keeps it, since the server merges
 * settings key by key. The inputs are made once and kept across renders, so what is typed
 * survives a language switch and a refused save.
 */
import { h, replace } from '../dom.ts';
import type { Strings } from '../i18n.ts';

/** The part of JSON Schema the adapters' zod schemas produce that the form reads. */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

type Kind = 'text' | 'secret' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';
type Text = (t: Strings) => string;
type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** What the API shows in place of a secret setting's value (server/integrations/service.ts). */
export const MASK = '••••••';

interface Field {
  key: string;
  kind: Kind;
  schema: JsonSchema;
  required: boolean;
  control: Control;
  problem: HTMLElement;
  /** Editing: the stored value is a secret the API masked. */
  masked: boolean;
}

export type ReadResult = { ok: true; value: Record<string, unknown> } | { ok: false };

/** A server issue (zod, as `detail` of STW_ERR_INTEGRATION_SETTINGS_INVALID): where and what. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

function kindOf(key: string, s: JsonSchema, secrets: readonly string[]): Kind {
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every((v) => typeof v === 'string')) return 'enum';
  if (s.type === 'string') return secrets.includes(key) ? 'secret' : 'text';
  if (s.type === 'integer') return 'integer';
  if (s.type === 'number') return 'number';
  if (s.type === 'boolean') return 'boolean';
  return 'json';
}

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

/** Readable issue paths: `fields › Alarm_Status › to`. */
export function issuePath(path: readonly (string | number)[]): string {
  return path.map(String).join(' › ');
}

/** The server's issues out of an error's `detail`, whatever it held. */
export function issuesOf(detail: unknown): Issue[] {
  if (!Array.isArray(detail)) return [];
  return detail
    .filter((d): d is { path?: unknown; message: string } => typeof d === 'object' && d !== null && typeof (d as { message?: unknown }).message === 'string')
    .map((d) => ({ path: Array.isArray(d.path) ? d.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number') : [], message: d.message }));
}

export class SettingsForm {
  readonly el = h('div', { class: 'integ-settings', 'data-testid': 'integ-settings' });
  private readonly fields: Field[] = [];
  /** Problems found here before sending, by field. */
  private readonly local = new Map<string, Text>();
  /** Problems the server reported, by field (`''`: the settings as a whole). */
  private server: Issue[] = [];

  /**
   * @param initial editing: the integration's settings as the API shows them (secrets masked);
   *   creating: null.
   */
  constructor(
    private readonly schema: JsonSchema,
    secrets: readonly string[],
    initial: Record<string, unknown> | null,
    private readonly testPrefix = 'setting',
  ) {
    const required = new Set(schema.required ?? []);
    for (const [key, s] of Object.entries(schema.properties ?? {})) {
      const kind = kindOf(key, s, secrets);
      const name = `setting-${key}`;
      const testid = `${testPrefix}-${key}`;
      const current = initial?.[key];
      const masked = current === MASK;
      let control: Control;
      if (kind === 'enum') {
        const optional = !required.has(key) && s.default === undefined;
        control = h('select', { name, 'data-testid': testid }, optional ? h('option', { value: '' }, '—') : null, ...(s.enum as string[]).map((v) => h('option', { value: v }, v)));
        const pick = typeof current === 'string' ? current : typeof s.default === 'string' ? s.default : '';
        control.value = pick;
      } else if (kind === 'boolean') {
        control = h('input', { type: 'checkbox', name, 'data-testid': testid });
        control.checked = typeof current === 'boolean' ? current : s.default === true;
      } else if (kind === 'json') {
        const text = current === undefined ? '' : pretty(current);
        control = h('textarea', { name, rows: Math.min(12, Math.max(3, text.split('\n').length)), spellcheck: 'false', autocomplete: 'off', 'data-testid': testid });
        control.value = text;
        if (s.default !== undefined) control.placeholder = pretty(s.default);
      } else {
        const numeric = kind === 'number' || kind === 'integer';
        control = h('input', {
          name,
          type: kind === 'secret' ? 'password' : numeric ? 'number' : s.format === 'uri' ? 'url' : 'text',
          autocomplete: kind === 'secret' ? 'new-password' : 'off',
          spellcheck: 'false',
          'data-testid': testid,
          ...(numeric ? { step: kind === 'integer' ? 1 : 'any', min: s.minimum ?? s.exclusiveMinimum ?? null, max: s.maximum ?? s.exclusiveMaximum ?? null, inputmode: 'decimal' } : {}),
          ...(s.maxLength !== undefined ? { maxlength: s.maxLength } : {}),
        });
        if (!masked && (typeof current === 'string' || typeof current === 'number')) control.value = String(current);
        if (s.default !== undefined && (typeof s.default === 'string' || typeof s.default === 'number')) control.placeholder = String(s.default);
        else if (s.format === 'uri') control.placeholder = 'http://…';
      }
      control.addEventListener('input', () => {
        this.local.delete(key);
        this.server = this.server.filter((i) => i.path[0] !== key);
        field.problem.textContent = '';
        field.problem.hidden = true;
      });
      const field: Field = { key, kind, schema: s, required: required.has(key), control, problem: h('span', { class: 'problem', role: 'alert', hidden: true, 'data-testid': `${testid}-problem` }), masked };
      this.fields.push(field);
    }
  }

  get empty(): boolean {
    return this.fields.length === 0;
  }

  /** The settings to send, or the problems marked beside their fields. */
  read(): ReadResult {
    this.local.clear();
    this.server = [];
    const value: Record<string, unknown> = {};
    for (const f of this.fields) {
      const problem = this.readField(f, value);
      if (problem) this.local.set(f.key, problem);
    }
    return this.local.size === 0 ? { ok: true, value } : { ok: false };
  }

  private readField(f: Field, out: Record<string, unknown>): Text | null {
    const c = f.control;
    if (f.kind === 'boolean') {
      out[f.key] = (c as HTMLInputElement).checked;
      return null;
    }
    const raw = c.value.trim();
    if (raw === '') {
      // Editing, an empty secret keeps the stored one; elsewhere empty means the default.
      if (f.required && !f.masked) return (t) => t.integrations.required;
      return null;
    }
    if (f.kind === 'number' || f.kind === 'integer') {
      const n = Number(raw);
      if (!Number.isFinite(n)) return (t) => t.integrations.notNumber;
      if (f.kind === 'integer' && !Number.isInteger(n)) return (t) => t.integrations.notInteger;
      out[f.key] = n;
      return null;
    }
    if (f.kind === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        const why = (err as Error).message;
        return (t) => t.integrations.invalidJson(why);
      }
      const want = f.schema.type;
      if (want === 'object' && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))) return (t) => t.integrations.expectObject;
      if (want === 'array' && !Array.isArray(parsed)) return (t) => t.integrations.expectArray;
      out[f.key] = parsed;
      return null;
    }
    out[f.key] = raw;
    return null;
  }

  /** The server's refusal: each issue beside its field, the rest for the form's summary. */
  showIssues(issues: Issue[]): Issue[] {
    this.server = issues;
    const known = new Set(this.fields.map((f) => f.key));
    return issues.filter((i) => typeof i.path[0] !== 'string' || !known.has(i.path[0]));
  }

  render(t: Strings): HTMLElement {
    if (this.fields.length === 0) {
      replace(this.el, h('p', { class: 'hint' }, t.integrations.noSettings));
      return this.el;
    }
    replace(this.el, ...this.fields.map((f) => this.renderField(f, t)));
    return this.el;
  }

  private renderField(f: Field, t: Strings): HTMLElement {
    const s = f.schema;
    const help: string[] = [];
    if (s.description) help.push(s.description);
    if (f.kind === 'json') help.push(t.integrations.jsonHint(s.type === 'array' ? 'array' : 'object'));
    if (s.minimum !== undefined && s.maximum !== undefined) help.push(t.integrations.range(s.minimum, s.maximum));
    if (f.kind === 'boolean' && s.default !== undefined) help.push(t.integrations.defaultIs(String(s.default)));
    if (f.kind === 'secret') {
      (f.control as HTMLInputElement).placeholder = f.masked ? t.integrations.secretKept : '';
      help.push(t.integrations.secretHelp);
    }
    const messages = [this.local.get(f.key)?.(t), ...this.server.filter((i) => i.path[0] === f.key).map((i) => (i.path.length > 1 ? `${issuePath(i.path.slice(1))}: ${i.message}` : i.message))].filter((m): m is string => !!m);
    f.problem.textContent = messages.join(' · ');
    f.problem.hidden = messages.length === 0;
    f.control.classList.toggle('invalid', messages.length > 0);
    f.control.setAttribute('aria-invalid', messages.length > 0 ? 'true' : 'false');
    const name = h('span', { class: 'setting-key' }, h('code', {}, f.key), f.required ? h('span', { class: 'req', title: t.integrations.required }, ' *') : null);
    if (f.kind === 'boolean') {
      return h('div', { class: 'field boolean', 'data-key': f.key }, h('label', { class: 'check' }, f.control, name), help.length ? h('span', { class: 'help' }, help.join(' · ')) : null, f.problem);
    }
    return h('div', { class: `field ${f.kind}`, 'data-key': f.key }, h('label', {}, name, f.control), help.length ? h('span', { class: 'help' }, help.join(' · ')) : null, f.problem);
  }
}
