/**
 * Arming on the live feed, end to end on a real app: a zone armed, disarmed or handed back to
 * its schedule over the REST API reaches every socket of that site's users as `arming`, and
 * no socket of a user limited to other sites.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArmingChange } from '../../protocol/arming.ts';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

type Client = Socket<LiveServerEvents, LiveClientEvents>;
const SHOP = 'demo-shop';
const HOTEL = 'demo-hotel';
const PASSWORD = 'correct horse battery';

let t: TestApp;
const tokens: Record<string, string> = {};
const clients: Client[] = [];

async function client(user: string): Promise<{ socket: Client; seen: ArmingChange[] }> {
  const socket: Client = connect(t.httpUrl, { auth: { token: tokens[user] }, transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(socket);
  const seen: ArmingChange[] = [];
  socket.on('arming', (c) => seen.push(c));
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('connect_error', rej);
  });
  return { socket, seen };
}

async function call(user: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: { arming?: { armed: boolean } } }> {
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { arming?: { armed: boolean } } };
}

async function post(user: string, method: string, url: string, body?: unknown): Promise<number> {
  return (await call(user, method, url, body)).status;
}

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  t = await startTestApp();
  for (const [name, role, sites] of [
    ['boss', 'admin', []],
    ['shop-op', 'manager', [SHOP]],
    ['hotel-op', 'manager', [HOTEL]],
    ['shop-tech', 'technician', [SHOP]],
  ] as const) {
    await t.app.users.createUser({ username: name, password: PASSWORD, role, sites: [...sites] });
    tokens[name] = (await t.app.users.login(name, PASSWORD)).token;
  }
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await t?.stop();
});

describe('arming on the live feed', () => {
  it('pushes a zone armed, disarmed and handed back over the API to the users of its site only', async () => {
    const boss = await client('boss');
    const shop = await client('shop-op');
    const hotel = await client('hotel-op');
    const tech = await client('shop-tech');

    expect(await post('shop-op', 'POST', `/api/sites/${SHOP}/zones/cash-room/arm`, {})).toBe(200);
    expect(await post('hotel-op', 'POST', `/api/sites/${HOTEL}/zones/2-01/arm`, {})).toBe(200);
    expect(await post('shop-op', 'POST', `/api/sites/${SHOP}/zones/cash-room/disarm`, {})).toBe(200);
    // Handed back to its schedule: armed or not as the schedule says at this hour.
    const back = await call('shop-op', 'DELETE', `/api/sites/${SHOP}/zones/cash-room/arming`);
    expect(back.status).toBe(200);
    const scheduled = back.body.arming!.armed ? 'armed' : 'disarmed';
    // The last change: once the admin has it, everything before it was delivered too.
    expect(await post('hotel-op', 'POST', `/api/sites/${HOTEL}/zones/2-01/disarm`, {})).toBe(200);
    await waitFor(() => boss.seen.length === 5 && hotel.seen.length === 2 && shop.seen.length === 3 && tech.seen.length === 3);
    await new Promise((r) => setTimeout(r, 100));

    const brief = (c: ArmingChange) => `${c.site}/${c.zone}:${c.armed ? 'armed' : 'disarmed'} by ${c.by}`;
    expect(shop.seen.map(brief)).toEqual([`${SHOP}/cash-room:armed by shop-op`, `${SHOP}/cash-room:disarmed by shop-op`, `${SHOP}/cash-room:${scheduled} by shop-op`]);
    expect(hotel.seen.map(brief)).toEqual([`${HOTEL}/2-01:armed by hotel-op`, `${HOTEL}/2-01:disarmed by hotel-op`]);
    // Technicians see the twin of their sites, so its arming too; never another site's.
    expect(tech.seen.map((c) => c.site)).toEqual([SHOP, SHOP, SHOP]);
    expect(boss.seen.map((c) => c.site)).toEqual([SHOP, HOTEL, SHOP, SHOP, HOTEL]);
    expect(Date.parse(shop.seen[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('sends nothing for a refused change: another site’s zone answers 404, a role without zones:arm 403', async () => {
    const shop = await client('shop-op');
    const hotel = await client('hotel-op');
    expect(await post('shop-op', 'POST', `/api/sites/${HOTEL}/zones/2-02/arm`, {})).toBe(404);
    expect(await post('shop-tech', 'POST', `/api/sites/${SHOP}/zones/back-office/arm`, {})).toBe(403);
    // A marker both see, sent after the refused ones.
    expect(await post('boss', 'POST', `/api/sites/${HOTEL}/zones/2-03/arm`, {})).toBe(200);
    expect(await post('boss', 'POST', `/api/sites/${SHOP}/zones/back-office/arm`, {})).toBe(200);
    await waitFor(() => hotel.seen.length >= 1 && shop.seen.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(hotel.seen.map((c) => `${c.zone} by ${c.by}`)).toEqual(['2-03 by boss']);
    expect(shop.seen.map((c) => `${c.zone} by ${c.by}`)).toEqual(['back-office by boss']);
  });
});
