/**
 * What a Frigate NVR is to StoreTwin, for tests: its MQTT broker (a real Mosquitto, started on a
 * free port with a generated config and password file) and a stand-in of its HTTP API answering
 * the calls StoreTwin makes with Frigate's shapes: `POST /api/events/{camera}/{label}/create`
 * → `{success, message, event_id}` (404 `{success: false, message}` for an unknown camera),
 * `GET /api/events/{id}/snapshot.jpg` (404 `{success: false, message: "Event … not found"}` until
 * Frigate has written it) and `GET /api/{camera}/latest.jpg`, with real JPEGs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mulberry32 } from '../../devices/shared/random.ts';
import { renderSnapshot } from '../../devices/shared/snapshot.ts';

// ---- Mosquitto -----------------------------------------------------------------------------------

function findBinary(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/sbin']) {
    const candidate = path.join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found: the Frigate tests run a real Mosquitto broker. Install it (Debian: apt-get install mosquitto; .ci/run does).`);
}

async function freePort(): Promise<number> {
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
  /** Stops the broker (the test goes on: a connector must ride it out). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same users. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A Mosquitto with password authentication for `users`, on 127.0.0.1 and a free port. */
export async function startMosquitto(users: Record<string, string>): Promise<Mosquitto> {
  const binary = findBinary('mosquitto');
  const passwd = findBinary('mosquitto_passwd');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storetwin-mosquitto-'));
  const passwordFile = path.join(dir, 'passwd');
  writeFileSync(passwordFile, '', { mode: 0o644 });
  for (const [user, password] of Object.entries(users)) {
    const r = spawnSync(passwd, ['-b', passwordFile, user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
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
    stop,
    restart: launch,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- Frigate's HTTP API ------------------------------------------------------------------------

export interface FrigateApiOptions {
  cameras: readonly string[];
  /** How many GETs of a new manual event's snapshot answer 404 before it is written. */
  snapshotDelayGets?: number;
  /** Never write manual events' snapshots (a Frigate that fails to). */
  noEventSnapshots?: boolean;
  /** Answer latest.jpg 404 too. */
  noLatest?: boolean;
}

export interface SeenCall {
  method: string;
  path: string;
  body: unknown;
  /** For a created event: the event_id answered. */
  eventId?: string;
}

export interface FrigateApi {
  url: string;
  /** Every call, in order. */
  readonly calls: SeenCall[];
  /** Makes a tracked object's snapshot available (as Frigate has one for each detection). */
  addDetection(eventId: string, camera: string): Buffer;
  /** The JPEG served for an event id (created or added), if any. */
  pictureOf(eventId: string): Buffer | undefined;
  /** The JPEG latest.jpg serves for a camera. */
  latestOf(camera: string): Buffer;
  close(): Promise<void>;
}

function jpegFor(label: string, seed: number): Buffer {
  return renderSnapshot({ label, time: '2026-11-30 02:14:07', hour: 2, zoneKind: 'hall', people: 1, random: mulberry32(seed) });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

export async function startFrigateApi(opts: FrigateApiOptions): Promise<FrigateApi> {
  const calls: SeenCall[] = [];
  const events = new Map<string, { camera: string; jpeg: Buffer; getsUntilReady: number }>();
  const latest = new Map<string, Buffer>();
  let seed = 1;
  const latestOf = (camera: string): Buffer => {
    let jpeg = latest.get(camera);
    if (!jpeg) {
      jpeg = jpegFor(`${camera} latest`, seed++);
      latest.set(camera, jpeg);
    }
    return jpeg;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://frigate');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        // keep the text
      }
      const call: SeenCall = { method: req.method ?? '', path: `${url.pathname}${url.search}`, body };
      calls.push(call);
      const parts = url.pathname.split('/').map((p) => decodeURIComponent(p));
      // POST /api/events/{camera}/{label}/create
      if (req.method === 'POST' && parts.length === 6 && parts[1] === 'api' && parts[2] === 'events' && parts[5] === 'create') {
        const camera = parts[3] as string;
        if (!opts.cameras.includes(camera)) return json(res, 404, { success: false, message: `${camera} is not a valid camera.` });
        const now = Date.now() / 1000;
        const id = `${now.toFixed(6)}-${randomBytes(3).toString('hex')}`;
        call.eventId = id;
        if (!opts.noEventSnapshots) events.set(id, { camera, jpeg: jpegFor(`${camera} ${parts[4]}`, seed++), getsUntilReady: opts.snapshotDelayGets ?? 0 });
        return json(res, 200, { success: true, message: 'Successfully created event.', event_id: id });
      }
      // GET /api/events/{id}/snapshot.jpg
      if (req.method === 'GET' && parts.length === 5 && parts[1] === 'api' && parts[2] === 'events' && parts[4] === 'snapshot.jpg') {
        const id = parts[3] as string;
        const e = events.get(id);
        if (!e || e.getsUntilReady > 0) {
          if (e) e.getsUntilReady -= 1;
          return json(res, 404, { success: false, message: `Event ${id} not found` });
        }
        res.setHeader('content-type', 'image/jpeg');
        return res.end(e.jpeg);
      }
      // GET /api/{camera}/latest.jpg
      if (req.method === 'GET' && parts.length === 4 && parts[1] === 'api' && parts[3] === 'latest.jpg') {
        const camera = parts[2] as string;
        if (opts.noLatest || !opts.cameras.includes(camera)) return json(res, 404, { success: false, message: 'Camera not found' });
        res.setHeader('content-type', 'image/jpeg');
        return res.end(latestOf(camera));
      }
      json(res, 404, { detail: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    addDetection(eventId, camera) {
      const jpeg = jpegFor(`${camera} person`, seed++);
      events.set(eventId, { camera, jpeg, getsUntilReady: 0 });
      return jpeg;
    },
    pictureOf: (id) => events.get(id)?.jpeg,
    latestOf,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
