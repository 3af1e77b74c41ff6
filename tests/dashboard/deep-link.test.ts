/**
 * The alarm link of a notification (`/?alarm=<id>`) in real headless Chromium against a real
 * server: opened without a session it lands on the login page, which returns to the link after
 * login and opens that alarm's detail — on the alarm's site, though another was on screen. With
 * a session it opens at once, in en and zh-CN, at desktop and phone widths (screenshots in
 * test-artifacts/deep-link-*.png). A user who may not see the alarm gets the page as usual, and
 * the login page never returns to another origin.
 */
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { connectDevice } from '../helpers/mqtt.ts';

interface Hooks {
  state: { site: string } | null;
}
declare const window: { __storetwinReady?: boolean; __storetwin: Hooks };
declare const localStorage: { setItem(k: string, v: string): void };
declare const document: { documentElement: { scrollWidth: number } };
declare const location: { search: string };

const HOTEL = 'demo-hotel';
const ZONE = '2-14';
const DOOR = 'door-2-14';
const PASSWORD = 'correct horse battery';
const DETAIL = '[data-testid="alarm-detail"]';

let t: TestApp;
let browser: TestBrowser;
let door: MqttClient;
let alarm: Alarm;

async function newPage(language: 'en' | 'zh-CN', width = 1440, height = 900): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  // Another site on screen last time: the link must switch to the alarm's.
  await page.addInitScript((lang) => {
    localStorage.setItem('storetwin.site', 'demo-shop');
    localStorage.setItem('storetwin.language', lang);
  }, language);
  return page;
}

async function logIn(page: Page, username: string): Promise<void> {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
}

const ready = (page: Page) => page.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 30_000 });

beforeAll(async () => {
  ensureDashboardBuilt();
  t = await startTestApp();
  await t.app.users.createUser({ username: 'duty', password: PASSWORD, role: 'manager' });
  await t.app.users.createUser({ username: 'shop-only', password: PASSWORD, role: 'manager', sites: ['demo-shop'] });
  // A real alarm: the door of armed room 214 opened over MQTT.
  const token = await adminToken(t.app);
  const { secret } = await t.app.devices.register({ id: DOOR, site: HOTEL, type: 'door-sensor', zone: ZONE });
  door = await connectDevice(t.mqttUrl, DOOR, secret);
  const armed = await fetch(`${t.httpUrl}/api/sites/${HOTEL}/zones/${ZONE}/arm`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  expect(armed.status).toBe(200);
  await door.publishAsync(`storetwin/${HOTEL}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
  alarm = await eventually(async () => (await t.app.alarms.open(HOTEL)).find((a) => a.zone === ZONE), 5000);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await door?.endAsync();
  await browser?.close();
  await t?.stop();
});

describe('the alarm link of a notification', { timeout: 240_000 }, () => {
  it('logged out: the login page, then that alarm on its site after login', async () => {
    const page = await newPage('en');
    await page.goto(`${t.httpUrl}/?alarm=${alarm.id}`);
    await page.waitForURL(/\/login/);
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/?alarm=${alarm.id}`);
    await page.locator('input[name="username"]').waitFor();
    await screenshot(page, 'deep-link-login-desktop-en');

    await logIn(page, 'duty');
    await page.waitForURL((url) => url.pathname === '/');
    await ready(page);
    const detail = page.locator(DETAIL);
    await detail.waitFor({ timeout: 20_000 });
    expect(await detail.textContent()).toContain(alarm.message.en);
    expect(await detail.textContent()).toContain('214');
    expect(await page.evaluate(() => window.__storetwin.state?.site)).toBe(HOTEL);
    // Opened once: the address no longer carries the link (a reload does not open it again).
    expect(new URL(page.url()).search).toBe('');
    await screenshot(page, 'deep-link-desktop-en');
    await page.close();
  });

  it('logged in: opens at once, in Chinese, at desktop and phone widths', async () => {
    const page = await newPage('zh-CN');
    await page.goto(`${t.httpUrl}/login`);
    await page.locator('input[name="username"]').waitFor();
    await screenshot(page, 'deep-link-login-desktop-zh-CN');
    await logIn(page, 'duty');
    await page.waitForURL((url) => url.pathname === '/');
    await ready(page);
    expect(await page.locator(DETAIL).count()).toBe(0);

    await page.goto(`${t.httpUrl}/?alarm=${alarm.id}`);
    const detail = page.locator(DETAIL);
    await detail.waitFor({ timeout: 20_000 });
    expect(await detail.textContent()).toContain(alarm.message['zh-CN']);
    expect(await detail.textContent()).toContain('214房');
    await screenshot(page, 'deep-link-desktop-zh-CN');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.httpUrl}/?alarm=${alarm.id}`);
    await detail.waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'deep-link-phone-zh-CN');
    await page.close();
  });

  it('phone, English, logged out', async () => {
    const page = await newPage('en', 390, 844);
    await page.goto(`${t.httpUrl}/?alarm=${alarm.id}`);
    await page.waitForURL(/\/login/);
    await page.locator('input[name="username"]').waitFor();
    await screenshot(page, 'deep-link-login-phone-en');
    await logIn(page, 'duty');
    await page.waitForURL((url) => url.pathname === '/');
    const detail = page.locator(DETAIL);
    await detail.waitFor({ timeout: 30_000 });
    expect(await detail.textContent()).toContain(alarm.message.en);
    await screenshot(page, 'deep-link-phone-en');
    await page.close();
  });

  it("a user who may not see the alarm's site gets the page as usual", async () => {
    const page = await newPage('en');
    await page.goto(`${t.httpUrl}/?alarm=${alarm.id}`);
    await page.waitForURL(/\/login/);
    await logIn(page, 'shop-only');
    await page.waitForURL((url) => url.pathname === '/');
    await ready(page);
    // The alarm answered 404: nothing opens, the page stays on the user's site.
    await page.waitForFunction(() => !location.search.includes('alarm='), undefined, { timeout: 10_000 });
    expect(await page.locator(DETAIL).count()).toBe(0);
    expect(await page.evaluate(() => window.__storetwin.state?.site)).toBe('demo-shop');
    expect(await page.locator('p.error').count()).toBe(0);
    await page.close();
  });

  it('the login page returns to this origin only', async () => {
    const page = await newPage('en');
    await page.goto(`${t.httpUrl}/login?next=${encodeURIComponent('/\\evil.example/x')}`);
    await logIn(page, 'duty');
    await page.waitForURL((url) => url.pathname === '/');
    expect(new URL(page.url()).origin).toBe(t.httpUrl);
    await page.close();
  });
});
