/**
 * Standalone twin page: `twin-demo.html` renders a generated 1,000-room site, or
 * `?site=demo-hotel` fetched from the API with the token in localStorage. `?rooms=&floors=`
 * size the generated site, `?lang=zh-CN|en` picks the label language, `?perf=1` pushes
 * 1,000 state changes per second and keeps a few alarms pulsing. A browser test reads
 * `window.__twinPerf = { ready, stats() }`.
 */
import type { SiteState } from '../../server/twin/types.ts';
import type { DeviceTypesAnswer } from '../../server/api/routes/device-types.ts';
import { createTwinView, type SiteModel, type TwinStats, type TwinView } from './twin/index.ts';
import type { DeviceCatalogue } from './twin/layout.ts';
import { randomChanges, rng, syntheticSite, syntheticState } from './twin/synthetic.ts';

interface TwinPerf {
  ready: boolean;
  error: string | null;
  stats(): TwinStats & { fps: number };
  view: TwinView | null;
}

const params = new URLSearchParams(location.search);
const perf: TwinPerf = { ready: false, error: null, view: null, stats: () => ({ drawCalls: 0, triangles: 0, frameMs: 0, updatesPerSecond: 0, fps: 0 }) };
(window as unknown as { __twinPerf: TwinPerf }).__twinPerf = perf;

function token(): string | null {
  for (const key of ['storetwin.token', 'storetwin:token', 'token']) {
    const v = localStorage.getItem(key);
    if (v) return v;
  }
  return null;
}

async function fetchJson<T>(url: string): Promise<T> {
  const t = token();
  const res = await fetch(url, { headers: t ? { Authorization: `Bearer ${t}` } : {}, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The generated site names its devices after the built-in types; what those can do, as
 * `GET /api/device-types` says (a page without a server has no catalogue to ask).
 */
const SYNTHETIC_TYPES: DeviceCatalogue = [
  { id: 'door-sensor', capabilities: ['door', 'battery', 'signal', 'tamper', 'heartbeat'] },
  { id: 'camera', capabilities: ['motion', 'snapshot', 'heartbeat'] },
  { id: 'footfall-counter', capabilities: ['count', 'heartbeat'] },
];

async function load(): Promise<{ site: SiteModel; state: SiteState | null; deviceTypes: DeviceCatalogue }> {
  const id = params.get('site');
  if (id) {
    const [site, { items: deviceTypes }] = await Promise.all([
      fetchJson<SiteModel>(`/api/sites/${encodeURIComponent(id)}`),
      fetchJson<DeviceTypesAnswer>('/api/device-types'),
    ]);
    const state = await fetchJson<SiteState>(`/api/sites/${encodeURIComponent(id)}/state`).catch(() => null);
    return { site, state, deviceTypes };
  }
  const site = syntheticSite({ rooms: Number(params.get('rooms') ?? 1000), floors: Number(params.get('floors') ?? 10) });
  return { site, state: null, deviceTypes: SYNTHETIC_TYPES };
}

async function main(): Promise<void> {
  const canvas = document.getElementById('twin') as HTMLCanvasElement;
  const statsEl = document.getElementById('stats')!;
  const pickedEl = document.getElementById('picked')!;
  const floorSel = document.getElementById('floor') as HTMLSelectElement;
  const modeBtn = document.getElementById('mode') as HTMLButtonElement;
  const lang = params.get('lang') === 'zh-CN' ? 'zh-CN' : params.get('lang') === 'en' ? 'en' : undefined;

  const { site, state: fetched, deviceTypes } = await load();
  const view = createTwinView(canvas, site, { deviceTypes, language: lang, antialias: params.get('aa') !== '0' });
  perf.view = view;
  const state = fetched ?? syntheticState(site);
  view.setState(state);

  for (const f of site.floors) {
    const opt = document.createElement('option');
    opt.value = f.id;
    opt.textContent = f.name[lang ?? 'en'];
    floorSel.append(opt);
  }
  floorSel.addEventListener('change', () => view.showFloor(floorSel.value));
  let mode: '3d' | '2d' = '3d';
  modeBtn.addEventListener('click', () => {
    mode = mode === '3d' ? '2d' : '3d';
    view.setMode(mode);
    modeBtn.textContent = mode === '3d' ? '2D' : '3D';
  });
  document.getElementById('fit')!.addEventListener('click', () => view.fitToFloor());
  view.onPick((p) => {
    pickedEl.textContent = `${p.kind}: ${p.id}`;
  });

  // Frames per second as the page sees them (rAF), next to the view's own CPU frame time.
  let frames: number[] = [];
  const tick = (t: number) => {
    frames.push(t);
    frames = frames.filter((x) => x > t - 1000);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  perf.stats = () => ({ ...view.stats(), fps: frames.length });

  if (params.get('perf') === '1' && !fetched) {
    const zones = site.floors.flatMap((f) => f.zones.filter((z) => z.kind === 'room').map((z) => z.id));
    const sevs = ['critical', 'major', 'minor', 'warning', 'info'] as const;
    view.setAlarms(sevs.map((severity, i) => ({ zone: zones[(i * 97) % zones.length]!, severity })));
    view.setArmed?.(zones.filter((_, i) => i % 50 === 7));
    const rand = rng(42);
    // `?rate=` changes per second (default 1,000), as ten batches a second (the server flushes every 250 ms).
    const perBatch = Math.max(1, Math.round(Number(params.get('rate') ?? 1000) / 10));
    setInterval(() => view.applyChanges(randomChanges(site, perBatch, state, rand)), 100);
  }
  setInterval(() => {
    const s = perf.stats();
    statsEl.textContent = `${s.drawCalls} calls · ${Math.round(s.triangles)} tris · ${s.frameMs.toFixed(1)} ms/frame · ${s.fps} fps · ${s.updatesPerSecond} upd/s`;
  }, 500);
  requestAnimationFrame(() => requestAnimationFrame(() => (perf.ready = true)));
}

main().catch((err: unknown) => {
  perf.error = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
  const el = document.getElementById('picked');
  if (el) el.textContent = `Error: ${String(err)}`;
});
