/**
 * The Integrations page (/integrations, issue 10) in real headless Chromium against a real
 * server: an admin creates a CTWing integration through the form (settings generated from the
 * adapter's schema, checked here and by the server) and is shown its token and push URL once;
 * the real CTWing fixture pushed with that token lands as an unknown device, which is registered
 * from the prefilled form, after which the same push is accepted and the row shows the last
 * message and counts; the switch, a new token, edit and delete act on the server; a technician
 * sees the unknown devices but not the integrations, a technician of another site sees none, an
 * operator is not offered the page. Screenshots at 1440×900 and 390×844 in en and zh-CN go to
 * test-artifacts/integrations-*.png.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/config.ts';
import type { PublicIntegration } from '../../server/integrations/service.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch.
declare const window: { __storetwinReady?: boolean; __storetwin: { integrationLoads(): number } };
declare const localStorage: { setItem(k: string, v: string): void };
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare const document: { documentElement: { scrollWidth: number } };

const PASSWORD = 'correct horse battery';
const HOTEL = 'demo-hotel';
const TZ = 'Asia/Shanghai';
const NAME = 'CTWing door magnets';
/** The real CTWing push (profile-decoded door magnet), byte for byte. */
const FIXTURE = readFileSync(path.join(REPO_ROOT, 'tests/fixtures/platforms/ctwing-datareport-decoded.json'));
const CTWING_ID = 'acf7baaee65e431eadfb8f5fe50e8b81';
const IMEI = '860374051096202';
const TABLE = '[data-testid="integ-table"]';
const UNKNOWN = '[data-testid="unknown-table"]';

let t: TestApp;
let browser: TestBrowser;
let page: Page;
const tokens: Record<string, string> = {};
/** What the page showed once when the integration was created. */
let created: { id: string; token: string; url: string };

