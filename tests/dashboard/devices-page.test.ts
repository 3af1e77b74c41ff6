/**
 * The technician's device page (/devices, issue 8) in real headless Chromium against a real
 * server with devices that really reported over MQTT: a technician finds a device by id and
 * sees its status, battery (volts and charge, "n/a" for a type without a battery), signal, last
 * seen and last rejection; the filters (offline, battery < 20 %, never seen, rejected) pick the
 * right devices; a device opens with its recent messages and a link that shows it on the twin;
 * a device is registered from the page and its secret, shown once, logs in over MQTT; a CSV
 * with bad rows is refused with every problem listed and nothing imported, then a good one is
 * imported whole and its secrets come as a downloaded CSV that logs in too. An operator sees
 * the list without the register and import buttons; a technician of the shop sees only the
 * shop. Screenshots at 1440×900 and 390×844, en and zh-CN: test-artifacts/devices-*.png.
 */
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../server/auth/secrets.ts';
import { parseCsv } from '../../server/registry/csv.ts';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { connectDevice } from '../helpers/mqtt.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch.
declare const window: { __storetwinReady?: boolean; __storetwin: { deviceLoads(): number; deviceRows(): Array<{ id: string; status: string }> } };
declare const localStorage: { setItem(k: string, v: string): void };
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare const document: { documentElement: { scrollWidth: number } };

const PASSWORD = 'correct horse battery';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
const TABLE = '[data-testid="device-table"]';

let t: TestApp;
let browser: TestBrowser;
let page: Page;
const clients: MqttClient[] = [];

const logIn = (p: Page, at: string, username: string) => logInThroughPage(p, t.httpUrl, at, { username, password: PASSWORD });
const row = (p: Page, id: string) => p.locator(`${TABLE} tr[data-device="${id}"]`);
const shownIds = (p: Page) => p.locator(`${TABLE} tbody tr`).evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { device: string } }).dataset.device));

async function refresh(p: Page): Promise<void> {
  const before = await p.evaluate(() => window.__storetwin.deviceLoads());
  await p.click('[data-testid="device-refresh"]');
  await p.waitForFunction((n) => window.__storetwin.deviceLoads() > n, before, { timeout: 10_000 });
}

async function fits(p: Page, width: number): Promise<void> {
  expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

/** A device that says something over MQTT with its own secret; left connected (online). */
async function report(id: string, zone: string, type: string, messages: string[]): Promise<MqttClient> {
  const { secret } = await t.app.devices.register({ id, site: HOTEL, type, zone, label: id === 'door-low' ? 'Room 202 door' : null, externalIds: id === 'door-low' ? { imei: '864475040202020' } : {} });
  const client = await connectDevice(t.mqttUrl, id, secret);
  for (const m of messages) await client.publishAsync(`storetwin/${HOTEL}/${id}/up`, m, { qos: 1 });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  ensureDashboardBuilt();
  t = await startTestApp();
  for (const [username, role, sites] of [
    ['tom', 'technician', []],
    ['tess', 'technician', [SHOP]],
    ['olga', 'operator', []],
  ] as const) {
    await t.app.users.createUser({ username, password: PASSWORD, role, sites: [...sites] });
  }
  await report('door-ok', '2-01', 'door-sensor', [JSON.stringify({ type: 'heartbeat', battery: 3.05, rsrp: -97, snr: 7, seq: 1 })]);
  await report('door-low', '2-02', 'door-sensor', [JSON.stringify({ type: 'register', hardwareVersion: 3, softwareVersion: 117, seq: 1 }), JSON.stringify({ type: 'heartbeat', battery: 2.62, rsrp: -112, snr: -3, seq: 2 })]);
  await report('door-rej', '2-04', 'door-sensor', [JSON.stringify({ type: 'door', state: 'closed', seq: 1 }), '{"type":"door","state":']);
  const cam = await report('cam-off', 'lobby', 'camera', [JSON.stringify({ type: 'motion', zone: 'desk', seq: 1 })]);
  await cam.endAsync();
  await t.app.devices.register({ id: 'door-never', site: HOTEL, type: 'door-sensor', zone: '2-03' });
  await t.app.devices.register({ id: 'shop-door-1', site: SHOP, type: 'door-sensor', zone: 'cash-room' });
  await eventually(() => t.app.twin.deviceState('door-rej')?.lastRejection && t.app.twin.deviceState('cam-off')?.online === false && t.app.twin.deviceState('door-low')?.battery === 2.62);

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
  for (const c of clients) await c.endAsync().catch(() => undefined);
  await browser?.close();
  await t?.stop();
});

