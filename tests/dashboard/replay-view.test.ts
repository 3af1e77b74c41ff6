/**
 * Replay and footfall as a person reads them, in real headless Chromium against a real server
 * whose SQLite holds a known past: the first event three hours ago (before it: "no data"),
 * door openings, 40 alarms within ten minutes (one mark "×40") and three lone ones, and the
 * counters' counts of today and of the same weekday last week. The window picker changes the
 * window, the axis shows site times, the cluster lists its alarms with absolute times, the
 * console's alarm times are absolute, and footfall shows its totals and an hour's values on
 * hover, on the desk and on the phone page, in en and zh-CN.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { localDayStart, localHour } from '../../server/history/local-time.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { putAlarms } from '../helpers/alarms.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';

interface Hooks {
  replayWindow(): { from: number; to: number; at: number; dataFrom: number } | null;
}
declare const window: { __storetwin: Hooks };
declare const localStorage: { setItem(k: string, v: string): void };
declare const document: { documentElement: { lang: string } };
type RangeInput = { value: string; dispatchEvent(e: Event): boolean };

const SHOP = 'demo-shop';
const TZ = 'Asia/Shanghai';
const PASSWORD = 'correct horse battery';
const H = 3_600_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let t: TestApp;
let browser: TestBrowser;
const NOW = Date.now();
/** The first recorded event: before it the replay has no data. */
const FIRST = NOW - 3 * H;
const CLUSTER_AT = NOW - 2 * H;
const LONE = [NOW - 80 * MIN, NOW - 42 * MIN, NOW - 4 * MIN];
const totals = { in: 0, out: 0, south: { in: 0, out: 0 }, weekIn: 0, weekOut: 0 };
/** The local hour of today holding the first count, and its values. */
let countHour = 0;
const perHour = new Map<number, { in: number; out: number }>();

