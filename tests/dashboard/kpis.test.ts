/**
 * The response-KPI page (/kpis) in real headless Chromium against a real server whose alarms
 * were raised over MQTT and acknowledged after known (stepped) delays: the header offers the
 * page to a manager and not to an operator, the figures per site, person and severity with
 * durations written out, the periods, one site, the CSV download, and how it looks at desktop
 * and phone widths in en and zh-CN (test-artifacts/kpis-*.png).
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { PASSWORD, startKpiApp, type KpiApp } from '../kpis/app.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch.
declare const localStorage: { setItem(k: string, v: string): void };
declare const document: { documentElement: { scrollWidth: number } };

const RESULT = '[data-testid="kpi-result"]';

let k: KpiApp;
let browser: TestBrowser;
let page: Page;
let hotel: Alarm;
let shopLate: Alarm;

async function ack(alarm: Alarm, token: string): Promise<Alarm> {
  const res = await fetch(`${k.httpUrl}/api/alarms/${alarm.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(200);
  return ((await res.json()) as { alarm: Alarm }).alarm;
}

const logIn = (p: Page, username: string, path: string) => logInThroughPage(p, k.httpUrl, path, { username, password: PASSWORD });

/** Waits for the figures of these choices to be on screen. */
async function shown(attrs: Record<string, string>): Promise<void> {
  const sel = RESULT + Object.entries(attrs).map(([k, v]) => `[data-${k}="${v}"]`).join('');
  await page.locator(sel).waitFor({ timeout: 15_000 });
}

const rowText = (key: string) => page.locator(`${RESULT} tr[data-key="${key}"]`).innerText();
const fitsWidth = async (width: number) => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

async function setLanguage(language: 'en' | 'zh-CN'): Promise<void> {
  await page.selectOption('[data-testid="language"]', language);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  k = await startKpiApp();
  const mia = await k.user('mia', 'manager');
  const sam = await k.user('sam', 'manager', ['demo-shop']);
  await k.user('olga', 'operator');
  const hotelDoor = await k.door('demo-hotel', '4-07', 'ui-kpi-hotel');
  const shopDoor = await k.door('demo-shop', 'cash-room', 'ui-kpi-shop');
  hotel = await hotelDoor.flap(3);
  k.clock.step(80_000);
  hotel = await ack(hotel, mia);
  shopLate = await shopDoor.flap(1);
  k.clock.step(725_000);
  shopLate = await ack(shopLate, sam);
  await shopDoor.flap(1);

  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
});

describe('response KPI page', { timeout: 120_000 }, () => {
  it('is not offered to an operator, and tells one who types the address', async () => {
    const p = await browser.newPage();
    await p.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
    await logIn(p, 'olga', '/');
    expect(await p.locator('[data-testid="kpis-link"]').count()).toBe(0);
    await p.goto(`${k.httpUrl}/kpis`);
    await p.locator('[data-testid="kpi-forbidden"]').waitFor();
    await p.close();
  });

  it('is offered to a manager in the header, and shows the figures per site', async () => {
    await logIn(page, 'mia', '/');
    await screenshot(page, 'kpis-header-1440-en', 'header.app-header');
    await page.click('[data-testid="kpis-link"]');
    await page.waitForURL((url) => url.pathname === '/kpis');
    await shown({ by: 'site', period: '7d', site: '' });
    expect(await rowText('demo-shop')).toMatch(/^Demo Shop\s+2\s+0%\s+0 of 1\s+median 12 min \d+ s\s+90% within 12 min \d+ s/);
    expect(await rowText('demo-hotel')).toMatch(/^Demo Hotel\s+1\s+100%\s+1 of 1\s+median 1 min 2\d s/);
    expect(await rowText('total')).toMatch(/^All\s+3\s+50%\s+1 of 2\s/);
    expect(await rowText('demo-shop')).toContain('1 still within target');
    await fitsWidth(1440);
    await screenshot(page, 'kpis-1440-en');
  });

  it('per person and per severity, durations as the API measured them', async () => {
    await page.click('[data-testid="kpi-by"] button[data-value="user"]');
    await shown({ by: 'user' });
    expect(new URL(page.url()).searchParams.get('by')).toBe('user');
    const toAck = (Date.parse(hotel.acknowledgedAt!) - Date.parse(hotel.firstAt)) / 1000;
    const s = Math.round(toAck);
    expect(await rowText('mia')).toContain(`median ${Math.floor(s / 60)} min ${s % 60} s`);
    expect(await rowText('sam')).toMatch(/^sam\s+1\s+0%/);
    expect(await rowText('')).toMatch(/^Nobody yet\s+1\s+—/);
    await page.click('[data-testid="kpi-by"] button[data-value="severity"]');
    await shown({ by: 'severity' });
    expect(await rowText('critical')).toMatch(/^critical\s+3\s+50%/);
  });

  it('today, 30 days and one site', async () => {
    await page.click('[data-testid="kpi-period"] button[data-value="30d"]');
    await shown({ by: 'severity', period: '30d' });
    await page.click('[data-testid="kpi-by"] button[data-value="site"]');
    await page.selectOption('[data-testid="kpi-site"]', 'demo-hotel');
    await shown({ by: 'site', site: 'demo-hotel', period: '30d' });
    expect(await page.locator(`${RESULT} tbody tr`).count()).toBe(1);
    expect(await page.locator(`${RESULT} tfoot`).count()).toBe(0);
    await page.selectOption('[data-testid="kpi-site"]', '');
    await page.click('[data-testid="kpi-period"] button[data-value="today"]');
    await shown({ by: 'site', site: '', period: 'today' });
    expect(await page.locator('[data-testid="kpi-range"]').innerText()).toMatch(/(00|24):00:00 – .*\(Asia\/Shanghai\)$/);
  });

  it('downloads the CSV in the page language', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="kpi-download"]')]);
    expect(download.suggestedFilename()).toMatch(/^storetwin-response-kpis-all-sites-by-site-.*\.csv$/);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8').slice(1).split('\r\n')[0]).toMatch(/^site,name,alarms,/);

    await setLanguage('zh-CN');
    await shown({ by: 'site' });
    const [zh] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="kpi-download"]')]);
    const text = (await readFile((await zh.path())!)).toString('utf8');
    expect(text.slice(1).split('\r\n')[0]).toMatch(/^门店,名称,告警数,/);
    expect(text).toContain('demo-shop,演示商店,2,');
  });

  it('in Chinese and on a phone', async () => {
    await page.click('[data-testid="kpi-period"] button[data-value="7d"]');
    await shown({ by: 'site', period: '7d' });
    expect(await page.locator(`${RESULT} thead`).innerText()).toMatch(/及时率/);
    expect(await rowText('demo-hotel')).toMatch(/演示酒店[\s\S]*中位数 1分2\d秒/);
    await fitsWidth(1440);
    await screenshot(page, 'kpis-1440-zh');

    await page.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(390);
    await screenshot(page, 'kpis-390-zh');
    await page.click('[data-testid="kpi-by"] button[data-value="user"]');
    await shown({ by: 'user' });
    await fitsWidth(390);
    await screenshot(page, 'kpis-390-zh-user');
    await setLanguage('en');
    await page.click('[data-testid="kpi-by"] button[data-value="site"]');
    await shown({ by: 'site' });
    await fitsWidth(390);
    await screenshot(page, 'kpis-390-en');
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
