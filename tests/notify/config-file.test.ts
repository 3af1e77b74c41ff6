/**
 * notify.yaml is watched like the rule files: a valid edit (in place, or saved by renaming a new
 * file over it, or the file removed) replaces the routes; a broken one is logged with every
 * problem and the routes in force stay. The start-up log lists the routes without secrets and
 * says where links point. Real files in a temporary directory, the real fs watcher, a real
 * pino logger writing to memory.
 */
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotifyConfig } from '../../server/notify/config.ts';
import { NotifyConfigFile, routeSummaries } from '../../server/notify/config-file.ts';
import { eventually } from '../helpers/app.ts';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

let dir: string;
let lines: Line[];
let file: NotifyConfigFile | null;

const SECRETS = ['WECOMKEY123', 'xoxbSECRETpath0123456789', 'pa55word'];

const VALID = `
sites:
  '*':
    routes:
      - { id: ops, channel: webhook, preset: slack, url: "https://hooks.slack.com/services/T0123/B0456/xoxbSECRETpath0123456789", severities: [critical, major], language: en }
  demo-hotel:
    routes:
      - { id: desk, channel: webhook, preset: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WECOMKEY123" }
      - { id: hooks, channel: webhook, url: "https://user:pa55word@hooks.example.com/storetwin" }
`;

function logger() {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
}

async function open(text: string | null, opts: { publicUrl?: string } = {}): Promise<NotifyConfigFile> {
  if (text !== null) await writeFile(path.join(dir, 'notify.yaml'), text);
  file = await NotifyConfigFile.load({ dataDir: dir, logger: logger(), debounceMs: 50 });
  file.start(opts);
  return file;
}

const ids = (c: NotifyConfig) => routeSummaries(c).map((r) => `${r.site}/${r.id}`);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'storetwin-notify-'));
  lines = [];
  file = null;
});
afterEach(async () => {
  file?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('notify.yaml at start', () => {
  it('logs the routes in force without their secrets, and that links are relative without publicUrl', async () => {
    await open(VALID);
    const warn = lines.find((l) => l.level === 40 && /publicUrl/.test(l.msg));
    expect(warn?.msg).toMatch(/relative/);
    expect(warn?.msg).toContain('STORETWIN_PUBLIC_URL');
    const routes = lines.find((l) => l.level === 30 && /routes in force/.test(l.msg))!;
    expect(routes.msg).toContain('3 route(s)');
    expect(routes.routes).toEqual([
      { id: 'ops', site: '*', channel: 'slack', severities: ['critical', 'major'], target: 'https://hooks.slack.com/services/T0123/B0456/…' },
      { id: 'desk', site: 'demo-hotel', channel: 'wecom', severities: ['critical', 'major', 'minor', 'warning', 'info'], target: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…' },
      { id: 'hooks', site: 'demo-hotel', channel: 'generic', severities: ['critical', 'major', 'minor', 'warning', 'info'], target: 'https://hooks.example.com/storetwin' },
    ]);
    const all = JSON.stringify(lines);
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });

  it('says where links point when publicUrl is set, and that there are no routes without the file', async () => {
    await open(null, { publicUrl: 'https://twin.example.com' });
    expect(lines.some((l) => l.level === 30 && l.msg.includes('https://twin.example.com'))).toBe(true);
    expect(lines.some((l) => l.level === 40)).toBe(false);
    expect(lines.find((l) => /routes in force/.test(l.msg))?.msg).toMatch(/none, only the dashboard/);
  });

  it('an invalid file stops the start with every problem', async () => {
    await writeFile(path.join(dir, 'notify.yaml'), 'sites:\n  demo-hotel:\n    routes:\n      - { id: a, channel: fax }\n      - { id: B, channel: webhook, url: "ftp://x" }\n');
    await expect(NotifyConfigFile.load({ dataDir: dir, logger: logger() })).rejects.toMatchObject({ code: 'STW_ERR_NOTIFY_CONFIG_INVALID' });
  });
});

describe('notify.yaml reload', () => {
  it('a valid edit replaces the routes and tells the listeners; a broken one keeps them and logs every problem', async () => {
    const f = await open(VALID);
    const seen: NotifyConfig[] = [];
    f.onChange((c) => seen.push(c));
    const firstLoaded = f.loadedAt;

    await writeFile(path.join(dir, 'notify.yaml'), `${VALID}      - { id: night, channel: webhook, preset: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/x" }\n`);
    await eventually(() => seen.length === 1, 5000);
    expect(ids(f.current)).toEqual(['*/ops', 'demo-hotel/desk', 'demo-hotel/hooks', 'demo-hotel/night']);
    expect(seen[0]).toBe(f.current);
    expect(f.loadedAt).toBeGreaterThanOrEqual(firstLoaded);
    expect(lines.some((l) => /notify.yaml reloaded: 4 route\(s\)/.test(l.msg))).toBe(true);

    // Two problems in one edit: both are reported, nothing changes.
    const before = f.current;
    await writeFile(path.join(dir, 'notify.yaml'), 'sites:\n  demo-hotel:\n    routes:\n      - { id: desk, channel: webhook, url: "ftp://x.example.com" }\n      - { id: desk2, channel: email, to: ["nobody"] }\n');
    await eventually(() => f.rejected !== null, 5000);
    expect(f.current).toBe(before);
    expect(seen).toHaveLength(1);
    const error = lines.find((l) => l.level === 50)!;
    expect(error.msg).toMatch(/not reloaded; the routes in force stay/);
    expect(error.msg).toContain('http:// or https://');
    expect(error.msg).toMatch(/email/i);
    expect(f.rejected?.message).toContain('routes[1].to[0]');

    // A YAML syntax error too.
    lines.length = 0;
    await writeFile(path.join(dir, 'notify.yaml'), 'sites: [unclosed\n');
    await eventually(() => lines.some((l) => l.level === 50), 5000);
    expect(f.current).toBe(before);

    // Fixed again: loaded, and the refusal is forgotten.
    await writeFile(path.join(dir, 'notify.yaml'), VALID);
    await eventually(() => seen.length === 2, 5000);
    expect(f.rejected).toBeNull();
    expect(ids(f.current)).toEqual(['*/ops', 'demo-hotel/desk', 'demo-hotel/hooks']);
  });

  it('follows an editor that saves by renaming a new file over the old one, and a removed file', async () => {
    const f = await open(VALID);
    const seen: NotifyConfig[] = [];
    f.onChange((c) => seen.push(c));
    const tmp = path.join(dir, '.notify.yaml.swp');
    await writeFile(tmp, "sites:\n  '*':\n    routes:\n      - { id: only, channel: webhook, url: \"https://hooks.example.com/a\" }\n");
    await rename(tmp, path.join(dir, 'notify.yaml'));
    await eventually(() => seen.length === 1, 5000);
    expect(ids(f.current)).toEqual(['*/only']);

    await unlink(path.join(dir, 'notify.yaml'));
    await eventually(() => seen.length === 2, 5000);
    expect(ids(f.current)).toEqual([]);
  });

  it('ignores other files in the data directory', async () => {
    const f = await open(VALID);
    let calls = 0;
    f.onChange(() => calls++);
    await writeFile(path.join(dir, 'storetwin.db-wal'), 'x');
    await writeFile(path.join(dir, 'notify.yaml.bak'), 'broken: [');
    await new Promise((r) => setTimeout(r, 400));
    expect(calls).toBe(0);
    expect(f.rejected).toBeNull();
  });
});
