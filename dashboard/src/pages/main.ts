/**
 * The operator's page: header, the twin, the alarm console, the side panel on pick, replay,
 * footfall and the account. Owns the socket and the twin; everything else is a panel given the Ctx.
 */
import { mayReadAnyAlarm } from '../../../server/alarms/category.ts';
import type { Severity } from '../../../server/alarms/types.ts';
import type { TwinBatch } from '../../../server/live/protocol.ts';
import type { Api, Me } from '../api.ts';
import { AlarmNotifier } from '../alarm-notify.ts';
import { RuleNames } from '../alarm-text.ts';
import type { Ctx } from '../context.ts';
import { alarmFromLink } from '../deep-link.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';
import { connectLive, reconnectLive, type LiveSocket } from '../live.ts';
import { AccountPanel } from '../panels/account.ts';
import { AlarmConsole } from '../panels/alarm-console.ts';
import type { AlarmCtx } from '../panels/alarm-detail.ts';
import { FootfallPanel } from '../panels/footfall.ts';
import { canReplay, Header, type Mode } from '../panels/header.ts';
import { Legend } from '../panels/legend.ts';
import { ReplayBar, type ReplayView } from '../panels/replay-bar.ts';
import { SidePanel } from '../panels/side-panel.ts';
import { Store } from '../store.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';
import { loadTwinView } from '../twin-loader.ts';
import type { TwinView } from '../twin/types.ts';

const SITE_KEY = 'storetwin.site';
const COVERAGE_KEY = 'storetwin.coverage';

