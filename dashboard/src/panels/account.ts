/**
 * The Account panel, for every role: change the password (the page goes on with the token the
 * answer carries: every other session and token of the account ends), and the account's
 * sessions and API tokens: listed, revoked, created (the secret shown once). A dialog over
 * whichever page opened it; what it shows is kept as state, so a language switch re-renders it
 * without losing typed fields or a token not copied yet.
 */
import { ApiError, type Api, type CreatedToken, type TokenInfo, type User } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';

// The server's rules (server/auth/users.ts), checked here first: a refused change counts
// against the same rate limit as a failed login, and should not be spent on a typo.
const PASSWORD_MIN = 10;
const PASSWORD_MAX = 256;
const TOKEN_NAME_MAX = 64;
const TOKEN_DAYS_MAX = 3650;

type Text = (t: Strings) => string;
type Message = { kind: 'error' | 'ok'; text: Text } | null;

export interface AccountOptions {
  user: User;
  /** Dates are shown in the selected site's time zone, like everywhere in the dashboard. */
  timeZone(): string;
  /** The session this page used was revoked here: the page must go to the login page. */
  signedOut(): void;
  close(): void;
}

export class AccountPanel {
  readonly el: HTMLElement;
  private readonly dialog = h('section', { class: 'account', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'account-title', tabindex: -1, 'data-testid': 'account-panel' });
  private tokens: TokenInfo[] = [];
  private created: CreatedToken | null = null;
  private confirming: string | null = null;
  private copied: 'no' | 'yes' | 'by-hand' = 'no';
  private passwordMessage: Message = null;
  private tokensMessage: Message = null;
  private createMessage: Message = null;
  private busy = false;
  private readonly off: () => void;
  // Fields are made once and moved into each render, so what is typed survives a re-render.
  private readonly current = h('input', { type: 'password', name: 'current-password', autocomplete: 'current-password', 'data-testid': 'account-current' });
  private readonly next = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', maxlength: PASSWORD_MAX, 'data-testid': 'account-new' });
  private readonly again = h('input', { type: 'password', name: 'new-password-again', autocomplete: 'new-password', maxlength: PASSWORD_MAX, 'data-testid': 'account-again' });
  private readonly tokenName = h('input', { name: 'token-name', maxlength: TOKEN_NAME_MAX, autocomplete: 'off', 'data-testid': 'token-name' });
  private readonly tokenDays = h('input', { name: 'token-days', type: 'number', min: 1, max: TOKEN_DAYS_MAX, step: 1, inputmode: 'numeric', 'data-testid': 'token-days' });
  private readonly secret = h('input', { readonly: true, class: 'secret', spellcheck: 'false', 'data-testid': 'token-secret' });
  private readonly copyStatus = h('span', { class: 'ok', role: 'status', 'data-testid': 'token-copy-status' });

  constructor(
    private readonly ctx: { api: Api; i18n: I18n },
    private readonly opts: AccountOptions,
  ) {
    this.el = h('div', { class: 'overlay' }, this.dialog);
    this.el.addEventListener('keydown', (ev) => {
      // Escape closes, except while a new token is shown: it is the only chance to copy it.
      if (ev.key === 'Escape' && !this.created) this.opts.close();
    });
    this.off = ctx.i18n.onChange(() => this.render());
    this.render();
  }

  /** Shows the panel (already in the document) and loads the list. */
  async open(): Promise<void> {
    this.dialog.focus();
    await this.load();
  }

  dispose(): void {
    this.off();
    this.el.remove();
  }

  private async load(): Promise<void> {
    try {
      this.tokens = await this.ctx.api.tokens();
      this.tokensMessage = null;
    } catch (err) {
      this.tokensMessage = { kind: 'error', text: failure(err) };
    }
    this.render();
  }

  private render(): void {
    const t = this.ctx.i18n.t;
    const { user } = this.opts;
    replace(
      this.dialog,
      h('header', {}, h('h2', { id: 'account-title' }, t.accountTitle(user.username)), h('button', { class: 'close', title: t.close, 'aria-label': t.close, 'data-testid': 'account-close', onclick: () => this.opts.close() }, '×')),
      this.passwordForm(t),
      h(
        'section',
        { class: 'account-tokens' },
        h('h3', {}, t.tokens),
        h('p', { class: 'hint' }, t.tokensHint),
        message(this.tokensMessage, t, 'tokens-message'),
        h('ul', { class: 'tokens', 'data-testid': 'token-list' }, ...this.tokens.map((tok) => this.tokenRow(tok, t))),
        h('h3', {}, t.createToken),
        this.createForm(t),
        this.created ? this.shownOnce(this.created, t) : null,
      ),
    );
  }

