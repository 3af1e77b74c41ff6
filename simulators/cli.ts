/**
 * `storetwin simulate`: runs a site's simulated devices against a broker, or drives one
 * device by hand (one-shot actions or an interactive keyboard). The lead's commander setup
 * passes its parsed options here; everything is validated once, every problem reported.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { z } from 'zod';

import { deviceTypeHas } from '../devices/index.ts';
import type { SimAction } from '../devices/types.ts';
import { isStoreTwinError, type ErrorCode } from '../server/errors.ts';
import { SiteCatalog } from '../server/sites/catalog.ts';
import { idSchema, type Placement, type Site } from '../server/sites/model.ts';
import { readCredentials, type Credentials } from './credentials.ts';
import { fetchRegisteredDevice } from './registered-device.ts';
import { SiteSimulator, SimulatorError, type SentMessage, type SimulatorStats } from './site-simulator.ts';
import { fetchExternalIds } from './via/external-ids.ts';
import { planVia, ViaError, viaAdapterIds, viaStyleOf, type ViaPlan } from './via/index.ts';

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';
/** StoreTwin's HTTP address, where `--via` pushes go and `--api-token` reads devices. */
export const DEFAULT_HTTP_URL = 'http://127.0.0.1:8080';
/** Where `--via axis` serves its counters unless `--listen` says otherwise: fixed, so the integration's URL stays valid between runs. */
export const DEFAULT_LISTEN = { host: '127.0.0.1', port: 8091 };
export const DEFAULT_SITES_DIR = fileURLToPath(new URL('../sites/', import.meta.url));
export const DEFAULT_CREDENTIALS_FILE = './data/demo-credentials.json';
/** Non-TTY output (logs, CI) gets one progress line this often rather than a redrawn bar. */
const PLAIN_PROGRESS_INTERVAL_MS = 5000;

const ONE_SHOT_ACTIONS = ['open', 'close', 'tamper', 'heartbeat', 'motion', 'offline'] as const;
type OneShotAction = (typeof ONE_SHOT_ACTIONS)[number];

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'];
const brokerUrl = z.string().refine((value) => hasProtocol(value, BROKER_PROTOCOLS), 'must be an mqtt://, mqtts://, ws:// or wss:// URL');

const flag = z.boolean().default(false);

/** `--settings '{"token":"…"}'`: a JSON object (tests may pass the object itself). */
const settingsOption = z.union([
  z.record(z.string(), z.unknown()),
  z.string().transform((text, ctx) => {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: `must be a JSON object, e.g. '{"token":"…"}'` });
    return z.NEVER;
  }),
]);

/** `--listen PORT` or `HOST:PORT` (`[::]:PORT` for IPv6). */
const listenOption = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(String(value).trim());
  const port = Number(m?.[2]);
  if (!m || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: 'must be PORT or HOST:PORT, e.g. 8091 or 0.0.0.0:8091' });
    return z.NEVER;
  }
  return { host: m[1] || DEFAULT_LISTEN.host, port };
});

/** Options that mean something only with `--via`, and for which delivery styles. */
const VIA_ONLY = ['token', 'settings', 'externalId', 'listen', 'username', 'password', 'frigateMqtt'] as const;

