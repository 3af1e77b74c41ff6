import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNotifyConfig, parseNotifyConfig } from '../../server/notify/config.ts';

describe('notify config', () => {
  it('reports every problem at once', () => {
    let err: unknown;
    try {
      parseNotifyConfig({
        sites: {
          'demo-hotel': {
            timezone: 'Mars/Olympus',
            routes: [
              { id: 'ops', channel: 'webhook', url: 'ftp://x.example.com/' },
              { id: 'ops', channel: 'email', to: ['not-an-address'] },
              { id: 'w', channel: 'webhook', url: 'https://qyapi.weixin.qq.com/x', preset: 'wecom', secret: 's' },
            ],
            escalation: { levels: [{ afterMinutes: 10, routes: ['nobody'] }, { afterMinutes: 5, routes: ['ops'] }] },
          },
        },
        allowPrivateNetworks: ['10.0.0.0/99'],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'STW_ERR_NOTIFY_CONFIG_INVALID' });
    const message = (err as Error).message;
    for (const part of ['http:// or https://', 'email', 'CIDR']) expect(message).toContain(part);
  });

  it('cross-checks after the shape is valid: duplicates, escalation targets, smtp, time zone', () => {
    let message = '';
    try {
      parseNotifyConfig({
        sites: {
          '*': { routes: [{ id: 'ops', channel: 'webhook', url: 'https://hooks.example.com/a' }] },
          'demo-hotel': {
            timezone: 'Mars/Olympus',
            routes: [
              { id: 'ops', channel: 'webhook', url: 'https://hooks.example.com/b' },
              { id: 'mail', channel: 'email', to: ['a@b.test'] },
            ],
            escalation: { levels: [{ afterMinutes: 10, routes: ['nobody'] }, { afterMinutes: 5, routes: ['ops'] }] },
          },
        },
      });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const part of ['duplicate route id "ops"', 'needs the smtp section', 'unknown time zone', 'greater than the previous', 'no route "nobody"']) expect(message).toContain(part);
  });

  it('a missing notify.yaml is an empty config; a present one is parsed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storetwin-notify-config-'));
    try {
      expect((await loadNotifyConfig(dir)).routes('demo-hotel')).toEqual([]);
      await writeFile(
        join(dir, 'notify.yaml'),
        `sites:\n  "*":\n    routes:\n      - { id: ops, channel: webhook, url: "https://hooks.example.com/x", preset: slack, language: en }\n    escalation:\n      levels: [{ afterMinutes: 5, routes: [ops] }]\n`,
      );
      const cfg = await loadNotifyConfig(dir);
      expect(cfg.routes('demo-shop')).toMatchObject([{ id: 'ops', preset: 'slack', severities: ['critical', 'major', 'minor', 'warning', 'info'] }]);
      expect(cfg.escalation('demo-shop')).toEqual([{ afterMinutes: 5, routes: ['ops'] }]);
      await writeFile(join(dir, 'notify.yaml'), 'sites: [1\n');
      await expect(loadNotifyConfig(dir)).rejects.toMatchObject({ code: 'STW_ERR_NOTIFY_CONFIG_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
