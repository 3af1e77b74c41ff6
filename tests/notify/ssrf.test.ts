import { describe, expect, it } from 'vitest';
import { WebhookChannel } from '../../server/notify/channels/webhook.ts';
import { parseNotifyConfig } from '../../server/notify/config.ts';
import type { DeliveryRecord } from '../../server/notify/outbox-store.ts';
import { AllowList, checkWebhookUrl, isForbiddenAddress } from '../../server/notify/ssrf.ts';
import { startReceiver } from './helpers.ts';

function delivery(): DeliveryRecord {
  return { id: 1, idempotencyKey: 'k', alarm: 'a', site: 's', channel: 'webhook', route: 'r', payload: { hi: 1 }, state: 'pending', attempts: 0, nextAttemptAt: 0, lastError: null, createdAt: 0, deliveredAt: null };
}

function channelFor(url: string, allow: string[] = []) {
  const config = parseNotifyConfig({ sites: { s: { routes: [{ id: 'r', channel: 'webhook', url }] } }, allowPrivateNetworks: allow });
  return new WebhookChannel({ config, timeoutMs: 2_000 });
}

describe('SSRF guard', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
  ])('%s is forbidden', (addr) => {
    expect(isForbiddenAddress(addr)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1'])('%s is public', (addr) => {
    expect(isForbiddenAddress(addr)).toBe(false);
  });

  it.each(['http://127.0.0.1:9/x', 'http://10.0.0.5/x', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:9/x', 'http://localhost:9/x', 'http://[::ffff:127.0.0.1]/x'])(
    'a delivery to %s is dead with STW_ERR_WEBHOOK_URL_FORBIDDEN, nothing is sent',
    async (url) => {
      const result = await channelFor(url).send(delivery());
      expect(result).toMatchObject({ outcome: 'dead', error: expect.stringContaining('STW_ERR_WEBHOOK_URL_FORBIDDEN') });
    },
  );

  it('a host name is checked against every address it resolves to', async () => {
    const allow = new AllowList([]);
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ];
    await expect(checkWebhookUrl('https://hooks.example.com/x', allow, resolve)).rejects.toMatchObject({ code: 'STW_ERR_WEBHOOK_URL_FORBIDDEN' });
    await expect(checkWebhookUrl('https://hooks.example.com/x', allow, async () => [{ address: '93.184.216.34', family: 4 }])).resolves.toMatchObject({
      addresses: [{ address: '93.184.216.34', family: 4 }],
    });
    await expect(checkWebhookUrl('ftp://example.com/x', allow, resolve)).rejects.toMatchObject({ code: 'STW_ERR_WEBHOOK_URL_FORBIDDEN' });
  });

  it('allowPrivateNetworks lets an explicitly allowed loopback receiver through (CIDR or host name)', async () => {
    const receiver = await startReceiver();
    try {
      expect(await channelFor(`${receiver.base}/ok`, ['127.0.0.0/8']).send(delivery())).toEqual({ outcome: 'delivered' });
      const port = new URL(receiver.base).port;
      expect(await channelFor(`http://localhost:${port}/ok`, ['localhost']).send(delivery())).toEqual({ outcome: 'delivered' });
      // Allowing 10/8 does not allow loopback.
      expect(await channelFor(`${receiver.base}/ok`, ['10.0.0.0/8']).send(delivery())).toMatchObject({ outcome: 'dead' });
      expect(receiver.requests).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });
});
