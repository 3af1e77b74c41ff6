/**
 * The dashboard end to end in real headless Chromium against a real server: login, a
 * non-blank twin, a door opened over MQTT reaching the console and the twin within 2 s,
 * acknowledging from the browser, replay showing the door closed again, a hostile zone name
 * rendered as text, and socket.io refusing a client without a session.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { distinctColours, ensureDashboardBuilt, launchBrowser, pixels, redPixels, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { connectDevice } from '../helpers/mqtt.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch
// (window.__storetwin is set by dashboard/src/test-hooks.ts).
type ZoneDoors = { site: string; zones: Record<string, { door: string | null } | undefined> };
interface Hooks {
  twinStats(): unknown;
  state: ZoneDoors | null;
  alarmZones(): Array<{ zone: string; severity: string }>;
  notified(): number;
  replayWindow(): { from: number; to: number; at: number } | null;
  pick(zone: string): void;
}
declare const window: { __storetwinReady?: boolean; __storetwin: Hooks };
declare const localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
type RangeInput = { value: string; dispatchEvent(e: Event): boolean };

const SHOP = 'demo-shop';
const ZONE = 'cash-room';
const DOOR = 'ui-door-cash';
const PASSWORD = 'correct horse battery';
const CANVAS = 'canvas[data-testid="twin-canvas"]';
const EVIL = '<img src=x onerror=alert(1)>';

let t: TestApp;
let browser: TestBrowser;
let page: Page;
let door: MqttClient;
let token: string;
const dialogs: string[] = [];
let openedAt = 0;
let alarmId = '';

/** A small valid site whose zone is named like an XSS payload (names are user input). */
const evilSite = {
  id: 'xss-site',
  name: { en: 'XSS test site', 'zh-CN': 'XSS 测试' },
  kind: 'shop',
  timezone: 'Asia/Shanghai',
  floors: [
    {
      id: 'f1',
      name: { en: 'Ground floor', 'zh-CN': '1层' },
      level: 0,
      zones: [
        { id: 'evil', name: { en: EVIL, 'zh-CN': EVIL }, kind: 'hall', polygon: [[0, 0], [10, 0], [10, 8], [0, 8]] },
        { id: 'plain', name: { en: 'Plain room', 'zh-CN': '普通房间' }, kind: 'room', polygon: [[10, 0], [16, 0], [16, 8], [10, 8]] },
      ],
    },
  ],
};

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function waitReady(p: Page): Promise<void> {
  await p.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
}

async function publishDoor(state: 'open' | 'closed', seq: number): Promise<void> {
  await door.publishAsync(`storetwin/${SHOP}/${DOOR}/up`, JSON.stringify({ type: 'door', state, seq }), { qos: 1 });
}

/** Most alarm-red pixels over a few frames (the alarm pulses; critical is 0xdc2626 in twin/palette.ts). */
async function alarmPixels(name: string): Promise<number> {
  let most = redPixels(await screenshot(page, name, CANVAS));
  for (let i = 0; i < 3; i++) {
    await page.waitForTimeout(120);
    most = Math.max(most, redPixels(await pixels(page, CANVAS)));
  }
  return most;
}

beforeAll(async () => {
  ensureDashboardBuilt();
  const dataDir = await tempDir();
  await mkdir(path.join(dataDir, 'sites'), { recursive: true });
  await writeFile(path.join(dataDir, 'sites', 'xss-site.json'), JSON.stringify(evilSite));
  t = await startTestApp({}, { dataDir });
  await t.app.users.createUser({ username: 'admin', password: PASSWORD, role: 'admin' });
  token = (await t.app.users.login('admin', PASSWORD)).token;
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // The operator's remembered choices: the shop, in English (the page also works without them).
  await page.addInitScript(() => {
    if (!localStorage.getItem('storetwin.site')) localStorage.setItem('storetwin.site', 'demo-shop');
    localStorage.setItem('storetwin.language', 'en');
  });
  const { secret } = await t.app.devices.register({ id: DOOR, site: SHOP, type: 'door-sensor', zone: ZONE });
  door = await connectDevice(t.mqttUrl, DOOR, secret);
}, 180_000);

afterAll(async () => {
  await door?.endAsync();
  await browser?.close();
  await t?.stop();
});