/** Options as commander hands them over (numbers may still be strings). */
export const simulateOptionsSchema = z
  .object({
    /** The broker (MQTT), or StoreTwin's HTTP address with --via. Default by mode. */
    url: z.string().min(1).optional(),
    site: idSchema.optional(),
    sitesDir: z.string().min(1).default(DEFAULT_SITES_DIR),
    credentials: z.string().min(1).optional(),
    speed: z.coerce.number().min(1, 'must be at least 1').max(3600, 'must be at most 3600').default(1),
    seed: z.coerce.number().int('must be an integer').optional(),
    qos: z.coerce
      .number()
      .refine((v) => v === 0 || v === 1, 'must be 0 or 1')
      .transform((v) => v as 0 | 1)
      .default(1),
    duration: z.coerce.number().positive('must be a positive number of seconds').optional(),
    /** Where the simulated clock starts (ISO 8601 with Z or an offset); default now. */
    startAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time with Z or an offset, e.g. 2026-11-23T12:00:00+08:00' })
      .transform((v) => new Date(v))
      .optional(),
    device: idSchema.optional(),
    /** The device's MQTT secret, instead of a credentials file. */
    secret: z.string().min(1).max(200).optional(),
    /** StoreTwin's HTTP address for --api-token without --via (with --via, --url is it). */
    apiUrl: z.string().refine((value) => hasProtocol(value, ['http:', 'https:']), 'must be an http:// or https:// URL').optional(),
    open: flag,
    close: flag,
    tamper: flag,
    heartbeat: flag,
    motion: flag,
    offline: flag,
    interactive: flag,
    via: z
      .string()
      .refine((v) => viaStyleOf(v) !== undefined, { message: `must be one of ${viaAdapterIds().join(', ')}` })
      .optional(),
    token: z.string().min(1).max(512).optional(),
    settings: settingsOption.optional(),
    externalId: z.string().trim().min(1).max(128).optional(),
    apiToken: z.string().min(1).max(512).optional(),
    listen: listenOption.optional(),
    username: z.string().min(1).max(200).optional(),
    password: z.string().max(200).optional(),
    frigateMqtt: brokerUrl.optional(),
  })
  .superRefine((o, ctx) => {
    const style = o.via === undefined ? undefined : viaStyleOf(o.via);
    if (o.url !== undefined) {
      if (o.via === undefined && !hasProtocol(o.url, BROKER_PROTOCOLS)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' });
      if (o.via !== undefined && !hasProtocol(o.url, ['http:', 'https:'])) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: `with --via, StoreTwin's HTTP address: an http:// or https:// URL (default ${DEFAULT_HTTP_URL})` });
      }
    }
    if (o.via !== undefined && o.credentials !== undefined) ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'not with --via: an integration has no MQTT login' });
    if (o.via !== undefined && o.secret !== undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'not with --via: an integration has no MQTT login' });
    if (o.secret !== undefined && !o.device) ctx.addIssue({ code: 'custom', path: ['secret'], message: "needs --device: it is that one device's secret" });
    if (o.via === undefined && o.apiToken !== undefined && !o.device) {
      ctx.addIssue({ code: 'custom', path: ['apiToken'], message: 'without --via, needs --device: it looks up a device registered by hand' });
    }
    if (o.apiUrl !== undefined && o.via !== undefined) ctx.addIssue({ code: 'custom', path: ['apiUrl'], message: "not with --via: --url is StoreTwin's HTTP address there" });
    if (o.apiUrl !== undefined && o.apiToken === undefined) ctx.addIssue({ code: 'custom', path: ['apiUrl'], message: 'needs --api-token' });
    if (o.via === undefined) {
      for (const name of VIA_ONLY) if (o[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'only with --via' });
    }
    if (style === 'push' && o.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `is required with --via ${o.via}: the integration's token (POST /api/integrations answers it once)` });
    }
    if (style !== undefined && style !== 'push' && o.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: `only for push adapters; ${o.via} is not pushed` });
    if (style === 'publish' && o.frigateMqtt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['frigateMqtt'], message: `is required with --via ${o.via}: the MQTT broker Frigate publishes to` });
    }
    if (style !== undefined && style !== 'publish' && o.frigateMqtt !== undefined) ctx.addIssue({ code: 'custom', path: ['frigateMqtt'], message: 'only with --via frigate' });
    for (const name of ['listen', 'username', 'password'] as const) {
      if (style !== undefined && style !== 'serve' && o[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'only with --via axis' });
    }
    if (o.password !== undefined && o.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'is required with --password' });
    if (o.externalId !== undefined && !o.device) ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'needs --device: it is that one device\'s id on the platform' });
    if (style === 'serve' && ONE_SHOT_ACTIONS.some((a) => o[a])) {
      ctx.addIssue({ code: 'custom', path: ['via'], message: `${o.via} is polled: a one-shot action has nothing to serve (run without one, or --interactive)` });
    }
    const actions = ONE_SHOT_ACTIONS.filter((a) => o[a]);
    if (!o.site && !o.device) ctx.addIssue({ code: 'custom', path: ['site'], message: 'is required (or give --device)' });
    if (actions.length > 1) {
      ctx.addIssue({ code: 'custom', path: [actions[1] ?? 'open'], message: `only one action at a time (got ${actions.map((a) => `--${a}`).join(', ')})` });
    }
    if (actions.length > 0 && !o.device) {
      ctx.addIssue({ code: 'custom', path: ['device'], message: `is required with --${actions[0] ?? 'open'}` });
    }
    if (o.interactive && !o.device) ctx.addIssue({ code: 'custom', path: ['device'], message: 'is required with --interactive' });
    if (o.interactive && actions.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['interactive'], message: 'cannot be combined with a one-shot action' });
    }
  })
  .transform((o) => ({ ...o, url: o.url ?? (o.via !== undefined ? DEFAULT_HTTP_URL : DEFAULT_MQTT_URL) }));

