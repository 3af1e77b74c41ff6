/**
 * Loads the 3D twin (./twin/index.ts, built alongside this shell). import.meta.glob resolves
 * to an empty map while that module does not exist, so the shell builds and runs with a flat
 * 2D canvas stand-in instead of failing.
 */
import type { Language } from './i18n.ts';
import type { SiteModel, TwinView } from './twin/types.ts';
import { FlatTwinView } from './flat-twin.ts';

type TwinModule = { createTwinView(canvas: HTMLCanvasElement, site: SiteModel, opts: { language: Language }): TwinView };

const modules = import.meta.glob<TwinModule>('./twin/index.ts');

export async function loadTwinView(canvas: HTMLCanvasElement, site: SiteModel, language: Language): Promise<TwinView> {
  const load = modules['./twin/index.ts'];
  if (load) {
    const mod = await load();
    return mod.createTwinView(canvas, site, { language });
  }
  return new FlatTwinView(canvas, site, language);
}
