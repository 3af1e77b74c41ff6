/**
 * The live feed: socket.io on the HTTP server at /socket.io. Authenticates each handshake with
 * the same tokens as the REST API (auth.token, a Bearer header, or the session cookie; a
 * handshake from another origin is refused, see server/api/origin.ts), ends the connection
 * within a sweep when its token stops working or its user's scope changes
 * (server/auth/connection-guard.ts), puts
 * the socket in one room per site the user may see (users with no site list see every site),
 * and pushes to site rooms only:
 * - `alarm` on every `alarm.changed` (to users with alarms:read; device-health alarms also to
 *   users with alarms:device-health, through a room of their own per site);
 * - `twin`: twin.device / twin.zone changes batched per site and flushed at most every 250 ms,
 *   so a burst of 1,000 door events costs a client a few frames, not 1,000 messages;
 * - `event`: stored device events, at most `eventsPerSecond` per site (excess dropped);
 * - `arming`: every `zone.arming` (a zone armed, disarmed or handed back to its schedule by
 *   hand, or changed by its schedule or a lapsing override), so every open twin tints the
 *   zone at once; a few per zone and day.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { credentialsFromHeaders } from '../api/auth.ts';
import { fromOwnOrigin, type OriginPolicy } from '../api/origin.ts';
import type { ConnectionGuard } from '../auth/connection-guard.ts';
import { categoryOf } from '../alarms/category.ts';
import { can } from '../auth/roles.ts';
import type { AuthenticatedToken } from '../auth/users.ts';
import { systemClock, type Clock } from '../clock.ts';
import { ERRORS } from '../errors.ts';
import type { EventBus, ServerEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { NewEvent } from '../storage/types.ts';
import { rooms, type LiveAuthError, type LiveClientEvents, type LiveServerEvents, type LiveSocketData, type TwinBatch } from './protocol.ts';

export interface LiveFeedDeps {
  bus: EventBus;
  users: { authenticateToken(token: string): Promise<AuthenticatedToken | null> };
  /** Ends sockets whose token was revoked or expired, or whose user changed. */
  guard?: ConnectionGuard;
  /** Which origins may open the feed (the same policy as the REST API's). */
  origins?: OriginPolicy;
  /** Every site id (for users without a site list). SiteCatalog satisfies it. */
  sites: { list(): Array<{ id: string }> };
  clock?: Clock;
  logger?: Logger;
  /** Default 250 ms. */
  twinFlushMs?: number;
  /** Default 20 events per second per site. */
  eventsPerSecond?: number;
  path?: string;
  /** socket.io's adapter: the Redis one when several workers serve dashboards (redis-fanout.ts). */
  adapter?: ServerOptions['adapter'];
}

/**
 * Device-health alarms of a site, for users who may see those and no others (technicians):
 * `alarm` goes to the site's alarms room and, for a device-health alarm, to this one as well
 * (socket.io sends a socket in both rooms one copy).
 */
export const deviceHealthRoom = (site: string): string => `alarms:device-health:${site}`;

type LiveServer = Server<LiveClientEvents, LiveServerEvents, Record<string, never>, LiveSocketData>;
type LiveSocket = Socket<LiveClientEvents, LiveServerEvents, Record<string, never>, LiveSocketData>;

function authError(code: LiveAuthError['code']): Error {
  // socket.io hands `message` and `data` of a middleware error to the client's connect_error.
  return Object.assign(new Error(code), { data: { code, message: ERRORS[code].message } satisfies LiveAuthError });
}

type Handshake = { auth: Record<string, unknown>; headers: Record<string, string | string[] | undefined> };

/** The presented token: auth.token, else a Bearer header, else the session cookie. null = malformed. */
export function handshakeToken(handshake: Handshake): string | null | undefined {
  const found = handshakeCredentials(handshake);
  return found === null || found === undefined ? found : found.token;
}

function handshakeCredentials(handshake: Handshake): { token: string; via: 'auth' | 'bearer' | 'cookie' } | null | undefined {
  const fromAuth = handshake.auth?.token;
  if (fromAuth !== undefined) return typeof fromAuth === 'string' && fromAuth.length > 0 ? { token: fromAuth, via: 'auth' } : null;
  return credentialsFromHeaders(handshake.headers);
}

/** The token a socket authenticated with, kept server-side for the connection guard. */
const socketTokens = new WeakMap<object, string>();

interface SiteBuffer {
  twin: TwinBatch | null;
  cancelFlush: (() => void) | null;
  windowStart: number;
  sentInWindow: number;
  dropped: number;
}

