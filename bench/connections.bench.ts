/**
 * Idle connections and reconnect storms: N authenticated device connections held open (split
 * over generator processes: a process may have at most ~20,000 open files here, the server
 * included — hence 19,500 by default, not 20,000), the server's RSS before and after, and the
 * connect rate; then the server is killed and restarted on the same data and every device
 * reconnects at once. The same against Mosquitto with a password file of N users.
 *
 *   npx tsx bench/connections.bench.ts [--devices 19500] [--generators 2] [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startMosquitto } from '../tests/helpers/mosquitto.ts';
import { rssBytes, startChild, type Child } from './lib/child.ts';
import { benchDeviceId } from './lib/devices.ts';
import { positiveOption } from './lib/options.ts';
import type { Credentials } from './lib/raw-mqtt.ts';
import { describeMachine, fmt, mb, quickRequested, writeResult } from './lib/report.ts';

const { values } = parseArgs({ options: { devices: { type: 'string' }, generators: { type: 'string' }, quick: { type: 'boolean' } } });
const quick = quickRequested();
const opts = {
  devices: positiveOption(values, 'devices', quick ? 2000 : 19_500, true),
  generators: positiveOption(values, 'generators', 2, true),
};

/** A generator process (fixtures/idle-clients.ts) and its reply lines. */
class Generator {
  private readonly lines: Interface;
  private readonly waiting: Array<(line: Record<string, number>) => void> = [];

  constructor(readonly process: ChildProcess) {
    this.lines = createInterface({ input: process.stdout! });
    this.lines.on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Record<string, number>));
  }

  static async start(credentialsFile: string): Promise<Generator> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'idle-clients.ts'), credentialsFile], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const g = new Generator(child);
    await g.next(); // {"ready": n}
    return g;
  }

  next(): Promise<Record<string, number>> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async send(cmd: object): Promise<Record<string, number>> {
    const reply = this.next();
    this.process.stdin!.write(JSON.stringify(cmd) + '\n');
    return reply;
  }

  kill(): void {
    this.process.kill('SIGKILL');
  }
}

interface Side {
  idleRssMB: number;
  connectedRssMB: number;
  perConnectionKB: number;
  connected: number;
  failed: number;
  connectSeconds: number;
  connectsPerSecond: number;
  /** After a restart: from the server listening again to the last CONNACK. */
  reconnectSeconds: number;
  reconnected: number;
}

/** Connects everyone through the generators; resolves when all answered. */
async function connectAll(generators: Generator[], port: number): Promise<{ connected: number; failed: number; doneAt: number }> {
  const replies = await Promise.all(generators.map((g) => g.send({ cmd: 'connect', port })));
  return {
    connected: replies.reduce((n, r) => n + r.connected!, 0),
    failed: replies.reduce((n, r) => n + r.failed!, 0),
    doneAt: Math.max(...replies.map((r) => r.doneAt!)),
  };
}

async function withGenerators<T>(credentials: Credentials[], dir: string, run: (gs: Generator[]) => Promise<T>): Promise<T> {
  const per = Math.ceil(credentials.length / opts.generators);
  const generators: Generator[] = [];
  try {
    for (let i = 0; i < opts.generators; i++) {
      const file = path.join(dir, `credentials-${i}.json`);
      await writeFile(file, JSON.stringify(credentials.slice(i * per, (i + 1) * per)));
      generators.push(await Generator.start(file));
    }
    return await run(generators);
  } finally {
    for (const g of generators) g.kill();
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));

async function measure(
  credentials: Credentials[],
  dir: string,
  server: { pid: () => number; port: () => number; restart: () => Promise<void>; collect?: () => void },
): Promise<Side> {
  return withGenerators(credentials, dir, async (generators) => {
    server.collect?.();
    await settle();
    const idle = rssBytes(server.pid());
    const began = Date.now();
    const first = await connectAll(generators, server.port());
    const connectSeconds = (first.doneAt - began) / 1000;
    server.collect?.();
    await settle();
    const connectedRss = rssBytes(server.pid());
    await server.restart();
    const up = Date.now();
    await Promise.all(generators.map((g) => g.send({ cmd: 'drop' })));
    const again = await connectAll(generators, server.port());
    return {
      idleRssMB: mb(idle),
      connectedRssMB: mb(connectedRss),
      perConnectionKB: (connectedRss - idle) / 1024 / Math.max(1, first.connected),
      connected: first.connected,
      failed: first.failed,
      connectSeconds,
      connectsPerSecond: first.connected / connectSeconds,
      reconnectSeconds: (again.doneAt - up) / 1000,
      reconnected: again.connected,
    };
  });
}

async function runStoreTwin(): Promise<Side> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-bench-conn-'));
  const secretsFile = path.join(dir, 'secrets.json');
  const start = () =>
    startChild<{ mqttUrl: string }>(path.join(import.meta.dirname, 'fixtures', 'storetwin-server.ts'), [dir, String(opts.devices), secretsFile], 600_000, ['--expose-gc']);
  let child: Child<{ mqttUrl: string }> = await start();
  try {
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
    const credentials = Object.entries(secrets).map(([id, secret]) => ({ clientId: id, username: id, password: secret }));
    return await measure(credentials, dir, {
      pid: () => child.pid,
      port: () => Number(new URL(child.info.mqttUrl).port),
      restart: async () => {
        await child.kill();
        child = await start();
      },
      // A full collection before each RSS sample (the fixture answers SIGUSR2 with one).
      collect: () => child.process.kill('SIGUSR2'),
    });
  } finally {
    await child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

async function runMosquitto(): Promise<Side> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-bench-conn-'));
  const credentials = Array.from({ length: opts.devices }, (_, i) => ({ clientId: benchDeviceId(i), username: benchDeviceId(i), password: `secret-${i}` }));
  const broker = await startMosquitto(Object.fromEntries(credentials.map((c) => [c.username, c.password])));
  try {
    return await measure(credentials, dir, {
      pid: () => broker.pid,
      port: () => broker.port,
      restart: async () => {
        await broker.stop();
        await broker.restart();
      },
    });
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log('StoreTwin idle connections and reconnect storm');
console.log(describeMachine());
console.log(`${fmt(opts.devices)} devices over ${opts.generators} generator processes (raw sockets, keepalive 1 h), each authenticated with its own password`);
const results: Record<string, Side> = {};
for (const [name, run] of [
  ['mosquitto', runMosquitto],
  ['storetwin', runStoreTwin],
] as const) {
  const r = await run();
  results[name] = r;
  console.log(
    `  ${name.padEnd(10)} RSS ${fmt(r.idleRssMB, 1)} → ${fmt(r.connectedRssMB, 1)} MB (${fmt(r.perConnectionKB, 2)} KB/connection), ` +
      `${fmt(r.connected)} connected in ${fmt(r.connectSeconds, 1)} s (${fmt(r.connectsPerSecond)}/s), failed ${r.failed}; ` +
      `after a restart ${fmt(r.reconnected)} reconnected in ${fmt(r.reconnectSeconds, 1)} s`,
  );
  if (r.failed > 0 || r.reconnected < r.connected) process.exitCode = 1;
}
const st = results.storetwin!;
const at20k = st.idleRssMB + (st.perConnectionKB * 20_000) / 1024;
console.log(`StoreTwin at 20,000 connections (extrapolated from ${fmt(st.connected)}): ${fmt(at20k, 0)} MB RSS`);
console.log(`results: ${path.relative(process.cwd(), writeResult('connections', opts, { ...results, storetwinRssAt20kMB: at20k }))}`);
process.exit();
