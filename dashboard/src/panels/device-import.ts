/**
 * "Import CSV" on the device page, as a dialog's body: the column format with an example, a
 * file picker and a text box (a chosen file lands in the box, so a problem can be fixed right
 * there; cells pasted from a spreadsheet arrive tab-separated, which the server reads too).
 * The server checks the whole file (POST /api/devices/import): a refusal lists every problem by
 * line, column and code, and nothing was imported; a success offers the new devices' secrets
 * once, as a downloadable id,secret CSV.
 */
import { IMPORT_OPTIONAL_COLUMNS, IMPORT_REQUIRED_COLUMNS, type ImportAnswer, type ImportProblem, type ImportRefusal } from '../../../protocol/devices.ts';
import { ApiError, type Api } from '../api.ts';
import { h } from '../dom.ts';
import { codeEl } from './device-table.ts';
import type { I18n, Strings } from '../i18n.ts';

const EXAMPLE = 'id,type,zone,label,imei\ndoor-2-01,door-sensor,2-01,Room 201 door,864475040123456\ncam-lobby-2,camera,lobby,"Lobby, east",';

/** RFC 4180 field (the secrets file). */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function secretsCsv(answer: ImportAnswer): string {
  return ['id,secret', ...answer.devices.map((d) => `${field(d.device.id)},${field(d.secret)}`)].join('\r\n') + '\r\n';
}

export interface ImportEvents {
  imported(answer: ImportAnswer): void;
  rerender(): void;
  close(): void;
}

export class DeviceImportForm {
  private readonly text = h('textarea', { class: 'dev-import-text', rows: 8, spellcheck: 'false', wrap: 'off', 'data-testid': 'import-text' });
  private readonly file = h('input', { type: 'file', class: 'visually-hidden', accept: '.csv,.tsv,.txt,text/csv,text/plain', 'data-testid': 'import-file' });
  private fileNote: Text | null = null;
  private problems: ImportProblem[] | null = null;
  private failure: Text | null = null;
  private busy = false;
  private done: { answer: ImportAnswer; url: string; downloaded: boolean } | null = null;

  constructor(
    private readonly ctx: { api: Api; i18n: I18n },
    private readonly site: { id: string; name: string },
    private readonly events: ImportEvents,
  ) {
    this.file.addEventListener('change', () => void this.readFile());
  }

  get sticky(): boolean {
    return this.done !== null && !this.done.downloaded;
  }

  title(t: Strings): string {
    return this.done ? t.devicePage.imported(this.done.answer.devices.length) : t.devicePage.importTitle;
  }

  /** The object URL of the secrets file goes with the dialog. */
  dispose(): void {
    if (this.done) URL.revokeObjectURL(this.done.url);
  }