async function call(method: string, url: string, token: string | null, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A push as CTWing sends it: the body's bytes as given, the token in the URL. */
async function push(url: string, body: Buffer | string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function integration(id: string): Promise<PublicIntegration> {
  return (await call('GET', `/api/integrations/${id}`, tokens.root!)).body.integration as PublicIntegration;
}

const logIn = (p: Page, at: string, username: string) => logInThroughPage(p, t.httpUrl, at, { username, password: PASSWORD });

/** Presses Refresh and waits for its answer to be shown. */
async function refresh(p: Page): Promise<void> {
  const before = await p.evaluate(() => window.__storetwin.integrationLoads());
  await p.click('[data-testid="integ-refresh"]');
  await p.waitForFunction((n) => window.__storetwin.integrationLoads() > n, before, { timeout: 10_000 });
}

async function reload(p: Page): Promise<void> {
  await p.reload();
  await p.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
}

const row = (p: Page, id: string) => p.locator(`${TABLE} tr[data-integration="${id}"]`);
const count = (p: Page, id: string, key: string) => row(p, id).locator(`[data-count="${key}"] strong`).textContent();

/** Nothing wider than the window. */
async function fits(p: Page, width: number): Promise<void> {
  expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  t = await startTestApp();
  for (const [username, role, sites] of [
    ['root', 'admin', []],
    ['mia', 'admin', ['demo-shop', HOTEL]],
    ['tom', 'technician', []],
    ['tess', 'technician', ['demo-shop']],
    ['olga', 'operator', []],
  ] as const) {
    await t.app.users.createUser({ username, password: PASSWORD, role, sites: [...sites] });
    const res = await call('POST', '/api/auth/login', null, { username, password: PASSWORD });
    tokens[username] = res.body.token as string;
  }
  browser = await launchBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.httpUrl });
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.addInitScript(() => {
    localStorage.setItem('storetwin.site', 'demo-hotel');
    localStorage.setItem('storetwin.language', 'en');
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('the integrations page for an admin', { timeout: 120_000 }, () => {
  it('opens from the header and offers the adapters, each saying how it delivers', async () => {
    await logIn(page, '/', 'root');
    await page.click('[data-testid="integrations-link"]');
    await page.waitForURL((url) => url.pathname === '/integrations');
    await page.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await page.locator('[data-testid="integ-empty"]', { hasText: 'No integrations yet.' }).waitFor();
    await page.locator('[data-testid="unknown-empty"]', { hasText: 'No unknown devices.' }).waitFor();

    await page.click('[data-testid="integ-add"]');
    const adapters = await page.locator('[data-testid="integ-adapter"] option').allTextContents();
    expect(adapters).toContain('CTWing (China Telecom AEP) HTTP push');
    expect(adapters).toContain('Axis People Counter');
    await page.selectOption('[data-testid="integ-adapter"]', 'axis');
    expect(await page.locator('[data-testid="integ-delivery"]').textContent()).toContain('StoreTwin connects out');
    // Axis's settings: the URL required, a password as a password input, numbers as numbers.
    expect(await page.getAttribute('[data-testid="setting-password"]', 'type')).toBe('password');
    expect(await page.getAttribute('[data-testid="setting-intervalS"]', 'type')).toBe('number');
    expect(await page.getAttribute('[data-testid="setting-intervalS"]', 'placeholder')).toBe('60');
    await page.click('[data-testid="integ-create"]');
    await page.locator('[data-testid="setting-url-problem"]', { hasText: 'required' }).waitFor();

    await page.selectOption('[data-testid="integ-adapter"]', 'ctwing');
    const delivery = await page.locator('[data-testid="integ-delivery"]').textContent();
    expect(delivery).toContain('The platform pushes to a URL');
    expect(delivery).toContain('externalIds: ctwing, imei');
    expect(await page.inputValue('[data-testid="setting-appData"]')).toBe('device');
    expect(await page.locator('[data-testid="setting-fields"]').evaluate((el) => el.tagName)).toBe('TEXTAREA');
  });

  it('checks JSON settings before sending and shows what the server refuses beside the field', async () => {
    await page.selectOption('[data-testid="integ-site"]', HOTEL);
    await page.fill('[data-testid="integ-name-input"]', NAME);
    await page.fill('[data-testid="setting-dataPoints"]', '{"Door": ');
    await page.click('[data-testid="integ-create"]');
    await page.locator('[data-testid="setting-dataPoints-problem"]', { hasText: 'not valid JSON' }).waitFor();
    await page.fill('[data-testid="setting-dataPoints"]', '["Door"]');
    await page.click('[data-testid="integ-create"]');
    await page.locator('[data-testid="setting-dataPoints-problem"]', { hasText: 'must be a JSON object' }).waitFor();
    expect((await call('GET', '/api/integrations', tokens.root!)).body.items).toEqual([]);

    // Valid JSON the adapter refuses: the server's issue, readable, at the field and above the buttons.
    await page.fill('[data-testid="setting-dataPoints"]', '');
    await page.fill('[data-testid="setting-fields"]', '{"Alarm_Status": {"to": "door", "values": {"1": "ajar"}}}');
    await page.click('[data-testid="integ-create"]');
    const problems = page.locator('[data-testid="integ-form-problems"]');
    await problems.waitFor();
    expect(await problems.textContent()).toContain('The server refused these settings:');
    expect(await problems.textContent()).toContain('fields › Alarm_Status › values › 1: Invalid option: expected one of "open"|"closed"');
    expect(await page.locator('[data-testid="setting-fields-problem"]').textContent()).toContain('Alarm_Status › values › 1');
    expect(await page.getAttribute('[data-testid="setting-fields"]', 'aria-invalid')).toBe('true');
    await fits(page, 1440);
    await screenshot(page, 'integrations-form-desktop-en');
    expect((await call('GET', '/api/integrations', tokens.root!)).body.items).toEqual([]);
  });

  it('creates the integration and shows its push URL and token once, with copy buttons', async () => {
    await page.fill('[data-testid="setting-fields"]', '');
    await page.click('[data-testid="integ-create"]');
    const dialog = page.locator('[data-testid="token-dialog"]');
    await dialog.waitFor();
    expect(await dialog.locator('h2').textContent()).toBe(`Integration “${NAME}” created`);
    expect(await dialog.textContent()).toContain('Shown only once');
    expect(await dialog.textContent()).toContain('Paste this URL into the platform’s HTTP push subscription');
    const url = await page.inputValue('[data-testid="once-url"]');
    const token = await page.inputValue('[data-testid="once-token"]');
    expect(token).toMatch(/^stw_int_/);
    expect(url).toBe(`${t.httpUrl}/api/ingest/ctwing?token=${encodeURIComponent(token)}`);
    await page.click('[data-testid="once-url-copy"]');
    await page.locator('[data-testid="once-url-status"]', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    // Escape does not lose it: only × closes.
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(true);
    await fits(page, 1440);
    await screenshot(page, 'integrations-token-desktop-en');

    const items = (await call('GET', '/api/integrations', tokens.root!)).body.items as PublicIntegration[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ adapter: 'ctwing', site: HOTEL, name: NAME, enabled: true });
    created = { id: items[0]!.id, token, url };
    await page.click('[data-testid="token-dialog-close"]');
    await row(page, created.id).waitFor();
    expect(await row(page, created.id).locator('[data-testid="integ-last"]').textContent()).toBe('never');

    // Shown once: after a reload the page holds neither the token nor the URL.
    await reload(page);
    await row(page, created.id).waitFor();
    const html = await page.content();
    expect(html).not.toContain(token);
    expect(await page.locator('[data-testid="token-dialog"]').count()).toBe(0);
  });

  it('lists a device the platform named that nobody registered, and registers it from the prefilled form', async () => {
    const first = await push(created.url, FIXTURE);
    expect(first).toMatchObject({ status: 200, body: { accepted: 0, unknown: 1 } });
    await refresh(page);
    const unknownRow = page.locator(`${UNKNOWN} tbody tr`);
    await expect.poll(() => unknownRow.count()).toBe(1);
    const ids = unknownRow.locator('[data-testid="unknown-ids"]');
    expect(await ids.textContent()).toContain(`ctwing${CTWING_ID}`);
    expect(await ids.textContent()).toContain(`imei${IMEI}`);
    expect(await unknownRow.locator('[data-testid="unknown-said"]').textContent()).toContain('productId15014772');
    expect(await unknownRow.locator('td.num').textContent()).toBe('1');
    expect(await count(page, created.id, 'unknown')).toBe('1');

    await unknownRow.locator('[data-testid="unknown-register"]').click();
    const dialog = page.locator('[data-testid="register-dialog"]');
    await dialog.waitFor();
    // Prefilled: an id from the type's prefix and the IMEI, the door sensor type, the hotel.
    expect(await page.inputValue('[data-testid="register-id"]')).toBe('door-096202');
    expect(await page.inputValue('[data-testid="register-type"]')).toBe('door-sensor');
    expect(await page.locator('[data-testid="register-site"]').textContent()).toBe('Demo Hotel');
    await page.locator('[data-testid="register-zone"] option[value="2-14"]').waitFor({ state: 'attached' });
    await page.click('[data-testid="register-submit"]');
    await page.locator('[data-testid="register-problem"]', { hasText: 'Choose the zone' }).waitFor();
    await page.selectOption('[data-testid="register-zone"]', '2-14');
    expect(await page.locator('[data-testid="register-problem"]').isVisible()).toBe(false);
    await page.fill('[data-testid="register-label"]', 'Room 214 door');
    await screenshot(page, 'integrations-register-desktop-en');
    await page.click('[data-testid="register-submit"]');
    await page.locator('[data-testid="register-done"]').waitFor();
    expect(await dialog.textContent()).toContain('Needed only if the device also connects to StoreTwin’s own MQTT broker');
    expect((await page.inputValue('[data-testid="register-secret"]')).length).toBeGreaterThan(10);

    const device = (await call('GET', '/api/devices/door-096202', tokens.root!)).body.device as { site: string; zone: string; type: string; label: string; externalIds: Record<string, string> };
    expect(device).toMatchObject({ site: HOTEL, zone: '2-14', type: 'door-sensor', label: 'Room 214 door', externalIds: { ctwing: CTWING_ID, imei: IMEI } });
    // Behind the dialog the list was read again: the device matches now, so it is no longer unknown.
    await page.locator('[data-testid="unknown-empty"]').waitFor();
    await page.click('[data-testid="register-finish"]');
    expect(await dialog.count()).toBe(0);

    // The same push now reaches the device.
    const again = await push(created.url, FIXTURE);
    expect(again).toMatchObject({ status: 200, body: { accepted: 1, unknown: 0 } });
  });

  it('shows the last message in the site time zone and the counts after a reload', async () => {
    const duplicate = await push(created.url, FIXTURE);
    expect(duplicate).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 1 } });
    await reload(page);
    const r = row(page, created.id);
    await r.waitFor();
    const api = await integration(created.id);
    expect(api.counts).toEqual({ accepted: 1, duplicates: 1, unknown: 1, refused: 0 });
    expect(await count(page, created.id, 'accepted')).toBe('1');
    expect(await count(page, created.id, 'duplicates')).toBe('1');
    expect(await count(page, created.id, 'unknown')).toBe('1');
    expect(await count(page, created.id, 'refused')).toBe('0');
    const last = r.locator('[data-testid="integ-last"]');
    expect(await last.getAttribute('datetime')).toBe(api.lastMessageAt);
    expect(await last.locator('.ago').textContent()).toBe('just now');
    const wall = new Intl.DateTimeFormat('en', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(api.lastMessageAt!));
    expect(await last.locator('.exact').textContent()).toBe(wall);
    expect(await page.locator(`${TABLE} thead`).textContent()).toContain(`Last message (${TZ})`);
  });

  it('switches the integration off and on: pushes are refused meanwhile, the error shows in the row', async () => {
    await row(page, created.id).locator('[data-testid="integ-enabled"]').uncheck();
    await page.locator('[data-testid="integ-status"]', { hasText: `“${NAME}” is off` }).waitFor();
    expect((await integration(created.id)).enabled).toBe(false);
    const refused = await push(created.url, FIXTURE);
    expect(refused.status).toBe(403);
    await row(page, created.id).locator('[data-testid="integ-enabled"]').check();
    await page.locator('[data-testid="integ-status"]', { hasText: `“${NAME}” is on` }).waitFor();
    expect((await integration(created.id)).enabled).toBe(true);
    await refresh(page);
    const error = row(page, created.id).locator('[data-testid="integ-error"]');
    expect(await error.locator('code').textContent()).toBe('STW_ERR_INTEGRATION_DISABLED');
    expect(await count(page, created.id, 'refused')).toBe('1');
  });

  it('issues a new token after a confirmation: the old URL stops working, the new one is shown once', async () => {
    await row(page, created.id).locator('[data-testid="integ-rotate"]').click();
    const confirm = page.locator('[data-testid="integ-rotate"][role="dialog"]');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('The current token stops working at once');
    await page.click('[data-testid="integ-rotate-confirm"]');
    const dialog = page.locator('[data-testid="token-dialog"]');
    await dialog.waitFor();
    expect(await dialog.locator('h2').textContent()).toBe(`New token for “${NAME}”`);
    const url = await page.inputValue('[data-testid="once-url"]');
    const token = await page.inputValue('[data-testid="once-token"]');
    expect(token).not.toBe(created.token);
    expect(url).toContain(encodeURIComponent(token));
    await page.click('[data-testid="once-token-copy"]');
    await page.locator('[data-testid="once-token-status"]', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await page.click('[data-testid="token-dialog-close"]');
    expect((await push(created.url, FIXTURE)).status).toBe(401);
    expect((await push(url, FIXTURE)).status).toBe(200);
    created = { ...created, token, url };
  });

  it('edits the name; deletes another integration after a confirmation', async () => {
    await row(page, created.id).locator('[data-testid="integ-edit"]').click();
    const edit = page.locator('[data-testid="integ-edit"][role="dialog"]');
    await edit.waitFor();
    expect(await page.inputValue('[data-testid="integ-name-input"]')).toBe(NAME);
    // The stored settings, as JSON to edit.
    expect(JSON.parse(await page.inputValue('[data-testid="edit-setting-fields"]'))).toMatchObject({ Alarm_Status: { to: 'door' } });
    await page.fill('[data-testid="integ-name-input"]', 'CTWing 门磁 (hotel)');
    await page.click('[data-testid="integ-save"]');
    await page.locator('[data-testid="integ-status"]', { hasText: '“CTWing 门磁 (hotel)” saved' }).waitFor();
    expect(await edit.count()).toBe(0);
    expect((await integration(created.id)).name).toBe('CTWing 门磁 (hotel)');
    expect(await row(page, created.id).locator('[data-testid="integ-name"]').textContent()).toBe('CTWing 门磁 (hotel)');

    // A secret setting is never shown; saving without typing it keeps it.
    const other = await call('POST', '/api/integrations', tokens.root!, { adapter: 'onenet', site: 'demo-shop', name: 'OneNET shop', settings: { token: 'storetwin-onenet-token' } });
    expect(other.status).toBe(201);
    const otherId = (other.body.integration as PublicIntegration).id;
    await refresh(page);
    await row(page, otherId).locator('[data-testid="integ-edit"]').click();
    expect(await page.inputValue('[data-testid="edit-setting-token"]')).toBe('');
    expect(await page.getAttribute('[data-testid="edit-setting-token"]', 'placeholder')).toBe('unchanged — type to replace');
    await page.click('[data-testid="integ-save"]');
    await page.locator('[data-testid="integ-status"]', { hasText: '“OneNET shop” saved' }).waitFor();
    expect((await t.app.integrations.get(otherId))?.settings).toMatchObject({ token: 'storetwin-onenet-token' });

    await row(page, otherId).locator('[data-testid="integ-remove"]').click();
    await page.locator('[data-testid="integ-remove"][role="dialog"]').waitFor();
    await page.click('[data-testid="integ-remove-cancel"]');
    expect(await integration(otherId)).toBeDefined();
    await row(page, otherId).locator('[data-testid="integ-remove"]').click();
    await page.click('[data-testid="integ-remove-confirm"]');
    await page.locator('[data-testid="integ-status"]', { hasText: '“OneNET shop” deleted' }).waitFor();
    // The status comes first; the table reloads after it (slower on a loaded machine).
    await row(page, otherId).waitFor({ state: 'detached' });
    expect(await row(page, otherId).count()).toBe(0);
    expect((await call('GET', `/api/integrations/${otherId}`, tokens.root!)).status).toBe(404);
  });
});

describe('who else sees what', { timeout: 120_000 }, () => {
  it('a technician sees the unknown devices but not the integrations; one of another site sees none', async () => {
    // A second door magnet on the same platform that nobody registered.
    const other = JSON.parse(FIXTURE.toString('utf8')) as Record<string, unknown> & { payload: { serviceData: Record<string, unknown> } };
    Object.assign(other, { deviceId: '5d3c1b7e9a0f4c2e8b6a4d2f0e1c3b5a', IMEI: '860374051099999', timestamp: Date.now() });
    other.payload.serviceData.IMEI = '860374051099999';
    other.payload.serviceData.Alarm_Status = 1;
    expect(await push(created.url, JSON.stringify(other))).toMatchObject({ status: 200, body: { unknown: 1 } });

    const tech = await browser.newPage();
    await tech.setViewportSize({ width: 1440, height: 900 });
    await logIn(tech, '/', 'tom');
    await tech.click('[data-testid="integrations-link"]');
    await tech.waitForURL((url) => url.pathname === '/integrations');
    await tech.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await expect.poll(() => tech.locator(`${UNKNOWN} tbody tr`).count()).toBe(1);
    expect(await tech.locator(`${UNKNOWN} [data-testid="unknown-ids"]`).textContent()).toContain('imei860374051099999');
    expect(await tech.locator(TABLE).count()).toBe(0);
    expect(await tech.locator('[data-testid="integ-add"]').count()).toBe(0);
    expect(await tech.locator('.integ-intro .hint').textContent()).toContain('Devices the integrations heard that nobody has registered');
    await screenshot(tech, 'integrations-technician-desktop-en');
    await tech.close();

    const shop = await browser.newPage();
    await logIn(shop, '/integrations', 'tess');
    await shop.locator('[data-testid="unknown-empty"]').waitFor();
    expect(await shop.locator(UNKNOWN).count()).toBe(0);
    await shop.close();
  });

  it('an admin limited to two sites sees the integrations of both', async () => {
    const mia = await browser.newPage();
    await logIn(mia, '/integrations', 'mia');
    await row(mia, created.id).waitFor();
    await expect.poll(() => mia.locator(`${UNKNOWN} tbody tr`).count()).toBe(1);
    // One site at a time, as chosen.
    await mia.selectOption('[data-testid="integ-site-filter"]', 'demo-shop');
    await mia.locator('[data-testid="integ-empty"]').waitFor();
    expect(new URL(mia.url()).searchParams.get('site')).toBe('demo-shop');
    await mia.close();
  });

  it('is not offered to an operator, and says so if opened anyway', async () => {
    const operator = await browser.newPage();
    await logIn(operator, '/', 'olga');
    await operator.locator('[data-testid="account-open"]').waitFor();
    expect(await operator.locator('[data-testid="integrations-link"]').count()).toBe(0);
    await operator.goto(`${t.httpUrl}/integrations`);
    await operator.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await operator.locator('[data-testid="integ-forbidden"]', { hasText: 'Your role may not manage integrations or register devices.' }).waitFor();
    expect(await operator.locator(TABLE).count()).toBe(0);
    expect(await operator.locator('[data-testid="unknown-devices"]').count()).toBe(0);
    await operator.close();
  });
});

describe('how it looks', { timeout: 120_000 }, () => {
  it('desktop, in English and Chinese, with counts, an error and an unknown device', async () => {
    await reload(page);
    await row(page, created.id).waitFor();
    await page.locator(`${UNKNOWN} tbody tr`).first().waitFor();
    await fits(page, 1440);
    await screenshot(page, 'integrations-desktop-en');
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator('.integ-intro h1', { hasText: '集成' }).waitFor();
    expect(await count(page, created.id, 'accepted')).toBe('1');
    expect(await row(page, created.id).locator('[data-count="accepted"] span').textContent()).toBe('已接收');
    expect(await page.locator(`${UNKNOWN} thead`).textContent()).toContain('平台提供的信息');
    await fits(page, 1440);
    await screenshot(page, 'integrations-desktop-zh');
    await page.locator(`${UNKNOWN} [data-testid="unknown-register"]`).click();
    await page.locator('[data-testid="register-zone"] option[value="2-14"]').waitFor({ state: 'attached' });
    await screenshot(page, 'integrations-register-desktop-zh');
    await page.keyboard.press('Escape');
    await page.selectOption('[data-testid="language"]', 'en');
  });

  it('phone, in English and Chinese: cards that fit 390 px', async () => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
    await logIn(phone, '/', 'root');
    await fits(phone, 390);
    await screenshot(phone, 'integrations-link-phone-en', '.app-header');
    await phone.click('[data-testid="integrations-link"]');
    await phone.waitForURL((url) => url.pathname === '/integrations');
    await phone.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await row(phone, created.id).waitFor();
    expect(await phone.locator(`${TABLE} thead`).isVisible()).toBe(false);
    await fits(phone, 390);
    await phone.screenshot({ path: path.join(REPO_ROOT, 'test-artifacts/integrations-phone-en-full.png'), fullPage: true });
    await screenshot(phone, 'integrations-phone-en');

    await phone.click('[data-testid="integ-add"]');
    await phone.selectOption('[data-testid="integ-adapter"]', 'onenet');
    await fits(phone, 390);
    await screenshot(phone, 'integrations-form-phone-en', '.integ-add-panel');
    await phone.click('[data-testid="integ-create-cancel"]');

    await phone.selectOption('[data-testid="language"]', 'zh-CN');
    await phone.locator('.integ-intro h1', { hasText: '集成' }).waitFor();
    await fits(phone, 390);
    await phone.screenshot({ path: path.join(REPO_ROOT, 'test-artifacts/integrations-phone-zh-full.png'), fullPage: true });
    await screenshot(phone, 'integrations-phone-zh');
    await row(phone, created.id).locator('[data-testid="integ-rotate"]').click();
    await phone.click('[data-testid="integ-rotate-confirm"]');
    await phone.locator('[data-testid="token-dialog"]').waitFor();
    await fits(phone, 390);
    await screenshot(phone, 'integrations-token-phone-zh');
    await phone.close();
  });
});
