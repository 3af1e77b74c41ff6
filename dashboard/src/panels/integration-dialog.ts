/**
 * The Integrations page's dialogs: one modal at a time over the page (full screen on a phone),
 * re-rendered from its own state on a language switch, and a read-only field with a Copy button
 * for what is shown once (an integration's token and push URL, a device's secret).
 */
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';

export interface DialogContent {
  title(t: Strings): string;
  /** The body; called again on a language switch (keep typed inputs outside and move them in). */
  body(t: Strings): (HTMLElement | null)[];
  /** While true, Escape does not close it (a secret not copied yet): only × or Done do. */
  sticky?(): boolean;
  testid: string;
}

export class Dialog {
  readonly el: HTMLElement;
  private readonly box: HTMLElement;
  private readonly off: () => void;

  constructor(
    private readonly i18n: I18n,
    private readonly content: DialogContent,
    private readonly onClose: () => void,
  ) {
    this.box = h('section', { class: 'integ-dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': `${content.testid}-title`, tabindex: -1, 'data-testid': content.testid });
    this.el = h('div', { class: 'overlay' }, this.box);
    this.el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !this.content.sticky?.()) this.close();
    });
    this.off = i18n.onChange(() => this.render());
    this.render();
  }

  /** Puts it in the document and moves the focus into it. */
  open(parent: HTMLElement): void {
    parent.append(this.el);
    const first = this.box.querySelector<HTMLElement>('input:not([type="hidden"]):not([readonly]), select, textarea');
    (first ?? this.box).focus();
  }

  render(): void {
    const t = this.i18n.t;
    replace(
      this.box,
      h('header', {}, h('h2', { id: `${this.content.testid}-title` }, this.content.title(t)), h('button', { class: 'close', title: t.close, 'aria-label': t.close, 'data-testid': `${this.content.testid}-close`, onclick: () => this.close() }, '×')),
      ...this.content.body(t),
    );
  }

  close(): void {
    this.off();
    this.el.remove();
    this.onClose();
  }
}

/**
 * A value shown once with a Copy button, whole (a push URL wraps rather than hiding its end).
 * The clipboard API exists only in a secure context (HTTPS or localhost); elsewhere the text is
 * selected for Ctrl+C instead.
 */
export class CopyField {
  private readonly input: HTMLTextAreaElement;
  private readonly status = h('span', { class: 'copy-status', role: 'status' });
  private copied: 'no' | 'yes' | 'by-hand' = 'no';

  constructor(
    private readonly i18n: I18n,
    value: string,
    private readonly testid: string,
  ) {
    this.input = h('textarea', { readonly: true, class: 'secret', rows: 1, spellcheck: 'false', 'data-testid': testid });
    this.input.value = value;
    this.status.setAttribute('data-testid', `${testid}-status`);
  }

  render(label: string): HTMLElement {
    const t = this.i18n.t;
    this.status.textContent = this.text(t);
    return h('label', { class: 'copy-field' }, h('span', { class: 'copy-label' }, label), h('span', { class: 'secret-row' }, this.input, h('button', { type: 'button', 'data-testid': `${this.testid}-copy`, onclick: () => void this.copy() }, t.copy)), this.status);
  }

  private text(t: Strings): string {
    return this.copied === 'yes' ? t.copied : this.copied === 'by-hand' ? t.copyByHand : '';
  }

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.input.value);
      this.copied = 'yes';
    } catch {
      this.input.focus();
      this.input.select();
      this.copied = 'by-hand';
    }
    this.status.textContent = this.text(this.i18n.t);
  }
}
