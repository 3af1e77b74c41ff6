/**
 * The twin draws a device by what its type can do, as `GET /api/device-types` says: a people
 * counter of a make the dashboard has never heard of (the test-only ACME models of
 * tests/devices/fake-types.ts, registered in the catalogue like a new module) is drawn as a
 * counter (a purple disc), which it would not be if the page decided by type id or got no
 * catalogue. Real app, real headless Chromium, en and zh-CN, desktop and phone sizes.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Catalogue from '../../devices/index.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { ensureDashboardBuilt, launchBrowser, logInThroughPage, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { ACME_CAMERA, ACME_COUNTER, acmeShop } from '../devices/acme-shop.ts';

vi.mock('../../devices/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof Catalogue>();
  const { FAKE_TYPES } = await import('../devices/fake-types.ts');
  return { ...real, ...real.catalogueOf([...real.deviceTypes, ...FAKE_TYPES]) };
});

declare const localStorage: { setItem(k: string, v: string): void };

const SHOP = 'demo-shop';
const PASSWORD = 'correct horse battery';
const CANVAS = 'canvas[data-testid="twin-canvas"]';

/**
 * Pixels of the counters' purple (0xa855f7, twin/palette.ts), shaded: blue high, green low, red
 * between. The office's lavender floor (0xddd6fe) has green far above this band.
 */
function purplePixels(img: { data: Uint8Array }): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const r = img.data[i]!;
    const g = img.data[i + 1]!;
    const b = img.data[i + 2]!;
    if (b > 170 && g < 130 && r > 100 && r - g > 40 && b - r > 30) n++;
  }
  return n;
}

let t: TestApp;
let browser: TestBrowser;

beforeAll(async () => {
  ensureDashboardBuilt();
  const sitesDir = await tempDir('storetwin-acme-sites-');
  await mkdir(sitesDir, { recursive: true });
  await writeFile(path.join(sitesDir, 'demo-shop.json'), JSON.stringify(await acmeShop()));
  await copyFile(path.join(REPO_ROOT, 'sites', 'demo-hotel.yaml'), path.join(sitesDir, 'demo-hotel.yaml'));
  t = await startTestApp({ sitesDirs: [sitesDir] });
  await t.app.users.createUser({ username: 'admin', password: PASSWORD, role: 'admin' });
  // Only registered devices are drawn: the two ACME ones and a door sensor.
  await t.app.devices.register({ id: ACME_COUNTER, site: SHOP, type: 'acme-people-counter', zone: 'entrance-south' });
  await t.app.devices.register({ id: ACME_CAMERA, site: SHOP, type: 'acme-nvr-camera', zone: 'back-corridor' });
  await t.app.devices.register({ id: 'shop-door-cash', site: SHOP, type: 'door-sensor', zone: 'cash-room' });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('a device of a new model in the twin', { timeout: 90_000 }, () => {
  for (const language of ['en', 'zh-CN'] as const) {
    for (const [device, viewport] of [
      ['desktop', { width: 1440, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      it(`is drawn as a counter by its capabilities (${language}, ${device} ${viewport.width}×${viewport.height})`, async () => {
        const page: Page = await browser.newPage();
        try {
          await page.setViewportSize(viewport);
          await page.addInitScript((lang) => {
            localStorage.setItem('storetwin.site', 'demo-shop');
            localStorage.setItem('storetwin.language', lang);
          }, language);
          await logInThroughPage(page, t.httpUrl, '/', { username: 'admin', password: PASSWORD });
          await page.waitForTimeout(300);
          await screenshot(page, `device-kinds-${language}-${device}`);
          const purple = purplePixels(await screenshot(page, `device-kinds-${language}-${device}-twin`, CANVAS));
          expect(purple).toBeGreaterThan(device === 'desktop' ? 20 : 4);
        } finally {
          await page.close();
        }
      });
    }
  }
});
