/**
 * The overview's footfall rollup over a real SQLite event store: minutes are read once and
 * sealed GRACE_MS behind now; what arrives in unsealed minutes is read next time; a count for
 * a sealed minute is taken from the bus (as ingest announces it) and never counted twice;
 * concurrent reads add nothing twice.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../server/events.ts';
import { FootfallRollup, GRACE_MS } from '../../server/overview/index.ts';

import type { NewEvent } from '../../server/storage/types.ts';

const MIN = 60_000;
const DAY_START = Date.parse('2026-11-22T16:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const count = (device: string, ms: number, inN: number): NewEvent => ({
  site: 's',
  device,
  deviceType: 'footfall-counter',
  zone: 'entrance',
  type: 'count',
  seq: null,
  ts: iso(ms),
  receivedAt: iso(ms),
  data: { type: 'count', in: inN, out: 1, period: 60 },
});
const total = (m: Int32Array) => m.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0);

let dir: string;
let storage: SqliteStorage;
let bus: EventBus;
let now = DAY_START + 10 * 60 * MIN;
let rollup: FootfallRollup;
const day = { device: 'c1', start: DAY_START, end: DAY_START + 24 * 60 * MIN };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'storetwin-rollup-'));
  storage = openSqliteStorage(path.join(dir, 'storetwin.db'));
  bus = new EventBus();
  rollup = new FootfallRollup({ events: storage.events, bus, now: () => now });
  rollup.start();
  // A count every minute of the first ten hours: 600 of 2 people.
  await storage.events.append(Array.from({ length: 600 }, (_, i) => count('c1', DAY_START + i * MIN + 500, 2)));
});

afterAll(async () => {
  await rollup?.stop();
  storage?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('footfall rollup', () => {
  it('reads a day once, and per minute', async () => {
    const [m] = await rollup.read([day]);
    expect(total(m!)).toBe(1200);
    expect(m![0]).toBe(2);
    expect(m![1]).toBe(1);
    expect(m!.length).toBe(2 * 24 * 60);
  });

  it('reads what arrives in unsealed minutes next time, sealed ones only from the bus', async () => {
    // Within the grace (not sealed): stored, not announced — the next read finds it.
    await storage.events.append([count('c1', now - GRACE_MS / 2, 5)]);
    // Older than the grace (sealed): stored and announced, as ingest does — taken from the bus.
    const late = count('c1', now - 3 * 60 * MIN, 7);
    bus.emit('events.accepted', [late]);
    await storage.events.append([late]);
    const [m] = await rollup.read([day]);
    expect(total(m!)).toBe(1200 + 5 + 7);
    // Time passes: the minute within the grace is sealed now, and still counted once.
    now += GRACE_MS;
    const [again] = await rollup.read([day]);
    expect(total(again!)).toBe(1212);
  });

  it('adds nothing twice when two reads run at once', async () => {
    await storage.events.append([count('c1', now - 60_000, 3)]);
    const [a, b] = await Promise.all([rollup.read([day]), rollup.read([day])]);
    expect(total(a![0]!)).toBe(1215);
    expect(total(b![0]!)).toBe(1215);
    now += 2 * GRACE_MS;
    expect(total((await rollup.read([day]))[0]!)).toBe(1215);
  });

  it('keeps other devices and heartbeats out', async () => {
    await storage.events.append([count('c2', now - 60_000, 100), { ...count('c1', now - 60_000, 0), type: 'heartbeat', data: { type: 'heartbeat' } }]);
    bus.emit('events.accepted', [count('c2', DAY_START + MIN, 100)]);
    expect(total((await rollup.read([day]))[0]!)).toBe(1215);
  });
});
