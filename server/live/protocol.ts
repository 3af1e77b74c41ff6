/**
 * The socket.io wire protocol, shared by the server (LiveFeed) and the dashboard:
 * `new Server<LiveClientEvents, LiveServerEvents, never, LiveSocketData>()` on the server,
 * `io() as Socket<LiveServerEvents, LiveClientEvents>` in the client.
 *
 * A client authenticates in the handshake with `auth: {token}` (from POST /api/auth/login) or
 * the session cookie; a refusal is a `connect_error` whose message is the error code
 * (`STW_ERR_AUTH_REQUIRED`, `STW_ERR_TOKEN_INVALID`, `STW_ERR_ORIGIN_FORBIDDEN`) and whose
 * `data` is `{code, message}`.
 * Every push goes only to the rooms of the sites the user may see.
 */
import type { ArmingChange } from '../../protocol/arming.ts';
import type { Alarm } from '../alarms/types.ts';
import type { PublicUser } from '../auth/users.ts';
import type { NewEvent } from '../storage/types.ts';
import type { DeviceState, ZoneState } from '../twin/types.ts';

/** Twin changes of one site gathered over one flush interval (250 ms); latest state wins. */
export interface TwinBatch {
  site: string;
  /** Full current state of each device that changed, by device id. */
  devices: Record<string, DeviceState>;
  /** Full current state of each zone that changed, by zone id. */
  zones: Record<string, ZoneState>;
}

/** A stored device event as pushed live. */
export type LiveEvent = NewEvent;

/** What the server pushes. */
export interface LiveServerEvents {
  /** An alarm on every lifecycle change, including its snapshot being attached. Needs alarms:read. */
  alarm: (alarm: Alarm) => void;
  twin: (batch: TwinBatch) => void;
  /** Stored device events, at most `eventsPerSecond` per site (excess dropped; query /api/events). */
  event: (event: LiveEvent) => void;
  /** A zone armed or disarmed by hand, or handed back to its schedule (to every user of the site). */
  arming: (change: ArmingChange) => void;
}

export type { ArmingChange };

/** What a client may send: nothing yet (rooms follow the user's sites). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LiveClientEvents {}

export interface LiveSocketData {
  user: PublicUser;
}

/** The error `data` of a refused handshake. */
export interface LiveAuthError {
  code: 'STW_ERR_AUTH_REQUIRED' | 'STW_ERR_TOKEN_INVALID' | 'STW_ERR_ORIGIN_FORBIDDEN';
  message: string;
}

/** Room names: per site for twin/events/arming, and a separate one for alarms (alarms:read only). */
export const rooms = {
  site: (site: string) => `site:${site}`,
  alarms: (site: string) => `alarms:${site}`,
} as const;