  private async readFile(): Promise<void> {
    const f = this.file.files?.[0];
    if (!f) return;
    const text = await f.text();
    this.text.value = text;
    const lines = text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== '').length;
    this.fileNote = (t) => t.devicePage.fileRead(f.name, lines);
    this.problems = null;
    this.events.rerender();
  }

  body(t: Strings): (HTMLElement | null)[] {
    const T = t.devicePage;
    if (this.done) return [this.doneView(t)];
    return [
      h('p', { class: 'hint' }, T.importHint(this.site.name)),
      h(
        'dl',
        { class: 'dev-import-cols' },
        h('dt', {}, T.importColumns),
        h('dd', {}, ...IMPORT_REQUIRED_COLUMNS.flatMap((c) => [h('code', {}, c), ' ']), h('span', { class: 'hint' }, `(${T.importRequired})`)),
        h('dt', {}, ''),
        h('dd', {}, ...IMPORT_OPTIONAL_COLUMNS.flatMap((c) => [h('code', {}, c), ' ']), h('span', { class: 'hint' }, `(${T.importOptional})`)),
        h('dt', {}, T.importExample),
        h('dd', {}, h('pre', { class: 'dev-import-example' }, EXAMPLE)),
      ),
      // The browser's own file button speaks the browser's language: ours speaks the page's.
      h('div', { class: 'dev-import-file' }, h('label', { class: 'button' }, T.chooseFile, this.file), this.fileNote ? h('span', { class: 'hint', 'data-testid': 'import-file-note' }, this.fileNote(t)) : null),
      h('label', { class: 'dev-import-paste' }, h('span', {}, T.orPaste), this.text),
      this.failure ? h('p', { class: 'error', role: 'alert', 'data-testid': 'import-failure' }, this.failure(t)) : null,
      this.problems ? this.problemsView(t, this.problems) : null,
      h(
        'div',
        { class: 'buttons' },
        h('button', { class: 'primary', disabled: this.busy, 'data-testid': 'import-submit', onclick: () => void this.submit() }, T.importSubmit),
        h('button', { onclick: () => this.events.close() }, t.cancel),
      ),
    ];
  }

  private problemsView(t: Strings, problems: readonly ImportProblem[]): HTMLElement {
    const T = t.devicePage;
    const col = T.problemCol;
    return h(
      'div',
      { class: 'form-problems dev-import-problems', role: 'alert', 'data-testid': 'import-problems' },
      h('p', {}, h('strong', {}, T.problemsTitle(problems.length))),
      h(
        'table',
        { class: 'dev-problem-table' },
        h('thead', {}, h('tr', {}, ...[col.line, col.column, col.code, col.message].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ...problems.map((p) =>
            h(
              'tr',
              { 'data-line': p.line, 'data-code': p.code },
              h('td', { class: 'num' }, p.line === 0 ? T.wholeFile : String(p.line)),
              h('td', {}, p.column ?? '—'),
              h('td', {}, codeEl(p.code)),
              h('td', {}, p.message, p.value !== undefined && !p.message.includes(p.value) ? h('span', { class: 'value' }, ` «${p.value}»`) : null),
            ),
          ),
        ),
      ),
    );
  }

  private doneView(t: Strings): HTMLElement {
    const T = t.devicePage;
    const done = this.done!;
    const ids = done.answer.devices.map((d) => d.device.id);
    const link = h('a', { class: 'button primary', href: done.url, download: T.secretsFile(done.answer.site), 'data-testid': 'import-download' }, T.download);
    link.addEventListener('click', () => {
      done.downloaded = true;
      // The note says so; the dialog may now close on Escape too.
      window.setTimeout(() => this.events.rerender(), 0);
    });
    return h(
      'div',
      { class: 'token-once', 'data-testid': 'import-done' },
      h('p', { class: 'warning', 'data-testid': 'import-once' }, T.importedOnce),
      h('p', { class: 'dev-import-ids', 'data-testid': 'import-ids' }, ids.slice(0, 30).join(', ') + (ids.length > 30 ? ', …' : '')),
      h('div', { class: 'buttons' }, link, done.downloaded ? h('span', { class: 'copy-status' }, T.downloaded) : null, h('button', { 'data-testid': 'import-finish', onclick: () => this.events.close() }, t.done)),
    );
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const csv = this.text.value;
    this.failure = null;
    if (csv.trim() === '') {
      this.failure = (t) => t.devicePage.importEmpty;
      return this.events.rerender();
    }
    this.busy = true;
    this.events.rerender();
    try {
      const answer = await this.ctx.api.importDevices(this.site.id, csv);
      this.problems = null;
      this.done = { answer, url: URL.createObjectURL(new Blob([secretsCsv(answer)], { type: 'text/csv' })), downloaded: false };
      this.events.imported(answer);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'STW_ERR_IMPORT_INVALID') {
        this.problems = (err.detail as ImportRefusal | undefined)?.problems ?? [];
      } else {
        this.problems = null;
        const message = err instanceof Error ? `${err instanceof ApiError ? `${err.code}: ` : ''}${err.message}` : String(err);
        this.failure = (t) => t.failed(message);
      }
    } finally {
      this.busy = false;
    }
    this.events.rerender();
  }
}

type Text = (t: Strings) => string;
