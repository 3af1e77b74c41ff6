/**
 * Events a worker stored for a site another worker holds, handed to the holder. Devices on MQTT
 * reach only the holder (it alone reads the site's topics), but a platform push, an EMQX presence
 * webhook or an integration connector can land on any worker behind the load balancer. That
 * worker stores the events itself (the push is answered once they are durable) and publishes
 * them at QoS 1 on `storetwin/{site}/_relay`, which the site's persistent session subscribes to
 * beside the devices' topics: the holder's twin, rules and live feed see them as if it had stored
 * them, and while nobody holds the site the broker keeps them for the next holder's session.
 * Only the server's account may publish or read the topic (policy.ts). The sending side is
 * ingest's SiteRelay; this is the message on the wire.
 */
import { z } from 'zod';
import { StoreTwinError } from '../errors.ts';
import type { NewEvent, RecordedEvent } from '../storage/types.ts';

const WIRE_VERSION = 1;

const relayedEvent = z.object({
  site: z.string(),
  device: z.string(),
  deviceType: z.string(),
  zone: z.string(),
  type: z.string(),
  seq: z.number().int().nullable(),
  ts: z.string(),
  receivedAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const relayMessage = z.object({ v: z.literal(WIRE_VERSION), events: z.array(relayedEvent).min(1) });

export function encodeRelay(events: readonly NewEvent[]): Buffer {
  return Buffer.from(JSON.stringify({ v: WIRE_VERSION, events }));
}

/** The events of one relay message, all of `site`; STW_ERR_RELAY_INVALID otherwise. */
export function decodeRelay(site: string, payload: Buffer): NewEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new StoreTwinError('STW_ERR_RELAY_INVALID', 'relayed events are not JSON');
  }
  const parsed = relayMessage.safeParse(json);
  if (!parsed.success) throw new StoreTwinError('STW_ERR_RELAY_INVALID', `relayed events do not match the relay format: ${parsed.error.issues[0]?.message ?? ''}`);
  if (parsed.data.events.some((e) => e.site !== site)) throw new StoreTwinError('STW_ERR_RELAY_INVALID', `relayed events of another site than ${site}`);
  // The events were checked against their device type where they were stored.
  return parsed.data.events.map((e) => ({ ...e, data: e.data as unknown as RecordedEvent }));
}
