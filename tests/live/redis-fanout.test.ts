/**
 * The live feed across workers through a real Redis: two StoreTwin apps sharing one redis-server
 * (socket.io's Redis adapter). A zone armed over the REST API of one reaches the dashboards
 * connected to the other — those of users who may see that site, and no others. A wrong Redis
 * URL stops the start with a coded error.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArmingChange } from '../../protocol/arming.ts';
import { createApp } from '../../server/app.ts';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';
import { startTestApp, tempDir, testConfig, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

type Client = Socket<LiveServerEvents, LiveClientEvents>;
const SHOP = 'demo-shop';
const HOTEL = 'demo-hotel';
const PASSWORD = 'correct horse battery';

let redis: RedisServer;
let a: TestApp;
let b: TestApp;
const clients: Client[] = [];

async function token(t: TestApp, username: string, role: 'admin' | 'manager', sites: string[]): Promise<string> {
  await t.app.users.createUser({ username, password: PASSWORD, role, sites });
  return (await t.app.users.login(username, PASSWORD)).token;
}

async function client(t: TestApp, tok: string): Promise<ArmingChange[]> {
  const socket: Client = connect(t.httpUrl, { auth: { token: tok }, transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(socket);
  const seen: ArmingChange[] = [];
  socket.on('arming', (c) => seen.push(c));
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('connect_error', rej);
  });
  return seen;
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  redis = await startRedis();
  a = await startTestApp({ redisUrl: redis.url });
  b = await startTestApp({ redisUrl: redis.url });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

describe('live feed across workers (Redis)', () => {
  it('a change on one worker reaches the sockets of that site on the other, and only those', async () => {
    const shopOnB = await client(b, await token(b, 'shop-op', 'manager', [SHOP]));
    const hotelOnB = await client(b, await token(b, 'hotel-op', 'manager', [HOTEL]));
    const bossOnA = await client(a, await token(a, 'boss', 'admin', []));
    const shopManagerOnA = await token(a, 'shop-op', 'manager', [SHOP]);

    const res = await fetch(`${a.httpUrl}/api/sites/${SHOP}/zones/cash-room/arm`, { method: 'POST', headers: { authorization: `Bearer ${shopManagerOnA}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);

    await waitFor(() => shopOnB.length > 0 && bossOnA.length > 0);
    expect(shopOnB[0]).toMatchObject({ site: SHOP, zone: 'cash-room', armed: true });
    expect(bossOnA[0]).toMatchObject({ site: SHOP, zone: 'cash-room', armed: true });
    // Another site's user on the other worker hears nothing of it.
    await new Promise((r) => setTimeout(r, 300));
    expect(hotelOnB).toEqual([]);
    expect(shopOnB).toHaveLength(1); // once, not once per worker
  });

  it('a wrong Redis URL stops the start with STW_ERR_REDIS_UNREACHABLE, without the password', async () => {
    const port = await freePort();
    const dir = await tempDir();
    const err = await createApp(testConfig(dir, { redisUrl: `redis://:hunter2@127.0.0.1:${port}` })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STW_ERR_REDIS_UNREACHABLE' });
    expect(JSON.stringify(err)).not.toContain('hunter2');
  });
});
