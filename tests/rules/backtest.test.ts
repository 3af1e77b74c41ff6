import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../server/rules/backtest.ts';

import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { demoSites, rule } from './setup.ts';

const FROM = Date.parse('2026-11-20T00:00:00Z');
let dir: string;
let storage: SqliteStorage;

/**
 * 10,000 events over the hotel: heartbeats from every room door, plus a known pattern — room
 * 3-07's door opens every 6 hours and stays open 10 minutes (4 per day), all others close
 * within a minute.
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-backtest-'));
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const sites = await demoSites();
  const hotel = sites.get('demo-hotel');
  const doors = hotel?.devices.filter((d) => d.type === 'door-sensor') ?? [];
  const events: NewEvent[] = [];
  const push = (device: string, zone: string, ms: number, data: RecordedEvent) => {
    const ts = new Date(ms).toISOString();
    events.push({ site: 'demo-hotel', device, deviceType: 'door-sensor', zone, type: data.type, seq: null, ts, receivedAt: ts, data });
  };
  let t = FROM;
  let i = 0;
  while (events.length < 10_000 - 8) {
    const d = doors[i % doors.length];
    if (!d) break;
    if (d.id !== 'door-3-07') {
      if (i % 3 === 0) {
        push(d.id, d.zone, t, { type: 'door', state: 'open' });
        push(d.id, d.zone, t + 30_000, { type: 'door', state: 'closed' });
      } else push(d.id, d.zone, t, { type: 'heartbeat', battery: 3.1, rsrp: -90 });
    }
    t += 60_000;
    i++;
  }
  for (let k = 0; k < 4; k++) {
    const at = FROM + k * 6 * 3600_000 + 1000;
    push('door-3-07', '3-07', at, { type: 'door', state: 'open' });
    push('door-3-07', '3-07', at + 600_000, { type: 'door', state: 'closed' });
  }
  for (let k = 0; k < events.length; k += 1000) await storage.events.append(events.slice(k, k + 1000));
});

afterAll(async () => {
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('backtest', () => {
  it('replays 10,000 stored events and returns when the rule would have fired', async () => {
    const sites = await demoSites();
    const r = rule({
      id: 'open-long',
      site: 'demo-hotel',
      zoneKinds: ['room'],
      severity: 'major',
      message: { en: 'Room {zone} open {minutes} min', 'zh-CN': '{zone} {minutes}' },
      enabled: false, // a disabled rule can be tried before switching it on
      when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 },
    });
    const result = await backtest(r, { events: storage.events, sites, from: new Date(FROM).toISOString(), to: new Date(FROM + 30 * 86400_000).toISOString() });
    console.log(`backtest: ${result.eventsScanned} events in ${result.ms} ms (${Math.round((result.eventsScanned / Math.max(1, result.ms)) * 1000)} events/s)`);
    expect(result.eventsScanned).toBe(10_000);
    expect(result.firings.map((f) => [f.at, f.source])).toEqual(
      [0, 1, 2, 3].map((k) => [new Date(FROM + k * 6 * 3600_000 + 1000 + 300_000).toISOString(), 'demo-hotel/3-07']),
    );
    expect(result.firings[0]).toMatchObject({ zone: '3-07', device: null, message: { en: 'Room 307 open 5 min' } });
    expect(result.resolutions).toHaveLength(4);
    // What the live engine would have shown: nobody acknowledged, so the four door openings
    // fold into one alarm for the room, cleared by the last closing but still listed.
    expect(result.alarms).toEqual([
      expect.objectContaining({ source: 'demo-hotel/3-07', count: 4, latched: false, state: 'cleared', firstAt: result.firings[0]!.at, lastAt: result.firings[3]!.at }),
    ]);
  });

  it('answers complete replays as such, and replays a rule for every site through each site', async () => {
    const sites = await demoSites();
    const r = rule({ id: 'any-open', site: '*', severity: 'info', message: { en: 'x', 'zh-CN': 'x' }, when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] } });
    const to = new Date(FROM + 30 * 86400_000).toISOString();
    const all = await backtest(r, { events: storage.events, sites, from: new Date(FROM).toISOString(), to });
    expect(all).toMatchObject({ eventsScanned: 10_000, truncated: false, reason: null, scannedTo: to });
    const hotel = await backtest({ ...r, site: 'demo-hotel' }, { events: storage.events, sites, from: new Date(FROM).toISOString(), to });
    expect(all.firings).toEqual(hotel.firings);
  });

  it('stops at the event bound and says where, with the firings up to there', async () => {
    const sites = await demoSites();
    const r = rule({ id: 'any-open', site: 'demo-hotel', severity: 'info', message: { en: 'x', 'zh-CN': 'x' }, when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] } });
    const from = new Date(FROM).toISOString();
    const to = new Date(FROM + 30 * 86400_000).toISOString();
    const full = await backtest(r, { events: storage.events, sites, from, to });
    const part = await backtest(r, { events: storage.events, sites, from, to, maxEvents: 2500 });
    expect(part).toMatchObject({ eventsScanned: 2500, truncated: true, reason: 'events' });
    // The events replayed are exactly those before scannedTo (the fixture's are a minute apart),
    // and what fired on them is what the full replay found there.
    const cut = Date.parse(part.scannedTo);
    expect(cut).toBeGreaterThan(FROM);
    const before = storage.db.prepare('SELECT count(*) AS n FROM events WHERE ts >= ? AND ts < ?').get(FROM, cut) as { n: number };
    expect(before.n).toBe(2500);
    expect(part.firings).toEqual(full.firings.filter((f) => Date.parse(f.at) < cut));
    expect(part.firings.length).toBeGreaterThan(0);
  });

  it('stops at the time bound, and when the caller gives up', async () => {
    const sites = await demoSites();
    const r = rule({ id: 'any-open', site: 'demo-hotel', severity: 'info', message: { en: 'x', 'zh-CN': 'x' }, when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] } });
    const from = new Date(FROM).toISOString();
    const to = new Date(FROM + 30 * 86400_000).toISOString();
    const timed = await backtest(r, { events: storage.events, sites, from, to, maxMs: 1 });
    expect(timed).toMatchObject({ truncated: true, reason: 'time' });
    expect(timed.eventsScanned).toBeLessThan(10_000);
    expect(Date.parse(timed.scannedTo)).toBeLessThan(Date.parse(to));

    const gone = new AbortController();
    const progress: number[] = [];
    const running = backtest(r, {
      events: storage.events,
      sites,
      from,
      to,
      signal: gone.signal,
      onProgress: (f) => {
        progress.push(f);
        gone.abort();
      },
    });
    const aborted = await running;
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toBeGreaterThanOrEqual(0);
    expect(progress[0]).toBeLessThan(1);
    expect(aborted).toMatchObject({ truncated: true, reason: 'aborted' });
    expect(aborted.eventsScanned).toBeLessThan(10_000);
  });

  it('has no side effects: the stored events and the database are unchanged', async () => {
    const sites = await demoSites();
    const before = storage.db.prepare('SELECT (SELECT count(*) FROM rule_timers) AS t, (SELECT count(*) FROM devices) AS d').get();
    const r = rule({ id: 'any-open', site: 'demo-hotel', severity: 'info', message: { en: 'x', 'zh-CN': 'x' }, when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] } });
    const result = await backtest(r, { events: storage.events, sites, from: new Date(FROM).toISOString(), to: new Date(FROM + 3600_000).toISOString() });
    expect(result.firings.length).toBeGreaterThan(0);
    expect(storage.db.prepare('SELECT (SELECT count(*) FROM rule_timers) AS t, (SELECT count(*) FROM devices) AS d').get()).toEqual(before);
  });
});