export class LiveFeed {
  private io: LiveServer | null = null;
  private readonly clock: Clock;
  private readonly buffers = new Map<string, SiteBuffer>();
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly deps: LiveFeedDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** Attaches socket.io to the HTTP server and subscribes to the bus. */
  start(http: HttpServer): void {
    if (this.io) return;
    const { origins } = this.deps;
    const io: LiveServer = new Server(http, {
      path: this.deps.path ?? '/socket.io',
      serveClient: false,
      // Other upgrade listeners (MQTT over WebSocket at /mqtt) own their paths.
      destroyUpgrade: false,
      ...(this.deps.adapter === undefined ? {} : { adapter: this.deps.adapter }),
      // A page on another origin (another port of this host counts) may not open the feed
      // with the browser's cookie: refused before any handshake (HTTP 403).
      allowRequest: (req, callback) => callback(null, origins === undefined || fromOwnOrigin(req.headers, origins) !== false),
    });
    this.io = io;
    io.use((socket, next) => {
      const found = handshakeCredentials(socket.handshake);
      if (found === undefined) return next(authError('STW_ERR_AUTH_REQUIRED'));
      // The cookie comes with every request the browser makes: it counts only from our own pages.
      if (found !== null && found.via === 'cookie' && origins !== undefined && fromOwnOrigin(socket.handshake.headers, origins) !== true) {
        return next(authError('STW_ERR_ORIGIN_FORBIDDEN'));
      }
      if (found === null) return next(authError('STW_ERR_TOKEN_INVALID'));
      this.deps.users.authenticateToken(found.token).then(
        (auth) => {
          if (!auth) return next(authError('STW_ERR_TOKEN_INVALID'));
          socket.data.user = auth.user;
          socketTokens.set(socket, found.token);
          next();
        },
        () => next(authError('STW_ERR_TOKEN_INVALID')),
      );
    });
    io.on('connection', (socket) => this.join(socket));

    this.on('alarm.changed', ({ alarm }) => {
      const to = categoryOf(alarm) === 'device-health' ? [rooms.alarms(alarm.site), deviceHealthRoom(alarm.site)] : rooms.alarms(alarm.site);
      io.to(to).emit('alarm', alarm);
    });
    this.on('twin.device', ({ state }) => {
      this.twinBuffer(state.site).devices[state.id] = state;
    });
    this.on('twin.zone', ({ state }) => {
      this.twinBuffer(state.site).zones[state.id] = state;
    });
    this.on('events.accepted', (events) => {
      for (const e of events) this.pushEvent(e);
    });
    this.on('zone.arming', (change) => {
      io.to(rooms.site(change.site)).emit('arming', { site: change.site, zone: change.zone, armed: change.armed, by: change.by, at: change.at });
    });
  }

  async stop(): Promise<void> {
    for (const off of this.listeners.splice(0)) off();
    for (const b of this.buffers.values()) b.cancelFlush?.();
    this.buffers.clear();
    const io = this.io;
    this.io = null;
    if (!io) return;
    io.disconnectSockets(true);
    // Not io.close(): that would also close the HTTP server, which the app owns and closes.
    io.engine.close();
  }

  /** Connected sockets (for /metrics and tests). */
  connections(): number {
    return this.io?.engine.clientsCount ?? 0;
  }

  private on<K extends keyof ServerEvents>(event: K, fn: (...args: ServerEvents[K]) => void): void {
    const listener = fn as Parameters<EventBus['on']>[1];
    this.deps.bus.on(event, listener as never);
    this.listeners.push(() => this.deps.bus.off(event, listener as never));
  }

  private join(socket: LiveSocket): void {
    const user = socket.data.user;
    const token = socketTokens.get(socket);
    if (this.deps.guard && token !== undefined) {
      const untrack = this.deps.guard.track(token, user, (reason) => {
        this.deps.logger?.info({ user: user.username, reason }, 'live client disconnected');
        socket.disconnect(true);
      });
      socket.on('disconnect', untrack);
    }
    const sites = user.sites.length === 0 ? this.deps.sites.list().map((s) => s.id) : user.sites;
    const names = sites.map(rooms.site);
    if (can(user.role, 'alarms:read')) names.push(...sites.map(rooms.alarms));
    else if (can(user.role, 'alarms:device-health')) names.push(...sites.map(deviceHealthRoom));
    void socket.join(names);
    this.deps.logger?.debug({ user: user.username, sites }, 'live client connected');
  }

  private buffer(site: string): SiteBuffer {
    let b = this.buffers.get(site);
    if (!b) {
      b = { twin: null, cancelFlush: null, windowStart: 0, sentInWindow: 0, dropped: 0 };
      this.buffers.set(site, b);
    }
    return b;
  }

  private twinBuffer(site: string): TwinBatch {
    const b = this.buffer(site);
    if (!b.twin) {
      b.twin = { site, devices: {}, zones: {} };
      // First change of a batch schedules its flush: latency ≤ flush interval, ≤ 4 frames/s.
      b.cancelFlush = this.clock.at(this.clock.now() + (this.deps.twinFlushMs ?? 250), () => this.flush(site));
    }
    return b.twin;
  }

  private flush(site: string): void {
    const b = this.buffers.get(site);
    if (!b?.twin) return;
    const batch = b.twin;
    b.twin = null;
    b.cancelFlush = null;
    this.io?.to(rooms.site(site)).emit('twin', batch);
  }

  private pushEvent(e: NewEvent): void {
    const b = this.buffer(e.site);
    const now = this.clock.now();
    if (now - b.windowStart >= 1000) {
      if (b.dropped > 0) this.deps.logger?.debug({ site: e.site, dropped: b.dropped }, 'live events throttled');
      b.windowStart = now;
      b.sentInWindow = 0;
      b.dropped = 0;
    }
    if (b.sentInWindow >= (this.deps.eventsPerSecond ?? 20)) {
      b.dropped++;
      return;
    }
    b.sentInWindow++;
    this.io?.to(rooms.site(e.site)).emit('event', e);
  }
}