/** Date and time as the dashboard shows them (i18n.dateTime) in the site's zone. */
const dateTime = (ms: number, language: string) =>
  new Intl.DateTimeFormat(language, { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ms);

function event(device: string, zone: string, deviceType: string, ms: number, data: NewEvent['data']): NewEvent {
  return { site: SHOP, device, deviceType, zone, type: data.type, seq: null, ts: iso(ms), receivedAt: iso(ms), data };
}

function alarm(firstMs: number, i: number): Alarm {
  const at = iso(firstMs);
  const cleared = iso(firstMs + 5 * MIN);
  return {
    id: randomUUID(),
    site: SHOP,
    zone: 'cash-room',
    device: null,
    rule: 'test-rule',
    source: `test-${i}`,
    severity: i % 3 === 0 ? 'critical' : 'major',
    state: 'cleared',
    acknowledged: true,
    message: { en: `Test alarm ${i}`, 'zh-CN': `测试告警 ${i}` },
    count: 1,
    firstAt: at,
    lastAt: at,
    acknowledgedAt: cleared,
    acknowledgedBy: 'admin',
    clearedAt: cleared,
    clearedBy: 'system',
    escalationLevel: 0,
    snapshot: null,
    latched: false,
    restoredAt: null,
    chattering: false,
    details: {},
    history: [],
  };
}

beforeAll(async () => {
  ensureDashboardBuilt();
  t = await startTestApp();
  await t.app.users.createUser({ username: 'admin', password: PASSWORD, role: 'admin' });

  const events: NewEvent[] = [];
  // Doors: the first event of all, then an opening every 20 minutes.
  events.push(event('shop-door-south', 'entrance-south', 'door-sensor', FIRST, { type: 'door', state: 'closed' }));
  for (let m = 10; m < 180; m += 20) {
    events.push(event('shop-door-south', 'entrance-south', 'door-sensor', FIRST + m * MIN, { type: 'door', state: 'open' }));
    events.push(event('shop-door-south', 'entrance-south', 'door-sensor', FIRST + (m + 2) * MIN, { type: 'door', state: 'closed' }));
  }
  // Counts of today (after the first event, before now) and of the same weekday last week.
  const today = localDayStart(NOW, TZ);
  const weekAgo = localDayStart(today - 7 * 24 * H + 12 * H, TZ);
  const start = Math.max(today, FIRST) + MIN;
  const step = (NOW - MIN - start) / 12;
  for (let i = 0; i < 12; i++) {
    const at = Math.round(start + i * step);
    for (const [device, zone, inN, outN] of [['shop-counter-south', 'entrance-south', 7 + i, 3 + i], ['shop-counter-north', 'entrance-north', 4, 5]] as const) {
      events.push(event(device, zone, 'footfall-counter', at, { type: 'count', in: inN, out: outN, period: 60 }));
      totals.in += inN;
      totals.out += outN;
      if (device === 'shop-counter-south') {
        totals.south.in += inN;
        totals.south.out += outN;
      }
      const hour = localHour(at, TZ);
      const v = perHour.get(hour) ?? { in: 0, out: 0 };
      perHour.set(hour, { in: v.in + inN, out: v.out + outN });
      // Last week at the same local time, fewer people.
      events.push(event(device, zone, 'footfall-counter', weekAgo + (at - today), { type: 'count', in: inN - 2, out: outN - 1, period: 60 }));
      totals.weekIn += inN - 2;
      totals.weekOut += outN - 1;
    }
  }
  countHour = localHour(start, TZ);
  await t.app.events.append(events);

  const alarms = new SqliteAlarmStore(t.app.storage.db);
  await putAlarms(alarms, [...Array.from({ length: 40 }, (_, i) => alarm(CLUSTER_AT + i * 15_000, i)), ...LONE.map((at, i) => alarm(at, 100 + i))]);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function openDesk(language: 'en' | 'zh-CN', width: number, height: number): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  await page.addInitScript((lang) => {
    localStorage.setItem('storetwin.site', 'demo-shop');
    localStorage.setItem('storetwin.language', lang);
  }, language);
  await logInThroughPage(page, t.httpUrl, '/', { username: 'admin', password: PASSWORD }, 45_000);
  return page;
}

async function enterReplay(page: Page): Promise<NonNullable<ReturnType<Hooks['replayWindow']>>> {
  await page.click('[data-testid="mode-replay"]');
  await page.locator('[data-testid="replay-axis"] .tick').first().waitFor({ timeout: 30_000 });
  const win = await page.evaluate(() => window.__storetwin.replayWindow());
  if (!win) throw new Error('no replay window');
  return win;
}

/** Waits until the bar shows the window the picker asked for (`from`/`to` are set as the load starts). */
async function loaded(page: Page): Promise<void> {
  await page.locator('[data-testid="replay-bar"]:is([data-state="ready"], [data-state="failed"])').waitFor({ timeout: 30_000 });
  const problem = await page.textContent('[data-testid="replay-problem"]');
  expect(await page.getAttribute('[data-testid="replay-bar"]', 'data-state'), problem ?? '').toBe('ready');
}

async function scrubTo(page: Page, offset: number): Promise<void> {
  await page.locator('[data-testid="replay-scrubber"]').evaluate((el, value) => {
    (el as unknown as RangeInput).value = String(value);
    (el as unknown as RangeInput).dispatchEvent(new Event('input', { bubbles: true }));
  }, offset);
}

describe('replay view', { timeout: 90_000 }, () => {
  let page: Page;
  beforeAll(async () => {
    page = await openDesk('en', 1440, 900);
  }, 60_000);
  afterAll(async () => page?.close());

  it('opens on the last 24 h with a time axis labelled in the site’s zone', async () => {
    const win = await enterReplay(page);
    expect(win.to - win.from).toBe(24 * H);
    expect(await page.locator('[data-testid="replay-window"]').inputValue()).toBe('day');
    const labels = await page.locator('[data-testid="replay-axis"] .tick').allTextContents();
    expect(labels.length).toBeGreaterThanOrEqual(8);
    // Every label is a round site time (or a date at the site's midnight), in order.
    const ticks = await page.locator('[data-testid="replay-axis"] .tick').evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { t: string } }).dataset.t)));
    for (const [i, label] of labels.entries()) {
      const at = ticks[i]!;
      const hm = new Intl.DateTimeFormat('en', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
      if (hm === '00:00') expect(label).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
      else expect(label).toBe(hm);
      expect(Number(hm.slice(0, 2)) % 2).toBe(0);
      expect(hm.slice(3)).toBe('00');
    }
    expect(await page.textContent('.replay-bar .tz')).toBe(TZ);
  });

  it('draws the time before the first recorded event as no data, and says so on the twin', async () => {
    const win = (await page.evaluate(() => window.__storetwin.replayWindow()))!;
    expect(win.dataFrom).toBe(FIRST);
    const hatch = page.locator('[data-testid="replay-nodata"]');
    expect(await hatch.textContent()).toBe('No data');
    expect(Number(await hatch.getAttribute('data-until'))).toBe(FIRST);
    const track = await page.locator('.replay-bar .track').boundingBox();
    const box = await hatch.boundingBox();
    expect(box!.width / track!.width).toBeCloseTo((FIRST - win.from) / (win.to - win.from), 2);
    // At the end the twin has data: no veil.
    expect(await page.locator('[data-testid="replay-veil"]').isVisible()).toBe(false);
    await scrubTo(page, FIRST - 30 * MIN - win.from);
    expect(await page.getAttribute('[data-testid="replay-time"]', 'data-nodata')).toBe('true');
    const veil = page.locator('[data-testid="replay-veil"]');
    expect(await veil.isVisible()).toBe(true);
    expect(await veil.locator('strong').textContent()).toBe(`No recorded data before ${dateTime(FIRST, 'en')}`);
    await screenshot(page, 'replay-nodata-en-desktop');
    await scrubTo(page, FIRST + 5 * MIN - win.from);
    expect(await page.getAttribute('[data-testid="replay-time"]', 'data-nodata')).toBe('false');
    expect(await veil.isVisible()).toBe(false);
  });

  it('merges close alarm marks into one “×40” listing each alarm with its absolute time', async () => {
    const cluster = page.locator('.mark-alarm[data-count="40"]');
    expect(await cluster.textContent()).toBe('×40');
    const title = (await cluster.getAttribute('title')) ?? '';
    expect(title.split('\n')[0]).toBe('40 alarms');
    expect(title).toContain(dateTime(CLUSTER_AT, 'en'));
    // The lone ones stay single marks without a count.
    const singles = page.locator('.mark-alarm[data-count="1"]');
    expect(await singles.count()).toBe(3);
    expect((await singles.allTextContents()).every((s) => s === '')).toBe(true);
    // 43 alarms, 4 marks: nothing lost.
    const counts = await page.locator('.mark-alarm').evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { count: string } }).dataset.count)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(43);

    await cluster.click();
    const list = page.locator('[data-testid="replay-cluster-list"]');
    await list.waitFor();
    expect(await list.locator('li').count()).toBe(40);
    expect(await list.locator('li time').first().textContent()).toBe(dateTime(CLUSTER_AT, 'en'));
    expect(await list.locator('li time').nth(39).textContent()).toBe(dateTime(CLUSTER_AT + 39 * 15_000, 'en'));
    // The click moved the replay to the first alarm of the cluster.
    expect((await page.evaluate(() => window.__storetwin.replayWindow()))!.at).toBe(CLUSTER_AT);
    await screenshot(page, 'replay-en-desktop');
    await list.locator('button.close').click();
  });

  it('lists the alarms open at the instant with absolute site times, never “just now”', async () => {
    await page.locator('.mark-alarm[data-count="1"]').last().click();
    const row = page.locator('[data-testid="alarm-console"] li[data-alarm]');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('.when').textContent()).toBe(dateTime(LONE[2]!, 'en'));
    expect(await page.locator('[data-testid="alarm-console"]').textContent()).not.toMatch(/just now|ago/);
  });

  it('the window picker changes the window: last hour, today, yesterday, custom', async () => {
    await page.selectOption('[data-testid="replay-window"]', 'hour');
    await page.waitForFunction(() => {
      const w = window.__storetwin.replayWindow();
      return w !== null && w.to - w.from === 3_600_000;
    });
    await loaded(page);
    // An hour is labelled every 5 or 10 minutes, and its data began before it: no hatch.
    const labels = await page.locator('[data-testid="replay-axis"] .tick').allTextContents();
    expect(labels.length).toBeGreaterThanOrEqual(6);
    const minutes = labels.map((l) => Number(l.slice(3)));
    expect(minutes.every((m) => m % 5 === 0)).toBe(true);
    expect(new Set(minutes).size).toBeGreaterThan(3);
    expect(await page.locator('[data-testid="replay-nodata"]').count()).toBe(0);

    await page.selectOption('[data-testid="replay-window"]', 'today');
    const today = localDayStart(Date.now(), TZ);
    await page.waitForFunction((from) => window.__storetwin.replayWindow()?.from === from, today);
    await loaded(page);

    await page.selectOption('[data-testid="replay-window"]', 'yesterday');
    const yesterday = localDayStart(today - H, TZ);
    await page.waitForFunction(([from, to]) => window.__storetwin.replayWindow()?.from === from && window.__storetwin.replayWindow()?.to === to, [yesterday, today]);
    await loaded(page);
    // Nothing was recorded before the first event: yesterday is no data up to it (or whole).
    expect(Number(await page.getAttribute('[data-testid="replay-nodata"]', 'data-until'))).toBe(FIRST >= today ? today : Math.max(FIRST, yesterday));
    if (FIRST >= today) {
      // Nothing at all, up to its very end: the twin stays veiled.
      expect(await page.locator('[data-testid="replay-veil"] strong').textContent()).toBe('No recorded data in this window');
      expect(await page.locator('[data-testid="replay-veil"]').isVisible()).toBe(true);
    }

    await page.selectOption('[data-testid="replay-window"]', 'custom');
    const local = (ms: number) => new Intl.DateTimeFormat('sv-SE', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms).replace(' ', 'T');
    const from = Math.floor((NOW - 4 * H) / MIN) * MIN;
    const to = Math.floor((NOW - H) / MIN) * MIN;
    await page.fill('[data-testid="replay-from"]', local(from));
    await page.fill('[data-testid="replay-to"]', local(to));
    await page.click('[data-testid="replay-apply"]');
    await page.waitForFunction(([f, tt]) => window.__storetwin.replayWindow()?.from === f && window.__storetwin.replayWindow()?.to === tt, [from, to]);
    await loaded(page);
    // Its first hour has no data (the first event was three hours ago).
    expect(Number(await page.getAttribute('[data-testid="replay-nodata"]', 'data-until'))).toBe(FIRST);
    // A reversed window is refused with a message.
    await page.fill('[data-testid="replay-from"]', local(to));
    await page.fill('[data-testid="replay-to"]', local(from));
    await page.click('[data-testid="replay-apply"]');
    expect(await page.textContent('[data-testid="replay-problem"]')).toBe('“From” must be before “To”');
    await screenshot(page, 'replay-custom-en-desktop');
  });

  it('stays in replay on a language switch: the same window and instant, relabelled', async () => {
    await page.selectOption('[data-testid="replay-window"]', 'hour');
    await page.waitForFunction(() => {
      const w = window.__storetwin.replayWindow();
      return w !== null && w.to - w.from === 3_600_000;
    });
    await loaded(page);
    const before = (await page.evaluate(() => window.__storetwin.replayWindow()))!;
    await scrubTo(page, 20 * MIN);
    const at = before.from + 20 * MIN;
    await page.waitForFunction((t) => window.__storetwin.replayWindow()?.at === t, at);
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.waitForFunction(([f, t]) => {
      const w = window.__storetwin.replayWindow();
      return w !== null && w.from === f && w.at === t && document.documentElement.lang === 'zh-CN';
    }, [before.from, at] as const);
    await loaded(page);
    expect(new URL(page.url()).pathname).toBe('/replay');
    expect(await page.inputValue('[data-testid="replay-window"]')).toBe('hour');
    await page.selectOption('[data-testid="language"]', 'en');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && window.__storetwin.replayWindow() !== null);
    await loaded(page);
  });
});

