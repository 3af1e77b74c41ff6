/**
 * A worker of several subscribes to one site's uplinks (siteSubscriptions): the server's account
 * may, on any broker that asks StoreTwin's policy (EMQX's authorizer, the embedded hooks); a
 * device or a user may not, and nobody gets a site's commands through them. Only the server
 * publishes on a site's relay topic (server/broker/relay.ts).
 */
import { describe, expect, it } from 'vitest';
import { publishRefusal, siteSubscriptions, subscribeRefusal } from '../../server/broker/policy.ts';
import type { PublicUser } from '../../server/auth/users.ts';
import type { DeviceRecord } from '../../server/storage/types.ts';

const door = { id: 'door-3-05', site: 'demo-hotel', type: 'door-sensor', zone: '3-05' } as DeviceRecord;
const manager = { id: 3, username: 'hotel-op', role: 'manager', sites: ['demo-hotel'] } as unknown as PublicUser;

describe('per-site subscriptions', () => {
  it('are one site’s up, status and snapshot filters, and its relay topic', () => {
    expect(siteSubscriptions('demo-hotel')).toEqual(['storetwin/demo-hotel/+/up', 'storetwin/demo-hotel/+/status', 'storetwin/demo-hotel/+/snapshot/+', 'storetwin/demo-hotel/_relay']);
  });

  it('are granted to the server account, not to a device or a user', () => {
    for (const filter of siteSubscriptions('demo-hotel')) {
      expect(subscribeRefusal({ kind: 'server' }, filter)).toBeNull();
      expect(subscribeRefusal({ kind: 'device', device: door }, filter)).toBe('STW_ERR_MQTT_SUBSCRIBE_DENIED');
      expect(subscribeRefusal({ kind: 'user', user: manager }, filter)).toBe('STW_ERR_MQTT_SUBSCRIBE_DENIED');
    }
  });

  it('do not open a site’s commands or another shape of filter to the server', () => {
    expect(subscribeRefusal({ kind: 'server' }, 'storetwin/demo-hotel/+/cmd')).toBe('STW_ERR_MQTT_SUBSCRIBE_DENIED');
    expect(subscribeRefusal({ kind: 'server' }, 'storetwin/demo-hotel/#')).toBe('STW_ERR_MQTT_SUBSCRIBE_DENIED');
    expect(subscribeRefusal({ kind: 'server' }, 'storetwin/demo-hotel/door-3-05/cmd')).toBe('STW_ERR_MQTT_SUBSCRIBE_DENIED');
  });

  it('let only the server account publish on a site’s relay topic (events stored by another worker)', () => {
    expect(publishRefusal({ kind: 'server' }, 'storetwin/demo-hotel/_relay')).toBeNull();
    expect(publishRefusal({ kind: 'device', device: door }, 'storetwin/demo-hotel/_relay')).toBe('STW_ERR_MQTT_PUBLISH_DENIED');
    expect(publishRefusal({ kind: 'user', user: manager }, 'storetwin/demo-hotel/_relay')).toBe('STW_ERR_MQTT_PUBLISH_DENIED');
    expect(publishRefusal({ kind: 'server' }, 'storetwin/demo-hotel/_relay/x')).toBe('STW_ERR_MQTT_PUBLISH_DENIED');
  });
});
