/**
 * Real headless Chromium for the dashboard tests: Debian's `chromium` package driven by
 * playwright-core (no downloaded browser builds), WebGL through SwiftShader, a fresh profile
 * per launch. A missing browser fails the suite loudly: CI installs it, and a silent skip
 * would hide a dashboard that no longer works.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../server/config.ts';

export const CHROMIUM_PATH = process.env.STORETWIN_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const DASHBOARD = path.join(REPO_ROOT, 'dashboard');

export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: the dashboard tests need a real browser. Install it with \`apt-get install -y chromium\` (CI does) or set STORETWIN_CHROMIUM.`);
  }
  const profile = await mkdtemp(path.join(os.tmpdir(), 'storetwin-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dashboard/dist when it is missing or older than the sources (the server serves it). */
export function ensureDashboardBuilt(): void {
  const built = path.join(DASHBOARD, 'dist', 'index.html');
  const sources = Math.max(newestMtime(path.join(DASHBOARD, 'src')), statSync(path.join(DASHBOARD, 'index.html')).mtimeMs, statSync(path.join(DASHBOARD, 'vite.config.ts')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync('npx', ['vite', 'build', 'dashboard', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Saves a screenshot under test-artifacts/ (PNG) and returns its pixels. */
export async function screenshot(page: Page, name: string, selector?: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const target = selector ? page.locator(selector) : page;
  // PNG for people to look at; JPEG (which jpeg-js decodes) for the pixel checks.
  writeFileSync(path.join(ARTIFACTS, `${name}.png`), await target.screenshot({ type: 'png' }));
  return jpeg.decode(await target.screenshot({ type: 'jpeg', quality: 95 }), { useTArray: true });
}

/** The pixels of a page or element, without saving anything (for checks over several frames). */
export async function pixels(page: Page, selector?: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const target = selector ? page.locator(selector) : page;
  return jpeg.decode(await target.screenshot({ type: 'jpeg', quality: 95 }), { useTArray: true });
}

/** Distinct colours (quantised to 4 bits a channel): 1 means a blank, single-colour frame. */
export function distinctColours(img: { data: Uint8Array }): number {
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) seen.add(((img.data[i]! >> 4) << 8) | ((img.data[i + 1]! >> 4) << 4) | (img.data[i + 2]! >> 4));
  return seen.size;
}

/**
 * Alarm-red pixels: red clearly above green and blue, which stay alike (not orange, not brown).
 * Shading and the pulse towards white move the exact shade, so this is a band, not a colour.
 */
export function redPixels(img: { data: Uint8Array }): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const r = img.data[i]!;
    const g = img.data[i + 1]!;
    const b = img.data[i + 2]!;
    if (r > 150 && r - g > 45 && r - b > 45 && Math.abs(g - b) < 30) n++;
  }
  return n;
}

/**
 * Logs in through the login page, as a person does: opens `path`, is sent to /login, signs in,
 * and waits until the app is back on `path` and ready (its `__storetwinReady` flag).
 */
export async function logInThroughPage(page: Page, base: string, path: string, credentials: { username: string; password: string }, timeoutMs = 20_000): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.waitForURL(/\/login/);
  await page.fill('input[name="username"]', credentials.username);
  await page.fill('input[name="password"]', credentials.password);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === path);
  await page.waitForFunction(() => (globalThis as unknown as { __storetwinReady?: boolean }).__storetwinReady === true, undefined, { timeout: timeoutMs });
}