export async function renderMain(root: HTMLElement, api: Api, i18n: I18n, me: Me, initialMode: Mode, toLogin: () => void): Promise<void> {
  const sites = await api.sites();
  const store = new Store(me);
  const ctx: Ctx = { api, i18n, store };
  const names = new RuleNames();
  const alarmCtx: AlarmCtx = { ...ctx, names, place: (a) => store.zoneName(a.zone, (v) => i18n.pick(v)), timeZone: () => store.timeZone };
  const notifier = new AlarmNotifier();
  const connection = { connected: false };
  let twin: TwinView | null = null;
  let alarmZones: Array<{ zone: string; severity: Severity }> = [];
  let replay: ReplayBar | null = null;
  let footfall: FootfallPanel | null = null;
  let account: AccountPanel | null = null;

  const canvas = h('canvas', { class: 'twin', 'data-testid': 'twin-canvas' });
  const twinWrap = h('div', { class: 'twin-wrap' }, canvas);
  const toolbar = h('div', { class: 'twin-toolbar' });
  const legend = new Legend(i18n);
  twinWrap.append(legend.el);
  let coverage = localStorage.getItem(COVERAGE_KEY) === '1';
  const sidePanel = new SidePanel(ctx);
  // Records what the twin was told to flash, for the tests.
  const setTwinAlarms = (zones: Array<{ zone: string; severity: Severity }>) => {
    alarmZones = zones;
    twin?.setAlarms(zones);
  };
  const console_ = new AlarmConsole(alarmCtx, { setAlarms: (zones) => setTwinAlarms([...zones]), flyTo: (zone) => twin?.flyTo(zone) }, notifier);
  const column = h('div', { class: 'column' }, console_.el);
  const bottom = h('div', { class: 'bottom' });

  const header = new Header(ctx, sites, {
    selectSite: (site) => void selectSite(site),
    setMode: (mode) => void setMode(mode),
    toggleFootfall: () => {
      if (footfall) {
        footfall.dispose();
        footfall = null;
      } else {
        footfall = new FootfallPanel(ctx);
        column.append(footfall.el);
        void footfall.load();
      }
    },
    openAccount: () => {
      if (account) return;
      const panel = new AccountPanel(ctx, {
        user: me.user,
        timeZone: () => store.timeZone,
        signedOut: () => {
          socket.disconnect();
          toLogin();
        },
        close: () => {
          panel.dispose();
          account = null;
        },
      });
      account = panel;
      layout.append(panel.el);
      void panel.open();
    },
    logout: async () => {
      socket.disconnect();
      await api.logout().catch(() => undefined);
      toLogin();
    },
  }, connection);
  const layout = h('div', { class: 'layout' }, header.el, h('main', {}, twinWrap, toolbar, sidePanel.el, column), bottom);
  replace(root, layout);

  exposeForTests({
    twinStats: () => twin?.stats() ?? null,
    get state() {
      return store.state;
    },
    alarmZones: () => alarmZones,
    alarms: () => [...store.alarms.values()],
    notified: () => notifier.notified,
    tones: () => notifier.tones,
    ringing: () => notifier.ringing,
    mode: () => header.mode,
    replayWindow: () => (replay ? { from: replay.windowStart, to: replay.windowEnd, at: replay.instant, dataFrom: replay.dataStart } : null),
    pick: (zone: string) => sidePanel.show({ kind: 'zone', id: zone }),
    twinFloorBoxes: () => twin?.floorBoxes?.() ?? null,
    twinZone: (zone: string) => twin?.zoneProbe?.(zone) ?? null,
    armedZones: () => store.armedZones(),
  });

  // The toolbar (and the legend, beside a wide twin) cover part of the canvas: fits keep clear.
  const updateInsets = () => {
    const wide = twinWrap.clientWidth >= 900;
    twin?.setInsets?.({ top: toolbar.offsetTop + toolbar.offsetHeight, left: wide && !legend.el.hidden ? legend.el.offsetLeft + legend.el.offsetWidth : 0 });
  };
  const overlays = new ResizeObserver(updateInsets);
  overlays.observe(toolbar);
  overlays.observe(legend.el);

  // Armed zones are tinted live: at load, on every pushed change, after arm/disarm here.
  store.on('arming', () => twin?.setArmed?.(store.armedZones()));

  function renderToolbar(): void {
    const t = i18n.t;
    const floors = h('select', { 'aria-label': 'floor' }, h('option', { value: 'all' }, t.allFloors), ...(store.model?.floors ?? []).map((f) => h('option', { value: f.id }, i18n.pick(f.name))));
    floors.addEventListener('change', () => twin?.showFloor(floors.value));
    const coverageButton = h('button', { class: coverage ? 'on' : '', 'aria-pressed': String(coverage), title: t.legend.coverageHint, 'data-testid': 'coverage-toggle' }, t.legend.coverage);
    coverageButton.addEventListener('click', () => {
      coverage = !coverage;
      localStorage.setItem(COVERAGE_KEY, coverage ? '1' : '0');
      coverageButton.classList.toggle('on', coverage);
      coverageButton.setAttribute('aria-pressed', String(coverage));
      twin?.setCoverage?.(coverage);
    });
    legend.render();
    replace(toolbar, floors, h('button', { onclick: () => twin?.setMode('3d') }, t.view3d), h('button', { onclick: () => twin?.setMode('2d') }, t.view2d), h('button', { 'data-testid': 'twin-fit', onclick: () => twin?.fitToFloor() }, t.fit), coverageButton, legend.button);
  }

  async function selectSite(site: string): Promise<void> {
    localStorage.setItem(SITE_KEY, site);
    if (replay) await setMode('live');
    const [model, state, alarms, arming, , deviceTypes] = await Promise.all([
      api.site(site),
      api.state(site),
      // The server answers each role the alarms it may see (a technician: device-health ones).
      mayReadAnyAlarm((action) => store.can(action)) ? api.alarms({ site, state: 'open', limit: 500 }) : Promise.resolve([]),
      api.arming(site).catch(() => []),
      names.load(api, [site]),
      api.deviceTypes(),
    ]);
    twin?.dispose();
    twin = null;
    sidePanel.hide();
    console_.closeDetail();
    store.load(model, state, [], arming);
    twin = await loadTwinView(canvas, model, deviceTypes, i18n.language);
    twin.onPick((pick) => sidePanel.show(pick));
    twin.setState(state);
    twin.setArmed?.(store.armedZones());
    twin.setCoverage?.(coverage);
    for (const a of alarms) store.upsertAlarm(a);
    renderToolbar();
    updateInsets();
    header.render();
    if (footfall) void footfall.load();
    markReadyAfterFrames();
  }

  function markReadyAfterFrames(): void {
    // Two frames: the first draws with the state, the second proves it was presented.
    requestAnimationFrame(() => requestAnimationFrame(() => markReady()));
  }

  async function reloadLiveState(): Promise<void> {
    if (!store.site) return;
    const state = await api.state(store.site);
    store.state = state;
    store.emit('state');
    twin?.setState(state);
    // Arming changes pushed while the connection was down were missed: read it whole too.
    store.setArming(await api.arming(store.site).catch(() => [...store.arming.values()]));
  }

  async function setMode(mode: Mode, resume?: ReplayView): Promise<void> {
    if (mode === header.mode) return;
    header.mode = mode;
    header.render();
    history.replaceState(null, '', mode === 'replay' ? '/replay' : '/');
    console_.closeDetail();
    if (mode === 'replay') {
      replay = new ReplayBar(ctx, {
        show: (state, changed) => {
          store.state = state;
          store.emit('state');
          if (!twin) return;
          if (changed === null) twin.setState(state);
          else if (changed.devices.size || changed.zones.size) {
            const devices: TwinBatch['devices'] = {};
            const zones: TwinBatch['zones'] = {};
            for (const id of changed.devices) if (state.devices[id]) devices[id] = state.devices[id];
            for (const id of changed.zones) if (state.zones[id]) zones[id] = state.zones[id];
            twin.applyChanges({ site: state.site, devices, zones });
          }
        },
        showAlarms: (open) => {
          console_.setReplay(open);
          setTwinAlarms(open.filter((a) => a.zone).map((a) => ({ zone: a.zone as string, severity: a.severity })));
        },
      });
      bottom.append(replay.el);
      // The "no data" veil covers the twin while the instant is before the window's data.
      twinWrap.append(replay.veil);
      store.replaying = true;
      await (resume ? replay.resume(resume) : replay.load());
    } else {
      replay?.dispose();
      replay = null;
      store.replaying = false;
      console_.setReplay(null);
      await reloadLiveState();
    }
  }

  const socket: LiveSocket = connectLive({
    token: () => api.settledToken(),
    onAuthFailed: toLogin,
    onConnectionChange: (connected) => {
      const wasConnected = connection.connected;
      connection.connected = connected;
      header.render();
      // After a gap, the live state may have moved on: take it whole again.
      if (connected && !wasConnected && store.site && !store.replaying) void reloadLiveState();
    },
  });
  // A password change ended the token the socket connected with: connect again with the new one.
  api.onTokenChange(() => reconnectLive(socket));
  socket.on('twin', (batch) => {
    if (store.replaying || batch.site !== store.site) return;
    store.applyBatch(batch);
    twin?.applyChanges(batch);
  });
  socket.on('alarm', (alarm) => {
    if (alarm.site !== store.site) return;
    console_.receive(alarm);
  });
  socket.on('arming', (change) => store.applyArming(change));

  // The twin's labels are drawn in the language: rebuild it, and stay in replay where it was.
  i18n.onChange(() => {
    if (!store.site) return;
    const resume = replay?.view;
    void selectSite(store.site).then(() => (resume ? setMode('replay', resume) : undefined));
  });

  // A notification's link (/?alarm=…): that alarm's site, then its detail.
  const linked = await alarmFromLink(api);
  const remembered = localStorage.getItem(SITE_KEY);
  // /?site=<id> (the overview's rows link there) opens that site; the remembered one otherwise.
  const asked = new URLSearchParams(location.search).get('site');
  const first = sites.find((s) => s.id === linked?.site) ?? sites.find((s) => s.id === asked) ?? sites.find((s) => s.id === remembered) ?? sites[0];
  if (first) await selectSite(first.id);
  else markReady();
  if (initialMode === 'replay' && canReplay(store)) await setMode('replay');
  else if (initialMode === 'replay') history.replaceState(null, '', '/');
  if (linked) console_.open(linked);
  // /?site=&device=<id> (the device page links there): that device's panel, its zone in view.
  const device = new URLSearchParams(location.search).get('device');
  const placed = device && first?.id === asked ? store.model?.devices.find((d) => d.id === device) : undefined;
  if (placed) {
    sidePanel.show({ kind: 'device', id: placed.id });
    // Assigned in selectSite, which TypeScript's narrowing does not follow.
    (twin as TwinView | null)?.flyTo(placed.zone);
  }
}
