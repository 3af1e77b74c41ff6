/**
 * The Account panel end to end in real headless Chromium against a real server, for a user
 * who is not an admin: the password change refused for the right reasons in both languages,
 * then done (the old password stops working, the page goes on with the new token and live
 * data still arrives), an API token created, shown once, listed and revoked, the phone page's
 * panel, and revoking the session in use landing on the login page. Screenshots at desktop
 * and phone widths in en and zh-CN go to test-artifacts/account-*.png.
 */
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { connectDevice } from '../helpers/mqtt.ts';

// Page functions run in the browser; this tsconfig has no DOM lib, so name what they touch.
interface Hooks {
  state: { site: string; zones: Record<string, { door: string | null } | undefined> } | null;
}
declare const window: { __storetwinReady?: boolean; __storetwin: Hooks };
declare const sessionStorage: { getItem(k: string): string | null };
declare const localStorage: { setItem(k: string, v: string): void };
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare const document: { documentElement: { scrollWidth: number } };
type Box = { scrollWidth: number; clientWidth: number };

const USER = 'olga';
const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple battery horse 2';
const SHOP = 'demo-shop';
const DOOR = 'acct-door';
const PANEL = '[data-testid="account-panel"]';

let t: TestApp;
let browser: TestBrowser;
let page: Page;
let door: MqttClient;

async function status(url: string, token: string | null, init: { method?: string; body?: unknown } = {}): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${t.httpUrl}${url}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  await res.body?.cancel();
  return res.status;
}

/** Logs in over the API (and out again, so the session lists stay as the pages made them). */
async function login(password: string): Promise<number> {
  const res = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: USER, password }) });
  const body = (await res.json()) as { token?: string };
  if (body.token) expect(await status('/api/auth/logout', body.token, { method: 'POST' })).toBe(204);
  return res.status;
}
const pageToken = (p: Page) => p.evaluate(() => sessionStorage.getItem('storetwin.token'));

const logIn = (p: Page, path: string, password: string) => logInThroughPage(p, t.httpUrl, path, { username: USER, password });

async function submitPassword(current: string, next: string, again = next): Promise<void> {
  await page.fill('[data-testid="account-current"]', current);
  await page.fill('[data-testid="account-new"]', next);
  await page.fill('[data-testid="account-again"]', again);
  await page.click('[data-testid="password-submit"]');
}

async function passwordMessage(text: string | RegExp): Promise<void> {
  await page.locator('[data-testid="password-message"]', { hasText: text }).waitFor({ timeout: 15_000 });
}

/** Nothing wider than the window, nothing cut inside the panel. */
async function fits(p: Page, width: number): Promise<void> {
  expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
  const panel = await p.locator(PANEL).evaluate((el) => ({ scrollWidth: (el as unknown as Box).scrollWidth, clientWidth: (el as unknown as Box).clientWidth }));
  expect(panel.scrollWidth).toBeLessThanOrEqual(panel.clientWidth);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  t = await startTestApp();
  await t.app.users.createUser({ username: USER, password: OLD_PASSWORD, role: 'operator' });
  browser = await launchBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.httpUrl });
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.addInitScript(() => {
    localStorage.setItem('storetwin.site', 'demo-shop');
    localStorage.setItem('storetwin.language', 'en');
  });
  const { secret } = await t.app.devices.register({ id: DOOR, site: SHOP, type: 'door-sensor', zone: 'cash-room' });
  door = await connectDevice(t.mqttUrl, DOOR, secret);
}, 180_000);

afterAll(async () => {
  await door?.endAsync();
  await browser?.close();
  await t?.stop();
});