describe('dashboard in headless Chromium', { timeout: 60_000 }, () => {
  it('sends an anonymous visitor to the login page, then logs in', async () => {
    await page.goto(`${t.httpUrl}/`);
    await page.waitForURL(/\/login/);
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/');
    await waitReady(page);
    expect(await page.textContent('[data-testid="user"]')).toContain('admin');
  });

  it('renders the twin: the canvas is not a single colour', async () => {
    const img = await screenshot(page, 'twin-live', CANVAS);
    expect(img.width).toBeGreaterThan(100);
    expect(distinctColours(img)).toBeGreaterThan(3);
    const stats = await page.evaluate(() => window.__storetwin.twinStats());
    expect(stats).toBeTruthy();
  });

  it('a door opened over MQTT in an armed zone turns the room to the alarm colour and reaches the console within 2 s', async () => {
    await publishDoor('closed', 1);
    await t.app.arming.arm(SHOP, ZONE, 'test');
    await page.waitForFunction(() => window.__storetwin.state?.zones['cash-room']?.door === 'closed', undefined, { timeout: 5000 });
    const before = await alarmPixels('before-alarm');
    await page.waitForTimeout(1500);

    openedAt = Date.now();
    await publishDoor('open', 2);
    const row = page.locator('[data-testid="alarm-console"] li[data-alarm]').first();
    await row.waitFor({ timeout: 2000 });
    const elapsed = Date.now() - openedAt;
    expect(elapsed).toBeLessThan(2000);
    alarmId = (await row.getAttribute('data-alarm')) ?? '';
    expect(alarmId).not.toBe('');

    const flashed = await page.evaluate(() => window.__storetwin.alarmZones());
    expect(flashed).toContainEqual({ zone: 'cash-room', severity: 'critical' });
    await page.waitForFunction(() => window.__storetwin.state?.zones['cash-room']?.door === 'open', undefined, { timeout: 2000 });
    const after = await alarmPixels('alarm');
    expect(after).toBeGreaterThan(before + 100);
    expect(await page.evaluate(() => window.__storetwin.notified())).toBeGreaterThanOrEqual(1);
  });

  it('acknowledging from the browser changes the alarm in the API', async () => {
    await page.click(`[data-testid="alarm-console"] li[data-alarm="${alarmId}"]`);
    await page.click('[data-testid="alarm-ack"]');
    await expect.poll(async () => (await api<{ alarm: Alarm }>('GET', `/api/alarms/${alarmId}`)).alarm.state, { timeout: 5000 }).toBe('acknowledged');
    await page.locator('[data-testid="alarm-state"]', { hasText: /acknowledged/i }).waitFor({ timeout: 3000 });
    const { alarm } = await api<{ alarm: Alarm }>('GET', `/api/alarms/${alarmId}`);
    expect(alarm.acknowledgedBy).toBe('admin');
    await screenshot(page, 'alarm-acknowledged');
  });

  it('replay: the scrubber moved back before the door opened shows the door closed again', async () => {
    await page.click('[data-testid="mode-replay"]');
    await page.locator('[data-testid="replay-scrubber"]').waitFor();
    await page.waitForFunction(() => window.__storetwin.replayWindow() !== null);
    const win = await page.evaluate(() => window.__storetwin.replayWindow());
    if (!win) throw new Error('no replay window');
    expect(win.to).toBeGreaterThanOrEqual(openedAt);
    const doorAt = () => page.evaluate(() => window.__storetwin.state?.zones['cash-room']?.door ?? null);
    expect(await doorAt()).toBe('open');

    // Move the real range input, as a user dragging it would.
    const offset = openedAt - 700 - win.from;
    await page.locator('[data-testid="replay-scrubber"]').evaluate((el, value) => {
      (el as unknown as RangeInput).value = String(value);
      (el as unknown as RangeInput).dispatchEvent(new Event('input', { bubbles: true }));
    }, offset);
    expect(await doorAt()).toBe('closed');
    await page.evaluate(() => window.__storetwin.pick('cash-room'));
    expect(await page.textContent('[data-testid="zone-door"]')).toMatch(/closed/i);
    await screenshot(page, 'replay-before-open');

    // Forward again past the opening: open, and the alarm is listed as open then.
    await page.locator('[data-testid="replay-scrubber"]').evaluate((el, value) => {
      (el as unknown as RangeInput).value = String(value);
      (el as unknown as RangeInput).dispatchEvent(new Event('input', { bubbles: true }));
    }, win.to - win.from);
    expect(await doorAt()).toBe('open');
    await page.click('[data-testid="mode-live"]');
  });

  it('a zone named <img src=x onerror=alert(1)> renders as text', async () => {
    await page.selectOption('[data-testid="site-picker"]', 'xss-site');
    await page.waitForFunction(() => window.__storetwin.state?.site === 'xss-site', undefined, { timeout: 10_000 });
    await page.evaluate(() => window.__storetwin.pick('evil'));
    await page.locator('[data-testid="panel-title"]').waitFor();
    expect(await page.textContent('[data-testid="panel-title"]')).toBe(EVIL);
    await page.waitForTimeout(500);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await screenshot(page, 'xss-as-text');
  });
});

describe('manager page and languages', { timeout: 60_000 }, () => {
  it('the phone page /m lists the alarm with its state and picture slot', async () => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${t.httpUrl}/m`);
    await phone.waitForURL(/\/login\?next=%2Fm/);
    await phone.fill('input[name="username"]', 'admin');
    await phone.fill('input[name="password"]', PASSWORD);
    await phone.click('button[type="submit"]');
    await phone.waitForURL((url) => url.pathname === '/m');
    await waitReady(phone);
    const item = phone.locator(`li[data-alarm="${alarmId}"]`);
    await item.waitFor();
    expect(await item.locator('figure.snapshot').count()).toBe(1);
    await screenshot(phone, 'manager-phone');
    await phone.close();
  });

  it('switches to zh-CN and shows footfall', async () => {
    await page.selectOption('[data-testid="site-picker"]', SHOP);
    await page.waitForFunction(() => window.__storetwin.state?.site === 'demo-shop', undefined, { timeout: 10_000 });
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator('.brand', { hasText: '门店孪生' }).waitFor();
    await page.click('[data-testid="footfall-toggle"]');
    await page.locator('[data-testid="footfall"] h2', { hasText: '客流' }).waitFor();
    expect(await page.locator('[data-testid="footfall"] svg.bars').count()).toBeGreaterThanOrEqual(1);
    await page.waitForTimeout(500);
    await screenshot(page, 'footfall-zh');
  });
});

describe('live feed', () => {
  it('socket.io without a session gets connect_error', async () => {
    const socket = io(t.httpUrl, { transports: ['websocket'], reconnection: false });
    const err = await new Promise<Error>((resolve, reject) => {
      socket.once('connect_error', resolve);
      socket.once('connect', () => reject(new Error('connected without a session')));
    });
    socket.close();
    expect(err.message).toBe('STW_ERR_AUTH_REQUIRED');
  });
});