  private passwordForm(t: Strings): HTMLFormElement {
    const form = h(
      'form',
      { class: 'account-password', novalidate: true, 'data-testid': 'password-form' },
      h('h3', {}, t.changePassword),
      // For password managers: which account the new password belongs to.
      h('input', { type: 'text', name: 'username', autocomplete: 'username', value: this.opts.user.username, readonly: true, hidden: true }),
      h('label', {}, t.currentPassword, this.current),
      h('label', {}, t.newPassword, this.next),
      h('label', {}, t.repeatPassword, this.again),
      h('p', { class: 'hint' }, t.passwordRule),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', disabled: this.busy, 'data-testid': 'password-submit' }, t.changePassword)),
      message(this.passwordMessage, t, 'password-message'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.changePassword();
    });
    return form;
  }

  private async changePassword(): Promise<void> {
    const problem: Text | null = !this.current.value
      ? (t) => t.currentPasswordMissing
      : this.next.value.length < PASSWORD_MIN
        ? (t) => t.passwordTooShort
        : this.next.value.length > PASSWORD_MAX
          ? (t) => t.passwordTooLong
          : this.next.value !== this.again.value
            ? (t) => t.passwordMismatch
            : null;
    if (problem) {
      this.passwordMessage = { kind: 'error', text: problem };
      this.render();
      return;
    }
    this.busy = true;
    this.passwordMessage = null;
    this.render();
    try {
      await this.ctx.api.changePassword(this.current.value, this.next.value);
      for (const input of [this.current, this.next, this.again]) input.value = '';
      this.passwordMessage = { kind: 'ok', text: (t) => t.passwordChanged };
    } catch (err) {
      this.passwordMessage = { kind: 'error', text: failure(err) };
    } finally {
      this.busy = false;
    }
    // The list changed too: the other sessions and tokens are gone, this one was replaced.
    await this.load();
  }

  private tokenRow(tok: TokenInfo, t: Strings): HTMLLIElement {
    const when = (iso: string) => this.ctx.i18n.dateTime(iso, this.opts.timeZone());
    const confirming = this.confirming === tok.id;
    return h(
      'li',
      { 'data-token': tok.id, 'data-kind': tok.kind, class: tok.current ? 'current' : '' },
      h(
        'div',
        { class: 'what' },
        h('span', { class: `badge kind-${tok.kind}` }, t.tokenKind[tok.kind]),
        h('strong', { class: 'name' }, tok.name ?? t.browserSession),
        tok.current ? h('span', { class: 'badge this', 'data-testid': 'token-current' }, t.thisSession) : null,
      ),
      h('div', { class: 'meta' }, h('span', {}, t.createdAt(when(tok.createdAt))), h('span', {}, tok.expiresAt === null ? t.neverExpires : t.expiresAt(when(tok.expiresAt)))),
      h(
        'div',
        { class: 'buttons' },
        confirming
          ? h('button', { class: 'danger', disabled: this.busy, 'data-testid': 'token-revoke-confirm', onclick: () => void this.revoke(tok) }, tok.current ? t.revokeAndLogout : t.revokeConfirm)
          : h('button', { 'data-testid': 'token-revoke', onclick: () => this.confirm(tok.id) }, t.revoke),
        confirming ? h('button', { 'data-testid': 'token-revoke-cancel', onclick: () => this.confirm(null) }, t.cancel) : null,
      ),
    );
  }

  /** Revoking is a second click: an integration's token cannot be given back. */
  private confirm(id: string | null): void {
    this.confirming = id;
    this.render();
  }

