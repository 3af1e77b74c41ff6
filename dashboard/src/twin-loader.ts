/**
 * Loads the 3D twin on demand: three.js is most of the bundle, and the login page and the
 * phone page never need it.
 */
import type { DeviceTypeInfo } from './api.ts';
import type { Language } from './i18n.ts';
import type { SiteModel, TwinView } from './twin/types.ts';

export async function loadTwinView(canvas: HTMLCanvasElement, site: SiteModel, deviceTypes: readonly DeviceTypeInfo[], language: Language): Promise<TwinView> {
  const { createTwinView } = await import('./twin/index.ts');
  return createTwinView(canvas, site, { deviceTypes, language });
}