describe('the device page for a technician', { timeout: 120_000 }, () => {
  it('opens from the header; a device is found by id and shows its status, battery, signal and last seen', async () => {
    await logIn(page, '/', 'tom');
    await page.click('[data-testid="devices-link"]');
    await page.waitForURL((url) => url.pathname === '/devices');
    await page.waitForFunction(() => window.__storetwinReady === true && window.__storetwin.deviceLoads?.() > 0, undefined, { timeout: 20_000 });
    expect((await shownIds(page)).sort()).toEqual(['cam-off', 'door-low', 'door-never', 'door-ok', 'door-rej']);

    await page.fill('[data-testid="device-search"]', 'door-lo');
    expect(await shownIds(page)).toEqual(['door-low']);
    const low = row(page, 'door-low');
    expect(await low.locator('[data-testid="device-status"]').textContent()).toBe('online');
    expect(await low.locator('[data-testid="device-battery"]').textContent()).toBe('2.62 V · 12 %');
    expect(await low.locator('[data-testid="device-battery"]').getAttribute('class')).toContain('warn');
    expect(await low.locator('[data-testid="device-signal"]').textContent()).toBe('-112 dBm · SNR -3 dB');
    expect(await low.locator('[data-testid="device-last-seen"] .ago').textContent()).toBe('just now');
    expect(await low.textContent()).toContain('Room 202 door');
    // An external id finds it too; the address keeps the search.
    await page.fill('[data-testid="device-search"]', '864475040202020');
    expect(await shownIds(page)).toEqual(['door-low']);
    expect(new URL(page.url()).searchParams.get('q')).toBe('864475040202020');
    await page.fill('[data-testid="device-search"]', '');
  });

  it('filters: offline, battery < 20 %, never seen, rejected — and "n/a" where a type has no battery', async () => {
    const pick = async (f: string) => {
      await page.click(`[data-testid="filter-${f}"]`);
      return (await shownIds(page)).sort();
    };
    expect(await pick('offline')).toEqual(['cam-off']);
    expect(await row(page, 'cam-off').locator('[data-testid="device-status"]').textContent()).toBe('offline');
    expect(await row(page, 'cam-off').locator('[data-testid="device-battery"]').textContent()).toBe('n/a');
    expect(await pick('lowBattery')).toEqual(['door-low']);
    expect(await pick('neverSeen')).toEqual(['door-never']);
    expect(await row(page, 'door-never').locator('[data-testid="device-status"]').textContent()).toBe('never seen');
    expect(await pick('rejected')).toEqual(['door-rej']);
    expect(await row(page, 'door-rej').locator('[data-testid="device-rejection"] code').textContent()).toBe('STW_ERR_PAYLOAD_MALFORMED_JSON');
    expect(await page.locator('[data-testid="filter-offline"] .count').textContent()).toBe('1');
    expect(await pick('all')).toHaveLength(5);
  });

  it('opens a device: registration, firmware, recent messages, and a link to it on the twin', async () => {
    await row(page, 'door-low').locator('td').first().click();
    const detail = page.locator('[data-testid="device-detail"]');
    await detail.waitFor();
    expect(await detail.locator('[data-testid="detail-title"]').textContent()).toBe('door-low');
    expect(await detail.locator('[data-testid="detail-battery"]').textContent()).toBe('2.62 V · 12 %');
    expect(await detail.locator('[data-testid="detail-external-ids"]').textContent()).toContain('864475040202020');
    await detail.locator('[data-testid="detail-events"] li').first().waitFor();
    const events = await detail.locator('[data-testid="detail-events"] li').allTextContents();
    expect(events[0]).toContain('heartbeat');
    expect(events.some((e) => e.includes('register'))).toBe(true);
    expect(await detail.textContent()).toContain('hardware 3, software 117');
    expect(new URL(page.url()).searchParams.get('device')).toBe('door-low');
    await screenshot(page, 'devices-en-desktop');
    await fits(page, 1440);

    const twinLink = detail.locator('[data-testid="show-on-twin"]');
    expect(await twinLink.getAttribute('href')).toBe('/?site=demo-hotel&device=door-low');
    const twinPage = await browser.newPage();
    await twinPage.setViewportSize({ width: 1440, height: 900 });
    await logIn(twinPage, '/devices', 'tom');
    await twinPage.click(`${TABLE} tr[data-device="door-rej"] [data-testid="device-link"]`);
    await twinPage.click('[data-testid="show-on-twin"]');
    await twinPage.waitForURL((url) => url.pathname === '/' && url.searchParams.get('device') === 'door-rej');
    const panel = twinPage.locator('[data-testid="side-panel"]');
    await panel.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await panel.locator('table.devices').textContent()).toContain('door-rej');
    expect(await panel.locator('table.devices tr').count()).toBe(2);
    await twinPage.close();
  });

  it('registers a device from the page; the secret is shown once and logs in over MQTT', async () => {
    await page.click('[data-testid="device-register"]');
    const dialog = page.locator('[data-testid="register-dialog"]');
    await dialog.waitFor();
    await page.selectOption('[data-testid="register-type"]', 'door-sensor');
    await page.selectOption('[data-testid="register-zone"]', '2-05');
    expect(await page.inputValue('[data-testid="register-id"]')).toBe('door-2-05');
    await page.fill('[data-testid="register-label"]', 'Room 205 door');
    await page.fill('[data-testid="register-ext-imei"]', '864475040205050');
    await screenshot(page, 'devices-register-en-desktop', '[data-testid="register-dialog"]');
    await page.click('[data-testid="register-submit"]');
    await page.locator('[data-testid="register-done"]').waitFor();
    expect(await page.locator('[data-testid="secret-once"]').textContent()).toContain('you will not see it again');
    const secret = await page.inputValue('[data-testid="register-secret"]');
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.click('[data-testid="register-secret-copy"]');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    // Escape does not lose the secret; Done does close.
    await page.keyboard.press('Escape');
    await dialog.waitFor();
    await screenshot(page, 'devices-secret-en-desktop', '[data-testid="register-dialog"]');
    await page.click('[data-testid="register-finish"]');
    await dialog.waitFor({ state: 'detached' });

    expect(await t.app.storage.devices.get('door-2-05')).toMatchObject({ site: HOTEL, zone: '2-05', label: 'Room 205 door', externalIds: { imei: '864475040205050' } });
    const client = await connectDevice(t.mqttUrl, 'door-2-05', secret);
    await client.endAsync();
    await row(page, 'door-2-05').waitFor();
    expect(await page.locator('[data-testid="devices-status"]').textContent()).toBe('Registered door-2-05');
    // The page shows no secret anywhere once the dialog is gone.
    expect(await page.content()).not.toContain(secret);
  });

  it('imports a CSV with bad rows: every problem is listed, nothing is imported; then a good one: all imported', async () => {
    const before = (await t.app.storage.devices.all()).length;
    await page.click('[data-testid="device-import"]');
    const dialog = page.locator('[data-testid="import-dialog"]');
    await dialog.waitFor();
    const bad = ['id,type,zone,label,imei', 'door-3-01,door-sensor,3-01,Room 301,864475040301010', 'door-3-02,door-magnet,3-02,,', 'door-3-03,door-sensor,9-99,,', 'door-3-01,door-sensor,3-04,,', 'door-ok,door-sensor,3-05,,', 'door-3-06,door-sensor,3-06,,8.64475E+14'].join('\r\n');
    await page.setInputFiles('[data-testid="import-file"]', { name: 'hotel-3.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.locator('[data-testid="import-file-note"]', { hasText: 'hotel-3.csv: 7 lines read' }).waitFor();
    // The box holds the file (a textarea's value has LF line ends).
    expect(await page.inputValue('[data-testid="import-text"]')).toBe(bad.replace(/\r\n/g, '\n'));
    await page.click('[data-testid="import-submit"]');
    const problems = page.locator('[data-testid="import-problems"]');
    await problems.waitFor();
    expect(await problems.locator('p').textContent()).toContain('5 problems: nothing was imported');
    const listed = await problems.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => `${(tr as unknown as { dataset: { line: string; code: string } }).dataset.line} ${(tr as unknown as { dataset: { code: string } }).dataset.code}`));
    expect(listed).toEqual(['3 STW_ERR_DEVICE_TYPE_UNKNOWN', '4 STW_ERR_ZONE_NOT_FOUND', '5 STW_ERR_IMPORT_DUPLICATE', '6 STW_ERR_DEVICE_EXISTS', '7 STW_ERR_EXTERNAL_ID_INVALID']);
    await screenshot(page, 'devices-import-problems-en-desktop', '[data-testid="import-dialog"]');
    expect(await t.app.storage.devices.all()).toHaveLength(before);
    expect(await t.app.storage.devices.get('door-3-01')).toBeNull();

    // Fixed in the box: the good file, pasted as spreadsheet cells (tabs).
    const good = ['id\ttype\tzone\tlabel\timei', 'door-3-01\tdoor-sensor\t3-01\tRoom 301\t864475040301010', 'door-3-02\tdoor-sensor\t3-02\t\t', 'cam-3-03\tcamera\t3-03\t\t'].join('\n');
    await page.fill('[data-testid="import-text"]', good);
    await page.click('[data-testid="import-submit"]');
    await page.locator('[data-testid="import-done"]').waitFor();
    expect(await page.locator('[data-testid="import-once"]').textContent()).toContain('you will not see them again');
    expect(await page.locator('[data-testid="import-ids"]').textContent()).toBe('door-3-01, door-3-02, cam-3-03');
    await screenshot(page, 'devices-import-done-en-desktop', '[data-testid="import-dialog"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="import-download"]')]);
    expect(download.suggestedFilename()).toBe('demo-hotel-device-secrets.csv');
    const rows = parseCsv(readFileSync((await download.path())!, 'utf8')).records.map((r) => r.fields);
    expect(rows.map((r) => r[0])).toEqual(['id', 'door-3-01', 'door-3-02', 'cam-3-03']);
    for (const [id, secret] of rows.slice(1)) {
      expect(await verifySecret(secret!, (await t.app.storage.devices.get(id!))!.secretHash)).toBe(true);
    }
    await page.click('[data-testid="import-finish"]');
    await dialog.waitFor({ state: 'detached' });
    expect(await t.app.storage.devices.all()).toHaveLength(before + 3);
    await row(page, 'cam-3-03').waitFor();
    expect(await row(page, 'cam-3-03').locator('[data-testid="device-status"]').textContent()).toBe('never seen');
  });

  it('reads well in Chinese and on a phone', async () => {
    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator('h1', { hasText: '设备管理' }).waitFor();
    await row(page, 'door-low').locator('[data-testid="device-link"]').click();
    await page.locator('[data-testid="detail-title"]', { hasText: 'door-low' }).waitFor();
    expect(await row(page, 'door-low').locator('[data-testid="device-status"]').textContent()).toBe('在线');
    await screenshot(page, 'devices-zh-desktop');
    await page.click('[data-testid="device-import"]');
    await page.fill('[data-testid="import-text"]', 'id,type,zone\ndoor-ok,door-sensor,2-01\nx,magnet,9-99\n');
    await page.click('[data-testid="import-submit"]');
    await page.locator('[data-testid="import-problems"]').waitFor();
    await screenshot(page, 'devices-import-problems-zh-desktop', '[data-testid="import-dialog"]');
    await page.keyboard.press('Escape');
    await page.selectOption('[data-testid="language"]', 'en');

    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.addInitScript(() => localStorage.setItem('storetwin.language', 'en'));
    await logIn(phone, '/devices', 'tom');
    // A linked device opens with the page.
    await phone.goto(`${t.httpUrl}/devices?site=demo-hotel&device=door-low`);
    await phone.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await phone.locator('[data-testid="detail-title"]', { hasText: 'door-low' }).waitFor();
    await fits(phone, 390);
    await screenshot(phone, 'devices-en-phone');
    await phone.click('[data-testid="detail-close"]');
    await phone.click('[data-testid="filter-rejected"]');
    await screenshot(phone, 'devices-en-phone-list');
    await phone.selectOption('[data-testid="language"]', 'zh-CN');
    await phone.locator('h1', { hasText: '设备管理' }).waitFor();
    await phone.click('[data-testid="filter-all"]');
    await fits(phone, 390);
    await screenshot(phone, 'devices-zh-phone');
    await phone.click('[data-testid="device-register"]');
    await phone.locator('[data-testid="register-dialog"]').waitFor();
    await screenshot(phone, 'devices-register-zh-phone');
    await phone.close();
  });
});

describe('the device page for other roles', { timeout: 120_000 }, () => {
  it('an operator sees the devices but is offered no register or import', async () => {
    const p = await browser.newPage();
    await p.setViewportSize({ width: 1440, height: 900 });
    await logIn(p, '/devices', 'olga');
    await row(p, 'door-ok').waitFor();
    expect(await p.locator('[data-testid="device-register"]').count()).toBe(0);
    expect(await p.locator('[data-testid="device-import"]').count()).toBe(0);
    await p.close();
  });

  it('a technician of the shop sees the shop only, whatever the address asks', async () => {
    const p = await browser.newPage();
    await p.setViewportSize({ width: 1440, height: 900 });
    await logIn(p, '/devices', 'tess');
    await p.goto(`${t.httpUrl}/devices?site=demo-hotel`);
    await p.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await row(p, 'shop-door-1').waitFor();
    expect(await shownIds(p)).toEqual(['shop-door-1']);
    expect(await p.locator('[data-testid="device-site"] option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual([SHOP]);
    await refresh(p);
    expect(await shownIds(p)).toEqual(['shop-door-1']);
    await p.close();
  });
});