describe('replay in zh-CN and on a phone', { timeout: 90_000 }, () => {
  it('zh-CN desktop: labels, cluster and no data in Chinese', async () => {
    const page = await openDesk('zh-CN', 1440, 900);
    await enterReplay(page);
    expect(await page.textContent('[data-testid="replay-nodata"]')).toBe('无数据');
    expect(await page.locator('[data-testid="replay-window"] option:checked').textContent()).toBe('最近 24 小时');
    const cluster = page.locator('.mark-alarm[data-count="40"]');
    await cluster.click();
    await page.locator('[data-testid="replay-cluster-list"]').waitFor();
    expect(await page.locator('[data-testid="replay-cluster-list"] li time').first().textContent()).toBe(dateTime(CLUSTER_AT, 'zh-CN'));
    await screenshot(page, 'replay-zh-desktop');
    await page.close();
  });

  for (const language of ['en', 'zh-CN'] as const) {
    it(`${language} phone: the bar fits 390 px`, async () => {
      const page = await openDesk(language, 390, 844);
      await enterReplay(page);
      const bar = await page.locator('[data-testid="replay-bar"]').boundingBox();
      expect(bar!.width).toBeLessThanOrEqual(390);
      // The axis still has labels, spaced for the width.
      const labels = await page.locator('[data-testid="replay-axis"] .tick').allTextContents();
      expect(labels.length).toBeGreaterThanOrEqual(3);
      expect(labels.length).toBeLessThanOrEqual(8);
      const scroll = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
      expect(scroll).toBeLessThanOrEqual(390);
      await screenshot(page, `replay-${language === 'en' ? 'en' : 'zh'}-phone`);
      await page.close();
    });
  }
});

