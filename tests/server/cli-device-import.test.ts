/**
 * `storetwin device import FILE.csv --site SITE` in child processes, as a technician runs it:
 * before the server's first start (it creates the data directory), the secrets as CSV on stdout
 * (`> secrets.csv`) with the summary on stderr, --json for scripts, stdin with `-`; a file with
 * bad rows lists every problem with its line and code, exits 1 and registers nothing.
 */
import { execFile } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportAnswer } from '../../protocol/devices.ts';
import { verifySecret } from '../../server/auth/secrets.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { parseCsv } from '../../server/registry/csv.ts';
import { openSqliteStorage } from '../../server/sqlite-storage.ts';
import { SHIPPED_SITES, tempDir } from '../helpers/app.ts';

const run = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'bin', 'storetwin.js');
let dir: string;
let dataDir: string;

function storetwin(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const child = run(process.execPath, [BIN, ...args, '--data-dir', dataDir, '--sites-dir', SHIPPED_SITES], { cwd: REPO_ROOT, env: { ...process.env, STORETWIN_DEMO: '0' } });
  if (input !== undefined) child.child.stdin?.end(input);
  return child;
}

async function registered(): Promise<Map<string, { site: string; secretHash: string }>> {
  const storage = openSqliteStorage(path.join(dataDir, 'storetwin.db'));
  try {
    return new Map((await storage.devices.all()).map((d) => [d.id, d]));
  } finally {
    storage.close();
  }
}

beforeAll(async () => {
  dir = await tempDir('stw-cli-import-');
  // Not there yet: the import lays it out as the server's first start would.
  dataDir = path.join(dir, 'data');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('storetwin device import', () => {
  it('registers a clean file before the server ever ran; stdout is the id,secret CSV alone', async () => {
    const file = path.join(dir, 'hotel.csv');
    await writeFile(file, '\uFEFFid,type,zone,label,imei\r\ncli-door-2-20,door-sensor,2-20,"Room 220, door",864475040220000\r\ncli-cam-2-21,camera,2-21,,\r\n');
    const { stdout, stderr } = await storetwin(['device', 'import', file, '--site', 'demo-hotel']);
    const rows = parseCsv(stdout).records.map((r) => r.fields);
    expect(rows[0]).toEqual(['id', 'secret']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['cli-door-2-20', 'cli-cam-2-21']);
    expect(stderr).toContain('registered 2 device(s) in demo-hotel');
    const stored = await registered();
    for (const [id, secret] of rows.slice(1)) {
      expect(stored.get(id!)?.site).toBe('demo-hotel');
      expect(await verifySecret(secret!, stored.get(id!)!.secretHash)).toBe(true);
    }
  }, 60_000);

  it('lists every problem with its line, column and code, exits 1, registers nothing', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'id,type,zone\ncli-door-2-22,door-sensor,2-22\ncli-door-2-20,door-sensor,2-20\ncli-x,magnet,2-23\ncli-y,door-sensor,99-99\n');
    const err = (await storetwin(['device', 'import', file, '--site', 'demo-hotel']).catch((e: unknown) => e)) as { code: number; stdout: string; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stdout).toBe('');
    const lines = err.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^line 3, id: STW_ERR_DEVICE_EXISTS /),
      expect.stringMatching(/^line 4, type: STW_ERR_DEVICE_TYPE_UNKNOWN /),
      expect.stringMatching(/^line 5, zone: STW_ERR_ZONE_NOT_FOUND /),
      expect.stringMatching(/^error STW_ERR_IMPORT_INVALID: 3 problem\(s\) on 3 line\(s\): nothing was registered/),
    ]);
    expect((await registered()).has('cli-door-2-22')).toBe(false);
  }, 60_000);

  it('reads stdin with - and answers JSON with --json, the refusal too', async () => {
    const { stdout } = await storetwin(['device', 'import', '-', '--site', 'demo-shop', '--json'], 'id,type,zone\ncli-shop-door,door-sensor,cash-room\n');
    const answer = JSON.parse(stdout) as ImportAnswer;
    expect(answer.site).toBe('demo-shop');
    expect(answer.devices.map((d) => d.device.id)).toEqual(['cli-shop-door']);
    expect(answer.devices[0]!.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const err = (await storetwin(['device', 'import', '-', '--site', 'demo-shop', '--json'], 'id,type,zone\ncli-shop-door,door-sensor,cash-room\n').catch((e: unknown) => e)) as { code: number; stdout: string };
    expect(err.code).toBe(1);
    const refusal = JSON.parse(err.stdout) as { error: { code: string; detail: { problems: Array<{ line: number; code: string }> } } };
    expect(refusal.error.code).toBe('STW_ERR_IMPORT_INVALID');
    expect(refusal.error.detail.problems).toEqual([expect.objectContaining({ line: 2, column: 'id', code: 'STW_ERR_DEVICE_EXISTS' })]);
  }, 60_000);

  it('refuses an unknown site with its code', async () => {
    const err = (await storetwin(['device', 'import', '-', '--site', 'nowhere'], 'id,type,zone\n').catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('STW_ERR_SITE_NOT_FOUND');
  }, 60_000);
});
