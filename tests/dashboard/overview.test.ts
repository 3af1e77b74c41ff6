/**
 * The chain overview page (/overview) in real headless Chromium against a real server (both
 * demo sites, counts from before the start and through ingest, alarms raised by the rules):
 * the header offers it to a manager, the table lists both sites with their figures, sorting by
 * a column (and back), the filter, a row opening that site's twin; an operator's table has no
 * response column, a technician is told the page is not for its role; how it looks at desktop
 * and phone widths in en and zh-CN (test-artifacts/overview-*.png).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { HOTEL, PASSWORD, SEEDED, SHOP, startOverviewApp, type OverviewApp } from '../overview/app.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch.
declare const localStorage: { setItem(k: string, v: string): void };
declare const document: { documentElement: { scrollWidth: number } };

const RESULT = '[data-testid="ov-result"]';

let o: OverviewApp;
let browser: TestBrowser;
let page: Page;

const logIn = (p: Page, username: string, path: string) => logInThroughPage(p, o.base, path, { username, password: PASSWORD });
const rowsInOrder = () => page.locator(`${RESULT} tbody tr`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site')));
const rowText = (site: string) => page.locator(`${RESULT} tr[data-site="${site}"]`).innerText();
const fitsWidth = async (width: number) => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

async function sortedBy(sort: string, dir: string): Promise<void> {
  await page.locator(`${RESULT}[data-sort="${sort}"][data-dir="${dir}"]`).waitFor({ timeout: 10_000 });
}

beforeAll(async () => {
  ensureDashboardBuilt();
  o = await startOverviewApp();
  await o.user('mia', 'manager');
  await o.user('olga', 'operator');
  await o.user('tess', 'technician');
  await o.live();
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await o?.stop();
});

describe('overview page', { timeout: 120_000 }, () => {
  it('is offered to a manager in the header and lists both demo sites with their figures', async () => {
    await logIn(page, 'mia', '/');
    await page.click('[data-testid="overview-link"]');
    await page.waitForURL((url) => url.pathname === '/overview');
    await page.locator(`${RESULT} tbody tr`).nth(1).waitFor({ timeout: 15_000 });
    expect((await rowsInOrder()).sort()).toEqual([HOTEL, SHOP]);
    const shop = await rowText(SHOP);
    expect(shop).toContain('Demo Shop');
    expect(shop).toContain(String(SEEDED.shopToday + 7));
    expect(shop).toMatch(/1 critical/);
    expect(shop).toMatch(/1 offline/);
    expect(shop).toMatch(/1 low battery/);
    expect(shop).toMatch(/\b7\b[\s\S]*of 60/);
    const hotel = await rowText(HOTEL);
    expect(hotel).toContain('Demo Hotel');
    expect(hotel).toMatch(/1 critical/);
    expect(await page.locator(`${RESULT} tr[data-site="${SHOP}"] svg.sparkline polyline`).count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('[data-testid="ov-summary"]').innerText()).toMatch(/^2 sites · \d+ open alarms \(2 critical\) · 1 device offline$/);
    // Critical first by default; both have one, so more open alarms (the shop's low battery) first.
    await sortedBy('alarms', 'desc');
    expect(await rowsInOrder()).toEqual([SHOP, HOTEL]);
    await fitsWidth(1440);
    await screenshot(page, 'overview-en-desktop');
  });

  it('sorts by any column, and back', async () => {
    await page.click('th button[data-sort="site"]');
    await sortedBy('site', 'asc');
    expect(await rowsInOrder()).toEqual([HOTEL, SHOP]);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('site');
    await page.click('th button[data-sort="site"]');
    await sortedBy('site', 'desc');
    expect(await rowsInOrder()).toEqual([SHOP, HOTEL]);
    expect(await page.locator('th[aria-sort="descending"]').innerText()).toContain('Site');
    await page.click('th button[data-sort="footfall"]');
    await sortedBy('footfall', 'desc');
    expect(await rowsInOrder()).toEqual([SHOP, HOTEL]);
    await page.click('th button[data-sort="footfall"]');
    await sortedBy('footfall', 'asc');
    expect(await rowsInOrder()).toEqual([HOTEL, SHOP]);
    // The choice survives a reload (it is in the URL).
    await page.reload();
    await sortedBy('footfall', 'asc');
    expect(await rowsInOrder()).toEqual([HOTEL, SHOP]);
  });

  it('filters by name', async () => {
    await page.fill('[data-testid="ov-filter"]', 'shop');
    await page.locator(`${RESULT}[data-rows="1"]`).waitFor();
    expect(await rowsInOrder()).toEqual([SHOP]);
    await page.fill('[data-testid="ov-filter"]', 'nowhere');
    await page.locator('[data-testid="ov-nomatch"]').waitFor();
    await page.fill('[data-testid="ov-filter"]', '');
    await page.locator(`${RESULT}[data-rows="2"]`).waitFor();
  });

  it('opens a site’s twin from its row', async () => {
    for (const site of [SHOP, HOTEL]) {
      await page.goto(`${o.base}/overview`);
      await page.locator(`${RESULT} tr[data-site="${site}"] [data-testid="ov-open"]`).click();
      await page.waitForURL((url) => url.pathname === '/' && url.searchParams.get('site') === site);
      await page.waitForFunction(() => (globalThis as unknown as { __storetwinReady?: boolean }).__storetwinReady === true, undefined, { timeout: 30_000 });
      expect(await page.locator('[data-testid="site-picker"]').inputValue()).toBe(site);
    }
    // A click anywhere on the row does the same.
    await page.goto(`${o.base}/overview`);
    await page.locator(`${RESULT} tr[data-site="${SHOP}"] td`).first().click();
    await page.waitForURL((url) => url.pathname === '/' && url.searchParams.get('site') === SHOP);
  });

  it('in Chinese and on a phone', async () => {
    await page.goto(`${o.base}/overview`);
    await page.locator(`${RESULT} tbody tr`).nth(1).waitFor();
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator(`${RESULT} thead`).getByText('今日客流').waitFor();
    expect(await rowText(SHOP)).toMatch(/演示商店[\s\S]*1 紧急[\s\S]*1 离线/);
    expect(await page.locator('[data-testid="ov-summary"]').innerText()).toMatch(/^2 家门店/);
    await fitsWidth(1440);
    await screenshot(page, 'overview-zh-desktop');
    await page.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(390);
    await screenshot(page, 'overview-zh-phone');
    // On a phone the sort is a select.
    await page.selectOption('[data-testid="ov-sort"]', 'site');
    await sortedBy('site', 'asc');
    expect(await rowsInOrder()).toEqual([HOTEL, SHOP]);
    await page.selectOption('[data-testid="language"]', 'en');
    await page.locator(`${RESULT} tr[data-site="${SHOP}"]`).getByText('Demo Shop').waitFor();
    await fitsWidth(390);
    await screenshot(page, 'overview-en-phone');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('shows an operator no response column, and tells a technician the page is not for it', async () => {
    const p = await browser.newPage();
    await p.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
    await logIn(p, 'olga', '/overview');
    await p.locator(`${RESULT} tbody tr`).nth(1).waitFor();
    expect(await p.locator('th button[data-sort="response"]').count()).toBe(0);
    expect(await p.locator('th button[data-sort="alarms"]').count()).toBe(1);
    await p.close();
    const q = await browser.newPage();
    await q.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
    await logIn(q, 'tess', '/');
    expect(await q.locator('[data-testid="overview-link"]').count()).toBe(0);
    await q.goto(`${o.base}/overview`);
    await q.locator('[data-testid="ov-forbidden"]').waitFor();
    await q.close();
  });
});