describe('footfall view', { timeout: 90_000 }, () => {
  it('desk: totals for the site and each entrance, a y-axis, values on hover', async () => {
    const page = await openDesk('en', 1440, 900);
    await page.click('[data-testid="footfall-toggle"]');
    const panel = page.locator('[data-testid="footfall"]');
    await panel.locator('figure.ff-series').first().waitFor();
    const site = panel.locator('figure.ff-series[data-zone=""]');
    expect(await site.locator('[data-testid="footfall-total-in"]').textContent()).toBe(String(totals.in));
    expect(await site.locator('[data-testid="footfall-total-out"]').textContent()).toBe(String(totals.out));
    expect(await site.locator('.ff-compare').textContent()).toBe(`Same time last week: ${totals.weekIn} in / ${totals.weekOut} out`);
    const pct = Math.round(((totals.in - totals.weekIn) / totals.weekIn) * 100);
    expect(await site.locator('.ff-in .change').textContent()).toBe(`+${pct}% vs last week`);
    const south = panel.locator('figure.ff-series[data-zone="entrance-south"]');
    expect(await south.locator('figcaption').textContent()).not.toBe('entrance-south');
    expect(await south.locator('[data-testid="footfall-total-in"]').textContent()).toBe(String(totals.south.in));
    // A y-axis with numbers, round steps from 0.
    const ys = (await site.locator('text.axis.y').allTextContents()).map(Number);
    expect(ys[0]).toBe(0);
    expect(ys.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...ys)).toBeGreaterThanOrEqual(Math.max(...[...perHour.values()].map((v) => v.in)));
    // Hover an hour: its values.
    await site.locator(`rect.hit[data-hour="${countHour}"]`).hover();
    const tip = site.locator('[data-testid="footfall-tip"]');
    await tip.waitFor();
    const v = perHour.get(countHour)!;
    expect(await tip.textContent()).toContain(`Today: ${v.in} in, ${v.out} out`);
    await screenshot(page, 'footfall-en-desktop');
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator('[data-testid="footfall"] h2', { hasText: '客流' }).waitFor();
    await page.locator('[data-testid="footfall"] figure.ff-series').first().waitFor();
    expect(await page.locator('[data-testid="footfall"] .ff-in .label').first().textContent()).toBe('进');
    await page.waitForTimeout(300);
    await screenshot(page, 'footfall-zh-desktop');
    await page.close();
  });

  for (const language of ['en', 'zh-CN'] as const) {
    it(`${language} phone page /m: footfall readable at 390 px`, async () => {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.addInitScript((lang) => localStorage.setItem('storetwin.language', lang), language);
      await logInThroughPage(page, t.httpUrl, '/m', { username: 'admin', password: PASSWORD });
      await page.click('[data-testid="footfall-toggle"]');
      const panel = page.locator('[data-testid="footfall"]');
      await panel.locator('figure.ff-series').first().waitFor();
      // The phone shows every visible site: pick the shop.
      if (await panel.locator('[data-testid="footfall-site"]').count()) {
        await panel.locator('[data-testid="footfall-site"]').selectOption(SHOP);
        await panel.locator('[data-testid="footfall-site"]').waitFor();
        await expect.poll(() => panel.locator('figure.ff-series[data-zone=""] [data-testid="footfall-total-in"]').textContent(), { timeout: 10_000 }).toBe(String(totals.in));
      }
      const site = panel.locator('figure.ff-series[data-zone=""]');
      expect(await site.locator('[data-testid="footfall-total-out"]').textContent()).toBe(String(totals.out));
      const chart = await site.locator('svg.bars').boundingBox();
      expect(chart!.width).toBeGreaterThan(330);
      expect(chart!.width).toBeLessThanOrEqual(390);
      // Axis text stays legible: at least 9 px drawn.
      const fontPx = await site.locator('text.axis.y').first().evaluate((el) => (el as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height);
      expect(fontPx).toBeGreaterThanOrEqual(9);
      await site.locator(`rect.hit[data-hour="${countHour}"]`).click();
      await site.locator('[data-testid="footfall-tip"]').waitFor();
      const scroll = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
      expect(scroll).toBeLessThanOrEqual(390);
      await screenshot(page, `footfall-${language === 'en' ? 'en' : 'zh'}-phone`);
      await page.close();
    });
  }
});
