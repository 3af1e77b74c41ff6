/**
 * The relay message (server/broker/relay.ts): events one worker stored for the site another
 * holds. What the holder reads is exactly what was sent; anything else on the topic is refused
 * with its code, never half-applied.
 */
import { describe, expect, it } from 'vitest';
import { decodeRelay, encodeRelay } from '../../server/broker/relay.ts';
import { parseRelayTopic, topics } from '../../server/broker/topics.ts';
import type { NewEvent } from '../../server/storage/types.ts';

const open: NewEvent = {
  site: 'demo-hotel',
  device: 'door-3-05',
  deviceType: 'door-sensor',
  zone: '3-05',
  type: 'door',
  seq: 12,
  ts: '2026-11-29T23:40:00.000Z',
  receivedAt: '2026-11-29T23:40:00.120Z',
  data: { type: 'door', state: 'open', seq: 12 },
};
const online: NewEvent = { ...open, type: 'status', seq: null, data: { type: 'status', online: true, source: 'platform' } };

describe('relay messages', () => {
  it('carry the stored events to the holder unchanged', () => {
    expect(decodeRelay('demo-hotel', encodeRelay([open, online]))).toEqual([open, online]);
  });

  it('are refused when not JSON, not the relay format, empty, or of another site', () => {
    for (const payload of [Buffer.from('{'), Buffer.from('[]'), Buffer.from(JSON.stringify({ v: 2, events: [open] })), Buffer.from(JSON.stringify({ v: 1, events: [] })), Buffer.from(JSON.stringify({ v: 1, events: [{ ...open, seq: 'x' }] }))]) {
      expect(() => decodeRelay('demo-hotel', payload)).toThrow(expect.objectContaining({ code: 'STW_ERR_RELAY_INVALID' }));
    }
    expect(() => decodeRelay('demo-shop', encodeRelay([open]))).toThrow(expect.objectContaining({ code: 'STW_ERR_RELAY_INVALID' }));
  });

  it('travel on a topic of their own that no device topic can be mistaken for', () => {
    expect(topics.relay('demo-hotel')).toBe('storetwin/demo-hotel/_relay');
    expect(parseRelayTopic('storetwin/demo-hotel/_relay')).toBe('demo-hotel');
    for (const t of ['storetwin/demo-hotel/alarms', 'storetwin/demo-hotel/_relay/x', 'storetwin/+/_relay', 'other/demo-hotel/_relay', 'storetwin/demo-hotel/door-1/up']) expect(parseRelayTopic(t)).toBeNull();
  });
});
