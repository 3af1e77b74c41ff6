/**
 * A page's or panel's own strings, kept beside nothing else: `defineStrings(en, zh)` checks that
 * the zh-CN table has every key the en one has, and i18n.ts mounts the pair under one key
 * (`t.overview`, `t.devicePage`, …) so features do not all edit one long file.
 */
export function defineStrings<T>(en: T, zh: NoInfer<T>): { en: T; 'zh-CN': T } {
  return { en, 'zh-CN': zh };
}
