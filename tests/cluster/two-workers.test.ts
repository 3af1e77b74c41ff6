/**
 * StoreTwin as two workers (`serve --worker`, child processes) on one Mosquitto, PostgreSQL,
 * InfluxDB and Redis, all real and on loopback — the topology of deploy/compose.yaml with
 * Mosquitto standing in for EMQX. The demo sites are split between the workers by leases.
 * - A door opening in an armed room of either site reaches a socket.io client connected to
 *   the OTHER worker (the alarm is raised by the site's owner, fanned out through Redis).
 * - A platform push that lands on the worker NOT holding the site is stored there and acted on
 *   by the holder (relayed through the broker); either worker answers the site's state.
 * - SIGKILL of one worker: the other serves its sites within 10 s, and every door event
 *   Mosquitto acknowledged meanwhile is stored exactly once (after dedupe) in InfluxDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { MqttClient } from 'mqtt';
import { io as connectLive, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { openOfflineContext } from '../../server/cli/offline-context.ts';
import { InfluxDB } from 'influx';
import { createIntegration, registerDevice } from '../helpers/api-client.ts';
import { eventually, tempDir, testConfig } from '../helpers/app.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { createDatabase, liveLeases, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'worker-child.ts');
const PASSWORD = 'correct horse battery';
const SERVER_PASSWORD = 'storetwin-cluster-password';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
const DOORS = [
  { id: 'door-cluster-hotel', site: HOTEL, zone: '3-05' },
  { id: 'door-cluster-shop', site: SHOP, zone: 'cash-room' },
];

let postgres: PostgresServer;
let redis: RedisServer;
let influxd: Influxd;
let mosquitto: Mosquitto;
let databaseUrl: string;
const env: Record<string, string> = {};
const workers = new Map<string, { child: ChildProcess; httpUrl: string }>();
const sockets: Socket[] = [];
const devices: MqttClient[] = [];
const secrets = new Map<string, string>();

function startWorker(name: string): Promise<{ child: ChildProcess; httpUrl: string }> {
  return tempDir().then(
    (dataDir) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, name, dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
        child.once('exit', (code) => reject(new Error(`worker ${name} exited early with ${code}`)));
        createInterface({ input: child.stdout! }).once('line', (line) => {
          const w = { child, httpUrl: (JSON.parse(line) as { httpUrl: string }).httpUrl };
          workers.set(name, w);
          resolve(w);
        });
      }),
  );
}

const leases = () => liveLeases(databaseUrl);

async function login(httpUrl: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'boss', password: PASSWORD }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function post(httpUrl: string, token: string, url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${httpUrl}${url}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function siteState(httpUrl: string, token: string, site: string): Promise<{ devices: Record<string, { door: string | null }> }> {
  const res = await fetch(`${httpUrl}/api/sites/${site}/state`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { devices: Record<string, { door: string | null }> };
}

async function live(httpUrl: string, token: string): Promise<Alarm[]> {
  const socket = connectLive(httpUrl, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  const seen: Alarm[] = [];
  socket.on('alarm', (a: Alarm) => seen.push(a));
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('connect_error', rej);
  });
  return seen;
}

beforeAll(async () => {
  [postgres, redis, influxd, mosquitto] = await Promise.all([startPostgres(), startRedis(), startInfluxd(), startMosquitto({}, { managed: true, clientIdFromUsername: false })]);
  databaseUrl = await createDatabase(postgres, 'storetwin_cluster');
  Object.assign(env, {
    STORETWIN_MQTT_URL: `mqtt://storetwin:${SERVER_PASSWORD}@127.0.0.1:${mosquitto.port}`,
    STORETWIN_DATABASE_URL: databaseUrl,
    STORETWIN_INFLUX_URL: `${influxd.url}/storetwin_cluster`,
    STORETWIN_REDIS_URL: redis.url,
    MOSQUITTO_FILES: JSON.stringify(mosquitto.files),
  });
  // The first admin, made with the command line's context on the shared PostgreSQL (as
  // `storetwin user add` would), before any worker runs.
  const ctx = await openOfflineContext(testConfig(await tempDir(), { databaseUrl }), { create: true });
  await ctx.users.createUser({ username: 'boss', password: PASSWORD, role: 'admin', sites: [] });
  await ctx.close();

  await Promise.all([startWorker('w1'), startWorker('w2')]);
  // Both sites held, one each (rendezvous hashing over two workers splits two sites either
  // way; what matters is that each is held by exactly one).
  await eventually(async () => (await leases()).size === 2, 15_000, 100);
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const d of devices) await d.endAsync(true).catch(() => undefined);
  for (const w of workers.values()) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await Promise.all([postgres?.stop(), redis?.stop(), influxd?.stop(), mosquitto?.close()]);
});

describe('two workers', () => {
  it('a door opening in an armed room of either site reaches a dashboard on the other worker', async () => {
    const w1 = workers.get('w1')!;
    const w2 = workers.get('w2')!;
    const token1 = await login(w1.httpUrl);
    const token2 = await login(w2.httpUrl);
    for (const d of DOORS) {
      const res = await post(w1.httpUrl, token1, '/api/devices', { id: d.id, site: d.site, type: 'door-sensor', zone: d.zone });
      expect(res.status).toBe(201);
      secrets.set(d.id, res.body.secret as string);
      // Armed through the worker that does NOT hold the site: the owner's view hears it (NOTIFY).
      expect((await post(w2.httpUrl, token2, `/api/sites/${d.site}/zones/${d.zone}/arm`, {})).status).toBe(200);
    }
    const owners = await leases();
    const onW1 = await live(w1.httpUrl, token1);
    const onW2 = await live(w2.httpUrl, token2);

    for (const [i, d] of DOORS.entries()) {
      // Mosquitto reloads its password file when the worker that registered the device tells it.
      const client = await eventually(() => connectDevice(mosquitto.url, d.id, secrets.get(d.id)!), 10_000, 200);
      devices.push(client);
      await client.publishAsync(`storetwin/${d.site}/${d.id}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 100 + i }), { qos: 1 });
      const other = owners.get(d.site) === 'w1' ? onW2 : onW1;
      const alarm = await eventually(() => other.find((a) => a.site === d.site && a.zone === d.zone && a.rule === 'door-opened-armed'), 10_000);
      expect(alarm).toMatchObject({ severity: 'critical', state: 'active' });
    }
    // The holder's twin has the door open, whichever worker registered the device and
    // whether or not the site changed hands since.
    for (const d of DOORS) {
      const holderName = (await leases()).get(d.site);
      const [holder, token] = holderName === 'w1' ? [w1, token1] : [w2, token2];
      await eventually(async () => (await siteState(holder.httpUrl, token, d.site)).devices[d.id]?.door === 'open', 5_000, 100);
    }
  });

  it('a platform push to the worker not holding the site raises the alarm at the holder, and either worker reads the site as it is', async () => {
    const holderName = (await leases()).get(HOTEL);
    const [holder, other] = holderName === 'w1' ? [workers.get('w1')!, workers.get('w2')!] : [workers.get('w2')!, workers.get('w1')!];
    const [holderToken, token] = [await login(holder.httpUrl), await login(other.httpUrl)];
    // The door the first test opened over MQTT, at its holder: the other worker reads it from
    // what the holder wrote, seconds later.
    await eventually(async () => (await siteState(other.httpUrl, token, HOTEL)).devices['door-cluster-hotel']?.door === 'open', 15_000, 200);

    const onHolder = await live(holder.httpUrl, holderToken);
    const { token: pushToken } = await createIntegration(other.httpUrl, token, { adapter: 'ctwing', site: HOTEL });
    await registerDevice(other.httpUrl, token, { id: 'door-cluster-ctwing', site: HOTEL, type: 'door-sensor', zone: '3-06', externalIds: { ctwing: 'ct-cluster-1' } });
    expect((await post(other.httpUrl, token, `/api/sites/${HOTEL}/zones/3-06/arm`, {})).status).toBe(200);
    const published = JSON.parse((await readFile(path.join(import.meta.dirname, '..', 'fixtures', 'platforms', 'ctwing-datareport-passthrough.json'))).toString()) as Record<string, unknown>;
    const alarmFrame = Buffer.from('AA5501030A010000000000280C000043', 'hex').toString('base64');
    const res = await fetch(`${other.httpUrl}/api/ingest/ctwing?token=${encodeURIComponent(pushToken)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...published, deviceId: 'ct-cluster-1', upPacketSN: 1, timestamp: Date.now(), payload: { APPdata: alarmFrame } }),
    });
    expect(await res.json()).toMatchObject({ accepted: 1, refused: 0 });

    // Stored by the worker the push reached, acted on by the one holding the site.
    const alarm = await eventually(() => onHolder.find((a) => a.zone === '3-06' && a.rule === 'door-opened-armed'), 10_000);
    expect(alarm).toMatchObject({ site: HOTEL, device: 'door-cluster-ctwing', state: 'active' });
    await eventually(async () => (await siteState(holder.httpUrl, holderToken, HOTEL)).devices['door-cluster-ctwing']?.door === 'open', 5_000, 100);
    await eventually(async () => (await siteState(other.httpUrl, token, HOTEL)).devices['door-cluster-ctwing']?.door === 'open', 15_000, 200);
  });

  it('SIGKILL of a worker: the other serves its sites within 10 s; every acknowledged event is stored once', async () => {
    const before = await leases();
    const victim = before.get(HOTEL)!;
    const survivor = victim === 'w1' ? 'w2' : 'w1';
    const door = devices[0]!; // the hotel's door sensor
    // Stream door events for the hotel before, across and after the kill; count PUBACKs.
    const acked = new Set<number>();
    let seq = 1000;
    let streaming = true;
    const streamer = (async () => {
      while (streaming) {
        const s = seq++;
        await door.publishAsync(`storetwin/${HOTEL}/door-cluster-hotel/up`, JSON.stringify({ type: 'door', state: s % 2 ? 'open' : 'closed', seq: s }), { qos: 1 });
        acked.add(s);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const influx = new InfluxDB(env.STORETWIN_INFLUX_URL!);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const killedAt = Date.now();
      const firstAfterKill = seq;
      workers.get(victim)!.child.kill('SIGKILL');
      // Served again: the survivor has stored an event published after the kill, and holds both leases.
      const maxStored = async () => ((await influx.query(`SELECT max("seq") FROM "raw"."events" WHERE "device" = 'door-cluster-hotel'`)) as unknown as Array<{ max: number }>)[0]?.max ?? 0;
      await eventually(async () => (await maxStored()) > firstAfterKill, 10_000, 50);
      const failoverMs = Date.now() - killedAt;
      console.log(`failover: ${victim}'s sites served by ${survivor} ${failoverMs} ms after SIGKILL (default leases: 6 s, renewed every 2 s)`);
      expect(failoverMs).toBeLessThanOrEqual(10_000);
      let seen = new Map<string, string>();
      await eventually(async () => {
        seen = await leases();
        return seen.get(HOTEL) === survivor && seen.get(SHOP) === survivor;
      }, 10_000, 100).catch((err: unknown) => {
        throw new Error(`leases after the kill: ${JSON.stringify(Object.fromEntries(seen))} (survivor ${survivor}): ${String(err)}`);
      });
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      streaming = false;
      await streamer.catch(() => undefined);
    }

    // Every event Mosquitto acknowledged reaches InfluxDB exactly once (the survivor resumes
    // the site's session and ingest's dedupe drops what the victim had already stored).
    const stored = await eventually(async () => {
      const rows = (await influx.query(`SELECT "seq" FROM "raw"."events" WHERE "device" = 'door-cluster-hotel' AND "seq" >= 1000`)) as unknown as Array<{ seq: number }>;
      const seqs = rows.map((r) => r.seq);
      return [...acked].every((s) => seqs.includes(s)) ? seqs : null;
    }, 15_000, 250);
    expect(stored.length, 'stored exactly once').toBe(new Set(stored).size);
    expect(acked.size).toBeGreaterThan(20);
  });
});
