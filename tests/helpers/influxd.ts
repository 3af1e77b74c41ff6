/**
 * A real InfluxDB 1.x for tests: Debian's influxd on loopback with a config of its own (HTTP and
 * the RPC port on free 127.0.0.1 ports, meta/data/wal in a temp dir, no usage reporting, no
 * _internal monitoring, quiet logs, continuous queries run every second so tests see them).
 * A missing influxd fails the suite with how to install it: a skip would hide a broken store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './mosquitto.ts';

export interface Influxd {
  /** `http://127.0.0.1:PORT` (no database: tests append `/<db>`). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface InfluxdOptions {
  /** Turns authentication on with this admin (created before anyone else may connect). */
  admin?: { username: string; password: string };
}

const START_TIMEOUT_MS = 20_000;

function findInfluxd(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    const candidate = path.join(dir, 'influxd');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new Error('influxd not found: apt-get install influxdb (Debian ships 1.6.7; .ci/run installs it). The InfluxDB event store tests need a real server.');
}

/** Two distinct free ports: HTTP and the RPC (backup/restore) port, which influxd binds too. */
async function twoFreePorts(): Promise<[number, number]> {
  const http = await freePort();
  for (;;) {
    const rpc = await freePort();
    if (rpc !== http) return [http, rpc];
  }
}

function configText(dir: string, httpPort: number, rpcPort: number, auth: boolean): string {
  return [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = "${path.join(dir, 'meta')}"`,
    '  logging-enabled = false',
    '[data]',
    `  dir = "${path.join(dir, 'data')}"`,
    `  wal-dir = "${path.join(dir, 'wal')}"`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[subscriber]',
    '  enabled = false',
    '[http]',
    `  bind-address = "127.0.0.1:${httpPort}"`,
    `  auth-enabled = ${auth}`,
    '  log-enabled = false',
    '  pprof-enabled = false',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '[continuous_queries]',
    '  enabled = true',
    '  log-enabled = false',
    '  run-interval = "1s"',
    '',
  ].join('\n');
}

async function pingAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`);
    return res.status === 204;
  } catch {
    return false;
  }
}

async function waitForPing(url: string, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await pingAnswers(url))) {
    if (proc.exitCode !== null) throw new Error(`influxd exited at start (code ${proc.exitCode}): ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`influxd did not answer ${url}/ping within ${START_TIMEOUT_MS} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** With auth on and no user yet, InfluxDB lets anyone create the first admin. */
async function createAdmin(url: string, admin: { username: string; password: string }): Promise<void> {
  const q = `CREATE USER "${admin.username}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`;
  const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  if (!res.ok) throw new Error(`influxd refused to create the admin user: ${res.status} ${await res.text()}`);
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Starts influxd and resolves once `GET /ping` answers 204. */
export async function startInfluxd(opts: InfluxdOptions = {}): Promise<Influxd> {
  const binary = findInfluxd();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storetwin-influxd-'));
  const [port, rpcPort] = await twoFreePorts();
  const config = path.join(dir, 'influxdb.conf');
  writeFileSync(config, configText(dir, port, rpcPort, opts.admin !== undefined));
  const proc = spawn(binary, ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(url, proc, () => stderr);
    if (opts.admin) await createAdmin(url, opts.admin);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, stop };
}
