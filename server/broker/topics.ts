/**
 * The MQTT topic contract (DESIGN.md) in one place: parsing device topics and the ACL.
 *   storetwin/{site}/{device}/up                 device → server  event (JSON or binary frame)
 *   storetwin/{site}/{device}/status             device → server  online/offline, retained, LWT
 *   storetwin/{site}/{device}/snapshot/{id}      camera → server  JPEG answering command {id}
 *   storetwin/{site}/{device}/cmd                server → device  command (JSON)
 *   storetwin/{site}/alarms                      server → integrations
 *   storetwin/{site}/_relay                      server → server  events one worker stored for
 *                                                the site's holder (relay.ts); `_` is no
 *                                                device id's first character
 */
const SEGMENT = /^[a-z0-9-]+$/;
const COMMAND_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export const TOPIC_ROOT = 'storetwin';

export type DeviceTopic =
  | { kind: 'up'; site: string; device: string }
  | { kind: 'status'; site: string; device: string }
  | { kind: 'snapshot'; site: string; device: string; commandId: string }
  | { kind: 'cmd'; site: string; device: string };

/** Parses a topic a device publishes or subscribes to; null if it is none of ours. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const parts = topic.split('/');
  if (parts.length < 4 || parts.length > 5 || parts[0] !== TOPIC_ROOT) return null;
  const [, site, device, kind, id] = parts as [string, string, string, string, string | undefined];
  if (!SEGMENT.test(site) || !SEGMENT.test(device)) return null;
  if (parts.length === 4) {
    if (kind === 'up' || kind === 'status' || kind === 'cmd') return { kind, site, device };
    return null;
  }
  if (kind === 'snapshot' && id !== undefined && COMMAND_ID.test(id)) return { kind, site, device, commandId: id };
  return null;
}

/**
 * NUL is forbidden in topic names [MQTT-4.7.3-2], and so are ill-formed UTF-8 sequences
 * [MQTT-1.5.3-1]. mqtt-packet decodes with Buffer#toString, which turns those into U+FFFD,
 * so a replacement character is the trace of invalid UTF-8 (our topics are ASCII anyway).
 */
export function topicHasInvalidCharacters(topic: string): boolean {
  return topic.includes('\u0000') || topic.includes('\uFFFD');
}

export const topics = {
  up: (site: string, device: string) => `${TOPIC_ROOT}/${site}/${device}/up`,
  status: (site: string, device: string) => `${TOPIC_ROOT}/${site}/${device}/status`,
  cmd: (site: string, device: string) => `${TOPIC_ROOT}/${site}/${device}/cmd`,
  snapshot: (site: string, device: string, id: string) => `${TOPIC_ROOT}/${site}/${device}/snapshot/${id}`,
  alarms: (site: string) => `${TOPIC_ROOT}/${site}/alarms`,
  relay: (site: string) => `${TOPIC_ROOT}/${site}/_relay`,
};

/** The site of a relay topic (storetwin/{site}/_relay); null for any other topic. */
export function parseRelayTopic(topic: string): string | null {
  const parts = topic.split('/');
  return parts.length === 3 && parts[0] === TOPIC_ROOT && parts[2] === '_relay' && SEGMENT.test(parts[1]!) ? parts[1]! : null;
}