export type SimulateOptionsInput = z.input<typeof simulateOptionsSchema>;
export type SimulateOptions = z.output<typeof simulateOptionsSchema>;

/** A failure the CLI reports as a message and an exit code, without a stack trace. */
export class SimulateCommandError extends Error {
  readonly exitCode: number;
  /** The catalogue's code, where the failure has one (an unknown device: STW_ERR_DEVICE_NOT_FOUND). */
  readonly code: ErrorCode | undefined;

  constructor(message: string, exitCode = 1, options?: { cause?: unknown; code?: ErrorCode }) {
    super(message, options);
    this.name = 'SimulateCommandError';
    this.exitCode = exitCode;
    this.code = options?.code;
  }
}

/** Where the command reads and writes; tests pass their own streams and an AbortSignal. */
export interface SimulateIo {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Aborting stops the simulation like SIGINT does. */
  signal?: AbortSignal;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
  /** Real ms between progress updates; default 250 on a TTY, 5000 otherwise. */
  progressIntervalMs?: number;
}

/** Validates raw options; throws SimulateCommandError (exit code 2) listing every problem. */
export function parseSimulateOptions(raw: unknown): SimulateOptions {
  const parsed = simulateOptionsSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.');
    const option = name ? `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'options';
    return `  ${option}: ${issue.message}`;
  });
  throw new SimulateCommandError(`invalid simulate options:\n${lines.join('\n')}`, 2);
}

/**
 * Runs `storetwin simulate`. Resolves with the final stats (the caller exits 0); throws
 * SimulateCommandError with a clear message and `exitCode` on invalid options, an unknown
 * site or device, or when no device could connect (wrong URL, refused credentials).
 */
export async function runSimulateCommand(raw: unknown, io: SimulateIo = {}): Promise<SimulatorStats> {
  const opts = parseSimulateOptions(raw);
  const out = io.stdout ?? process.stdout;
  const print = (line: string): void => {
    out.write(`${line}\n`);
  };

  const { site, placement } = await findTarget(opts);
  const action = ONE_SHOT_ACTIONS.find((a) => opts[a]);
  // Through an integration there is no MQTT login: no secrets to read.
  const via = opts.via !== undefined ? await planFor(opts, site, placement, action !== undefined, print) : undefined;
  const credentials = via ? undefined : await loadCredentials(opts, print);
  if (placement && credentials && credentials[placement.id] === undefined) {
    print(`warning: no secret for ${placement.id} in the credentials file; connecting without a password`);
  }

  if (placement && action) return runOneShot({ opts, site, placement, credentials, via, action, print });
  if (placement && opts.interactive) return runInteractive({ opts, site, placement, credentials, via, print, io });
  return runContinuous({ opts, site, placement, credentials, via, print, io });
}

// -----------------------------------------------------------------------------------------

interface RunContext {
  opts: SimulateOptions;
  site: Site;
  placement: Placement | undefined;
  credentials: Credentials | undefined;
  /** `--via`: the transport through the adapter and the devices it carries. */
  via: ViaPlan | undefined;
  print: (line: string) => void;
}

/**
 * The `--via` plan: the devices' ids on the platform (read from the server with --api-token,
 * else derived), the adapter's settings, which devices the platform carries.
 */
async function planFor(opts: SimulateOptions, site: Site, placement: Placement | undefined, oneShot: boolean, print: (line: string) => void): Promise<ViaPlan> {
  const via = opts.via ?? '';
  let registered: Awaited<ReturnType<typeof fetchExternalIds>> | undefined;
  if (opts.apiToken !== undefined) {
    try {
      registered = await fetchExternalIds({ url: opts.url, apiToken: opts.apiToken, site: site.id });
    } catch (err) {
      throw new SimulateCommandError(`cannot read the devices of ${site.id} from ${opts.url}: ${(err as Error).message}`, 1, { cause: err });
    }
  }
  const specs = (placement ? [placement] : site.devices).map((p) => ({ id: p.id, type: p.type, zone: p.zone, ...(p.label ? { label: p.label } : {}) }));
  let plan: ViaPlan;
  try {
    plan = planVia({
      adapter: via,
      site,
      devices: specs,
      ...(opts.settings ? { settings: opts.settings } : {}),
      ...(registered ? { registered } : {}),
      ...(opts.externalId !== undefined ? { externalId: opts.externalId } : {}),
      url: opts.url,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.listen ? { listen: opts.listen } : {}),
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.frigateMqtt !== undefined ? { frigateMqtt: opts.frigateMqtt } : {}),
      qos: opts.qos,
      presence: !oneShot,
    });
  } catch (err) {
    if (err instanceof ViaError) throw new SimulateCommandError(err.message, err.exitCode, { cause: err });
    throw err;
  }
  if (plan.devices.length === 0) {
    const why = plan.leftOut[0]?.reason ?? 'nothing to simulate';
    throw new SimulateCommandError(placement ? `${placement.id}: ${why}` : `no device of site ${site.id} is heard through ${via}: ${why}`);
  }
  if (plan.leftOut.length > 0) {
    const byType = new Map<string, string[]>();
    for (const d of plan.leftOut) byType.set(d.reason, [...(byType.get(d.reason) ?? []), d.id]);
    for (const [reason, ids] of byType) print(`leaving out ${ids.length} device(s): ${reason} (${ids.slice(0, 6).join(', ')}${ids.length > 6 ? ', …' : ''})`);
  }
  for (const w of plan.warnings) print(`warning: ${w}`);
  return plan;
}

async function findTarget(opts: SimulateOptions): Promise<{ site: Site; placement: Placement | undefined }> {
  let catalog: SiteCatalog;
  try {
    catalog = await SiteCatalog.load([resolve(opts.sitesDir)]);
  } catch (err) {
    throw new SimulateCommandError(`cannot load sites from ${opts.sitesDir}: ${(err as Error).message}`, 1, { cause: err });
  }
  const known = catalog
    .list()
    .map((s) => s.id)
    .join(', ');
  let site: Site | undefined;
  if (opts.site) {
    site = catalog.get(opts.site);
    if (!site) throw new SimulateCommandError(`no site "${opts.site}" in ${opts.sitesDir} (sites: ${known || 'none'})`);
  }
  if (!opts.device) {
    if (!site) throw new SimulateCommandError('--site is required');
    return { site, placement: undefined };
  }
  const placed = site ?? catalog.siteOfDevice(opts.device);
  const placement = placed ? catalog.placement(placed.id, opts.device) : undefined;
  if (placed && placement) return { site: placed, placement };
  if (opts.apiToken !== undefined) return registeredTarget(opts, opts.device, catalog);
  const where = opts.site ? `site "${opts.site}"` : `any site in ${opts.sitesDir}`;
  throw new SimulateCommandError(
    `no device "${opts.device}" in ${where}; a device registered by hand is looked up on the server with --api-token TOKEN` +
      `${opts.via ? '' : ` [--api-url ${DEFAULT_HTTP_URL}]`}`,
    1,
    { code: 'STW_ERR_DEVICE_NOT_FOUND' },
  );
}

/** A device registered by hand: its type, zone and site from the server's API. */
async function registeredTarget(opts: SimulateOptions, device: string, catalog: SiteCatalog): Promise<{ site: Site; placement: Placement }> {
  const apiUrl = opts.via !== undefined ? opts.url : (opts.apiUrl ?? DEFAULT_HTTP_URL);
  let found: { site: Site; placement: Placement };
  try {
    found = await fetchRegisteredDevice({ apiUrl, apiToken: opts.apiToken ?? '', device, localSite: (id) => catalog.get(id) });
  } catch (err) {
    if (!isStoreTwinError(err)) throw err;
    const what = err.code === 'STW_ERR_DEVICE_NOT_FOUND' ? `no device "${device}" is registered on ${apiUrl} (nor placed in ${opts.sitesDir})` : err.message;
    throw new SimulateCommandError(what, 1, { cause: err, code: err.code });
  }
  if (opts.site && opts.site !== found.site.id) {
    throw new SimulateCommandError(`device "${device}" belongs to site "${found.site.id}", not "${opts.site}"`, 1, { code: 'STW_ERR_DEVICE_NOT_FOUND' });
  }
  return found;
}

async function loadCredentials(opts: SimulateOptions, print: (line: string) => void): Promise<Credentials | undefined> {
  if (opts.secret !== undefined && opts.device) return { [opts.device]: opts.secret };
  const file = opts.credentials ?? (existsSync(DEFAULT_CREDENTIALS_FILE) ? DEFAULT_CREDENTIALS_FILE : undefined);
  if (!file) {
    print('no credentials file: devices connect without a password (brokers that allow anonymous clients)');
    return undefined;
  }
  try {
    return await readCredentials(file);
  } catch (err) {
    throw new SimulateCommandError((err as Error).message, 1, { cause: err });
  }
}

function simulatorFor(ctx: RunContext, extra: { paused?: boolean; boot?: boolean; onSent?: (m: SentMessage) => void }): SiteSimulator {
  const { opts, site, placement, credentials, via } = ctx;
  return new SiteSimulator({
    ...(via ? { transport: via.transport, devices: via.devices } : { url: opts.url }),
    site,
    ...(placement && !via
      ? { devices: [{ id: placement.id, type: placement.type, zone: placement.zone, ...(placement.label ? { label: placement.label } : {}) }] }
      : {}),
    ...(credentials ? { credentials } : {}),
    speed: opts.speed,
    qos: opts.qos,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.startAt !== undefined ? { startAt: opts.startAt } : {}),
    ...extra,
  });
}

async function startOrExplain(sim: SiteSimulator, ctx: RunContext): Promise<void> {
  try {
    await sim.start();
  } catch (err) {
    const what = ctx.placement ? `device ${ctx.placement.id}` : `site ${ctx.site.id}`;
    const reason = err instanceof SimulatorError ? err.message : String(err);
    throw new SimulateCommandError(`cannot simulate ${what} against ${targetOf(ctx)}: ${reason}`, 1, { cause: err });
  }
  // Through an integration: where it goes, and each device's id there (to register it by).
  for (const line of ctx.via?.transport.describe() ?? []) ctx.print(line);
}

function targetOf(ctx: RunContext): string {
  return ctx.via ? ctx.via.transport.target : ctx.opts.url;
}

/**
 * Connects, sends the one action, waits for its PUBACK and disconnects. The device does not
 * publish `offline` on the way out: a door sensor that reports and goes back to sleep is not
 * broken, and a missing heartbeat is what the rules watch for.
 */
async function runOneShot(ctx: RunContext & { placement: Placement; action: OneShotAction }): Promise<SimulatorStats> {
  const { placement, action, print, via } = ctx;
  // A refused push is shown as sent, with the answer and its code (successes are printed below).
  const sim = simulatorFor(ctx, { paused: true, boot: false, onSent: (m) => (m.failed !== undefined ? print(describeMessage(m)) : undefined) });
  await startOrExplain(sim, ctx);
  try {
    if (action === 'offline') {
      const sent = await sim.setOffline(placement.id);
      if (!via) print(`${placement.id}: connection dropped without DISCONNECT; the broker publishes its last will (offline)`);
      else if (sent.length === 0) print(`${placement.id}: nothing sent (${sim.stats().lastSkip ?? 'the platform does not report devices offline'})`);
      for (const m of sent) print(describeMessage(m));
      return sim.stats();
    }
    // A battery-powered device's binary frames carry its voltage: a freshly started one-shot
    // device has reported none yet, so let it measure once without sending (DeviceLink.observe).
    if (via && deviceTypeHas(placement.type, 'battery')) sim.actSilently(placement.id, 'heartbeat');
    let sent: SentMessage[];
    const skippedBefore = sim.stats().skipped;
    try {
      sent = await sim.act(placement.id, action);
      const opposite = action === 'open' ? 'close' : action === 'close' ? 'open' : undefined;
      if (sent.length === 0 && opposite) {
        // Each one-shot run is a freshly booted device that believes its door is closed, and
        // a contact reports changes only; so `--close` after an earlier `--open` would send
        // nothing. Flip the simulated contact silently (nothing is published), then act.
        sim.actSilently(placement.id, opposite);
        sent = await sim.act(placement.id, action);
      }
    } catch (err) {
      throw new SimulateCommandError(`${placement.id}: ${action} was not acknowledged: ${(err as Error).message}`, 1, { cause: err });
    }
    if (sent.length === 0) throw new SimulateCommandError(nothingToSend(placement, action, skippedSince(sim, skippedBefore)));
    for (const m of sent) print(describeMessage(m));
    return sim.stats();
  } finally {
    await sim.stop({ publishOffline: false });
  }
}

const KEY_ACTIONS: Record<string, SimAction | 'offline' | 'online' | 'quit'> = {
  o: 'open',
  c: 'close',
  t: 'tamper',
  h: 'heartbeat',
  m: 'motion',
  x: 'offline',
  r: 'online',
  q: 'quit',
  '\u0003': 'quit', // Ctrl-C arrives as a key in raw mode
  open: 'open',
  close: 'close',
  tamper: 'tamper',
  heartbeat: 'heartbeat',
  motion: 'motion',
  offline: 'offline',
  online: 'online',
  quit: 'quit',
};

async function runInteractive(ctx: RunContext & { placement: Placement; io: SimulateIo }): Promise<SimulatorStats> {
  const { placement, print, io } = ctx;
  const sim = simulatorFor(ctx, { onSent: (m) => print(describeMessage(m)) });
  await startOrExplain(sim, ctx);
  print(`${placement.id} (${placement.type}) connected to ${targetOf(ctx)}`);
  print('keys: o=open c=close t=tamper h=heartbeat m=motion x=go offline r=reconnect q=quit');

  const stdin = io.stdin ?? process.stdin;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  let queue = Promise.resolve();
  let quit: () => void = () => {};
  const done = new Promise<void>((res) => {
    quit = res;
  });
  const stopWaiting = waitForEnd(ctx.opts, io, quit);

  const handle = async (key: string): Promise<void> => {
    const what = KEY_ACTIONS[key];
    if (!what) {
      if (key.trim()) print(`unknown key "${key}"`);
      return;
    }
    try {
      if (what === 'quit') quit();
      else if (what === 'offline') {
        // What a platform reported is printed through onSent.
        await sim.setOffline(placement.id);
        print(`${placement.id}: offline${ctx.via ? '' : ' (no DISCONNECT, the broker publishes the last will)'}; r reconnects`);
      } else if (what === 'online') {
        print((await sim.setOnline(placement.id)) ? `${placement.id}: back online` : `${placement.id}: reconnect failed`);
      } else {
        // act() sends through onSent, which prints the message already.
        const skippedBefore = sim.stats().skipped;
        const sent = await sim.act(placement.id, what);
        if (sent.length === 0) print(nothingToSend(placement, what, skippedSince(sim, skippedBefore)));
      }
    } catch (err) {
      print(`error: ${(err as Error).message}`);
    }
  };
  const enqueue = (key: string): void => {
    queue = queue.then(() => handle(key));
  };

  let onData: ((chunk: Buffer | string) => void) | undefined;
  let lines: ReturnType<typeof createInterface> | undefined;
  if (raw) {
    stdin.setRawMode?.(true);
    onData = (chunk) => {
      for (const ch of chunk.toString()) enqueue(ch.toLowerCase());
    };
    stdin.on('data', onData);
    stdin.resume();
  } else {
    lines = createInterface({ input: stdin });
    lines.on('line', (line) => enqueue(line.trim().toLowerCase()));
    // End of piped input means nobody is left to press q.
    lines.on('close', () => enqueue('q'));
  }

  try {
    await done;
    await queue;
  } finally {
    stopWaiting();
    if (onData) stdin.removeListener('data', onData);
    if (raw) stdin.setRawMode?.(false);
    lines?.close();
    stdin.pause();
    await sim.stop();
  }
  const stats = sim.stats();
  print(totals(stats));
  return stats;
}

async function runContinuous(ctx: RunContext & { io: SimulateIo }): Promise<SimulatorStats> {
  const { io, print, opts } = ctx;
  const out = io.stdout ?? process.stdout;
  const sim = simulatorFor(ctx, {});
  const tty = out.isTTY === true;
  const progress = new ProgressReporter(sim, out, tty, io.progressIntervalMs ?? (tty ? 250 : PLAIN_PROGRESS_INTERVAL_MS));
  const target = ctx.placement ? `device ${ctx.placement.id} of site ${ctx.site.id}` : `site ${ctx.site.id}`;
  print(`simulating ${target} against ${targetOf(ctx)} at speed ${opts.speed}${opts.duration ? ` for ${opts.duration} s` : ''}`);

  let finish: () => void = () => {};
  const ended = new Promise<void>((res) => {
    finish = res;
  });
  const stopWaiting = waitForEnd(opts, io, finish);
  progress.begin();
  try {
    await startOrExplain(sim, ctx);
    await ended;
  } finally {
    stopWaiting();
    await sim.stop();
    progress.end();
  }
  const stats = sim.stats();
  print(totals(stats));
  return stats;
}

/** Resolves `end` on --duration, SIGINT/SIGTERM or the abort signal; returns the cleanup. */
function waitForEnd(opts: SimulateOptions, io: SimulateIo, end: () => void): () => void {
  const timer = opts.duration !== undefined ? setTimeout(end, opts.duration * 1000) : undefined;
  const onSignal = (): void => end();
  const signals = io.handleSignals ?? true;
  if (signals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  if (io.signal?.aborted) end();
  io.signal?.addEventListener('abort', onSignal, { once: true });
  return () => {
    if (timer) clearTimeout(timer);
    if (signals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    io.signal?.removeEventListener('abort', onSignal);
  };
}

/** A redrawn bar on a TTY, a plain line every few seconds otherwise. */
class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private bar: cliProgress.SingleBar | undefined;
  private last = { at: Date.now(), sent: 0 };
  private rate = 0;

  constructor(
    private readonly sim: SiteSimulator,
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
    private readonly intervalMs: number,
  ) {}

  begin(): void {
    if (this.tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.out,
          format: '{bar} {value}/{total} connected | sent {sent} | acked {acked} | errors {errors} | {rate} msg/s | sim {sim}{delivery}',
          hideCursor: true,
          barsize: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(1, 0, this.payload(this.sim.stats()));
    }
    this.timer = setInterval(() => this.update(), this.intervalMs);
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.update();
    this.bar?.stop();
  }

  private update(): void {
    const stats = this.sim.stats();
    const now = Date.now();
    // A rate over windows of at least a second; shorter ones jitter too much to read.
    if (now - this.last.at >= 1000) {
      this.rate = ((stats.sent - this.last.sent) * 1000) / (now - this.last.at);
      this.last = { at: now, sent: stats.sent };
    }
    if (this.bar) {
      this.bar.setTotal(stats.devices);
      this.bar.update(stats.connected, this.payload(stats));
    } else {
      this.out.write(
        `${stats.connected}/${stats.devices} connected, sent ${stats.sent}, acked ${stats.acked}, errors ${stats.errors}, ` +
          `${Math.round(this.rate)} msg/s, sim ${formatSimTime(stats.simTime)}${deliveryText(stats)}\n`,
      );
    }
  }

  private payload(stats: SimulatorStats): Record<string, string | number> {
    return {
      sent: stats.sent,
      acked: stats.acked,
      errors: stats.errors,
      rate: Math.round(this.rate),
      sim: formatSimTime(stats.simTime),
      delivery: deliveryText(stats).replace(/^, /, ' | '),
    };
  }
}

/** Why the wire skipped a message since `before` skips, if it did. */
function skippedSince(sim: SiteSimulator, before: number): string | undefined {
  const stats = sim.stats();
  return stats.skipped > before ? stats.lastSkip : undefined;
}

function nothingToSend(placement: Placement, action: string, skipped?: string): string {
  const why = skipped !== undefined && skipped.startsWith(`${placement.id}: `) ? skipped.slice(placement.id.length + 2) : undefined;
  return `${placement.id}: nothing to send for "${action}" (${why ?? `the ${placement.type} is already in that state, or has no such action`})`;
}

function formatSimTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** `, ctwing: pushes 12, accepted 10, unknown 2…, skipped 3` — what the other end made of it (--via). */
function deliveryText(s: SimulatorStats): string {
  if (!s.delivery) return '';
  const counts = Object.entries(s.delivery.counts).map(([k, v]) => `${k} ${v}`);
  return `, ${s.delivery.label}: ${counts.join(', ')}${s.skipped > 0 ? `, skipped ${s.skipped}` : ''}`;
}

function totals(s: SimulatorStats): string {
  return (
    `done: ${s.devices} device(s), ${s.failed} failed to connect, sent ${s.sent}, acked ${s.acked}, ` +
    `dropped ${s.dropped}, errors ${s.errors}, simulated clock ${formatSimTime(s.simTime)}${deliveryText(s)}` +
    (s.lastError ? `\nlast error: ${s.lastError}` : '') +
    (s.delivery?.lastProblem ? `\nlast problem the server reported: ${s.delivery.lastProblem}` : '')
  );
}

/**
 * One sent message as a line: topic, then the event (JSON) or what the bytes are; through an
 * integration the rendered body, the frame in it and the event; then what the other end answered.
 */
export function describeMessage(m: SentMessage): string {
  const flags = `${m.retain ? ' retained' : ''}`;
  const answer = `${m.answer !== undefined ? `  ⇐ ${m.answer}` : ''}${m.failed !== undefined && m.failed !== m.answer ? `  ✗ ${m.failed}` : ''}`;
  let body: string;
  if (m.text !== undefined) {
    body = m.text;
  } else if (m.event) {
    const text = m.payload.toString('utf8');
    const isJson = m.payload[0] === 0x7b; // '{'
    body = isJson ? text : `${m.payload.toString('hex')} = ${JSON.stringify(m.event)}`;
  } else if (m.payload[0] === 0xff && m.payload[1] === 0xd8) {
    body = `<JPEG, ${m.payload.length} bytes>`;
  } else if (m.payload.length <= 64 && !m.payload.some((b) => b < 0x20 || b > 0x7e)) {
    body = m.payload.toString('utf8');
  } else {
    body = `<${m.payload.length} bytes>`;
  }
  return `→ ${m.topic}${flags}  ${body}${answer}`;
}
