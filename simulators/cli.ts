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

import type { SimAction } from '../devices/types.ts';
import { SiteCatalog } from '../server/sites/catalog.ts';
import { idSchema, type Placement, type Site } from '../server/sites/model.ts';
import { readCredentials, type Credentials } from './credentials.ts';
import { SiteSimulator, SimulatorError, type SentMessage, type SimulatorStats } from './site-simulator.ts';

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';
export const DEFAULT_SITES_DIR = fileURLToPath(new URL('../sites/', import.meta.url));
export const DEFAULT_CREDENTIALS_FILE = './data/demo-credentials.json';
/** Non-TTY output (logs, CI) gets one progress line this often rather than a redrawn bar. */
const PLAIN_PROGRESS_INTERVAL_MS = 5000;

const ONE_SHOT_ACTIONS = ['open', 'close', 'tamper', 'heartbeat', 'motion', 'offline'] as const;
type OneShotAction = (typeof ONE_SHOT_ACTIONS)[number];

const brokerUrl = z.string().refine((value) => {
  try {
    return ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an mqtt://, mqtts://, ws:// or wss:// URL');

const flag = z.boolean().default(false);

/** Options as commander hands them over (numbers may still be strings). */
export const simulateOptionsSchema = z
  .object({
    url: brokerUrl.default(DEFAULT_MQTT_URL),
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
    device: idSchema.optional(),
    open: flag,
    close: flag,
    tamper: flag,
    heartbeat: flag,
    motion: flag,
    offline: flag,
    interactive: flag,
  })
  .superRefine((o, ctx) => {
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
  });

export type SimulateOptionsInput = z.input<typeof simulateOptionsSchema>;
export type SimulateOptions = z.output<typeof simulateOptionsSchema>;

/** A failure the CLI reports as a message and an exit code, without a stack trace. */
export class SimulateCommandError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulateCommandError';
    this.exitCode = exitCode;
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
  const credentials = await loadCredentials(opts, print);
  if (placement && credentials && credentials[placement.id] === undefined) {
    print(`warning: no secret for ${placement.id} in the credentials file; connecting without a password`);
  }

  const action = ONE_SHOT_ACTIONS.find((a) => opts[a]);
  if (placement && action) return runOneShot({ opts, site, placement, credentials, action, print });
  if (placement && opts.interactive) return runInteractive({ opts, site, placement, credentials, print, io });
  return runContinuous({ opts, site, placement, credentials, print, io });
}

// -----------------------------------------------------------------------------------------

interface RunContext {
  opts: SimulateOptions;
  site: Site;
  placement: Placement | undefined;
  credentials: Credentials | undefined;
  print: (line: string) => void;
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
  site ??= catalog.siteOfDevice(opts.device);
  const placement = site ? catalog.placement(site.id, opts.device) : undefined;
  if (!site || !placement) {
    const where = opts.site ? `site "${opts.site}"` : `any site in ${opts.sitesDir}`;
    throw new SimulateCommandError(`no device "${opts.device}" in ${where}`);
  }
  return { site, placement };
}

async function loadCredentials(opts: SimulateOptions, print: (line: string) => void): Promise<Credentials | undefined> {
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
  const { opts, site, placement, credentials } = ctx;
  return new SiteSimulator({
    url: opts.url,
    site,
    ...(placement
      ? { devices: [{ id: placement.id, type: placement.type, zone: placement.zone, ...(placement.label ? { label: placement.label } : {}) }] }
      : {}),
    ...(credentials ? { credentials } : {}),
    speed: opts.speed,
    qos: opts.qos,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...extra,
  });
}

async function startOrExplain(sim: SiteSimulator, ctx: RunContext): Promise<void> {
  try {
    await sim.start();
  } catch (err) {
    const what = ctx.placement ? `device ${ctx.placement.id}` : `site ${ctx.site.id}`;
    const reason = err instanceof SimulatorError ? err.message : String(err);
    throw new SimulateCommandError(`cannot simulate ${what} against ${ctx.opts.url}: ${reason}`, 1, { cause: err });
  }
}

/**
 * Connects, sends the one action, waits for its PUBACK and disconnects. The device does not
 * publish `offline` on the way out: a door sensor that reports and goes back to sleep is not
 * broken, and a missing heartbeat is what the rules watch for.
 */
async function runOneShot(ctx: RunContext & { placement: Placement; action: OneShotAction }): Promise<SimulatorStats> {
  const { placement, action, print } = ctx;
  const sim = simulatorFor(ctx, { paused: true, boot: false });
  await startOrExplain(sim, ctx);
  try {
    if (action === 'offline') {
      await sim.setOffline(placement.id);
      print(`${placement.id}: connection dropped without DISCONNECT; the broker publishes its last will (offline)`);
      return sim.stats();
    }
    let sent: SentMessage[];
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
    if (sent.length === 0) throw new SimulateCommandError(nothingToSend(placement, action));
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
  print(`${placement.id} (${placement.type}) connected to ${ctx.opts.url}`);
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
        await sim.setOffline(placement.id);
        print(`${placement.id}: offline (no DISCONNECT, the broker publishes the last will); r reconnects`);
      } else if (what === 'online') {
        print((await sim.setOnline(placement.id)) ? `${placement.id}: back online` : `${placement.id}: reconnect failed`);
      } else {
        // act() sends through onSent, which prints the message already.
        const sent = await sim.act(placement.id, what);
        if (sent.length === 0) print(nothingToSend(placement, what));
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
  print(`simulating ${target} against ${opts.url} at speed ${opts.speed}${opts.duration ? ` for ${opts.duration} s` : ''}`);

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
          format: '{bar} {value}/{total} connected | sent {sent} | acked {acked} | errors {errors} | {rate} msg/s | sim {sim}',
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
          `${Math.round(this.rate)} msg/s, sim ${formatSimTime(stats.simTime)}\n`,
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
    };
  }
}

function nothingToSend(placement: Placement, action: string): string {
  return `${placement.id}: nothing to send for "${action}" (the ${placement.type} is already in that state, or has no such action)`;
}

function formatSimTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function totals(s: SimulatorStats): string {
  return (
    `done: ${s.devices} device(s), ${s.failed} failed to connect, sent ${s.sent}, acked ${s.acked}, ` +
    `dropped ${s.dropped}, errors ${s.errors}, simulated clock ${formatSimTime(s.simTime)}` +
    (s.lastError ? `\nlast error: ${s.lastError}` : '')
  );
}

/** One sent message as a line: topic, then the event (JSON) or what the bytes are. */
export function describeMessage(m: SentMessage): string {
  const flags = `${m.retain ? ' retained' : ''}`;
  let body: string;
  if (m.event) {
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
  return `→ ${m.topic}${flags}  ${body}`;
}