describe('Account panel on the desktop page', { timeout: 120_000 }, () => {
  it('opens from the user name in the header and lists this session', async () => {
    await logIn(page, '/', OLD_PASSWORD);
    await page.click('[data-testid="account-open"]');
    await page.locator(PANEL).waitFor();
    const row = page.locator('[data-testid="token-list"] li', { has: page.locator('[data-testid="token-current"]') });
    await row.waitFor();
    expect(await row.getAttribute('data-kind')).toBe('session');
    expect(await row.textContent()).toMatch(/Browser login.*this session.*Created .*Expires /);
    await fits(page, 1440);
    await screenshot(page, 'account-desktop-en');
  });

  it('refuses a wrong current password, a short one and a mismatch, in English and Chinese', async () => {
    await submitPassword('not my password', NEW_PASSWORD);
    await passwordMessage('The current password is wrong');
    await submitPassword(OLD_PASSWORD, 'short');
    await passwordMessage('at least 10 characters');
    await submitPassword(OLD_PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    await passwordMessage('are not the same');

    await page.selectOption('[data-testid="language"]', 'zh-CN');
    await page.locator(`${PANEL} h3`, { hasText: '修改密码' }).waitFor();
    // The message shown is translated too, and what was typed is kept.
    await passwordMessage('两次输入的新密码不一致');
    expect(await page.inputValue('[data-testid="account-new"]')).toBe(NEW_PASSWORD);
    await submitPassword('still not my password', NEW_PASSWORD);
    await passwordMessage('当前密码不正确');
    await fits(page, 1440);
    await screenshot(page, 'account-desktop-zh');
    await page.selectOption('[data-testid="language"]', 'en');
    await page.locator(`${PANEL} h3`, { hasText: 'Change password' }).waitFor();
    expect(await login(OLD_PASSWORD)).toBe(200);
  });

  it('changes the password: the old one stops working, the page goes on with the new token and live data', async () => {
    const before = await pageToken(page);
    await submitPassword(OLD_PASSWORD, NEW_PASSWORD);
    await passwordMessage('Password changed — other sessions and tokens were signed out');

    expect(await login(OLD_PASSWORD)).toBe(401);
    expect(await login(NEW_PASSWORD)).toBe(200);
    const after = await pageToken(page);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    expect(await status('/api/me', before)).toBe(401);
    expect(await status('/api/me', after)).toBe(200);
    // The page's own requests: bearer, and the new cookie the answer set (pictures use it).
    expect(await page.evaluate(async () => (await fetch('/api/me', { headers: { authorization: `Bearer ${sessionStorage.getItem('storetwin.token')}` } })).status)).toBe(200);
    expect(await page.evaluate(async () => (await fetch('/api/me')).status)).toBe(200);
    expect(page.url()).toBe(`${t.httpUrl}/`);

    // The server has ended the old socket by now (it checks every 500 ms); live data still comes.
    await page.waitForTimeout(1200);
    await page.locator('.conn.on').waitFor({ timeout: 5000 });
    await door.publishAsync(`storetwin/${SHOP}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await page.waitForFunction(() => window.__storetwin.state?.zones['cash-room']?.door === 'open', undefined, { timeout: 5000 });

    // The list now holds this (new) session and nothing else.
    const rows = page.locator('[data-testid="token-list"] li');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator('[data-testid="token-current"]').count()).toBe(1);
  });

  it('creates an API token, shows it once with a copy button, lists it, and revokes it', async () => {
    await page.fill('[data-testid="token-name"]', '');
    await page.click('[data-testid="token-create"]');
    await page.locator('[data-testid="token-create-message"]', { hasText: 'Give the token a name' }).waitFor();

    await page.fill('[data-testid="token-name"]', 'stock-sync script');
    await page.fill('[data-testid="token-days"]', '30');
    await page.click('[data-testid="token-create"]');
    await page.locator('[data-testid="token-once"]', { hasText: 'it will not be shown again' }).waitFor();
    const secret = await page.inputValue('[data-testid="token-secret"]');
    expect(secret.length).toBeGreaterThan(20);
    expect(await status('/api/me', secret)).toBe(200);

    await page.click('[data-testid="token-copy"]');
    await page.locator('[data-testid="token-copy-status"]', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    const row = page.locator('[data-testid="token-list"] li[data-kind="api"]', { hasText: 'stock-sync script' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/API token.*Expires /);
    await fits(page, 1440);
    await screenshot(page, 'account-desktop-en-token');

    await page.click('[data-testid="token-done"]');
    expect(await page.locator('[data-testid="token-once"]').count()).toBe(0);
    // Revoking takes a second click.
    await row.locator('[data-testid="token-revoke"]').click();
    expect(await status('/api/me', secret)).toBe(200);
    await row.locator('[data-testid="token-revoke-confirm"]').click();
    await row.waitFor({ state: 'detached', timeout: 5000 });
    expect(await status('/api/me', secret)).toBe(401);
    expect(await status('/api/me', await pageToken(page))).toBe(200);
  });

  it('says so when password changes are rate limited', async () => {
    const token = await pageToken(page);
    // Failed attempts count per account like failed logins (10 a minute): use up the budget.
    // The limiter's window is fixed (it resets every minute for everyone), so a reset may fall
    // inside the loop: up to 9 attempts before it and 10 after.
    // The page's own attempt below must land in the same window, or it would succeed and change
    // the password: when the window ends within 15 s, wait for the next one and start again.
    const useUpBudget = async (): Promise<number> => {
      for (let i = 0; i < 25; i++) {
        const res = await fetch(`${t.httpUrl}/api/auth/password`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ currentPassword: 'a wrong guess', newPassword: 'whatever it is 123' }),
        });
        await res.body?.cancel();
        // draft-8 header: `"policy"; r=REMAINING; t=SECONDS_TO_RESET`
        if (res.status === 429) return Number(/\bt=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? Number.NaN);
      }
      throw new Error('password changes were never rate limited');
    };
    let secondsLeft = await useUpBudget();
    if (!(secondsLeft >= 15)) {
      await new Promise((r) => setTimeout(r, ((Number.isFinite(secondsLeft) ? secondsLeft : 60) + 1) * 1000));
      secondsLeft = await useUpBudget();
    }
    expect(secondsLeft).toBeGreaterThanOrEqual(15);
    await submitPassword(NEW_PASSWORD, 'yet another password');
    await passwordMessage('Too many attempts');
    await page.click('[data-testid="account-close"]');
    expect(await page.locator(PANEL).count()).toBe(0);
  });
});

describe('Account panel on the phone page', { timeout: 120_000 }, () => {
  let phone: Page;

  it('opens from /m at 390×844 and fits the width, in English and Chinese', async () => {
    phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await logIn(phone, '/m', NEW_PASSWORD);
    await phone.click('[data-testid="account-open"]');
    await phone.locator(PANEL).waitFor();
    // Both sessions are listed; this one is marked.
    await expect.poll(() => phone.locator('[data-testid="token-list"] li[data-kind="session"]').count()).toBe(2);
    expect(await phone.locator('[data-testid="token-current"]').count()).toBe(1);
    await fits(phone, 390);
    await screenshot(phone, 'account-phone-en');

    await phone.evaluate(() => localStorage.setItem('storetwin.language', 'zh-CN'));
    await phone.reload();
    await phone.waitForFunction(() => window.__storetwinReady === true, undefined, { timeout: 20_000 });
    await phone.click('[data-testid="account-open"]');
    await phone.locator(`${PANEL} h3`, { hasText: '会话与 API 令牌' }).waitFor();
    await phone.locator('[data-testid="token-current"]', { hasText: '当前会话' }).waitFor();
    await fits(phone, 390);
    await screenshot(phone, 'account-phone-zh');
  });

  it('revoking the session in use logs out to the login page', async () => {
    const token = await pageToken(phone);
    const row = phone.locator('[data-testid="token-list"] li', { has: phone.locator('[data-testid="token-current"]') });
    await row.locator('[data-testid="token-revoke"]').click();
    await row.locator('[data-testid="token-revoke-confirm"]', { hasText: '吊销并退出' }).click();
    await phone.waitForURL(/\/login/);
    expect(await status('/api/me', token)).toBe(401);
    // The desktop page's session is another one and goes on.
    expect(await status('/api/me', await pageToken(page))).toBe(200);
    await phone.close();
  });
});
