import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookChannel } from '../../server/notify/channels/webhook.ts';
import { parseNotifyConfig } from '../../server/notify/config.ts';
import type { DeliveryRecord } from '../../server/notify/outbox-store.ts';
import { AllowList, checkWebhookUrl, embeddedIPv4, isForbiddenAddress } from '../../server/notify/ssrf.ts';
import { startReceiver } from './helpers.ts';

function delivery(): DeliveryRecord {
  return { id: 1, idempotencyKey: 'k', alarm: 'a', site: 's', channel: 'webhook', route: 'r', payload: { hi: 1 }, state: 'pending', attempts: 0, nextAttemptAt: 0, lastError: null, createdAt: 0, deliveredAt: null };
}

function channelFor(url: string, allow: string[] = [], resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>) {
  const config = parseNotifyConfig({ sites: { s: { routes: [{ id: 'r', channel: 'webhook', url }] } }, allowPrivateNetworks: allow });
  return new WebhookChannel({ config, timeoutMs: 2_000, resolve });
}

/** A URL host: IPv6 in brackets. */
const hostOf = (addr: string) => (addr.includes(':') ? `[${addr}]` : addr);
const familyOf = (addr: string) => (addr.includes(':') ? 6 : 4);

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

  // Issue 9, item 13: reserved IPv4 ranges, and IPv6 forms that carry an IPv4 address the
  // network delivers to (compatible, translated, NAT64, 6to4), or local-use NAT64.
  const EMBEDDED_OR_RESERVED: ReadonlyArray<[string, string]> = [
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated (SIIT) loopback'],
    ['64:ff9b::127.0.0.1', 'NAT64 of loopback'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['198.18.0.1', 'benchmarking 198.18.0.0/15'],
    ['198.19.255.254', 'benchmarking 198.18.0.0/15'],
    ['192.0.0.1', 'IETF protocol assignments 192.0.0.0/24'],
    ['::a9fe:a9fe', 'IPv4-compatible cloud metadata'],
    ['::ffff:0:a00:1', 'IPv4-translated 10.0.0.1'],
    ['64:ff9b::c0a8:101', 'NAT64 of 192.168.1.1'],
    ['64:ff9b::c612:1', 'NAT64 of 198.18.0.1'],
    ['2002:a9fe:a9fe:1::5', '6to4 of 169.254.169.254'],
    ['2002:c000:1::', '6to4 of 192.0.0.1'],
    ['64:ff9b:1::808:808', 'local-use NAT64 (RFC 8215)'],
  ];
  // Public addresses, also inside those forms, and the neighbours of the new ranges.
  const PUBLIC = [
    '198.17.255.255',
    '198.20.0.1',
    '191.255.255.255',
    '192.0.1.1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    '::ffff:0:8.8.8.8',
    '64:ff9b:2::1',
    '2001:db9::1',
  ];

  it.each(EMBEDDED_OR_RESERVED)('%s (%s) is forbidden', (addr) => {
    expect(isForbiddenAddress(addr)).toBe(true);
  });

  it.each(PUBLIC)('%s stays public', (addr) => {
    expect(isForbiddenAddress(addr)).toBe(false);
  });

  it('reads the IPv4 address out of each embedding form', () => {
    expect(embeddedIPv4('::7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::ffff:0:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('64:ff9b::7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('2002:7f00:1:abcd::1')).toBe('127.0.0.1');
    expect(embeddedIPv4('2606:4700:4700::1111')).toBeNull();
    expect(embeddedIPv4('8.8.8.8')).toBeNull();
  });

  describe('over a real loopback receiver: nothing reaches it', () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });

    it.each(EMBEDDED_OR_RESERVED)('%s (%s) as the URL host is dead with STW_ERR_WEBHOOK_URL_FORBIDDEN', async (addr) => {
      const port = new URL(receiver.base).port;
      const result = await channelFor(`http://${hostOf(addr)}:${port}/x`).send(delivery());
      expect(result).toMatchObject({ outcome: 'dead', error: expect.stringContaining('STW_ERR_WEBHOOK_URL_FORBIDDEN') });
      expect(receiver.requests).toHaveLength(0);
    });

    it.each(EMBEDDED_OR_RESERVED)('%s (%s) as a DNS answer is dead with STW_ERR_WEBHOOK_URL_FORBIDDEN', async (addr) => {
      const port = new URL(receiver.base).port;
      const resolve = async () => [{ address: addr, family: familyOf(addr) }];
      const result = await channelFor(`http://hooks.example.com:${port}/x`, [], resolve).send(delivery());
      expect(result).toMatchObject({ outcome: 'dead', error: expect.stringContaining('STW_ERR_WEBHOOK_URL_FORBIDDEN') });
      expect(receiver.requests).toHaveLength(0);
    });
  });

  it.each(PUBLIC)('%s passes as the URL host and as a DNS answer', async (addr) => {
    const allow = new AllowList([]);
    await expect(checkWebhookUrl(`https://${hostOf(addr)}/x`, allow)).resolves.toMatchObject({ addresses: [{ family: familyOf(addr) }] });
    const resolve = async () => [{ address: addr, family: familyOf(addr) }];
    await expect(checkWebhookUrl('https://hooks.example.com/x', allow, resolve)).resolves.toMatchObject({ addresses: [{ address: addr }] });
  });

  it('an allowed IPv4 network also allows the forms that carry it, and nothing else', async () => {
    const allow = new AllowList(['127.0.0.0/8']);
    for (const host of ['[::127.0.0.1]', '[64:ff9b::127.0.0.1]', '[2002:7f00:1::]']) {
      await expect(checkWebhookUrl(`http://${host}/x`, allow)).resolves.toBeDefined();
    }
    await expect(checkWebhookUrl('http://[2002:a00:1::]/x', allow)).rejects.toMatchObject({ code: 'STW_ERR_WEBHOOK_URL_FORBIDDEN' });
    await expect(checkWebhookUrl('http://198.18.0.1/x', allow)).rejects.toMatchObject({ code: 'STW_ERR_WEBHOOK_URL_FORBIDDEN' });
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
