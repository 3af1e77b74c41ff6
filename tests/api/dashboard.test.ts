/**
 * The dashboard at `/` from a Vite-shaped build directory: cache headers, the SPA fallback,
 * the 503 before a build, the CSP a Vite + three.js + socket.io page needs, and that the API
 * behind it is untouched (still authenticated, still JSON 404s).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../../server/api/routes/dashboard.ts';
import { startRoutes, type RoutesHarness } from '../history/harness.ts';

type ErrorBody = { error: { code: string; message: string } };

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/main-abc123.js"></script></head><body><div id="app"></div></body></html>';

describe('dashboard serving', () => {
  let dist: string;
  let built: RoutesHarness;
  let missing: RoutesHarness;

  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), 'storetwin-dist-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), INDEX);
    await writeFile(join(dist, 'assets', 'main-abc123.js'), 'console.log("twin")');
    await writeFile(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    built = await startRoutes({ routes: () => [dashboardRoutes({ distDir: dist })] });
    missing = await startRoutes({ routes: () => [dashboardRoutes({ distDir: join(dist, 'not-there') })] });
  });
  afterAll(async () => {
    await built?.close();
    await missing?.close();
    await rm(dist, { recursive: true, force: true });
  });

  it('serves index.html at / and for every client-side route, never cached stale', async () => {
    for (const path of ['/', '/m', '/login', '/replay', '/replay?at=2026-11-23T02:14:00Z']) {
      const res = await fetch(built.base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(INDEX);
    }
  });

  it('serves hashed assets as immutable and other files revalidated', async () => {
    const asset = await fetch(`${built.base}/assets/main-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log("twin")');
    const icon = await fetch(`${built.base}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${built.base}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${built.base}/index.html/../../etc/passwd`)).status).toBe(404);
  });

  it('sends a CSP that lets the page run its own scripts, images and WebSockets only', async () => {
    const res = await fetch(`${built.base}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    const host = new URL(built.base).host;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).toContain("img-src 'self' data: blob:");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).not.toContain('upgrade-insecure-requests');
    // A forged Host cannot inject directives.
    const forged = await new Promise<string>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(`${built.base}/`, { headers: { host: 'evil;script-src *' } }, (r) => {
          r.resume();
          resolve(String(r.headers['content-security-policy']));
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(forged).not.toContain('evil');
  });

  it('leaves the API alone: authenticated, JSON 404s', async () => {
    expect((await fetch(`${built.base}/api/sites`)).status).toBe(401);
    const token = await built.userToken('admin', 'admin');
    const res = await fetch(`${built.base}/api/nothing-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe('STW_ERR_NOT_FOUND');
  });

  it('answers 503 STW_ERR_DASHBOARD_NOT_BUILT until the dashboard is built', async () => {
    for (const path of ['/', '/m', '/login', '/replay']) {
      const res = await fetch(missing.base + path);
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).toBe('STW_ERR_DASHBOARD_NOT_BUILT');
      expect(body.error.message).toMatch(/npm run build/);
    }
    expect((await fetch(`${missing.base}/healthz`)).status).toBe(200);
  });
});