  private async revoke(tok: TokenInfo): Promise<void> {
    this.busy = true;
    this.render();
    try {
      await this.ctx.api.revokeToken(tok.id);
    } catch (err) {
      // Already gone (revoked elsewhere, expired): the list below is what holds now.
      if (!(err instanceof ApiError && err.code === 'STW_ERR_TOKEN_NOT_FOUND')) this.tokensMessage = { kind: 'error', text: failure(err) };
    } finally {
      this.busy = false;
      this.confirming = null;
    }
    if (tok.current) {
      this.ctx.api.clearToken();
      this.opts.signedOut();
      return;
    }
    if (this.created?.id === tok.id) this.created = null;
    await this.load();
  }

  private createForm(t: Strings): HTMLFormElement {
    this.tokenName.placeholder = t.tokenNameExample;
    this.tokenDays.placeholder = t.tokenDaysEmpty;
    const form = h(
      'form',
      { class: 'token-create', novalidate: true, 'data-testid': 'token-create-form' },
      h('label', { class: 'name' }, t.tokenName, this.tokenName),
      h('label', { class: 'days' }, t.tokenDays, this.tokenDays),
      h('button', { type: 'submit', class: 'primary', disabled: this.busy, 'data-testid': 'token-create' }, t.createToken),
      message(this.createMessage, t, 'token-create-message'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.create();
    });
    return form;
  }

  private async create(): Promise<void> {
    const name = this.tokenName.value.trim();
    const daysText = this.tokenDays.value.trim();
    const days = daysText === '' ? undefined : Number(daysText);
    // badInput: a number field reads '' for text it cannot parse; that must not mean "never".
    const problem: Text | null = !name
      ? (t) => t.tokenNameRequired
      : this.tokenDays.validity.badInput || (days !== undefined && (!Number.isInteger(days) || days < 1 || days > TOKEN_DAYS_MAX))
        ? (t) => t.tokenDaysInvalid
        : null;
    if (problem) {
      this.createMessage = { kind: 'error', text: problem };
      this.render();
      return;
    }
    this.busy = true;
    this.createMessage = null;
    this.render();
    try {
      this.created = await this.ctx.api.createToken(name, days);
      this.copied = 'no';
      this.tokenName.value = '';
      this.tokenDays.value = '';
    } catch (err) {
      this.createMessage = { kind: 'error', text: failure(err) };
    } finally {
      this.busy = false;
    }
    await this.load();
    if (this.created) this.secret.select();
  }

  private shownOnce(created: CreatedToken, t: Strings): HTMLElement {
    this.secret.value = created.token;
    this.copyStatus.textContent = this.copyText(t);
    return h(
      'div',
      { class: 'token-once', role: 'alert', 'data-testid': 'token-once' },
      h('strong', {}, t.tokenCreated(created.name)),
      h('p', { class: 'warning' }, t.tokenShownOnce),
      h('div', { class: 'secret-row' }, this.secret, h('button', { 'data-testid': 'token-copy', onclick: () => void this.copy() }, t.copy)),
      h('div', { class: 'actions' }, this.copyStatus, h('button', { class: 'done', 'data-testid': 'token-done', onclick: () => this.forgetCreated() }, t.done)),
    );
  }

  private copyText(t: Strings): string {
    return this.copied === 'yes' ? t.copied : this.copied === 'by-hand' ? t.copyByHand : '';
  }

  private async copy(): Promise<void> {
    try {
      // Only in a secure context (HTTPS or localhost); elsewhere navigator.clipboard is missing.
      await navigator.clipboard.writeText(this.secret.value);
      this.copied = 'yes';
    } catch {
      this.secret.focus();
      this.secret.select();
      this.copied = 'by-hand';
    }
    this.copyStatus.textContent = this.copyText(this.ctx.i18n.t);
  }

  private forgetCreated(): void {
    this.created = null;
    this.secret.value = '';
    this.render();
  }
}

function message(m: Message, t: Strings, testid: string): HTMLElement | null {
  if (!m) return null;
  return h('p', { class: m.kind, role: m.kind === 'error' ? 'alert' : 'status', 'data-testid': testid }, m.text(t));
}

/** What a refused request means, in the reader's language. */
function failure(err: unknown): Text {
  if (err instanceof ApiError) {
    if (err.code === 'STW_ERR_PASSWORD_INVALID') return (t) => t.passwordWrong;
    if (err.code === 'STW_ERR_RATE_LIMITED') return (t) => t.rateLimited;
  }
  const detail = err instanceof Error ? err.message : String(err);
  return (t) => t.failed(detail);
}
