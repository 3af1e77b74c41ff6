/**
 * Long reads beside live traffic (issue 9), on the real app: real SQLite, real HTTP, a real
 * MQTT device. ~200k events are written straight into the app's event store, then a backtest
 * of a '*' rule over all of them runs over HTTP (in the server's long-read thread), and WHILE
 * it runs (a second backtest is still refused with 429) /healthz answers and a device's QoS 1
 * publish is acknowledged and stored.
 * The proof is an order, not a time: the event acknowledged during the backtest is one of the
 * events the backtest itself replayed, so it was committed before the backtest's scan ended.
 * How long /healthz and PUBACK take under such load is measured by `npm run bench:stall`.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import { buildHistory } from '../../server/history/history.ts';
import { writeBusyEvents } from '../history/busy-month.ts';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function post(t: TestApp, path: string, token: string, signal?: AbortSignal) {
  const res = await fetch(`${t.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

async function userToken(t: TestApp, username: string): Promise<string> {
  await t.app.users.createUser({ username, password: 'correct horse battery', role: 'technician' });
  return (await t.app.users.login(username, 'correct horse battery')).token;
}

describe('a long backtest beside ingest and the API', () => {
  let t: TestApp;
  let admin: string;
  let tech: string;
  let door: MqttClient;
  let seeded = 0;
  const now = Date.now();
  // The '*' rule replays every site, each through its own index (the built-in device-silent).
  const longRun = `/api/rules/device-silent/backtest?from=${iso(now - 12 * DAY)}&to=${iso(now + 3600_000)}`;
  // A minute with a few events: answers at once when no other backtest runs.
  const probe = `/api/rules/device-silent/backtest?from=${iso(now - 2 * DAY)}&to=${iso(now - 2 * DAY + 60_000)}`;

  /** Polls with the probe until a backtest is seen running (429); returns that refusal. */
  const untilBusy = async (token: string) => {
    let refusal: Awaited<ReturnType<typeof post>> | undefined;
    await eventually(async () => {
      const r = await post(t, probe, token);
      if (r.status === 429) refusal = r;
      return r.status === 429;
    }, 30_000, 20);
    return refusal as Awaited<ReturnType<typeof post>>;
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t.app);
    tech = await userToken(t, 'tech');
    const hotel = t.app.sites.get('demo-hotel');
    if (!hotel) throw new Error('no demo hotel');
    // ~18.5k events a day: 11 days, ending an hour ago.
    seeded = await writeBusyEvents(hotel, { fromMs: now - 11 * DAY - 3600_000, toMs: now - 3600_000, append: (b) => t.app.storage.events.append(b) });
    const { secret } = await t.app.devices.register({ id: 'door-t-stall', site: 'demo-hotel', type: 'door-sensor', zone: '2-14' });
    door = await connectDevice(t.mqttUrl, 'door-t-stall', secret);
  }, 120_000);

  afterAll(async () => {
    await door?.endAsync();
    await t?.stop();
  });

  it('answers /healthz and acknowledges a QoS 1 event, stored, while the backtest runs', async () => {
    expect(seeded).toBeGreaterThan(190_000);
    let settled = false;
    const running = post(t, longRun, admin).finally(() => {
      settled = true;
    });

    // Another user's backtest is refused while this one runs: it has started and holds the slot.
    const other = await untilBusy(tech);
    expect(other.body.error?.code).toBe('STW_ERR_BUSY');
    expect(Number(other.retryAfter)).toBeGreaterThanOrEqual(1);
    // So is a second one of the same user.
    const mine = await post(t, probe, admin);
    expect(mine.status).toBe(429);
    expect(mine.body.error?.code).toBe('STW_ERR_BUSY');
    expect(Number(mine.retryAfter)).toBeGreaterThanOrEqual(1);

    const health = await fetch(`${t.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    // PUBACK comes only after the commit, so the event is in the store when this resolves.
    await door.publishAsync('storetwin/demo-hotel/door-t-stall/up', JSON.stringify({ type: 'door', state: 'open', seq: 1, ts: iso(Date.now()) }), { qos: 1 });
    const stored = await t.app.storage.events.query({ device: 'door-t-stall', limit: 100 });
    expect(stored.items.map((e) => e.type)).toContain('door');
    expect(settled).toBe(false);

    const result = await running;
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ truncated: false, reason: null });
    // The backtest replayed the event acknowledged while it ran: it was committed before the
    // backtest's scan reached its end, so ingest was not waiting for the backtest.
    expect(result.body.eventsScanned).toBe(seeded + stored.items.length);

    // The slot is free again.
    expect((await post(t, probe, tech)).status).toBe(200);
  }, 180_000);

  it('stops a backtest whose caller hung up, freeing the slot', async () => {
    const hangUp = new AbortController();
    const running = post(t, longRun, admin, hangUp.signal).catch((err: unknown) => err);
    await untilBusy(tech);
    hangUp.abort();
    expect(await running).toBeInstanceOf(Error);
    // Freed at the replay's next slice, not when the month would have been replayed.
    await eventually(async () => (await post(t, probe, tech)).status === 200, 30_000, 20);
  }, 120_000);
});

describe('bounds over HTTP, and reads in the long-read thread', () => {
  let t: TestApp;
  let admin: string;
  const now = Date.now();

  beforeAll(async () => {
    t = await startTestApp({ limits: { backtestMaxEvents: 500, historyMaxEvents: 5000 } });
    admin = await adminToken(t.app);
    const hotel = t.app.sites.get('demo-hotel');
    if (!hotel) throw new Error('no demo hotel');
    await writeBusyEvents(hotel, { fromMs: now - DAY, toMs: now, append: (b) => t.app.storage.events.append(b) });
  }, 60_000);

  afterAll(async () => t?.stop());

  it('answers what it replayed up to the event bound, and says so', async () => {
    const from = now - DAY;
    const res = await post(t, `/api/rules/device-silent/backtest?from=${iso(from)}&to=${iso(now)}`, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rule: 'device-silent', truncated: true, reason: 'events', eventsScanned: 500 });
    const scannedTo = Date.parse(String(res.body.scannedTo));
    expect(scannedTo).toBeGreaterThan(from);
    expect(scannedTo).toBeLessThan(now);
    expect(Array.isArray(res.body.firings)).toBe(true);
  });

  it('answers histories in place (a day or less) and from the thread (longer) alike, and 413 past the bound', async () => {
    const get = async (fromMs: number, toMs: number) => {
      const res = await fetch(`${t.httpUrl}/api/sites/demo-hotel/history?from=${iso(fromMs)}&to=${iso(toMs)}`, { headers: { authorization: `Bearer ${admin}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
    };
    const hotel = t.app.sites.get('demo-hotel');
    if (!hotel) throw new Error('no demo hotel');
    const deps = { events: t.app.storage.events, registry: t.app.directory, alarms: new SqliteAlarmStore(t.app.storage.db) };
    for (const [fromMs, toMs] of [
      [now - 6 * 3600_000, now - 5 * 3600_000], // an hour: built in place
      [now - 3 * DAY, now - DAY + 20 * 60_000], // two days, the first 20 min of the data in them: the thread
    ] as const) {
      const answer = await get(fromMs, toMs);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(JSON.parse(JSON.stringify(await buildHistory(deps, hotel, fromMs, toMs))));
      expect((answer.body.changes as unknown[]).length).toBeGreaterThan(100);
    }
    // ~18.5k events: over the bound of 5,000, in the thread and in place.
    for (const [fromMs, toMs] of [
      [now - 2 * DAY, now],
      [now - DAY, now],
    ] as const) {
      const big = await get(fromMs, toMs);
      expect(big.status).toBe(413);
      expect(big.body.error?.code).toBe('STW_ERR_QUERY_TOO_LARGE');
    }
  });
});
