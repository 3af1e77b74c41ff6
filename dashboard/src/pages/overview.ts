/** Placeholder: being built (issue 8). */
import type { Api, Me } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';

export async function renderOverview(root: HTMLElement, _api: Api, _i18n: I18n, _me: Me, _toLogin: () => void): Promise<void> {
  replace(root, h('p', {}, '…'));
}
