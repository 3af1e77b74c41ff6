/** What every view is given: no module-global state, so a logout/login rebuilds cleanly. */
import type { Api } from './api.ts';
import type { I18n } from './i18n.ts';
import type { Store } from './store.ts';

export interface Ctx {
  api: Api;
  i18n: I18n;
  store: Store;
}
