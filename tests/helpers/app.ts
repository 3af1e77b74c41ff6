/**
 * Test servers: a real StoreTwin app on ports 0 with a fresh data directory (real SQLite
 * file) and the shipped site models, without the demo simulators unless asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../server/app.ts';
import { parseConfig, REPO_ROOT, type Config, type ConfigInput } from '../../server/config.ts';
import { createLogger } from '../../server/observability/logger.ts';

export const SHIPPED_SITES = path.join(REPO_ROOT, 'sites');

export interface TestApp {
  app: App;
  dataDir: string;
  mqttUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function tempDir(prefix = 'storetwin-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Loopback, ports 0, the shipped site models, no demo simulators, quiet. */
export function testConfig(dataDir: string, overrides: Partial<ConfigInput> = {}): Config {
  return parseConfig({
    host: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    dataDir,
    sitesDirs: [SHIPPED_SITES],
    demo: false,
    logLevel: 'silent',
    ...overrides,
  });
}

export async function startTestApp(overrides: Partial<ConfigInput> = {}, opts: { dataDir?: string; keepData?: boolean } = {}): Promise<TestApp> {
  const dataDir = opts.dataDir ?? (await tempDir());
  const config = testConfig(dataDir, overrides);
  const app = await createApp(config, { logger: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent' }) });
  const addresses = await app.listen();
  return {
    app,
    dataDir,
    mqttUrl: addresses.mqttUrl,
    httpUrl: addresses.httpUrl,
    async stop() {
      await app.stop();
      if (!opts.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An admin user and a bearer token for API calls. */
export async function adminToken(app: App, username = 'admin'): Promise<string> {
  await app.users.createUser({ username, password: 'correct horse battery', role: 'admin' });
  const { token } = await app.users.login(username, 'correct horse battery');
  return token;
}

/** Reads one counter sample from the app's /metrics text. */
export async function metricValue(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

/** Polls until `check` returns a truthy value or the timeout passes. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
