/**
 * A real Mosquitto broker for tests and benchmarks: Debian's binary, started on a free loopback
 * port with a generated config (and password file), stopped and restarted on demand. With
 * `managed`, it is configured as README "An external MQTT broker" says: StoreTwin writes its
 * password_file and acl_file and signals the pid in its pid_file; messages are persisted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mosquittoPasswordHash } from '../../server/broker/external/mosquitto-passwd.ts';

function findBinary(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/sbin']) {
    const candidate = path.join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found: this runs a real Mosquitto broker. Install it (Debian: apt-get install mosquitto; .ci/run does).`);
}

/** A port nothing listens on now, on 127.0.0.1 (for servers that cannot be given port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  /** The broker's process id (benchmarks read its RSS and CPU time); 0 while stopped. */
  readonly pid: number;
  /** With `managed`: the files to give StoreTwin. */
  files: MosquittoFiles;
  /** What Mosquitto logged (errors; with `managed` also notices: reloads, refusals). */
  readonly log: string;
  /** Stops the broker (the test goes on: a connector must ride it out). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same users. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface MosquittoOptions {
  /** Extra mosquitto.conf lines (limits, `max_inflight_messages`…). */
  config?: readonly string[];
  /**
   * Accounts and ACLs from files StoreTwin writes (`files` says where: pass them to StoreTwin's
   * broker.external.mosquitto), persistence on, a pid file. `users` is then ignored.
   */
  managed?: boolean;
  /**
   * With `managed`: a client's id is its user name (README's single-server setup). Off for
   * several StoreTwin workers, whose per-site sessions share one account but need ids of their
   * own — as on EMQX, which the cluster tests stand Mosquitto in for.
   */
  clientIdFromUsername?: boolean;
}

/** Where a managed Mosquitto reads its accounts and writes its pid. */
export interface MosquittoFiles {
  passwordFile: string;
  aclFile: string;
  pidFile: string;
}

/**
 * Starts Debian's mosquitto on a free loopback port. With `users`, only they may connect
 * (a password file made with mosquitto_passwd); with none, anyone may.
 */
export async function startMosquitto(users: Record<string, string> = {}, opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = findBinary('mosquitto');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storetwin-mosquitto-'));
  const files: MosquittoFiles = { passwordFile: path.join(dir, 'passwd'), aclFile: path.join(dir, 'acl'), pidFile: path.join(dir, 'mosquitto.pid') };
  const { passwordFile } = files;
  writeFileSync(passwordFile, opts.managed ? '' : Object.entries(users).map(([user, password]) => `${user}:${mosquittoPasswordHash(password)}\n`).join(''), { mode: 0o644 });
  if (opts.managed) writeFileSync(files.aclFile, '', { mode: 0o644 });
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  const access = opts.managed
    ? [
        'allow_anonymous false',
        `password_file ${passwordFile}`,
        `acl_file ${files.aclFile}`,
        `pid_file ${files.pidFile}`,
        `use_username_as_clientid ${opts.clientIdFromUsername === false ? 'false' : 'true'}`,
        'persistence true',
        `persistence_location ${dir}/`,
        // Everything devices publish while StoreTwin is away is queued for its session.
        'max_queued_messages 100000',
      ]
    : [...(Object.keys(users).length > 0 ? ['allow_anonymous false', `password_file ${passwordFile}`] : ['allow_anonymous true']), 'persistence false'];
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      ...access,
      ...(opts.config ?? []),
      'log_dest stderr',
      'log_type error',
      ...(opts.managed ? ['log_type warning', 'log_type notice'] : []),
      // Running as root here: keep root rather than switching to a `mosquitto` user that may not read the temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let stderr = '';

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (exited) throw new Error(`mosquitto exited at start: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  };

  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    files,
    get log() {
      return stderr;
    },
    get pid() {
      return child?.pid ?? 0;
    },
    stop,
    restart: launch,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
