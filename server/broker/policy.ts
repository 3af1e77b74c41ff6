/**
 * Who may publish and subscribe to what, whichever broker carries the messages. One policy for
 * the embedded broker's hooks (broker.ts), EMQX's HTTP authorizer (external/emqx.ts), the
 * messages StoreTwin receives from an external broker (external/client.ts) and the ACL file it
 * writes for Mosquitto (external/mosquitto-files.ts), so the four cannot drift apart:
 * - a device publishes only its own storetwin/{site}/{device}/up, /status and /snapshot/{id},
 *   and subscribes only to its own /cmd;
 * - a user (an integration reading the alarm feed with an API token) subscribes to
 *   storetwin/{site}/alarms for the sites it may see (storetwin/+/alarms when it sees all), if
 *   its role may read alarms; it publishes nothing;
 * - the server's own account on an external broker reads every device topic and writes
 *   commands and the alarm feed; it alone writes and reads each site's relay topic (events one
 *   worker of several stored for the site's holder, relay.ts).
 */
import { can } from '../auth/roles.ts';
import type { PublicUser } from '../auth/users.ts';
import type { ErrorCode } from '../errors.ts';
import type { DeviceRecord } from '../storage/types.ts';
import { TOPIC_ROOT, parseDeviceTopic, parseRelayTopic, topicHasInvalidCharacters, topics } from './topics.ts';

export type BrokerIdentity =
  | { kind: 'device'; device: DeviceRecord }
  | { kind: 'user'; user: PublicUser }
  /** StoreTwin itself, as a client of an external broker. */
  | { kind: 'server' };

/** What an identity may do, as topic filters (MQTT wildcards): the ACL file is written from these. */
export interface Grants {
  /** Topics it may publish to. */
  publish: string[];
  /** Filters it may subscribe to (and so receive). */
  subscribe: string[];
}

/** The filters of one site's uplinks: a worker of several subscribes to its own sites' only. */
export function siteSubscriptions(site: string): string[] {
  return [`${TOPIC_ROOT}/${site}/+/up`, `${TOPIC_ROOT}/${site}/+/status`, `${TOPIC_ROOT}/${site}/+/snapshot/+`, topics.relay(site)];
}

/** The filters StoreTwin subscribes to on an external broker: every device's uplinks. */
export const SERVER_SUBSCRIPTIONS: readonly string[] = siteSubscriptions('+');

export function grantsOf(identity: BrokerIdentity): Grants {
  switch (identity.kind) {
    case 'device': {
      const { site, id } = identity.device;
      return {
        publish: [topics.up(site, id), topics.status(site, id), topics.snapshot(site, id, '+')],
        subscribe: [topics.cmd(site, id)],
      };
    }
    case 'user': {
      const { user } = identity;
      if (!can(user.role, 'alarms:read')) return { publish: [], subscribe: [] };
      const sites = user.sites.length === 0 ? ['+'] : [...user.sites].sort();
      return { publish: [], subscribe: sites.map((s) => topics.alarms(s)) };
    }
    case 'server':
      return { publish: [topics.cmd('+', '+'), topics.alarms('+'), topics.relay('+')], subscribe: [...SERVER_SUBSCRIPTIONS] };
  }
}

/** null when `identity` may publish to `topic`, else the refusal's code. */
export function publishRefusal(identity: BrokerIdentity, topic: string): ErrorCode | null {
  if (topicHasInvalidCharacters(topic) || /[+#]/.test(topic)) return 'STW_ERR_MQTT_TOPIC_INVALID';
  if (identity.kind === 'device') {
    const parsed = parseDeviceTopic(topic);
    const { device } = identity;
    const own = parsed !== null && parsed.kind !== 'cmd' && parsed.site === device.site && parsed.device === device.id;
    return own ? null : 'STW_ERR_MQTT_PUBLISH_DENIED';
  }
  if (identity.kind === 'server') {
    const parsed = parseDeviceTopic(topic);
    if (parsed?.kind === 'cmd' || isAlarmTopic(topic) || parseRelayTopic(topic) !== null) return null;
  }
  return 'STW_ERR_MQTT_PUBLISH_DENIED';
}

/** null when `identity` may subscribe to `filter`, else the refusal's code. */
export function subscribeRefusal(identity: BrokerIdentity, filter: string): ErrorCode | null {
  if (topicHasInvalidCharacters(filter)) return 'STW_ERR_MQTT_TOPIC_INVALID';
  switch (identity.kind) {
    case 'device': {
      const parsed = parseDeviceTopic(filter);
      const own = parsed?.kind === 'cmd' && parsed.site === identity.device.site && parsed.device === identity.device.id;
      return own ? null : 'STW_ERR_MQTT_SUBSCRIBE_DENIED';
    }
    case 'user': {
      // storetwin/{site}/alarms for a site the user may see; storetwin/+/alarms for all-site users.
      const site = /^storetwin\/([a-z0-9-]+|\+)\/alarms$/.exec(filter)?.[1];
      const { user } = identity;
      const allowed = can(user.role, 'alarms:read') && site !== undefined && (site === '+' ? user.sites.length === 0 : user.sites.length === 0 || user.sites.includes(site));
      return allowed ? null : 'STW_ERR_MQTT_SUBSCRIBE_DENIED';
    }
    case 'server': {
      // Exactly its filters, or one device's topic under them (a broker may check either).
      if (SERVER_SUBSCRIPTIONS.includes(filter)) return null;
      const site = /^storetwin\/([a-z0-9-]+)\//.exec(filter)?.[1];
      if (site !== undefined && siteSubscriptions(site).includes(filter)) return null;
      const parsed = /[+#]/.test(filter) ? null : parseDeviceTopic(filter);
      return parsed !== null && parsed.kind !== 'cmd' ? null : 'STW_ERR_MQTT_SUBSCRIBE_DENIED';
    }
  }
}

function isAlarmTopic(topic: string): boolean {
  return /^storetwin\/[a-z0-9-]+\/alarms$/.test(topic);
}
